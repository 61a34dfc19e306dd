"""`/v1/billing/settings` (Recur extension): the account's payment gateway, delays, dunning.

Stripe keeps these in its Dashboard (Billing → Revenue recovery, subscription settings);
Recur serves them as one object of the account, shared by test and live mode — except the
Stripe gateway's credentials (`stripe[…]`), which are per mode and write-only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from recur.api.framework import ApiContext, Wire, route
from recur.api.gateway_webhooks import stripe_webhook_url
from recur.api.params import Int, Nested, NonNegInt, Params, RetrieveParams
from recur.services import billing_settings as service
from recur.services import stripe_settings
from recur.services.billing_settings import BillingSettings
from recur.services.stripe_settings import StripeConfig, last4
from recur.services.webhook_options import webhook_options


def _blank_is_empty(value: Any) -> Any:
    # `dunning[retry_schedule]=` (empty): no retries at all.
    return [] if value == "" else value


class DunningParams(Nested):
    """`dunning`: the retry schedule and what happens after the last retry."""

    retry_schedule: Annotated[list[Int] | None, BeforeValidator(_blank_is_empty)] = Field(
        default=None, max_length=8
    )
    subscription_after_retries: Literal["cancel", "unpaid", "past_due"] | None = None
    invoice_after_retries: Literal["open", "uncollectible"] | None = None


class NoticesParams(Nested):
    """`notices`: how long before an event its notice is sent (seconds)."""

    trial_will_end: NonNegInt | None = None


class StripeParams(Nested):
    """`stripe`: this mode's Stripe credentials (write-only: reads show the last four
    characters). An empty value removes one; `api_base` empty is Stripe's own API."""

    secret_key: str | None = Field(default=None, max_length=255)
    webhook_secret: str | None = Field(default=None, max_length=255)
    api_base: str | None = Field(default=None, max_length=2048)


class BillingSettingsParams(Params):
    """`POST /v1/billing/settings`: only the settings given change."""

    payment_gateway: Literal["simulated", "manual", "stripe"] | None = None
    stripe: StripeParams | None = None
    finalization_delay: NonNegInt | None = None
    incomplete_expiry: NonNegInt | None = None
    notices: NoticesParams | None = None
    dunning: DunningParams | None = None


def stripe_object(config: StripeConfig, account_id: str, public_url: str) -> Wire | None:
    """This mode's Stripe credentials as shown: never a secret, only its last four."""
    if config.empty:
        return None
    return {
        "secret_key_last4": last4(config.secret_key),
        "webhook_secret_last4": last4(config.webhook_secret),
        "api_base": config.api_base,
        "webhook_url": stripe_webhook_url(public_url, account_id),
    }


def settings_object(settings: BillingSettings, livemode: bool, stripe: Wire | None = None) -> Wire:
    """The wire shape of an account's billing settings."""
    return {
        "object": "billing_settings",
        "livemode": livemode,
        "payment_gateway": settings.gateway,
        "stripe": stripe,
        "finalization_delay": settings.finalization_delay,
        "incomplete_expiry": settings.incomplete_expiry,
        "notices": {"trial_will_end": settings.trial_will_end_lead},
        "dunning": {
            "retry_schedule": list(settings.retry_days),
            "subscription_after_retries": settings.subscription_after_retries,
            "invoice_after_retries": settings.invoice_after_retries,
        },
    }


@route(
    "GET",
    "/v1/billing/settings",
    RetrieveParams,
    summary="Retrieve the account's billing settings (Recur extension).",
    returns="billing_settings",
)
def retrieve(ctx: ApiContext, params: RetrieveParams) -> Wire:
    return _shown(ctx, service.billing_settings(ctx.uow))


def _shown(ctx: ApiContext, settings: BillingSettings) -> Wire:
    stripe = stripe_object(
        stripe_settings.stripe_config(ctx.uow), ctx.scope.account_id, ctx.services.public_url
    )
    return settings_object(settings, ctx.uow.scope.livemode, stripe)


@route(
    "POST",
    "/v1/billing/settings",
    BillingSettingsParams,
    summary="Update the account's billing settings (Recur extension).",
    returns="billing_settings",
)
def update(ctx: ApiContext, params: BillingSettingsParams) -> Wire:
    if params.stripe is not None:
        given = {
            name: value
            for name in stripe_settings.FIELDS
            if (value := getattr(params.stripe, name)) is not None
        }
        if given:
            stripe_settings.update_stripe_config(
                ctx.uow,
                given,
                allow_private=webhook_options(ctx.services.uow_factory).allow_private,
            )
    changes: dict[str, Any] = {}
    if params.payment_gateway is not None:
        changes["gateway"] = params.payment_gateway
    for name in ("finalization_delay", "incomplete_expiry"):
        if getattr(params, name) is not None:
            changes[name] = getattr(params, name)
    if params.notices is not None and params.notices.trial_will_end is not None:
        changes["trial_will_end_lead"] = params.notices.trial_will_end
    dunning = params.dunning
    if dunning is not None:
        if dunning.retry_schedule is not None:
            changes["retry_days"] = dunning.retry_schedule
        if dunning.subscription_after_retries is not None:
            changes["subscription_after_retries"] = dunning.subscription_after_retries
        if dunning.invoice_after_retries is not None:
            changes["invoice_after_retries"] = dunning.invoice_after_retries
    settings = service.update_billing_settings(ctx.uow, changes)
    return _shown(ctx, settings)
