"""The one code path through time: `advance_subscription(uow, subscription_id, now)`.

A subscription stores `next_action_at`, the earliest moment something must happen to it.
Advancing performs every due action in time order, each at its own due time (not at
`now`), so a subscription whose worker was down for three months catches up period by
period, and produces exactly the invoices it would have produced on time. The worker
calls it with the system time; advancing a test clock calls it with the clock's time.
Exactly-once comes from the database: a cycle invoice is unique per (subscription,
period start), and every step commits with the state that says it was done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from recur.domain.clock import from_unix, to_unix
from recur.domain.invoicing import LineDraft
from recur.domain.money import format_amount, round_half_up
from recur.domain.periods import Interval, add_intervals, config_cycle_anchor, period_index_at
from recur.domain.pricing import amount_for_quantity
from recur.domain.tax import TaxRateTerms
from recur.services import collection, customer_discounts, pending_updates
from recur.services import invoices as invoice_service
from recur.services.billing_settings import BillingSettings, billing_settings
from recur.services.events import record_event
from recur.services.prices import price_terms, retrieve_price
from recur.services.products import retrieve_product
from recur.services.subscription_status import subscription_view, update_subscription_record
from recur.storage.repositories.base import Record
from recur.storage.repositories.billing import (
    DueWork,
    InvoiceItemRepository,
    InvoiceRepository,
    SubscriptionItemRepository,
    SubscriptionRepository,
)
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.uow import UnitOfWork

# A subscription can have at most this many actions performed in one call (≈80 years of
# monthly renewals); a bug that schedules an action in the past must not loop forever.
MAX_STEPS = 1000

# When several actions fall due at the same second, they happen in this order: a draft is
# finalized before the period it belongs to is left; cancellation wins over renewal.
PRIORITY = (
    "finalize",
    # The end of a failed payment's retries before anything else happens to the
    # subscription at that second (services/collection.py). Payment attempts themselves
    # are not the subscription's actions: they are the collection queue's.
    "end_dunning",
    "expire_incomplete",
    # A pending update expires before the period it was made in is left.
    "expire_pending_update",
    "trial_will_end",
    "schedule_expiring",
    "cancel",
    # A schedule's phase boundary comes before a trial end or a renewal at the same second,
    # so the invoice made then bills the new phase's prices (one invoice, no prorations).
    "phase",
    "trial_end",
    "resume_collection",
    "overdue",
    "invoice_ahead",
    "renew",
)


@dataclass(frozen=True, slots=True)
class Action:
    """Something due at `at` (unix seconds); `target` names the invoice for finalize/overdue."""

    kind: str
    at: int
    target: str | None = None


def _sort_key(action: Action) -> tuple[int, int]:
    return action.at, PRIORITY.index(action.kind)


def due_actions(
    subscription: Record, open_invoices: Sequence[Record], settings: BillingSettings
) -> list[Action]:
    """Every action the subscription will need, earliest first (pure: no I/O)."""
    status = subscription["status"]
    actions: list[Action] = []
    for invoice in open_invoices:
        if invoice["status"] == "draft" and invoice["auto_advance"]:
            finalizes_at = invoice["automatically_finalizes_at"]
            if finalizes_at is not None:
                actions.append(Action("finalize", finalizes_at, invoice["id"]))
        if (
            invoice["status"] == "open"
            and invoice["collection_method"] == "send_invoice"
            and invoice["due_date"] is not None
            and status == "active"
        ):
            actions.append(Action("overdue", invoice["due_date"], invoice["id"]))
        if invoice["status"] == "open" and status in ("active", "past_due", "trialing"):
            actions.extend(payment_actions(invoice))
    pending_update = subscription.get("pending_update") or {}
    if pending_update.get("expires_at") is not None:
        actions.append(Action("expire_pending_update", int(pending_update["expires_at"])))
    if status in ("canceled", "incomplete_expired"):
        # An ended subscription bills nothing more, but a draft it left (a renewal created
        # just before a cancellation) is still finalized when due, as Stripe does.
        return sorted(actions, key=_sort_key)
    if status == "incomplete":
        actions.append(
            Action("expire_incomplete", subscription["created"] + settings.incomplete_expiry)
        )
        return sorted(actions, key=_sort_key)
    # A subscription schedule's next phase boundary (or end) and its expiry notice
    # (services/schedule_transitions.py); they happen while paused too.
    if subscription.get("schedule_phase_at") is not None:
        actions.append(Action("phase", int(subscription["schedule_phase_at"])))
    if subscription.get("schedule_expiring_at") is not None:
        actions.append(Action("schedule_expiring", int(subscription["schedule_expiring_at"])))
    if status == "paused":
        return sorted(actions, key=_sort_key)
    notices = subscription["notices"] or {}
    trial_end = subscription["trial_end"]
    if status == "trialing" and trial_end is not None:
        notice_at = trial_end - settings.trial_will_end_lead
        # A trial shorter than the lead time gets no notice (it would be due before it began).
        if notices.get("trial_will_end") != trial_end and notice_at > subscription["created"]:
            actions.append(Action("trial_will_end", notice_at))
        actions.append(Action("trial_end", trial_end))
    cancel_at = subscription["cancel_at"]
    if cancel_at is not None:
        actions.append(Action("cancel", cancel_at))
    pause = subscription["pause_collection"]
    if pause and pause.get("resumes_at"):
        actions.append(Action("resume_collection", int(pause["resumes_at"])))
    if status != "trialing":
        end = subscription["current_period_end"]
        if cancel_at is None or cancel_at > end:
            actions.append(Action("renew", end))
            days_before = subscription.get("invoice_days_before")
            if (
                subscription.get("invoice_timing") == "before"
                and days_before is not None
                and notices.get("invoiced_ahead") != end
            ):
                ahead = max(end - int(days_before) * 86400, subscription["current_period_start"])
                actions.append(Action("invoice_ahead", ahead))
    return sorted(actions, key=_sort_key)


def payment_actions(invoice: Record) -> list[Action]:
    """The end of a failed payment's retries (pure; services/collection).

    The attempts (the first one and the retries, `next_payment_attempt`) are made by
    collection, not by the subscription's advance: services/collection_run.py.
    """
    if invoice["collection_method"] != "charge_automatically":
        return []
    if invoice["next_payment_attempt"] is not None:
        return []
    dunning = invoice.get("dunning") or {}
    if (
        dunning.get("ends_at") is not None
        and not dunning.get("ended")
        and not dunning.get("blocked")
    ):
        return [Action("end_dunning", int(dunning["ends_at"]), invoice["id"])]
    return []


def next_action(uow: UnitOfWork, subscription: Record) -> Action | None:
    """The earliest action the subscription needs, if any."""
    open_invoices = uow.repository(InvoiceRepository).open_or_draft_of(subscription["id"])
    actions = due_actions(subscription, open_invoices, billing_settings(uow))
    return actions[0] if actions else None


def schedule(uow: UnitOfWork, subscription_id: str) -> Record:
    """Store the subscription's `next_action_at` (after any change to it)."""
    repo = uow.repository(SubscriptionRepository)
    subscription = repo.get(subscription_id)
    action = next_action(uow, subscription)
    at = None if action is None else action.at
    if subscription["next_action_at"] != at:
        subscription = repo.update(subscription_id, {"next_action_at": at})
    return subscription


def advance_subscription(uow: UnitOfWork, subscription_id: str, now: datetime) -> int:
    """Perform every action due up to `now`, in time order; returns how many were done."""
    repo = uow.repository(SubscriptionRepository)
    limit = to_unix(now)
    for done in range(MAX_STEPS):
        subscription = repo.get(subscription_id, for_update=True)
        action = next_action(uow, subscription)
        if action is None or action.at > limit:
            schedule(uow, subscription_id)
            return done
        PERFORMERS[action.kind](uow, subscription, action, from_unix(action.at))
    raise RuntimeError(f"subscription {subscription_id} needed more than {MAX_STEPS} actions")


# --- periods and lines ----------------------------------------------------------------


def cycle_anchor(subscription: Record) -> datetime:
    """The moment the subscription's periods are counted from: its anchor, or for an anchor
    a `billing_cycle_anchor_config` clamped to a short month, an earlier boundary that has
    the configured day (so the 31st bills Feb 28, then Mar 31)."""
    anchor = from_unix(subscription["billing_cycle_anchor"])
    config = subscription.get("billing_cycle_anchor_config")
    if not config:
        return anchor
    return config_cycle_anchor(
        anchor,
        subscription["interval"],
        int(subscription["interval_count"]),
        int(config["day_of_month"]),
    )


def period_after(subscription: Record, start: datetime) -> datetime:
    """The end of the period that starts at `start` (computed from the anchor)."""
    anchor = cycle_anchor(subscription)
    interval: Interval = subscription["interval"]
    count = int(subscription["interval_count"])
    index = period_index_at(anchor, interval, count, start)
    return add_intervals(anchor, interval, count, index + 1)


def used_share(subscription: Record, start: datetime, end: datetime) -> Fraction:
    """The share of the cycle period containing `start` that [start, end) covers (exact)."""
    anchor = cycle_anchor(subscription)
    interval: Interval = subscription["interval"]
    count = int(subscription["interval_count"])
    index = period_index_at(anchor, interval, count, start)
    full_start = add_intervals(anchor, interval, count, index)
    full_end = add_intervals(anchor, interval, count, index + 1)
    if (start, end) == (full_start, full_end) or end > full_end:
        return Fraction(1)
    return Fraction(
        int((end - start).total_seconds()), int((full_end - full_start).total_seconds())
    )


def describe(price: Record, product_name: str, quantity: int) -> str:
    """Stripe's line text: `2 × Desk (at 199.00 EUR / month)`."""
    unit = price["unit_amount_decimal"]
    every = price["recurring_interval"] or ""
    if price["recurring_interval_count"] and price["recurring_interval_count"] > 1:
        every = f"{price['recurring_interval_count']} {every}s"
    if unit is not None and Decimal(unit) == Decimal(unit).to_integral_value():
        shown = format_amount(int(Decimal(unit)), price["currency"])
        return f"{quantity} × {product_name} (at {shown} / {every})"
    return f"{quantity} × {product_name}"


def item_lines(
    uow: UnitOfWork,
    subscription: Record,
    start: datetime,
    end: datetime,
    *,
    factor: Fraction = Fraction(1),
    trial: bool = False,
) -> list[LineDraft]:
    """One line per item for [start, end): the price × quantity, times `factor`."""
    items = uow.repository(SubscriptionItemRepository).items_of(subscription["id"])
    return build_item_lines(
        subscription,
        items,
        CatalogLookup(
            price=lambda price_id: retrieve_price(uow, price_id),
            product=lambda product_id: retrieve_product(uow, product_id),
            tax_rates=lambda rate_ids: invoice_service.tax_terms(uow, rate_ids),
        ),
        start,
        end,
        factor=factor,
        trial=trial,
    )


@dataclass(frozen=True, slots=True)
class CatalogLookup:
    """How to find the catalog rows lines are made of (the billing run: loaded in bulk)."""

    price: Callable[[str], Record]
    product: Callable[[str], Record]
    tax_rates: Callable[[Sequence[str]], tuple[TaxRateTerms, ...]]


def build_item_lines(
    subscription: Record,
    items: Sequence[Record],
    catalog: CatalogLookup,
    start: datetime,
    end: datetime,
    *,
    factor: Fraction = Fraction(1),
    trial: bool = False,
) -> list[LineDraft]:
    """The lines of `items` for [start, end), given how to look up the catalog."""
    lines = []
    default_rates = subscription["default_tax_rates"] or []
    for item in items:
        price = catalog.price(item["price"])
        product = catalog.product(price["product"])
        quantity = int(item["quantity"])
        if trial:
            amount = 0
            text = f"Trial period for {product['name']}"
        else:
            amount = round_half_up(amount_for_quantity(price_terms(price), quantity) * factor)
            text = describe(price, product["name"], quantity)
            if factor != 1:
                text = f"Remaining time on {text} after {start:%d %b %Y}"
        lines.append(
            LineDraft(
                amount=amount,
                description=text,
                period_start=start,
                period_end=end,
                quantity=quantity,
                price_id=price["id"],
                product_id=price["product"],
                proration=factor != 1,
                tax_rates=catalog.tax_rates(item["tax_rates"] or default_rates),
                subscription_item_id=item["id"],
            )
        )
    return lines


def subscription_invoice(
    uow: UnitOfWork,
    subscription: Record,
    lines: list[LineDraft],
    at: datetime,
    *,
    billing_reason: str,
    period_start: datetime,
    period_end: datetime,
    cycle: bool,
    finalizes_at: datetime | None,
    auto_advance: bool = True,
) -> Record:
    """A draft invoice for a subscription, with its discounts (written back when used up)."""
    customer = uow.repository(CustomerRepository).get(subscription["customer"])
    discounts = [dict(entry) for entry in subscription["discounts"] or []]
    # The customer's discount applies while the subscription has none of its own in force.
    inherited = customer_discounts.inherited_discount(
        uow, customer, subscription["currency"], discounts, at
    )
    request = invoice_service.InvoiceRequest(
        customer=customer,
        currency=subscription["currency"],
        billing_reason=billing_reason,
        period_start=period_start,
        period_end=period_end,
        collection_method=subscription["collection_method"],
        days_until_due=subscription["days_until_due"],
        subscription=subscription["id"],
        cycle_period_start=period_start if cycle else None,
        discounts=(*discounts, *([inherited] if inherited is not None else [])),
        auto_advance=auto_advance,
        finalizes_at=finalizes_at,
    )
    invoice = invoice_service.create_invoice(uow, request, lines, at)
    changes: dict[str, Any] = {"latest_invoice": invoice["id"]}
    if discounts != list(subscription["discounts"] or []):
        changes["discounts"] = discounts
    uow.repository(SubscriptionRepository).update(subscription["id"], changes)
    if inherited is not None:
        customer_discounts.record_inherited_use(uow, customer, inherited)
    return invoice


def _collects(subscription: Record) -> bool:
    """Whether new invoices are finalized and charged (not while unpaid or kept as drafts)."""
    pause = subscription["pause_collection"] or {}
    return subscription["status"] != "unpaid" and pause.get("behavior") != "keep_as_draft"


# --- the actions ------------------------------------------------------------------------


def _finalize(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    if action.target is None:
        raise RuntimeError("a finalize action names its invoice")
    pause = subscription["pause_collection"] or {}
    # Under pause_collection the invoice is not collected: Stripe marks it uncollectible
    # or voids it right after finalization, without a payment attempt.
    attempt = subscription["status"] != "unpaid" and not pause.get("behavior")
    invoice = invoice_service.finalize_invoice(
        uow, action.target, at, attempt=attempt, queue=collection.collects_later()
    )
    if invoice["status"] == "open" and pause.get("behavior") == "mark_uncollectible":
        invoice_service.mark_uncollectible(uow, invoice["id"], at)
    elif invoice["status"] == "open" and pause.get("behavior") == "void":
        invoice_service.void_invoice(uow, invoice["id"], at)


def last_period(subscription: Record, start: datetime) -> tuple[datetime, Fraction]:
    """The end of the period starting at `start` and the share of it that is billed.

    A period that `cancel_at` cuts short ends then, billed prorated by the exact seconds
    used (Stripe prorates a period shortened by cancel_at; Dokos' fixed end date).
    """
    end = period_after(subscription, start)
    cancel_at = subscription["cancel_at"]
    if cancel_at is not None and to_unix(start) < cancel_at < to_unix(end):
        factor = Fraction(cancel_at - to_unix(start), to_unix(end) - to_unix(start))
        return from_unix(cancel_at), factor
    return end, Fraction(1)


def _cycle_invoice(
    uow: UnitOfWork,
    subscription: Record,
    start: datetime,
    end: datetime,
    factor: Fraction,
    at: datetime,
    *,
    finalize_now: bool = False,
) -> None:
    """The cycle invoice for [start, end) — exactly once per period start — created `at`."""
    if uow.repository(InvoiceRepository).cycle_invoice(subscription["id"], to_unix(start)):
        return  # already invoiced (a retried step, or invoiced ahead)
    settings = billing_settings(uow)
    auto_advance = _collects(subscription)
    invoice = subscription_invoice(
        uow,
        subscription,
        item_lines(uow, subscription, start, end, factor=factor),
        at,
        billing_reason="subscription_cycle",
        period_start=start,
        period_end=end,
        cycle=True,
        finalizes_at=at + timedelta(seconds=settings.finalization_delay),
        auto_advance=auto_advance,
    )
    if auto_advance and (finalize_now or settings.finalization_delay == 0):
        subscription = uow.repository(SubscriptionRepository).get(subscription["id"])
        _finalize(uow, subscription, Action("finalize", to_unix(at), invoice["id"]), at)


def _renew(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    previous_start = from_unix(subscription["current_period_start"])
    start = from_unix(subscription["current_period_end"])
    end, factor = last_period(subscription, start)
    subscription = update_subscription_record(
        uow,
        subscription,
        {"current_period_start": to_unix(start), "current_period_end": to_unix(end)},
        at,
    )
    if subscription["invoice_timing"] == "end":
        # In arrears: bill the period that just ended (a partial first one prorated).
        share = used_share(subscription, previous_start, start)
        _cycle_invoice(uow, subscription, previous_start, start, share, at)
        return
    _cycle_invoice(uow, subscription, start, end, factor, at)


def _invoice_ahead(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    """`invoice_timing=before` (Recur extension): the next period's invoice, N days early."""
    start = from_unix(subscription["current_period_end"])
    end, factor = last_period(subscription, start)
    notices = dict(subscription["notices"] or {}, invoiced_ahead=to_unix(start))
    subscription = uow.repository(SubscriptionRepository).update(
        subscription["id"], {"notices": notices}
    )
    _cycle_invoice(uow, subscription, start, end, factor, at)


def _trial_will_end(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    notices = dict(subscription["notices"] or {}, trial_will_end=subscription["trial_end"])
    uow.repository(SubscriptionRepository).update(subscription["id"], {"notices": notices})
    view = subscription_view(uow, subscription)
    record_event(uow, "customer.subscription.trial_will_end", "subscription", view, at)


def _has_payment_method(uow: UnitOfWork, subscription: Record) -> bool:
    if subscription["default_payment_method"]:
        return True
    customer = uow.repository(CustomerRepository).get(subscription["customer"])
    return customer["default_payment_method"] is not None


def _trial_end(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    settings = subscription["trial_settings"] or {}
    missing = (settings.get("end_behavior") or {}).get("missing_payment_method", "create_invoice")
    if missing != "create_invoice" and not _has_payment_method(uow, subscription):
        if missing == "cancel":
            end_subscription(uow, subscription, at, reason="cancellation_requested")
        else:
            update_subscription_record(
                uow, subscription, {"status": "paused"}, at, event="customer.subscription.paused"
            )
        return
    start = at
    end, _ = last_period(subscription, start)
    # A trial that ends before the anchor (a later billing_cycle_anchor, or a config's day)
    # leaves part of a period up to it: billed prorated by the exact seconds, as at creation
    # — free if the subscription was created with `proration_behavior=none`.
    factor = used_share(subscription, start, end)
    if factor < 1 and subscription.get("created_proration_behavior") == "none":
        factor = Fraction(0)
    subscription = update_subscription_record(
        uow,
        subscription,
        {
            "status": "active",
            "current_period_start": to_unix(start),
            "current_period_end": to_unix(end),
        },
        at,
    )
    if subscription["invoice_timing"] != "end":  # in arrears, the period is billed at its end
        _cycle_invoice(uow, subscription, start, end, factor, at)


def end_subscription(uow: UnitOfWork, subscription: Record, at: datetime, *, reason: str) -> Record:
    """Cancel now: status canceled, `customer.subscription.deleted`; nothing is billed after."""
    details = dict(subscription["cancellation_details"] or {})
    details.setdefault("reason", reason)
    ended = update_subscription_record(
        uow,
        subscription,
        {
            "status": "canceled",
            "canceled_at": subscription["canceled_at"] or to_unix(at),
            "ended_at": to_unix(at),
            "cancellation_details": details,
            "next_action_at": None,
        },
        at,
        event="customer.subscription.deleted",
    )
    if subscription.get("schedule"):
        # Its schedule ends with it (completed, or canceled). Imported here: that module
        # builds on this one.
        from recur.services.schedule_transitions import schedule_subscription_ended

        schedule_subscription_ended(uow, ended, at, reason=details["reason"])
    return ended


def bill_in_arrears_until(uow: UnitOfWork, subscription: Record, at: datetime) -> None:
    """`invoice_timing=end`: the final invoice for the used part of the current period."""
    if subscription["invoice_timing"] != "end" or subscription["status"] not in (
        "active",
        "past_due",
    ):
        return
    start = from_unix(subscription["current_period_start"])
    if at <= start:
        return
    share = used_share(subscription, start, at)
    _cycle_invoice(uow, subscription, start, at, share, at, finalize_now=True)


def _cancel(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    bill_in_arrears_until(uow, subscription, at)
    pending = uow.repository(InvoiceItemRepository).pending_for(
        subscription["customer"], subscription["id"]
    )
    if any(item["subscription"] == subscription["id"] for item in pending):
        # Prorations left pending (the credit for a period cancel_at shortened) are
        # collected when the subscription ends, as Stripe does at a scheduled cancellation.
        invoice = subscription_invoice(
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
    subscription = uow.repository(SubscriptionRepository).get(subscription["id"])
    end_subscription(uow, subscription, at, reason="cancellation_requested")


def _expire_incomplete(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    for invoice in uow.repository(InvoiceRepository).open_or_draft_of(subscription["id"]):
        if invoice["status"] == "open":
            invoice_service.void_invoice(uow, invoice["id"], at)
    update_subscription_record(
        uow,
        subscription,
        {"status": "incomplete_expired", "ended_at": to_unix(at), "next_action_at": None},
        at,
    )
    if subscription.get("schedule"):
        from recur.services.schedule_transitions import schedule_subscription_ended

        schedule_subscription_ended(uow, subscription, at, reason="payment_failed")


def _resume_collection(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    update_subscription_record(uow, subscription, {"pause_collection": None}, at)


def _overdue(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    update_subscription_record(uow, subscription, {"status": "past_due"}, at)


def _target(action: Action) -> str:
    if action.target is None:
        raise RuntimeError(f"a {action.kind} action names its invoice")
    return action.target


def _end_dunning(uow: UnitOfWork, action: Action, at: datetime) -> None:
    collection.end_dunning_action(uow, _target(action), at)


def _phase(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    # Imported here: services.schedule_transitions builds on this module.
    from recur.services.schedule_transitions import enter_next_phase

    enter_next_phase(uow, subscription, at)


def _schedule_expiring(uow: UnitOfWork, subscription: Record, action: Action, at: datetime) -> None:
    from recur.services.schedule_transitions import send_expiring_notice

    send_expiring_notice(uow, subscription, at)


PERFORMERS: dict[str, Callable[[UnitOfWork, Record, Action, datetime], None]] = {
    "finalize": _finalize,
    "renew": _renew,
    "trial_will_end": _trial_will_end,
    "trial_end": _trial_end,
    "cancel": _cancel,
    "expire_incomplete": _expire_incomplete,
    "resume_collection": _resume_collection,
    "overdue": _overdue,
    "invoice_ahead": _invoice_ahead,
    "expire_pending_update": lambda uow, subscription, action, at: (
        pending_updates.expire_pending_update(uow, subscription, at)
    ),
    "phase": _phase,
    "schedule_expiring": _schedule_expiring,
    "end_dunning": lambda uow, subscription, action, at: _end_dunning(uow, action, at),
}


def claim_due_subscriptions(uow: UnitOfWork, now: datetime, limit: int) -> list[Record]:
    """Lock a batch of every tenant's subscriptions that real time has made due."""
    return uow.repository(DueWork).claim_due_subscriptions(to_unix(now), limit)


def postpone_subscription(
    uow: UnitOfWork, subscription_id: str, now: datetime, seconds: int
) -> None:
    """Retry a subscription whose advance failed later, not on every worker pass."""
    uow.repository(SubscriptionRepository).update(
        subscription_id, {"next_action_at": to_unix(now) + seconds}
    )
