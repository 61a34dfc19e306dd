"""An account's billing settings: delays, notices, the payment gateway, dunning.

Stored in the account's settings document (`settings.billing`), shared by test and live
mode as an account's settings are at Stripe; read with their defaults by
`billing_settings(uow)`, changed by `update_billing_settings` (`POST /v1/billing/settings`,
a Recur extension: Stripe keeps these in its Dashboard).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from recur.domain.errors import InvalidRequest
from recur.services.stripe_settings import stripe_config
from recur.storage.repositories.accounts import AccountRepository
from recur.storage.uow import UnitOfWork

GATEWAYS: Final = ("simulated", "manual", "stripe")
# What happens once the last retry of a renewal's payment has failed.
SUBSCRIPTION_AFTER_RETRIES: Final = ("cancel", "unpaid", "past_due")
INVOICE_AFTER_RETRIES: Final = ("open", "uncollectible")
# Stripe's custom retry schedules allow up to 8 retries within 2 months.
MAX_RETRIES: Final = 8
MAX_RETRY_DAY: Final = 60
MAX_DELAY: Final = 30 * 86400


@dataclass(frozen=True, slots=True)
class BillingSettings:
    """Delays and lead times in seconds; retry days after the first failed attempt."""

    # Renewal drafts are finalized and charged this long after the period boundary.
    finalization_delay: int = 3600
    # An `incomplete` subscription whose first invoice is still unpaid then expires.
    incomplete_expiry: int = 23 * 3600
    # `customer.subscription.trial_will_end` this long before the trial ends.
    trial_will_end_lead: int = 3 * 86400
    # Who moves the money: the simulated test-card gateway, nobody (paid out of band), or
    # the account's Stripe account (services/stripe_settings.py holds its keys).
    gateway: str = "simulated"
    # Retries of a failed renewal payment, in days after the first failed attempt.
    retry_days: tuple[int, ...] = (1, 3, 5, 7)
    # After the last retry failed: cancel the subscription, mark it unpaid, or leave it
    # past_due; leave the invoice open or mark it uncollectible.
    subscription_after_retries: str = "cancel"
    invoice_after_retries: str = "open"


def billing_settings(uow: UnitOfWork) -> BillingSettings:
    """The settings of the unit of work's account (defaults where unset)."""
    account = uow.repository(AccountRepository).find_account(uow.scope.account_id)
    stored = dict((account or {}).get("settings") or {}).get("billing") or {}
    return settings_from(stored)


def settings_from(stored: Mapping[str, Any]) -> BillingSettings:
    """Settings from their stored document (defaults where unset)."""
    defaults = BillingSettings()
    retry_days = stored.get("retry_days")
    return BillingSettings(
        finalization_delay=int(stored.get("finalization_delay", defaults.finalization_delay)),
        incomplete_expiry=int(stored.get("incomplete_expiry", defaults.incomplete_expiry)),
        trial_will_end_lead=int(stored.get("trial_will_end_lead", defaults.trial_will_end_lead)),
        gateway=str(stored.get("gateway", defaults.gateway)),
        retry_days=defaults.retry_days
        if retry_days is None
        else tuple(int(day) for day in retry_days),
        subscription_after_retries=str(
            stored.get("subscription_after_retries", defaults.subscription_after_retries)
        ),
        invoice_after_retries=str(
            stored.get("invoice_after_retries", defaults.invoice_after_retries)
        ),
    )


def _seconds(value: Any, param: str, minimum: int, maximum: int) -> int:
    if not minimum <= int(value) <= maximum:
        raise InvalidRequest(
            f"{param} must be between {minimum} and {maximum} seconds.", param=param
        )
    return int(value)


def _one_of(value: Any, allowed: Sequence[str], param: str) -> str:
    if value not in allowed:
        raise InvalidRequest(f"Invalid {param}: must be one of {', '.join(allowed)}.", param=param)
    return str(value)


def _retry_days(value: Sequence[Any], param: str) -> tuple[int, ...]:
    days = tuple(int(day) for day in value)
    if len(days) > MAX_RETRIES:
        raise InvalidRequest(f"{param} can hold at most {MAX_RETRIES} retries.", param=param)
    previous = 0
    for index, day in enumerate(days):
        if not previous < day <= MAX_RETRY_DAY:
            raise InvalidRequest(
                f"{param} must be increasing days between 1 and {MAX_RETRY_DAY} after the "
                "first failed attempt.",
                param=f"{param}[{index}]",
            )
        previous = day
    return days


def update_billing_settings(uow: UnitOfWork, changes: Mapping[str, Any]) -> BillingSettings:
    """Change some settings (names as in `BillingSettings`); the others stay as they are."""
    current = billing_settings(uow)
    values: dict[str, Any] = {}
    if "finalization_delay" in changes:
        values["finalization_delay"] = _seconds(
            changes["finalization_delay"], "finalization_delay", 0, MAX_DELAY
        )
    if "incomplete_expiry" in changes:
        values["incomplete_expiry"] = _seconds(
            changes["incomplete_expiry"], "incomplete_expiry", 60, MAX_DELAY
        )
    if "trial_will_end_lead" in changes:
        values["trial_will_end_lead"] = _seconds(
            changes["trial_will_end_lead"], "notices[trial_will_end]", 0, MAX_DELAY
        )
    if "gateway" in changes:
        values["gateway"] = _one_of(changes["gateway"], GATEWAYS, "payment_gateway")
        if values["gateway"] == "stripe" and not stripe_config(uow).secret_key:
            raise InvalidRequest(
                "payment_gateway=stripe needs the account's Stripe secret key for this mode: "
                "give stripe[secret_key].",
                param="stripe[secret_key]",
            )
    if "retry_days" in changes:
        values["retry_days"] = _retry_days(changes["retry_days"], "dunning[retry_schedule]")
    if "subscription_after_retries" in changes:
        values["subscription_after_retries"] = _one_of(
            changes["subscription_after_retries"],
            SUBSCRIPTION_AFTER_RETRIES,
            "dunning[subscription_after_retries]",
        )
    if "invoice_after_retries" in changes:
        values["invoice_after_retries"] = _one_of(
            changes["invoice_after_retries"],
            INVOICE_AFTER_RETRIES,
            "dunning[invoice_after_retries]",
        )
    updated = replace(current, **values)
    repo = uow.repository(AccountRepository)
    account = repo.find_account(uow.scope.account_id) or {}
    document = dict(account.get("settings") or {})
    document["billing"] = {
        **dict(document.get("billing") or {}),
        **{
            name: list(value) if isinstance(value, tuple) else value
            for name, value in values.items()
        },
    }
    repo.update_settings(uow.scope.account_id, document)
    return updated
