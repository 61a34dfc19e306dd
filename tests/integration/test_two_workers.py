"""Two worker processes over the same due set on PostgreSQL never bill a subscription twice.

Each process has its own engine and runs the worker's billing job until nothing is left to
claim; `FOR UPDATE SKIP LOCKED` hands them disjoint batches. (SQLite has one writer at a
time and is meant for one process: the test is PostgreSQL only.)
"""

from __future__ import annotations

import multiprocessing
import queue
from pathlib import Path

import pytest

from recur import bootstrap
from recur.config import Settings
from recur.storage.migrate import upgrade
from tests.support.seeding import (
    PG_URL,
    billing_violations,
    create_seed_account,
    drain_process,
    due_count,
    scratch_database,
    seed_due_subscriptions,
)

SUBSCRIPTIONS = 400
BATCH_SIZE = 10
TIMEOUT = 600

pytestmark = pytest.mark.skipif(not PG_URL, reason="two workers need PostgreSQL")


def test_two_workers_share_the_run_and_bill_each_subscription_once(tmp_path: Path) -> None:
    databases = scratch_database("postgresql", tmp_path)
    url = next(databases)
    container = bootstrap.build(Settings(database_url=url, data_dir=tmp_path / "var"))
    try:
        upgrade(container.engine)
        now = container.clock.now()
        account = create_seed_account(container.uow_factory, now)
        seeded = seed_due_subscriptions(container.uow_factory, account, SUBSCRIPTIONS, now)
        context = multiprocessing.get_context("spawn")
        # Both start claiming together, once each has built its engine.
        start = context.Barrier(2)
        results = context.Queue()
        workers = [
            context.Process(target=drain_process, args=(url, BATCH_SIZE, start, results))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        claimed: dict[int, int] = {}
        try:
            for _ in workers:
                try:
                    pid, count, _started, _finished = results.get(timeout=TIMEOUT)
                except queue.Empty:
                    pytest.fail("a worker process did not finish in time")
                claimed[pid] = count
        finally:
            for worker in workers:
                worker.join(timeout=60)
                if worker.is_alive():
                    worker.kill()
                    worker.join(timeout=30)
        assert [worker.exitcode for worker in workers] == [0, 0]
        assert due_count(container.uow_factory, container.clock.now()) == 0
        assert billing_violations(container.uow_factory, seeded) == []
        # Each claimed some, and between them exactly the due set: none twice.
        assert len(claimed) == 2 and all(count > 0 for count in claimed.values()), claimed
        assert sum(claimed.values()) == SUBSCRIPTIONS
    finally:
        container.engine.dispose()
        databases.close()
