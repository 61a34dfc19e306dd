"""Which gateway moves an account's money, and how this installation reaches them.

The options hang off the engine (the composition root builds one per database), not off a
process-wide global: a process may hold several installations (tests do). The simulated
gateway keeps its books in a SQLite file of its own (`simulated_ledger`), so that what it
did survives Recur's rollbacks and killed processes, as a real gateway's books would;
without one (scripts, unit tests) it keeps them in memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from recur.gateways.base import GatewayScope, PaymentGateway
from recur.gateways.manual import ManualGateway
from recur.gateways.simulated import SimulatedGateway
from recur.services.billing_settings import BillingSettings, billing_settings
from recur.storage.uow import UnitOfWork

# A pending attempt (outcome unknown) is asked about this long after it was written.
RECONCILE_AFTER: Final = 30
# A charge the gateway made that Recur has no record of this long after is an orphan (its
# transaction was rolled back or its process killed): the reconciler refunds it. Long
# enough for any transaction that could still commit it to have ended.
SWEEP_AFTER: Final = 3600


@dataclass(frozen=True, slots=True)
class PaymentOptions:
    """`simulated_ledger`: the simulated gateway's books (a path; None: in memory)."""

    simulated_ledger: str | None = None
    reconcile_after: int = RECONCILE_AFTER
    sweep_after: int = SWEEP_AFTER


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
    name = (settings or billing_settings(uow)).gateway
    if name == "manual":
        return MANUAL
    return simulated_gateway(uow.connection.engine)


def collects_automatically(uow: UnitOfWork, settings: BillingSettings | None = None) -> bool:
    """Whether the account's gateway charges invoices (False: paid out of band)."""
    return (settings or billing_settings(uow)).gateway != "manual"
