"""The delivery schedule, driven by an injected clock: retries, 410, timeouts, disabling.

Each test has a database of its own and runs the worker's webhook jobs itself (no
background worker), with a frozen clock that only the test moves: no sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from recur import bootstrap
from recur.domain.clock import FrozenClock, SystemClock, from_unix, to_unix, utc
from recur.domain.tenancy import Scope
from recur.domain.webhooks import MAX_ATTEMPTS, RETRY_SCHEDULE, retry_delay
from recur.services import accounts
from recur.services.events import list_events, purge_old_events, retrieve_event
from recur.services.webhook_delivery import EXPIRED, deliver_webhooks, fan_out_events
from recur.services.webhook_endpoints import (
    create_webhook_endpoint,
    list_webhook_attempts,
    retrieve_webhook_endpoint,
)
from recur.services.webhook_options import WebhookOptions, configure_webhooks
from recur.storage.repositories.base import PageRequest, Record
from recur.storage.tables import webhook_deliveries
from tests.support.webhooks import (
    HANG,
    Answer,
    Canary,
    Receiver,
    record_test_event,
    run_delivery,
    scratch_container,
)

START = utc(2030, 6, 1, 9)
DAY = 86400


@pytest.fixture(params=["sqlite", "postgresql"])
def installation(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[bootstrap.Container]:
    yield from scratch_container(request.param, tmp_path, webhook_allow_private=True)


class Setup:
    """A merchant, a frozen clock, and helpers to look at what the worker did."""

    def __init__(self, container: bootstrap.Container, timeout: float = 2.0) -> None:
        self.container = container
        self.uow_factory = container.uow_factory
        self.clock = FrozenClock(START)
        configure_webhooks(container.engine, WebhookOptions(allow_private=True, timeout=timeout))
        with self.uow_factory(None) as uow:
            keys = accounts.create_account(uow, "Merchant", self.clock.now())
        self.scope = Scope(keys.account, False)

    def endpoint(self, url: str) -> Record:
        with self.uow_factory(self.scope) as uow:
            return create_webhook_endpoint(
                uow,
                {"url": url, "enabled_events": ["*"]},
                self.clock.now(),
                WebhookOptions(allow_private=True),
            )

    def event(self, event_type: str = "thing.happened") -> str:
        record_test_event(self.uow_factory, self.scope, event_type, self.clock.now(), id="th_1")
        with self.uow_factory(self.scope, readonly=True) as uow:
            return str(list_events(uow, PageRequest(limit=1)).records[0]["id"])

    def run(self) -> int:
        return run_delivery(self.uow_factory, self.clock)

    def at(self, unix: int) -> None:
        self.clock.advance_to(from_unix(unix))

    def attempts(self, endpoint: str) -> list[Record]:
        """Oldest first."""
        with self.uow_factory(self.scope, readonly=True) as uow:
            page = list_webhook_attempts(uow, endpoint, PageRequest(limit=100))
        return list(reversed(page.records))

    def endpoint_now(self, endpoint: str) -> Record:
        with self.uow_factory(self.scope, readonly=True) as uow:
            return retrieve_webhook_endpoint(uow, endpoint)

    def next_due(self) -> int | None:
        """The earliest moment a delivery of this merchant is due."""
        d = webhook_deliveries.c
        with self.uow_factory(None, readonly=True) as uow:
            query = select(func.min(d.next_attempt_at)).where(d.account_id == self.scope.account_id)
            value = uow.connection.execute(query).scalar_one()
        return None if value is None else int(value)

    def event_now(self, event_id: str) -> Record:
        with self.uow_factory(self.scope, readonly=True) as uow:
            return retrieve_event(uow, event_id)


def _scripted(*statuses: int) -> Answer:
    answers = iter(statuses)
    return lambda _request: next(answers)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


def _receiver(receivers: list[Receiver], answer: Answer | None = None) -> Receiver:
    receiver = Receiver(answer)
    receivers.append(receiver)
    return receiver


def test_a_500_then_a_200_is_delivered_on_the_second_attempt_at_its_time(
    installation: bootstrap.Container, receivers: list[Receiver]
) -> None:
    s = Setup(installation)
    receiver = _receiver(receivers, _scripted(500, 200))
    endpoint = s.endpoint(receiver.url)
    event_id = s.event()

    assert s.run() == 1
    (first,) = s.attempts(endpoint["id"])
    assert (first["outcome"], first["response_status"], first["attempt"]) == ("failed", 500, 1)
    assert first["created"] == to_unix(START)
    due = first["next_retry_at"]
    assert due == to_unix(START) + retry_delay(1, f"{endpoint['id']}:{event_id}")  # type: ignore[operator]
    assert 4 <= due - to_unix(START) <= 6
    assert s.event_now(event_id)["pending_webhooks"] == 1

    s.at(due - 1)
    assert s.run() == 0 and len(receiver.received) == 1
    s.at(due)
    assert s.run() == 1
    first_body, second_body = (r.body for r in receiver.received)
    assert first_body == second_body  # the same event; the signature is new
    receiver.received[1].verify_signed_at_any_time(endpoint["secret"])
    attempts = s.attempts(endpoint["id"])
    assert [(a["outcome"], a["response_status"], a["attempt"]) for a in attempts] == [
        ("failed", 500, 1),
        ("succeeded", 200, 2),
    ]
    assert attempts[1]["created"] == due and attempts[1]["next_retry_at"] is None
    assert s.event_now(event_id)["pending_webhooks"] == 0
    assert s.endpoint_now(endpoint["id"])["failing_since"] is None
    s.at(due + 30 * DAY)
    assert s.run() == 0


def test_410_gone_disables_the_endpoint_with_an_event(
    installation: bootstrap.Container, receivers: list[Receiver]
) -> None:
    s = Setup(installation)
    gone = _receiver(receivers, lambda _: 410)
    watcher = _receiver(receivers)
    endpoint = s.endpoint(gone.url)
    other = s.endpoint(watcher.url)
    s.event()
    s.run()
    disabled = s.endpoint_now(endpoint["id"])
    assert (disabled["status"], disabled["disabled_reason"]) == ("disabled", "gone")
    (attempt,) = s.attempts(endpoint["id"])
    assert (attempt["outcome"], attempt["response_status"], attempt["next_retry_at"]) == (
        "failed",
        410,
        None,
    )
    with s.uow_factory(s.scope, readonly=True) as uow:
        (notice,) = list_events(
            uow, PageRequest(limit=10), types=["webhook_endpoint.disabled"]
        ).records
    assert notice["data"]["object"]["id"] == endpoint["id"]
    assert notice["data"]["object"]["status"] == "disabled"
    assert "secret" not in notice["data"]["object"]
    assert notice["data"]["previous_attributes"]["status"] == "enabled"
    # The account's other endpoint hears of it; the gone one is never called again.
    s.run()
    assert {r.event_id for r in watcher.received} >= {notice["id"]}
    watcher.received[-1].verify_signed_at_any_time(other["secret"])
    s.event()
    s.at(to_unix(START) + 3 * DAY)
    s.run()
    assert len(gone.received) == 1


def test_a_receiver_that_never_answers_gets_the_schedule_then_nothing(
    installation: bootstrap.Container, receivers: list[Receiver]
) -> None:
    s = Setup(installation, timeout=0.2)
    receiver = _receiver(receivers, lambda _: HANG)
    endpoint = s.endpoint(receiver.url)
    event_id = s.event()
    times = []
    for number in range(1, MAX_ATTEMPTS + 1):
        assert s.run() == 1, number
        assert len(receiver.received) == number
        latest = s.attempts(endpoint["id"])[-1]
        assert latest["attempt"] == number and latest["outcome"] == "failed"
        assert "timed out" in latest["error"] and latest["response_status"] is None
        times.append(latest["created"])
        if number < MAX_ATTEMPTS:
            self_delay = latest["next_retry_at"] - latest["created"]
            assert self_delay == retry_delay(number, f"{endpoint['id']}:{event_id}")
            base = RETRY_SCHEDULE[number - 1]
            assert 0.9 * base - 1 <= self_delay <= 1.1 * base + 1
            s.at(latest["next_retry_at"])
        else:
            assert latest["next_retry_at"] is None
    assert 3 * DAY < times[-1] - times[0] < 4 * DAY
    assert s.next_due() is None
    s.at(times[-1] + 30 * DAY)
    assert s.run() == 0 and len(receiver.received) == MAX_ATTEMPTS
    # Three and a half days of failures are not five: the endpoint stays enabled.
    assert s.endpoint_now(endpoint["id"])["status"] == "enabled"


def test_five_days_of_failures_disable_the_endpoint(
    installation: bootstrap.Container, receivers: list[Receiver]
) -> None:
    s = Setup(installation)
    receiver = _receiver(receivers, lambda _: 503)
    endpoint = s.endpoint(receiver.url)
    s.event()
    s.run()
    assert s.endpoint_now(endpoint["id"])["failing_since"] == to_unix(START)
    s.at(to_unix(START) + 4 * DAY)
    s.event("thing.changed")  # a second event keeps the endpoint failing past day 5
    last_failure = 0
    while s.endpoint_now(endpoint["id"])["status"] == "enabled":
        due = s.next_due()
        assert due is not None, "the endpoint ran out of deliveries before day 5"
        last_failure = to_unix(s.clock.now())
        s.at(max(due, last_failure))
        s.run()
    disabled = s.endpoint_now(endpoint["id"])
    assert disabled["disabled_reason"] == "failing"
    disabled_at = s.attempts(endpoint["id"])[-1]["created"]
    assert disabled_at - to_unix(START) >= 5 * DAY > last_failure - to_unix(START)
    assert s.next_due() is None  # what was still due is canceled
    with s.uow_factory(s.scope, readonly=True) as uow:
        notices = list_events(uow, PageRequest(limit=10), types=["webhook_endpoint.disabled"])
    assert [n["data"]["object"]["disabled_reason"] for n in notices.records] == ["failing"]


def test_redirects_are_failures_and_never_followed(
    installation: bootstrap.Container, receivers: list[Receiver]
) -> None:
    """Even with private addresses allowed, a 3xx is not followed: the canary hears nothing."""
    s = Setup(installation)
    canary = Canary()
    try:
        target = f"http://127.0.0.1:{canary.port}/"
        receiver = _receiver(receivers, lambda _: (302, {"Location": target}))
        endpoint = s.endpoint(receiver.url)
        s.event()
        s.run()
        (attempt,) = s.attempts(endpoint["id"])
        assert (attempt["outcome"], attempt["response_status"]) == ("failed", 302)
        assert attempt["next_retry_at"] is not None
        assert canary.connections() == 0
    finally:
        canary.close()


def test_a_recorded_attempt_shows_what_the_receiver_said(
    installation: bootstrap.Container, receivers: list[Receiver]
) -> None:
    s = Setup(installation)
    receiver = _receiver(receivers, lambda _: 422)
    endpoint = s.endpoint(receiver.url)
    s.event()
    s.run()
    (attempt,) = s.attempts(endpoint["id"])
    fields: dict[str, Any] = dict(attempt)
    assert fields["response_excerpt"] == '{"received": true}'
    assert fields["url"] == receiver.url
    assert fields["event_type"] == "thing.happened"
    assert fields["duration_ms"] >= 0


def test_a_delivery_whose_event_was_purged_fails_without_a_request(
    installation: bootstrap.Container, receivers: list[Receiver]
) -> None:
    s = Setup(installation)
    receiver = _receiver(receivers)
    endpoint = s.endpoint(receiver.url)
    s.event()
    for _ in range(3):
        fan_out_events(s.uow_factory, s.clock)
    with s.uow_factory(None) as uow:  # the 30-day purge, as if a month had gone by
        purge_old_events(uow, SystemClock().now() + timedelta(days=31))
    assert deliver_webhooks(s.uow_factory, s.clock) == 1
    (attempt,) = s.attempts(endpoint["id"])
    assert (attempt["outcome"], attempt["error"]) == ("failed", EXPIRED)
    assert receiver.received == [] and s.next_due() is None
