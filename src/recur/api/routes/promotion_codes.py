"""`/v1/promotion_codes`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from recur.api.errors import invalid_param
from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    Bool,
    Currency,
    ListParams,
    Metadata,
    Nested,
    Params,
    PositiveInt,
    RetrieveParams,
    Timestamp,
    updated_metadata,
)
from recur.api.routes.coupons import applies_to_expanded, coupon_object
from recur.domain.clock import from_unix
from recur.services import coupons as coupon_service
from recur.services import promotion_codes as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record


class Promotion(Nested):
    """`promotion`: what the code redeems (API 2025-09-30 and later)."""

    type: Literal["coupon"]
    coupon: str | None = None


class Restrictions(Nested):
    """`restrictions` on who may redeem the code and for what amount."""

    first_time_transaction: Bool | None = None
    minimum_amount: PositiveInt | None = None
    minimum_amount_currency: Currency | None = None


class PromotionCodeCreateParams(Params):
    """`POST /v1/promotion_codes` (`promotion[coupon]`, or the older top-level `coupon`)."""

    active: Bool | None = None
    code: str | None = None
    coupon: str | None = None
    customer: str | None = None
    expires_at: Timestamp | None = None
    max_redemptions: PositiveInt | None = None
    metadata: Metadata | None = None
    promotion: Promotion | None = None
    restrictions: Restrictions | None = None


class PromotionCodeUpdateParams(Params):
    """`POST /v1/promotion_codes/{promotion_code}`."""

    active: Bool | None = None
    metadata: Metadata | None = None


class PromotionCodeListParams(ListParams):
    """`GET /v1/promotion_codes`."""

    active: Bool | None = None
    code: str | None = None
    coupon: str | None = None
    customer: str | None = None


def promotion_code_object(
    record: Record,
    coupon: Record,
    now: datetime,
    *,
    include_applies_to: bool = False,
) -> Wire:
    """The wire shape of a promotion code.

    Both shapes at once: the current API's `promotion {type, coupon}` (the coupon an id,
    expandable) and the older top-level `coupon` object that earlier API versions and
    SDKs read.
    """
    return {
        "id": record["id"],
        "object": "promotion_code",
        "active": service.promotion_code_active(record, coupon, now),
        "code": record["code"],
        "coupon": coupon_object(coupon, now, include_applies_to=include_applies_to),
        "created": record["created"],
        "customer": record["customer"],
        "customer_account": None,
        "expires_at": record["expires_at"],
        "livemode": record["livemode"],
        "max_redemptions": record["max_redemptions"],
        "metadata": record["metadata"],
        "promotion": {"type": "coupon", "coupon": record["coupon"]},
        "restrictions": {
            "first_time_transaction": record["first_time_transaction"],
            "minimum_amount": record["minimum_amount"],
            "minimum_amount_currency": record["minimum_amount_currency"],
        },
        "times_redeemed": record["times_redeemed"],
    }


def _render(ctx: ApiContext, record: Record, expand: Sequence[str]) -> Wire:
    coupon = coupon_service.get_coupon_record(ctx.uow, record["coupon"])
    return promotion_code_object(
        record,
        coupon,
        ctx.now,
        include_applies_to=applies_to_expanded(expand),
    )


def _coupon_id(params: PromotionCodeCreateParams) -> tuple[str, str]:
    """The coupon to redeem and the parameter that named it."""
    nested = params.promotion.coupon if params.promotion is not None else None
    if params.coupon is not None and nested is not None and params.coupon != nested:
        raise invalid_param(
            "coupon and promotion[coupon] name different coupons; send only promotion[coupon].",
            "coupon",
        )
    if nested is not None:
        return nested, "promotion[coupon]"
    if params.coupon is not None:
        return params.coupon, "coupon"
    raise invalid_param(
        "Missing required param: promotion[coupon].",
        "promotion[coupon]",
        code="parameter_missing",
    )


@route(
    "POST",
    "/v1/promotion_codes",
    PromotionCodeCreateParams,
    summary="Create a promotion code.",
    returns="promotion_code",
)
def create(ctx: ApiContext, params: PromotionCodeCreateParams) -> Wire:
    coupon_id, coupon_param = _coupon_id(params)
    values: dict[str, Any] = {
        "coupon": coupon_id,
        "code": params.code,
        "customer": params.customer,
        "expires_at": params.expires_at,
        "max_redemptions": params.max_redemptions,
        "metadata": params.metadata or {},
    }
    if params.active is not None:
        values["active"] = params.active
    if params.restrictions is not None:
        r = params.restrictions
        values["first_time_transaction"] = bool(r.first_time_transaction)
        values["minimum_amount"] = r.minimum_amount
        values["minimum_amount_currency"] = r.minimum_amount_currency
    record = service.create_promotion_code(ctx.uow, values, ctx.now, coupon_param=coupon_param)
    return _render(ctx, record, params.expand)


@route(
    "GET",
    "/v1/promotion_codes/{promotion_code}",
    RetrieveParams,
    summary="Retrieve a promotion code.",
    returns="promotion_code",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, promotion_code: str) -> Wire:
    record = service.retrieve_promotion_code(ctx.uow, promotion_code)
    return _render(ctx, record, params.expand)


@route(
    "POST",
    "/v1/promotion_codes/{promotion_code}",
    PromotionCodeUpdateParams,
    summary="Update a promotion code.",
    returns="promotion_code",
)
def update(ctx: ApiContext, params: PromotionCodeUpdateParams, promotion_code: str) -> Wire:
    current = service.retrieve_promotion_code(ctx.uow, promotion_code)
    changes: dict[str, Any] = {}
    if params.given("active"):
        if params.active is None:
            raise invalid_param("active cannot be unset.", "active")
        changes["active"] = params.active
    if params.given("metadata"):
        changes["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    record = service.update_promotion_code(ctx.uow, promotion_code, changes, ctx.now)
    return _render(ctx, record, params.expand)


@route(
    "GET",
    "/v1/promotion_codes",
    PromotionCodeListParams,
    summary="List promotion codes.",
    returns="list",
)
def list_(ctx: ApiContext, params: PromotionCodeListParams) -> Wire:
    page = service.list_promotion_codes(
        ctx.uow,
        page_request(params),
        ctx.now,
        active=params.active,
        code=params.code,
        coupon=params.coupon,
        customer=params.customer,
        created=created_filter(params),
    )
    return list_envelope(
        "/v1/promotion_codes", page, lambda record: _render(ctx, record, params.expand)
    )


def _load(ctx: ApiContext, object_id: str) -> Wire:
    return _render(ctx, service.retrieve_promotion_code(ctx.uow, object_id), [])


register_loader("promo", _load)


def promotion_code_event_object(view: Mapping[str, Any]) -> Wire:
    """A promotion code in an event (`services.promotion_codes.promotion_code_view`)."""
    return promotion_code_object(view, view["coupon_record"], from_unix(view["view_at"]))


register_renderer("promotion_code", promotion_code_event_object)
