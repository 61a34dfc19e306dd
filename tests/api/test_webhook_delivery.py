"""Webhooks delivered by the server's worker to a real HTTP receiver on loopback."""

from __future__ import annotations

import time
from typing import Any

import stripe

from recur.domain.clock import utc
from recur.services.accounts import AccountKeys
from tests.support.billing import open_shop
from tests.support.server import LiveServer
from tests.support.webhooks import WAIT, Received, receiving

LIFE_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.trial_will_end",
    "customer.subscription.deleted",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
}


def _all_events(client: stripe.StripeClient) -> list[stripe.Event]:
    return list(client.v1.events.list(params={"limit": 100}).auto_paging_iter())


def _ids(received: list[Received]) -> set[str]:
    return {r.event_id for r in received}


def _attempts(server: LiveServer, key: str, endpoint: str, **params: Any) -> list[dict[str, Any]]:
    with server.http(key) as http:
        response = http.get(
            f"/v1/webhook_endpoints/{endpoint}/attempts", params={"limit": 100, **params}
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


def test_every_event_of_a_subscription_life_reaches_the_receiver_signed(
    server: LiveServer, client: stripe.StripeClient, account: AccountKeys
) -> None:
    with receiving() as receiver:
        endpoint = client.v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["*"]}
        )
        assert endpoint.secret is not None
        shop = open_shop(client, utc(2025, 1, 15, 10))
        price = shop.price(2000)
        sub = client.v1.subscriptions.create(
            params={
                "customer": shop.customer_id,
                "items": [{"price": price}],
                "trial_period_days": 7,
            }
        )
        shop.advance(utc(2025, 2, 23, 12))  # trial end, a renewal
        client.v1.subscriptions.update(
            sub.id,
            params={
                "items": [{"id": sub["items"].data[0].id, "quantity": 2}],
                "proration_behavior": "always_invoice",
            },
        )
        failing = client.v1.payment_methods.attach(
            "pm_card_chargeCustomerFail", params={"customer": shop.customer_id}
        )
        client.v1.subscriptions.update(sub.id, params={"default_payment_method": failing.id})
        shop.advance(utc(2025, 3, 23, 12))  # the renewal fails: past_due
        client.v1.subscriptions.cancel(sub.id, params={"invoice_now": True, "prorate": True})
        events = _all_events(client)
        wanted = {e.id for e in events}
        received = receiver.wait_for(lambda got: wanted <= _ids(got), "every event")

        assert {e.type for e in events} >= LIFE_EVENTS
        assert _ids(received) == wanted  # and nothing else (no other tenant's events)
        key = account.test_secret_key
        with server.http(key) as http:
            for request in received:
                delivered = request.verify(endpoint.secret)
                shown = http.get(f"/v1/events/{request.event_id}").json()
                # The event as the API shows it (but the count of deliveries still pending).
                assert {**delivered, "pending_webhooks": 0} == {**shown, "pending_webhooks": 0}
                assert request.path == "/webhooks"

        # Every attempt recorded; once all are in, no event is left pending.
        recorded = _wait_attempts(server, key, endpoint.id, len(wanted))
        assert {a["event"] for a in recorded} == wanted
        assert {(a["status"], a["response_status"], a["attempt"]) for a in recorded} == {
            ("succeeded", 200, 1)
        }
        assert all(a["duration_ms"] >= 0 and a["response_body"] for a in recorded)
        assert {e.pending_webhooks for e in _all_events(client)} == {0}


def _wait_attempts(server: LiveServer, key: str, endpoint: str, count: int) -> list[dict[str, Any]]:
    """The endpoint's attempts once `count` events have one that ended (bounded polling)."""
    deadline = time.monotonic() + WAIT
    while True:
        found = []
        cursor: str | None = None
        while True:
            page = _attempts(
                server, key, endpoint, **({"starting_after": cursor} if cursor else {})
            )
            found.extend(page)
            if len(page) < 100:
                break
            cursor = page[-1]["id"]
        if len({a["event"] for a in found}) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_enabled_events_filter_and_disabled_endpoints(client: stripe.StripeClient) -> None:
    with receiving() as paid_only, receiving() as disabled:
        listening = client.v1.webhook_endpoints.create(
            params={"url": paid_only.url, "enabled_events": ["invoice.paid"]}
        )
        off = client.v1.webhook_endpoints.create(
            params={"url": disabled.url, "enabled_events": ["*"]}
        )
        client.v1.webhook_endpoints.update(off.id, params={"disabled": True})
        shop = open_shop(client, utc(2025, 3, 1))
        client.v1.subscriptions.create(
            params={"customer": shop.customer_id, "items": [{"price": shop.price(500)}]}
        )
        paid = [e.id for e in _all_events(client) if e.type == "invoice.paid"]
        assert len(paid) == 1
        received = paid_only.wait_for(lambda got: bool(got), "invoice.paid")
        assert [r.event_id for r in received] == paid
        received[0].verify(str(listening.secret))
        # By the time the other endpoint has its event, the disabled one has got nothing.
        assert disabled.received == []


def test_an_event_can_be_sent_again(
    server: LiveServer, client: stripe.StripeClient, account: AccountKeys
) -> None:
    with receiving() as receiver:
        endpoint = client.v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["invoiceitem.created"]}
        )
        shop = open_shop(client, utc(2025, 3, 1))
        client.v1.invoice_items.create(
            params={"customer": shop.customer_id, "amount": 700, "currency": "eur"}
        )
        (event,) = [e for e in _all_events(client) if e.type == "invoiceitem.created"]
        receiver.wait_for(lambda got: len(got) == 1, "the first delivery")
        _wait_attempts(server, account.test_secret_key, endpoint.id, 1)

        with server.http(account.test_secret_key) as http:
            resent = http.post(f"/v1/events/{event.id}/retry")
            assert resent.status_code == 200, resent.text
            assert resent.json()["id"] == event.id
            assert resent.json()["pending_webhooks"] == 1
            again = receiver.wait_for(lambda got: len(got) == 2, "the second delivery")
            assert again[0].event_id == again[1].event_id == event.id
            again[1].verify(str(endpoint.secret))
            # Errors: an unknown event, an unknown or disabled endpoint, nobody listening.
            assert http.post("/v1/events/evt_nope/retry").status_code == 404
            missing = http.post(
                f"/v1/events/{event.id}/retry", data={"webhook_endpoint": "we_nope"}
            )
            assert missing.status_code == 404
            client.v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
            refused = http.post(f"/v1/events/{event.id}/retry")
            assert refused.status_code == 400
            assert refused.json()["error"]["param"] == "webhook_endpoint"
        attempts = _attempts(server, account.test_secret_key, endpoint.id, event=event.id)
        assert [a["status"] for a in attempts] == ["succeeded", "succeeded"]
