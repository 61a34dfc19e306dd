"""Refunds: give back (part of) a successful charge, never more than it took.

A refund is written `pending` with its idempotency key before the gateway is called, then
updated with the outcome in the same transaction, as a payment attempt is. The charge row
is locked first, so two refunds of one charge serialize, and what pending and succeeded
refunds hold is counted against the charge: the sum of refunds never exceeds the amount
charged, even while an outcome is unknown. A refund whose answer was lost stays `pending`
until the reconciler asks the gateway by key (`settle_refund`).

Credit notes call `create_refund` for their `refund_amount` (services/credit_notes.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from recur.domain.clock import to_unix
from recur.domain.errors import Conflict, InvalidRequest
from recur.domain.ids import new_id
from recur.domain.money import format_amount
from recur.gateways.base import GatewayUnavailable, OutcomeUnknown, RefundRequest, RefundResult
from recur.services.events import record_event
from recur.services.payment_attempts import charge_view, customer_time
from recur.services.payment_gateways import gateway_named, gateway_scope
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.payments import (
    AttemptRepository,
    PaymentIntentRepository,
    RefundRepository,
)
from recur.storage.uow import UnitOfWork

REASONS: Final = ("duplicate", "fraudulent", "requested_by_customer")


def _refunds(uow: UnitOfWork) -> RefundRepository:
    return uow.repository(RefundRepository)


def refund_view(refund: Record) -> dict[str, Any]:
    """A refund as the API renders it."""
    return dict(refund)


def refund_time(uow: UnitOfWork, charge_id: str, now: datetime) -> datetime:
    """The present of the charge's customer (its test clock's time, or `now`)."""
    charge = uow.repository(AttemptRepository).find(charge_id)
    return customer_time(uow, None if charge is None else charge["customer"], now)


def charge_of_intent(uow: UnitOfWork, intent_id: str, *, param: str) -> str:
    """The successful charge of a PaymentIntent (what refunding the intent refunds)."""
    intent = uow.repository(PaymentIntentRepository).get(intent_id, param=param)
    if intent["status"] != "succeeded" or not intent["latest_charge"]:
        raise InvalidRequest(
            f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
            param=param,
            code="charge_not_refundable",
        )
    return str(intent["latest_charge"])


def create_refund(
    uow: UnitOfWork,
    *,
    charge: str,
    amount: int | None,
    at: datetime,
    reason: str | None = None,
    metadata: Mapping[str, str] | None = None,
    disputed_ok: bool = False,
) -> Record:
    """Refund `amount` (None: all that is left) of a successful charge; returns the refund.

    A disputed charge is refused (Stripe: it "has been charged back"), unless Recur itself
    gives back a charge it must not keep (`disputed_ok`: a late success on a closed invoice).

    Refused (nothing written) when the charge did not succeed, is fully refunded, or the
    amount exceeds what is left. A gateway that cannot be reached refunds nothing: the
    request fails with a retriable 409. An answer that was lost leaves the refund pending.
    """
    record = uow.repository(AttemptRepository).get(charge, param="charge", for_update=True)
    if record["status"] != "succeeded":
        raise InvalidRequest(
            f"Charge {charge} has not succeeded: there is nothing to refund.",
            param="charge",
            code="charge_not_refundable",
        )
    if record["disputed"] and not disputed_ok:
        raise InvalidRequest(
            f"Charge {charge} has been charged back; cannot issue a refund.",
            param="charge",
            code="charge_disputed",
        )
    if reason is not None and reason not in REASONS:
        raise InvalidRequest(
            f"Invalid reason: must be one of {', '.join(REASONS)}.", param="reason"
        )
    available = int(record["amount"]) - _refunds(uow).held_amount(charge)
    if available <= 0:
        raise InvalidRequest(
            f"Charge {charge} has already been refunded.", code="charge_already_refunded"
        )
    if amount is None:
        amount = available
    if amount <= 0:
        raise InvalidRequest("Invalid positive integer: amount.", param="amount")
    if amount > available:
        currency = record["currency"]
        raise InvalidRequest(
            f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded "
            f"amount on charge ({format_amount(available, currency)}).",
            param="amount",
            code="amount_too_large",
        )
    key = f"{charge}:refund:{_refunds(uow).count_for_charge(charge) + 1}"
    refund = _refunds(uow).insert(
        {
            "id": new_id("re"),
            "created": to_unix(at),
            "charge": charge,
            "payment_intent": record["payment_intent"],
            "amount": amount,
            "currency": record["currency"],
            "status": "pending",
            "reason": reason,
            "failure_reason": None,
            "idempotency_key": key,
            "gateway_reference": None,
            "metadata": dict(metadata or {}),
        }
    )
    request = RefundRequest(
        scope=gateway_scope(uow),
        idempotency_key=key,
        charge_reference=str(record["gateway_reference"] or ""),
        amount=amount,
        currency=record["currency"],
        metadata={"charge": charge},
    )
    try:
        # The gateway that made the charge gives the money back.
        result: RefundResult | None = gateway_named(uow, record["gateway"]).refund(request)
    except GatewayUnavailable as error:
        # Nothing was refunded: the whole request is undone, and may be sent again.
        raise Conflict(
            "The payment gateway could not be reached, so nothing was refunded; retry the request.",
            code="payment_gateway_unavailable",
            retriable=True,
        ) from error
    except OutcomeUnknown:
        result = None
    return settle_refund(uow, refund, result, at, created=True)


def settle_refund(
    uow: UnitOfWork,
    refund: Record,
    result: RefundResult | None,
    at: datetime,
    *,
    created: bool = False,
) -> Record:
    """Record a refund's outcome (None: still unknown) and emit what happened.

    A refund settled in the request that created it is announced once, as it ended
    (`refund.created`); one settled later by the reconciler gets `refund.updated`.
    """
    if result is not None:
        refund = _refunds(uow).update(
            refund["id"],
            {
                "status": result.status,
                "failure_reason": result.failure_reason,
                "gateway_reference": result.reference or None,
            },
        )
    if created:
        record_event(uow, "refund.created", "refund", refund_view(refund), at)
    elif result is not None:
        record_event(uow, "refund.updated", "refund", refund_view(refund), at)
    if result is None:
        return refund
    if result.status == "failed":
        record_event(uow, "refund.failed", "refund", refund_view(refund), at)
        return refund
    _add_to_charge(uow, refund, at)
    return refund


def _add_to_charge(uow: UnitOfWork, refund: Record, at: datetime) -> None:
    attempts = uow.repository(AttemptRepository)
    charge = attempts.get(refund["charge"], for_update=True)
    charge = attempts.update(
        charge["id"], {"amount_refunded": int(charge["amount_refunded"]) + int(refund["amount"])}
    )
    record_event(uow, "charge.refunded", "charge", charge_view(uow, charge), at)


def adopt_refund(
    uow: UnitOfWork, charge_id: str, key: str, result: RefundResult, at: datetime
) -> Record | None:
    """Record a refund the gateway made but Recur lost (its transaction never committed)."""
    charge = uow.repository(AttemptRepository).find(charge_id, for_update=True)
    if charge is None:
        return None
    refund = _refunds(uow).insert(
        {
            "id": new_id("re"),
            "created": to_unix(at),
            "charge": charge_id,
            "payment_intent": charge["payment_intent"],
            "amount": result.amount,
            "currency": charge["currency"],
            "status": "pending",
            "reason": None,
            "failure_reason": None,
            "idempotency_key": key,
            "gateway_reference": None,
            "metadata": {},
        }
    )
    return settle_refund(uow, refund, result, at, created=True)


def retrieve_refund(uow: UnitOfWork, refund_id: str) -> Record:
    """One refund of this tenant."""
    return _refunds(uow).get(refund_id)


def update_refund(uow: UnitOfWork, refund_id: str, metadata: Mapping[str, str]) -> Record:
    """Change a refund's metadata (the only thing that can change)."""
    _refunds(uow).get(refund_id)
    return _refunds(uow).update(refund_id, {"metadata": dict(metadata)})


def list_refunds(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    charge: str | None = None,
    payment_intent: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of refunds, newest first."""
    return _refunds(uow).list_refunds(
        request, charge=charge, payment_intent=payment_intent, created=created
    )
