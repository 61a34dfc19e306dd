"""`/v1/invoiceitems`: one-off charges and credits for a customer's next invoice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    BlankIsNone,
    Bool,
    Dec,
    DeleteParams,
    Int,
    ListParams,
    Metadata,
    Nested,
    NonNegInt,
    OptStr,
    Params,
    RetrieveParams,
    Timestamp,
    given_values,
    updated_metadata,
)
from recur.api.routes.prices import price_object
from recur.api.routes.tax_rates import tax_rate_object
from recur.services import invoice_items as service
from recur.services.events import register_renderer
from recur.services.prices import integer_amount
from recur.storage.repositories.base import Record


class Period(Nested):
    """`period`: the service period the item bills for."""

    start: Timestamp
    end: Timestamp


class ItemPriceData(Nested):
    """`price_data`: a one-time price of an existing product, created inline."""

    currency: str
    product: str
    unit_amount: NonNegInt | None = None
    unit_amount_decimal: Dec | None = None
    tax_behavior: Literal["inclusive", "exclusive", "unspecified"] | None = None


class Pricing(Nested):
    """`pricing`: the current API's way to name the price."""

    price: str


class InvoiceItemFields(Params):
    """The parameters create and update share."""

    amount: Int | None = None
    description: OptStr = None
    discountable: Bool | None = None
    metadata: Metadata | None = None
    period: Period | None = None
    price: str | None = None
    price_data: ItemPriceData | None = None
    pricing: Pricing | None = None
    quantity: NonNegInt | None = None
    tax_rates: Annotated[list[str] | None, BlankIsNone] = None
    # Legacy integer unit amount; either sign (a negative unit amount is a credit).
    unit_amount: Int | None = None
    unit_amount_decimal: str | None = None


class InvoiceItemCreateParams(InvoiceItemFields):
    """`POST /v1/invoiceitems`."""

    customer: str
    currency: str | None = None
    invoice: str | None = None
    subscription: str | None = None


class InvoiceItemUpdateParams(InvoiceItemFields):
    """`POST /v1/invoiceitems/{invoiceitem}`."""


class InvoiceItemListParams(ListParams):
    """`GET /v1/invoiceitems`."""

    customer: str | None = None
    invoice: str | None = None
    pending: Bool | None = None


def _values(params: Params) -> dict[str, Any]:
    values = given_values(params)
    if "unit_amount_decimal" in values and values["unit_amount_decimal"] is not None:
        values["unit_amount_decimal"] = str(values["unit_amount_decimal"])
    price_data = values.get("price_data")
    if price_data and price_data.get("unit_amount_decimal") is not None:
        price_data["unit_amount_decimal"] = str(price_data["unit_amount_decimal"])
    return values


def invoice_item_object(view: Mapping[str, Any]) -> Wire:
    """The wire shape of an invoice item (current shape plus the legacy fields)."""
    if view.get("deleted"):
        return {"id": view["id"], "object": "invoiceitem", "deleted": True}
    price = view["price_record"]
    parent = None
    if view["subscription"]:
        parent = {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": view["subscription"],
                "subscription_item": view["subscription_item"],
            },
        }
    return {
        "id": view["id"],
        "object": "invoiceitem",
        "amount": view["amount"],
        "currency": view["currency"],
        "customer": view["customer"],
        "date": view["created"],
        "description": view["description"],
        "discountable": view["discountable"],
        "discounts": [],
        "invoice": view["invoice"],
        "livemode": view["livemode"],
        "metadata": view["metadata"],
        "net_amount": view["amount"],
        "parent": parent,
        "period": {"start": view["period_start"], "end": view["period_end"]},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": view["price"], "product": view["product"]}
            if view["price"]
            else None,
            "unit_amount_decimal": view["unit_amount_decimal"],
        },
        "proration": view["proration"],
        "proration_details": {"discount_amounts": []},
        "quantity": view["quantity"],
        "tax_rates": [tax_rate_object(rate) for rate in view["tax_rate_records"]],
        "test_clock": view["test_clock"],
        # Older API versions:
        "plan": None,
        "price": None if price is None else price_object(price),
        "subscription": view["subscription"],
        "subscription_item": view["subscription_item"],
        "unit_amount": integer_amount(view["unit_amount_decimal"]),
        "unit_amount_decimal": view["unit_amount_decimal"],
    }


def render(ctx: ApiContext, record: Record) -> Wire:
    """A stored invoice item on the wire."""
    return invoice_item_object(service.invoice_item_view(ctx.uow, record))


@route(
    "POST",
    "/v1/invoiceitems",
    InvoiceItemCreateParams,
    summary="Create an invoice item.",
    returns="invoiceitem",
)
def create(ctx: ApiContext, params: InvoiceItemCreateParams) -> Wire:
    values = _values(params)
    values["metadata"] = params.metadata or {}
    return render(ctx, service.create_invoice_item(ctx.uow, values, ctx.now))


@route(
    "GET",
    "/v1/invoiceitems/{invoiceitem}",
    RetrieveParams,
    summary="Retrieve an invoice item.",
    returns="invoiceitem",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, invoiceitem: str) -> Wire:
    return render(ctx, service.retrieve_invoice_item(ctx.uow, invoiceitem))


@route(
    "POST",
    "/v1/invoiceitems/{invoiceitem}",
    InvoiceItemUpdateParams,
    summary="Update an invoice item.",
    returns="invoiceitem",
)
def update(ctx: ApiContext, params: InvoiceItemUpdateParams, invoiceitem: str) -> Wire:
    values = _values(params)
    if params.given("metadata"):
        current = service.retrieve_invoice_item(ctx.uow, invoiceitem)
        values["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    return render(ctx, service.update_invoice_item(ctx.uow, invoiceitem, values, ctx.now))


@route(
    "DELETE",
    "/v1/invoiceitems/{invoiceitem}",
    DeleteParams,
    summary="Delete an invoice item.",
    returns="deleted_invoiceitem",
)
def delete(ctx: ApiContext, params: DeleteParams, invoiceitem: str) -> Wire:
    record = service.delete_invoice_item(ctx.uow, invoiceitem, ctx.now)
    return {"id": record["id"], "object": "invoiceitem", "deleted": True}


@route(
    "GET", "/v1/invoiceitems", InvoiceItemListParams, summary="List invoice items.", returns="list"
)
def list_(ctx: ApiContext, params: InvoiceItemListParams) -> Wire:
    page = service.list_invoice_items(
        ctx.uow,
        page_request(params),
        customer=params.customer,
        invoice=params.invoice,
        pending=params.pending,
        created=created_filter(params),
    )
    return list_envelope("/v1/invoiceitems", page, lambda record: render(ctx, record))


register_loader(
    "ii", lambda ctx, object_id: render(ctx, service.retrieve_invoice_item(ctx.uow, object_id))
)
register_renderer("invoiceitem", invoice_item_object)
