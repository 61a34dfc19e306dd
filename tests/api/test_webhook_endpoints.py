"""`/v1/webhook_endpoints` through the official stripe SDK against a live server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from recur import bootstrap
from recur.services.accounts import AccountKeys
from recur.services.webhook_options import WebhookOptions, configure_webhooks, webhook_options
from tests.support.server import LiveServer

URL = "http://127.0.0.1:9/webhooks"  # never delivered to: the tests here send no events


@pytest.fixture
def private_refused(container: bootstrap.Container) -> Iterator[None]:
    """The server as installed without RECUR_WEBHOOK_ALLOW_PRIVATE."""
    before = webhook_options(container.uow_factory)
    configure_webhooks(container.engine, WebhookOptions(allow_private=False))
    yield
    configure_webhooks(container.engine, before)


def test_create_retrieve_update_list_delete(client: stripe.StripeClient) -> None:
    created = client.v1.webhook_endpoints.create(
        params={
            "url": URL,
            "enabled_events": ["invoice.paid", "customer.subscription.deleted"],
            "description": "Fulfilment",
            "metadata": {"team": "ops"},
            "api_version": "2025-09-30.clover",
        }
    )
    assert created.id.startswith("we_")
    assert created.object == "webhook_endpoint"
    assert created.secret is not None and created.secret.startswith("whsec_")
    assert created.status == "enabled"
    assert created.enabled_events == ["invoice.paid", "customer.subscription.deleted"]
    assert created.api_version == "2025-09-30.clover"
    assert created.livemode is False

    shown = client.v1.webhook_endpoints.retrieve(created.id).to_dict()
    assert "secret" not in shown  # returned on creation only, as at Stripe
    assert shown == {k: v for k, v in created.to_dict().items() if k != "secret"}

    updated = client.v1.webhook_endpoints.update(
        created.id,
        params={
            "enabled_events": ["*"],
            "description": "",
            "disabled": True,
            "metadata": {"team": "", "owner": "ada"},
        },
    )
    assert updated.status == "disabled"
    assert updated.disabled_reason is None
    assert updated.enabled_events == ["*"]
    assert updated.description is None
    assert updated.metadata.to_dict() == {"owner": "ada"}
    assert client.v1.webhook_endpoints.update(created.id, params={"disabled": False}).status == (
        "enabled"
    )

    other = client.v1.webhook_endpoints.create(params={"url": URL, "enabled_events": ["*"]})
    listed = client.v1.webhook_endpoints.list(params={"limit": 1})
    assert [e.id for e in listed.data] == [other.id] and listed.has_more
    assert [e.id for e in client.v1.webhook_endpoints.list().auto_paging_iter()] == [
        other.id,
        created.id,
    ]

    deleted = client.v1.webhook_endpoints.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.webhook_endpoints.retrieve(created.id)
    assert error.value.http_status == 404


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"url": "ftp://example.com/x", "enabled_events": ["*"]}, "url"),
        ({"url": "not a url", "enabled_events": ["*"]}, "url"),
        ({"url": URL, "enabled_events": ["nonsense"]}, "enabled_events[0]"),
        ({"url": URL, "enabled_events": ["*"], "api_version": "yesterday"}, "api_version"),
        ({"url": "http://no-such-host.invalid/", "enabled_events": ["*"]}, "url"),
    ],
)
def test_bad_parameters_are_refused(
    client: stripe.StripeClient, params: dict[str, object], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.webhook_endpoints.create(params=params)  # type: ignore[arg-type]
    assert error.value.http_status == 400
    assert error.value.param == param
    assert client.v1.webhook_endpoints.list().data == []


def test_live_mode_needs_https(live_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        live_client.v1.webhook_endpoints.create(params={"url": URL, "enabled_events": ["*"]})
    assert "https" in str(error.value.user_message)


@pytest.mark.usefixtures("private_refused")
def test_without_the_override_internal_urls_are_refused(client: stripe.StripeClient) -> None:
    for url in (URL, "http://localhost:9/x", "http://[::1]:9/x", "http://169.254.169.254/"):
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": ["*"]})
        assert error.value.param == "url"
        assert "may not reach" in str(error.value.user_message)


def test_the_url_is_checked_on_update_too(
    client: stripe.StripeClient, container: bootstrap.Container
) -> None:
    endpoint = client.v1.webhook_endpoints.create(params={"url": URL, "enabled_events": ["*"]})
    configure_webhooks(container.engine, WebhookOptions(allow_private=False))
    try:
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.webhook_endpoints.update(endpoint.id, params={"url": "http://10.0.0.5/"})
        assert error.value.param == "url"
    finally:
        configure_webhooks(container.engine, WebhookOptions(allow_private=True))
    assert client.v1.webhook_endpoints.retrieve(endpoint.id).url == URL


def test_attempts_of_an_endpoint_without_deliveries(
    server: LiveServer, client: stripe.StripeClient, account: AccountKeys
) -> None:
    endpoint = client.v1.webhook_endpoints.create(params={"url": URL, "enabled_events": ["*"]})
    with server.http(account.test_secret_key) as http:
        response = http.get(f"/v1/webhook_endpoints/{endpoint.id}/attempts")
        assert response.status_code == 200
        assert response.json() == {
            "object": "list",
            "url": f"/v1/webhook_endpoints/{endpoint.id}/attempts",
            "has_more": False,
            "data": [],
        }
        assert http.get("/v1/webhook_endpoints/we_nope/attempts").status_code == 404
