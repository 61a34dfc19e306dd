"""`/v1/customers`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    Address,
    BlankIsNone,
    DeleteParams,
    Int,
    ListParams,
    Metadata,
    Nested,
    OptStr,
    Params,
    RetrieveParams,
    updated_metadata,
)
from recur.api.routes.coupons import coupon_object
from recur.domain.clock import from_unix
from recur.services import customer_discounts as discount_service
from recur.services import customers as service
from recur.services import subscriptions as subscription_service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record


class Shipping(Nested):
    """Shipping details: an address is required, as at Stripe."""

    address: Address
    name: str
    phone: OptStr = None


class InvoiceSettings(Nested):
    """`invoice_settings`: the default payment method and invoice footer."""

    default_payment_method: OptStr = None
    footer: OptStr = None


class CustomerFields(Params):
    """The parameters a customer's create and update share."""

    address: Annotated[Address | None, BlankIsNone] = None
    balance: Int | None = None
    # The customer's discount: Stripe's older parameters (removed in 2025-03-31.basil), kept.
    coupon: str | None = None
    promotion_code: str | None = None
    description: OptStr = None
    email: OptStr = None
    invoice_prefix: OptStr = None
    invoice_settings: InvoiceSettings | None = None
    metadata: Metadata | None = None
    name: OptStr = None
    phone: OptStr = None
    preferred_locales: list[str] | None = None
    shipping: Annotated[Shipping | None, BlankIsNone] = None
    tax_exempt: Literal["none", "exempt", "reverse", ""] | None = None


class CustomerCreateParams(CustomerFields):
    """`POST /v1/customers`: `payment_method` and `test_clock` only at creation."""

    payment_method: str | None = None
    test_clock: str | None = None


class CustomerUpdateParams(CustomerFields):
    """`POST /v1/customers/{customer}`."""


class CustomerListParams(ListParams):
    """`GET /v1/customers`."""

    email: str | None = None
    test_clock: str | None = None


def discount_object(
    entry: Mapping[str, Any], coupon: Record, now: datetime, customer: str, *, deleted: bool = False
) -> Wire:
    """A customer's discount: the current `source` and the older `coupon` object."""
    wire: dict[str, Any] = {
        "id": entry["id"],
        "object": "discount",
        "checkout_session": None,
        "coupon": coupon_object(coupon, now),
        "customer": customer,
        "customer_account": None,
        "end": entry.get("end"),
        "invoice": None,
        "invoice_item": None,
        "promotion_code": entry.get("promotion_code"),
        "source": {"coupon": coupon["id"], "type": "coupon"},
        "start": entry["start"],
        "subscription": None,
        "subscription_item": None,
    }
    if deleted:
        wire["deleted"] = True
    return wire


def render(ctx: ApiContext, record: Record) -> Wire:
    """A stored customer on the wire, with its discount in force."""
    wire = customer_object(record)
    found = discount_service.customer_discount_view(ctx.uow, record, ctx.now)
    if found is not None and not record["deleted"]:
        entry, coupon = found
        wire["discount"] = discount_object(entry, coupon, ctx.now, record["id"])
    return wire


def customer_object(record: Record) -> Wire:
    """The wire shape of a customer (or of a deleted one's tombstone); `render` adds its
    discount."""
    if record["deleted"]:
        return {"id": record["id"], "object": "customer", "deleted": True}
    settings = record["invoice_settings"] or {}
    return {
        "id": record["id"],
        "object": "customer",
        "address": record["address"],
        "balance": record["balance"],
        "created": record["created"],
        "currency": record["currency"],
        "default_source": None,
        "delinquent": False,
        "description": record["description"],
        "discount": None,
        "email": record["email"],
        "invoice_prefix": record["invoice_prefix"],
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": record["default_payment_method"],
            "footer": settings.get("footer"),
            "rendering_options": None,
        },
        "livemode": record["livemode"],
        "metadata": record["metadata"],
        "name": record["name"],
        "next_invoice_sequence": record["next_invoice_sequence"],
        "phone": record["phone"],
        "preferred_locales": record["preferred_locales"],
        "shipping": record["shipping"],
        "tax_exempt": record["tax_exempt"],
        "test_clock": record["test_clock"],
    }


def _values(params: CustomerFields) -> dict[str, Any]:
    """The fields the client sent, as the service expects them."""
    values: dict[str, Any] = {}
    for name in params.model_fields_set - {"expand", "metadata", "invoice_settings"}:
        value = getattr(params, name)
        if hasattr(value, "model_dump"):
            value = value.model_dump()
        values[name] = None if value == "" else value
    if params.invoice_settings is not None:
        settings = params.invoice_settings
        if "default_payment_method" in settings.model_fields_set:
            values["default_payment_method"] = settings.default_payment_method
        if "footer" in settings.model_fields_set:
            values["invoice_settings"] = {"footer": settings.footer}
    return values


@route(
    "POST", "/v1/customers", CustomerCreateParams, summary="Create a customer.", returns="customer"
)
def create(ctx: ApiContext, params: CustomerCreateParams) -> Wire:
    values = _values(params)
    values["metadata"] = params.metadata or {}
    record = discount_service.create_customer(ctx.uow, values, ctx.now, secret=ctx.services.secret)
    return render(ctx, record)


@route(
    "GET",
    "/v1/customers/{customer}",
    RetrieveParams,
    summary="Retrieve a customer.",
    returns="customer",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, customer: str) -> Wire:
    return render(ctx, service.retrieve_customer(ctx.uow, customer))


@route(
    "POST",
    "/v1/customers/{customer}",
    CustomerUpdateParams,
    summary="Update a customer.",
    returns="customer",
)
def update(ctx: ApiContext, params: CustomerUpdateParams, customer: str) -> Wire:
    values = _values(params)
    current = service.get_live_customer(ctx.uow, customer, param=None)
    if params.given("metadata"):
        values["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    if "invoice_settings" in values:
        values["invoice_settings"] = {
            **(current["invoice_settings"] or {}),
            **values["invoice_settings"],
        }
    return render(ctx, discount_service.update_customer(ctx.uow, customer, values, ctx.now))


@route(
    "DELETE",
    "/v1/customers/{customer}",
    DeleteParams,
    summary="Delete a customer.",
    returns="deleted_customer",
)
def delete(ctx: ApiContext, params: DeleteParams, customer: str) -> Wire:
    return customer_object(subscription_service.delete_customer(ctx.uow, customer, ctx.now))


@route("GET", "/v1/customers", CustomerListParams, summary="List customers.", returns="list")
def list_(ctx: ApiContext, params: CustomerListParams) -> Wire:
    page = service.list_customers(
        ctx.uow,
        page_request(params),
        email=params.email,
        test_clock=params.test_clock,
        created=created_filter(params),
    )
    return list_envelope("/v1/customers", page, lambda record: render(ctx, record))


@route(
    "DELETE",
    "/v1/customers/{customer}/discount",
    DeleteParams,
    summary="Remove a customer's discount.",
    returns="discount",
)
def delete_discount(ctx: ApiContext, params: DeleteParams, customer: str) -> Wire:
    entry, coupon = discount_service.delete_customer_discount(ctx.uow, customer, ctx.now)
    return discount_object(entry, coupon, ctx.now, customer, deleted=True)


register_loader(
    "cus", lambda ctx, object_id: render(ctx, service.retrieve_customer(ctx.uow, object_id))
)


def discount_event_object(view: Mapping[str, Any]) -> Wire:
    """A customer's discount in an event (`services.customer_events.discount_view`)."""
    at = from_unix(view["view_at"])
    return discount_object(view["entry"], view["coupon_record"], at, view["customer"])


register_renderer("discount", discount_event_object)
