"""The worker loop: one pass after another until told to stop.

Each pass runs the jobs below in order, each in its own unit of work. It is safe to run
any number of workers on one PostgreSQL database: jobs that touch shared rows claim them
with `FOR UPDATE SKIP LOCKED` (or are idempotent, like purging).

Two settings tune it (`recur.config.Settings`, README "Configuration"):
`RECUR_WORKER_BATCH_SIZE`, how many due subscriptions one transaction claims, and
`RECUR_WORKER_INTERVAL`, the seconds an idle worker waits before looking again;
`bootstrap.make_worker` hands them in (`configured_jobs`, `Worker.interval`).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from recur.domain.clock import Clock, to_unix
from recur.domain.tenancy import Scope
from recur.services import collection
from recur.services.advance import (
    advance_subscription,
    claim_due_subscriptions,
    postpone_subscription,
)
from recur.services.billing_run import advance_batch
from recur.services.collection_run import collect_due_invoices
from recur.services.events import purge_old_events
from recur.services.invoices import finalize_due_invoices
from recur.services.maintenance import purge_idempotency_keys
from recur.services.reconciliation import reconcile_payments, sweep_gateway_books
from recur.services.schedule_transitions import start_due_schedules
from recur.services.test_clocks import (
    complete_advance,
    delete_expired_test_clocks,
    fail_advance,
    find_advancing_clocks,
)
from recur.services.webhook_delivery import (
    deliver_webhooks,
    fan_out_events,
    purge_webhook_history,
)
from recur.storage.uow import UnitOfWorkFactory

log = logging.getLogger("recur.worker")

Job = Callable[[UnitOfWorkFactory, Clock], int]


def purge_job(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Drop idempotency records past their retention."""
    with uow_factory(None) as uow:
        return purge_idempotency_keys(uow, clock.now())


def advance_test_clocks(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Complete the advances the API started: each clock in its own transaction.

    The system clock is not used: a test clock's time is its own `frozen_time`.
    """
    with uow_factory(None, readonly=True) as uow:
        pending = find_advancing_clocks(uow)
    done = 0
    for clock_id, scope in pending:
        try:
            with uow_factory(scope) as uow:
                if complete_advance(uow, clock_id) is not None:
                    done += 1
        except Exception:
            # Stripe's answer to an advance that cannot complete: `internal_failure`, which
            # also keeps the worker from retrying it forever.
            log.exception("advancing test clock %s failed", clock_id)
            with uow_factory(scope) as uow:
                fail_advance(uow, clock_id)
            done += 1
    return done


# Claimed and committed together: a worker killed mid-batch loses (and its successor
# redoes) at most this many subscriptions' work; a larger batch commits less often.
# Defaults of RECUR_WORKER_BATCH_SIZE and RECUR_WORKER_INTERVAL, which `config.Settings`
# validates and `bootstrap.make_worker` passes in.
BATCH_SIZE = 500
# How long an idle worker sleeps between passes.
INTERVAL = 1.0
# A subscription whose advance raised is retried after this long, not in a hot loop.
RETRY_AFTER = 60
# A batch commits once it has worked this long, even with claimed rows left (they stay
# due for the next pass): locks, and SQLite's single write lock that API requests wait
# for, are held briefly, and a SIGTERM is honoured within seconds.
BATCH_SECONDS = 2.0


def advance_due_subscriptions(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    batch_size: int | None = None,
    bulk: bool = True,
) -> int:
    """Advance a batch of subscriptions that real time made due, in one transaction.

    The batch is claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers take
    disjoint batches. The routine ones (renewals, finalizations) are advanced together and
    written in bulk (`services.billing_run`, unless `bulk` is False); the others run one by
    one in a savepoint each, so one that fails is logged and retried a minute later without
    holding back the others. A worker killed mid-batch commits nothing: the next one redoes
    the batch, and the database's unique keys keep every period invoiced exactly once.
    Returns how many subscriptions were advanced.
    """
    now = clock.now()
    done = 0
    # Wall-clock time only bounds the transaction; billing time is `now`, read once.
    deadline = time.monotonic() + BATCH_SECONDS
    # Invoices finalized here are charged by collection (`collect_due_invoices`).
    with collection.collected_later(), uow_factory(None) as uow:
        claimed = claim_due_subscriptions(uow, now, batch_size or BATCH_SIZE)
        by_scope: dict[Scope, list[str]] = {}
        for row in claimed:
            by_scope.setdefault(Scope(row["account_id"], bool(row["livemode"])), []).append(
                row["id"]
            )
        for scope, ids in by_scope.items():
            scoped = uow.for_scope(scope)
            left = ids
            if bulk:
                try:
                    with uow.connection.begin_nested():
                        left = advance_batch(scoped, ids, to_unix(now))
                except Exception:
                    log.exception("bulk billing of %d subscriptions failed", len(ids))
                    left = ids
                done += len(ids) - len(left)
            for subscription_id in left:
                if done and time.monotonic() > deadline:
                    return done  # the rest stay due for the next pass
                done += 1
                try:
                    with uow.connection.begin_nested():
                        advance_subscription(scoped, subscription_id, now)
                except Exception:
                    log.exception("advancing subscription %s failed", subscription_id)
                    postpone_subscription(scoped, subscription_id, now, RETRY_AFTER)
    return done


def purge_events_job(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Drop events past their 30 days."""
    with uow_factory(None) as uow:
        return purge_old_events(uow, clock.now())


def finalize_due_drafts(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Finalize the manual drafts whose time came; collection charges them."""
    with collection.collected_later():
        return finalize_due_invoices(uow_factory, clock)


DEFAULT_JOBS: tuple[Job, ...] = (
    start_due_schedules,
    advance_due_subscriptions,
    finalize_due_drafts,
    collect_due_invoices,
    advance_test_clocks,
    delete_expired_test_clocks,
    fan_out_events,
    deliver_webhooks,
    purge_webhook_history,
    purge_job,
    purge_events_job,
    reconcile_payments,
    sweep_gateway_books,
)


def configured_jobs(*, batch_size: int) -> tuple[Job, ...]:
    """DEFAULT_JOBS, the one claiming due subscriptions taking `batch_size` at a time."""
    claiming = functools.update_wrapper(
        functools.partial(advance_due_subscriptions, batch_size=batch_size),
        advance_due_subscriptions,
    )
    return tuple(claiming if job is advance_due_subscriptions else job for job in DEFAULT_JOBS)


@dataclass
class Worker:
    """Runs the jobs every `interval` seconds until `stop` is set."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    interval: float = INTERVAL
    jobs: tuple[Job, ...] = DEFAULT_JOBS
    stop: threading.Event = field(default_factory=threading.Event)

    def run_once(self) -> int:
        """One pass over every job; returns how much work was done."""
        done = 0
        for job in self.jobs:
            try:
                done += job(self.uow_factory, self.clock)
            except Exception:
                # One failing job must not stop billing: log it and go on with the next.
                log.exception("worker job %s failed", getattr(job, "__name__", job))
        return done

    def run_forever(self) -> None:
        """Loop until stopped; a pass that found work is followed at once by another."""
        while not self.stop.is_set():
            if self.run_once() == 0:
                self.stop.wait(self.interval)
