"""`/v1/subscription_items`: every write is a subscription change, prorated like one."""

from __future__ import annotations

from typing import Annotated, Any

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import list_envelope, page_request
from recur.api.params import (
    BlankIsNone,
    Bool,
    ListParams,
    Metadata,
    NonNegInt,
    Params,
    RetrieveParams,
    Timestamp,
    plain,
    updated_metadata,
)
from recur.api.routes.subscriptions import (
    ChangeProrationBehavior,
    ItemPriceData,
    UpdatePaymentBehavior,
    subscription_item_object,
)
from recur.services import subscription_changes as service
from recur.storage.repositories.base import Record


class ItemChangeParams(Params):
    """What creating and updating an item share."""

    price: str | None = None
    price_data: ItemPriceData | None = None
    quantity: NonNegInt | None = None
    tax_rates: Annotated[list[str] | None, BlankIsNone] = None
    metadata: Metadata | None = None
    proration_behavior: ChangeProrationBehavior | None = None
    proration_date: Timestamp | None = None
    payment_behavior: UpdatePaymentBehavior | None = None
    off_session: Bool | None = None  # accepted: every Recur charge is off-session


class ItemCreateParams(ItemChangeParams):
    """`POST /v1/subscription_items`."""

    subscription: str


class ItemUpdateParams(ItemChangeParams):
    """`POST /v1/subscription_items/{item}`."""


class ItemDeleteParams(Params):
    """`DELETE /v1/subscription_items/{item}`."""

    proration_behavior: ChangeProrationBehavior | None = None
    proration_date: Timestamp | None = None
    clear_usage: Bool | None = None  # accepted and ignored: Recur has no metered usage


class ItemListParams(ListParams):
    """`GET /v1/subscription_items`."""

    subscription: str


ITEM_FIELDS = ("price", "price_data", "quantity", "tax_rates", "metadata")


def _item_values(params: ItemChangeParams) -> dict[str, Any]:
    return {name: plain(getattr(params, name)) for name in ITEM_FIELDS if params.given(name)}


def _options(params: ItemChangeParams | ItemDeleteParams) -> service.ChangeOptions:
    values = {
        name: getattr(params, name)
        for name in ("proration_behavior", "proration_date", "payment_behavior")
        if hasattr(params, name)
    }
    return service.options_from(values)


def render(ctx: ApiContext, record: Record) -> Wire:
    """A stored subscription item on the wire."""
    return subscription_item_object(service.item_view(ctx.uow, record))


@route(
    "POST",
    "/v1/subscription_items",
    ItemCreateParams,
    summary="Add an item to a subscription.",
    returns="subscription_item",
)
def create(ctx: ApiContext, params: ItemCreateParams) -> Wire:
    record = service.create_item(
        ctx.uow, params.subscription, _item_values(params), _options(params), ctx.now
    )
    return render(ctx, record)


@route(
    "GET",
    "/v1/subscription_items/{item}",
    RetrieveParams,
    summary="Retrieve a subscription item.",
    returns="subscription_item",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, item: str) -> Wire:
    return render(ctx, service.retrieve_item(ctx.uow, item))


@route(
    "POST",
    "/v1/subscription_items/{item}",
    ItemUpdateParams,
    summary="Update a subscription item.",
    returns="subscription_item",
)
def update(ctx: ApiContext, params: ItemUpdateParams, item: str) -> Wire:
    values = _item_values(params)
    if params.given("metadata"):
        current = service.retrieve_item(ctx.uow, item)["metadata"]
        final = updated_metadata(current, params, ctx.raw)
        # The service merges key by key; removed keys travel as "" (Stripe's unset).
        values["metadata"] = {**{key: "" for key in current if key not in final}, **final}
    return render(ctx, service.update_item(ctx.uow, item, values, _options(params), ctx.now))


@route(
    "DELETE",
    "/v1/subscription_items/{item}",
    ItemDeleteParams,
    summary="Remove an item from its subscription.",
    returns="deleted_subscription_item",
)
def delete(ctx: ApiContext, params: ItemDeleteParams, item: str) -> Wire:
    record = service.delete_item(ctx.uow, item, _options(params), ctx.now)
    return {"id": record["id"], "object": "subscription_item", "deleted": True}


@route(
    "GET",
    "/v1/subscription_items",
    ItemListParams,
    summary="List a subscription's items.",
    returns="list",
)
def list_(ctx: ApiContext, params: ItemListParams) -> Wire:
    page = service.list_items(ctx.uow, page_request(params), params.subscription)
    return list_envelope(
        "/v1/subscription_items",
        page,
        lambda record: render(ctx, record),
    )


register_loader("si", lambda ctx, object_id: render(ctx, service.retrieve_item(ctx.uow, object_id)))
