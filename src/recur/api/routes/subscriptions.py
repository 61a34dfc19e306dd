"""`/v1/subscriptions`."""

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
    plain,
    updated_metadata,
)
from recur.api.routes.prices import price_object
from recur.api.routes.tax_rates import tax_rate_object
from recur.services import subscriptions as service
from recur.services.events import register_renderer
from recur.services.subscription_status import subscription_view
from recur.storage.repositories.base import Record


class PriceDataRecurring(Nested):
    """`items[][price_data][recurring]`."""

    interval: Literal["day", "week", "month", "year"]
    interval_count: Int | None = None


class ItemPriceData(Nested):
    """Inline price for an item: a new price of an existing product."""

    currency: str
    product: str
    recurring: PriceDataRecurring
    unit_amount: Int | None = None
    unit_amount_decimal: Dec | None = None
    tax_behavior: Literal["inclusive", "exclusive", "unspecified"] | None = None


class ItemParams(Nested):
    """One item of `items[]`."""

    price: str | None = None
    price_data: ItemPriceData | None = None
    quantity: NonNegInt | None = None
    tax_rates: list[str] | None = None
    metadata: Metadata | None = None


class DiscountParams(Nested):
    """One entry of `discounts[]`."""

    coupon: str | None = None
    promotion_code: str | None = None


class AnchorConfig(Nested):
    """`billing_cycle_anchor_config`: the next such moment in UTC."""

    day_of_month: Int
    hour: Int | None = None
    minute: Int | None = None
    second: Int | None = None
    month: Int | None = None


class MissingPaymentMethod(Nested):
    """`trial_settings[end_behavior]`."""

    missing_payment_method: Literal["cancel", "create_invoice", "pause"]


class TrialSettings(Nested):
    """`trial_settings`."""

    end_behavior: MissingPaymentMethod


class PauseCollection(Nested):
    """`pause_collection`: invoices keep coming, collection is suspended."""

    behavior: Literal["keep_as_draft", "mark_uncollectible", "void"]
    resumes_at: Timestamp | None = None


class CancellationDetails(Nested):
    """`cancellation_details`."""

    comment: OptStr = None
    feedback: (
        Literal[
            "customer_service",
            "low_quality",
            "missing_features",
            "other",
            "switched_service",
            "too_complex",
            "too_expensive",
            "unused",
            "",
        ]
        | None
    ) = None


TrialEnd = Literal["now"] | Timestamp


class SubscriptionCreateParams(Params):
    """`POST /v1/subscriptions`."""

    customer: str
    items: list[ItemParams]
    backdate_start_date: Timestamp | None = None
    billing_cycle_anchor: Timestamp | None = None
    billing_cycle_anchor_config: AnchorConfig | None = None
    cancel_at: Timestamp | None = None
    cancel_at_period_end: Bool | None = None
    collection_method: Literal["charge_automatically", "send_invoice"] | None = None
    coupon: str | None = None
    promotion_code: str | None = None
    days_until_due: NonNegInt | None = None
    default_payment_method: str | None = None
    default_tax_rates: list[str] | None = None
    description: OptStr = None
    discounts: list[DiscountParams] | None = None
    metadata: Metadata | None = None
    off_session: Bool | None = None
    payment_behavior: (
        Literal["allow_incomplete", "default_incomplete", "error_if_incomplete"] | None
    ) = None
    proration_behavior: Literal["create_prorations", "none", "always_invoice"] | None = None
    trial_end: TrialEnd | None = None
    trial_from_plan: Bool | None = None
    trial_period_days: NonNegInt | None = None
    trial_settings: TrialSettings | None = None
    # Recur extension (ERP billing): when each period is invoiced — at its start (Stripe's
    # behaviour), at its end (in arrears), or `invoice_days_before` days before it starts.
    invoice_timing: Literal["start", "end", "before"] | None = None
    invoice_days_before: NonNegInt | None = None


class UpdateItemParams(Nested):
    """One item of `items[]` on update: `id` changes (or `deleted` removes) an item, else adds."""

    id: str | None = None
    deleted: Bool | None = None
    clear_usage: Bool | None = None  # accepted and ignored: Recur has no metered usage
    price: str | None = None
    price_data: ItemPriceData | None = None
    quantity: NonNegInt | None = None
    tax_rates: Annotated[list[str] | None, BlankIsNone] = None
    metadata: Metadata | None = None


# Stripe's three, plus Recur's `difference_immediately` (Dodo: charge the full difference).
ChangeProrationBehavior = Literal[
    "create_prorations", "none", "always_invoice", "difference_immediately"
]
UpdatePaymentBehavior = Literal[
    "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"
]


class SubscriptionUpdateParams(Params):
    """`POST /v1/subscriptions/{id}` (item changes go through `subscription_changes`)."""

    items: list[UpdateItemParams] | None = None
    proration_behavior: ChangeProrationBehavior | None = None
    proration_date: Timestamp | None = None
    billing_cycle_anchor: Literal["now", "unchanged"] | None = None
    payment_behavior: UpdatePaymentBehavior | None = None

    cancel_at: Annotated[Timestamp | None, BlankIsNone] = None
    cancel_at_period_end: Bool | None = None
    cancellation_details: CancellationDetails | None = None
    collection_method: Literal["charge_automatically", "send_invoice"] | None = None
    days_until_due: NonNegInt | None = None
    default_payment_method: OptStr = None
    default_tax_rates: Annotated[list[str] | None, BlankIsNone] = None
    description: OptStr = None
    metadata: Metadata | None = None
    pause_collection: Annotated[PauseCollection | None, BlankIsNone] = None
    trial_end: TrialEnd | None = None


class SubscriptionListParams(ListParams):
    """`GET /v1/subscriptions`."""

    customer: str | None = None
    price: str | None = None
    status: (
        Literal[
            "active",
            "all",
            "canceled",
            "ended",
            "incomplete",
            "incomplete_expired",
            "past_due",
            "paused",
            "trialing",
            "unpaid",
        ]
        | None
    ) = None
    test_clock: str | None = None


class CancelParams(Params):
    """`DELETE /v1/subscriptions/{id}`."""

    invoice_now: Bool | None = None
    prorate: Bool | None = None
    cancellation_details: CancellationDetails | None = None


class ResumeParams(Params):
    """`POST /v1/subscriptions/{id}/resume`."""

    billing_cycle_anchor: Literal["now", "unchanged"] | None = None
    proration_behavior: Literal["create_prorations", "none", "always_invoice"] | None = None


def subscription_item_object(item: Mapping[str, Any]) -> Wire:
    """The wire shape of a subscription item (its period is its subscription's)."""
    return {
        "id": item["id"],
        "object": "subscription_item",
        "created": item["created"],
        "current_period_end": item["current_period_end"],
        "current_period_start": item["current_period_start"],
        "discounts": item["discounts"],
        "metadata": item["metadata"],
        "price": price_object(item["price"]),
        "quantity": item["quantity"],
        "subscription": item["subscription"],
        "tax_rates": [tax_rate_object(rate) for rate in item["tax_rates"]],
    }


def pending_update_object(pending: Mapping[str, Any] | None) -> Wire | None:
    """`pending_update`: the change waiting for its invoice to be paid, if any."""
    if not pending or pending.get("expires_at") is None:
        return None
    return {
        "billing_cycle_anchor": pending.get("billing_cycle_anchor"),
        "expires_at": pending["expires_at"],
        "subscription_items": [
            subscription_item_object(item) for item in pending.get("subscription_items") or []
        ],
        "trial_end": pending.get("trial_end"),
        "trial_from_plan": pending.get("trial_from_plan"),
    }


def subscription_object(view: Mapping[str, Any]) -> Wire:
    """The wire shape of a subscription (a view from `subscription_view`)."""
    details = view["cancellation_details"] or {}
    return {
        "id": view["id"],
        "object": "subscription",
        "application": None,
        "automatic_tax": {"enabled": False, "liability": None},
        "billing_cycle_anchor": view["billing_cycle_anchor"],
        "billing_cycle_anchor_config": view.get("billing_cycle_anchor_config"),
        "cancel_at": view["cancel_at"],
        "cancel_at_period_end": view["cancel_at_period_end"],
        "canceled_at": view["canceled_at"],
        "cancellation_details": {
            "comment": details.get("comment"),
            "feedback": details.get("feedback"),
            "reason": details.get("reason"),
        },
        "collection_method": view["collection_method"],
        "created": view["created"],
        "currency": view["currency"],
        # Older API versions read the period at the top level; current ones on each item.
        "current_period_end": view["current_period_end"],
        "current_period_start": view["current_period_start"],
        "customer": view["customer"],
        "days_until_due": view["days_until_due"],
        "default_payment_method": view["default_payment_method"],
        "default_source": None,
        "default_tax_rates": [tax_rate_object(rate) for rate in view["default_tax_rates"]],
        "description": view["description"],
        "discounts": [entry["id"] for entry in view["discounts"] or []],
        "ended_at": view["ended_at"],
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [subscription_item_object(item) for item in view["items"]],
            "has_more": False,
            "total_count": len(view["items"]),
            "url": f"/v1/subscription_items?subscription={view['id']}",
        },
        "latest_invoice": view["latest_invoice"],
        "livemode": view["livemode"],
        "metadata": view["metadata"],
        "next_pending_invoice_item_invoice": None,
        "pause_collection": view["pause_collection"],
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": pending_update_object(view.get("pending_update")),
        "schedule": view.get("schedule"),
        "start_date": view["start_date"],
        "status": view["status"],
        "test_clock": view["test_clock"],
        "trial_end": view["trial_end"],
        "trial_settings": view["trial_settings"]
        or {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": view["trial_start"],
        # Recur extension (not in Stripe's shape): see docs/api.md, "Recur extensions".
        "invoice_timing": view["invoice_timing"],
        "invoice_days_before": view["invoice_days_before"],
    }


def render(ctx: ApiContext, record: Record) -> Wire:
    """A stored subscription on the wire."""
    return subscription_object(subscription_view(ctx.uow, record))


@route(
    "POST",
    "/v1/subscriptions",
    SubscriptionCreateParams,
    summary="Create a subscription.",
    returns="subscription",
)
def create(ctx: ApiContext, params: SubscriptionCreateParams) -> Wire:
    values = given_values(params)
    values["items"] = [plain(item) for item in params.items]
    return render(ctx, service.create_subscription(ctx.uow, values, ctx.now))


@route(
    "GET",
    "/v1/subscriptions/{subscription}",
    RetrieveParams,
    summary="Retrieve a subscription.",
    returns="subscription",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, subscription: str) -> Wire:
    return render(ctx, service.retrieve_subscription(ctx.uow, subscription))


@route(
    "POST",
    "/v1/subscriptions/{subscription}",
    SubscriptionUpdateParams,
    summary="Update a subscription.",
    returns="subscription",
)
def update(ctx: ApiContext, params: SubscriptionUpdateParams, subscription: str) -> Wire:
    changes = given_values(params, exclude=frozenset({"metadata"}))
    if params.given("metadata"):
        current = service.retrieve_subscription(ctx.uow, subscription)
        changes["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    return render(ctx, service.update_subscription(ctx.uow, subscription, changes, ctx.now))


@route(
    "DELETE",
    "/v1/subscriptions/{subscription}",
    CancelParams,
    summary="Cancel a subscription now.",
    returns="subscription",
)
def cancel(ctx: ApiContext, params: CancelParams, subscription: str) -> Wire:
    record = service.cancel_subscription(
        ctx.uow,
        subscription,
        ctx.now,
        invoice_now=bool(params.invoice_now),
        prorate=bool(params.prorate),
        cancellation_details=plain(params.cancellation_details),
    )
    return render(ctx, record)


@route(
    "POST",
    "/v1/subscriptions/{subscription}/pause",
    RetrieveParams,
    summary="Pause a subscription (no periods, no invoices).",
    returns="subscription",
)
def pause(ctx: ApiContext, params: RetrieveParams, subscription: str) -> Wire:
    return render(ctx, service.pause_subscription(ctx.uow, subscription, ctx.now))


@route(
    "POST",
    "/v1/subscriptions/{subscription}/resume",
    ResumeParams,
    summary="Resume a paused subscription.",
    returns="subscription",
)
def resume(ctx: ApiContext, params: ResumeParams, subscription: str) -> Wire:
    record = service.resume_subscription(
        ctx.uow,
        subscription,
        ctx.now,
        billing_cycle_anchor=params.billing_cycle_anchor or "now",
        proration_behavior=params.proration_behavior,
    )
    return render(ctx, record)


@route(
    "GET",
    "/v1/subscriptions",
    SubscriptionListParams,
    summary="List subscriptions.",
    returns="list",
)
def list_(ctx: ApiContext, params: SubscriptionListParams) -> Wire:
    page = service.list_subscriptions(
        ctx.uow,
        page_request(params),
        customer=params.customer,
        price=params.price,
        status=params.status,
        test_clock=params.test_clock,
        created=created_filter(params),
    )
    return list_envelope("/v1/subscriptions", page, lambda record: render(ctx, record))


register_loader(
    "sub", lambda ctx, object_id: render(ctx, service.retrieve_subscription(ctx.uow, object_id))
)
register_renderer("subscription", subscription_object)
