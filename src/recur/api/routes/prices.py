"""`/v1/prices`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, list_object, route
from recur.api.lists import created_filter, page_request
from recur.api.params import (
    Bool,
    Currency,
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
from recur.api.routes.products import product_object
from recur.services import prices as service
from recur.services import products as product_service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record
from recur.storage.rows import RowMemo

Interval = Literal["day", "week", "month", "year"]
TaxBehavior = Literal["inclusive", "exclusive", "unspecified"]


def _parse_up_to(value: Any) -> Any:
    """`up_to` is a positive integer or the string `inf` (stored as None)."""
    if value == "inf":
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError(
        "recur_up_to",
        "Invalid up_to: must be a positive integer or inf, got {value}",
        {"value": value},
    )


UpTo = Annotated[int | None, BeforeValidator(_parse_up_to)]


class Recurring(Nested):
    """`recurring`: the billing interval of a recurring price."""

    interval: Interval
    interval_count: PositiveInt | None = None
    usage_type: Literal["licensed", "metered"] | None = None
    trial_period_days: NonNegInt | None = None


class TierParams(Nested):
    """One entry of `tiers`; amounts as integer minor units or decimal strings."""

    up_to: UpTo
    unit_amount: NonNegInt | None = None
    unit_amount_decimal: str | None = None
    flat_amount: NonNegInt | None = None
    flat_amount_decimal: str | None = None


class TransformQuantityParams(Nested):
    """`transform_quantity`: bill per package of `divide_by` units."""

    divide_by: PositiveInt
    round: Literal["up", "down"]


class ProductData(Nested):
    """`product_data`: a product created inline with the price."""

    id: str | None = None
    name: str
    active: Bool | None = None
    metadata: Metadata | None = None
    tax_code: OptStr = None
    unit_label: OptStr = None


class PriceCreateParams(Params):
    """`POST /v1/prices`."""

    active: Bool | None = None
    billing_scheme: Literal["per_unit", "tiered"] | None = None
    currency: Currency
    lookup_key: OptStr = None
    metadata: Metadata | None = None
    nickname: OptStr = None
    product: str | None = None
    product_data: ProductData | None = None
    recurring: Recurring | None = None
    tax_behavior: TaxBehavior | None = None
    tiers: list[TierParams] | None = None
    tiers_mode: Literal["graduated", "volume"] | None = None
    transfer_lookup_key: Bool | None = None
    transform_quantity: TransformQuantityParams | None = None
    unit_amount: NonNegInt | None = None
    unit_amount_decimal: str | None = None


class PriceUpdateParams(Params):
    """`POST /v1/prices/{price}`: amounts, currency and interval are immutable, as at Stripe."""

    active: Bool | None = None
    lookup_key: OptStr = None
    metadata: Metadata | None = None
    nickname: OptStr = None
    tax_behavior: TaxBehavior | None = None
    transfer_lookup_key: Bool | None = None


class RecurringFilter(Nested):
    """`recurring[...]` on price lists."""

    interval: Interval | None = None
    usage_type: Literal["licensed", "metered"] | None = None


class PriceListParams(ListParams):
    """`GET /v1/prices`."""

    active: Bool | None = None
    currency: Currency | None = None
    lookup_keys: list[str] | None = None
    product: str | None = None
    recurring: RecurringFilter | None = None
    type: Literal["one_time", "recurring"] | None = None


def tiers_expanded(expand: Sequence[str]) -> bool:
    """Whether a request's `expand[]` asks for prices' `tiers` (`tiers`, `data.tiers`, …).

    Stripe returns `tiers` only when expanded, although it is no id reference; resources
    that embed prices pass the result to `price_object(..., include_tiers=...)`.
    """
    return any(path == "tiers" or path.endswith(".tiers") for path in expand)


def _expand_of(ctx: ApiContext) -> list[str]:
    expand = ctx.raw.get("expand")
    return [path for path in expand if isinstance(path, str)] if isinstance(expand, list) else []


def _tier_object(tier: dict[str, Any]) -> Wire:
    unit = tier["unit_amount_decimal"]
    flat = tier["flat_amount_decimal"]
    return {
        "flat_amount": service.integer_amount(flat),
        "flat_amount_decimal": flat,
        "unit_amount": service.integer_amount(unit),
        "unit_amount_decimal": unit,
        "up_to": tier["up_to"],
    }


def price_object(record: Record, *, include_tiers: bool = False) -> Wire:
    """The wire shape of a price (`tiers` only when expanded, as at Stripe)."""
    # Made once per row as read (`RowMemo`); each caller gets its own top-level dict and
    # `recurring` (expand[] fills fields in), nested values shared as before.
    wire = dict(_price_shape(record))
    if wire["recurring"] is not None:
        wire["recurring"] = dict(wire["recurring"])
    if include_tiers:
        tiers = record["tiers"]
        wire["tiers"] = None if tiers is None else [_tier_object(tier) for tier in tiers]
    return wire


def _price_shape_of(record: Record) -> Wire:
    recurring = None
    if record["recurring_interval"] is not None:
        recurring = {
            "interval": record["recurring_interval"],
            "interval_count": record["recurring_interval_count"],
            "meter": None,
            "trial_period_days": record["recurring_trial_period_days"],
            "usage_type": record["recurring_usage_type"],
        }
    wire: Wire = {
        "id": record["id"],
        "object": "price",
        "active": record["active"],
        "billing_scheme": record["billing_scheme"],
        "created": record["created"],
        "currency": record["currency"],
        "custom_unit_amount": None,
        "livemode": record["livemode"],
        "lookup_key": record["lookup_key"],
        "metadata": record["metadata"],
        "nickname": record["nickname"],
        "product": record["product"],
        "recurring": recurring,
        "tax_behavior": record["tax_behavior"],
        "tiers_mode": record["tiers_mode"],
        "transform_quantity": record["transform_quantity"],
        "type": record["type"],
        "unit_amount": service.integer_amount(record["unit_amount_decimal"]),
        "unit_amount_decimal": record["unit_amount_decimal"],
    }
    return wire


_price_shape = RowMemo(_price_shape_of)


def _price_wire(
    ctx: ApiContext, records: Sequence[Record], expand: Sequence[str], *, base: str = ""
) -> list[Wire]:
    """Prices for a response, with `tiers` and `product` filled in when expanded.

    `expand[]` finds its loader by id prefix, and a client-chosen product id ("gold-plan")
    has none, so this resource expands its own `product` before the framework looks.
    """
    include_tiers = tiers_expanded(expand)
    target = f"{base}product"
    with_product = any(path == target or path.startswith(target + ".") for path in expand)
    products: dict[str, Wire] = {}
    wires = []
    for record in records:
        wire = price_object(record, include_tiers=include_tiers)
        if with_product:
            product_id = record["product"]
            if product_id not in products:
                products[product_id] = product_object(
                    product_service.retrieve_product(ctx.uow, product_id)
                )
            wire["product"] = dict(products[product_id])
        wires.append(wire)
    return wires


@route("POST", "/v1/prices", PriceCreateParams, summary="Create a price.", returns="price")
def create(ctx: ApiContext, params: PriceCreateParams) -> Wire:
    record = service.create_price(ctx.uow, given_values(params), ctx.now)
    return _price_wire(ctx, [record], params.expand)[0]


@route("GET", "/v1/prices/{price}", RetrieveParams, summary="Retrieve a price.", returns="price")
def retrieve(ctx: ApiContext, params: RetrieveParams, price: str) -> Wire:
    record = service.retrieve_price(ctx.uow, price)
    return _price_wire(ctx, [record], params.expand)[0]


@route("POST", "/v1/prices/{price}", PriceUpdateParams, summary="Update a price.", returns="price")
def update(ctx: ApiContext, params: PriceUpdateParams, price: str) -> Wire:
    changes = given_values(params, exclude=frozenset({"metadata"}))
    if params.given("metadata"):
        current = service.retrieve_price(ctx.uow, price)
        changes["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    record = service.update_price(ctx.uow, price, changes, ctx.now)
    return _price_wire(ctx, [record], params.expand)[0]


@route("GET", "/v1/prices", PriceListParams, summary="List prices.", returns="list")
def list_(ctx: ApiContext, params: PriceListParams) -> Wire:
    recurring = params.recurring
    page = service.list_prices(
        ctx.uow,
        page_request(params),
        product=params.product,
        active=params.active,
        type=params.type,
        currency=params.currency,
        lookup_keys=params.lookup_keys,
        recurring_interval=None if recurring is None else recurring.interval,
        recurring_usage_type=None if recurring is None else recurring.usage_type,
        created=created_filter(params),
    )
    data = _price_wire(ctx, page.records, params.expand, base="data.")
    return list_object("/v1/prices", data, page.has_more)


register_loader(
    "price",
    lambda ctx, object_id: price_object(
        service.retrieve_price(ctx.uow, object_id), include_tiers=tiers_expanded(_expand_of(ctx))
    ),
)
register_renderer("price", price_object)
