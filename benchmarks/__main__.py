"""Print API and billing-run throughput on SQLite and, when reachable, PostgreSQL.

BENCH_API_N (default 2000) requests of each kind; BENCH_N (default 100,000) subscriptions
in the billing run (benchmarks/billing.py: BENCH_BUDGET_S, BENCH_PROFILE_N,
BENCH_PROFILE_OUT); RECUR_BENCH_DATABASE_URL (or RECUR_TEST_DATABASE_URL) names the
PostgreSQL server to use, default the local one.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.billing import BENCH_N, bench_billing, profile_billing
from recur import bootstrap
from recur.api.forms import decode_form
from recur.config import Settings
from recur.services import accounts
from recur.storage.db import normalize_url
from recur.storage.migrate import upgrade
from tests.support.server import start_server

N = int(os.environ.get("BENCH_API_N", "2000"))
PG = os.environ.get(
    "RECUR_BENCH_DATABASE_URL",
    os.environ.get("RECUR_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)


def rate(count: int, seconds: float) -> str:
    """Requests per second, rounded for reading."""
    return f"{count / seconds:,.0f}"


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A fresh SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database, or None when the server is unreachable."""
    admin_url = make_url(normalize_url(PG))
    name = f"recur_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"postgresql: skipped ({type(exc).__name__})")
        yield None
        return
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(label: str, count: int, work: Callable[[], None]) -> None:
    """Run `work` and print its throughput."""
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    print(f"  {label}={rate(count, elapsed)}/s  ({count} in {elapsed:.2f} s)")


def bench_backend(name: str, url: str) -> None:
    """API figures for one database."""
    with tempfile.TemporaryDirectory() as data_dir:
        container = bootstrap.build(Settings(database_url=url, data_dir=Path(data_dir)))
        upgrade(container.engine)
        with container.uow_factory(None) as uow:
            keys = accounts.create_account(uow, "Bench", container.clock.now())
        server = start_server(container)
        try:
            client = server.stripe_client(keys.test_secret_key)
            print(f"{name}:")
            timed(
                "customer_creates_per_s[1 client]",
                N,
                lambda: [client.v1.customers.create(params={"name": "c"}) for _ in range(N)],
            )

            def parallel() -> None:
                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(lambda _: client.v1.customers.create(), range(N)))

            timed("customer_creates_per_s[4 clients]", N, parallel)
            pages = max(1, N // 100)
            timed(
                "list_pages_per_s[limit=100]",
                pages,
                lambda: [client.v1.customers.list(params={"limit": 100}) for _ in range(pages)],
            )
            timed(
                "retrieves_per_s",
                N,
                lambda: [client.v1.customers.list(params={"limit": 1}) for _ in range(N)],
            )
        finally:
            server.stop()
            container.engine.dispose()


def bench_decoder() -> None:
    """The form decoder alone, on a subscription-sized body."""
    body = "&".join(
        [f"items[{i}][price]=price_{i}&items[{i}][quantity]={i}" for i in range(5)]
        + [f"metadata[k{i}]=v{i}" for i in range(10)]
        + ["expand[]=latest_invoice", "customer=cus_123"]
    )
    count = 20_000
    print("decoder:")
    timed("form_decodes_per_s", count, lambda: [decode_form(body) for _ in range(count)])


def main() -> None:
    """Run every benchmark and print the figures."""
    print(f"BENCH_API_N={N} BENCH_N={BENCH_N}")
    bench_decoder()
    with sqlite_database() as url:
        bench_backend("sqlite", url)
    with sqlite_database() as url:
        bench_billing("sqlite", url, two_workers=False)
    with postgres_database() as pg_url:
        if pg_url is not None:
            bench_backend("postgresql", pg_url)
    with postgres_database() as pg_url:
        if pg_url is not None:
            bench_billing("postgresql", pg_url, two_workers=True)
    with sqlite_database() as url:
        profile_billing(url)


if __name__ == "__main__":
    main()
