"""Coupons: create, retrieve, update, delete, list, and redeem."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.discounts import CouponTerms
from recur.domain.errors import InvalidRequest, NotFound
from recur.domain.money import is_valid_currency
from recur.services import products
from recur.services.events import record_event
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.coupons import CouponRepository
from recur.storage.rows import RowMemo
from recur.storage.tables.base import ID_LENGTH
from recur.storage.uow import UnitOfWork

DURATIONS = ("once", "repeating", "forever")
# 100 years: far beyond any real offer, and keeps month arithmetic inside the calendar.
MAX_DURATION_IN_MONTHS = 1200
# Merchant-chosen ids travel in URL paths (`/v1/coupons/{id}`): no slashes or spaces.
CUSTOM_ID = re.compile(rf"[A-Za-z0-9_.\-]{{1,{ID_LENGTH}}}")
# Stripe's generated coupon ids are short (8 characters) and case-sensitive.
GENERATED_ID_ALPHABET = string.ascii_letters + string.digits
GENERATED_ID_LENGTH = 8

SIMPLE_UPDATES = ("name", "metadata")
CENT = Decimal("0.01")


def _repo(uow: UnitOfWork) -> CouponRepository:
    return uow.repository(CouponRepository)


def _check_percent_off(percent_off: Decimal) -> str:
    if not (0 < percent_off <= 100) or percent_off != percent_off.quantize(CENT):
        raise InvalidRequest(
            "Invalid percent_off: must be greater than 0 and at most 100, with at most two "
            "decimal places.",
            param="percent_off",
        )
    # Canonical text: "25.50" and "25.5" are the same coupon.
    return format(percent_off.quantize(CENT).normalize(), "f")


def _check_applies_to(uow: UnitOfWork, product_ids: Sequence[str]) -> list[str]:
    unique: list[str] = []
    for index, product_id in enumerate(product_ids):
        products.retrieve_product(uow, product_id, param=f"applies_to[products][{index}]")
        if product_id not in unique:
            unique.append(product_id)
    return unique


def _new_coupon_id(uow: UnitOfWork) -> str:
    while True:
        candidate = "".join(
            secrets.choice(GENERATED_ID_ALPHABET) for _ in range(GENERATED_ID_LENGTH)
        )
        if _repo(uow).find(candidate) is None:
            return candidate


def create_coupon(uow: UnitOfWork, values: Mapping[str, Any], now: datetime) -> Record:
    """Create a coupon; `values` holds validated fields named as on the wire."""
    percent_off: Decimal | None = values.get("percent_off")
    amount_off: int | None = values.get("amount_off")
    currency: str | None = values.get("currency")
    if percent_off is None and amount_off is None:
        raise InvalidRequest(
            "Missing required param: percent_off (or amount_off with currency).",
            param="percent_off",
            code="parameter_missing",
        )
    if percent_off is not None and amount_off is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: amount_off, percent_off.",
            param="percent_off",
        )
    percent_text = None if percent_off is None else _check_percent_off(percent_off)
    if amount_off is not None:
        if amount_off <= 0:
            raise InvalidRequest(
                "Invalid amount_off: must be a positive integer.", param="amount_off"
            )
        if currency is None:
            raise InvalidRequest(
                "Missing required param: currency.", param="currency", code="parameter_missing"
            )
        if not is_valid_currency(currency):
            raise InvalidRequest(f"Invalid currency: {currency}", param="currency")
    elif currency is not None:
        # A percent-off coupon applies in any currency; a currency on it would mislead.
        raise InvalidRequest(
            "currency can only be set on a coupon with amount_off.", param="currency"
        )

    duration = values.get("duration") or "once"
    months: int | None = values.get("duration_in_months")
    if duration == "repeating":
        if months is None:
            raise InvalidRequest(
                "Missing required param: duration_in_months.",
                param="duration_in_months",
                code="parameter_missing",
            )
        if not 1 <= months <= MAX_DURATION_IN_MONTHS:
            raise InvalidRequest(
                f"Invalid duration_in_months: must be between 1 and {MAX_DURATION_IN_MONTHS}.",
                param="duration_in_months",
            )
    elif months is not None:
        raise InvalidRequest(
            "duration_in_months can only be set when duration is repeating.",
            param="duration_in_months",
        )

    redeem_by: int | None = values.get("redeem_by")
    if redeem_by is not None and redeem_by <= to_unix(now):
        raise InvalidRequest("Invalid redeem_by: must be in the future.", param="redeem_by")

    product_ids = values.get("applies_to_products")
    applies_to = None if product_ids is None else _check_applies_to(uow, product_ids)

    coupon_id = values.get("id")
    if coupon_id is not None and not CUSTOM_ID.fullmatch(coupon_id):
        raise InvalidRequest(
            f"Invalid id: must be 1 to {ID_LENGTH} letters, digits, '_', '-' or '.'.", param="id"
        )
    row: dict[str, Any] = {
        "id": coupon_id or _new_coupon_id(uow),
        "created": to_unix(now),
        "name": values.get("name"),
        "percent_off": percent_text,
        "amount_off": amount_off,
        "currency": currency,
        "duration": duration,
        "duration_in_months": months,
        "max_redemptions": values.get("max_redemptions"),
        "redeem_by": redeem_by,
        "applies_to_products": applies_to,
        "times_redeemed": 0,
        "metadata": values.get("metadata") or {},
        "deleted": False,
    }
    if coupon_id is not None and _repo(uow).find(coupon_id) is not None:
        # Ids of deleted coupons stay taken: discounts still point at their tombstones.
        raise InvalidRequest(
            f"A coupon with id '{coupon_id}' already exists (ids of deleted coupons are not "
            "reused).",
            param="id",
            code="resource_already_exists",
        )
    # A concurrent create of the same id loses at the unique constraint: a retriable 409,
    # whose retry gets the answer above.
    coupon = _repo(uow).insert(row)
    record_event(uow, "coupon.created", "coupon", coupon_view(coupon, now), now)
    return coupon


def retrieve_coupon(uow: UnitOfWork, coupon_id: str, *, param: str | None = None) -> Record:
    """A coupon that is not deleted (Stripe answers 404 for deleted coupons)."""
    record = _repo(uow).get(coupon_id, param=param)
    if record["deleted"]:
        raise NotFound.for_id("coupon", coupon_id, param)
    return record


def get_coupon_record(uow: UnitOfWork, coupon_id: str, *, param: str | None = None) -> Record:
    """A coupon, deleted ones included: for discounts that already use it."""
    return _repo(uow).get(coupon_id, param=param)


def update_coupon(
    uow: UnitOfWork, coupon_id: str, changes: Mapping[str, Any], now: datetime
) -> Record:
    """Change a coupon's `name` or `metadata`; its terms are immutable, as at Stripe."""
    current = retrieve_coupon(uow, coupon_id)
    values = {name: changes[name] for name in SIMPLE_UPDATES if name in changes}
    coupon = _repo(uow).update(coupon_id, values)
    record_event(
        uow,
        "coupon.updated",
        "coupon",
        coupon_view(coupon, now),
        now,
        previous=coupon_view(current, now),
    )
    return coupon


def delete_coupon(uow: UnitOfWork, coupon_id: str, now: datetime) -> Record:
    """Delete a coupon: no new redemptions; discounts that use it keep working."""
    current = retrieve_coupon(uow, coupon_id)
    deleted = _repo(uow).update(coupon_id, {"deleted": True})
    # `data.object` is the coupon as it was (Stripe's `coupon.deleted` carries a coupon).
    record_event(uow, "coupon.deleted", "coupon", coupon_view(current, now), now)
    return deleted


def coupon_view(record: Record, at: datetime) -> dict[str, Any]:
    """A coupon as events render it: `valid` is read at `at`."""
    return {**record, "view_at": to_unix(at)}


def list_coupons(
    uow: UnitOfWork, request: PageRequest, *, created: CreatedFilter | None = None
) -> Page:
    """A page of coupons, newest first."""
    return _repo(uow).list_coupons(request, created=created)


def coupon_valid(record: Record, now: datetime) -> bool:
    """Whether the coupon can still be applied at `now` (Stripe's `valid`)."""
    if record["deleted"]:
        return False
    if record["redeem_by"] is not None and record["redeem_by"] <= to_unix(now):
        return False
    limit = record["max_redemptions"]
    return limit is None or record["times_redeemed"] < limit


def _coupon_terms(record: Record) -> CouponTerms:
    products_ = record["applies_to_products"]
    return CouponTerms(
        percent_off=None if record["percent_off"] is None else Decimal(record["percent_off"]),
        amount_off=record["amount_off"],
        currency=record["currency"],
        duration=record["duration"],
        duration_in_months=record["duration_in_months"],
        applies_to_products=None if products_ is None else frozenset(products_),
    )


# The arithmetic view of a stored coupon, for invoice drafting; made once per row as read
# (every renewal of a billing run asks for the same coupons; the terms are immutable).
coupon_terms: RowMemo[CouponTerms] = RowMemo(_coupon_terms)


def redeem_coupon(
    uow: UnitOfWork, coupon_id: str, now: datetime, *, param: str = "coupon"
) -> Record:
    """Count one redemption of a coupon, or raise the reason it cannot be redeemed."""
    repo = _repo(uow)
    if repo.redeem(coupon_id, to_unix(now)):
        return repo.get(coupon_id)
    record = repo.find(coupon_id)
    if record is None or record["deleted"]:
        raise NotFound.for_id("coupon", coupon_id, param)
    if record["redeem_by"] is not None and record["redeem_by"] <= to_unix(now):
        raise InvalidRequest("This coupon has expired.", param=param, code="coupon_expired")
    raise InvalidRequest(
        "This coupon has reached its maximum number of redemptions.",
        param=param,
        code="coupon_expired",
    )


def unredeem_coupon(uow: UnitOfWork, coupon_id: str) -> None:
    """Take back a redemption counted earlier in the same unit of work."""
    _repo(uow).unredeem(coupon_id)
