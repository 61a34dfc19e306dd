"""Tax rates: create, retrieve, update, list (archived with `active=false`, never deleted)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.errors import InvalidRequest
from recur.domain.ids import new_id
from recur.domain.tax import TaxRateTerms
from recur.services.events import record_event
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.tax_rates import TaxRateRepository
from recur.storage.rows import RowMemo
from recur.storage.uow import UnitOfWork

# Stripe: "a number (up to 4 decimal places) that represents the tax percentage".
PERCENTAGE_QUANTUM = Decimal("0.0001")
MAX_STATE_LENGTH = 64
# Columns a client may change; `percentage` and `inclusive` are immutable, as at Stripe,
# since invoices already computed with the rate must stay explainable.
UPDATABLE = (
    "active",
    "country",
    "description",
    "display_name",
    "jurisdiction",
    "metadata",
    "state",
    "tax_type",
)


def _repo(uow: UnitOfWork) -> TaxRateRepository:
    return uow.repository(TaxRateRepository)


def _check_percentage(percentage: Decimal) -> str:
    if not (0 <= percentage <= 100) or percentage != percentage.quantize(PERCENTAGE_QUANTUM):
        raise InvalidRequest(
            "Invalid percentage: must be between 0 and 100, with at most four decimal places.",
            param="percentage",
        )
    # Canonical text: "19.50" and "19.5" are the same rate.
    return format(abs(percentage).quantize(PERCENTAGE_QUANTUM).normalize(), "f")


def _check_common(values: dict[str, Any]) -> dict[str, Any]:
    """Validate the fields that create and update share; returns them normalized."""
    if "display_name" in values and not (values["display_name"] or "").strip():
        raise InvalidRequest("display_name cannot be blank.", param="display_name")
    country = values.get("country")
    if country is not None:
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise InvalidRequest(
                "Invalid country: must be a two-letter ISO 3166-1 code.", param="country"
            )
        values["country"] = country.upper()
    state = values.get("state")
    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise InvalidRequest(
            f"Invalid state: at most {MAX_STATE_LENGTH} characters.", param="state"
        )
    if "active" in values and values["active"] is None:
        raise InvalidRequest("active cannot be unset.", param="active")
    return values


def create_tax_rate(uow: UnitOfWork, values: Mapping[str, Any], now: datetime) -> Record:
    """Create a tax rate; `values` holds validated fields named as on the wire."""
    fields = _check_common(dict(values))
    row: dict[str, Any] = {
        "id": new_id("txr"),
        "created": to_unix(now),
        "display_name": fields["display_name"],
        "percentage": _check_percentage(fields["percentage"]),
        "inclusive": fields["inclusive"],
        "active": fields.get("active", True),
        "description": fields.get("description"),
        "country": fields.get("country"),
        "state": fields.get("state"),
        "jurisdiction": fields.get("jurisdiction"),
        "tax_type": fields.get("tax_type"),
        "metadata": fields.get("metadata") or {},
    }
    tax_rate = _repo(uow).insert(row)
    record_event(uow, "tax_rate.created", "tax_rate", tax_rate, now)
    return tax_rate


def retrieve_tax_rate(uow: UnitOfWork, tax_rate_id: str, *, param: str | None = None) -> Record:
    """A tax rate, archived ones included."""
    return _repo(uow).get(tax_rate_id, param=param)


def update_tax_rate(
    uow: UnitOfWork, tax_rate_id: str, changes: Mapping[str, Any], now: datetime
) -> Record:
    """Apply changes (only the fields given; None unsets an optional text field)."""
    current = _repo(uow).get(tax_rate_id, for_update=True)
    values = _check_common({name: changes[name] for name in UPDATABLE if name in changes})
    tax_rate = _repo(uow).update(tax_rate_id, values)
    record_event(uow, "tax_rate.updated", "tax_rate", tax_rate, now, previous=current)
    return tax_rate


def list_tax_rates(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    active: bool | None = None,
    inclusive: bool | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of tax rates, newest first."""
    return _repo(uow).list_tax_rates(request, active=active, inclusive=inclusive, created=created)


def _tax_rate_terms(record: Record) -> TaxRateTerms:
    return TaxRateTerms(
        id=record["id"], percentage=Decimal(record["percentage"]), inclusive=record["inclusive"]
    )


# The arithmetic view of a stored tax rate, for invoice drafting; made once per row as read
# (a billing run asks for the same few rates on every line; the terms are immutable).
tax_rate_terms: RowMemo[TaxRateTerms] = RowMemo(_tax_rate_terms)


def get_active_tax_rate(uow: UnitOfWork, tax_rate_id: str, *, param: str) -> Record:
    """A tax rate that may be set on a new subscription, invoice or item."""
    record = _repo(uow).get(tax_rate_id, param=param)
    if not record["active"]:
        raise InvalidRequest(
            f"Tax rate '{tax_rate_id}' is inactive and cannot be used on new objects.",
            param=param,
        )
    return record
