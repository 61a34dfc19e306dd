"""`/v1/disputes`: the disputes gateways reported (list and retrieve), and their wire shape.

A dispute is recorded when the gateway reports one — Stripe's `charge.dispute.created`
webhook (received at `/gateways/stripe/webhook/{account}`), or the simulated gateway's
dispute test card (`pm_card_createDispute`, 4000000000000259: the charge succeeds, then
the cardholder disputes it as fraudulent) — which marks the charge `disputed` and emits
`charge.dispute.created`. Evidence and the outcome are handled in the gateway's Dashboard:
Recur does not submit evidence or close disputes (no `POST` routes).

The shape is Stripe's dispute object (docs.stripe.com/api/disputes/object): the evidence
fields Recur never holds are null, `balance_transactions` is empty (Recur keeps no
gateway balance), `is_charge_refundable` is true only for inquiries (`warning_*`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import ListParams, RetrieveParams
from recur.services import disputes as service
from recur.services.events import register_renderer

# Stripe's `evidence` hash: every field null until evidence is submitted (at the gateway).
EVIDENCE_FIELDS: Final = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


class DisputeListParams(ListParams):
    """`GET /v1/disputes`."""

    charge: str | None = None
    payment_intent: str | None = None


def dispute_object(view: Mapping[str, Any]) -> Wire:
    """The wire shape of a dispute."""
    status = view["status"]
    return {
        "id": view["id"],
        "object": "dispute",
        "amount": view["amount"],
        "balance_transactions": [],
        "charge": view["charge"],
        "created": view["created"],
        "currency": view["currency"],
        "enhanced_eligibility_types": [],
        "evidence": dict.fromkeys(EVIDENCE_FIELDS),
        "evidence_details": {
            "due_by": None,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        # An inquiry (`warning_needs_response`, …) can still be refunded; a chargeback not.
        "is_charge_refundable": str(status).startswith("warning_"),
        "livemode": view["livemode"],
        "metadata": view["metadata"],
        "network_reason_code": None,
        "payment_intent": view["payment_intent"],
        "payment_method_details": None,
        "reason": view["reason"],
        "status": status,
    }


@route(
    "GET",
    "/v1/disputes/{dispute}",
    RetrieveParams,
    summary="Retrieve a dispute.",
    returns="dispute",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, dispute: str) -> Wire:
    return dispute_object(service.dispute_view(service.retrieve_dispute(ctx.uow, dispute)))


@route("GET", "/v1/disputes", DisputeListParams, summary="List disputes.", returns="list")
def list_(ctx: ApiContext, params: DisputeListParams) -> Wire:
    page = service.list_disputes(
        ctx.uow,
        page_request(params),
        charge=params.charge,
        payment_intent=params.payment_intent,
        created=created_filter(params),
    )
    return list_envelope(
        "/v1/disputes", page, lambda record: dispute_object(service.dispute_view(record))
    )


register_loader(
    "dp",
    lambda ctx, object_id: dispute_object(
        service.dispute_view(service.retrieve_dispute(ctx.uow, object_id))
    ),
)
register_renderer("dispute", dispute_object)
