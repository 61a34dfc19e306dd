"""`POST /v1/invoices/create_preview`: a subscription's next invoice, or a change's.

Registered before `invoices` (see `routes.MODULES`) so that this fixed path is matched
before any `/v1/invoices/{invoice}` route of the same method.
"""

from __future__ import annotations

from typing import Literal

from recur.api.framework import ApiContext, Wire, route
from recur.api.params import Bool, Nested, Params, Timestamp, plain
from recur.api.routes.subscriptions import (
    ChangeProrationBehavior,
    UpdateItemParams,
)
from recur.domain.errors import InvalidRequest
from recur.services import subscription_changes as service
from recur.services.events import render


class PreviewSubscriptionDetails(Nested):
    """`subscription_details`: the change to preview (as on a subscription update)."""

    items: list[UpdateItemParams] | None = None
    proration_behavior: ChangeProrationBehavior | None = None
    proration_date: Timestamp | None = None
    billing_cycle_anchor: Literal["now", "unchanged"] | None = None
    trial_end: Literal["now"] | None = None
    cancel_at: Timestamp | None = None
    cancel_at_period_end: Bool | None = None


class CreatePreviewParams(Params):
    """`POST /v1/invoices/create_preview`."""

    customer: str | None = None
    subscription: str | None = None
    subscription_details: PreviewSubscriptionDetails | None = None


@route(
    "POST",
    "/v1/invoices/create_preview",
    CreatePreviewParams,
    summary="Preview the next invoice of a subscription, or of a change of it.",
    returns="invoice",
)
def create_preview(ctx: ApiContext, params: CreatePreviewParams) -> Wire:
    if not params.subscription:
        # Stripe also previews a subscription yet to be created (customer plus
        # subscription_details.items); Recur previews existing subscriptions only.
        raise InvalidRequest(
            "Missing required param: subscription.", param="subscription", code="parameter_missing"
        )
    details = plain(params.subscription_details) if params.subscription_details else {}
    view = service.preview_invoice(
        ctx.uow, params.subscription, details, ctx.now, customer_id=params.customer
    )
    return render("invoice", view)
