"""The request pipeline against a real database, below HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from recur import bootstrap
from recur.api import framework
from recur.api.framework import ApiContext, IncomingRequest, Route
from recur.api.params import Params
from recur.services import accounts, customers
from recur.services.accounts import AccountKeys
from recur.services.maintenance import purge_idempotency_keys
from recur.storage.repositories.base import PageRequest
from recur.storage.repositories.idempotency import IdempotencyRepository


class _Empty(Params):
    pass


def _crashing_handler(ctx: ApiContext, params: _Empty) -> dict[str, Any]:
    customers.create_customer(ctx.uow, {"name": "half-written"}, ctx.now)
    raise RuntimeError("boom after a write")


def _request(account: AccountKeys, key: str | None) -> IncomingRequest:
    return IncomingRequest(
        method="POST",
        path="/v1/crash",
        query="",
        body=b"",
        content_type="application/x-www-form-urlencoded",
        authorization=f"Bearer {account.test_secret_key}",
        idempotency_key=key,
        path_params={},
    )


def _count_customers(container: bootstrap.Container, account: AccountKeys) -> int:
    with container.uow_factory(None) as uow:
        key = accounts.authenticate(uow, account.test_secret_key)
    assert key is not None
    with container.uow_factory(key.scope, readonly=True) as uow:
        page = customers.list_customers(uow, PageRequest(limit=100))
    return len(page.records)


def test_a_500_rolls_back_its_writes_and_is_replayed(
    container: bootstrap.Container, account: AccountKeys
) -> None:
    services = container.api_services()
    crash = Route("POST", "/v1/crash", _Empty, _crashing_handler, "crash", "none")
    first = framework.handle(services, crash, _request(account, "crash-key"))
    assert first.status == 500
    assert json.loads(first.body)["error"]["type"] == "api_error"
    assert "boom" not in first.body.decode()  # internals are not revealed
    assert _count_customers(container, account) == 0  # no partial write

    replay = framework.handle(services, crash, _request(account, "crash-key"))
    assert replay.status == 500
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Stripe-Should-Retry"] == "false"
    assert replay.body == first.body


def test_a_500_without_a_key_is_still_a_stripe_error(
    container: bootstrap.Container, account: AccountKeys
) -> None:
    crash = Route("POST", "/v1/crash", _Empty, _crashing_handler, "crash", "none")
    response = framework.handle(container.api_services(), crash, _request(account, None))
    assert response.status == 500
    assert json.loads(response.body)["error"]["type"] == "api_error"


def test_old_idempotency_records_are_purged(
    container: bootstrap.Container, account: AccountKeys
) -> None:
    with container.uow_factory(None) as uow:
        key = accounts.authenticate(uow, account.test_secret_key)
    assert key is not None
    now = container.clock.now()
    with container.uow_factory(key.scope) as uow:
        repo = uow.repository(IdempotencyRepository)
        repo.claim("old", "f", "/v1/x", int((now - timedelta(hours=49)).timestamp()))
        repo.claim("recent", "f", "/v1/x", int((now - timedelta(hours=23)).timestamp()))
    with container.uow_factory(None) as uow:
        assert purge_idempotency_keys(uow, now) >= 1
    with container.uow_factory(key.scope, readonly=True) as uow:
        repo = uow.repository(IdempotencyRepository)
        assert repo.find("old") is None
        assert repo.find("recent") is not None
