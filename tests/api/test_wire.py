"""Wire conventions shared by every endpoint: auth, errors, lists, idempotency, JSON bodies."""

from __future__ import annotations

import base64
import threading

import pytest
import stripe

from recur.services.accounts import AccountKeys
from tests.support.server import LiveServer


def test_missing_key_is_an_authentication_error(server: LiveServer) -> None:
    with server.http() as http:
        response = http.get("/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.headers["Request-Id"].startswith("req_")


def test_wrong_key_is_rejected_by_the_sdk(server: LiveServer) -> None:
    client = server.stripe_client("sk_test_" + "x" * 30)
    with pytest.raises(stripe.AuthenticationError) as excinfo:
        client.v1.customers.list()
    assert excinfo.value.http_status == 401


def test_basic_auth_with_the_key_as_user_name(server: LiveServer, account: AccountKeys) -> None:
    token = base64.b64encode(f"{account.test_secret_key}:".encode()).decode()
    with server.http() as http:
        response = http.get("/v1/customers", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 200
    assert response.json()["object"] == "list"


def test_publishable_key_cannot_use_secret_endpoints(
    server: LiveServer, account: AccountKeys
) -> None:
    client = server.stripe_client(account.test_publishable_key)
    with pytest.raises(stripe.PermissionError) as excinfo:
        client.v1.customers.create(params={"name": "x"})
    assert excinfo.value.http_status == 403


def test_test_and_live_objects_never_see_each_other(
    client: stripe.StripeClient, live_client: stripe.StripeClient
) -> None:
    test_customer = client.v1.customers.create(params={"name": "test"})
    live_customer = live_client.v1.customers.create(params={"name": "live"})
    assert live_customer.livemode is True
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.customers.retrieve(test_customer.id)
    assert excinfo.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve(live_customer.id)
    assert [c.id for c in client.v1.customers.list().data] == [test_customer.id]
    assert [c.id for c in live_client.v1.customers.list().data] == [live_customer.id]


def test_unknown_route_is_a_json_404(server: LiveServer, account: AccountKeys) -> None:
    with server.http(account.test_secret_key) as http:
        response = http.get("/v1/nothing_here")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "Unrecognized request URL" in error["message"]
    assert response.headers["Request-Id"].startswith("req_")


def test_request_id_on_success(server: LiveServer, account: AccountKeys) -> None:
    with server.http(account.test_secret_key) as http:
        response = http.post("/v1/customers", data={"name": "x"})
    assert response.status_code == 200
    assert response.headers["Request-Id"].startswith("req_")


def test_json_bodies_are_accepted(server: LiveServer, account: AccountKeys) -> None:
    with server.http(account.test_secret_key) as http:
        response = http.post(
            "/v1/customers",
            json={"name": "Json", "balance": -500, "metadata": {"n": 1}},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["balance"] == -500
    assert body["metadata"] == {"n": "1"}


def test_invalid_integer_names_the_param(server: LiveServer, account: AccountKeys) -> None:
    with server.http(account.test_secret_key) as http:
        response = http.post("/v1/customers", data={"balance": "12.5"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "balance"


def test_metadata_limits(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(params={"metadata": {f"k{i}": "v" for i in range(51)}})
    assert excinfo.value.param == "metadata"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"metadata": {"k" * 41: "v"}})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"metadata": {"k": "v" * 501}})


class TestLists:
    def test_auto_pagination_over_250_customers(self, client: stripe.StripeClient) -> None:
        created = [client.v1.customers.create(params={"name": f"c{i}"}).id for i in range(250)]
        page = client.v1.customers.list(params={"limit": 100})
        assert page.has_more is True
        assert page.url == "/v1/customers"
        seen = [c.id for c in page.auto_paging_iter()]
        assert seen == list(reversed(created))  # newest first, no duplicate, none missing

    def test_ending_before_pages_backwards(self, client: stripe.StripeClient) -> None:
        ids = [client.v1.customers.create(params={"name": f"c{i}"}).id for i in range(5)]
        newest_first = list(reversed(ids))
        page = client.v1.customers.list(params={"limit": 2, "ending_before": newest_first[4]})
        assert [c.id for c in page.data] == newest_first[2:4]
        assert page.has_more is True
        page = client.v1.customers.list(params={"limit": 2, "starting_after": newest_first[1]})
        assert [c.id for c in page.data] == newest_first[2:4]

    def test_stable_under_concurrent_inserts(self, client: stripe.StripeClient) -> None:
        ids = [client.v1.customers.create(params={"name": f"c{i}"}).id for i in range(4)]
        first = client.v1.customers.list(params={"limit": 2})
        client.v1.customers.create(params={"name": "inserted meanwhile"})
        second = client.v1.customers.list(params={"limit": 2, "starting_after": first.data[-1].id})
        assert [c.id for c in second.data] == [ids[1], ids[0]]

    @pytest.mark.parametrize("limit", [0, 101, -1])
    def test_limit_bounds(self, client: stripe.StripeClient, limit: int) -> None:
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.customers.list(params={"limit": limit})
        assert excinfo.value.param == "limit"

    def test_both_cursors_is_an_error(self, client: stripe.StripeClient) -> None:
        c = client.v1.customers.create()
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.list(params={"starting_after": c.id, "ending_before": c.id})

    def test_unknown_cursor_is_named(self, client: stripe.StripeClient) -> None:
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.customers.list(params={"starting_after": "cus_nope"})
        assert excinfo.value.param == "starting_after"

    def test_created_filter(self, client: stripe.StripeClient) -> None:
        c = client.v1.customers.create()
        assert [
            x.id for x in client.v1.customers.list(params={"created": {"gte": c.created}}).data
        ] == [c.id]
        assert client.v1.customers.list(params={"created": {"lt": c.created}}).data == []


class TestExpand:
    def test_a_plain_field_cannot_be_expanded(self, client: stripe.StripeClient) -> None:
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.customers.create(params={"email": "a@b.c", "expand": ["email"]})
        assert excinfo.value.param == "expand"

    def test_more_than_four_levels_is_refused(self, client: stripe.StripeClient) -> None:
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.customers.list(params={"expand": ["data.a.b.c.d"]})
        assert excinfo.value.param == "expand"


class TestIdempotency:
    def test_same_key_replays_the_same_object(self, client: stripe.StripeClient) -> None:
        options: stripe.RequestOptions = {"idempotency_key": "create-ada"}
        first = client.v1.customers.create(params={"name": "Ada"}, options=options)
        again = client.v1.customers.create(params={"name": "Ada"}, options=options)
        assert again.id == first.id
        assert again.last_response.headers.get("Idempotent-Replayed") == "true"
        assert len(client.v1.customers.list().data) == 1

    def test_same_key_with_other_parameters_is_an_idempotency_error(
        self, client: stripe.StripeClient
    ) -> None:
        options: stripe.RequestOptions = {"idempotency_key": "k1"}
        client.v1.customers.create(params={"name": "Ada"}, options=options)
        with pytest.raises(stripe.IdempotencyError):
            client.v1.customers.create(params={"name": "Grace"}, options=options)

    def test_validation_failures_are_not_stored(self, client: stripe.StripeClient) -> None:
        options: stripe.RequestOptions = {"idempotency_key": "k2"}
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.create(params={"balance": "x"}, options=options)  # type: ignore[typeddict-item]
        ok = client.v1.customers.create(params={"name": "fixed"}, options=options)
        assert ok.name == "fixed"

    def test_errors_after_execution_started_are_replayed(self, client: stripe.StripeClient) -> None:
        options: stripe.RequestOptions = {"idempotency_key": "k3"}
        for _ in range(2):
            with pytest.raises(stripe.InvalidRequestError) as excinfo:
                client.v1.customers.update("cus_missing", params={"name": "x"}, options=options)
            assert excinfo.value.http_status == 404

    def test_keys_are_scoped_per_account_and_mode(
        self,
        server: LiveServer,
        client: stripe.StripeClient,
        live_client: stripe.StripeClient,
        container: object,
    ) -> None:
        from recur import bootstrap
        from recur.services import accounts

        assert isinstance(container, bootstrap.Container)
        with container.uow_factory(None) as uow:
            other = accounts.create_account(uow, "Other", container.clock.now())
        other_client = server.stripe_client(other.test_secret_key)
        options: stripe.RequestOptions = {"idempotency_key": "shared-key"}
        a = client.v1.customers.create(params={"name": "A"}, options=options)
        b = other_client.v1.customers.create(params={"name": "B"}, options=options)
        live = live_client.v1.customers.create(params={"name": "L"}, options=options)
        assert len({a.id, b.id, live.id}) == 3

    def test_key_longer_than_255_characters_is_refused(self, client: stripe.StripeClient) -> None:
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.create(options={"idempotency_key": "k" * 256})

    def test_concurrent_requests_with_one_key_create_one_object(
        self, server: LiveServer, account: AccountKeys
    ) -> None:
        # The SDK retries the 409 that a request gets while the first is in flight, then
        # receives the replay: every caller ends with the same customer.
        client = server.stripe_client(account.test_secret_key, max_network_retries=8)
        results: list[str] = []
        errors: list[Exception] = []

        def create() -> None:
            try:
                customer = client.v1.customers.create(
                    params={"name": "Once"}, options={"idempotency_key": "race"}
                )
                results.append(customer.id)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=create) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(results) == 8 and len(set(results)) == 1
        assert [c.id for c in client.v1.customers.list().data] == results[:1]
