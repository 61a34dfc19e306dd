"""`/v1/tax_rates`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    BlankIsNone,
    Bool,
    Dec,
    ListParams,
    Metadata,
    OptStr,
    Params,
    RetrieveParams,
    given_values,
    updated_metadata,
)
from recur.api.routes.coupons import wire_decimal
from recur.services import tax_rates as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record
from recur.storage.rows import RowMemo

# Stripe's `tax_type` values (stripe-python 16, API 2025-09-30).
TaxType = Literal[
    "admissions_tax",
    "amusement_tax",
    "attendance_tax",
    "communications_tax",
    "digital_excise_tax",
    "entertainment_tax",
    "get_fund",
    "gross_receipts_tax",
    "gst",
    "hospitality_tax",
    "hst",
    "igst",
    "jct",
    "lease_tax",
    "luxury_tax",
    "mass_transit_parking_tax",
    "nhil",
    "parking_tax",
    "pst",
    "qst",
    "resort_tax",
    "retail_delivery_fee",
    "rst",
    "sales_tax",
    "service_tax",
    "tourism_tax",
    "utility_users_tax",
    "vat",
]


class TaxRateCreateParams(Params):
    """`POST /v1/tax_rates`."""

    display_name: str
    inclusive: Bool
    percentage: Dec
    active: Bool | None = None
    country: OptStr = None
    description: OptStr = None
    jurisdiction: OptStr = None
    metadata: Metadata | None = None
    state: OptStr = None
    tax_type: Annotated[TaxType | None, BlankIsNone] = None


class TaxRateUpdateParams(Params):
    """`POST /v1/tax_rates/{tax_rate}`: `percentage` and `inclusive` are immutable."""

    active: Bool | None = None
    country: OptStr = None
    description: OptStr = None
    display_name: OptStr = None
    jurisdiction: OptStr = None
    metadata: Metadata | None = None
    state: OptStr = None
    tax_type: Annotated[TaxType | None, BlankIsNone] = None


class TaxRateListParams(ListParams):
    """`GET /v1/tax_rates`."""

    active: Bool | None = None
    inclusive: Bool | None = None


def tax_rate_object(record: Record) -> Wire:
    """The wire shape of a tax rate (made once per row as read; a fresh dict each call)."""
    return dict(_tax_rate_shape(record))


def _tax_rate_shape_of(record: Record) -> Wire:
    percentage = wire_decimal(record["percentage"])
    return {
        "id": record["id"],
        "object": "tax_rate",
        "active": record["active"],
        "country": record["country"],
        "created": record["created"],
        "description": record["description"],
        "display_name": record["display_name"],
        # A manual rate always applies in full: what is effective is the percentage itself.
        "effective_percentage": percentage,
        "flat_amount": None,
        "inclusive": record["inclusive"],
        "jurisdiction": record["jurisdiction"],
        "jurisdiction_level": None,
        "livemode": record["livemode"],
        "metadata": record["metadata"],
        "percentage": percentage,
        "rate_type": "percentage",
        "state": record["state"],
        "tax_type": record["tax_type"],
    }


_tax_rate_shape = RowMemo(_tax_rate_shape_of)


@route(
    "POST", "/v1/tax_rates", TaxRateCreateParams, summary="Create a tax rate.", returns="tax_rate"
)
def create(ctx: ApiContext, params: TaxRateCreateParams) -> Wire:
    values: dict[str, Any] = given_values(params, exclude=frozenset({"metadata"}))
    values["metadata"] = params.metadata or {}
    return tax_rate_object(service.create_tax_rate(ctx.uow, values, ctx.now))


@route(
    "GET",
    "/v1/tax_rates/{tax_rate}",
    RetrieveParams,
    summary="Retrieve a tax rate.",
    returns="tax_rate",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, tax_rate: str) -> Wire:
    return tax_rate_object(service.retrieve_tax_rate(ctx.uow, tax_rate))


@route(
    "POST",
    "/v1/tax_rates/{tax_rate}",
    TaxRateUpdateParams,
    summary="Update a tax rate.",
    returns="tax_rate",
)
def update(ctx: ApiContext, params: TaxRateUpdateParams, tax_rate: str) -> Wire:
    current = service.retrieve_tax_rate(ctx.uow, tax_rate)
    changes: dict[str, Any] = given_values(params, exclude=frozenset({"metadata"}))
    if params.given("metadata"):
        changes["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    return tax_rate_object(service.update_tax_rate(ctx.uow, tax_rate, changes, ctx.now))


@route("GET", "/v1/tax_rates", TaxRateListParams, summary="List tax rates.", returns="list")
def list_(ctx: ApiContext, params: TaxRateListParams) -> Wire:
    page = service.list_tax_rates(
        ctx.uow,
        page_request(params),
        active=params.active,
        inclusive=params.inclusive,
        created=created_filter(params),
    )
    return list_envelope("/v1/tax_rates", page, tax_rate_object)


register_loader(
    "txr", lambda ctx, object_id: tax_rate_object(service.retrieve_tax_rate(ctx.uow, object_id))
)
register_renderer("tax_rate", tax_rate_object)
