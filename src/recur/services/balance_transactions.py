"""The customer balance ledger: every change of `customer.balance` writes one transaction.

Stripe computes a customer's invoice balance from a ledger of immutable transactions; so
does Recur: whatever moves a balance writes a `customer_balance_transaction` (with the
balance after it) in the same transaction as the change, and a `customer.updated` event.
The types Recur writes, with Stripe's meaning:

- `adjustment`: created through `POST /v1/customers/{id}/balance_transactions`, or a
  `balance` set by `POST /v1/customers/{id}`;
- `initial`: the `balance` a customer was created with;
- `applied_to_invoice`: a finalized invoice used the balance (or, with a negative total,
  added its credit to it);
- `unapplied_from_invoice`: a voided invoice gave back what it had used;
- `credit_note`: a credit note's `credit_amount` (and its reversal when the note is voided);
- `invoice_too_small`: an automatically charged invoice due less than the currency's
  minimum charge (`domain.money.minimum_charge`) was not charged: it is paid, and its
  amount is added to the balance, owed on the next invoice.

Stripe's `invoice_too_large` never occurs: Recur has no maximum chargeable amount. A
`balance` set by the customer's own create or update call writes its ledger row here with
no event of its own: the call's one `customer.created` or `customer.updated`
(`services/customer_events.py`) shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from recur.domain.clock import from_unix, to_unix
from recur.domain.errors import InvalidRequest, NotFound
from recur.domain.ids import new_id
from recur.domain.money import is_valid_currency
from recur.services.events import event_row
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import EventRepository
from recur.storage.repositories.credit_notes import BalanceTransactionRepository
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.storage.uow import UnitOfWork

UPDATABLE = ("description", "metadata")


def _repo(uow: UnitOfWork) -> BalanceTransactionRepository:
    return uow.repository(BalanceTransactionRepository)


def balance_transaction_row(
    customer: Mapping[str, Any],
    amount: int,
    kind: str,
    at: datetime,
    *,
    currency: str | None,
    invoice: str | None = None,
    credit_note: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ledger row of a change of `amount` to the customer's balance (pure)."""
    return {
        "id": new_id("cbtxn"),
        "created": to_unix(at),
        "customer": customer["id"],
        "amount": amount,
        "currency": currency,
        "ending_balance": int(customer["balance"]) + amount,
        "type": kind,
        "invoice": invoice,
        "credit_note": credit_note,
        "description": description,
        "metadata": dict(metadata or {}),
    }


def customer_view(
    customer: Mapping[str, Any],
    at: datetime,
    discount: tuple[Mapping[str, Any], Record] | None = None,
) -> dict[str, Any]:
    """A customer as events render it: the row, and its discount in force at `at`."""
    return {**customer, "discount_in_force": discount, "view_at": to_unix(at)}


def balance_changed_event(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    at: datetime,
    discount: tuple[Mapping[str, Any], Record] | None = None,
) -> dict[str, Any] | None:
    """The `customer.updated` event of a balance change (pure)."""
    return event_row(
        "customer.updated",
        "customer",
        customer_view(after, at, discount),
        at,
        previous=customer_view(before, at, discount),
    )


def applied_to_invoice(
    customer: Mapping[str, Any], invoice: Mapping[str, Any], ending_balance: int, at: datetime
) -> dict[str, Any]:
    """The ledger row of a finalization that leaves the customer's balance at
    `ending_balance` (pure: the billing run writes the very same rows in bulk)."""
    return balance_transaction_row(
        customer,
        ending_balance - int(customer["balance"]),
        "applied_to_invoice",
        at,
        currency=invoice["currency"],
        invoice=invoice["id"],
    )


def customer_time(uow: UnitOfWork, customer: Record, now: datetime) -> datetime:
    """The customer's present: its test clock's frozen time, or `now`."""
    if customer["test_clock"]:
        clock = uow.repository(TestClockRepository).find(customer["test_clock"])
        if clock is not None:
            return from_unix(clock["frozen_time"])
    return now


def _discount_in_force(
    uow: UnitOfWork, customer: Record, at: datetime
) -> tuple[dict[str, Any], Record] | None:
    # Imported here: customer discounts build on the customers service, which records here.
    from recur.services.customer_discounts import customer_discount_view

    return customer_discount_view(uow, customer, at)


def write_change(
    uow: UnitOfWork,
    customer: Record,
    row: Mapping[str, Any],
    at: datetime,
    *,
    event: bool = True,
    changes: Mapping[str, Any] | None = None,
) -> Record:
    """Store a ledger row, the customer's new balance (and `changes`), and its event."""
    customers = uow.repository(CustomerRepository)
    after = customers.update(customer["id"], {"balance": row["ending_balance"], **(changes or {})})
    transaction = _repo(uow).insert(row)
    if event:
        discount = _discount_in_force(uow, after, at)
        found = balance_changed_event(customer, after, at, discount)
        if found is not None:
            uow.repository(EventRepository).insert_many([found])
    return transaction


def record_balance_change(
    uow: UnitOfWork,
    customer_id: str,
    amount: int,
    kind: str,
    at: datetime,
    *,
    currency: str | None,
    invoice: str | None = None,
    credit_note: str | None = None,
    event: bool = True,
) -> Record:
    """Move a customer's balance by `amount` (negative: credit) and record why."""
    customer = uow.repository(CustomerRepository).get(customer_id, for_update=True)
    row = balance_transaction_row(
        customer, amount, kind, at, currency=currency, invoice=invoice, credit_note=credit_note
    )
    return write_change(uow, customer, row, at, event=event)


def record_applied_to_invoice(
    uow: UnitOfWork, customer: Record, invoice: Record, ending_balance: int, at: datetime
) -> None:
    """Finalization (one invoice at a time): the balance the invoice used or added to."""
    write_change(uow, customer, applied_to_invoice(customer, invoice, ending_balance, at), at)


def record_unapplied_from_invoice(uow: UnitOfWork, invoice: Record, at: datetime) -> None:
    """A voided invoice gives back the balance it used (Stripe, since API 2019-12-03)."""
    if invoice["ending_balance"] is None:
        return  # never finalized
    returned = int(invoice["starting_balance"]) - int(invoice["ending_balance"])
    if returned != 0:
        record_balance_change(
            uow,
            invoice["customer"],
            returned,
            "unapplied_from_invoice",
            at,
            currency=invoice["currency"],
            invoice=invoice["id"],
        )


def record_customer_balance_set(
    uow: UnitOfWork, before: Record | None, after: Record, now: datetime
) -> None:
    """A customer created with a balance (`initial`) or whose `balance` was set by an
    update (`adjustment`): the ledger row of what the customer's own call changed."""
    old = 0 if before is None else int(before["balance"])
    amount = int(after["balance"]) - old
    if amount == 0:
        return
    kind = "initial" if before is None else "adjustment"
    # A customer on a test clock lives at the clock's time (its `created` was set so).
    at = from_unix(after["created"]) if before is None else customer_time(uow, after, now)
    row = balance_transaction_row(
        {**after, "balance": old}, amount, kind, at, currency=after["currency"]
    )
    _repo(uow).insert(row)


# --- the API: /v1/customers/{customer}/balance_transactions -------------------------------


def create_balance_transaction(
    uow: UnitOfWork, customer_id: str, values: Mapping[str, Any], now: datetime
) -> Record:
    """A manual credit (negative amount) or debit (positive) to the customer's balance."""
    customer = uow.repository(CustomerRepository).get(customer_id, for_update=True)
    if customer["deleted"]:
        raise NotFound.for_id("customer", customer_id, None)
    at = customer_time(uow, customer, now)
    amount = int(values["amount"])
    if amount == 0:
        raise InvalidRequest("The amount must not be zero.", param="amount")
    currency = str(values["currency"]).lower()
    if not is_valid_currency(currency):
        raise InvalidRequest(f"Invalid currency: {currency}.", param="currency")
    changes: dict[str, Any] = {}
    if customer["currency"] is None:
        # Stripe: "If the customer's currency is not set, it will be updated to this value."
        changes["currency"] = currency
    elif customer["currency"] != currency:
        raise InvalidRequest(
            f"The customer's balance is in {customer['currency']}; a transaction in "
            f"{currency} cannot apply to it.",
            param="currency",
        )
    row = balance_transaction_row(
        customer,
        amount,
        "adjustment",
        at,
        currency=currency,
        description=values.get("description"),
        metadata=values.get("metadata"),
    )
    return write_change(uow, customer, row, at, changes=changes)


def retrieve_balance_transaction(uow: UnitOfWork, customer_id: str, transaction_id: str) -> Record:
    """One transaction of this customer (another customer's is not found)."""
    uow.repository(CustomerRepository).get(customer_id)
    found = _repo(uow).find(transaction_id)
    if found is None or found["customer"] != customer_id:
        raise NotFound.for_id("customer balance transaction", transaction_id, None)
    return found


def update_balance_transaction(
    uow: UnitOfWork, customer_id: str, transaction_id: str, changes: Mapping[str, Any]
) -> Record:
    """Only `description` and `metadata` change: the ledger itself is immutable."""
    retrieve_balance_transaction(uow, customer_id, transaction_id)
    values = {name: changes[name] for name in UPDATABLE if name in changes}
    return _repo(uow).update(transaction_id, values)


def list_balance_transactions(
    uow: UnitOfWork,
    customer_id: str,
    request: PageRequest,
    *,
    invoice: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of the customer's transactions, newest first."""
    uow.repository(CustomerRepository).get(customer_id)
    return _repo(uow).list_of_customer(request, customer_id, invoice=invoice, created=created)


def retrieve_any_balance_transaction(uow: UnitOfWork, transaction_id: str) -> Record:
    """A transaction by id alone (expanding `customer_balance_transaction` references)."""
    return _repo(uow).get(transaction_id)
