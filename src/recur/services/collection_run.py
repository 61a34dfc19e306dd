"""The collection run: charging the invoices that are due, at each gateway's pace.

Invoicing and collection are decoupled (services/collection.py). A billing run finalizes
invoices at database speed and leaves each one in the collection queue — an open invoice
whose `next_payment_attempt` has come; retries of failed payments join the same queue.
This worker job works the queue:

1. find which tenants have due invoices (a capped count per tenant);
2. for each tenant, take tokens from its gateway's bucket (`GatewayRateLimits`, one short
   transaction, shared by every worker process: Stripe's live API allows about 100
   requests a second, test mode 25) — no more invoices are charged than tokens taken;
3. in the tenant's own transaction, claim that many due invoices (`SKIP LOCKED`), lock
   their subscriptions (skipping any another worker holds, so a billing run and a
   collection never wait for each other), and charge them: the routine ones together
   (`billing_run.collect_batch`: one gateway call and one write per table), the others
   one by one through `collection.collect_invoice`, each in a savepoint.

Each tenant gets at most `COLLECTION_BATCH` invoices per pass, so an account with a million
due invoices does not hold back the others, and an account whose gateway is slow or
rate-limited holds back nobody else's. An invoice whose collection fails with an error is
postponed a minute, never dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from recur.domain.clock import Clock, to_unix
from recur.domain.tenancy import Scope
from recur.services import collection
from recur.services.billing_run import collect_batch
from recur.services.billing_settings import billing_settings
from recur.services.payment_gateways import rate_limit_for
from recur.storage.repositories.billing import DueWork, InvoiceRepository
from recur.storage.repositories.payments import GatewayRateLimits
from recur.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("recur.collection")

# Invoices one tenant gets charged per pass (and per transaction).
COLLECTION_BATCH: Final = 1000
# Tenants looked at per pass.
TENANTS_PER_PASS: Final = 100
# An invoice whose collection raised is tried again this much later.
RETRY_AFTER: Final = 60

BatchCollector = Callable[[UnitOfWork, list[str], int], list[str]]


@dataclass(frozen=True, slots=True)
class Due:
    """A tenant with `count` invoices due for collection (capped)."""

    scope: Scope
    count: int


def collect_due_invoices(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    batch_size: int = COLLECTION_BATCH,
    bulk: bool = True,
    wall: Callable[[], float] = time.time,
) -> int:
    """Worker job: charge the invoices whose payment attempt is due; how many were tried."""
    now = clock.now()
    with uow_factory(None) as uow:
        tenants = [
            Due(Scope(row["account_id"], bool(row["livemode"])), int(row["due"]))
            for row in DueWork(uow).scopes_with_due_collections(to_unix(now), batch_size)
        ][:TENANTS_PER_PASS]
    done = 0
    for due in tenants:
        allowed = _take_tokens(uow_factory, due, batch_size, wall)
        if allowed:
            done += _collect_tenant(uow_factory, due.scope, allowed, now, bulk=bulk)
    return done


def _take_tokens(
    uow_factory: UnitOfWorkFactory, due: Due, batch_size: int, wall: Callable[[], float]
) -> int:
    """How many of the tenant's due invoices its gateway's rate allows now."""
    wanted = min(due.count, batch_size)
    with uow_factory(due.scope, readonly=True) as uow:
        limit = rate_limit_for(uow, billing_settings(uow))
    if limit is None:
        return wanted
    with uow_factory(None) as uow:
        return GatewayRateLimits(uow).take(
            limit.key, rate=limit.rate, burst=limit.burst, wanted=wanted, wall=wall()
        )


def _unheld(claimed: Mapping[str, Any], free: set[str]) -> bool:
    """Whether a claimed invoice's subscription (if any) was locked by this worker."""
    return claimed["subscription"] is None or claimed["subscription"] in free


def _collect_tenant(
    uow_factory: UnitOfWorkFactory, scope: Scope, allowed: int, now: datetime, *, bulk: bool
) -> int:
    """Claim and charge up to `allowed` of one tenant's due invoices, in one transaction."""
    with uow_factory(None) as outer:
        work = DueWork(outer)
        claimed = work.claim_due_collections(
            scope.account_id, scope.livemode, to_unix(now), allowed
        )
        free = work.lock_free_subscriptions(
            [row["subscription"] for row in claimed if row["subscription"]]
        )
        ids = [row["id"] for row in claimed if _unheld(row, free)]
        uow = outer.for_scope(scope)
        left = ids
        if bulk and ids:
            try:
                with outer.connection.begin_nested():
                    left = collect_batch(uow, ids, to_unix(now))
            except Exception:
                log.exception("bulk collection of %d invoices failed", len(ids))
                left = ids
        for invoice_id in left:
            try:
                with outer.connection.begin_nested():
                    collection.collect_invoice(uow, invoice_id, now)
            except Exception:
                log.exception("collecting invoice %s failed", invoice_id)
                uow.repository(InvoiceRepository).update(
                    invoice_id, {"next_payment_attempt": to_unix(now) + RETRY_AFTER}
                )
        return len(ids)
