"""An account's Stripe credentials, one set per mode: secret key, webhook secret, API base.

Recur's test mode charges through a Stripe test key and live mode through a live key, so a
test subscription can never move real money: the credentials are kept per mode, in the
account's settings document (`settings.billing.stripe.test|live`), while the choice of
gateway (`payment_gateway=stripe`) is the account's, for both modes. They are written by
`POST /v1/billing/settings` (`stripe[secret_key]`, `stripe[webhook_secret]`,
`stripe[api_base]`) and never shown again in full: reads show their last four characters.

`api_base` points the gateway at another Stripe-compatible server (localstripe in tests,
a proxy): https in live mode, and — unless the installation allows private addresses
(`RECUR_WEBHOOK_ALLOW_PRIVATE`, as for webhooks) — not a loopback or private address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from recur.domain.errors import InvalidRequest
from recur.domain.webhooks import parse_url
from recur.gateways.webhooks import Resolver, TargetError, resolve_target, system_resolver
from recur.storage.repositories.accounts import AccountRepository
from recur.storage.repositories.base import Record
from recur.storage.uow import UnitOfWork

MAX_SECRET_LENGTH: Final = 255
MAX_API_BASE_LENGTH: Final = 2048
# Stripe's secret (`sk_`) and restricted (`rk_`) keys, and endpoint signing secrets.
_SECRET_KEY: Final = re.compile(r"^(?:sk|rk)_(test|live)_[A-Za-z0-9_]{1,240}$")
_WEBHOOK_SECRET: Final = re.compile(r"^whsec_[A-Za-z0-9+/=_-]{1,240}$")
FIELDS: Final = ("secret_key", "webhook_secret", "api_base")


@dataclass(frozen=True, slots=True)
class StripeConfig:
    """One mode's Stripe credentials (None: not set; `api_base` None: Stripe's own)."""

    secret_key: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    api_base: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing configured."""
        return not (self.secret_key or self.webhook_secret or self.api_base)


def mode_name(livemode: bool) -> str:
    """The key of a mode's credentials in the settings document."""
    return "live" if livemode else "test"


def config_of(account: Record | None, livemode: bool) -> StripeConfig:
    """A mode's credentials from an account row (empty if none)."""
    billing = dict((account or {}).get("settings") or {}).get("billing") or {}
    stored = (billing.get("stripe") or {}).get(mode_name(livemode)) or {}
    return StripeConfig(
        secret_key=stored.get("secret_key"),
        webhook_secret=stored.get("webhook_secret"),
        api_base=stored.get("api_base"),
    )


def stripe_config(uow: UnitOfWork) -> StripeConfig:
    """The credentials of the unit of work's account and mode (empty if none)."""
    account = uow.repository(AccountRepository).find_account(uow.scope.account_id)
    return config_of(account, uow.scope.livemode)


def last4(secret: str | None) -> str | None:
    """What is shown of a secret: its last four characters."""
    return None if not secret else secret[-4:]


def _check_secret_key(value: str, livemode: bool) -> str:
    mode = mode_name(livemode)
    match = _SECRET_KEY.match(value)
    if match is None or match.group(1) != mode or len(value) > MAX_SECRET_LENGTH:
        raise InvalidRequest(
            f"Invalid stripe[secret_key]: expected a Stripe {mode} mode secret key "
            f"(sk_{mode}_… or rk_{mode}_…) for this {mode} mode account.",
            param="stripe[secret_key]",
        )
    return value


def _check_webhook_secret(value: str) -> str:
    if _WEBHOOK_SECRET.match(value) is None or len(value) > MAX_SECRET_LENGTH:
        raise InvalidRequest(
            "Invalid stripe[webhook_secret]: expected the endpoint's signing secret (whsec_…).",
            param="stripe[webhook_secret]",
        )
    return value


def _check_api_base(value: str, livemode: bool, *, allow_private: bool, resolver: Resolver) -> str:
    param = "stripe[api_base]"
    if len(value) > MAX_API_BASE_LENGTH:
        raise InvalidRequest(
            f"Invalid {param}: must be at most {MAX_API_BASE_LENGTH} characters.", param=param
        )
    try:
        target = parse_url(value, livemode=livemode)
    except InvalidRequest as error:
        raise InvalidRequest(error.message.replace("URL", param, 1), param=param) from None
    parts = urlsplit(value)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidRequest(
            f"Invalid {param}: give the server's base URL only (no query, fragment or "
            "credentials).",
            param=param,
        )
    try:
        resolve_target(target, allow_private=allow_private, resolver=resolver)
    except TargetError as error:
        raise InvalidRequest(f"Invalid {param}: {error.message}.", param=param) from None
    return value.rstrip("/")


def update_stripe_config(
    uow: UnitOfWork,
    changes: Mapping[str, str],
    *,
    allow_private: bool = False,
    resolver: Resolver = system_resolver,
) -> StripeConfig:
    """Set (or, with "", remove) some of the mode's credentials; the others are kept."""
    livemode = uow.scope.livemode
    values: dict[str, str | None] = {}
    for name in FIELDS:
        if name not in changes:
            continue
        value = changes[name]
        if value == "":
            values[name] = None
        elif name == "secret_key":
            values[name] = _check_secret_key(value, livemode)
        elif name == "webhook_secret":
            values[name] = _check_webhook_secret(value)
        else:
            values[name] = _check_api_base(
                value, livemode, allow_private=allow_private, resolver=resolver
            )
    repo = uow.repository(AccountRepository)
    account = repo.find_account(uow.scope.account_id) or {}
    document: dict[str, Any] = dict(account.get("settings") or {})
    billing = dict(document.get("billing") or {})
    if (
        "secret_key" in values
        and values["secret_key"] is None
        and billing.get("gateway") == ("stripe")
    ):
        raise InvalidRequest(
            "The account's payment_gateway is stripe: its secret key cannot be removed; "
            "choose another payment_gateway first.",
            param="stripe[secret_key]",
        )
    stripe = dict(billing.get("stripe") or {})
    mode = {
        name: value
        for name, value in {**(stripe.get(mode_name(livemode)) or {}), **values}.items()
        if value is not None
    }
    stripe[mode_name(livemode)] = mode
    billing["stripe"] = stripe
    document["billing"] = billing
    repo.update_settings(uow.scope.account_id, document)
    return StripeConfig(mode.get("secret_key"), mode.get("webhook_secret"), mode.get("api_base"))
