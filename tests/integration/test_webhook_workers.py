"""Workers delivering webhooks: killed mid-delivery, leases, two at once.

A worker leases a delivery in one short transaction, sends it with no transaction open,
and records the outcome in another. Killed in between, it leaves the lease to expire: the
delivery is sent again (the receiver sees the same `webhook-id` twice, its dedup key), and
the attempt whose answer was lost is listed as `unknown`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from recur import bootstrap
from recur.domain.clock import FrozenClock, to_unix
from recur.domain.tenancy import Scope
from recur.services import accounts
from recur.services.events import list_events
from recur.services.webhook_delivery import LEASE, deliver_webhooks, fan_out_events
from recur.services.webhook_endpoints import create_webhook_endpoint, list_webhook_attempts
from recur.services.webhook_options import WebhookOptions
from recur.storage.repositories.base import PageRequest
from recur.storage.repositories.webhooks import WebhookOutbox
from recur.storage.tables import webhook_deliveries
from tests.support.webhooks import HALF, Receiver, record_test_event, scratch_container


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`recur worker` as an operator runs it (as in test_worker_crash), output kept."""
    recur = Path(sys.executable).parent / "recur"
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(recur), "worker"],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no handler runs, nothing more is written."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


@pytest.fixture(params=["sqlite", "postgresql"])
def installation(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[bootstrap.Container]:
    yield from scratch_container(request.param, tmp_path, webhook_allow_private=True)


def test_a_worker_killed_before_recording_a_200_redelivers(
    installation: bootstrap.Container, tmp_path: Path
) -> None:
    uow_factory = installation.uow_factory
    now = installation.clock.now()
    with uow_factory(None) as uow:
        keys = accounts.create_account(uow, "Merchant", now)
    scope = Scope(keys.account, False)
    calls = iter([HALF])
    # The first request gets "200 OK" and its headers, then nothing until the worker is dead;
    # the next ones a plain 200.
    receiver = Receiver(lambda _: next(calls, 200))
    try:
        with uow_factory(scope) as uow:
            endpoint = create_webhook_endpoint(
                uow,
                {"url": receiver.url, "enabled_events": ["*"]},
                now,
                WebhookOptions(allow_private=True),
            )
        record_test_event(uow_factory, scope, "thing.happened", now, id="th_1")
        with uow_factory(scope, readonly=True) as uow:
            event_id = list_events(uow, PageRequest(limit=1)).records[0]["id"]

        env = {
            "RECUR_DATABASE_URL": str(installation.settings.database_url),
            "RECUR_DATA_DIR": str(tmp_path / "var"),
            "RECUR_WEBHOOK_ALLOW_PRIVATE": "1",
            "RECUR_WORKER_INTERVAL": "0.1",
        }
        log = tmp_path / "worker.log"
        process = start_worker(env, log)
        try:
            receiver.wait_for(lambda got: len(got) == 1, "the worker's first request")
        except AssertionError as error:
            raise AssertionError(f"{error}\nworker log:\n{log.read_text()[-4000:]}") from None
        finally:
            kill(process)
        receiver.release.set()

        with uow_factory(None, readonly=True) as uow:
            (delivery,) = uow.connection.execute(select(webhook_deliveries)).mappings()
        assert delivery["status"] == "pending" and delivery["lease"] is not None
        assert delivery["attempts"] == 1
        with uow_factory(scope, readonly=True) as uow:
            assert list_webhook_attempts(uow, endpoint["id"], PageRequest()).records == []

        # The lease runs out (a clock moved past it): the next worker pass sends it again.
        later = FrozenClock(installation.clock.now() + timedelta(seconds=LEASE + 1))
        assert deliver_webhooks(uow_factory, later) == 1
        first, second = receiver.wait_for(lambda got: len(got) == 2, "the redelivery")
        assert first.event_id == second.event_id == event_id
        assert first.body == second.body
        second.verify(endpoint["secret"])
        with uow_factory(scope, readonly=True) as uow:
            attempts = list_webhook_attempts(uow, endpoint["id"], PageRequest()).records
        assert [(a["attempt"], a["outcome"], a["response_status"]) for a in attempts] == [
            (2, "succeeded", 200),
            (1, "unknown", None),
        ]
        assert "stopped before it recorded" in attempts[1]["error"]
        with uow_factory(None, readonly=True) as uow:
            (delivery,) = uow.connection.execute(select(webhook_deliveries)).mappings()
        assert (delivery["status"], delivery["lease"], delivery["next_attempt_at"]) == (
            "succeeded",
            None,
            None,
        )
    finally:
        receiver.close()


def test_a_lease_keeps_other_workers_off_and_a_late_answer_changes_nothing(
    installation: bootstrap.Container,
) -> None:
    uow_factory = installation.uow_factory
    start = installation.clock.now()
    with uow_factory(None) as uow:
        keys = accounts.create_account(uow, "Merchant", start)
    scope = Scope(keys.account, False)
    with uow_factory(scope) as uow:
        create_webhook_endpoint(
            uow,
            {"url": "http://127.0.0.1:9/never-called", "enabled_events": ["*"]},
            start,
            WebhookOptions(allow_private=True),
        )
    record_test_event(uow_factory, scope, "thing.happened", start, id="th_1")
    for _ in range(3):
        fan_out_events(uow_factory, FrozenClock(start))
    at = to_unix(start)
    with uow_factory(None) as uow:
        (claimed,) = WebhookOutbox(uow).claim_due(at, 10, "lease_a", at + LEASE)
    with uow_factory(None) as uow:  # while the lease runs, nobody else gets it
        assert WebhookOutbox(uow).claim_due(at + LEASE - 1, 10, "lease_b", at + 2 * LEASE) == []
    with uow_factory(None) as uow:  # once it has run out, the next worker does
        (again,) = WebhookOutbox(uow).claim_due(at + LEASE, 10, "lease_b", at + 2 * LEASE)
    assert again["pk"] == claimed["pk"] and again["lease"] == "lease_a"
    done = {"status": "succeeded", "next_attempt_at": None, "lease": None}
    with uow_factory(None) as uow:
        assert WebhookOutbox(uow).settle(claimed["pk"], "lease_a", done) is False
    with uow_factory(None, readonly=True) as uow:
        (row,) = uow.connection.execute(select(webhook_deliveries)).mappings()
    assert (row["status"], row["lease"], row["attempts"]) == ("pending", "lease_b", 2)


def test_two_workers_at_once_send_each_delivery_once(installation: bootstrap.Container) -> None:
    uow_factory = installation.uow_factory
    clock = installation.clock
    with uow_factory(None) as uow:
        keys = accounts.create_account(uow, "Merchant", clock.now())
    scope = Scope(keys.account, False)
    receiver = Receiver()
    try:
        with uow_factory(scope) as uow:
            create_webhook_endpoint(
                uow,
                {"url": receiver.url, "enabled_events": ["*"]},
                clock.now(),
                WebhookOptions(allow_private=True),
            )
        count = 120
        for n in range(count):
            record_test_event(uow_factory, scope, "thing.happened", clock.now(), id=f"th_{n}")
        for _ in range(3):
            fan_out_events(uow_factory, clock)
        barrier = threading.Barrier(2)

        def work() -> None:
            barrier.wait()
            while deliver_webhooks(uow_factory, clock):
                pass

        workers = [threading.Thread(target=work) for _ in range(2)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join(timeout=120)
        ids = [r.event_id for r in receiver.received]
        assert len(ids) == count and len(set(ids)) == count
    finally:
        receiver.close()
