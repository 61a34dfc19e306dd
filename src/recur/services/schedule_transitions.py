"""What time does to a subscription schedule: its start, its phase boundaries, its end.

The subscription row carries what time needs from its schedule (`schedule`,
`schedule_phase_at`, `schedule_expiring_at`), so `advance.due_actions` sees each phase
boundary as an action and `advance_subscription` — the one code path through time —
performs it (`enter_next_phase`): the next phase's settings and discounts are set, its
items applied by `subscription_changes` (prorations, `billing_cycle_anchor` reset). A
boundary at a period end is aligned: it creates no prorations, and the renewal at the same
second (performed after it) bills the new phase's prices. The last phase's end releases the
subscription (`end_behavior=release`, the default) or ends it (`cancel`: the
subscription's `cancel_at` is the schedule's end, so it ends exactly as a `cancel_at`
does).

Recur's reading of Stripe where its documentation leaves room: a schedule that reaches the
end of its last phase becomes `released` (release) or `completed` (cancel); a
subscription that ends otherwise cancels its schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from recur.domain.clock import Clock, from_unix, to_unix
from recur.domain.errors import DomainError, InvalidRequest, NotFound
from recur.domain.ids import new_id
from recur.domain.money import round_half_up
from recur.domain.pricing import amount_for_quantity
from recur.domain.tenancy import Scope
from recur.services import advance, subscription_changes
from recur.services import subscriptions as subscription_service
from recur.services.events import record_event
from recur.services.invoice_items import invoice_item_view
from recur.services.prices import price_terms, retrieve_price
from recur.services.products import retrieve_product
from recur.services.schedule_phases import anchors_at_start, effective, phase_at
from recur.services.subscription_status import update_subscription_record
from recur.services.tax_rates import retrieve_tax_rate
from recur.storage.repositories.base import Record
from recur.storage.repositories.billing import (
    InvoiceItemRepository,
    SubscriptionItemRepository,
    SubscriptionRepository,
)
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.schedules import ScheduleDueWork, SubscriptionScheduleRepository
from recur.storage.uow import UnitOfWork, UnitOfWorkFactory

NOT_STARTED, ACTIVE = "not_started", "active"
COMPLETED, RELEASED, CANCELED = "completed", "released", "canceled"
# Stripe sends `subscription_schedule.expiring` this long before a schedule ends.
EXPIRING_NOTICE = timedelta(days=7)
KIND = "subscription_schedule"

log = logging.getLogger("recur.schedules")


def _repo(uow: UnitOfWork) -> SubscriptionScheduleRepository:
    return uow.repository(SubscriptionScheduleRepository)


def _subscriptions(uow: UnitOfWork) -> SubscriptionRepository:
    return uow.repository(SubscriptionRepository)


def schedule_view(uow: UnitOfWork, schedule: Record) -> dict[str, Any]:
    """A schedule with its phases' tax rates loaded, as the wire shows it."""
    view = dict(schedule)
    phases = []
    for phase in schedule["phases"] or []:
        shown = dict(phase)
        shown["default_tax_rates"] = [
            retrieve_tax_rate(uow, rate) for rate in phase["default_tax_rates"]
        ]
        shown["items"] = [
            dict(item, tax_rates=[retrieve_tax_rate(uow, rate) for rate in item["tax_rates"]])
            for item in phase["items"]
        ]
        shown["add_invoice_items"] = [
            dict(item, tax_rates=[retrieve_tax_rate(uow, rate) for rate in item["tax_rates"]])
            for item in phase["add_invoice_items"]
        ]
        phases.append(shown)
    view["phases"] = phases
    return view


def schedule_event(
    uow: UnitOfWork,
    event_type: str,
    schedule: Record,
    at: datetime,
    previous: Mapping[str, Any] | None = None,
) -> None:
    """Write a `subscription_schedule.*` event about the schedule as it is now."""
    record_event(uow, event_type, KIND, schedule_view(uow, schedule), at, previous=previous)


def schedule_end(schedule: Record) -> int:
    """When the schedule's last phase ends."""
    return int(schedule["phases"][-1]["end_date"])


def phase_dates(phase: Mapping[str, Any]) -> dict[str, int]:
    """A phase's `{start_date, end_date}` (the schedule's `current_phase`)."""
    return {"start_date": phase["start_date"], "end_date": phase["end_date"]}


def expiring_at(schedule: Record, at: datetime) -> int | None:
    """When `subscription_schedule.expiring` is due (None: too late to announce it)."""
    notice = schedule_end(schedule) - int(EXPIRING_NOTICE.total_seconds())
    return notice if notice > to_unix(at) else None


def cancel_at_of(schedule: Record) -> int | None:
    """The `cancel_at` the schedule sets on its subscription (`end_behavior=cancel`)."""
    return schedule_end(schedule) if schedule["end_behavior"] == "cancel" else None


def _item_changes(
    current: Sequence[Record], wanted: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """`items[]` for `subscription_changes` turning the current items into a phase's:
    an item whose price stays keeps its id (and only what differs changes)."""
    by_price = {item["price"]: item for item in current}
    changes: list[dict[str, Any]] = []
    kept: set[str] = set()
    for item in wanted:
        existing = by_price.get(item["price"])
        if existing is None:
            changes.append(
                {
                    "price": item["price"],
                    "quantity": item["quantity"],
                    "tax_rates": item["tax_rates"],
                    "metadata": item["metadata"],
                }
            )
            continue
        kept.add(existing["id"])
        change: dict[str, Any] = {"id": existing["id"]}
        if int(existing["quantity"]) != item["quantity"]:
            change["quantity"] = item["quantity"]
        if list(existing["tax_rates"] or []) != item["tax_rates"]:
            change["tax_rates"] = item["tax_rates"]
        if dict(existing["metadata"] or {}) != item["metadata"]:
            removed = {key: "" for key in existing["metadata"] or {} if key not in item["metadata"]}
            change["metadata"] = {**removed, **item["metadata"]}
        if len(change) > 1:
            changes.append(change)
    changes += [{"id": item["id"], "deleted": True} for item in current if item["id"] not in kept]
    return changes


def _redeemed(
    uow: UnitOfWork, subscription: Record, phase: Mapping[str, Any], at: datetime
) -> list[dict[str, Any]]:
    """The phase's discounts, redeemed as the subscription's at `at`; one that can no
    longer be redeemed (deleted, expired, used up) is left out rather than stop billing."""
    customer = uow.repository(CustomerRepository).get(subscription["customer"])
    entries: list[dict[str, Any]] = []
    for wanted in phase["discounts"]:
        request = {key: value for key, value in wanted.items() if value is not None}
        savepoint = uow.connection.begin_nested()
        try:
            entries += subscription_service.redeem_discounts(
                uow, [request], customer, 0, subscription["currency"], at
            )
            savepoint.commit()
        except (InvalidRequest, NotFound):
            savepoint.rollback()
    return entries


def add_invoice_items(
    uow: UnitOfWork,
    customer_id: str,
    subscription_id: str | None,
    phase: Mapping[str, Any],
    at: datetime,
) -> None:
    """A phase's `add_invoice_items`: pending items that its first invoice sweeps in."""
    customer = uow.repository(CustomerRepository).get(customer_id)
    for entry in phase["add_invoice_items"]:
        price = retrieve_price(uow, entry["price"])
        product = retrieve_product(uow, price["product"])
        quantity = int(entry["quantity"])
        item = uow.repository(InvoiceItemRepository).insert(
            {
                "id": new_id("ii"),
                "created": to_unix(at),
                "customer": customer_id,
                "invoice": None,
                "subscription": subscription_id,
                "subscription_item": None,
                "price": price["id"],
                "product": price["product"],
                "quantity": quantity,
                "unit_amount_decimal": price["unit_amount_decimal"],
                "amount": round_half_up(amount_for_quantity(price_terms(price), quantity)),
                "currency": price["currency"],
                "description": product["name"],
                "period_start": to_unix(at),
                "period_end": to_unix(at),
                "proration": False,
                "discountable": True,
                "tax_rates": list(entry["tax_rates"]),
                "test_clock": customer["test_clock"],
                "metadata": {},
            }
        )
        record_event(uow, "invoiceitem.created", "invoiceitem", invoice_item_view(uow, item), at)


def apply_phase(
    uow: UnitOfWork,
    schedule: Record,
    subscription: Record,
    old: Mapping[str, Any],
    phase: Mapping[str, Any],
    at: datetime,
    *,
    behavior: str,
    entering: bool,
) -> None:
    """Make the subscription what `phase` says, at `at`: settings and discounts first (the
    change's invoice uses them), then one-off items, then the items with their prorations.

    Entering a phase at a period end changes nothing of the period that ends: no
    prorations; the renewal due at the same second bills the new items.
    """
    settings = effective(phase, schedule["default_settings"])
    values: dict[str, Any] = {
        name: value for name, value in settings.items() if subscription[name] != value
    }
    if phase["metadata"]:
        merged = dict(subscription["metadata"] or {}, **phase["metadata"])
        if merged != subscription["metadata"]:
            values["metadata"] = merged
    if phase["discounts"] != old["discounts"]:
        values["discounts"] = _redeemed(uow, subscription, phase, at)
    aligned = to_unix(at) == subscription["current_period_end"]
    prorated = subscription["status"] in subscription_changes.PRORATED_STATUSES
    reset = entering and anchors_at_start(phase, schedule["default_settings"])
    if reset and (aligned or not prorated):
        # At a period end the new cycle starts now anyway; without a paid period there is
        # nothing to restart (a trial, a pause): the anchor moves, the cycle follows it.
        values["billing_cycle_anchor"] = to_unix(at)
        if subscription.get("billing_cycle_anchor_config"):
            values["billing_cycle_anchor_config"] = None  # the anchor is the phase start now
        reset = False
    if values:
        subscription = update_subscription_record(uow, subscription, values, at)
    if entering:
        add_invoice_items(uow, subscription["customer"], subscription["id"], phase, at)
    current = uow.repository(SubscriptionItemRepository).items_of(subscription["id"])
    raw_items = _item_changes(current, phase["items"])
    if not raw_items and not reset:
        return
    options = subscription_changes.ChangeOptions(
        proration_behavior="none" if aligned else behavior,
        billing_cycle_anchor="now" if reset else None,
        planned=True,
    )
    subscription_changes.change_subscription(
        uow,
        subscription["id"],
        raw_items or None,
        options,
        at,
        param="phases",
        catch_up=not entering,
    )


def enter_next_phase(uow: UnitOfWork, subscription: Record, at: datetime) -> None:
    """The `phase` action: at a boundary, enter the next phase; at the end, finish."""
    schedule = _repo(uow).find(subscription["schedule"], for_update=True)
    moment = to_unix(at)
    if schedule is None or schedule["status"] != ACTIVE:
        _subscriptions(uow).update(
            subscription["id"], {"schedule_phase_at": None, "schedule_expiring_at": None}
        )
        return
    phases = schedule["phases"]
    index = next((i for i, phase in enumerate(phases) if phase["start_date"] == moment), None)
    if index is None and moment < schedule_end(schedule):
        # No boundary here (the phases changed since this was planned): wait for the
        # current phase's end.
        current = phase_at(phases, moment)
        end = phases[current]["end_date"] if current is not None else schedule_end(schedule)
        _subscriptions(uow).update(subscription["id"], {"schedule_phase_at": end})
        return
    if index is None:
        _finish(uow, schedule, subscription, at)
        return
    before = schedule_view(uow, schedule)
    phase = phases[index]
    subscription = _subscriptions(uow).update(
        subscription["id"], {"schedule_phase_at": phase["end_date"]}
    )
    apply_phase(
        uow,
        schedule,
        subscription,
        phases[index - 1] if index else phase,
        phase,
        at,
        behavior=phase["proration_behavior"],
        entering=True,
    )
    schedule = _repo(uow).update(schedule["id"], {"current_phase": phase_dates(phase)})
    schedule_event(uow, "subscription_schedule.updated", schedule, at, previous=before)


def _finish(uow: UnitOfWork, schedule: Record, subscription: Record, at: datetime) -> None:
    """The last phase ended: release the subscription, or end it (`end_behavior`)."""
    if schedule["end_behavior"] == "cancel":
        # Normally `cancel_at` (the schedule's end) has ended it already; if the merchant
        # moved it, the schedule still ends it now, as a `cancel_at` would.
        update_subscription_record(
            uow,
            subscription,
            {"schedule_phase_at": None, "cancel_at": to_unix(at), "canceled_at": to_unix(at)},
            at,
        )
        return
    release_now(uow, schedule, subscription, at, preserve_cancel_date=True, now=at)


def send_expiring_notice(uow: UnitOfWork, subscription: Record, at: datetime) -> None:
    """The `schedule_expiring` action: `subscription_schedule.expiring`, once."""
    _subscriptions(uow).update(subscription["id"], {"schedule_expiring_at": None})
    schedule = _repo(uow).find(subscription["schedule"])
    if schedule is not None and schedule["status"] == ACTIVE:
        schedule_event(uow, "subscription_schedule.expiring", schedule, at)


def schedule_subscription_ended(
    uow: UnitOfWork, subscription: Record, at: datetime, *, reason: str
) -> None:
    """The subscription ended: its schedule is `completed` if that was its planned end,
    else `canceled` (`aborted` when a failed payment ended it, as Stripe says)."""
    schedule = _repo(uow).find(subscription["schedule"], for_update=True)
    _subscriptions(uow).update(
        subscription["id"], {"schedule_phase_at": None, "schedule_expiring_at": None}
    )
    if schedule is None or schedule["status"] != ACTIVE:
        return
    if schedule["end_behavior"] == "cancel" and to_unix(at) >= schedule_end(schedule):
        values: dict[str, Any] = {"status": COMPLETED, "completed_at": to_unix(at)}
        event = "subscription_schedule.completed"
    else:
        values = {"status": CANCELED, "canceled_at": to_unix(at)}
        aborted = reason not in ("cancellation_requested",)
        event = "subscription_schedule.aborted" if aborted else "subscription_schedule.canceled"
    values["current_phase"] = None
    schedule = _repo(uow).update(schedule["id"], values)
    schedule_event(uow, event, schedule, at)


def release_now(
    uow: UnitOfWork,
    schedule: Record,
    subscription: Record | None,
    at: datetime,
    *,
    preserve_cancel_date: bool,
    now: datetime,
) -> Record:
    """Release the schedule now: its subscription (if any) goes on by itself."""
    if subscription is not None:
        if not preserve_cancel_date and subscription["cancel_at"] == cancel_at_of(schedule):
            subscription_service.update_subscription(
                uow, subscription["id"], {"cancel_at": None}, now
            )
            subscription = _subscriptions(uow).get(subscription["id"])
        update_subscription_record(
            uow,
            subscription,
            {"schedule": None, "schedule_phase_at": None, "schedule_expiring_at": None},
            at,
        )
        advance.schedule(uow, subscription["id"])
    released = _repo(uow).update(
        schedule["id"],
        {
            "status": RELEASED,
            "released_at": to_unix(at),
            "released_subscription": schedule["subscription"],
            "subscription": None,
            "current_phase": None,
        },
    )
    schedule_event(uow, "subscription_schedule.released", released, at)
    return released


# --- start ----------------------------------------------------------------------------------


def _subscription_values(schedule: Record, phase: Mapping[str, Any]) -> dict[str, Any]:
    """`create_subscription`'s values for a schedule's first phase."""
    settings = effective(phase, schedule["default_settings"])
    values: dict[str, Any] = {
        "customer": schedule["customer"],
        "items": [
            {
                "price": item["price"],
                "quantity": item["quantity"],
                "tax_rates": item["tax_rates"],
                "metadata": item["metadata"],
            }
            for item in phase["items"]
        ],
        "collection_method": settings["collection_method"],
        "default_tax_rates": settings["default_tax_rates"],
        "metadata": dict(phase["metadata"]),
        "discounts": [
            {key: value for key, value in entry.items() if value is not None}
            for entry in phase["discounts"]
        ],
        "schedule": schedule["id"],
        "schedule_phase_at": phase["end_date"],
    }
    if settings["days_until_due"] is not None:
        values["days_until_due"] = settings["days_until_due"]
    if settings["default_payment_method"]:
        values["default_payment_method"] = settings["default_payment_method"]
    if settings["description"] is not None:
        values["description"] = settings["description"]
    if phase["trial_end"] is not None:
        values["trial_end"] = phase["trial_end"]
    if schedule["end_behavior"] == "cancel":
        values["cancel_at"] = schedule_end(schedule)
    return values


def start_schedule(uow: UnitOfWork, schedule: Record, at: datetime, now: datetime) -> Record:
    """Create the subscription of a schedule whose start has come (`at`: the present).

    A start in the past backdates the subscription (`backdate_start_date`); otherwise it
    is created at the start itself, which a late worker or a test clock reaches after it.
    """
    start = schedule["start_date"]
    index = phase_at(schedule["phases"], max(start, to_unix(at)))
    if index is None:
        index = 0
    phase = schedule["phases"][index]
    values = _subscription_values(schedule, phase)
    values["schedule_expiring_at"] = expiring_at(schedule, max(from_unix(start), at))
    created_at = from_unix(start)
    if start < to_unix(at):
        values["backdate_start_date"] = start
        created_at = at
    add_invoice_items(uow, schedule["customer"], None, phase, created_at)
    subscription = subscription_service.create_subscription(
        uow, values, now, at=created_at, planned=True
    )
    return _repo(uow).update(
        schedule["id"],
        {"status": ACTIVE, "subscription": subscription["id"], "current_phase": phase_dates(phase)},
    )


def start_due_schedule(uow: UnitOfWork, schedule_id: str, now: datetime) -> Record | None:
    """Start a not-started schedule at its start date, then let time catch up to `now`.

    A schedule that can no longer start (its customer was deleted, a price or coupon it
    names is gone) is canceled instead of retried forever.
    """
    schedule = _repo(uow).find(schedule_id, for_update=True)
    if schedule is None or schedule["status"] != NOT_STARTED:
        return None
    start = from_unix(schedule["start_date"])
    before = schedule_view(uow, schedule)
    customer = uow.repository(CustomerRepository).get(schedule["customer"])
    savepoint = uow.connection.begin_nested()
    try:
        if customer["deleted"]:
            raise NotFound.for_id("customer", customer["id"], None)
        started = start_schedule(uow, schedule, start, now)
        savepoint.commit()
    except DomainError:
        savepoint.rollback()
        canceled = _repo(uow).update(
            schedule_id, {"status": CANCELED, "canceled_at": to_unix(start)}
        )
        schedule_event(uow, "subscription_schedule.canceled", canceled, start)
        return canceled
    schedule_event(uow, "subscription_schedule.updated", started, start, previous=before)
    advance.advance_subscription(uow, started["subscription"], now)
    return started


def earliest_start_on_clock(uow: UnitOfWork, clock_id: str) -> int | None:
    """When the next not-started schedule on a test clock starts."""
    return _repo(uow).earliest_start_on_clock(clock_id)


def start_schedules_on_clock(uow: UnitOfWork, clock_id: str, until: int) -> None:
    """Start a test clock's schedules due by `until`, each at its own start date."""
    for schedule_id in _repo(uow).to_start_on_clock(clock_id, until):
        schedule = _repo(uow).get(schedule_id)
        start_due_schedule(uow, schedule_id, from_unix(schedule["start_date"]))


def start_due_schedules(uow_factory: UnitOfWorkFactory, clock: Clock, limit: int = 100) -> int:
    """Worker job: start the schedules (not on test clocks) whose start date has come.

    Each starts in a savepoint: one that fails unexpectedly is logged and left for the
    next pass without holding back the others.
    """
    now = clock.now()
    with uow_factory(None) as uow:
        claimed = ScheduleDueWork(uow).claim_due_schedules(to_unix(now), limit)
        for row in claimed:
            scoped = uow.for_scope(Scope(row["account_id"], bool(row["livemode"])))
            try:
                with uow.connection.begin_nested():
                    start_due_schedule(scoped, row["id"], now)
            except Exception:
                log.exception("starting subscription schedule %s failed", row["id"])
    return len(claimed)
