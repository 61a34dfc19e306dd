"""`/v1/payment_methods` and `/v1/customers/{customer}/payment_methods`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from recur.api.errors import invalid_param
from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    Address,
    BlankIsNone,
    ListParams,
    Metadata,
    Nested,
    OptStr,
    Params,
    RetrieveParams,
    updated_metadata,
)
from recur.gateways.test_cards import display_brand
from recur.services import payment_methods as service
from recur.services.customers import retrieve_customer
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record

AllowRedisplay = Literal["always", "limited", "unspecified"]
# Card fields arrive as form strings; JSON bodies may send numbers. They are parsed by the
# service, whose errors never repeat the value (it could be a card number in a wrong field).
CardField = str | int | None


class CardParams(Nested):
    """`card`: a test card number with its expiry, or a `tok_…` token."""

    number: CardField = None
    exp_month: CardField = None
    exp_year: CardField = None
    cvc: CardField = None
    token: str | None = None


class BillingDetails(Nested):
    """`billing_details`: who pays, as the card issuer knows them."""

    address: Annotated[Address | None, BlankIsNone] = None
    email: OptStr = None
    name: OptStr = None
    phone: OptStr = None


class PaymentMethodCreateParams(Params):
    """`POST /v1/payment_methods` (publishable keys allowed)."""

    type: Literal["card"]
    card: CardParams | None = None
    billing_details: BillingDetails | None = None
    metadata: Metadata | None = None
    allow_redisplay: AllowRedisplay | None = None


class CardUpdateParams(Nested):
    """`card` on update: only the expiry can change."""

    exp_month: CardField = None
    exp_year: CardField = None


class PaymentMethodUpdateParams(Params):
    """`POST /v1/payment_methods/{payment_method}`."""

    billing_details: BillingDetails | None = None
    card: CardUpdateParams | None = None
    metadata: Metadata | None = None
    allow_redisplay: AllowRedisplay | None = None


class AttachParams(Params):
    """`POST /v1/payment_methods/{payment_method}/attach`."""

    customer: str


class DetachParams(Params):
    """`POST /v1/payment_methods/{payment_method}/detach` takes nothing but `expand`."""


class PaymentMethodListParams(ListParams):
    """`GET /v1/payment_methods`."""

    customer: str | None = None
    type: str | None = None
    allow_redisplay: AllowRedisplay | None = None


class CustomerPaymentMethodListParams(ListParams):
    """`GET /v1/customers/{customer}/payment_methods`."""

    type: str | None = None
    allow_redisplay: AllowRedisplay | None = None


def _text(value: str | int | None) -> str | None:
    return None if value is None else str(value)


def _address(address: Any) -> dict[str, Any]:
    fields = ("city", "country", "line1", "line2", "postal_code", "state")
    return {name: (address or {}).get(name) for name in fields}


def payment_method_object(record: Record) -> Wire:
    """The wire shape of a card payment method (its test behaviour stays internal)."""
    details = record["billing_details"] or {}
    brand = record["brand"]
    checks = record["checks"] or {}
    return {
        "id": record["id"],
        "object": "payment_method",
        "allow_redisplay": record["allow_redisplay"],
        "billing_details": {
            # Stripe always shows the address object, with null fields when unknown.
            "address": _address(details.get("address")),
            "email": details.get("email"),
            "name": details.get("name"),
            "phone": details.get("phone"),
        },
        "card": {
            "brand": brand,
            "checks": {
                "address_line1_check": checks.get("address_line1_check"),
                "address_postal_code_check": checks.get("address_postal_code_check"),
                "cvc_check": checks.get("cvc_check"),
            },
            "country": record["country"],
            "display_brand": display_brand(brand),
            "exp_month": record["exp_month"],
            "exp_year": record["exp_year"],
            "fingerprint": record["fingerprint"],
            "funding": record["funding"],
            "generated_from": None,
            "last4": record["last4"],
            "networks": {"available": [brand], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": record["created"],
        "customer": record["customer"],
        "livemode": record["livemode"],
        "metadata": record["metadata"],
        "type": record["type"],
    }


def _billing_details_changes(details: BillingDetails) -> dict[str, Any]:
    """Only the fields sent; an address keeps only its sent fields, to merge on update."""
    changes: dict[str, Any] = {}
    for name in details.model_fields_set:
        value = getattr(details, name)
        if name == "address" and value is not None:
            value = {field: getattr(value, field) for field in value.model_fields_set}
        changes[name] = value
    return changes


@route(
    "POST",
    "/v1/payment_methods",
    PaymentMethodCreateParams,
    summary="Create a payment method (a test card).",
    returns="payment_method",
    publishable=True,
)
def create(ctx: ApiContext, params: PaymentMethodCreateParams) -> Wire:
    card = params.card
    if card is None:
        raise invalid_param("Missing required param: card.", "card", code="parameter_missing")
    record = service.create_payment_method(
        ctx.uow,
        service.CardInput(
            number=_text(card.number),
            exp_month=_text(card.exp_month),
            exp_year=_text(card.exp_year),
            cvc=_text(card.cvc),
            token=card.token,
        ),
        ctx.now,
        secret=ctx.services.secret,
        billing_details=(
            params.billing_details.model_dump() if params.billing_details is not None else None
        ),
        metadata=params.metadata,
        allow_redisplay=params.allow_redisplay,
    )
    return payment_method_object(record)


@route(
    "GET",
    "/v1/payment_methods/{payment_method}",
    RetrieveParams,
    summary="Retrieve a payment method.",
    returns="payment_method",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, payment_method: str) -> Wire:
    record = service.retrieve_payment_method(
        ctx.uow, payment_method, ctx.now, secret=ctx.services.secret
    )
    return payment_method_object(record)


@route(
    "POST",
    "/v1/payment_methods/{payment_method}",
    PaymentMethodUpdateParams,
    summary="Update a payment method.",
    returns="payment_method",
)
def update(ctx: ApiContext, params: PaymentMethodUpdateParams, payment_method: str) -> Wire:
    metadata = None
    if params.given("metadata"):
        current = service.get_payment_method(ctx.uow, payment_method)
        metadata = updated_metadata(current["metadata"], params, ctx.raw)
    card = params.card or CardUpdateParams()
    record = service.update_payment_method(
        ctx.uow,
        payment_method,
        ctx.now,
        billing_details=(
            _billing_details_changes(params.billing_details)
            if params.billing_details is not None
            else None
        ),
        exp_month=_text(card.exp_month),
        exp_year=_text(card.exp_year),
        metadata=metadata,
        allow_redisplay=params.allow_redisplay,
    )
    return payment_method_object(record)


@route(
    "POST",
    "/v1/payment_methods/{payment_method}/attach",
    AttachParams,
    summary="Attach a payment method to a customer.",
    returns="payment_method",
)
def attach(ctx: ApiContext, params: AttachParams, payment_method: str) -> Wire:
    record = service.attach_payment_method(
        ctx.uow, payment_method, params.customer, ctx.now, secret=ctx.services.secret
    )
    return payment_method_object(record)


@route(
    "POST",
    "/v1/payment_methods/{payment_method}/detach",
    DetachParams,
    summary="Detach a payment method from its customer.",
    returns="payment_method",
)
def detach(ctx: ApiContext, params: DetachParams, payment_method: str) -> Wire:
    return payment_method_object(service.detach_payment_method(ctx.uow, payment_method, ctx.now))


@route(
    "GET",
    "/v1/payment_methods",
    PaymentMethodListParams,
    summary="List payment methods.",
    returns="list",
)
def list_(ctx: ApiContext, params: PaymentMethodListParams) -> Wire:
    page = service.list_payment_methods(
        ctx.uow,
        page_request(params),
        customer=params.customer,
        type=params.type,
        allow_redisplay=params.allow_redisplay,
        created=created_filter(params),
    )
    return list_envelope("/v1/payment_methods", page, payment_method_object)


@route(
    "GET",
    "/v1/customers/{customer}/payment_methods",
    CustomerPaymentMethodListParams,
    summary="List a customer's payment methods.",
    returns="list",
)
def list_for_customer(
    ctx: ApiContext, params: CustomerPaymentMethodListParams, customer: str
) -> Wire:
    retrieve_customer(ctx.uow, customer)
    page = service.list_payment_methods(
        ctx.uow,
        page_request(params),
        customer=customer,
        type=params.type,
        allow_redisplay=params.allow_redisplay,
        created=created_filter(params),
    )
    return list_envelope(f"/v1/customers/{customer}/payment_methods", page, payment_method_object)


@route(
    "GET",
    "/v1/customers/{customer}/payment_methods/{payment_method}",
    RetrieveParams,
    summary="Retrieve a customer's payment method.",
    returns="payment_method",
)
def retrieve_for_customer(
    ctx: ApiContext, params: RetrieveParams, customer: str, payment_method: str
) -> Wire:
    retrieve_customer(ctx.uow, customer)
    record = service.retrieve_customer_payment_method(ctx.uow, payment_method, customer)
    return payment_method_object(record)


register_loader(
    "pm",
    lambda ctx, object_id: payment_method_object(service.get_payment_method(ctx.uow, object_id)),
)
register_renderer("payment_method", payment_method_object)
