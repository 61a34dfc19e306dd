"""How this installation sends webhooks: set once per database by the composition root.

The options hang off the engine (the composition root builds one per database), not off a
process-wide global: a process may hold several installations (tests do), each with its
own `RECUR_WEBHOOK_ALLOW_PRIVATE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from recur.gateways.webhooks import Resolver, system_resolver
from recur.storage.uow import UnitOfWorkFactory

# Stripe waits this long for an answer.
TIMEOUT = 15.0
# Deliveries one worker claims and sends at once (concurrently).
BATCH_SIZE = 50


@dataclass(frozen=True, slots=True)
class WebhookOptions:
    """`allow_private`: loopback and private addresses allowed (development and tests)."""

    allow_private: bool = False
    resolver: Resolver = system_resolver
    timeout: float = TIMEOUT
    batch_size: int = BATCH_SIZE


_OPTIONS: WeakKeyDictionary[Engine, WebhookOptions] = WeakKeyDictionary()


def configure_webhooks(engine: Engine, options: WebhookOptions) -> None:
    """Set the options of the installation on `engine`."""
    _OPTIONS[engine] = options


def webhook_options(uow_factory: UnitOfWorkFactory) -> WebhookOptions:
    """The installation's options (the safe defaults if none were set)."""
    return _OPTIONS.get(uow_factory.engine) or WebhookOptions()
