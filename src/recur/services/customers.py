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
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.customers import CustomerRepository
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


def create_customer(uow: UnitOfWork, values: Mapping[str, Any], now: datetime) -> Record:
    """Create a customer; `values` holds validated fields named as on the wire."""
    prefix = values.get("invoice_prefix")
    if prefix:
        _check_invoice_prefix(uow, prefix, None)
    else:
        prefix = _new_invoice_prefix(uow)
    row: dict[str, Any] = {
        "id": new_id("cus"),
        "created": to_unix(now),
        "invoice_prefix": prefix,
        "next_invoice_sequence": 1,
        "balance": values.get("balance") or 0,
        "tax_exempt": values.get("tax_exempt") or "none",
        "preferred_locales": values.get("preferred_locales") or [],
        "metadata": values.get("metadata") or {},
        "invoice_settings": dict(values.get("invoice_settings") or {}),
        "default_payment_method": values.get("default_payment_method"),
        "test_clock": values.get("test_clock"),
        "deleted": False,
    }
    for name in ("name", "email", "phone", "description", "address", "shipping"):
        row[name] = values.get(name)
    return _repo(uow).insert(row)


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


def update_customer(uow: UnitOfWork, customer_id: str, changes: Mapping[str, Any]) -> Record:
    """Apply changes (only the fields given; None unsets) to a live customer."""
    get_live_customer(uow, customer_id, param=None)
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
    return _repo(uow).update(customer_id, values)


def delete_customer(uow: UnitOfWork, customer_id: str) -> Record:
    """Delete a customer: it stays retrievable as `{id, deleted: true}`."""
    get_live_customer(uow, customer_id, param=None)
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
