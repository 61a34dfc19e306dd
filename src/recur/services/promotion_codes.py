"""Promotion codes: the customer-facing codes that redeem a coupon."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.errors import InvalidRequest, NotFound
from recur.domain.ids import new_id
from recur.domain.money import format_amount, is_valid_currency
from recur.services import coupons, customers
from recur.services.events import record_event
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.promotion_codes import PromotionCodeRepository
from recur.storage.uow import UnitOfWork

# Stripe: "Valid characters are lower case letters (a-z), upper case letters (A-Z), and
# digits (0-9)."
MAX_CODE_LENGTH = 500
CODE = re.compile(rf"[A-Za-z0-9]{{1,{MAX_CODE_LENGTH}}}")
GENERATED_CODE_ALPHABET = string.ascii_uppercase + string.digits
GENERATED_CODE_LENGTH = 8

PARAM = "promotion_code"


def _repo(uow: UnitOfWork) -> PromotionCodeRepository:
    return uow.repository(PromotionCodeRepository)


def code_key(code: str) -> str:
    """The form under which codes are compared: case does not matter."""
    return code.upper()


def promotion_code_active(record: Record, coupon: Record, now: datetime) -> bool:
    """Whether the code can be redeemed at `now` (Stripe's `active`).

    Stripe: "A promotion code is only active if the coupon is also valid." Recur also
    counts an expired or used-up code as inactive, as it can no longer be redeemed.
    """
    ts = to_unix(now)
    limit = record["max_redemptions"]
    return (
        bool(record["active"])
        and (record["expires_at"] is None or record["expires_at"] > ts)
        and (limit is None or record["times_redeemed"] < limit)
        and coupons.coupon_valid(coupon, now)
    )


def _claim_code(uow: UnitOfWork, key: str, now: datetime, *, exclude: str | None = None) -> bool:
    """Whether `key` is free for an active code; frees it from codes that can never redeem.

    A code whose coupon is gone or expired, or that expired or was used up itself, stays
    so forever (time and redemption counts only grow), so clearing its `active` flag
    changes nothing a client can see, and lets a new code take its text.
    """
    repo = _repo(uow)
    for record in repo.flagged_active_with_code(key):
        if record["id"] == exclude:
            continue
        coupon = coupons.get_coupon_record(uow, record["coupon"])
        if promotion_code_active(record, coupon, now):
            return False
        repo.update(record["id"], {"active": False})
    return True


def _duplicate(code: str, param: str) -> InvalidRequest:
    return InvalidRequest(
        f"An active promotion code with code: {code} already exists.",
        param=param,
        code="resource_already_exists",
    )


def _new_code(uow: UnitOfWork, now: datetime) -> str:
    while True:
        candidate = "".join(
            secrets.choice(GENERATED_CODE_ALPHABET) for _ in range(GENERATED_CODE_LENGTH)
        )
        if _claim_code(uow, candidate, now):
            return candidate


def create_promotion_code(
    uow: UnitOfWork,
    values: Mapping[str, Any],
    now: datetime,
    *,
    coupon_param: str = "promotion[coupon]",
) -> Record:
    """Create a promotion code for a valid coupon; `values` are named as on the wire."""
    coupon = coupons.retrieve_coupon(uow, values["coupon"], param=coupon_param)
    if not coupons.coupon_valid(coupon, now):
        raise InvalidRequest(
            f"Coupon '{coupon['id']}' is no longer valid: a new promotion code cannot use it.",
            param=coupon_param,
        )
    ts = to_unix(now)
    customer_id: str | None = values.get("customer")
    if customer_id is not None:
        customers.get_live_customer(uow, customer_id, param="customer")
    expires_at: int | None = values.get("expires_at")
    if expires_at is not None:
        if expires_at <= ts:
            raise InvalidRequest("Invalid expires_at: must be in the future.", param="expires_at")
        if coupon["redeem_by"] is not None and expires_at > coupon["redeem_by"]:
            raise InvalidRequest(
                "Invalid expires_at: cannot be after the coupon's redeem_by.",
                param="expires_at",
            )
    minimum_amount: int | None = values.get("minimum_amount")
    minimum_currency: str | None = values.get("minimum_amount_currency")
    if minimum_amount is not None and minimum_currency is None:
        raise InvalidRequest(
            "Missing required param: restrictions[minimum_amount_currency].",
            param="restrictions[minimum_amount_currency]",
            code="parameter_missing",
        )
    if minimum_currency is not None:
        if minimum_amount is None:
            raise InvalidRequest(
                "Missing required param: restrictions[minimum_amount].",
                param="restrictions[minimum_amount]",
                code="parameter_missing",
            )
        if not is_valid_currency(minimum_currency):
            raise InvalidRequest(
                f"Invalid currency: {minimum_currency}",
                param="restrictions[minimum_amount_currency]",
            )

    active = values.get("active", True)
    code: str | None = values.get("code")
    if code is None:
        code = _new_code(uow, now)
    elif not CODE.fullmatch(code):
        raise InvalidRequest(
            f"Invalid code: use 1 to {MAX_CODE_LENGTH} letters (a-z, A-Z) and digits (0-9).",
            param="code",
        )
    elif active and not _claim_code(uow, code_key(code), now):
        raise _duplicate(code, "code")
    row: dict[str, Any] = {
        "id": new_id("promo"),
        "created": ts,
        "code": code,
        "code_key": code_key(code),
        "coupon": coupon["id"],
        "customer": customer_id,
        "active": active,
        "max_redemptions": values.get("max_redemptions"),
        "expires_at": expires_at,
        "times_redeemed": 0,
        "first_time_transaction": bool(values.get("first_time_transaction")),
        "minimum_amount": minimum_amount,
        "minimum_amount_currency": minimum_currency,
        "metadata": values.get("metadata") or {},
    }
    # A concurrent request that takes the same code first makes this insert fail on the
    # partial unique index: a retriable 409, whose retry gets the duplicate error above.
    record = _repo(uow).insert(row)
    view = promotion_code_view(record, coupon, now)
    record_event(uow, "promotion_code.created", "promotion_code", view, now)
    return record


def retrieve_promotion_code(
    uow: UnitOfWork, promotion_code_id: str, *, param: str | None = None
) -> Record:
    """A promotion code."""
    return _repo(uow).get(promotion_code_id, param=param)


def update_promotion_code(
    uow: UnitOfWork, promotion_code_id: str, changes: Mapping[str, Any], now: datetime
) -> Record:
    """Change `active` or `metadata`; reactivating needs the code's text to be free."""
    current = _repo(uow).get(promotion_code_id, for_update=True)
    values = {name: changes[name] for name in ("active", "metadata") if name in changes}
    reactivating = values.get("active") is True and not current["active"]
    if reactivating and not _claim_code(uow, current["code_key"], now, exclude=current["id"]):
        raise _duplicate(current["code"], "active")
    record = _repo(uow).update_unique(promotion_code_id, values)
    if record is None:
        raise _duplicate(current["code"], "active")
    coupon = coupons.get_coupon_record(uow, record["coupon"])
    record_event(
        uow,
        "promotion_code.updated",
        "promotion_code",
        promotion_code_view(record, coupon, now),
        now,
        previous=promotion_code_view(current, coupon, now),
    )
    return record


def promotion_code_view(record: Record, coupon: Record, at: datetime) -> dict[str, Any]:
    """A promotion code as events render it: with its coupon, `active` read at `at`."""
    return {**record, "coupon_record": coupon, "view_at": to_unix(at)}


def list_promotion_codes(
    uow: UnitOfWork,
    request: PageRequest,
    now: datetime,
    *,
    active: bool | None = None,
    code: str | None = None,
    coupon: str | None = None,
    customer: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of promotion codes, newest first (`code` matches regardless of case)."""
    return _repo(uow).list_promotion_codes(
        request,
        now=to_unix(now),
        active=active,
        code_key=None if code is None else code_key(code),
        coupon=coupon,
        customer=customer,
        created=created,
    )


def _cannot(reason: str) -> InvalidRequest:
    return InvalidRequest(f"This promotion code cannot be redeemed because {reason}.", param=PARAM)


def _check_redeemable(record: Record, coupon: Record, now: datetime) -> None:
    if not coupons.coupon_valid(coupon, now):
        raise _cannot("its coupon is no longer valid")
    if not record["active"]:
        raise _cannot("it is inactive")
    if record["expires_at"] is not None and record["expires_at"] <= to_unix(now):
        raise InvalidRequest("This promotion code has expired.", param=PARAM)
    limit = record["max_redemptions"]
    if limit is not None and record["times_redeemed"] >= limit:
        raise InvalidRequest(
            "This promotion code has reached its maximum number of redemptions.", param=PARAM
        )


def _check_restrictions(
    record: Record,
    coupon: Record,
    customer_id: str | None,
    amount: int,
    currency: str,
    first_time: bool,
) -> None:
    if record["customer"] is not None and record["customer"] != customer_id:
        raise _cannot("it is restricted to another customer")
    if record["first_time_transaction"] and not first_time:
        raise _cannot("the associated customer has prior transactions")
    minimum, minimum_currency = record["minimum_amount"], record["minimum_amount_currency"]
    if minimum is not None and minimum_currency is not None:
        if minimum_currency != currency:
            raise _cannot(
                f"its minimum amount is in {minimum_currency.upper()}, not {currency.upper()}"
            )
        if amount < minimum:
            minimum_text = format_amount(minimum, minimum_currency)
            raise _cannot(f"the amount is below its minimum of {minimum_text}")
    if coupon["currency"] is not None and coupon["currency"] != currency:
        raise _cannot(
            f"its coupon takes an amount off in {coupon['currency'].upper()}, "
            f"not {currency.upper()}"
        )


def redeem_promotion_code(
    uow: UnitOfWork,
    promotion_code_id: str,
    customer_id: str | None,
    amount: int,
    currency: str,
    now: datetime,
    first_time: bool,
) -> Record:
    """Redeem a code for a purchase of `amount` `currency`: check it, count it and its coupon.

    Both counters move in one conditional UPDATE each, so concurrent redemptions never
    pass `max_redemptions`; if the coupon refuses after the code was counted, the code's
    count is taken back in the same transaction. Raises InvalidRequest (param
    `promotion_code`) with the reason a code cannot be redeemed.
    """
    repo = _repo(uow)
    record = repo.find(promotion_code_id)
    if record is None:
        raise NotFound.for_id("promotion code", promotion_code_id, PARAM)
    currency = currency.lower()
    coupon = coupons.get_coupon_record(uow, record["coupon"], param=PARAM)
    _check_redeemable(record, coupon, now)
    _check_restrictions(record, coupon, customer_id, amount, currency, first_time)
    if not repo.redeem(promotion_code_id, to_unix(now)):
        # Lost a race for the last redemption (or the code changed meanwhile): say why.
        _check_redeemable(repo.get(promotion_code_id), coupon, now)
        raise _cannot("it can no longer be redeemed")
    try:
        coupons.redeem_coupon(uow, coupon["id"], now, param=PARAM)
    except (InvalidRequest, NotFound):
        repo.unredeem(promotion_code_id)
        raise
    return repo.get(promotion_code_id)
