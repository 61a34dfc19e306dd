"""The composition root: settings → engine → units of work → API and worker."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.applications import Starlette

from recur.api.app import create_app
from recur.api.framework import Services
from recur.api.routes import configure as configure_routes
from recur.config import Settings
from recur.domain.clock import Clock, SystemClock
from recur.services.payment_gateways import PaymentOptions, configure_payments
from recur.services.webhook_options import WebhookOptions, configure_webhooks
from recur.storage.db import make_engine
from recur.storage.migrate import upgrade
from recur.storage.uow import UnitOfWorkFactory
from recur.worker.loop import Worker, configured_jobs


@dataclass
class Container:
    """Everything a process needs, built once."""

    settings: Settings
    engine: Engine
    uow_factory: UnitOfWorkFactory
    clock: Clock

    def api_services(self) -> Services:
        """The services the HTTP API is given."""
        return Services(
            uow_factory=self.uow_factory,
            clock=self.clock,
            public_url=self.settings.resolved_public_url(),
            secret=self.settings.resolved_secret(),
        )


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Container:
    """Build the container from settings (the environment by default)."""
    settings = settings or Settings()
    # Every process renders events (the API and the worker alike): load the resources.
    configure_routes(settings.resolved_public_url())
    engine = make_engine(settings.resolved_database_url())
    configure_webhooks(engine, WebhookOptions(allow_private=settings.webhook_allow_private))
    configure_payments(
        engine,
        PaymentOptions(
            simulated_ledger=str(settings.resolved_simulated_ledger()),
            simulated_rate=settings.simulated_gateway_rate or None,
        ),
    )
    return Container(settings, engine, UnitOfWorkFactory(engine), clock or SystemClock())


def build_app(container: Container, *, migrate: bool = True) -> Starlette:
    """The ASGI app, after bringing the schema up to date."""
    if migrate:
        upgrade(container.engine)
    return create_app(container.api_services())


def make_worker(container: Container) -> Worker:
    """A worker over the container's database and clock, tuned by the settings."""
    settings = container.settings
    return Worker(
        container.uow_factory,
        container.clock,
        interval=settings.worker_interval,
        jobs=configured_jobs(batch_size=settings.worker_batch_size),
    )


def start_background_worker(container: Container) -> threading.Thread:
    """Run the worker loop in a daemon thread (embedded mode, `recur serve`)."""
    worker = make_worker(container)
    thread = threading.Thread(target=worker.run_forever, name="recur-worker", daemon=True)
    thread.start()
    return thread


def run_worker(container: Container) -> None:
    """Run the worker loop in the foreground until interrupted."""
    worker = make_worker(container)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        worker.stop.set()
