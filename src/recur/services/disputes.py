"""Disputes: a cardholder contested a charge with their bank (reported by the gateway).

Recur records what the gateway reports, through one function (`record_dispute`), whoever
reports it: Stripe's `charge.dispute.created` webhook (services/stripe_webhooks.py), or the
simulated gateway with the result of a charge on its dispute test card
(`pm_card_createDispute`, recorded when the attempt is settled:
`payment_attempts.settle_attempt`). The evidence and the outcome are handled in the
gateway's own Dashboard; Recur lists and shows them (`GET /v1/disputes`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.ids import new_id
from recur.services.events import record_event
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.gateways import DisputeRepository
from recur.storage.repositories.payments import AttemptRepository
from recur.storage.uow import UnitOfWork


def _repo(uow: UnitOfWork) -> DisputeRepository:
    return uow.repository(DisputeRepository)


def dispute_view(dispute: Record) -> dict[str, Any]:
    """A dispute as the API renders it."""
    return dict(dispute)


def record_dispute(
    uow: UnitOfWork,
    charge: Record,
    *,
    gateway: str,
    reference: str,
    amount: int,
    currency: str,
    reason: str | None,
    status: str,
    at: datetime,
) -> Record | None:
    """Record a dispute the gateway opened on one of Recur's charges: the `disputes` row,
    the charge marked `disputed`, and `charge.dispute.created`. None if this dispute of the
    gateway (`reference`) was recorded before."""
    disputes = _repo(uow)
    if disputes.by_reference(gateway, reference) is not None:
        return None
    record = disputes.insert(
        {
            "id": new_id("dp"),
            "created": to_unix(at),
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "amount": amount,
            "currency": currency,
            "reason": reason,
            "status": status,
            "gateway": gateway,
            "gateway_reference": reference,
            "metadata": {},
        }
    )
    uow.repository(AttemptRepository).update(charge["id"], {"disputed": True})
    record_event(uow, "charge.dispute.created", "dispute", dispute_view(record), at)
    return record


def retrieve_dispute(uow: UnitOfWork, dispute_id: str) -> Record:
    """A dispute of this tenant (404 otherwise)."""
    return _repo(uow).get(dispute_id)


def list_disputes(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    charge: str | None = None,
    payment_intent: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of disputes, newest first (one charge's or one PaymentIntent's if given)."""
    return _repo(uow).list_disputes(
        request, charge=charge, payment_intent=payment_intent, created=created
    )
