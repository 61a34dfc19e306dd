"""Credit notes, their lines, and the customer balance ledger.

- A credit note's number is `<invoice number>-CN-<nn>`, gapless per invoice: it is taken
  while the invoice row is locked, and credit notes are never deleted (a voided one keeps
  its number). The unique constraint makes a race fail instead of duplicating a number.
- `customer_balance_transactions` is the ledger behind `customers.balance`: every change
  of a balance writes one row, in the transaction of the change, with the balance after it.
"""

from sqlalchemy import BigInteger, Column, Index, Integer, String, Text, UniqueConstraint

from recur.storage.tables.base import ID_LENGTH, Json, object_table

credit_notes = object_table(
    "credit_notes",
    Column("invoice", String(ID_LENGTH), nullable=False),
    Column("customer", String(ID_LENGTH), nullable=False),
    Column("number", String(80), nullable=False),
    Column("status", String(8), nullable=False),  # issued | void
    Column("type", String(16), nullable=False),  # pre_payment | post_payment | mixed
    Column("currency", String(3), nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("subtotal_excluding_tax", BigInteger, nullable=False),
    Column("discount_amount", BigInteger, nullable=False),
    Column("discount_amounts", Json, nullable=False, default=list),
    Column("total_taxes", Json, nullable=False, default=list),
    Column("total_excluding_tax", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    # How the total was applied: the invoice's amount remaining (pre-payment), then
    # refunds, customer balance credit and credit outside Recur (post-payment).
    Column("pre_payment_amount", BigInteger, nullable=False),
    Column("post_payment_amount", BigInteger, nullable=False),
    Column("credit_amount", BigInteger, nullable=False, default=0),
    Column("out_of_band_amount", BigInteger, nullable=True),
    # [{refund: re_…, amount_refunded}]
    Column("refunds", Json, nullable=False, default=list),
    Column("customer_balance_transaction", String(ID_LENGTH), nullable=True),
    Column("reason", String(32), nullable=True),
    Column("memo", Text, nullable=True),
    Column("effective_at", BigInteger, nullable=True),
    Column("voided_at", BigInteger, nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    UniqueConstraint("account_id", "livemode", "number"),
    Index("ix_credit_notes_invoice", "account_id", "livemode", "invoice"),
    Index("ix_credit_notes_customer", "account_id", "livemode", "customer"),
)

credit_note_lines = object_table(
    "credit_note_lines",
    Column("credit_note", String(ID_LENGTH), nullable=False),
    Column("position", Integer, nullable=False),
    Column("type", String(24), nullable=False),  # invoice_line_item | custom_line_item
    Column("invoice_line_item", String(ID_LENGTH), nullable=True),
    Column("description", Text, nullable=True),
    Column("quantity", BigInteger, nullable=True),
    Column("unit_amount_decimal", String(40), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("amount_excluding_tax", BigInteger, nullable=False),
    Column("discount_amount", BigInteger, nullable=False, default=0),
    Column("discount_amounts", Json, nullable=False, default=list),
    # [{amount, inclusive, tax_rate, taxable_amount}], as on invoice lines
    Column("tax_amounts", Json, nullable=False, default=list),
    Column("tax_rates", Json, nullable=False, default=list),
    Column("metadata", Json, nullable=False, default=dict),
    Index("ix_credit_note_lines_credit_note", "credit_note", "position"),
)

customer_balance_transactions = object_table(
    "customer_balance_transactions",
    Column("customer", String(ID_LENGTH), nullable=False),
    # Negative: a credit to the customer; positive: a debit.
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("ending_balance", BigInteger, nullable=False),
    # adjustment | applied_to_invoice | credit_note | initial | unapplied_from_invoice | …
    Column("type", String(48), nullable=False),
    Column("invoice", String(ID_LENGTH), nullable=True),
    Column("credit_note", String(ID_LENGTH), nullable=True),
    Column("description", Text, nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    Index("ix_customer_balance_transactions_customer", "account_id", "livemode", "customer"),
)
