"""A customer's discount: a coupon or promotion code redeemed on the customer itself.

It applies to the customer's invoices that have no discount of their own: a
subscription's invoices while the subscription has no discount in force (Stripe lets a
subscription's discounts override the customer's), and manual invoices created without
`discounts` (Stripe: "If not specified, inherits the discount from the invoice's
customer"). Its duration (`once`, `repeating`, `forever`) counts from when it was applied
to the customer. It is set with the customer's `coupon` or `promotion_code` — parameters
Stripe removed from customers in API version 2025-03-31.basil and Recur keeps — and
removed with `DELETE /v1/customers/{id}/discount` (or, as at Stripe, an update's empty
`coupon`).

The customer's create and update calls are the use cases of the API, so their events are
written here, once the whole call is done: one `customer.created` or `customer.updated` for
the customer as the call left it, then its `customer.discount.*` (`customer_events`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from recur.domain.clock import from_unix, to_unix
from recur.domain.errors import InvalidRequest, NotFound
from recur.domain.ids import new_id
from recur.domain.periods import add_intervals
from recur.services import customer_events
from recur.services import customers as customer_service
from recur.services.coupons import get_coupon_record, redeem_coupon
from recur.services.promotion_codes import redeem_promotion_code, retrieve_promotion_code
from recur.storage.repositories.base import Record
from recur.storage.repositories.billing import ChargeRepository
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.storage.uow import UnitOfWork

DISCOUNT_PARAMETERS = ("coupon", "promotion_code")


def create_customer(
    uow: UnitOfWork, values: Mapping[str, Any], now: datetime, *, secret: str | None = None
) -> Record:
    """`POST /v1/customers`: the customer, then its discount when one is asked for."""
    fields = {name: value for name, value in values.items() if name not in DISCOUNT_PARAMETERS}
    customer = customer_service.create_customer(uow, fields, now, secret=secret)
    at = _customer_time(uow, customer, now)
    customer, entry = _apply_requested(uow, customer, values, now)
    customer_events.record_customer_created(uow, customer, at)
    customer_events.record_discount_change(uow, customer["id"], None, entry, at)
    return customer


def update_customer(
    uow: UnitOfWork, customer_id: str, changes: Mapping[str, Any], now: datetime
) -> Record:
    """`POST /v1/customers/{id}`: the changes, then a new discount when one is asked for."""
    fields = {name: value for name, value in changes.items() if name not in DISCOUNT_PARAMETERS}
    before = customer_service.get_live_customer(uow, customer_id, param=None)
    at = _customer_time(uow, before, now)
    in_force = discount_in_force(before, at)
    customer = customer_service.update_customer(uow, customer_id, fields, now)
    entry: dict[str, Any] | None = None
    removed = _removes_discount(changes) and in_force is not None
    if removed:
        # Stripe: an empty `coupon` removes the customer's discount.
        customer = uow.repository(CustomerRepository).update(customer_id, {"discount": None})
    else:
        customer, entry = _apply_requested(uow, customer, changes, now)
    # One `customer.updated` for all the call changed (a `balance` set included), then the
    # discount's event, both before what the call sets off (the retries below).
    customer_events.record_customer_updated(uow, before, customer, at)
    if removed or entry is not None:
        customer_events.record_discount_change(uow, customer_id, in_force, entry, at)
    new_method = fields.get("default_payment_method")
    if new_method and new_method != before["default_payment_method"]:
        # A new default payment method: the open invoices of the customer's past_due and
        # unpaid subscriptions are retried at once (services/collection.py).
        from recur.services import collection

        collection.retry_open_invoices(uow, customer_id, at)
        customer = customer_service.retrieve_customer(uow, customer_id)
    return customer


def _removes_discount(changes: Mapping[str, Any]) -> bool:
    """An update's `coupon=` (empty, decoded as None) without a promotion code."""
    return "coupon" in changes and changes["coupon"] is None and not changes.get("promotion_code")


def _apply_requested(
    uow: UnitOfWork, customer: Record, values: Mapping[str, Any], now: datetime
) -> tuple[Record, dict[str, Any] | None]:
    """Give the customer the discount `values` ask for; returns it and the new entry."""
    coupon, code = values.get("coupon"), values.get("promotion_code")
    if coupon is None and code is None:
        return customer, None
    if coupon is not None and code is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: coupon, promotion_code.",
            param="promotion_code",
        )
    at = _customer_time(uow, customer, now)
    entry = _redeem(uow, customer, coupon, code, at)
    # A customer has one discount: a new one replaces it, as at Stripe.
    updated = uow.repository(CustomerRepository).update(customer["id"], {"discount": entry})
    return updated, entry


def _redeem(
    uow: UnitOfWork, customer: Record, coupon_id: str | None, code_id: str | None, at: datetime
) -> dict[str, Any]:
    """Redeem the coupon or promotion code into a discount entry (limits enforced)."""
    promotion_code = None
    if code_id is not None:
        code = retrieve_promotion_code(uow, code_id, param="promotion_code")
        if code["minimum_amount"] is not None:
            raise InvalidRequest(
                "This promotion code has a minimum amount: it can be redeemed on a purchase "
                "(a subscription or an invoice), not on a customer.",
                param="promotion_code",
            )
        coupon = get_coupon_record(uow, code["coupon"])
        first_time = (
            uow.repository(ChargeRepository).count(
                ChargeRepository.table.c.customer == customer["id"],
                ChargeRepository.table.c.status == "succeeded",
            )
            == 0
        )
        currency = coupon["currency"] or customer["currency"] or ""
        redeemed = redeem_promotion_code(uow, code_id, customer["id"], 0, currency, at, first_time)
        promotion_code = redeemed["id"]
        param = "promotion_code"
    else:
        if not coupon_id:
            raise InvalidRequest("No such coupon: ''", param="coupon", code="resource_missing")
        coupon = redeem_coupon(uow, coupon_id, at, param="coupon")
        param = "coupon"
    if (
        coupon["amount_off"] is not None
        and customer["currency"]
        and coupon["currency"] != customer["currency"]
    ):
        raise InvalidRequest(
            f"The coupon takes an amount off in {coupon['currency'].upper()}, but the "
            f"customer is billed in {customer['currency'].upper()}.",
            param=param,
        )
    end = None
    if coupon["duration"] == "repeating":
        end = to_unix(add_intervals(at, "month", int(coupon["duration_in_months"]), 1))
    return {
        "id": new_id("di"),
        "coupon": coupon["id"],
        "promotion_code": promotion_code,
        "start": to_unix(at),
        "end": end,
    }


def delete_customer_discount(
    uow: UnitOfWork, customer_id: str, now: datetime
) -> tuple[dict[str, Any], Record]:
    """`DELETE /v1/customers/{id}/discount`: the removed discount entry and its coupon."""
    customer = customer_service.get_live_customer(uow, customer_id, param=None)
    at = _customer_time(uow, customer, now)
    entry = discount_in_force(customer, at)
    if entry is None:
        raise NotFound(f"No active discount for customer: '{customer_id}'", code="resource_missing")
    uow.repository(CustomerRepository).update(customer_id, {"discount": None})
    customer_events.record_discount_change(uow, customer_id, entry, None, at)
    return entry, get_coupon_record(uow, entry["coupon"])


def customer_discount_view(
    uow: UnitOfWork, customer: Record, now: datetime
) -> tuple[dict[str, Any], Record] | None:
    """The customer's discount in force (at its present) with its coupon, for the wire."""
    if not customer.get("discount") or customer.get("deleted"):
        return None
    entry = discount_in_force(customer, _customer_time(uow, customer, now))
    if entry is None:
        return None
    return entry, get_coupon_record(uow, entry["coupon"])


def discount_in_force(customer: Record, at: datetime) -> dict[str, Any] | None:
    """The customer's discount entry when `at` lies in its [start, end) (pure)."""
    entry = customer.get("discount")
    if not entry:
        return None
    moment = to_unix(at)
    if entry.get("start") is not None and moment < int(entry["start"]):
        return None
    if entry.get("end") is not None and moment >= int(entry["end"]):
        return None
    return dict(entry)


def inherited_discount(
    uow: UnitOfWork,
    customer: Record,
    currency: str,
    own: Sequence[Mapping[str, Any]],
    at: datetime,
) -> dict[str, Any] | None:
    """The customer's discount for an invoice made `at`, when the invoice inherits it.

    None when `own` (the subscription's discount entries) has one in force — a
    subscription's discounts take precedence over the customer's — when the customer has
    none in force, or when its coupon takes an amount off in another currency. Returns a
    copy: `record_inherited_use` stores what the invoice did to it (a `once` one is used).
    """
    moment = to_unix(at)
    for entry in own:
        if (entry.get("start") is None or moment >= int(entry["start"])) and (
            entry.get("end") is None or moment < int(entry["end"])
        ):
            return None
    inherited = discount_in_force(customer, at)
    if inherited is None:
        return None
    coupon = get_coupon_record(uow, inherited["coupon"])
    if coupon["amount_off"] is not None and coupon["currency"] != currency:
        return None
    return inherited


def record_inherited_use(uow: UnitOfWork, customer: Record, entry: Mapping[str, Any]) -> None:
    """Store the customer's discount as the invoice left it (a `once` one ends there)."""
    if dict(entry) != (customer.get("discount") or {}):
        uow.repository(CustomerRepository).update(customer["id"], {"discount": dict(entry)})


def _customer_time(uow: UnitOfWork, customer: Record, now: datetime) -> datetime:
    """The customer's present: its test clock's frozen time, or `now`."""
    if customer["test_clock"]:
        clock = uow.repository(TestClockRepository).find(customer["test_clock"])
        if clock is not None:
            return from_unix(clock["frozen_time"])
    return now
