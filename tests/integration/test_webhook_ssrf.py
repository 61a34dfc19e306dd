"""Webhooks never reach internal addresses unless RECUR_WEBHOOK_ALLOW_PRIVATE is set.

Checked after DNS resolution, when a URL is set and again at every delivery. A canary
listens on loopback (IPv4 and IPv6, one port): every URL aimed at it is refused, and no
connection ever reaches it. Host names are resolved by a stand-in resolver, so a name
can be made to point anywhere (and to change between creation and delivery). Nothing here
connects anywhere but loopback: addresses outside it are only ever refused.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from recur import bootstrap
from recur.domain.clock import FrozenClock, utc
from recur.domain.tenancy import Scope
from recur.services import accounts
from recur.services.webhook_endpoints import create_webhook_endpoint, list_webhook_attempts
from recur.services.webhook_options import WebhookOptions, configure_webhooks, webhook_options
from recur.storage.repositories.base import PageRequest
from tests.support.webhooks import Canary, record_test_event, run_delivery, scratch_container


class Resolver:
    """A DNS stand-in: names map to whatever the test says, now."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}

    def __call__(self, host: str, port: int) -> list[str]:
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.names[host]


@pytest.fixture
def canary() -> Iterator[Canary]:
    listening = Canary()
    yield listening
    listening.close()


def internal_urls(port: int) -> list[str]:
    """The issue's list, every one aimed at the canary when it can be."""
    return [
        f"http://127.0.0.1:{port}/hook",
        f"http://[::1]:{port}/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",
        f"http://2130706433:{port}/hook",
        f"http://0x7f000001:{port}/hook",
        f"http://internal.example.com:{port}/hook",  # resolves to 127.0.0.1
        f"http://intranet.example.com:{port}/hook",  # resolves to 10.0.0.5
        f"http://localhost:{port}/hook",
    ]


def test_internal_urls_are_refused_at_creation(
    client: stripe.StripeClient, container: bootstrap.Container, canary: Canary
) -> None:
    resolver = Resolver()
    resolver.names = {
        "internal.example.com": ["127.0.0.1"],
        "intranet.example.com": ["93.184.215.14", "10.0.0.5"],  # one bad answer is enough
        "localhost": ["127.0.0.1", "::1"],
    }
    before = webhook_options(container.uow_factory)
    configure_webhooks(container.engine, WebhookOptions(allow_private=False, resolver=resolver))
    try:
        for url in internal_urls(canary.port):
            with pytest.raises(stripe.InvalidRequestError) as error:
                client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": ["*"]})
            assert error.value.param == "url", url
            assert "may not reach" in str(error.value.user_message), url
    finally:
        configure_webhooks(container.engine, before)
    assert client.v1.webhook_endpoints.list().data == []
    assert canary.connections() == 0


@pytest.fixture(params=["sqlite", "postgresql"])
def installation(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[bootstrap.Container]:
    yield from scratch_container(request.param, tmp_path)


def test_delivery_checks_again_and_never_connects(
    installation: bootstrap.Container, canary: Canary
) -> None:
    """URLs stored while private addresses were allowed, or whose DNS changed since."""
    uow_factory = installation.uow_factory
    clock = FrozenClock(utc(2030, 1, 1))
    resolver = Resolver()
    with uow_factory(None) as uow:
        keys = accounts.create_account(uow, "Merchant", clock.now())
    scope = Scope(keys.account, False)
    endpoints = []
    with uow_factory(scope) as uow:
        # Stored under a development setting (loopback forms aimed at the canary)...
        allowing = WebhookOptions(allow_private=True, resolver=resolver)
        resolver.names = {"internal.example.com": ["127.0.0.1"], "localhost": ["::1"]}
        for url in internal_urls(canary.port):
            if "10.0.0.5" in url or "169.254" in url or "intranet" in url:
                continue  # never a delivery target here: they are not on this machine
            endpoints.append(
                create_webhook_endpoint(
                    uow, {"url": url, "enabled_events": ["*"]}, clock.now(), allowing
                )
            )
        # ...and one whose name was public when it was set.
        resolver.names["rebind.example.com"] = ["93.184.215.14"]
        public = WebhookOptions(allow_private=False, resolver=resolver)
        endpoints.append(
            create_webhook_endpoint(
                uow,
                {"url": f"http://rebind.example.com:{canary.port}/", "enabled_events": ["*"]},
                clock.now(),
                public,
            )
        )
    # Now the installation refuses private addresses, and the name points at loopback.
    resolver.names = {
        "internal.example.com": ["127.0.0.1"],
        "localhost": ["::1"],
        "rebind.example.com": ["127.0.0.1"],
    }
    configure_webhooks(installation.engine, public)
    record_test_event(uow_factory, scope, "thing.happened", clock.now(), id="th_1")
    assert run_delivery(uow_factory, clock) == len(endpoints)
    with uow_factory(scope, readonly=True) as uow:
        for endpoint in endpoints:
            (attempt,) = list_webhook_attempts(uow, endpoint["id"], PageRequest()).records
            assert attempt["outcome"] == "failed", endpoint["url"]
            assert attempt["response_status"] is None
            assert attempt["error"].startswith("refused: "), attempt["error"]
            assert "may not reach" in attempt["error"]
            assert attempt["next_retry_at"] is not None  # DNS may change back
    assert canary.connections() == 0
    # The canary does hear a connection when one is made.
    socket.create_connection(("::1", canary.port)).close()
    assert canary.connections() == 1
