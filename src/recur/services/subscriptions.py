"""Subscriptions: create, retrieve, list, update, cancel, pause, resume.

Everything that time does to a subscription afterwards is `advance.advance_subscription`.
A customer on a test clock lives at the clock's time: every use case here runs "at"
`billing_time(...)`, the clock's frozen time for such customers and the request's time
for the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from recur.domain.clock import from_unix, to_unix
from recur.domain.errors import CardDeclined, InvalidRequest
from recur.domain.ids import new_id
from recur.domain.periods import Interval, add_intervals, next_anchor_from_config, period_index_at
from recur.services import advance, collection, payment_gateways, subscription_changes
from recur.services import customers as customers_service
from recur.services import invoices as invoice_service
from recur.services.billing_settings import billing_settings
from recur.services.coupons import get_coupon_record, redeem_coupon
from recur.services.customers import get_live_customer
from recur.services.events import record_event
from recur.services.payment_methods import check_attached
from recur.services.prices import item_price
from recur.services.promotion_codes import redeem_promotion_code, retrieve_promotion_code
from recur.services.subscription_status import subscription_view, update_subscription_record
from recur.services.tax_rates import get_active_tax_rate
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import (
    ChargeRepository,
    InvoiceItemRepository,
    SubscriptionItemRepository,
    SubscriptionRepository,
)
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.storage.uow import UnitOfWork

CREATING = "creating"


def _subscriptions(uow: UnitOfWork) -> SubscriptionRepository:
    return uow.repository(SubscriptionRepository)


def billing_time(uow: UnitOfWork, customer: Record, now: datetime) -> datetime:
    """The customer's present: its test clock's frozen time, or `now`."""
    if customer["test_clock"]:
        clock = uow.repository(TestClockRepository).get(customer["test_clock"])
        return from_unix(clock["frozen_time"])
    return now


# --- items ------------------------------------------------------------------------------


def resolve_items(
    uow: UnitOfWork,
    raw_items: Sequence[Mapping[str, Any]],
    at: datetime,
    *,
    param: str = "items",
    planned: bool = False,
) -> list[dict[str, Any]]:
    """Validate items: an active recurring price (or inline price_data), quantity, tax rates.

    `planned`: items a schedule planned earlier, whose prices may have been archived since
    (the subscription starts anyway, as one on an archived price keeps renewing)."""
    if not raw_items:
        raise InvalidRequest(
            "Missing required param: items.", param=param, code="parameter_missing"
        )
    resolved: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_items):
        prefix = f"{param}[{index}]"
        price = item_price(uow, raw, at, prefix, price_type="recurring", allow_inactive=planned)
        quantity = raw.get("quantity", 1)
        if quantity is None or int(quantity) < 0:
            raise InvalidRequest(
                "Invalid quantity: must be at least 0.", param=f"{prefix}[quantity]"
            )
        tax_rates = [
            get_active_tax_rate(uow, rate, param=f"{prefix}[tax_rates]")["id"]
            for rate in raw.get("tax_rates") or []
        ]
        resolved.append(
            {
                "price": price,
                "quantity": int(quantity),
                "tax_rates": tax_rates,
                "metadata": dict(raw.get("metadata") or {}),
            }
        )
    first = resolved[0]["price"]
    for index, item in enumerate(resolved):
        price = item["price"]
        if price["currency"] != first["currency"]:
            raise InvalidRequest(
                "All prices on a subscription must have the same currency.",
                param=f"{param}[{index}][price]",
            )
        if (price["recurring_interval"], price["recurring_interval_count"]) != (
            first["recurring_interval"],
            first["recurring_interval_count"],
        ):
            raise InvalidRequest(
                "All prices on a subscription must have the same `recurring.interval` and "
                "`recurring.interval_count`.",
                param=f"{param}[{index}][price]",
            )
    return resolved


def _insert_items(
    uow: UnitOfWork, subscription_id: str, items: Sequence[Mapping[str, Any]], at: datetime
) -> None:
    repo = uow.repository(SubscriptionItemRepository)
    for item in items:
        repo.insert(
            {
                "id": new_id("si"),
                "created": to_unix(at),
                "subscription": subscription_id,
                "price": item["price"]["id"],
                "quantity": item["quantity"],
                "tax_rates": item["tax_rates"],
                "discounts": [],
                "metadata": item["metadata"],
                "deleted": False,
            }
        )


# --- discounts --------------------------------------------------------------------------


def redeem_discounts(
    uow: UnitOfWork,
    requested: Sequence[Mapping[str, Any]],
    customer: Record,
    amount: int,
    currency: str,
    at: datetime,
) -> list[dict[str, Any]]:
    """Redeem coupons and promotion codes; each becomes a discount entry `di_…`."""
    entries = []
    first_time = (
        uow.repository(ChargeRepository).count(
            ChargeRepository.table.c.customer == customer["id"],
            ChargeRepository.table.c.status == "succeeded",
        )
        == 0
    )
    for index, wanted in enumerate(requested):
        promotion_code = None
        if wanted.get("promotion_code"):
            promo = redeem_promotion_code(
                uow, wanted["promotion_code"], customer["id"], amount, currency, at, first_time
            )
            promotion_code = promo["id"]
            coupon = get_coupon_record(uow, retrieve_promotion_code(uow, promo["id"])["coupon"])
        elif wanted.get("coupon"):
            coupon = redeem_coupon(uow, wanted["coupon"], at, param=f"discounts[{index}][coupon]")
        else:
            raise InvalidRequest(
                "Each discount needs a coupon or a promotion_code.", param=f"discounts[{index}]"
            )
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            raise InvalidRequest(
                f"The coupon's currency ({coupon['currency']}) does not match the "
                f"subscription's ({currency}).",
                param=f"discounts[{index}]",
            )
        end = None
        if coupon["duration"] == "repeating":
            end = to_unix(add_intervals(at, "month", int(coupon["duration_in_months"]), 1))
        entries.append(
            {
                "id": new_id("di"),
                "coupon": coupon["id"],
                "promotion_code": promotion_code,
                "start": to_unix(at),
                "end": end,
            }
        )
    return entries


# --- create -----------------------------------------------------------------------------


def _trial_end(
    values: Mapping[str, Any], items: Sequence[Mapping[str, Any]], at: datetime
) -> int | None:
    trial_end = values.get("trial_end")
    if trial_end == "now":
        return None
    if trial_end is not None:
        if int(trial_end) <= to_unix(at):
            raise InvalidRequest(
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
                param="trial_end",
            )
        return int(trial_end)
    days = values.get("trial_period_days")
    if days is None and values.get("trial_from_plan"):
        days = items[0]["price"]["recurring_trial_period_days"]
    if days:
        if not 0 <= int(days) <= 730:
            raise InvalidRequest("Trials can last at most 730 days.", param="trial_period_days")
        return to_unix(at + timedelta(days=int(days)))
    return None


def _anchor_config(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """`billing_cycle_anchor_config` as stored and shown: every field, null when not given."""
    config = values.get("billing_cycle_anchor_config")
    if config is None:
        return None
    return {
        name: config.get(name) for name in ("day_of_month", "hour", "minute", "month", "second")
    }


def _anchor(values: Mapping[str, Any], at: datetime, start: datetime, trial_end: int | None) -> int:
    anchor = values.get("billing_cycle_anchor")
    config = values.get("billing_cycle_anchor_config")
    if anchor is not None and config is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: billing_cycle_anchor, "
            "billing_cycle_anchor_config.",
            param="billing_cycle_anchor_config",
        )
    if config is not None:
        after = from_unix(trial_end) if trial_end is not None else at
        return to_unix(next_anchor_from_config(after, **config))
    if anchor is not None:
        if int(anchor) < to_unix(at):
            raise InvalidRequest(
                "billing_cycle_anchor cannot be in the past.", param="billing_cycle_anchor"
            )
        if trial_end is not None and int(anchor) < trial_end:
            raise InvalidRequest(
                "billing_cycle_anchor cannot be before the trial ends.",
                param="billing_cycle_anchor",
            )
        return int(anchor)
    return trial_end if trial_end is not None else to_unix(start)


def create_subscription(
    uow: UnitOfWork,
    values: Mapping[str, Any],
    now: datetime,
    *,
    at: datetime | None = None,
    planned: bool = False,
) -> Record:
    """Create a subscription and its first invoice, finalized and collected at once.

    `at` overrides the customer's present: a subscription schedule starts its subscription
    at the schedule's start date, which a test clock's advance reaches before the clock's
    `frozen_time` moves."""
    customer = get_live_customer(uow, values["customer"])
    at = billing_time(uow, customer, now) if at is None else at
    items = resolve_items(uow, values.get("items") or [], at, planned=planned)
    price = items[0]["price"]
    interval: Interval = price["recurring_interval"]
    count = int(price["recurring_interval_count"])
    currency = price["currency"]
    payment_behavior = values.get("payment_behavior") or "allow_incomplete"
    collection_method = values.get("collection_method") or "charge_automatically"
    days_until_due = values.get("days_until_due")
    if collection_method == "send_invoice" and days_until_due is None:
        days_until_due = 30
    if collection_method == "charge_automatically" and days_until_due is not None:
        raise InvalidRequest(
            "days_until_due is only used with collection_method=send_invoice.",
            param="days_until_due",
        )
    if values.get("default_payment_method"):
        check_attached(
            uow, values["default_payment_method"], customer["id"], "default_payment_method"
        )
    default_tax_rates = [
        get_active_tax_rate(uow, rate, param="default_tax_rates")["id"]
        for rate in values.get("default_tax_rates") or []
    ]
    backdate = values.get("backdate_start_date")
    if backdate is not None and int(backdate) > to_unix(at):
        raise InvalidRequest(
            "backdate_start_date must be in the past.", param="backdate_start_date"
        )
    start = from_unix(int(backdate)) if backdate is not None else at
    trial_end = _trial_end(values, items, at)
    if values.get("billing_cycle_anchor_config") is not None and interval not in ("month", "year"):
        # Stripe: "only valid with monthly and yearly price intervals".
        raise InvalidRequest(
            "billing_cycle_anchor_config can only be used with monthly or yearly prices.",
            param="billing_cycle_anchor_config",
        )
    anchor_ts = _anchor(values, at, start, trial_end)
    anchor = from_unix(anchor_ts)
    subscription_id = new_id("sub")
    sub_start = start
    if trial_end is not None:
        period_start, period_end = start, from_unix(trial_end)
    elif anchor > start:
        period_start, period_end = start, anchor
    else:
        index = period_index_at(anchor, interval, count, at)
        period_start = add_intervals(anchor, interval, count, index)
        period_end = add_intervals(anchor, interval, count, index + 1)
    timing, days_before = _invoice_timing(values, interval, count)
    cancel_at = values.get("cancel_at")
    if values.get("cancel_at_period_end"):
        cancel_at = to_unix(period_end)
    if cancel_at is not None and int(cancel_at) <= to_unix(at):
        raise InvalidRequest("cancel_at must be in the future.", param="cancel_at")
    # A cancel_at inside the first period cuts it short: it is billed prorated up to then
    # (Stripe prorates a period that cancel_at shortens), and ends then.
    cut: int | None = None
    if (
        cancel_at is not None
        and trial_end is None
        and timing != "end"
        and values.get("proration_behavior") != "none"
        and to_unix(period_start) < int(cancel_at) < to_unix(period_end)
    ):
        cut = int(cancel_at)
    row: dict[str, Any] = {
        "id": subscription_id,
        "created": to_unix(at),
        "customer": customer["id"],
        # Never committed: the request sets the real status once the first invoice is
        # collected, so payment outcomes on the way do not emit updates of a half-made row.
        "status": CREATING,
        "currency": currency,
        "interval": interval,
        "interval_count": count,
        "collection_method": collection_method,
        "days_until_due": days_until_due,
        "default_payment_method": values.get("default_payment_method"),
        "default_tax_rates": default_tax_rates,
        "description": values.get("description"),
        "billing_cycle_anchor": anchor_ts,
        "billing_cycle_anchor_config": _anchor_config(values),
        "start_date": to_unix(sub_start),
        "current_period_start": to_unix(period_start),
        "current_period_end": to_unix(period_end) if cut is None else cut,
        "trial_start": to_unix(at) if trial_end is not None else None,
        "trial_end": trial_end,
        "trial_settings": values.get("trial_settings"),
        "created_proration_behavior": values.get("proration_behavior"),
        "cancel_at": None if cancel_at is None else int(cancel_at),
        "cancel_at_period_end": bool(values.get("cancel_at_period_end")),
        "canceled_at": to_unix(at) if cancel_at is not None else None,
        "ended_at": None,
        "cancellation_details": None,
        "pause_collection": None,
        "discounts": [],
        "latest_invoice": None,
        "invoice_timing": timing,
        "invoice_days_before": days_before,
        "notices": {},
        "test_clock": customer["test_clock"],
        "metadata": dict(values.get("metadata") or {}),
        "next_action_at": None,
        # Set by a subscription schedule that creates it (services/subscription_schedules.py).
        "schedule": values.get("schedule"),
        "schedule_phase_at": values.get("schedule_phase_at"),
        "schedule_expiring_at": values.get("schedule_expiring_at"),
    }
    subscription = _subscriptions(uow).insert(row)
    _insert_items(uow, subscription_id, items, at)
    requested = list(values.get("discounts") or [])
    if values.get("coupon"):
        requested.append({"coupon": values["coupon"]})
    if values.get("promotion_code"):
        requested.append({"promotion_code": values["promotion_code"]})
    if requested:
        first_amount = sum(
            int(item["price"]["unit_amount_decimal"] or 0) * item["quantity"] for item in items
        )
        discounts = redeem_discounts(uow, requested, customer, first_amount, currency, at)
        subscription = _subscriptions(uow).update(subscription_id, {"discounts": discounts})
    if timing == "end":
        # In arrears (Recur extension): nothing is due yet; the first invoice comes at the
        # end of the first period, for that period.
        subscription = _subscriptions(uow).update(
            subscription_id, {"status": "trialing" if trial_end is not None else "active"}
        )
        record_event(
            uow,
            "customer.subscription.created",
            "subscription",
            subscription_view(uow, subscription),
            at,
        )
        return advance.schedule(uow, subscription_id)
    lines = _first_lines(
        uow,
        subscription,
        values,
        start,
        anchor,
        period_start,
        period_end,
        trial_end,
        cut=None if cut is None else from_unix(cut),
    )
    invoice = advance.subscription_invoice(
        uow,
        subscription,
        lines,
        at,
        billing_reason="subscription_create",
        period_start=period_start,
        period_end=period_end if cut is None else from_unix(cut),
        cycle=False,
        finalizes_at=None,
    )
    attempt = payment_behavior != "default_incomplete"
    invoice = invoice_service.finalize_invoice(uow, invoice["id"], at, attempt=attempt)
    # An account paid out of band (payment_gateway=manual) waits for the merchant to record
    # the payment, as for send_invoice: the subscription is active meanwhile.
    if (
        invoice["status"] == "paid"
        or collection_method == "send_invoice"
        or not payment_gateways.collects_automatically(uow)
    ):
        status = "trialing" if trial_end is not None else "active"
    else:
        if payment_behavior == "error_if_incomplete":
            charge = uow.repository(ChargeRepository).latest_for(invoice["id"]) or {}
            # Raising rolls back the whole request: nothing was created.
            raise CardDeclined(
                charge.get("failure_message") or "Your card was declined.",
                code=charge.get("failure_code") or "card_declined",
                decline_code=charge.get("decline_code"),
            )
        status = "incomplete"
    subscription = _subscriptions(uow).update(subscription_id, {"status": status})
    record_event(
        uow,
        "customer.subscription.created",
        "subscription",
        subscription_view(uow, subscription),
        at,
    )
    return advance.schedule(uow, subscription_id)


# The shortest length of one interval, in days: `invoice_days_before` must stay below it
# so that a period's invoice is never due before the period it follows has begun.
_SHORTEST_DAYS = {"day": 1, "week": 7, "month": 28, "year": 365}


def _invoice_timing(
    values: Mapping[str, Any], interval: Interval, count: int
) -> tuple[str, int | None]:
    """`invoice_timing` and `invoice_days_before` (Recur extension for ERP billing)."""
    timing = values.get("invoice_timing") or "start"
    days = values.get("invoice_days_before")
    if timing == "before":
        if days is None:
            raise InvalidRequest(
                "Missing required param: invoice_days_before (with invoice_timing=before).",
                param="invoice_days_before",
                code="parameter_missing",
            )
        longest = _SHORTEST_DAYS[interval] * count - 1
        if not 0 <= int(days) <= longest:
            raise InvalidRequest(
                f"invoice_days_before must be between 0 and {longest} for this billing interval.",
                param="invoice_days_before",
            )
        return timing, int(days)
    if days is not None:
        raise InvalidRequest(
            "invoice_days_before is only used with invoice_timing=before.",
            param="invoice_days_before",
        )
    return timing, None


def _first_lines(
    uow: UnitOfWork,
    subscription: Record,
    values: Mapping[str, Any],
    start: datetime,
    anchor: datetime,
    period_start: datetime,
    period_end: datetime,
    trial_end: int | None,
    cut: datetime | None = None,
) -> list[Any]:
    """The first invoice's lines: a free trial, a partial period, or whole periods.

    `cut` is a `cancel_at` inside the first period: the period is billed up to it only,
    prorated by the exact seconds used (as a later period that cancel_at cuts short)."""
    interval: Interval = subscription["interval"]
    count = int(subscription["interval_count"])
    if trial_end is not None:
        return advance.item_lines(uow, subscription, period_start, period_end, trial=True)
    if anchor > start:
        # A partial period before the anchor, prorated against the full interval that
        # would end at the anchor — or, when backdated, that would start at the backdate.
        end = anchor if cut is None else min(cut, anchor)
        if values.get("proration_behavior") == "none":
            return advance.item_lines(uow, subscription, start, end, factor=Fraction(0))
        if values.get("backdate_start_date") is not None:
            full = add_intervals(start, interval, count, 1) - start
        else:
            # The full period that ends at the anchor (a configured day of the month counts
            # from the cycle that has it: anchored Feb 28 for the 31st, it began Jan 31).
            cycle = advance.cycle_anchor(subscription)
            index = period_index_at(cycle, interval, count, anchor)
            full = anchor - add_intervals(cycle, interval, count, index - 1)
        factor = Fraction(int((end - start).total_seconds()), int(full.total_seconds()))
        if factor >= 1:
            return advance.item_lines(uow, subscription, start, end)
        return advance.item_lines(uow, subscription, start, end, factor=factor)
    if start < period_start:
        # Backdated without an anchor: every whole period from the start up to now's.
        lines: list[Any] = []
        boundary = start
        while boundary < period_end:
            nxt = add_intervals(
                start, interval, count, period_index_at(start, interval, count, boundary) + 1
            )
            if cut is not None and boundary < cut < nxt:
                share = Fraction(_seconds(boundary, cut), _seconds(boundary, nxt))
                return lines + advance.item_lines(uow, subscription, boundary, cut, factor=share)
            lines += advance.item_lines(uow, subscription, boundary, nxt)
            boundary = nxt
        return lines
    if cut is not None and period_start < cut < period_end:
        share = Fraction(_seconds(period_start, cut), _seconds(period_start, period_end))
        return advance.item_lines(uow, subscription, period_start, cut, factor=share)
    return advance.item_lines(uow, subscription, period_start, period_end)


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


# --- read -------------------------------------------------------------------------------


def retrieve_subscription(
    uow: UnitOfWork, subscription_id: str, *, param: str | None = None
) -> Record:
    """One subscription of this tenant."""
    return _subscriptions(uow).get(subscription_id, param=param)


def list_subscriptions(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    customer: str | None = None,
    price: str | None = None,
    status: str | None = None,
    test_clock: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of subscriptions, newest first."""
    return _subscriptions(uow).list_subscriptions(
        request,
        customer=customer,
        price=price,
        status=status,
        test_clock=test_clock,
        created=created,
    )


# --- change -----------------------------------------------------------------------------


def _live(uow: UnitOfWork, subscription_id: str) -> Record:
    subscription = _subscriptions(uow).get(subscription_id, for_update=True)
    if subscription["status"] in ("canceled", "incomplete_expired"):
        raise InvalidRequest(
            "A canceled subscription can only update its cancellation_details and metadata.",
            code="resource_missing",
        )
    return subscription


def _customer_time(uow: UnitOfWork, subscription: Record, now: datetime) -> datetime:
    customer = get_live_customer(uow, subscription["customer"], param=None)
    return billing_time(uow, customer, now)


def update_subscription(
    uow: UnitOfWork, subscription_id: str, changes: Mapping[str, Any], now: datetime
) -> Record:
    """Change what does not need proration: metadata, cancellation, collection, defaults."""
    subscription = _subscriptions(uow).get(subscription_id, for_update=True)
    at = _customer_time(uow, subscription, now)
    ended = subscription["status"] in ("canceled", "incomplete_expired")
    allowed_when_ended = {"metadata", "cancellation_details"}
    if ended and set(changes) - allowed_when_ended:
        raise InvalidRequest(
            "A canceled subscription can only update its cancellation_details and metadata.",
            param=sorted(set(changes) - allowed_when_ended)[0],
        )
    _check_pending_update_parameters(changes)
    if not ended:
        # Whatever time already owes happens first: the update applies to the present state.
        advance.advance_subscription(uow, subscription_id, at)
        subscription = _subscriptions(uow).get(subscription_id, for_update=True)
    # One `customer.subscription.updated` for the whole update, however many parts it has.
    before = subscription_view(uow, subscription)
    if not ended:
        subscription = subscription_changes.apply_update(uow, subscription, changes, at)
    values: dict[str, Any] = {}
    for name in ("metadata", "description", "cancellation_details", "default_tax_rates"):
        if name in changes:
            values[name] = changes[name]
    if changes.get("default_payment_method"):
        check_attached(
            uow,
            changes["default_payment_method"],
            subscription["customer"],
            "default_payment_method",
        )
    if "default_payment_method" in changes:
        values["default_payment_method"] = changes["default_payment_method"]
    if "collection_method" in changes:
        values["collection_method"] = changes["collection_method"]
        if changes["collection_method"] == "send_invoice":
            values["days_until_due"] = (
                changes.get("days_until_due") or subscription["days_until_due"] or 30
            )
        else:
            values["days_until_due"] = None
    elif "days_until_due" in changes:
        values["days_until_due"] = changes["days_until_due"]
    if "cancel_at_period_end" in changes:
        if changes["cancel_at_period_end"]:
            values.update(
                cancel_at_period_end=True,
                cancel_at=subscription["current_period_end"],
                canceled_at=to_unix(at),
            )
        else:
            values.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
    if "cancel_at" in changes:
        cancel_at = changes["cancel_at"]
        if cancel_at is not None and int(cancel_at) <= to_unix(at):
            raise InvalidRequest("cancel_at must be in the future.", param="cancel_at")
        values.update(
            cancel_at=cancel_at,
            cancel_at_period_end=cancel_at is not None
            and int(cancel_at) == subscription["current_period_end"],
            canceled_at=None if cancel_at is None else to_unix(at),
        )
    if "cancel_at" in values and values["cancel_at"] != subscription["cancel_at"]:
        _reprorate_cancel_at(uow, subscription, values["cancel_at"], changes, at)
    if "pause_collection" in changes:
        pause = changes["pause_collection"]
        resumes_at = None if pause is None else pause.get("resumes_at")
        if resumes_at is not None and int(resumes_at) <= to_unix(at):
            raise InvalidRequest(
                "resumes_at must be in the future.", param="pause_collection[resumes_at]"
            )
        values["pause_collection"] = pause
    invoice_credit_now = False
    if "trial_end" in changes:
        values.update(_trial_values(uow, subscription, changes, at))
        invoice_credit_now = (
            changes["trial_end"] != "now"
            and subscription["status"] == "active"
            and changes.get("proration_behavior") == "always_invoice"
        )
    if values:
        subscription = _subscriptions(uow).update(subscription_id, values)
    if invoice_credit_now:
        _invoice_pending_now(uow, subscription, at)
    subscription = _subscriptions(uow).get(subscription_id)
    after = subscription_view(uow, subscription)
    record_event(uow, "customer.subscription.updated", "subscription", after, at, previous=before)
    if not ended and changes.get("default_payment_method"):
        # A new payment method: the open invoices of a past_due/unpaid subscription are
        # retried at once (services/collection.py; Dodo's "update payment method").
        collection.retry_open_invoices(
            uow, subscription["customer"], at, subscription_id=subscription_id
        )
    if not ended:
        advance.advance_subscription(uow, subscription_id, at)
    return _subscriptions(uow).get(subscription_id)


# Stripe: only these parameters can make a pending update (docs.stripe.com/billing/
# subscriptions/pending-updates-reference: "Supported attributes").
PENDING_UPDATE_PARAMETERS = frozenset(
    {
        "items",
        "payment_behavior",
        "proration_behavior",
        "proration_date",
        "billing_cycle_anchor",
        "trial_end",
    }
)


def _check_pending_update_parameters(changes: Mapping[str, Any]) -> None:
    if changes.get("payment_behavior") != "pending_if_incomplete":
        return
    others = sorted(set(changes) - PENDING_UPDATE_PARAMETERS)
    if others:
        raise InvalidRequest(
            "With payment_behavior=pending_if_incomplete, only these parameters can be "
            f"updated: {', '.join(sorted(PENDING_UPDATE_PARAMETERS))}.",
            param=others[0],
        )


# Stripe: `trial_end` "can be at most two years" away.
MAX_TRIAL = timedelta(days=730)


def _trial_values(
    uow: UnitOfWork, subscription: Record, changes: Mapping[str, Any], at: datetime
) -> dict[str, Any]:
    """`trial_end` on update: end a trial now, move its end, or start one on an active
    subscription (its unused paid time credited as `proration_behavior` says)."""
    trial_end = changes["trial_end"]
    status = subscription["status"]
    notices = dict(subscription["notices"] or {})
    if trial_end == "now":
        if status != "trialing":
            # No trial to end: the state asked for already holds (integrations send
            # trial_end=now with plan changes whatever the status), so nothing changes.
            return {}
        # Ending a trial early restarts the cycle now (Stripe resets billing_cycle_anchor
        # to the moment the trial ends), so the first paid period is a whole one.
        # No "trial will end" notice for a trial that the merchant just ended.
        return {
            "trial_end": to_unix(at),
            "billing_cycle_anchor": to_unix(at),
            "billing_cycle_anchor_config": None,
            "notices": dict(notices, trial_will_end=to_unix(at)),
        }
    end = int(trial_end)
    if end <= to_unix(at):
        raise InvalidRequest(
            "Invalid timestamp: must be an integer Unix timestamp in the future.",
            param="trial_end",
        )
    if end > to_unix(at + MAX_TRIAL):
        raise InvalidRequest("Trials can last at most 730 days.", param="trial_end")
    if status not in ("trialing", "active"):
        raise InvalidRequest(
            f"A {status} subscription cannot be given a trial: only an active or trialing one can.",
            param="trial_end",
        )
    if status == "active" and subscription["invoice_timing"] != "start":
        raise InvalidRequest(
            "A trial can only be added to a subscription invoiced at the start of its periods "
            f"(this one has invoice_timing={subscription['invoice_timing']}).",
            param="trial_end",
        )
    # Stripe: "The billing_cycle_anchor will be updated to the trial_end value": the trial
    # is the current period, and the first paid period starts when it ends.
    values: dict[str, Any] = {
        "trial_end": end,
        "current_period_end": end,
        "billing_cycle_anchor": end,
        "billing_cycle_anchor_config": None,
    }
    lead = billing_settings(uow).trial_will_end_lead
    if end - lead <= to_unix(at):
        # Too late for a notice three days ahead: none is sent for this trial end.
        values["notices"] = dict(notices, trial_will_end=end)
    if status == "active":
        # Stripe: "introducing a trial to an existing, paid subscription results in a
        # proration. The customer is credited for the period they've already paid for
        # that is now being called free" (unless proration_behavior=none).
        if changes.get("proration_behavior") != "none":
            _credit_unused_time(uow, subscription, at)
        values.update(status="trialing", trial_start=to_unix(at), current_period_start=to_unix(at))
    return values


def _invoice_pending_now(uow: UnitOfWork, subscription: Record, at: datetime) -> None:
    """`proration_behavior=always_invoice`: what is pending for the subscription, invoiced
    and finalized now (a credit becomes customer balance)."""
    pending = uow.repository(InvoiceItemRepository).pending_for(
        subscription["customer"], subscription["id"]
    )
    if not any(item["subscription"] == subscription["id"] for item in pending):
        return
    invoice = advance.subscription_invoice(
        uow,
        subscription,
        [],
        at,
        billing_reason="subscription_update",
        period_start=at,
        period_end=at,
        cycle=False,
        finalizes_at=None,
    )
    invoice_service.finalize_invoice(uow, invoice["id"], at)


def cancel_subscription(
    uow: UnitOfWork,
    subscription_id: str,
    now: datetime,
    *,
    invoice_now: bool = False,
    prorate: bool = False,
    cancellation_details: Mapping[str, Any] | None = None,
) -> Record:
    """`DELETE /v1/subscriptions/{id}`: end now; optionally credit unused time and invoice."""
    subscription = _live(uow, subscription_id)
    at = _customer_time(uow, subscription, now)
    if subscription["invoice_timing"] == "end":
        # In arrears the time used so far is owed: bill it now (never a credit: nothing
        # was paid in advance).
        advance.bill_in_arrears_until(uow, subscription, at)
        subscription = _subscriptions(uow).get(subscription_id)
    elif prorate and subscription["status"] in ("active", "past_due", "unpaid"):
        _credit_unused_time(uow, subscription, at)
    if cancellation_details:
        details = dict(subscription["cancellation_details"] or {}, **cancellation_details)
        subscription = _subscriptions(uow).update(
            subscription_id, {"cancellation_details": details}
        )
    pending = uow.repository(InvoiceItemRepository).pending_for(
        subscription["customer"], subscription_id
    )
    if invoice_now and pending:
        # A final invoice for what is still pending (prorations, the credit above); with
        # nothing pending there is nothing to invoice, as at Stripe.
        invoice = advance.subscription_invoice(
            uow,
            subscription,
            [],
            at,
            billing_reason="subscription_update",
            period_start=at,
            period_end=at,
            cycle=False,
            finalizes_at=None,
        )
        invoice_service.finalize_invoice(uow, invoice["id"], at)
        subscription = _subscriptions(uow).get(subscription_id)
    advance.end_subscription(uow, subscription, at, reason="cancellation_requested")
    # A renewal draft it left is still finalized when due.
    return advance.schedule(uow, subscription_id)


def _reprorate_cancel_at(
    uow: UnitOfWork,
    subscription: Record,
    cancel_at: int | None,
    changes: Mapping[str, Any],
    at: datetime,
) -> None:
    """A cancel_at inside the paid period credits the time after it (Stripe prorates a
    period that cancel_at shortens, per `proration_behavior`); moving or clearing it
    withdraws the credit made for the previous date. The credit is invoiced when the
    subscription ends (see advance._cancel)."""
    items = uow.repository(InvoiceItemRepository)
    old = subscription["cancel_at"]
    if old is not None:
        for pending in items.pending_for(subscription["customer"], subscription["id"]):
            if (
                pending["subscription"] == subscription["id"]
                and pending["proration"]
                and pending["period_start"] == old
                and pending["period_end"] == subscription["current_period_end"]
                and pending["amount"] < 0
            ):
                items.delete(pending["id"])
    if (
        cancel_at is None
        or changes.get("proration_behavior") == "none"
        or subscription["invoice_timing"] == "end"  # nothing was paid ahead
        or subscription["status"] not in ("active", "past_due")
        or not subscription["current_period_start"] < cancel_at < subscription["current_period_end"]
    ):
        return
    _credit_unused_time(uow, subscription, at, since=from_unix(cancel_at))


def _credit_unused_time(
    uow: UnitOfWork, subscription: Record, at: datetime, *, since: datetime | None = None
) -> None:
    """A pending credit for the paid period after `since` (default `at`), created `at`."""
    start = from_unix(subscription["current_period_start"])
    end = from_unix(subscription["current_period_end"])
    since = at if since is None else since
    if not start <= since < end:
        return
    factor = Fraction(int((end - since).total_seconds()), int((end - start).total_seconds()))
    for line in advance.item_lines(uow, subscription, since, end, factor=factor):
        credit = replace(
            line,
            amount=-line.amount,
            quantity=line.quantity or 1,
            description=line.description.replace("Remaining time", "Unused time", 1),
        )
        uow.repository(InvoiceItemRepository).insert(
            subscription_changes.pending_proration_row(subscription, credit, at, discountable=False)
        )


def pause_subscription(uow: UnitOfWork, subscription_id: str, now: datetime) -> Record:
    """Status `paused`: no new periods, no invoices, until resumed."""
    subscription = _live(uow, subscription_id)
    if subscription["status"] not in ("active", "trialing", "past_due", "unpaid"):
        raise InvalidRequest(f"A {subscription['status']} subscription cannot be paused.")
    at = _customer_time(uow, subscription, now)
    update_subscription_record(
        uow, subscription, {"status": "paused"}, at, event="customer.subscription.paused"
    )
    return advance.schedule(uow, subscription_id)


def resume_subscription(
    uow: UnitOfWork,
    subscription_id: str,
    now: datetime,
    *,
    billing_cycle_anchor: str = "now",
    proration_behavior: str | None = None,
) -> Record:
    """Resume a paused subscription: a new period starts now (or the cycle goes on).

    With `billing_cycle_anchor=unchanged`, the rest of a period that began while paused
    (never invoiced) is prorated as `proration_behavior` says: `create_prorations` (the
    default) leaves it pending for the next invoice, `always_invoice` invoices it now,
    `none` gives it away. With `now` no prorations are made (Stripe's rule)."""
    subscription = _live(uow, subscription_id)
    if subscription["status"] != "paused":
        raise InvalidRequest("Only a paused subscription can be resumed.")
    at = _customer_time(uow, subscription, now)
    values: dict[str, Any] = {"status": "active"}
    if billing_cycle_anchor == "now":
        end = add_intervals(at, subscription["interval"], int(subscription["interval_count"]), 1)
        values.update(
            billing_cycle_anchor=to_unix(at),
            billing_cycle_anchor_config=None,
            current_period_start=to_unix(at),
            current_period_end=to_unix(end),
        )
    subscription = update_subscription_record(
        uow, subscription, values, at, event="customer.subscription.resumed"
    )
    if billing_cycle_anchor == "now":
        invoice = advance.subscription_invoice(
            uow,
            subscription,
            advance.item_lines(
                uow, subscription, at, from_unix(subscription["current_period_end"])
            ),
            at,
            billing_reason="subscription_update",
            period_start=at,
            period_end=from_unix(subscription["current_period_end"]),
            cycle=False,
            finalizes_at=None,
        )
        invoice_service.finalize_invoice(uow, invoice["id"], at)
    else:
        # The cycle goes on: periods missed while paused are skipped, not billed.
        anchor = advance.cycle_anchor(subscription)
        interval: Interval = subscription["interval"]
        count = int(subscription["interval_count"])
        index = period_index_at(anchor, interval, count, at)
        start = add_intervals(anchor, interval, count, index)
        end = add_intervals(anchor, interval, count, index + 1)
        paused_in = subscription["current_period_start"]
        subscription = _subscriptions(uow).update(
            subscription_id,
            {"current_period_start": to_unix(start), "current_period_end": to_unix(end)},
        )
        if to_unix(start) > paused_in and subscription["invoice_timing"] == "start":
            # This period began while paused: nothing billed it yet.
            _prorate_resumed_period(uow, subscription, start, end, at, proration_behavior)
    return advance.schedule(uow, subscription_id)


def _prorate_resumed_period(
    uow: UnitOfWork,
    subscription: Record,
    start: datetime,
    end: datetime,
    at: datetime,
    proration_behavior: str | None,
) -> None:
    """The rest of the period, from `at`, prorated: pending, invoiced now, or free."""
    behavior = proration_behavior or "create_prorations"
    if behavior == "none" or at >= end:
        return
    factor = Fraction(int((end - at).total_seconds()), int((end - start).total_seconds()))
    lines = advance.item_lines(uow, subscription, at, end, factor=factor)
    if behavior == "always_invoice":
        invoice = advance.subscription_invoice(
            uow,
            subscription,
            lines,
            at,
            billing_reason="subscription_update",
            period_start=at,
            period_end=end,
            cycle=False,
            finalizes_at=None,
        )
        invoice_service.finalize_invoice(uow, invoice["id"], at)
        return
    items = uow.repository(InvoiceItemRepository)
    for line in lines:
        items.insert(subscription_changes.pending_proration_row(subscription, line, at))


def delete_customer(uow: UnitOfWork, customer_id: str, now: datetime) -> Record:
    """Delete a customer after canceling its subscriptions at once, as Stripe does.

    A deleted customer must never be billed again: its subscriptions end now (no
    proration, no final invoice) before the customer becomes a tombstone.
    """
    customer = get_live_customer(uow, customer_id, param=None)
    for subscription_id in _subscriptions(uow).live_ids_of_customer(customer["id"]):
        cancel_subscription(uow, subscription_id, now)
    return customers_service.delete_customer(uow, customer_id, now)
