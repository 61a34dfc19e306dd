"""`/v1/subscription_schedules`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    BlankIsNone,
    Bool,
    Currency,
    Dec,
    Int,
    ListParams,
    Metadata,
    Nested,
    NonNegInt,
    OptStr,
    Params,
    PositiveInt,
    RangeFilter,
    RetrieveParams,
    Timestamp,
    given_values,
    plain,
    updated_metadata,
)
from recur.api.routes.subscriptions import DiscountParams, ItemPriceData
from recur.api.routes.tax_rates import tax_rate_object
from recur.services import subscription_schedules as service
from recur.services.events import register_renderer
from recur.services.schedule_transitions import schedule_view
from recur.storage.repositories.base import CreatedFilter, Record


class PhaseItemParams(Nested):
    """`phases[][items][]`: a recurring price (or inline `price_data`) and its quantity."""

    price: str | None = None
    price_data: ItemPriceData | None = None
    quantity: NonNegInt | None = None
    tax_rates: Annotated[list[str] | None, BlankIsNone] = None
    metadata: Metadata | None = None


class OneTimePriceData(Nested):
    """`phases[][add_invoice_items][][price_data]`: a one-time price of a product."""

    currency: Currency
    product: str
    unit_amount: Int | None = None
    unit_amount_decimal: Dec | None = None
    tax_behavior: Literal["inclusive", "exclusive", "unspecified"] | None = None


class AddInvoiceItemParams(Nested):
    """`phases[][add_invoice_items][]`: a one-time price added to the phase's first invoice."""

    price: str | None = None
    price_data: OneTimePriceData | None = None
    quantity: PositiveInt | None = None
    tax_rates: Annotated[list[str] | None, BlankIsNone] = None


class Duration(Nested):
    """`phases[][duration]`."""

    interval: Literal["day", "week", "month", "year"]
    interval_count: PositiveInt | None = None


class InvoiceSettings(Nested):
    """`invoice_settings` of a phase or of the defaults."""

    days_until_due: NonNegInt | None = None


class PhaseParams(Nested):
    """One phase of `phases[]`."""

    items: list[PhaseItemParams]
    add_invoice_items: list[AddInvoiceItemParams] | None = None
    billing_cycle_anchor: Literal["automatic", "phase_start"] | None = None
    collection_method: Literal["charge_automatically", "send_invoice"] | None = None
    coupon: str | None = None
    currency: Currency | None = None
    default_payment_method: OptStr = None
    default_tax_rates: Annotated[list[str] | None, BlankIsNone] = None
    description: OptStr = None
    discounts: Annotated[list[DiscountParams] | None, BlankIsNone] = None
    duration: Duration | None = None
    end_date: Timestamp | None = None
    invoice_settings: InvoiceSettings | None = None
    iterations: PositiveInt | None = None
    metadata: Metadata | None = None
    proration_behavior: Literal["always_invoice", "create_prorations", "none"] | None = None
    start_date: Literal["now"] | Timestamp | None = None
    trial: Bool | None = None
    trial_end: Timestamp | None = None


class DefaultSettings(Nested):
    """`default_settings`: what every phase inherits unless it sets its own."""

    billing_cycle_anchor: Literal["automatic", "phase_start"] | None = None
    collection_method: Literal["charge_automatically", "send_invoice"] | None = None
    default_payment_method: OptStr = None
    description: OptStr = None
    invoice_settings: InvoiceSettings | None = None


EndBehavior = Literal["cancel", "release"]


class ScheduleCreateParams(Params):
    """`POST /v1/subscription_schedules`."""

    customer: str | None = None
    default_settings: DefaultSettings | None = None
    end_behavior: EndBehavior | None = None
    from_subscription: str | None = None
    metadata: Metadata | None = None
    phases: list[PhaseParams] | None = None
    # Recur extension: with from_subscription and phases, how the current phase's
    # changes are prorated (as on update).
    proration_behavior: Literal["always_invoice", "create_prorations", "none"] | None = None
    start_date: Literal["now"] | Timestamp | None = None


class ScheduleUpdateParams(Params):
    """`POST /v1/subscription_schedules/{schedule}`."""

    default_settings: DefaultSettings | None = None
    end_behavior: EndBehavior | None = None
    metadata: Metadata | None = None
    phases: list[PhaseParams] | None = None
    proration_behavior: Literal["always_invoice", "create_prorations", "none"] | None = None


def _exact_or_range(value: Any) -> Any:
    """`completed_at=123` (exact) or `completed_at[gte]=…`."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return {"gte": value, "lte": value}
    return value


Range = Annotated[RangeFilter | None, BeforeValidator(_exact_or_range)]


class ScheduleListParams(ListParams):
    """`GET /v1/subscription_schedules`."""

    canceled_at: Range = None
    completed_at: Range = None
    customer: str | None = None
    released_at: Range = None
    scheduled: Bool | None = None


class ReleaseParams(Params):
    """`POST /v1/subscription_schedules/{schedule}/release`."""

    preserve_cancel_date: Bool | None = None


class CancelParams(Params):
    """`POST /v1/subscription_schedules/{schedule}/cancel`."""

    invoice_now: Bool | None = None
    prorate: Bool | None = None


def _range(value: RangeFilter | None) -> CreatedFilter | None:
    if value is None:
        return None
    return CreatedFilter(gt=value.gt, gte=value.gte, lt=value.lt, lte=value.lte)


def _phase_object(phase: Mapping[str, Any]) -> Wire:
    settings = phase["invoice_settings"]
    return {
        "add_invoice_items": [
            {
                "discounts": [],
                "metadata": {},
                "price": item["price"],
                "quantity": item["quantity"],
                "tax_rates": [tax_rate_object(rate) for rate in item["tax_rates"]],
            }
            for item in phase["add_invoice_items"]
        ],
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None},
        "billing_cycle_anchor": phase["billing_cycle_anchor"],
        "billing_thresholds": None,
        "collection_method": phase["collection_method"],
        "currency": phase["currency"],
        "default_payment_method": phase["default_payment_method"],
        "default_tax_rates": [tax_rate_object(rate) for rate in phase["default_tax_rates"]],
        "description": phase["description"],
        "discounts": [
            {"coupon": entry["coupon"], "discount": None, "promotion_code": entry["promotion_code"]}
            for entry in phase["discounts"]
        ],
        "end_date": phase["end_date"],
        "invoice_settings": None
        if settings is None
        else {
            "account_tax_ids": None,
            "days_until_due": settings.get("days_until_due"),
            "issuer": None,
        },
        "items": [
            {
                "billing_thresholds": None,
                "discounts": [],
                "metadata": item["metadata"],
                "plan": item["price"],
                "price": item["price"],
                "quantity": item["quantity"],
                "tax_rates": [tax_rate_object(rate) for rate in item["tax_rates"]],
            }
            for item in phase["items"]
        ],
        "metadata": phase["metadata"],
        "on_behalf_of": None,
        "proration_behavior": phase["proration_behavior"],
        "start_date": phase["start_date"],
        "transfer_data": None,
        "trial_end": phase["trial_end"],
    }


def schedule_object(view: Mapping[str, Any]) -> Wire:
    """The wire shape of a subscription schedule (a view from `schedule_view`)."""
    settings = view["default_settings"] or {}
    invoice_settings = settings.get("invoice_settings") or {}
    return {
        "id": view["id"],
        "object": "subscription_schedule",
        "application": None,
        "canceled_at": view["canceled_at"],
        "completed_at": view["completed_at"],
        "created": view["created"],
        "current_phase": view["current_phase"],
        "customer": view["customer"],
        "default_settings": {
            "application_fee_percent": None,
            "automatic_tax": {"enabled": False, "liability": None},
            "billing_cycle_anchor": settings.get("billing_cycle_anchor") or "automatic",
            "billing_thresholds": None,
            "collection_method": settings.get("collection_method") or "charge_automatically",
            "default_payment_method": settings.get("default_payment_method"),
            "default_source": None,
            "description": settings.get("description"),
            "invoice_settings": {
                "account_tax_ids": None,
                "days_until_due": invoice_settings.get("days_until_due"),
                "issuer": {"type": "self"},
            },
            "on_behalf_of": None,
            "transfer_data": None,
        },
        "end_behavior": view["end_behavior"],
        "livemode": view["livemode"],
        "metadata": view["metadata"],
        "phases": [_phase_object(phase) for phase in view["phases"]],
        "released_at": view["released_at"],
        "released_subscription": view["released_subscription"],
        "renewal_interval": None,
        "status": view["status"],
        "subscription": view["subscription"],
        "test_clock": view["test_clock"],
    }


def render(ctx: ApiContext, record: Record) -> Wire:
    """A stored schedule on the wire."""
    return schedule_object(schedule_view(ctx.uow, record))


def _values(params: ScheduleCreateParams | ScheduleUpdateParams) -> dict[str, Any]:
    values = given_values(params, exclude=frozenset({"phases", "metadata"}))
    if params.phases is not None:
        values["phases"] = [plain(phase) for phase in params.phases]
    return values


@route(
    "POST",
    "/v1/subscription_schedules",
    ScheduleCreateParams,
    summary="Create a subscription schedule.",
    returns="subscription_schedule",
)
def create(ctx: ApiContext, params: ScheduleCreateParams) -> Wire:
    values = _values(params)
    values["metadata"] = params.metadata or {}
    return render(ctx, service.create_schedule(ctx.uow, values, ctx.now))


@route(
    "GET",
    "/v1/subscription_schedules/{schedule}",
    RetrieveParams,
    summary="Retrieve a subscription schedule.",
    returns="subscription_schedule",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, schedule: str) -> Wire:
    return render(ctx, service.retrieve_schedule(ctx.uow, schedule))


@route(
    "POST",
    "/v1/subscription_schedules/{schedule}",
    ScheduleUpdateParams,
    summary="Update a subscription schedule (its phases are replaced).",
    returns="subscription_schedule",
)
def update(ctx: ApiContext, params: ScheduleUpdateParams, schedule: str) -> Wire:
    values = _values(params)
    if params.given("metadata"):
        current = service.retrieve_schedule(ctx.uow, schedule)
        values["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    return render(ctx, service.update_schedule(ctx.uow, schedule, values, ctx.now))


@route(
    "POST",
    "/v1/subscription_schedules/{schedule}/release",
    ReleaseParams,
    summary="Release a subscription schedule (the subscription goes on by itself).",
    returns="subscription_schedule",
)
def release(ctx: ApiContext, params: ReleaseParams, schedule: str) -> Wire:
    preserve = True if params.preserve_cancel_date is None else params.preserve_cancel_date
    record = service.release_schedule(ctx.uow, schedule, ctx.now, preserve_cancel_date=preserve)
    return render(ctx, record)


@route(
    "POST",
    "/v1/subscription_schedules/{schedule}/cancel",
    CancelParams,
    summary="Cancel a subscription schedule and its subscription now.",
    returns="subscription_schedule",
)
def cancel(ctx: ApiContext, params: CancelParams, schedule: str) -> Wire:
    record = service.cancel_schedule(
        ctx.uow,
        schedule,
        ctx.now,
        invoice_now=True if params.invoice_now is None else params.invoice_now,
        prorate=True if params.prorate is None else params.prorate,
    )
    return render(ctx, record)


@route(
    "GET",
    "/v1/subscription_schedules",
    ScheduleListParams,
    summary="List subscription schedules.",
    returns="list",
)
def list_(ctx: ApiContext, params: ScheduleListParams) -> Wire:
    page = service.list_schedules(
        ctx.uow,
        page_request(params),
        customer=params.customer,
        scheduled=params.scheduled,
        canceled_at=_range(params.canceled_at),
        completed_at=_range(params.completed_at),
        released_at=_range(params.released_at),
        created=created_filter(params),
    )
    return list_envelope("/v1/subscription_schedules", page, lambda record: render(ctx, record))


register_loader(
    "sub_sched", lambda ctx, object_id: render(ctx, service.retrieve_schedule(ctx.uow, object_id))
)
register_renderer("subscription_schedule", schedule_object)
