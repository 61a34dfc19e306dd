"""`/v1/products`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    BlankIsNone,
    Bool,
    Currency,
    DeleteParams,
    ListParams,
    Metadata,
    Nested,
    NonNegInt,
    OptStr,
    Params,
    PositiveInt,
    RetrieveParams,
    given_values,
    updated_metadata,
)
from recur.services import products as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record


class DefaultPriceRecurring(Nested):
    """`default_price_data[recurring]` (Stripe takes only the interval here)."""

    interval: Literal["day", "week", "month", "year"]
    interval_count: PositiveInt | None = None


class DefaultPriceData(Nested):
    """`default_price_data`: a per-unit price created with the product as its default."""

    currency: Currency
    metadata: Metadata | None = None
    recurring: DefaultPriceRecurring | None = None
    tax_behavior: Literal["inclusive", "exclusive", "unspecified"] | None = None
    unit_amount: NonNegInt | None = None
    unit_amount_decimal: str | None = None


class ProductCreateParams(Params):
    """`POST /v1/products`."""

    id: str | None = None
    name: str
    active: Bool | None = None
    default_price_data: DefaultPriceData | None = None
    description: OptStr = None
    images: list[str] | None = None
    metadata: Metadata | None = None
    shippable: Bool | None = None
    tax_code: OptStr = None
    unit_label: OptStr = None
    url: OptStr = None


class ProductUpdateParams(Params):
    """`POST /v1/products/{product}`."""

    active: Bool | None = None
    default_price: OptStr = None
    description: OptStr = None
    images: Annotated[list[str] | None, BlankIsNone] = None
    metadata: Metadata | None = None
    name: OptStr = None
    shippable: Annotated[Bool | None, BlankIsNone] = None
    tax_code: OptStr = None
    unit_label: OptStr = None
    url: OptStr = None


class ProductListParams(ListParams):
    """`GET /v1/products`."""

    active: Bool | None = None
    ids: list[str] | None = None
    shippable: Bool | None = None
    url: str | None = None


def product_object(record: Record) -> Wire:
    """The wire shape of a product."""
    return {
        "id": record["id"],
        "object": "product",
        "active": record["active"],
        "created": record["created"],
        "default_price": record["default_price"],
        "description": record["description"],
        "images": record["images"],
        "livemode": record["livemode"],
        "marketing_features": [],
        "metadata": record["metadata"],
        "name": record["name"],
        "package_dimensions": None,
        "shippable": record["shippable"],
        "statement_descriptor": None,
        "tax_code": record["tax_code"],
        "unit_label": record["unit_label"],
        "updated": record["updated"],
        "url": record["url"],
    }


@route("POST", "/v1/products", ProductCreateParams, summary="Create a product.", returns="product")
def create(ctx: ApiContext, params: ProductCreateParams) -> Wire:
    values = given_values(params, exclude=frozenset({"default_price_data"}))
    default_price_data: dict[str, Any] | None = None
    if params.default_price_data is not None:
        default_price_data = given_values(params.default_price_data)
    record = service.create_product(ctx.uow, values, ctx.now, default_price_data=default_price_data)
    return product_object(record)


@route(
    "GET",
    "/v1/products/{product}",
    RetrieveParams,
    summary="Retrieve a product.",
    returns="product",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, product: str) -> Wire:
    return product_object(service.retrieve_product(ctx.uow, product))


@route(
    "POST",
    "/v1/products/{product}",
    ProductUpdateParams,
    summary="Update a product.",
    returns="product",
)
def update(ctx: ApiContext, params: ProductUpdateParams, product: str) -> Wire:
    changes = given_values(params, exclude=frozenset({"metadata"}))
    if params.given("metadata"):
        current = service.retrieve_product(ctx.uow, product)
        changes["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    return product_object(service.update_product(ctx.uow, product, changes, ctx.now))


@route(
    "DELETE",
    "/v1/products/{product}",
    DeleteParams,
    summary="Delete a product that has no prices.",
    returns="deleted_product",
)
def delete(ctx: ApiContext, params: DeleteParams, product: str) -> Wire:
    deleted = service.delete_product(ctx.uow, product, ctx.now)
    return {"id": deleted, "object": "product", "deleted": True}


@route("GET", "/v1/products", ProductListParams, summary="List products.", returns="list")
def list_(ctx: ApiContext, params: ProductListParams) -> Wire:
    page = service.list_products(
        ctx.uow,
        page_request(params),
        active=params.active,
        ids=params.ids,
        shippable=params.shippable,
        url=params.url,
        created=created_filter(params),
    )
    return list_envelope("/v1/products", page, product_object)


register_loader(
    "prod",
    lambda ctx, object_id: product_object(service.retrieve_product(ctx.uow, object_id)),
    fields=("product",),
)
register_renderer("product", product_object)
