"""Customers."""

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Text, UniqueConstraint

from recur.storage.tables.base import ID_LENGTH, Json, object_table

customers = object_table(
    "customers",
    Column("name", Text, nullable=True),
    Column("email", String(512), nullable=True),
    Column("phone", String(64), nullable=True),
    Column("description", Text, nullable=True),
    Column("address", Json, nullable=True),
    Column("shipping", Json, nullable=True),
    Column("preferred_locales", Json, nullable=False, default=list),
    Column("invoice_prefix", String(12), nullable=False),
    Column("next_invoice_sequence", BigInteger, nullable=False, default=1),
    Column("default_payment_method", String(ID_LENGTH), nullable=True),
    Column("invoice_settings", Json, nullable=False, default=dict),
    Column("balance", BigInteger, nullable=False, default=0),
    Column("currency", String(3), nullable=True),
    Column("tax_exempt", String(16), nullable=False, default="none"),
    Column("test_clock", String(ID_LENGTH), nullable=True),
    # The customer's discount, {id: di_…, coupon, promotion_code, start, end}: applied to
    # its invoices that have no discount of their own (subscription or invoice discounts).
    Column("discount", Json, nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    # The customer's id at each gateway it was mirrored to ({"stripe": "cus_…"}); internal.
    Column("gateway_references", Json, nullable=True),
    Column("deleted", Boolean, nullable=False, default=False),
    UniqueConstraint("account_id", "invoice_prefix"),
    Index("ix_customers_email", "account_id", "livemode", "email"),
    Index("ix_customers_test_clock", "test_clock"),
)
