"""An account's billing settings (the payments issue adds their endpoint and dunning)."""

from __future__ import annotations

from dataclasses import dataclass

from recur.storage.repositories.accounts import AccountRepository
from recur.storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class BillingSettings:
    """Delays and lead times, in seconds."""

    # Renewal drafts are finalized and charged this long after the period boundary.
    finalization_delay: int = 3600
    # An `incomplete` subscription whose first invoice is still unpaid then expires.
    incomplete_expiry: int = 23 * 3600
    # `customer.subscription.trial_will_end` this long before the trial ends.
    trial_will_end_lead: int = 3 * 86400


def billing_settings(uow: UnitOfWork) -> BillingSettings:
    """The settings of the unit of work's account (defaults where unset)."""
    account = uow.repository(AccountRepository).find_account(uow.scope.account_id)
    stored = dict((account or {}).get("settings") or {}).get("billing") or {}
    defaults = BillingSettings()
    return BillingSettings(
        finalization_delay=int(stored.get("finalization_delay", defaults.finalization_delay)),
        incomplete_expiry=int(stored.get("incomplete_expiry", defaults.incomplete_expiry)),
        trial_will_end_lead=int(stored.get("trial_will_end_lead", defaults.trial_will_end_lead)),
    )
