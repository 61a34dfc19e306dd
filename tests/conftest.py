"""Fixtures shared by every test: databases (SQLite and PostgreSQL), a live server, clients.

Database-backed tests run once per backend. SQLite always; PostgreSQL when
RECUR_TEST_DATABASE_URL is set (CI sets it, and there an unreachable server fails the run).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import stripe
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from recur import bootstrap
from recur.config import Settings
from recur.services import accounts
from recur.services.accounts import AccountKeys
from recur.storage.db import normalize_url
from recur.storage.migrate import upgrade
from tests.support.server import LiveServer, start_server

# Timing-based health checks make a loaded 2-core CI machine flaky; correctness is what counts.
settings.register_profile(
    "recur", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("recur")

PG_URL = os.environ.get("RECUR_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def pytest_report_header(config: pytest.Config) -> str:
    if PG_URL:
        shown = make_url(normalize_url(PG_URL)).render_as_string(hide_password=True)
        return f"recur: database tests run on SQLite and PostgreSQL ({shown})"
    return "recur: PostgreSQL tests skipped (set RECUR_TEST_DATABASE_URL to run them)"


def _fresh_postgres_database() -> tuple[str, str]:
    """Create an empty database for this test session on the PostgreSQL server."""
    admin_url = make_url(normalize_url(PG_URL))
    name = f"recur_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = (
            f"PostgreSQL at {admin_url.render_as_string(hide_password=True)} unreachable: {exc}"
        )
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    finally:
        admin.dispose()
    return admin_url.render_as_string(hide_password=False), name


def _drop_postgres_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database for this session, on each backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "recur.sqlite3"
        url = f"sqlite:///{path}"
        yield url
        return
    admin_url, name = _fresh_postgres_database()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    yield url
    _drop_postgres_database(admin_url, name)


@pytest.fixture(scope="session")
def container(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[bootstrap.Container]:
    """The composition root over the session's database, schema migrated."""
    data_dir = tmp_path_factory.mktemp("var")
    settings = Settings(database_url=database_url, data_dir=data_dir, webhook_allow_private=True)
    built = bootstrap.build(settings)
    upgrade(built.engine)
    yield built
    built.engine.dispose()


@pytest.fixture(scope="session")
def engine(container: bootstrap.Container) -> Engine:
    """The session's migrated engine."""
    return container.engine


@pytest.fixture(scope="session")
def server(container: bootstrap.Container) -> Iterator[LiveServer]:
    """A real Recur server (uvicorn) on a free loopback port."""
    live = start_server(container)
    yield live
    live.stop()


@pytest.fixture
def account(container: bootstrap.Container) -> AccountKeys:
    """A new merchant account per test: tests never see each other's objects."""
    with container.uow_factory(None) as uow:
        return accounts.create_account(uow, "Test merchant", container.clock.now())


@pytest.fixture
def client(server: LiveServer, account: AccountKeys) -> stripe.StripeClient:
    """The official Stripe SDK, pointed at the live server with a test secret key."""
    return server.stripe_client(account.test_secret_key)


@pytest.fixture
def live_client(server: LiveServer, account: AccountKeys) -> stripe.StripeClient:
    """The same account, live mode."""
    return server.stripe_client(account.live_secret_key)
