"""Reconciliation with the gateway: lost answers, and money moved behind Recur's back.

Two worker jobs:
- `reconcile_payments`: attempts and refunds still `pending` (the gateway's answer was
  lost: a timeout, a 5xx) are settled by asking the gateway what it did under their
  idempotency key. Until then no other attempt can be made on the invoice (a partial
  unique index); a charge that turns out to have succeeded pays the invoice (or, if the
  invoice was closed meanwhile, is refunded at once); one the gateway never made fails as
  a processing error (retried by the dunning schedule).
- `sweep_gateway_books`: the simulated gateway's books are compared with Recur's (for
  Stripe, what its webhooks reported that Recur did not know: `_sweep_stripe_orphans`). A
  charge the gateway made under a key Recur has no successful attempt for is an orphan —
  the transaction that asked for it was rolled back or its process killed after the
  gateway answered — and is refunded; a refund the gateway made that Recur has no record
  of is recorded. Only entries older than `sweep_after` are looked at, so that every
  transaction that could still commit them has ended.

Afterwards, for every account: Σ charges - Σ refunds at the gateway = Σ amount paid
- Σ refunded in Recur, and no invoice was charged successfully twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

from recur.domain.clock import Clock, to_unix
from recur.domain.tenancy import Scope
from recur.gateways.base import (
    ChargeResult,
    GatewayError,
    GatewayScope,
    RefundRequest,
    RefundResult,
)
from recur.gateways.simulated import LedgerCharge, LedgerRefund, SimulatedGateway
from recur.services import collection, payment_attempts
from recur.services.gateway_mirror import charge_lookup_hint, refund_lookup_hint
from recur.services.payment_gateways import (
    gateway_named,
    gateway_scope,
    payment_options,
    simulated_gateway,
)
from recur.services.refunds import adopt_refund, settle_refund
from recur.storage.repositories.base import Record
from recur.storage.repositories.billing import InvoiceRepository
from recur.storage.repositories.gateways import UnmatchedGatewayEvents
from recur.storage.repositories.payments import (
    AttemptRepository,
    PendingPayments,
    RefundRepository,
)
from recur.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("recur.reconciliation")

BATCH: Final = 200

# What a pending attempt the gateway has no trace of becomes: nothing was charged.
NOT_MADE: Final = ChargeResult(
    status="failed",
    reference="",
    amount=0,
    failure_code="processing_error",
    decline_code="processing_error",
    failure_message="The payment was not completed: the payment gateway has no record of it.",
)
REFUND_NOT_MADE: Final = RefundResult(
    status="failed", reference="", amount=0, failure_reason="unknown"
)


def reconcile_charge(uow: UnitOfWork, charge_id: str, now: datetime) -> bool:
    """Settle one pending attempt from what the gateway says; False if still unknown."""
    attempts = uow.repository(AttemptRepository)
    charge = attempts.get(charge_id, for_update=True)
    if charge["status"] != "pending":
        return False
    # The gateway that was asked is the one that knows (a method's own gateway may not be
    # the account's).
    gateway = gateway_named(uow, charge["gateway"])
    try:
        result = gateway.find_charge(
            gateway_scope(uow), charge["idempotency_key"], charge_lookup_hint(uow, charge)
        )
    except GatewayError:
        return False  # asked again on the next pass
    settle_charge(uow, charge, result or NOT_MADE, now)
    return True


def settle_charge(uow: UnitOfWork, charge: Record, result: ChargeResult, now: datetime) -> None:
    """Record what the gateway says of an attempt, and what that does to its invoice.

    The one way an outcome learnt later is applied: by the reconciler, and by the
    gateway's own webhooks (services/stripe_webhooks.py). A success for an invoice that
    was closed meanwhile is refunded (`collection.apply_outcome`); a failure never
    reopens a paid invoice.
    """
    at = payment_attempts.customer_time(uow, charge["customer"], now)
    attempt = payment_attempts.settle_attempt(uow, charge, result, at)
    if charge["invoice"]:
        invoice = uow.repository(InvoiceRepository).get(charge["invoice"], for_update=True)
        collection.apply_outcome(uow, invoice, attempt, at)
        if invoice["subscription"]:
            from recur.services import advance  # builds on collection

            advance.schedule(uow, invoice["subscription"])


def reconcile_refund(uow: UnitOfWork, refund_id: str, now: datetime) -> bool:
    """Settle one pending refund from what the gateway says; False if still unknown."""
    repo = uow.repository(RefundRepository)
    refund = repo.get(refund_id)
    if refund["status"] != "pending":
        return False
    charge = uow.repository(AttemptRepository).get(refund["charge"], for_update=True)
    gateway = gateway_named(uow, charge["gateway"])
    try:
        result = gateway.find_refund(
            gateway_scope(uow), refund["idempotency_key"], refund_lookup_hint(charge)
        )
    except GatewayError:
        return False
    at = payment_attempts.customer_time(uow, charge["customer"], now)
    settle_refund(uow, refund, result or REFUND_NOT_MADE, at)
    return True


def _each_pending(
    uow: UnitOfWork,
    rows: Sequence[Record],
    settle: Callable[[UnitOfWork, str, datetime], bool],
    now: datetime,
) -> int:
    done = 0
    for row in rows:
        scoped = uow.for_scope(Scope(row["account_id"], bool(row["livemode"])))
        try:
            with uow.connection.begin_nested():
                done += settle(scoped, row["id"], now)
        except Exception:
            log.exception("reconciling %s failed", row["id"])
    return done


def reconcile_payments(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Worker job: settle the attempts and refunds whose gateway answer was lost."""
    now = clock.now()
    cutoff = now - timedelta(seconds=payment_options(uow_factory.engine).reconcile_after)
    with uow_factory(None, readonly=True) as uow:
        pending = PendingPayments(uow)
        if not pending.pending_charges(cutoff, 1, lock=False) and not pending.pending_refunds(
            cutoff, 1, lock=False
        ):
            return 0  # the common case: no write transaction
    with uow_factory(None) as uow:
        pending = PendingPayments(uow)
        done = _each_pending(uow, pending.pending_charges(cutoff, BATCH), reconcile_charge, now)
        done += _each_pending(uow, pending.pending_refunds(cutoff, BATCH), reconcile_refund, now)
    return done


def _by_scope(entries: Sequence[LedgerCharge] | Sequence[LedgerRefund]) -> dict[GatewayScope, list]:  # type: ignore[type-arg]
    grouped: dict[GatewayScope, list] = defaultdict(list)  # type: ignore[type-arg]
    for entry in entries:
        grouped[entry.scope].append(entry)
    return grouped


def sweep_gateway_books(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Worker job: refund orphan charges and record orphan refunds of the simulated gateway;
    returns how many entries of its books were checked."""
    gateway = simulated_gateway(uow_factory.engine)
    before = to_unix(clock.now()) - payment_options(uow_factory.engine).sweep_after
    done = 0
    for scope, entries in _by_scope(gateway.unswept_charges(before, BATCH)).items():
        done += _sweep_charges(uow_factory, gateway, scope, entries)
    for scope, refunds in _by_scope(gateway.unswept_refunds(before, BATCH)).items():
        done += _sweep_refunds(uow_factory, gateway, scope, refunds, clock.now())
    return done + _sweep_stripe_orphans(uow_factory, before)


def _sweep_stripe_orphans(uow_factory: UnitOfWorkFactory, before: int) -> int:
    """Stripe's books are not listed (its lists are per customer, and an orphan's customer
    may be unknown too): what Stripe reported by webhook about a PaymentIntent carrying a
    Recur key that Recur did not know (`unmatched`) is looked at again once every
    transaction that could have recorded it has ended; still unknown, it is refunded."""
    with uow_factory(None, readonly=True) as uow:
        rows = UnmatchedGatewayEvents(uow).older_than("unmatched", before, BATCH)
    done = 0
    for row in rows:
        try:
            with uow_factory(Scope(row["account_id"], bool(row["livemode"]))) as uow:
                outcome = _settle_stripe_orphan(uow, str(row["object_reference"] or ""))
                UnmatchedGatewayEvents(uow).set_outcome(int(row["pk"]), outcome)
        except GatewayError as error:
            log.info("Stripe orphan %s not checked yet: %s", row["object_reference"], error)
            continue
        done += 1
    return done


def _settle_stripe_orphan(uow: UnitOfWork, reference: str) -> str:
    gateway = gateway_named(uow, "stripe")
    fetch = getattr(gateway, "payment_intent", None)
    if not reference or fetch is None:
        return "ignored"
    intent = fetch(reference)
    key = str((intent.get("metadata") or {}).get("recur_key") or "")
    known = uow.repository(AttemptRepository).by_key(key) if key else None
    if known is not None and known["status"] == "pending":
        return "unmatched"  # the reconciler settles it first
    paid_in_recur = known is not None and known["status"] == "succeeded"
    if intent.get("status") != "succeeded" or paid_in_recur:
        return "already_settled"
    gateway.refund(
        RefundRequest(
            scope=gateway_scope(uow),
            idempotency_key=f"orphan:{key}",
            charge_reference=reference,
            amount=int(intent.get("amount_received") or intent.get("amount") or 0),
            currency=str(intent.get("currency") or ""),
        )
    )
    log.warning("refunded orphan Stripe payment %s (%s)", reference, key)
    return "refunded"


def _sweep_charges(
    uow_factory: UnitOfWorkFactory,
    gateway: SimulatedGateway,
    scope: GatewayScope,
    entries: list[LedgerCharge],
) -> int:
    with uow_factory(Scope(scope.account_id, scope.livemode), readonly=True) as uow:
        known = uow.repository(AttemptRepository).keys_known([entry.key for entry in entries])
    swept: list[str] = []
    for entry in entries:
        status = known.get(entry.key)
        if status == "pending":
            continue  # the reconciler settles it first
        if entry.result.status == "succeeded" and status != "succeeded":
            try:
                gateway.refund(
                    RefundRequest(
                        scope=scope,
                        idempotency_key=f"orphan:{entry.key}",
                        charge_reference=entry.result.reference,
                        amount=entry.result.amount,
                        currency="",
                        metadata={},
                    )
                )
            except GatewayError:
                continue  # tried again on the next pass
            log.warning("refunded orphan charge %s (%s)", entry.result.reference, entry.key)
        swept.append(entry.result.reference)
    gateway.mark_swept("charges", swept)
    return len(swept)


def _sweep_refunds(
    uow_factory: UnitOfWorkFactory,
    gateway: SimulatedGateway,
    scope: GatewayScope,
    entries: list[LedgerRefund],
    now: datetime,
) -> int:
    swept: list[str] = []
    with uow_factory(Scope(scope.account_id, scope.livemode)) as uow:
        refunds = uow.repository(RefundRepository)
        for entry in entries:
            if entry.key.startswith("orphan:") or entry.recur_charge is None:
                swept.append(entry.result.reference)
                continue
            known = refunds.by_key(entry.key)
            if known is not None and known["status"] == "pending":
                continue
            if known is None and entry.result.status == "succeeded":
                charge = uow.repository(AttemptRepository).find(entry.recur_charge)
                at = payment_attempts.customer_time(
                    uow, charge["customer"] if charge else None, now
                )
                if adopt_refund(uow, entry.recur_charge, entry.key, entry.result, at) is not None:
                    log.warning("recorded a refund Recur had lost (%s)", entry.key)
            swept.append(entry.result.reference)
    gateway.mark_swept("refunds", swept)
    return len(swept)
