"""Subscription schedules: create, retrieve, list, update, release, cancel.

A schedule plans a subscription's phases (validated by `schedule_phases`). Until its start
date it is `not_started` and has no subscription; at the start it creates one
(`subscriptions.create_subscription`): in the request (`now`, or a past date: backdated),
or later, by the worker or a test clock's advance. What time does to it — its start, its
phase boundaries, its end — is `schedule_transitions`.

An update replaces the phases: ended phases stay as they were, the current one keeps its
start, and its changes apply to the subscription now (prorated as the update says).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.errors import InvalidRequest
from recur.domain.ids import new_id
from recur.services import advance, subscription_changes
from recur.services import subscriptions as subscription_service
from recur.services.customers import get_live_customer
from recur.services.schedule_phases import (
    phase_at,
    resolve_default_settings,
    resolve_phases,
)
from recur.services.schedule_transitions import (
    ACTIVE,
    CANCELED,
    NOT_STARTED,
    apply_phase,
    cancel_at_of,
    expiring_at,
    phase_dates,
    release_now,
    schedule_end,
    schedule_event,
    schedule_view,
    start_schedule,
)
from recur.services.subscription_status import ENDED, update_subscription_record
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import SubscriptionItemRepository, SubscriptionRepository
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.schedules import SubscriptionScheduleRepository
from recur.storage.uow import UnitOfWork

OPEN_STATUSES = (NOT_STARTED, ACTIVE)
# Subscription statuses a schedule cannot take over (nothing is billed, or not yet).
UNSCHEDULABLE = (*ENDED, "incomplete")
# What the current phase keeps, on an update, when the request leaves it out.
INHERITED = {
    "discounts": ("discounts", "coupon"),
    "default_tax_rates": ("default_tax_rates",),
    "collection_method": ("collection_method",),
    "invoice_settings": ("invoice_settings",),
    "default_payment_method": ("default_payment_method",),
    "description": ("description",),
    "trial_end": ("trial", "trial_end"),
}


def _repo(uow: UnitOfWork) -> SubscriptionScheduleRepository:
    return uow.repository(SubscriptionScheduleRepository)


def _subscriptions(uow: UnitOfWork) -> SubscriptionRepository:
    return uow.repository(SubscriptionRepository)


def _customer_time(uow: UnitOfWork, schedule: Record, now: datetime) -> datetime:
    customer = uow.repository(CustomerRepository).get(schedule["customer"])
    return subscription_service.billing_time(uow, customer, now)


# --- read -----------------------------------------------------------------------------------


def retrieve_schedule(uow: UnitOfWork, schedule_id: str, *, param: str | None = None) -> Record:
    """One schedule of this tenant."""
    return _repo(uow).get(schedule_id, param=param)


def list_schedules(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    customer: str | None = None,
    scheduled: bool | None = None,
    canceled_at: CreatedFilter | None = None,
    completed_at: CreatedFilter | None = None,
    released_at: CreatedFilter | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of schedules, newest first."""
    return _repo(uow).list_schedules(
        request,
        customer=customer,
        scheduled=scheduled,
        canceled_at=canceled_at,
        completed_at=completed_at,
        released_at=released_at,
        created=created,
    )


# --- create ---------------------------------------------------------------------------------


def create_schedule(uow: UnitOfWork, values: Mapping[str, Any], now: datetime) -> Record:
    """Create a schedule from `customer` + `phases`, or from an existing subscription.

    A schedule whose start has come starts in the request: its subscription is created (a
    past `start_date` backdates it) and billed as a subscription created then.
    """
    if values.get("from_subscription"):
        return _create_from_subscription(uow, values, now)
    if not values.get("customer"):
        raise InvalidRequest(
            "Missing required param: customer (or from_subscription).",
            param="customer",
            code="parameter_missing",
        )
    customer = get_live_customer(uow, values["customer"])
    at = subscription_service.billing_time(uow, customer, now)
    raw_phases = values.get("phases") or []
    first = raw_phases[0] if raw_phases else {}
    start = _start_of(values.get("start_date"), first.get("start_date"), at)
    settings = resolve_default_settings(uow, values.get("default_settings"), {}, customer)
    phases = resolve_phases(
        uow, raw_phases, start=start, customer=customer, settings=settings, at=at
    )
    if start < to_unix(at) and phases[0]["end_date"] <= to_unix(at):
        raise InvalidRequest(
            "A backdated schedule's first phase must still be running now: Recur starts the "
            "subscription in the phase in force.",
            param="start_date",
        )
    schedule = _repo(uow).insert(
        {
            "id": new_id("sub_sched"),
            "created": to_unix(at),
            "customer": customer["id"],
            "status": NOT_STARTED,
            "subscription": None,
            "released_subscription": None,
            "end_behavior": values.get("end_behavior") or "release",
            "start_date": start,
            "phases": phases,
            "current_phase": None,
            "default_settings": settings,
            "canceled_at": None,
            "completed_at": None,
            "released_at": None,
            "test_clock": customer["test_clock"],
            "metadata": dict(values.get("metadata") or {}),
        }
    )
    if start <= to_unix(at):
        schedule = start_schedule(uow, schedule, at, now)
    schedule_event(uow, "subscription_schedule.created", schedule, at)
    return schedule


def _start_of(top: Any, phase_start: Any, at: datetime) -> int:
    """The schedule's start: `start_date` (`now`, a timestamp), else the first phase's."""
    both = top is not None and top != "now" and phase_start not in (None, "now")
    if both and int(top) != int(phase_start):
        raise InvalidRequest(
            "phases[0][start_date] must equal start_date.", param="phases[0][start_date]"
        )
    chosen = top if top is not None else phase_start
    if chosen is None or chosen == "now":
        return to_unix(at)
    return int(chosen)


_FROM_SUBSCRIPTION_ALONE = ("customer", "start_date", "end_behavior", "default_settings")


def _create_from_subscription(uow: UnitOfWork, values: Mapping[str, Any], now: datetime) -> Record:
    """One phase mirroring the subscription's current period; it keeps renewing after.

    Recur extension: `phases` may come in the same request — they replace the mirrored
    phase as an update would (the first one is the current phase) — so a change at the
    next renewal takes one request (docs/api.md, "Scheduled plan changes").
    """
    for name in _FROM_SUBSCRIPTION_ALONE:
        if values.get(name) is not None:
            raise InvalidRequest(
                f"You cannot set {name} when creating a schedule from_subscription.", param=name
            )
    subscription = _subscriptions(uow).get(
        values["from_subscription"], param="from_subscription", for_update=True
    )
    at = subscription_changes.customer_time(uow, subscription, now)
    advance.advance_subscription(uow, subscription["id"], at)
    subscription = _subscriptions(uow).get(subscription["id"], for_update=True)
    if subscription["status"] in UNSCHEDULABLE:
        raise InvalidRequest(
            f"A {subscription['status']} subscription cannot be given a schedule.",
            param="from_subscription",
        )
    if subscription["schedule"]:
        raise InvalidRequest(
            f"The subscription is already attached to the schedule {subscription['schedule']}.",
            param="from_subscription",
        )
    customer = uow.repository(CustomerRepository).get(subscription["customer"])
    phase = _mirror(uow, subscription)
    settings = resolve_default_settings(
        uow,
        None,
        {
            "collection_method": subscription["collection_method"],
            "invoice_settings": {"days_until_due": subscription["days_until_due"]},
        },
        customer,
    )
    schedule = _repo(uow).insert(
        {
            "id": new_id("sub_sched"),
            "created": to_unix(at),
            "customer": subscription["customer"],
            "status": ACTIVE,
            "subscription": subscription["id"],
            "released_subscription": None,
            "end_behavior": "release",
            "start_date": phase["start_date"],
            "phases": [phase],
            "current_phase": phase_dates(phase),
            "default_settings": settings,
            "canceled_at": None,
            "completed_at": None,
            "released_at": None,
            "test_clock": subscription["test_clock"],
            "metadata": dict(values.get("metadata") or {}),
        }
    )
    update_subscription_record(
        uow,
        subscription,
        {
            "schedule": schedule["id"],
            "schedule_phase_at": phase["end_date"],
            "schedule_expiring_at": expiring_at(schedule, at),
        },
        at,
    )
    if values.get("phases"):
        schedule = _replace(
            uow,
            schedule,
            {"phases": values["phases"], "proration_behavior": values.get("proration_behavior")},
            at,
            now,
        )
    advance.schedule(uow, subscription["id"])
    schedule_event(uow, "subscription_schedule.created", schedule, at)
    return schedule


def _mirror(uow: UnitOfWork, subscription: Record) -> dict[str, Any]:
    """The phase a `from_subscription` schedule starts with: the subscription as it is."""
    items = uow.repository(SubscriptionItemRepository).items_of(subscription["id"])
    in_force = [
        entry
        for entry in subscription["discounts"] or []
        if entry.get("end") is None or entry["end"] > subscription["current_period_start"]
    ]
    trial_end = subscription["trial_end"] if subscription["status"] == "trialing" else None
    return {
        "start_date": subscription["current_period_start"],
        "end_date": subscription["current_period_end"],
        "items": [
            {
                "price": item["price"],
                "quantity": int(item["quantity"]),
                "tax_rates": list(item["tax_rates"] or []),
                "metadata": dict(item["metadata"] or {}),
            }
            for item in items
        ],
        "add_invoice_items": [],
        "billing_cycle_anchor": None,
        "collection_method": subscription["collection_method"],
        "currency": subscription["currency"],
        "default_payment_method": subscription["default_payment_method"],
        "default_tax_rates": list(subscription["default_tax_rates"] or []),
        "description": subscription["description"],
        "discounts": [
            {"coupon": entry["coupon"], "promotion_code": entry.get("promotion_code")}
            for entry in in_force
        ],
        "invoice_settings": (
            None
            if subscription["days_until_due"] is None
            else {"days_until_due": subscription["days_until_due"]}
        ),
        "metadata": {},
        "proration_behavior": "create_prorations",
        "trial_end": trial_end,
    }


# --- update ---------------------------------------------------------------------------------


def _open_schedule(uow: UnitOfWork, schedule_id: str, verb: str, now: datetime) -> Record:
    """A schedule that can still change (time caught up first), or a 400 naming why not.

    Locks in the order `advance` takes them: the subscription, then its schedule.
    """
    schedule = _repo(uow).get(schedule_id)
    if schedule["subscription"] and schedule["status"] == ACTIVE:
        subscription = _subscriptions(uow).get(schedule["subscription"], for_update=True)
        at = subscription_changes.customer_time(uow, subscription, now)
        advance.advance_subscription(uow, subscription["id"], at)
    schedule = _repo(uow).get(schedule_id, for_update=True)
    if schedule["status"] not in OPEN_STATUSES:
        raise InvalidRequest(
            f"You cannot {verb} a subscription schedule that is currently in the "
            f"`{schedule['status']}` status. It must be in `not_started` or `active`."
        )
    return schedule


def update_schedule(
    uow: UnitOfWork, schedule_id: str, values: Mapping[str, Any], now: datetime
) -> Record:
    """Change a schedule: its phases (past ones kept), end behavior, defaults, metadata.

    Changes to the current phase apply to the subscription now, prorated as
    `proration_behavior` says (default `create_prorations`).
    """
    schedule = _open_schedule(uow, schedule_id, "update", now)
    at = _customer_time(uow, schedule, now)
    before = schedule_view(uow, schedule)
    schedule = _replace(uow, schedule, values, at, now)
    if schedule["status"] == NOT_STARTED and schedule["start_date"] <= to_unix(at):
        schedule = start_schedule(uow, schedule, at, now)
    schedule_event(uow, "subscription_schedule.updated", schedule, at, previous=before)
    return schedule


def _replace(
    uow: UnitOfWork, schedule: Record, values: Mapping[str, Any], at: datetime, now: datetime
) -> Record:
    """Write an update's changes; an active schedule's subscription follows them."""
    customer = uow.repository(CustomerRepository).get(schedule["customer"])
    changes: dict[str, Any] = {}
    for name in ("metadata", "end_behavior"):
        if values.get(name) is not None:
            changes[name] = values[name]
    settings = schedule["default_settings"]
    if "default_settings" in values:
        settings = resolve_default_settings(uow, values["default_settings"], settings, customer)
        changes["default_settings"] = settings
    old_phases = list(schedule["phases"])
    phases = old_phases
    if values.get("phases"):
        phases = _new_phases(uow, schedule, values["phases"], customer, settings, at)
        changes["phases"] = phases
        changes["start_date"] = phases[0]["start_date"]
    updated = _repo(uow).update(schedule["id"], changes)
    if updated["status"] == ACTIVE and updated["subscription"]:
        updated = _follow(uow, schedule, updated, values.get("proration_behavior"), at, now)
    return updated


def _new_phases(
    uow: UnitOfWork,
    schedule: Record,
    raw_phases: Sequence[Mapping[str, Any]],
    customer: Record,
    settings: Mapping[str, Any],
    at: datetime,
) -> list[dict[str, Any]]:
    """The phases after an update: ended phases stay as they were; the current phase keeps
    its start; the rest are replaced ("past phases can be omitted", as at Stripe)."""
    moment = to_unix(at)
    stored = list(schedule["phases"])
    if schedule["status"] == NOT_STARTED:
        start = _start_of(None, raw_phases[0].get("start_date"), at)
        if raw_phases[0].get("start_date") is None:
            start = schedule["start_date"]
        return resolve_phases(
            uow, raw_phases, start=start, customer=customer, settings=settings, at=at
        )
    past = [phase for phase in stored if phase["end_date"] <= moment]
    skipped = 0
    for position, raw in enumerate(raw_phases):
        end = raw.get("end_date")
        if end is None or int(end) > moment:
            break
        _check_past(raw, past, position)
        skipped += 1
    rest = list(raw_phases[skipped:])
    if not rest:
        raise InvalidRequest(
            "The phases must include the current phase: ended phases cannot change.",
            param="phases",
        )
    current = phase_at(stored, moment)
    start = stored[current]["start_date"] if current is not None else moment
    given = rest[0].get("start_date")
    if given not in (None, "now") and int(given) != start:
        raise InvalidRequest(
            f"The current phase started at {start}: its start_date cannot change.",
            param=f"phases[{skipped}][start_date]",
        )
    phases = resolve_phases(
        uow,
        rest,
        start=start,
        customer=customer,
        settings=settings,
        at=at,
        first_index=len(past),
        request_offset=skipped,
    )
    if current is not None:
        kept = stored[current]
        # Recur's choice: settings the request leaves out of the current phase stay as
        # they are (restating a phase's items does not drop its coupon or tax rates).
        for field, names in INHERITED.items():
            if not any(name in rest[0] for name in names):
                phases[0][field] = kept[field]
        if kept["trial_end"] != phases[0]["trial_end"]:
            raise InvalidRequest(
                "The current phase's trial cannot change.", param=f"phases[{skipped}][trial_end]"
            )
    return [*past, *phases]


def _check_past(raw: Mapping[str, Any], past: Sequence[Mapping[str, Any]], position: int) -> None:
    """A phase that has ended may be sent back, unchanged, but not changed."""
    start, end = raw.get("start_date"), int(raw["end_date"])
    for phase in past:
        if phase["end_date"] != end or (start is not None and int(start) != phase["start_date"]):
            continue
        sent = [(item.get("price"), int(item.get("quantity") or 1)) for item in raw["items"] or []]
        kept = [(item["price"], item["quantity"]) for item in phase["items"]]
        if sent == kept:
            return
    raise InvalidRequest(
        "You cannot change a phase that has already ended.", param=f"phases[{position}]"
    )


def _follow(
    uow: UnitOfWork,
    old: Record,
    schedule: Record,
    proration_behavior: str | None,
    at: datetime,
    now: datetime,
) -> Record:
    """Make the subscription follow an updated active schedule: the current phase's
    changes now, the next boundary, the end (`cancel_at` when it ends in cancellation)."""
    subscription = _subscriptions(uow).get(schedule["subscription"], for_update=True)
    moment = to_unix(at)
    index = phase_at(schedule["phases"], moment)
    old_index = phase_at(old["phases"], moment)
    if index is None:
        raise InvalidRequest("The current phase must end in the future.", param="phases")
    phase = schedule["phases"][index]
    old_phase = old["phases"][old_index] if old_index is not None else phase
    if phase != old_phase or schedule["default_settings"] != old["default_settings"]:
        apply_phase(
            uow,
            schedule,
            subscription,
            old_phase,
            phase,
            at,
            behavior=proration_behavior or "create_prorations",
            entering=False,
        )
    values: dict[str, Any] = {"schedule_phase_at": phase["end_date"]}
    if schedule_end(schedule) != schedule_end(old):
        # A new end is announced again; an unchanged one was (or will be) announced once.
        values["schedule_expiring_at"] = expiring_at(schedule, at)
    subscription = _subscriptions(uow).update(subscription["id"], values)
    _sync_cancel_at(uow, old, schedule, subscription, now)
    advance.schedule(uow, subscription["id"])
    return _repo(uow).update(schedule["id"], {"current_phase": phase_dates(phase)})


def _sync_cancel_at(
    uow: UnitOfWork, old: Record, schedule: Record, subscription: Record, now: datetime
) -> None:
    """Keep the subscription's `cancel_at` at the schedule's end when it ends in
    cancellation (one the merchant set on the subscription itself is left alone)."""
    wanted, set_before = cancel_at_of(schedule), cancel_at_of(old)
    current = subscription["cancel_at"]
    if current == wanted or (current is not None and current != set_before):
        return
    subscription_service.update_subscription(uow, subscription["id"], {"cancel_at": wanted}, now)


# --- release and cancel ---------------------------------------------------------------------


def release_schedule(
    uow: UnitOfWork, schedule_id: str, now: datetime, *, preserve_cancel_date: bool = True
) -> Record:
    """Stop scheduling: the subscription (if any) goes on by itself, its phases forgotten.

    With `preserve_cancel_date=false` a cancellation the schedule set (its end, with
    `end_behavior=cancel`) is removed too.
    """
    schedule = _open_schedule(uow, schedule_id, "release", now)
    at = _customer_time(uow, schedule, now)
    subscription = None
    if schedule["subscription"]:
        subscription = _subscriptions(uow).get(schedule["subscription"], for_update=True)
    return release_now(
        uow, schedule, subscription, at, preserve_cancel_date=preserve_cancel_date, now=now
    )


def cancel_schedule(
    uow: UnitOfWork,
    schedule_id: str,
    now: datetime,
    *,
    invoice_now: bool = True,
    prorate: bool = True,
) -> Record:
    """Cancel the schedule and its subscription now (unused time credited, pending items
    invoiced: both by default, as at Stripe)."""
    schedule = _open_schedule(uow, schedule_id, "cancel", now)
    at = _customer_time(uow, schedule, now)
    if schedule["status"] == ACTIVE and schedule["subscription"]:
        # Ending the subscription cancels its schedule (`schedule_subscription_ended`).
        subscription_service.cancel_subscription(
            uow, schedule["subscription"], now, invoice_now=invoice_now, prorate=prorate
        )
        return _repo(uow).get(schedule_id)
    canceled = _repo(uow).update(
        schedule_id, {"status": CANCELED, "canceled_at": to_unix(at), "current_phase": None}
    )
    schedule_event(uow, "subscription_schedule.canceled", canceled, at)
    return canceled
