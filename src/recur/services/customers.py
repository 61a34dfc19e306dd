"""Customers: create, retrieve, update, delete, list."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.errors import InvalidRequest, NotFound
from recur.domain.ids import new_id
from recur.services import balance_transactions, customer_events, payment_methods
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.storage.uow import UnitOfWork

INVOICE_PREFIX_ALPHABET = string.ascii_uppercase + string.digits
TAX_EXEMPT = ("none", "exempt", "reverse")

# Columns a client may set directly; the rest (balance history, sequences) have rules.
SIMPLE_FIELDS = (
    "name",
    "email",
    "phone",
    "description",
    "address",
    "shipping",
    "preferred_locales",
    "tax_exempt",
    "metadata",
)


def _repo(uow: UnitOfWork) -> CustomerRepository:
    return uow.repository(CustomerRepository)


def _check_invoice_prefix(uow: UnitOfWork, prefix: str, customer_id: str | None) -> None:
    if not (3 <= len(prefix) <= 12) or any(c not in INVOICE_PREFIX_ALPHABET for c in prefix):
        raise InvalidRequest(
            "Invalid invoice_prefix: must be 3 to 12 uppercase letters or numbers.",
            param="invoice_prefix",
        )
    if _repo(uow).invoice_prefix_taken(prefix) and (
        customer_id is None or _repo(uow).get(customer_id)["invoice_prefix"] != prefix
    ):
        raise InvalidRequest(
            f"The invoice prefix '{prefix}' is already in use by another customer.",
            param="invoice_prefix",
            code="invoice_prefix_in_use",
        )


def _new_invoice_prefix(uow: UnitOfWork) -> str:
    while True:
        prefix = "".join(secrets.choice(INVOICE_PREFIX_ALPHABET) for _ in range(8))
        if not _repo(uow).invoice_prefix_taken(prefix):
            return prefix


DEFAULT_PAYMENT_METHOD_PARAM = "invoice_settings[default_payment_method]"


def create_customer(
    uow: UnitOfWork, values: Mapping[str, Any], now: datetime, *, secret: str | None = None
) -> Record:
    """Create a customer; `values` holds validated fields named as on the wire.

    `payment_method` is attached at creation (a test id such as `pm_card_visa` makes a
    new one, which `default_payment_method` may then name by the same test id, as at
    Stripe); `secret` keys card fingerprints and is needed with a `payment_method`.
    """
    clock_id = values.get("test_clock")
    if clock_id is not None:
        clock = uow.repository(TestClockRepository).get(clock_id, param="test_clock")
        # Objects on a test clock live in the clock's time (Stripe sets `created` so).
        created = int(clock["frozen_time"])
    else:
        created = to_unix(now)
    prefix = values.get("invoice_prefix")
    if prefix:
        _check_invoice_prefix(uow, prefix, None)
    else:
        prefix = _new_invoice_prefix(uow)
    row: dict[str, Any] = {
        "id": new_id("cus"),
        "created": created,
        "invoice_prefix": prefix,
        "next_invoice_sequence": 1,
        "balance": values.get("balance") or 0,
        "tax_exempt": values.get("tax_exempt") or "none",
        "preferred_locales": values.get("preferred_locales") or [],
        "metadata": values.get("metadata") or {},
        "invoice_settings": dict(values.get("invoice_settings") or {}),
        "default_payment_method": None,
        "test_clock": clock_id,
        "deleted": False,
    }
    for name in ("name", "email", "phone", "description", "address", "shipping"):
        row[name] = values.get(name)
    record = _repo(uow).insert(row)
    balance_transactions.record_customer_balance_set(uow, None, record, now)
    default = values.get("default_payment_method")
    given = values.get("payment_method")
    if given is not None:
        if secret is None:
            raise ValueError("create_customer needs the secret to attach a payment method")
        attached = payment_methods.attach_payment_method(
            uow, given, record["id"], now, secret=secret, param="payment_method"
        )
        if default == given:
            default = attached["id"]
    if default is not None:
        payment_methods.check_attached(uow, default, record["id"], DEFAULT_PAYMENT_METHOD_PARAM)
        record = _repo(uow).update(record["id"], {"default_payment_method": default})
    return record


def retrieve_customer(uow: UnitOfWork, customer_id: str, *, param: str | None = None) -> Record:
    """A customer, deleted ones included (as Stripe returns their tombstone)."""
    return _repo(uow).get(customer_id, param=param)


def get_live_customer(
    uow: UnitOfWork, customer_id: str, *, param: str | None = "customer"
) -> Record:
    """A customer that is not deleted, for use by other resources."""
    record = _repo(uow).get(customer_id, param=param, for_update=True)
    if record["deleted"]:
        raise NotFound.for_id("customer", customer_id, param)
    return record


def update_customer(
    uow: UnitOfWork, customer_id: str, changes: Mapping[str, Any], now: datetime
) -> Record:
    """Apply changes (only the fields given; None unsets) to a live customer."""
    current = get_live_customer(uow, customer_id, param=None)
    values = dict(changes)
    if "invoice_prefix" in values:
        prefix = values["invoice_prefix"]
        if prefix is None:
            raise InvalidRequest("invoice_prefix cannot be unset.", param="invoice_prefix")
        _check_invoice_prefix(uow, prefix, customer_id)
    if "tax_exempt" in values and values["tax_exempt"] is None:
        values["tax_exempt"] = "none"
    if "preferred_locales" in values and values["preferred_locales"] is None:
        values["preferred_locales"] = []
    if "balance" in values and values["balance"] is None:
        values["balance"] = 0
    default = values.get("default_payment_method")
    if default is not None:
        payment_methods.check_attached(uow, default, customer_id, DEFAULT_PAYMENT_METHOD_PARAM)
    updated = _repo(uow).update(customer_id, values)
    balance_transactions.record_customer_balance_set(uow, current, updated, now)
    return updated


def delete_customer(uow: UnitOfWork, customer_id: str, now: datetime) -> Record:
    """Delete a customer: it stays retrievable as `{id, deleted: true}`."""
    customer = get_live_customer(uow, customer_id, param=None)
    at = balance_transactions.customer_time(uow, customer, now)
    customer_events.record_customer_deleted(uow, customer, at)
    return _repo(uow).update(customer_id, {"deleted": True})


def list_customers(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    email: str | None = None,
    test_clock: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of customers, newest first."""
    return _repo(uow).list_customers(request, email=email, test_clock=test_clock, created=created)
