"""Test clocks through the official stripe SDK against a live server (and its worker)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
import stripe

from recur import bootstrap
from recur.domain.clock import from_unix
from recur.domain.errors import InvalidRequest
from recur.domain.tenancy import Scope
from recur.services import accounts
from recur.services import test_clocks as service
from recur.storage.repositories.base import Record
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.worker.loop import advance_test_clocks
from tests.support.clocks import wait_for_clock_ready

JAN_2020 = 1_577_836_800
DAY = 86_400


def test_create_retrieve_list(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": JAN_2020, "name": "Monthly renewals"}
    )
    assert clock.id.startswith("clock_")
    assert clock.object == "test_helpers.test_clock"
    assert clock.frozen_time == JAN_2020
    assert clock.name == "Monthly renewals"
    assert clock.status == "ready"
    assert clock.livemode is False
    assert clock.deletes_after == clock.created + 30 * DAY
    assert clock.to_dict()["status_details"] == {}
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).to_dict() == clock.to_dict()

    second = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_2020})
    assert second.name is None
    page = client.v1.test_helpers.test_clocks.list(params={"limit": 1})
    assert [c.id for c in page.data] == [second.id] and page.has_more is True
    assert [c.id for c in page.auto_paging_iter()] == [second.id, clock.id]


def test_create_requires_frozen_time(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.test_helpers.test_clocks.create(params={})  # type: ignore[typeddict-item]
    assert excinfo.value.param == "frozen_time"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.test_helpers.test_clocks.create(params={"frozen_time": -5})
    assert excinfo.value.param == "frozen_time"


def test_advance_lifecycle(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_2020})
    target = JAN_2020 + 31 * DAY
    advancing = client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": target})
    assert advancing.status in ("advancing", "ready")
    if advancing.status == "advancing":
        assert advancing.frozen_time == JAN_2020
        assert advancing.to_dict()["status_details"] == {
            "advancing": {"target_frozen_time": target}
        }
    ready = wait_for_clock_ready(client, clock.id)
    assert ready.frozen_time == target
    assert ready.to_dict()["status_details"] == {}

    again = client.v1.test_helpers.test_clocks.advance(
        clock.id, params={"frozen_time": target + DAY}
    )
    assert again.id == clock.id
    assert wait_for_clock_ready(client, clock.id).frozen_time == target + DAY


@pytest.mark.parametrize("offset", [0, -DAY])
def test_advance_only_moves_forward(client: stripe.StripeClient, offset: int) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_2020})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.test_helpers.test_clocks.advance(
            clock.id, params={"frozen_time": JAN_2020 + offset}
        )
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == "frozen_time"
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == JAN_2020


def test_advance_is_limited_to_two_years_without_subscriptions(
    client: stripe.StripeClient,
) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_2020})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.test_helpers.test_clocks.advance(
            clock.id, params={"frozen_time": JAN_2020 + 731 * DAY + 1}
        )
    assert excinfo.value.param == "frozen_time"
    two_years = JAN_2020 + 731 * DAY  # 2020 is a leap year
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": two_years})
    assert wait_for_clock_ready(client, clock.id).frozen_time == two_years


def test_advance_missing_clock(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.test_helpers.test_clocks.advance(
            "clock_missing", params={"frozen_time": JAN_2020}
        )
    assert excinfo.value.http_status == 404


def _run_worker_until_settled(
    container: bootstrap.Container, scope: Scope, clock_id: str
) -> Record:
    """Run the job until the clock is no longer advancing.

    The live server's worker runs the same job and may hold the clock meanwhile.
    """
    deadline = time.monotonic() + 10
    while True:
        advance_test_clocks(container.uow_factory, container.clock)
        with container.uow_factory(scope) as uow:
            record = service.retrieve_test_clock(uow, clock_id)
        if record["status"] != "advancing" or time.monotonic() > deadline:
            return record
        time.sleep(0.05)


def test_worker_completes_advances_once(
    container: bootstrap.Container, account: accounts.AccountKeys
) -> None:
    """The job itself: claims advancing clocks, moves them, and leaves ready ones alone."""
    scope = Scope(account.account, livemode=False)
    now = container.clock.now()
    with container.uow_factory(scope) as uow:
        clock = service.create_test_clock(uow, from_unix(JAN_2020), None, now)
        service.advance_test_clock(uow, clock["id"], from_unix(JAN_2020 + DAY))
    done = _run_worker_until_settled(container, scope, clock["id"])
    assert (done["status"], done["frozen_time"]) == ("ready", JAN_2020 + DAY)
    assert done["target_frozen_time"] is None
    with container.uow_factory(scope) as uow:
        assert service.complete_advance(uow, clock["id"]) is None
        assert service.retrieve_test_clock(uow, clock["id"])["frozen_time"] == JAN_2020 + DAY


def test_clock_cannot_be_advanced_while_advancing(
    container: bootstrap.Container, account: accounts.AccountKeys
) -> None:
    scope = Scope(account.account, livemode=False)
    now = container.clock.now()
    with container.uow_factory(scope) as uow:
        clock = service.create_test_clock(uow, from_unix(JAN_2020), None, now)
        service.advance_test_clock(uow, clock["id"], from_unix(JAN_2020 + DAY))
        with pytest.raises(InvalidRequest):
            service.advance_test_clock(uow, clock["id"], from_unix(JAN_2020 + 2 * DAY))


def test_failed_clock_cannot_be_advanced(
    client: stripe.StripeClient, container: bootstrap.Container, account: accounts.AccountKeys
) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_2020})
    with container.uow_factory(Scope(account.account, livemode=False)) as uow:
        uow.repository(TestClockRepository).update(clock.id, {"status": "internal_failure"})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": JAN_2020 + DAY})
    assert excinfo.value.http_status == 400
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).status == "internal_failure"


def test_failing_advance_marks_the_clock_internal_failure(
    container: bootstrap.Container,
    account: accounts.AccountKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scope = Scope(account.account, livemode=False)
    with container.uow_factory(scope) as uow:
        clock = service.create_test_clock(uow, from_unix(JAN_2020), None, container.clock.now())
    original = TestClockRepository.update

    def fail_for_this_clock(
        repo: TestClockRepository, clock_id: str, values: Mapping[str, Any]
    ) -> Record:
        # Only this clock's completion fails: other tests' clocks must still advance.
        if clock_id == clock["id"] and values.get("status") == "ready":
            raise RuntimeError("boom")
        return original(repo, clock_id, values)

    monkeypatch.setattr(TestClockRepository, "update", fail_for_this_clock)
    with container.uow_factory(scope) as uow:
        service.advance_test_clock(uow, clock["id"], from_unix(JAN_2020 + DAY))
    failed = _run_worker_until_settled(container, scope, clock["id"])
    assert failed["status"] == "internal_failure"
    assert failed["frozen_time"] == JAN_2020


def test_delete_cascades_to_customers(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_2020})
    on_clock = [
        client.v1.customers.create(params={"test_clock": clock.id, "name": f"c{i}"})
        for i in range(3)
    ]
    bystander = client.v1.customers.create(params={"name": "real time"})
    deleted = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert deleted.to_dict() == {
        "id": clock.id,
        "object": "test_helpers.test_clock",
        "deleted": True,
    }
    for customer in on_clock:
        assert client.v1.customers.retrieve(customer.id).to_dict().get("deleted") is True
    assert client.v1.customers.retrieve(bystander.id).to_dict().get("deleted") is None
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert excinfo.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.test_helpers.test_clocks.delete(clock.id)
    assert excinfo.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(params={"test_clock": clock.id})
    assert excinfo.value.param == "test_clock"


def test_livemode_isolation(client: stripe.StripeClient, live_client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_2020})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert excinfo.value.http_status == 404
    assert live_client.v1.test_helpers.test_clocks.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.customers.create(params={"test_clock": clock.id})
    assert excinfo.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_2020})
    assert excinfo.value.http_status == 400
