"""Tenant isolation on every route: another account, or the other mode, sees nothing."""

from __future__ import annotations

import pytest
import stripe

from recur import bootstrap
from recur.api.framework import ROUTES, Route
from recur.api.routes import load_all
from recur.services import accounts
from recur.services.accounts import AccountKeys
from tests.support.objects import create_one_of_each, fill_path, path_parameters
from tests.support.server import LiveServer

load_all()
OBJECT_ROUTES = [r for r in ROUTES if path_parameters(r)]


def _required(target: Route) -> list[str]:
    return [name for name, f in target.params.model_fields.items() if f.is_required()]


# (A GET without an id that is not a list — the account's `/v1/billing/settings` — shows
# the caller's own account: nothing of another tenant to leak.)
LIST_ROUTES = [
    r
    for r in ROUTES
    if r.method == "GET" and not path_parameters(r) and not _required(r) and r.returns == "list"
]
# Lists of a parent's children (`/v1/subscription_items?subscription=…`) look the parent up.
# (Previews, such as `/v1/credit_notes/preview?invoice=…`, need more than an id: their own
# tests check that a foreign invoice is not found.)
SCOPED_LIST_ROUTES = [
    r
    for r in ROUTES
    if r.method == "GET" and not path_parameters(r) and _required(r) and "/preview" not in r.path
]
# Validation happens before any lookup: a request refused for its parameters reveals nothing.
VALIDATION_CODES = {"parameter_missing", "parameter_unknown", "parameter_invalid"}


def _label(target: Route) -> str:
    return f"{target.method} {target.path}"


@pytest.fixture
def other_account(container: bootstrap.Container) -> AccountKeys:
    with container.uow_factory(None) as uow:
        return accounts.create_account(uow, "Intruder", container.clock.now())


def test_every_path_parameter_has_a_factory(client: stripe.StripeClient) -> None:
    ids = create_one_of_each(client)
    missing = {name for r in OBJECT_ROUTES for name in path_parameters(r)} - ids.keys()
    assert missing == set()


def _assert_not_found(response_status: int, body: dict[str, object], target: Route) -> None:
    error = body.get("error")
    assert isinstance(error, dict), (_label(target), body)
    if response_status == 400:
        assert error.get("code") in VALIDATION_CODES, (_label(target), error)
    else:
        assert response_status == 404, (_label(target), response_status, error)


@pytest.mark.parametrize("intruder", ["other_account", "live_mode"])
def test_foreign_objects_are_not_found_on_any_route(
    server: LiveServer,
    client: stripe.StripeClient,
    account: AccountKeys,
    other_account: AccountKeys,
    intruder: str,
) -> None:
    ids = create_one_of_each(client)
    key = other_account.test_secret_key if intruder == "other_account" else account.live_secret_key
    with server.http(key) as http:
        for target in OBJECT_ROUTES:
            response = http.request(target.method, fill_path(target, ids))
            _assert_not_found(response.status_code, response.json(), target)
        for target in LIST_ROUTES:
            response = http.get(target.path)
            assert response.status_code == 200, (_label(target), response.text)
            assert response.json()["data"] == [], _label(target)
        for target in SCOPED_LIST_ROUTES:
            response = http.get(target.path, params={n: ids[n] for n in _required(target)})
            _assert_not_found(response.status_code, response.json(), target)
    # And the owner still has everything, untouched.
    with server.http(account.test_secret_key) as http:
        for target in OBJECT_ROUTES:
            if target.method == "GET":
                assert http.get(fill_path(target, ids)).status_code == 200, _label(target)
        for target in SCOPED_LIST_ROUTES:
            response = http.get(target.path, params={n: ids[n] for n in _required(target)})
            assert response.status_code == 200 and response.json()["data"], _label(target)


def test_custom_ids_are_unique_per_tenant_only(
    server: LiveServer, client: stripe.StripeClient, other_account: AccountKeys
) -> None:
    mine = client.v1.products.create(params={"id": "gold-plan", "name": "Gold"})
    theirs = server.stripe_client(other_account.test_secret_key).v1.products.create(
        params={"id": "gold-plan", "name": "Their gold"}
    )
    assert (mine.id, theirs.id) == ("gold-plan", "gold-plan")
    assert client.v1.products.retrieve("gold-plan").name == "Gold"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.products.create(params={"id": "gold-plan", "name": "Again"})
