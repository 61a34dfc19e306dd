"""`recur worker` killed with SIGKILL in the middle of a billing run, then restarted.

Each subscription's renewal is one unit inside a batch transaction: a killed worker loses
its uncommitted batch, and the next one redoes it. Whatever the kill points, every due
subscription ends with exactly one invoice for its period, paid by exactly one charge,
with gapless numbers and each event written once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from recur import bootstrap
from recur.config import Settings
from recur.storage.db import normalize_url
from recur.storage.migrate import upgrade
from recur.storage.tables import idempotency_keys, invoices
from recur.storage.uow import UnitOfWorkFactory
from tests.support.seeding import (
    billing_violations,
    create_seed_account,
    due_count,
    scratch_database,
    seed_due_subscriptions,
)

SUBSCRIPTIONS = 300
# A batch big enough that the bulk run's writes stay uncommitted long enough to be seen.
BIG_BATCH = 3000
# Generous: a loaded 2-core CI machine renews a few dozen subscriptions a second.
TIMEOUT = 300.0


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: the session's has a live server's worker on it."""
    yield from scratch_database(request.param, tmp_path)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`recur worker` as an operator runs it, its output kept for failure messages."""
    recur = Path(sys.executable).parent / "recur"
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(recur), "worker"],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_for(
    condition: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str
) -> None:
    """Poll `condition` until true; fail if the worker dies or the timeout passes."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}):\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)


def invoice_count(uow_factory: UnitOfWorkFactory) -> int:
    """Invoices committed so far (every tenant)."""
    with uow_factory(None, readonly=True) as uow:
        query = select(func.count()).select_from(invoices)
        return int(uow.connection.execute(query).scalar_one())


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no handler runs, the open transaction is simply lost."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


def wait_until_looping(
    process: subprocess.Popen[bytes], log: Path, uow_factory: UnitOfWorkFactory, account: str
) -> None:
    """Wait until the worker has completed a pass (so it is past start-up, signals handled).

    The probe: a long-expired idempotency record, which every pass's purge job deletes.
    """
    key = f"probe-{uuid.uuid4().hex}"
    with uow_factory(None) as uow:
        uow.connection.execute(
            insert(idempotency_keys).values(
                account_id=account,
                livemode=False,
                key=key,
                fingerprint="probe",
                created=0,
                completed=True,
                path="/probe",
            )
        )

    def purged() -> bool:
        with uow_factory(None, readonly=True) as uow:
            query = select(func.count()).where(idempotency_keys.c.key == key)
            return uow.connection.execute(query).scalar_one() == 0

    wait_for(purged, process, log, "a complete worker pass")


def stop(
    process: subprocess.Popen[bytes], log: Path, uow_factory: UnitOfWorkFactory, account: str
) -> None:
    """SIGTERM to a running worker: it commits the work in hand and exits with status 0."""
    wait_until_looping(process, log, uow_factory, account)
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
        pytest.fail(f"the worker ignored SIGTERM:\n{log.read_text()[-4000:]}")
    assert code == 0, log.read_text()


def test_a_worker_killed_mid_run_bills_every_period_exactly_once(
    scratch_url: str, tmp_path: Path
) -> None:
    container = bootstrap.build(Settings(database_url=scratch_url, data_dir=tmp_path / "var"))
    try:
        upgrade(container.engine)
        uow_factory = container.uow_factory
        now = container.clock.now()
        account = create_seed_account(uow_factory, now)
        seeded = seed_due_subscriptions(uow_factory, account, SUBSCRIPTIONS, now)
        env = {
            "RECUR_DATABASE_URL": scratch_url,
            "RECUR_DATA_DIR": str(tmp_path / "var"),
            # Small batches: many commits, so the kills land between and inside them.
            "RECUR_WORKER_BATCH_SIZE": "7",
            "RECUR_WORKER_INTERVAL": "0.1",
        }
        log = tmp_path / "worker.log"
        # Killed as soon as a third, then two thirds, of the run has committed: the worker
        # is then inside its next batch, with invoices, charges and events uncommitted.
        for target in (SUBSCRIPTIONS // 3, 2 * SUBSCRIPTIONS // 3):
            process = start_worker(env, log)
            try:
                wait_for(
                    lambda target=target: invoice_count(uow_factory) >= target,
                    process,
                    log,
                    f"{target} invoices",
                )
            finally:
                kill(process)
            assert invoice_count(uow_factory) < SUBSCRIPTIONS, "killed too late to matter"
        process = start_worker(env, log)
        try:
            wait_for(
                lambda: due_count(uow_factory, container.clock.now()) == 0,
                process,
                log,
                "the run to finish",
            )
        finally:
            stop(process, log, uow_factory, account)
        assert billing_violations(uow_factory, seeded) == []
        assert invoice_count(uow_factory) == SUBSCRIPTIONS
    finally:
        container.engine.dispose()


def test_a_worker_killed_before_its_first_commit_loses_nothing(tmp_path: Path) -> None:
    """Killed with invoices written but not committed: the restarted worker does it all.

    PostgreSQL only: there the moment is exact (the worker holds a row lock on `invoices`,
    i.e. it has inserted some in its open transaction); SQLite shows only that some write
    transaction is open, which the first test covers anyway.
    """
    databases = scratch_database("postgresql", tmp_path)
    scratch_url = next(databases)
    container = bootstrap.build(Settings(database_url=scratch_url, data_dir=tmp_path / "var"))
    try:
        upgrade(container.engine)
        uow_factory = container.uow_factory
        now = container.clock.now()
        account = create_seed_account(uow_factory, now)
        seeded = seed_due_subscriptions(uow_factory, account, BIG_BATCH, now)
        env = {
            "RECUR_DATABASE_URL": scratch_url,
            "RECUR_DATA_DIR": str(tmp_path / "var"),
            # One batch holds the whole run, billed in bulk: its invoices are inserted, then
            # its lines, charges and events (seconds for this many) before the one commit.
            "RECUR_WORKER_BATCH_SIZE": str(BIG_BATCH),
            "RECUR_WORKER_INTERVAL": "0.1",
        }
        log = tmp_path / "worker.log"
        process = start_worker(env, log)
        try:
            wait_for(lambda: invoices_uncommitted(scratch_url), process, log, "the batch to start")
        finally:
            kill(process)
        assert invoice_count(uow_factory) == 0
        process = start_worker(env, log)
        try:
            wait_for(
                lambda: due_count(uow_factory, container.clock.now()) == 0,
                process,
                log,
                "the run to finish",
            )
        finally:
            stop(process, log, uow_factory, account)
        assert billing_violations(uow_factory, seeded) == []
    finally:
        container.engine.dispose()
        databases.close()


def invoices_uncommitted(url: str) -> bool:
    """Whether another session has written invoices in a transaction still open."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as connection:
            locks = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "JOIN pg_database d ON d.oid = l.database "
                    "WHERE d.datname = current_database() AND c.relname = 'invoices' "
                    "AND l.pid <> pg_backend_pid() AND l.mode = 'RowExclusiveLock'"
                )
            ).scalar_one()
        return int(locks) > 0
    finally:
        engine.dispose()


def test_sigterm_mid_run_exits_cleanly_and_the_next_worker_finishes(
    scratch_url: str, tmp_path: Path
) -> None:
    """SIGTERM in the middle of a run: exit status 0 soon after, nothing half-billed."""
    container = bootstrap.build(Settings(database_url=scratch_url, data_dir=tmp_path / "var"))
    try:
        upgrade(container.engine)
        uow_factory = container.uow_factory
        now = container.clock.now()
        account = create_seed_account(uow_factory, now)
        seeded = seed_due_subscriptions(uow_factory, account, 150, now)
        # The default batch size: the whole run is claimed at once, and SIGTERM must not
        # wait for all of it (the worker commits within BATCH_SECONDS and stops).
        env = {
            "RECUR_DATABASE_URL": scratch_url,
            "RECUR_DATA_DIR": str(tmp_path / "var"),
            "RECUR_WORKER_INTERVAL": "0.1",
        }
        log = tmp_path / "worker.log"
        process = start_worker(env, log)
        try:
            wait_for(lambda: invoice_count(uow_factory) > 0, process, log, "a first commit")
        finally:
            stop(process, log, uow_factory, account)
        process = start_worker(env, log)
        try:
            wait_for(
                lambda: due_count(uow_factory, container.clock.now()) == 0,
                process,
                log,
                "the run to finish",
            )
        finally:
            stop(process, log, uow_factory, account)
        assert billing_violations(uow_factory, seeded) == []
    finally:
        container.engine.dispose()


def test_a_bad_worker_setting_stops_the_worker_with_its_name(tmp_path: Path) -> None:
    recur = Path(sys.executable).parent / "recur"
    for name, value in (("RECUR_WORKER_BATCH_SIZE", "0"), ("RECUR_WORKER_INTERVAL", "soon")):
        env = {
            **os.environ,
            "RECUR_DATABASE_URL": f"sqlite:///{tmp_path / 'bad.sqlite3'}",
            "RECUR_DATA_DIR": str(tmp_path / "var"),
            name: value,
        }
        result = subprocess.run(
            [str(recur), "worker"], env=env, capture_output=True, timeout=120, check=False
        )
        assert result.returncode != 0
        assert name.encode() in result.stderr + result.stdout
