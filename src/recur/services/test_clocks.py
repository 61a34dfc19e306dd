"""Test clocks: create, advance (completed by the worker), delete with their objects.

Advancing is two steps, as at Stripe: the API records the target and answers
`status=advancing`; a worker then runs `complete_advance`, which moves everything
attached to the clock up to the target and sets the clock `ready`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta

from recur.domain.clock import Clock, from_unix, to_unix
from recur.domain.errors import InvalidRequest
from recur.domain.ids import new_id
from recur.domain.tenancy import Scope
from recur.services import collection
from recur.services import schedule_transitions as schedules
from recur.services import subscriptions as subscription_service
from recur.services.advance import advance_subscription
from recur.services.events import record_event
from recur.services.invoices import finalize_clock_invoices
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import InvoiceRepository, SubscriptionRepository
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.test_clocks import (
    AdvancingClockFinder,
    ExpiredClockFinder,
    TestClockRepository,
)
from recur.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("recur.test_clocks")

READY = "ready"
ADVANCING = "advancing"
INTERNAL_FAILURE = "internal_failure"

# Stripe deletes a test clock (and its objects) 30 days after its creation.
LIFETIME = timedelta(days=30)
# Stripe: "If there are no subscriptions in this test clock, it cannot be more than two
# years in the future" (docs.stripe.com/api/test_clocks/advance).
MAX_ADVANCE_WITHOUT_SUBSCRIPTIONS = relativedelta(years=2)


def _repo(uow: UnitOfWork) -> TestClockRepository:
    return uow.repository(TestClockRepository)


def _require_test_mode(uow: UnitOfWork) -> None:
    if uow.scope.livemode:
        raise InvalidRequest("Test clocks can only be used in test mode.")


def _record_clock_event(uow: UnitOfWork, event_type: str, clock: Record) -> None:
    """A `test_helpers.test_clock.*` event, dated by the clock's own frozen time (as the
    events of the objects on it are); a worker that completes an advance has no other."""
    record_event(uow, event_type, "test_clock", clock, from_unix(clock["frozen_time"]))


def create_test_clock(
    uow: UnitOfWork, frozen_time: datetime, name: str | None, now: datetime
) -> Record:
    """Create a ready clock frozen at `frozen_time` (test mode only)."""
    _require_test_mode(uow)
    clock = _repo(uow).insert(
        {
            "id": new_id("clock"),
            "created": to_unix(now),
            "name": name,
            "frozen_time": to_unix(frozen_time),
            "deletes_after": to_unix(now + LIFETIME),
            "status": READY,
            "target_frozen_time": None,
        }
    )
    _record_clock_event(uow, "test_helpers.test_clock.created", clock)
    return clock


def retrieve_test_clock(uow: UnitOfWork, clock_id: str, *, param: str | None = None) -> Record:
    """A test clock of this tenant."""
    return _repo(uow).get(clock_id, param=param)


def list_test_clocks(
    uow: UnitOfWork, request: PageRequest, created: CreatedFilter | None = None
) -> Page:
    """A page of test clocks, newest first."""
    return _repo(uow).list_test_clocks(request, created)


def latest_advance_target(uow: UnitOfWork, clock: Record) -> datetime:
    """How far one advance may move this clock.

    Stripe caps an advance at two intervals of the clock's shortest subscription (two
    years without subscriptions). Recur caps every advance at two years: its engine
    catches up any number of periods in order, exactly as the worker does after downtime,
    and scenarios that prove it need long advances.
    """
    return from_unix(clock["frozen_time"]) + MAX_ADVANCE_WITHOUT_SUBSCRIPTIONS


def advance_test_clock(uow: UnitOfWork, clock_id: str, frozen_time: datetime) -> Record:
    """Start moving a ready clock forward to `frozen_time`; a worker finishes the job."""
    clock = _repo(uow).get(clock_id, for_update=True)
    if clock["status"] == ADVANCING:
        raise InvalidRequest(
            "The test clock is already advancing; wait until its status is `ready` before "
            "advancing it again."
        )
    if clock["status"] == INTERNAL_FAILURE:
        raise InvalidRequest(
            "The test clock failed to advance and cannot be advanced anymore; delete it and "
            "create a new one."
        )
    if to_unix(frozen_time) <= clock["frozen_time"]:
        raise InvalidRequest(
            "The test clock can only move forward: frozen_time must be after the clock's "
            f"current frozen_time ({clock['frozen_time']}).",
            param="frozen_time",
        )
    latest = latest_advance_target(uow, clock)
    if frozen_time > latest:
        raise InvalidRequest(
            "Cannot advance a test clock by more than two years at once: "
            f"frozen_time must be at most {to_unix(latest)}.",
            param="frozen_time",
        )
    advancing = _repo(uow).update(
        clock_id, {"status": ADVANCING, "target_frozen_time": to_unix(frozen_time)}
    )
    _record_clock_event(uow, "test_helpers.test_clock.advancing", advancing)
    return advancing


def find_advancing_clocks(uow: UnitOfWork, limit: int = 100) -> Sequence[tuple[str, Scope]]:
    """Clocks of every tenant waiting for a worker to complete their advance."""
    return AdvancingClockFinder(uow).advancing(limit)


def advance_attached_subscriptions(uow: UnitOfWork, clock_id: str, target: datetime) -> None:
    """Run everything due on the clock up to `target`, in time order.

    Each step takes the earliest moment anything is due on the clock — a schedule's start,
    a manual draft's finalization, an invoice's payment attempt (collection), a
    subscription's action — and does what is due then, so they interleave as they would
    in real time, with the very functions the worker runs (one code path). At one second,
    in that order: collection before the subscriptions' actions, as a retry comes before
    anything else happening to its subscription.
    """
    subscriptions = uow.repository(SubscriptionRepository)
    invoices = uow.repository(InvoiceRepository)
    limit = to_unix(target)
    previous: tuple[int, list[str]] | None = None
    while True:
        # A subscription schedule that starts creates its subscription then.
        starts = schedules.earliest_start_on_clock(uow, clock_id)
        drafts = invoices.earliest_draft_on_clock(clock_id)
        collections = invoices.earliest_collection_on_clock(clock_id)
        due = subscriptions.earliest_action_on_clock(clock_id)
        moments = [at for at in (starts, drafts, collections, due) if at is not None]
        if not moments or min(moments) > limit:
            return
        now = min(moments)
        if starts == now:
            schedules.start_schedules_on_clock(uow, clock_id, now)
            continue
        if drafts == now:
            finalize_clock_invoices(uow, clock_id, from_unix(now))
            continue
        if collections == now:
            for invoice_id in invoices.collections_on_clock(clock_id, now):
                collection.collect_invoice(uow, invoice_id, from_unix(now))
            continue
        ids = subscriptions.due_on_clock(clock_id, now)
        if previous == (now, ids):
            raise RuntimeError(f"test clock {clock_id}: no progress at {now} for {ids}")
        previous = (now, ids)
        for subscription_id in ids:
            advance_subscription(uow, subscription_id, from_unix(now))


def complete_advance(uow: UnitOfWork, clock_id: str) -> Record | None:
    """Finish an advance: move the attached objects, then the clock; None if not ours.

    Returns None when the clock is no longer advancing or another worker holds it.
    """
    clock = _repo(uow).claim_advancing(clock_id)
    if clock is None:
        return None
    target = from_unix(clock["target_frozen_time"])
    with collection.collected_later():
        advance_attached_subscriptions(uow, clock_id, target)
    ready = _repo(uow).update(
        clock_id, {"frozen_time": to_unix(target), "status": READY, "target_frozen_time": None}
    )
    _record_clock_event(uow, "test_helpers.test_clock.ready", ready)
    return ready


def fail_advance(uow: UnitOfWork, clock_id: str) -> None:
    """Mark a clock whose advance raised as `internal_failure` (Stripe's status for it)."""
    clock = _repo(uow).find(clock_id, for_update=True)
    if clock is not None and clock["status"] == ADVANCING:
        failed = _repo(uow).update(clock_id, {"status": INTERNAL_FAILURE})
        _record_clock_event(uow, "test_helpers.test_clock.internal_failure", failed)


def delete_test_clock(uow: UnitOfWork, clock_id: str) -> Record:
    """Delete a clock and every object attached to it; returns the deleted clock.

    The one place that knows what belongs to a clock: its customers, deleted as
    `DELETE /v1/customers/{id}` deletes them (their subscriptions canceled first).
    """
    clock = _repo(uow).get(clock_id, for_update=True)
    for customer_id in _customer_ids(uow, clock_id):
        subscription_service.delete_customer(uow, customer_id, from_unix(clock["frozen_time"]))
    _repo(uow).delete(clock_id)
    # `data.object` is the clock as it was (Stripe's `test_helpers.test_clock.deleted`).
    _record_clock_event(uow, "test_helpers.test_clock.deleted", clock)
    return clock


# How many expired clocks one pass of the worker job looks at.
EXPIRED_BATCH = 20


def delete_expired_test_clocks(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Worker job: delete the test clocks whose `deletes_after` has passed, with their objects.

    Stripe deletes a test clock, and the customers (and so the subscriptions) attached to
    it, 30 days after its creation: real time, not the clock's frozen time. Each clock is
    deleted in its own transaction, claimed with `SKIP LOCKED` on PostgreSQL, exactly as
    `DELETE /v1/test_helpers/test_clocks/{id}` deletes it. Returns how many were deleted.
    """
    now = to_unix(clock.now())
    with uow_factory(None, readonly=True) as uow:
        expired = ExpiredClockFinder(uow).expired(now, EXPIRED_BATCH)
    deleted = 0
    for clock_id, scope in expired:
        try:
            with uow_factory(scope) as uow:
                if delete_expired_test_clock(uow, clock_id, now):
                    deleted += 1
        except Exception:
            log.exception("deleting expired test clock %s failed", clock_id)
    return deleted


def delete_expired_test_clock(uow: UnitOfWork, clock_id: str, now: int) -> bool:
    """Delete one clock if it is still there, past `deletes_after` and not held elsewhere."""
    if _repo(uow).claim_expired(clock_id, now) is None:
        return False
    delete_test_clock(uow, clock_id)
    return True


def _customer_ids(uow: UnitOfWork, clock_id: str) -> list[str]:
    customers = uow.repository(CustomerRepository)
    ids: list[str] = []
    request = PageRequest(limit=100)
    while True:
        page = customers.list_customers(request, test_clock=clock_id)
        ids.extend(record["id"] for record in page.records)
        if not page.has_more:
            return ids
        request = PageRequest(limit=100, starting_after=ids[-1])
