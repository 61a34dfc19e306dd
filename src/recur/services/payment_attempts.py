"""Payment attempts that cannot go wrong: a charge row written before the gateway is called.

An attempt on a PaymentIntent is:
1. a `charges` row with status `pending` and the attempt's idempotency key, inserted before
   the gateway is called (at most one pending per invoice and per intent: partial unique
   indexes);
2. the gateway call with that key (a repeated key never moves money twice);
3. the outcome written to the same row, with the intent's new status and their events.

If the gateway's answer is lost (`OutcomeUnknown`: a timeout, a 5xx), the row stays
`pending` and is committed so; the intent is `processing`; nothing else may be attempted
on that invoice or intent until the reconciler (services/reconciliation.py) has asked the
gateway by key and settled it with `settle_attempt`, the function every outcome goes
through. If Recur's transaction is lost after the gateway charged (a killed process), the
gateway holds a charge Recur has no row for: the reconciler's sweep refunds it.

Pure builders (`new_charge_row`, `settled_charge_values`, `intent_values_after`,
`build_charge_view`) are what the billing run uses to write the same rows in bulk.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from recur.domain.clock import from_unix, to_unix
from recur.domain.ids import new_id
from recur.gateways.base import (
    ChargeRequest,
    ChargeResult,
    DisputeReport,
    GatewayUnavailable,
    MethodDeclined,
    OutcomeUnknown,
)
from recur.services import disputes, gateway_mirror
from recur.services.billing_settings import BillingSettings
from recur.services.events import record_event
from recur.services.payment_gateways import gateway_of_method, gateway_scope
from recur.storage.repositories.base import Record
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.payment_methods import PaymentMethodRepository
from recur.storage.repositories.payments import (
    AttemptRepository,
    PaymentIntentRepository,
    RefundRepository,
)
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.storage.uow import UnitOfWork

AttemptStatus = Literal["succeeded", "failed", "requires_action", "unknown"]

# The answer recorded when the gateway could not be reached: nothing was charged, and the
# attempt fails as a processing error would (a soft decline: it is retried).
UNREACHABLE: Final = ChargeResult(
    status="failed",
    reference="",
    amount=0,
    failure_code="processing_error",
    decline_code="processing_error",
    failure_message=(
        "The payment gateway could not be reached, so nothing was charged. "
        "The payment will be tried again."
    ),
)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How an attempt ended, the charge row it wrote (None without a method), the intent."""

    status: AttemptStatus
    charge: Record | None
    intent: Record


def _intents(uow: UnitOfWork) -> PaymentIntentRepository:
    return uow.repository(PaymentIntentRepository)


def _attempts(uow: UnitOfWork) -> AttemptRepository:
    return uow.repository(AttemptRepository)


# --- pure builders ------------------------------------------------------------------------


def intent_row(
    *,
    amount: int,
    currency: str,
    at: datetime,
    customer: str | None,
    invoice: str | None = None,
    payment_method: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
    setup_future_usage: str | None = None,
    receipt_email: str | None = None,
    test_clock: str | None = None,
) -> dict[str, Any]:
    """A new PaymentIntent's columns (pure)."""
    intent_id = new_id("pi")
    return {
        "id": intent_id,
        "created": to_unix(at),
        "customer": customer,
        "invoice": invoice,
        "amount": amount,
        "amount_received": 0,
        "currency": currency,
        "status": "requires_confirmation" if payment_method else "requires_payment_method",
        "payment_method": payment_method,
        "latest_charge": None,
        "last_payment_error": None,
        "setup_future_usage": setup_future_usage,
        "description": description,
        "receipt_email": receipt_email,
        "canceled_at": None,
        "cancellation_reason": None,
        "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
        "test_clock": test_clock,
        "metadata": dict(metadata or {}),
    }


def new_charge_row(
    intent: Mapping[str, Any],
    *,
    key: str,
    method_id: str,
    at: datetime,
    gateway: str,
) -> dict[str, Any]:
    """An attempt's charge row as written before the gateway is called (pure)."""
    return {
        "id": new_id("ch"),
        "created": to_unix(at),
        "invoice": intent["invoice"],
        "customer": intent["customer"],
        "payment_method": method_id,
        "amount": intent["amount"],
        "currency": intent["currency"],
        "status": "pending",
        "failure_code": None,
        "decline_code": None,
        "failure_message": None,
        "idempotency_key": key,
        "payment_intent": intent["id"],
        "gateway": gateway,
        "gateway_reference": None,
        "amount_refunded": 0,
    }


def settled_charge_values(result: ChargeResult) -> dict[str, Any]:
    """The charge row's columns once the gateway answered (pure)."""
    return {
        "status": "succeeded" if result.status == "succeeded" else "failed",
        "failure_code": result.failure_code,
        "decline_code": result.decline_code,
        "failure_message": result.failure_message,
        "gateway_reference": result.reference or None,
    }


def _payment_error(charge: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "card_error",
        "code": charge["failure_code"],
        "decline_code": charge["decline_code"],
        "message": charge["failure_message"],
        "charge": charge["id"],
        "payment_method": charge["payment_method"],
    }


def intent_values_after(charge: Mapping[str, Any], status: AttemptStatus) -> dict[str, Any]:
    """The intent's new columns after an attempt ended so (pure)."""
    if status == "unknown":
        return {"status": "processing", "payment_method": charge["payment_method"]}
    values: dict[str, Any] = {"latest_charge": charge["id"]}
    if status == "succeeded":
        values.update(
            status="succeeded",
            amount_received=charge["amount"],
            payment_method=charge["payment_method"],
            last_payment_error=None,
        )
    elif status == "requires_action":
        # The customer can authenticate (the hosted invoice page); the method is kept.
        values.update(
            status="requires_action",
            payment_method=charge["payment_method"],
            last_payment_error=_payment_error(charge),
        )
    else:
        # Stripe detaches a declined method from the intent: a new one must be given.
        values.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error=_payment_error(charge),
        )
    return values


def outcome_status(result: ChargeResult) -> AttemptStatus:
    """An attempt's status from the gateway's answer."""
    return result.status


def build_charge_view(
    charge: Mapping[str, Any], method: Mapping[str, Any] | None, refunds: Sequence[Record]
) -> dict[str, Any]:
    """A charge as the API renders it: with its payment method and its refunds (pure)."""
    view = dict(charge)
    view["method"] = method
    view["refund_records"] = list(refunds)
    return view


CHARGE_EVENTS: Final = {
    "succeeded": ("charge.succeeded", "payment_intent.succeeded"),
    "failed": ("charge.failed", "payment_intent.payment_failed"),
    "requires_action": ("charge.failed", "payment_intent.requires_action"),
    "unknown": ("charge.pending", "payment_intent.processing"),
}


# --- reading ------------------------------------------------------------------------------


def customer_time(uow: UnitOfWork, customer_id: str | None, now: datetime) -> datetime:
    """The customer's present: its test clock's frozen time, or `now`."""
    if customer_id is None:
        return now
    customer = uow.repository(CustomerRepository).find(customer_id)
    if customer is None or not customer["test_clock"]:
        return now
    clock = uow.repository(TestClockRepository).find(customer["test_clock"])
    return now if clock is None else from_unix(clock["frozen_time"])


def charge_view(uow: UnitOfWork, charge: Record) -> dict[str, Any]:
    """A stored charge with what its wire shape shows."""
    method = (
        uow.repository(PaymentMethodRepository).find(charge["payment_method"])
        if charge["payment_method"]
        else None
    )
    refunds = uow.repository(RefundRepository).of_charge(charge["id"])
    return build_charge_view(charge, method, refunds)


def intent_view(uow: UnitOfWork, intent: Record) -> dict[str, Any]:
    """A stored intent as the API renders it (with the method its last error names)."""
    view = dict(intent)
    error = intent["last_payment_error"] or {}
    if error.get("payment_method"):
        view["error_method"] = uow.repository(PaymentMethodRepository).find(error["payment_method"])
    return view


# --- writing ------------------------------------------------------------------------------


def create_intent(uow: UnitOfWork, row: Mapping[str, Any], at: datetime, *, event: bool) -> Record:
    """Insert an intent (with `payment_intent.created` when `event`)."""
    intent = _intents(uow).insert(row)
    if event:
        record_event(uow, "payment_intent.created", "payment_intent", intent_view(uow, intent), at)
    return intent


def pending_attempt(uow: UnitOfWork, intent: Record) -> Record | None:
    """The intent's (or its invoice's) attempt whose outcome is not known yet."""
    if intent["invoice"]:
        return _attempts(uow).pending_for_invoice(intent["invoice"])
    return _attempts(uow).pending_for_intent(intent["id"])


def run_attempt(
    uow: UnitOfWork,
    intent: Record,
    method_id: str,
    at: datetime,
    *,
    key: str,
    off_session: bool,
    settings: BillingSettings | None = None,
) -> AttemptResult:
    """Charge the intent's amount on a method: row first, then the gateway, then the outcome."""
    method = uow.repository(PaymentMethodRepository).get(method_id, param="payment_method")
    # A method mirrored to a gateway lives there and is charged there (gateway_mirror).
    gateway = gateway_of_method(uow, method, settings)
    row = new_charge_row(intent, key=key, method_id=method_id, at=at, gateway=gateway.name)
    charge = _attempts(uow).insert(row)
    result: ChargeResult | None
    try:
        method_ref, customer_ref = gateway_mirror.prepare_charge(
            uow, gateway, method, intent["customer"]
        )
        request = ChargeRequest(
            scope=gateway_scope(uow),
            idempotency_key=key,
            amount=int(intent["amount"]),
            currency=intent["currency"],
            customer=intent["customer"],
            method=method_ref,
            off_session=off_session,
            metadata={
                "invoice": intent["invoice"] or "",
                "payment_intent": intent["id"],
                "charge": charge["id"],
            },
            customer_reference=customer_ref,
        )
        result = gateway.charge(request)
    except GatewayUnavailable:
        result = UNREACHABLE
    except MethodDeclined as declined:
        # The gateway refused the card when it was saved there: nothing was charged.
        result = ChargeResult(
            "failed", "", 0, declined.failure_code, declined.decline_code, declined.message
        )
    except OutcomeUnknown:
        result = None
    return settle_attempt(uow, charge, result, at)


def settle_attempt(
    uow: UnitOfWork, charge: Record, result: ChargeResult | None, at: datetime
) -> AttemptResult:
    """Record a pending attempt's outcome (None: still unknown) on the charge and intent."""
    status: AttemptStatus = "unknown" if result is None else outcome_status(result)
    if result is not None:
        charge = _attempts(uow).update(charge["id"], settled_charge_values(result))
    intent = _intents(uow).get(charge["payment_intent"], for_update=True)
    intent = _intents(uow).update(intent["id"], intent_values_after(charge, status))
    charge_event, intent_event = CHARGE_EVENTS[status]
    record_event(uow, charge_event, "charge", charge_view(uow, charge), at)
    record_event(uow, intent_event, "payment_intent", intent_view(uow, intent), at)
    if result is not None and result.dispute is not None and status == "succeeded":
        # A dispute the gateway reports with the charge (the simulated gateway's
        # `pm_card_createDispute`): recorded as Stripe's webhook records one.
        charge = _record_dispute(uow, charge, result.dispute, at)
    return AttemptResult(status, charge, intent)


def _record_dispute(
    uow: UnitOfWork, charge: Record, dispute: DisputeReport, at: datetime
) -> Record:
    disputes.record_dispute(
        uow,
        charge,
        gateway=str(charge["gateway"]),
        reference=dispute.reference,
        amount=dispute.amount,
        currency=charge["currency"],
        reason=dispute.reason,
        status=dispute.status,
        at=at,
    )
    return _attempts(uow).get(charge["id"])


def cancel_intent(uow: UnitOfWork, intent: Record, at: datetime, *, reason: str | None) -> Record:
    """Cancel an intent that has not succeeded (`payment_intent.canceled`)."""
    intent = _intents(uow).update(
        intent["id"],
        {"status": "canceled", "canceled_at": to_unix(at), "cancellation_reason": reason},
    )
    record_event(uow, "payment_intent.canceled", "payment_intent", intent_view(uow, intent), at)
    return intent
