"""`/v1/payment_intents`: create, retrieve, list, confirm, cancel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    BlankIsNone,
    Bool,
    Currency,
    Int,
    ListParams,
    Metadata,
    Nested,
    OptStr,
    Params,
    RetrieveParams,
    given_values,
)
from recur.api.routes.invoices import hosted_invoice_url, public_url
from recur.api.routes.payment_methods import payment_method_object
from recur.services import payment_attempts
from recur.services import payment_intents as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record


class AutomaticPaymentMethods(Nested):
    """`automatic_payment_methods`: accepted; cards are the only method."""

    enabled: Bool
    allow_redirects: Literal["always", "never"] | None = None


class PaymentIntentCreateParams(Params):
    """`POST /v1/payment_intents`."""

    amount: Int
    currency: Currency
    automatic_payment_methods: AutomaticPaymentMethods | None = None
    capture_method: Literal["automatic", "automatic_async", "manual"] | None = None
    confirm: Bool | None = None
    confirmation_method: Literal["automatic", "manual"] | None = None
    customer: str | None = None
    description: OptStr = None
    metadata: Metadata | None = None
    off_session: Bool | None = None
    payment_method: str | None = None
    payment_method_types: list[Literal["card"]] | None = None
    receipt_email: OptStr = None
    setup_future_usage: Annotated[Literal["off_session", "on_session"] | None, BlankIsNone] = None


class PaymentIntentConfirmParams(Params):
    """`POST /v1/payment_intents/{id}/confirm`."""

    off_session: Bool | None = None
    payment_method: str | None = None
    return_url: str | None = None


class PaymentIntentCancelParams(Params):
    """`POST /v1/payment_intents/{id}/cancel`."""

    cancellation_reason: (
        Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"] | None
    ) = None


class PaymentIntentListParams(ListParams):
    """`GET /v1/payment_intents`."""

    customer: str | None = None


def _error(view: Mapping[str, Any]) -> Wire | None:
    error = view["last_payment_error"]
    if not error:
        return None
    method = view.get("error_method")
    return {
        "charge": error.get("charge"),
        "code": error.get("code"),
        "decline_code": error.get("decline_code"),
        "doc_url": f"https://stripe.com/docs/error-codes/{error.get('code')}",
        "message": error.get("message"),
        "payment_method": None if method is None else payment_method_object(method),
        "type": error.get("type", "card_error"),
    }


def _next_action(view: Mapping[str, Any]) -> Wire | None:
    if view["status"] != "requires_action":
        return None
    # The customer authenticates on the hosted invoice page (or the intent's own page).
    url = (
        hosted_invoice_url(view["invoice"])
        if view["invoice"]
        else f"{public_url()}/payment_intents/{view['id']}/authenticate"
    )
    return {"type": "redirect_to_url", "redirect_to_url": {"return_url": None, "url": url}}


def payment_intent_object(view: Mapping[str, Any]) -> Wire:
    """The wire shape of a PaymentIntent (a view from `payment_attempts.intent_view`)."""
    return {
        "id": view["id"],
        "object": "payment_intent",
        "amount": view["amount"],
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": view["amount_received"],
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": view["canceled_at"],
        "cancellation_reason": view["cancellation_reason"],
        "capture_method": "automatic",
        "client_secret": view["client_secret"],
        "confirmation_method": "automatic",
        "created": view["created"],
        "currency": view["currency"],
        "customer": view["customer"],
        "description": view["description"],
        # Older API versions (the invoice this intent collects).
        "invoice": view["invoice"],
        "last_payment_error": _error(view),
        "latest_charge": view["latest_charge"],
        "livemode": view["livemode"],
        "metadata": view["metadata"],
        "next_action": _next_action(view),
        "on_behalf_of": None,
        "payment_method": view["payment_method"],
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": view["receipt_email"],
        "review": None,
        "setup_future_usage": view["setup_future_usage"],
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": view["status"],
        "transfer_data": None,
        "transfer_group": None,
    }


def render(ctx: ApiContext, record: Record) -> Wire:
    """A stored intent on the wire."""
    return payment_intent_object(payment_attempts.intent_view(ctx.uow, record))


@route(
    "POST",
    "/v1/payment_intents",
    PaymentIntentCreateParams,
    summary="Create a PaymentIntent (confirm=true charges at once).",
    returns="payment_intent",
)
def create(ctx: ApiContext, params: PaymentIntentCreateParams) -> Wire:
    values = given_values(params)
    record = service.create_payment_intent(ctx.uow, values, ctx.now, secret=ctx.services.secret)
    return render(ctx, record)


@route(
    "GET",
    "/v1/payment_intents/{payment_intent}",
    RetrieveParams,
    summary="Retrieve a PaymentIntent.",
    returns="payment_intent",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, payment_intent: str) -> Wire:
    return render(ctx, service.retrieve_payment_intent(ctx.uow, payment_intent))


@route(
    "POST",
    "/v1/payment_intents/{payment_intent}/confirm",
    PaymentIntentConfirmParams,
    summary="Confirm a PaymentIntent: one payment attempt.",
    returns="payment_intent",
)
def confirm(ctx: ApiContext, params: PaymentIntentConfirmParams, payment_intent: str) -> Wire:
    record = service.confirm_payment_intent(
        ctx.uow, payment_intent, given_values(params), ctx.now, secret=ctx.services.secret
    )
    return render(ctx, record)


@route(
    "POST",
    "/v1/payment_intents/{payment_intent}/cancel",
    PaymentIntentCancelParams,
    summary="Cancel a PaymentIntent.",
    returns="payment_intent",
)
def cancel(ctx: ApiContext, params: PaymentIntentCancelParams, payment_intent: str) -> Wire:
    record = service.cancel_payment_intent(
        ctx.uow, payment_intent, params.cancellation_reason, ctx.now
    )
    return render(ctx, record)


@route(
    "GET",
    "/v1/payment_intents",
    PaymentIntentListParams,
    summary="List PaymentIntents.",
    returns="list",
)
def list_(ctx: ApiContext, params: PaymentIntentListParams) -> Wire:
    page = service.list_payment_intents(
        ctx.uow, page_request(params), customer=params.customer, created=created_filter(params)
    )
    return list_envelope("/v1/payment_intents", page, lambda record: render(ctx, record))


register_loader(
    "pi",
    lambda ctx, object_id: render(ctx, service.retrieve_payment_intent(ctx.uow, object_id)),
)
register_renderer("payment_intent", payment_intent_object)
