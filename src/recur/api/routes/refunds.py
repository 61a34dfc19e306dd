"""`/v1/refunds`: create (on a charge or a PaymentIntent), retrieve, update, list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from recur.api.errors import invalid_param
from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    Int,
    ListParams,
    Metadata,
    Params,
    RetrieveParams,
    updated_metadata,
)
from recur.services import refunds as service
from recur.services.events import register_renderer


class RefundCreateParams(Params):
    """`POST /v1/refunds`."""

    amount: Int | None = None
    charge: str | None = None
    metadata: Metadata | None = None
    payment_intent: str | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None


class RefundUpdateParams(Params):
    """`POST /v1/refunds/{refund}`: only metadata changes."""

    metadata: Metadata | None = None


class RefundListParams(ListParams):
    """`GET /v1/refunds`."""

    charge: str | None = None
    payment_intent: str | None = None


def refund_object(view: Mapping[str, Any]) -> Wire:
    """The wire shape of a refund."""
    return {
        "id": view["id"],
        "object": "refund",
        "amount": view["amount"],
        "balance_transaction": None,
        "charge": view["charge"],
        "created": view["created"],
        "currency": view["currency"],
        "destination_details": {
            "card": {
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "failure_reason": view["failure_reason"],
        "livemode": view["livemode"],
        "metadata": view["metadata"],
        "payment_intent": view["payment_intent"],
        "reason": view["reason"],
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": view["status"],
        "transfer_reversal": None,
    }


@route("POST", "/v1/refunds", RefundCreateParams, summary="Refund a charge.", returns="refund")
def create(ctx: ApiContext, params: RefundCreateParams) -> Wire:
    if params.charge and params.payment_intent:
        raise invalid_param(
            "You may only specify one of these parameters: charge, payment_intent.",
            "payment_intent",
        )
    if params.charge:
        charge = params.charge
    elif params.payment_intent:
        charge = service.charge_of_intent(ctx.uow, params.payment_intent, param="payment_intent")
    else:
        raise invalid_param(
            "One of the following params should be provided for this request: charge or "
            "payment_intent.",
            "charge",
        )
    record = service.create_refund(
        ctx.uow,
        charge=charge,
        amount=params.amount,
        at=service.refund_time(ctx.uow, charge, ctx.now),
        reason=params.reason,
        metadata=params.metadata,
    )
    return refund_object(record)


@route(
    "GET", "/v1/refunds/{refund}", RetrieveParams, summary="Retrieve a refund.", returns="refund"
)
def retrieve(ctx: ApiContext, params: RetrieveParams, refund: str) -> Wire:
    return refund_object(service.retrieve_refund(ctx.uow, refund))


@route(
    "POST",
    "/v1/refunds/{refund}",
    RefundUpdateParams,
    summary="Update a refund's metadata.",
    returns="refund",
)
def update(ctx: ApiContext, params: RefundUpdateParams, refund: str) -> Wire:
    current = service.retrieve_refund(ctx.uow, refund)
    if not params.given("metadata"):
        return refund_object(current)
    metadata = updated_metadata(current["metadata"], params, ctx.raw)
    return refund_object(service.update_refund(ctx.uow, refund, metadata))


@route("GET", "/v1/refunds", RefundListParams, summary="List refunds.", returns="list")
def list_(ctx: ApiContext, params: RefundListParams) -> Wire:
    page = service.list_refunds(
        ctx.uow,
        page_request(params),
        charge=params.charge,
        payment_intent=params.payment_intent,
        created=created_filter(params),
    )
    return list_envelope("/v1/refunds", page, refund_object)


register_loader(
    "re", lambda ctx, object_id: refund_object(service.retrieve_refund(ctx.uow, object_id))
)
register_renderer("refund", refund_object)
