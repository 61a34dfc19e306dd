"""`/v1/charges`: retrieve and list the payment attempts (and a charge's refunds)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import ListParams, RetrieveParams
from recur.api.routes.refunds import refund_object
from recur.gateways.test_cards import display_brand
from recur.services import payment_attempts, refunds
from recur.services import payment_intents as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record


class ChargeListParams(ListParams):
    """`GET /v1/charges`."""

    customer: str | None = None
    payment_intent: str | None = None


class ChargeRefundsParams(ListParams):
    """`GET /v1/charges/{charge}/refunds`."""


def _outcome(view: Mapping[str, Any]) -> Wire | None:
    status = view["status"]
    if status == "pending":
        return None
    if status == "succeeded":
        return {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    unreachable = view["gateway_reference"] is None
    return {
        "network_status": "not_sent_to_network" if unreachable else "declined_by_network",
        "reason": view["decline_code"],
        "risk_level": "normal",
        "seller_message": view["failure_message"],
        "type": "invalid" if unreachable else "issuer_declined",
    }


def _card(method: Mapping[str, Any] | None) -> Wire | None:
    if method is None:
        return None
    checks = method["checks"] or {}
    return {
        "card": {
            "brand": method["brand"],
            "checks": {
                "address_line1_check": checks.get("address_line1_check"),
                "address_postal_code_check": checks.get("address_postal_code_check"),
                "cvc_check": checks.get("cvc_check"),
            },
            "country": method["country"],
            "display_brand": display_brand(method["brand"]),
            "exp_month": method["exp_month"],
            "exp_year": method["exp_year"],
            "fingerprint": method["fingerprint"],
            "funding": method["funding"],
            "last4": method["last4"],
            "network": method["brand"],
            "three_d_secure": None,
        },
        "type": "card",
    }


def charge_object(view: Mapping[str, Any]) -> Wire:
    """The wire shape of a charge (a view from `payment_attempts.charge_view`)."""
    method = view.get("method")
    succeeded = view["status"] == "succeeded"
    refund_records = view.get("refund_records") or []
    details = (method or {}).get("billing_details") or {}
    return {
        "id": view["id"],
        "object": "charge",
        "amount": view["amount"],
        "amount_captured": view["amount"] if succeeded else 0,
        "amount_refunded": view["amount_refunded"],
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": {
            "address": details.get("address"),
            "email": details.get("email"),
            "name": details.get("name"),
            "phone": details.get("phone"),
        },
        "calculated_statement_descriptor": None,
        "captured": succeeded,
        "created": view["created"],
        "currency": view["currency"],
        "customer": view["customer"],
        "description": None,
        "disputed": bool(view.get("disputed")),
        "failure_balance_transaction": None,
        "failure_code": view["failure_code"],
        "failure_message": view["failure_message"],
        "fraud_details": {},
        # Older API versions: the invoice this charge paid (or tried to).
        "invoice": view["invoice"],
        "livemode": view["livemode"],
        "metadata": {},
        "on_behalf_of": None,
        "outcome": _outcome(view),
        "paid": succeeded,
        "payment_intent": view["payment_intent"],
        "payment_method": view["payment_method"],
        "payment_method_details": _card(method),
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": succeeded and view["amount_refunded"] >= view["amount"],
        "refunds": {
            "object": "list",
            "data": [refund_object(refund) for refund in refund_records],
            "has_more": False,
            "total_count": len(refund_records),
            "url": f"/v1/charges/{view['id']}/refunds",
        },
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": view["status"],
        "transfer_data": None,
        "transfer_group": None,
    }


def render(ctx: ApiContext, record: Record) -> Wire:
    """A stored charge on the wire."""
    return charge_object(payment_attempts.charge_view(ctx.uow, record))


@route(
    "GET", "/v1/charges/{charge}", RetrieveParams, summary="Retrieve a charge.", returns="charge"
)
def retrieve(ctx: ApiContext, params: RetrieveParams, charge: str) -> Wire:
    return render(ctx, service.retrieve_charge(ctx.uow, charge))


@route("GET", "/v1/charges", ChargeListParams, summary="List charges.", returns="list")
def list_(ctx: ApiContext, params: ChargeListParams) -> Wire:
    page = service.list_charges(
        ctx.uow,
        page_request(params),
        customer=params.customer,
        payment_intent=params.payment_intent,
        created=created_filter(params),
    )
    return list_envelope("/v1/charges", page, lambda record: render(ctx, record))


@route(
    "GET",
    "/v1/charges/{charge}/refunds",
    ChargeRefundsParams,
    summary="List a charge's refunds.",
    returns="list",
)
def list_refunds(ctx: ApiContext, params: ChargeRefundsParams, charge: str) -> Wire:
    service.retrieve_charge(ctx.uow, charge)
    page = refunds.list_refunds(
        ctx.uow, page_request(params), charge=charge, created=created_filter(params)
    )
    return list_envelope(f"/v1/charges/{charge}/refunds", page, refund_object)


register_loader(
    "ch", lambda ctx, object_id: render(ctx, service.retrieve_charge(ctx.uow, object_id))
)
register_renderer("charge", charge_object)
