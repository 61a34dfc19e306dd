"""Stripe's own webhooks, received for an account on the Stripe gateway.

`POST /gateways/stripe/webhook/{account_id}` (no Recur key: Stripe cannot send one) is
verified with the account's signing secret for the event's mode (`stripe[webhook_secret]`
in the billing settings), then applied in one transaction together with the event's id
in `gateway_events`, whose unique constraint makes a repeated or concurrent delivery a
no-op: each event is applied exactly once.

What is applied, always through the functions the reconciler uses (`settle_charge`,
`settle_refund`, `adopt_refund`), to the Recur attempt the PaymentIntent belongs to (its
`recur_key` metadata, else its id as the attempt's `gateway_reference`):
- `payment_intent.succeeded`: a pending attempt succeeds (its invoice is paid, or
  refunded if it was closed meanwhile); one Recur had recorded as failed succeeded after
  all (the customer authenticated later, a lookup missed it) — it pays its invoice if
  nothing else holds it, else the money goes back at Stripe at once, as an orphan's does;
- `payment_intent.payment_failed`: a pending attempt fails; an attempt already settled is
  left alone — a late failure never downgrades a paid invoice;
- `charge.refunded`: the charge's refunds at Stripe are settled (Recur's pending ones) or
  recorded (made in Stripe's Dashboard);
- `charge.dispute.created`: the dispute is recorded, the charge marked `disputed`, and
  Recur emits `charge.dispute.created` itself.
Anything else is acknowledged and ignored. A PaymentIntent with a Recur key that Recur
does not know is kept as `unmatched`: if no attempt ever shows up for it, the
reconciler's sweep refunds it (its transaction was lost after Stripe charged).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from recur.domain.clock import to_unix
from recur.domain.tenancy import Scope
from recur.gateways.base import ChargeResult, GatewayError, RefundRequest
from recur.gateways.stripe import (
    KEY,
    WebhookSignatureInvalid,
    charge_result,
    refund_result,
    verify_event,
)
from recur.services import payment_attempts
from recur.services.disputes import record_dispute
from recur.services.payment_gateways import gateway_named, gateway_scope
from recur.services.reconciliation import settle_charge
from recur.services.refunds import adopt_refund, settle_refund
from recur.services.stripe_settings import config_of, mode_name
from recur.storage.repositories.accounts import AccountRepository
from recur.storage.repositories.base import Record
from recur.storage.repositories.gateways import (
    GatewayChargeRepository,
    GatewayEventRepository,
    GatewayRefundRepository,
)
from recur.storage.repositories.payments import AttemptRepository, RefundRepository
from recur.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("recur.stripe_webhooks")

GATEWAY: Final = "stripe"
# What happened to an event (gateway_events.outcome).
APPLIED: Final = "applied"
ALREADY_SETTLED: Final = "already_settled"
IGNORED: Final = "ignored"
UNMATCHED: Final = "unmatched"
REFUNDED: Final = "refunded"


class WebhookRefused(Exception):
    """A delivery Recur does not accept: `status` 400 (unreadable, bad signature) or 404
    (no such account, or no Stripe signing secret for it in that mode)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Receipt:
    """An accepted delivery: the event and what was done with it (`duplicate`: nothing,
    it had been received before)."""

    event_id: str
    event_type: str
    outcome: str


def _livemode_of(payload: bytes) -> bool:
    try:
        document = json.loads(payload)
    except ValueError:
        raise WebhookRefused(400, "The payload is not a JSON event.") from None
    if not isinstance(document, dict):
        raise WebhookRefused(400, "The payload is not a JSON event.")
    return document.get("livemode") is True


def receive_stripe_webhook(
    uow_factory: UnitOfWorkFactory,
    account_id: str,
    payload: bytes,
    signature: str | None,
    now: datetime,
) -> Receipt:
    """Verify a delivery, then apply its event once (a repeat is acknowledged, not applied).

    A `GatewayError` (Stripe could not be asked what an event needs) propagates: nothing
    is recorded, and Stripe delivers the event again later.
    """
    livemode = _livemode_of(payload)
    with uow_factory(None, readonly=True) as uow:
        account = uow.repository(AccountRepository).find_account(account_id)
    secret = config_of(account, livemode).webhook_secret if account is not None else None
    if secret is None:
        raise WebhookRefused(
            404,
            f"No Stripe webhook endpoint is configured for account {account_id} in "
            f"{mode_name(livemode)} mode.",
        )
    try:
        event = verify_event(payload, signature, secret)
    except WebhookSignatureInvalid as error:
        raise WebhookRefused(400, f"Invalid Stripe-Signature: {error}") from error
    event_id, event_type = str(event.get("id") or ""), str(event.get("type") or "")
    obj = (event.get("data") or {}).get("object") or {}
    if not event_id or not isinstance(obj, Mapping):
        raise WebhookRefused(400, "The payload is not a Stripe event.")
    with uow_factory(Scope(account_id, livemode)) as uow:
        events = uow.repository(GatewayEventRepository)
        fresh = events.record(
            gateway=GATEWAY,
            event_id=event_id,
            event_type=event_type,
            object_reference=str(obj.get("id") or "") or None,
            received=to_unix(now),
        )
        if not fresh:
            return Receipt(event_id, event_type, "duplicate")
        outcome = apply_event(uow, event_type, obj, now)
        events.set_outcome(GATEWAY, event_id, outcome)
    return Receipt(event_id, event_type, outcome)


def apply_event(uow: UnitOfWork, event_type: str, obj: Mapping[str, Any], now: datetime) -> str:
    """Apply one verified, first-seen event; what was done with it."""
    if event_type == "payment_intent.succeeded":
        return _intent_succeeded(uow, obj, now)
    if event_type == "payment_intent.payment_failed":
        return _intent_failed(uow, obj, now)
    if event_type == "charge.refunded":
        return _charge_refunded(uow, obj, now)
    if event_type == "charge.dispute.created":
        return _dispute_created(uow, obj, now)
    return IGNORED


# --- payment intents ----------------------------------------------------------------------


def _attempt_of(uow: UnitOfWork, intent: Mapping[str, Any]) -> Record | None:
    """The attempt a PaymentIntent was made for (locked), by its key, else by its id."""
    attempts = uow.repository(AttemptRepository)
    key = (intent.get("metadata") or {}).get(KEY)
    found = attempts.by_key(str(key)) if key else None
    if found is None:
        found = uow.repository(GatewayChargeRepository).by_reference(
            GATEWAY, [str(intent.get("id") or "")]
        )
    return None if found is None else attempts.get(found["id"], for_update=True)


def _unknown_intent(intent: Mapping[str, Any]) -> str:
    # Made by Recur for this account (it carries a key) but unknown: maybe an orphan.
    return UNMATCHED if (intent.get("metadata") or {}).get(KEY) else IGNORED


def _intent_succeeded(uow: UnitOfWork, intent: Mapping[str, Any], now: datetime) -> str:
    charge = _attempt_of(uow, intent)
    if charge is None:
        return _unknown_intent(intent)
    if charge["status"] == "succeeded":
        return ALREADY_SETTLED
    result = charge_result(intent)
    if charge["status"] == "pending":
        settle_charge(uow, charge, result, now)
        return APPLIED
    # Recur recorded a failure (the customer authenticated later, a lookup missed it).
    holder = (
        uow.repository(GatewayChargeRepository).other_attempt_holding(
            charge["invoice"], charge["id"]
        )
        if charge["invoice"]
        else None
    )
    if holder is None:
        settle_charge(uow, charge, result, now)
        return APPLIED
    # Another attempt paid the invoice or may still: this money goes back, untold in
    # Recur's books, as the sweep refunds an orphan.
    gateway_named(uow, GATEWAY).refund(
        RefundRequest(
            scope=gateway_scope(uow),
            idempotency_key=f"orphan:{charge['idempotency_key']}",
            charge_reference=result.reference,
            amount=result.amount,
            currency=charge["currency"],
        )
    )
    log.warning("refunded a late success of %s (%s)", charge["id"], result.reference)
    return REFUNDED


def _intent_failed(uow: UnitOfWork, intent: Mapping[str, Any], now: datetime) -> str:
    charge = _attempt_of(uow, intent)
    if charge is None:
        return _unknown_intent(intent)
    if charge["status"] != "pending":
        return ALREADY_SETTLED  # a late failure never downgrades what was settled
    try:
        result = charge_result(intent)
    except GatewayError:
        return IGNORED  # still processing: its next event says more
    if result.status == "succeeded":
        result = ChargeResult("failed", result.reference, result.amount, "card_declined")
    settle_charge(uow, charge, result, now)
    return APPLIED


# --- refunds ------------------------------------------------------------------------------


def _charge_of(uow: UnitOfWork, stripe_charge: Mapping[str, Any]) -> Record | None:
    intent = stripe_charge.get("payment_intent")
    if isinstance(intent, Mapping):
        intent = intent.get("id")
    found = uow.repository(GatewayChargeRepository).by_reference(
        GATEWAY, [str(intent or ""), str(stripe_charge.get("id") or "")]
    )
    return None if found is None else uow.repository(AttemptRepository).get(found["id"])


def _stripe_refunds(uow: UnitOfWork, stripe_charge: Mapping[str, Any], reference: str) -> list[Any]:
    """The charge's refunds: those the event carries when complete, else asked of Stripe."""
    embedded = stripe_charge.get("refunds")
    if isinstance(embedded, Mapping) and not embedded.get("has_more"):
        data = embedded.get("data")
        if isinstance(data, list):
            return data
    gateway = gateway_named(uow, GATEWAY)
    refunds_of = getattr(gateway, "refunds_of", None)
    if refunds_of is None:
        return []
    return list(refunds_of(reference))


def _charge_refunded(uow: UnitOfWork, stripe_charge: Mapping[str, Any], now: datetime) -> str:
    charge = _charge_of(uow, stripe_charge)
    if charge is None:
        return IGNORED
    if charge["status"] != "succeeded":
        # Only a refund Recur asked for when its own attempt had failed (an orphan's).
        return IGNORED
    at = payment_attempts.customer_time(uow, charge["customer"], now)
    refunds = uow.repository(RefundRepository)
    changed = False
    stripe_refunds = _stripe_refunds(uow, stripe_charge, str(charge["gateway_reference"]))
    for stripe_refund in sorted(stripe_refunds, key=lambda r: int(r.get("created") or 0)):
        result = refund_result(stripe_refund)
        key = str((stripe_refund.get("metadata") or {}).get(KEY) or f"stripe:{result.reference}")
        known = refunds.by_key(key) or uow.repository(GatewayRefundRepository).by_reference(
            result.reference
        )
        if known is not None:
            if known["status"] == "pending":
                settle_refund(uow, known, result, at)
                changed = True
            continue
        if result.status != "succeeded" or key.startswith("orphan:"):
            continue
        if refunds.held_amount(charge["id"]) + result.amount > int(charge["amount"]):
            log.error("Stripe refunded more of %s than Recur can record", charge["id"])
            continue
        adopt_refund(uow, charge["id"], key, result, at)
        changed = True
    return APPLIED if changed else ALREADY_SETTLED


# --- disputes -----------------------------------------------------------------------------


def _dispute_created(uow: UnitOfWork, dispute: Mapping[str, Any], now: datetime) -> str:
    reference = str(dispute.get("id") or "")
    intent = dispute.get("payment_intent")
    stripe_charge = dispute.get("charge")
    if isinstance(stripe_charge, Mapping):
        stripe_charge = stripe_charge.get("id")
    if not intent and stripe_charge:
        intent_of_charge = getattr(gateway_named(uow, GATEWAY), "intent_of_charge", None)
        intent = intent_of_charge(str(stripe_charge)) if intent_of_charge else None
    found = uow.repository(GatewayChargeRepository).by_reference(
        GATEWAY, [str(intent or ""), str(stripe_charge or "")]
    )
    if found is None or not reference:
        return IGNORED
    # The simulated gateway's disputes are recorded by the same function (services/disputes).
    record = record_dispute(
        uow,
        found,
        gateway=GATEWAY,
        reference=reference,
        amount=int(dispute.get("amount") or found["amount"]),
        currency=str(dispute.get("currency") or found["currency"]),
        reason=dispute.get("reason"),
        status=str(dispute.get("status") or "needs_response"),
        at=payment_attempts.customer_time(uow, found["customer"], now),
    )
    return ALREADY_SETTLED if record is None else APPLIED
