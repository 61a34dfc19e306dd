"""`/v1/coupons`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    Currency,
    Dec,
    DeleteParams,
    Int,
    ListParams,
    Metadata,
    Nested,
    OptStr,
    Params,
    PositiveInt,
    RetrieveParams,
    Timestamp,
    updated_metadata,
)
from recur.domain.clock import from_unix
from recur.services import coupons as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record


class AppliesTo(Nested):
    """`applies_to`: the products the coupon is restricted to."""

    products: list[str]


class CouponCreateParams(Params):
    """`POST /v1/coupons`."""

    id: str | None = None
    amount_off: Int | None = None
    applies_to: AppliesTo | None = None
    currency: Currency | None = None
    duration: Literal["once", "repeating", "forever"] | None = None
    duration_in_months: Int | None = None
    max_redemptions: PositiveInt | None = None
    metadata: Metadata | None = None
    name: OptStr = None
    percent_off: Dec | None = None
    redeem_by: Timestamp | None = None


class CouponUpdateParams(Params):
    """`POST /v1/coupons/{coupon}`: only the name and metadata change."""

    metadata: Metadata | None = None
    name: OptStr = None


class CouponListParams(ListParams):
    """`GET /v1/coupons`."""


def wire_decimal(text: str) -> float:
    """A stored exact decimal as the JSON number Stripe sends (`25.5`).

    Only for display: the value has at most four decimals, so the float's shortest repr
    is the same text; arithmetic always uses the stored Decimal text.
    """
    return float(Decimal(text))


def applies_to_expanded(expand: Sequence[str]) -> bool:
    """Whether `expand[]` asks for coupons' `applies_to` (`applies_to`, `data.applies_to`, …).

    Stripe returns `applies_to` only when expanded, although it is no id reference;
    resources that embed coupons pass the result to `coupon_object(..., include_applies_to=)`.
    """
    return any(path == "applies_to" or path.endswith(".applies_to") for path in expand)


def coupon_object(record: Record, now: datetime, *, include_applies_to: bool = False) -> Wire:
    """The wire shape of a coupon (deleted ones too, as discounts that use them show it)."""
    wire: dict[str, Any] = {
        "id": record["id"],
        "object": "coupon",
        "amount_off": record["amount_off"],
        "created": record["created"],
        "currency": record["currency"],
        "duration": record["duration"],
        "duration_in_months": record["duration_in_months"],
        "livemode": record["livemode"],
        "max_redemptions": record["max_redemptions"],
        "metadata": record["metadata"],
        "name": record["name"],
        "percent_off": (
            None if record["percent_off"] is None else wire_decimal(record["percent_off"])
        ),
        "redeem_by": record["redeem_by"],
        "times_redeemed": record["times_redeemed"],
        "valid": service.coupon_valid(record, now),
    }
    if include_applies_to:
        products = record["applies_to_products"]
        wire["applies_to"] = None if products is None else {"products": list(products)}
    return wire


def deleted_coupon_object(record: Record) -> Wire:
    """The answer to a DELETE."""
    return {"id": record["id"], "object": "coupon", "deleted": True}


def _values(params: CouponCreateParams) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(params, name)
        for name in params.model_fields_set - {"expand", "applies_to", "metadata"}
    }
    if params.applies_to is not None:
        values["applies_to_products"] = params.applies_to.products
    values["metadata"] = params.metadata or {}
    return values


@route("POST", "/v1/coupons", CouponCreateParams, summary="Create a coupon.", returns="coupon")
def create(ctx: ApiContext, params: CouponCreateParams) -> Wire:
    record = service.create_coupon(ctx.uow, _values(params), ctx.now)
    return coupon_object(record, ctx.now, include_applies_to=applies_to_expanded(params.expand))


@route(
    "GET", "/v1/coupons/{coupon}", RetrieveParams, summary="Retrieve a coupon.", returns="coupon"
)
def retrieve(ctx: ApiContext, params: RetrieveParams, coupon: str) -> Wire:
    record = service.retrieve_coupon(ctx.uow, coupon)
    return coupon_object(record, ctx.now, include_applies_to=applies_to_expanded(params.expand))


@route(
    "POST",
    "/v1/coupons/{coupon}",
    CouponUpdateParams,
    summary="Update a coupon.",
    returns="coupon",
)
def update(ctx: ApiContext, params: CouponUpdateParams, coupon: str) -> Wire:
    current = service.retrieve_coupon(ctx.uow, coupon)
    changes: dict[str, Any] = {}
    if params.given("name"):
        changes["name"] = params.name
    if params.given("metadata"):
        changes["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    record = service.update_coupon(ctx.uow, coupon, changes, ctx.now)
    return coupon_object(record, ctx.now, include_applies_to=applies_to_expanded(params.expand))


@route(
    "DELETE",
    "/v1/coupons/{coupon}",
    DeleteParams,
    summary="Delete a coupon.",
    returns="deleted_coupon",
)
def delete(ctx: ApiContext, params: DeleteParams, coupon: str) -> Wire:
    return deleted_coupon_object(service.delete_coupon(ctx.uow, coupon, ctx.now))


@route("GET", "/v1/coupons", CouponListParams, summary="List coupons.", returns="list")
def list_(ctx: ApiContext, params: CouponListParams) -> Wire:
    page = service.list_coupons(ctx.uow, page_request(params), created=created_filter(params))
    include = applies_to_expanded(params.expand)
    return list_envelope(
        "/v1/coupons", page, lambda r: coupon_object(r, ctx.now, include_applies_to=include)
    )


def _load(ctx: ApiContext, coupon_id: str) -> Wire:
    expand = ctx.raw.get("expand")
    paths = [p for p in expand if isinstance(p, str)] if isinstance(expand, list) else []
    # Tombstones too: objects that reference a coupon keep showing it after its deletion.
    record = service.get_coupon_record(ctx.uow, coupon_id)
    return coupon_object(record, ctx.now, include_applies_to=applies_to_expanded(paths))


# Coupon ids carry no prefix (merchants choose them, or they are 8 random characters), so
# they are expanded by field name (`promotion.coupon`); the "coupon" prefix only catches
# ids a merchant happened to spell `coupon_…`.
register_loader("coupon", _load, fields=("coupon",))


def coupon_event_object(view: Mapping[str, Any]) -> Wire:
    """A coupon in an event (`services.coupons.coupon_view`)."""
    return coupon_object(view, from_unix(view["view_at"]))


register_renderer("coupon", coupon_event_object)
