"""Which gateway moves an account's money, and how this installation reaches them.

The options hang off the engine (the composition root builds one per database), not off a
process-wide global: a process may hold several installations (tests do). The simulated
gateway keeps its books in a SQLite file of its own (`simulated_ledger`), so that what it
did survives Recur's rollbacks and killed processes, as a real gateway's books would;
without one (scripts, unit tests) it keeps them in memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from recur.gateways.base import GatewayScope, PaymentGateway
from recur.gateways.manual import ManualGateway
from recur.gateways.simulated import SimulatedGateway
from recur.gateways.stripe import READ_TIMEOUT, StripeGateway, UnconfiguredStripe
from recur.services.billing_settings import BillingSettings, billing_settings
from recur.services.stripe_settings import mode_name, stripe_config
from recur.storage.uow import UnitOfWork

# A pending attempt (outcome unknown) is asked about this long after it was written.
RECONCILE_AFTER: Final = 30
# A charge the gateway made that Recur has no record of this long after is an orphan (its
# transaction was rolled back or its process killed): the reconciler refunds it. Long
# enough for any transaction that could still commit it to have ended.
SWEEP_AFTER: Final = 3600


@dataclass(frozen=True, slots=True)
class PaymentOptions:
    """`simulated_ledger`: the simulated gateway's books (a path; None: in memory);
    `simulated_rate`: charges per second the simulated gateway accepts (None: no limit)."""

    simulated_ledger: str | None = None
    reconcile_after: int = RECONCILE_AFTER
    sweep_after: int = SWEEP_AFTER
    simulated_rate: float | None = None
    # Seconds the Stripe gateway waits for Stripe's answer once a request was sent.
    stripe_timeout: float = READ_TIMEOUT


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A gateway's pace: `rate` calls a second, `burst` at once, shared by every worker
    charging through the same `key` (one Stripe account, one simulated gateway)."""

    key: str
    rate: float
    burst: float


_OPTIONS: WeakKeyDictionary[Engine, PaymentOptions] = WeakKeyDictionary()
_SIMULATED: WeakKeyDictionary[Engine, SimulatedGateway] = WeakKeyDictionary()
_LOCK = threading.Lock()
MANUAL: Final = ManualGateway()


def configure_payments(engine: Engine, options: PaymentOptions) -> None:
    """Set the payment options of the installation on `engine`."""
    with _LOCK:
        _OPTIONS[engine] = options
        previous = _SIMULATED.pop(engine, None)
    if previous is not None:
        previous.close()


def payment_options(engine: Engine) -> PaymentOptions:
    """The installation's options (defaults if none were set)."""
    return _OPTIONS.get(engine) or PaymentOptions()


def simulated_gateway(engine: Engine) -> SimulatedGateway:
    """The installation's simulated gateway (one per engine and process)."""
    with _LOCK:
        gateway = _SIMULATED.get(engine)
        if gateway is None:
            gateway = SimulatedGateway(payment_options(engine).simulated_ledger)
            _SIMULATED[engine] = gateway
        return gateway


def gateway_scope(uow: UnitOfWork) -> GatewayScope:
    """The account and mode a gateway call is made for."""
    return GatewayScope(uow.scope.account_id, uow.scope.livemode)


def gateway_for(uow: UnitOfWork, settings: BillingSettings | None = None) -> PaymentGateway:
    """The gateway of the unit of work's account (its billing settings say which)."""
    return gateway_named(uow, (settings or billing_settings(uow)).gateway)


def gateway_named(uow: UnitOfWork, name: str | None) -> PaymentGateway:
    """A gateway by name, for the unit of work's account and mode: the one that made a
    charge (`charges.gateway`) is the one asked about it and to refund it."""
    if name == "manual":
        return MANUAL
    if name == "stripe":
        return stripe_gateway(uow)
    return simulated_gateway(uow.connection.engine)


def gateway_of_method(
    uow: UnitOfWork, method: Mapping[str, Any], settings: BillingSettings | None = None
) -> PaymentGateway:
    """The gateway that charges a payment method: the one it was mirrored to (it lives
    there), else the account's."""
    return gateway_named(uow, method.get("gateway") or (settings or billing_settings(uow)).gateway)


def stripe_gateway(uow: UnitOfWork) -> PaymentGateway:
    """The account's Stripe account for the unit of work's mode (its key decides which)."""
    config = stripe_config(uow)
    if not config.secret_key:
        return UnconfiguredStripe(mode_name(uow.scope.livemode))
    timeout = payment_options(uow.connection.engine).stripe_timeout
    return _stripe_client(config.secret_key, config.api_base, timeout)


@lru_cache(maxsize=256)
def _stripe_client(secret_key: str, api_base: str | None, timeout: float) -> StripeGateway:
    # One client (and its connection pool) per key, shared by the threads of the process.
    return StripeGateway(secret_key, api_base=api_base, timeout=timeout)


def rate_limit_for(uow: UnitOfWork, settings: BillingSettings | None = None) -> RateLimit | None:
    """The pace at which collection may call the account's gateway (None: unlimited)."""
    name = (settings or billing_settings(uow)).gateway
    if name == "simulated":
        rate = payment_options(uow.connection.engine).simulated_rate
        return None if rate is None else RateLimit("simulated", rate, max(rate, 1.0))
    if name == "stripe":
        key = stripe_config(uow).secret_key
        if not key:
            return None
        # Stripe allows about 100 requests a second in live mode, 25 in test mode
        # (docs.stripe.com/rate-limits), per Stripe account: per key here.
        rate = 100.0 if uow.scope.livemode else 25.0
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return RateLimit(f"stripe:{digest}", rate, rate)
    return None


def collects_automatically(uow: UnitOfWork, settings: BillingSettings | None = None) -> bool:
    """Whether the account's gateway charges invoices (False: paid out of band)."""
    return (settings or billing_settings(uow)).gateway != "manual"
