"""`/v1/events` through the official stripe SDK: filters, retrieve, payloads, isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import open_shop


def _invoice_events(client: stripe.StripeClient, customer: str) -> str:
    """A paid manual invoice: invoiceitem.created, invoice.created/finalized/paid."""
    client.v1.invoice_items.create(params={"customer": customer, "amount": 500, "currency": "eur"})
    invoice = client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include"}
    )
    client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    return invoice.id


def test_list_filters_by_type(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "Ada"}).id
    invoice_id = _invoice_events(client, customer)

    every = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert every[:4] == [
        "invoice.paid",
        "invoice.finalized",
        "invoice.created",
        "invoiceitem.created",
    ]

    paid = client.v1.events.list(params={"type": "invoice.paid"}).data
    assert [e.type for e in paid] == ["invoice.paid"]
    assert paid[0].data.object["id"] == invoice_id  # type: ignore[index]
    assert paid[0].data.object["status"] == "paid"  # type: ignore[index]

    wildcard = [e.type for e in client.v1.events.list(params={"type": "invoice.*"}).data]
    assert wildcard == ["invoice.paid", "invoice.finalized", "invoice.created"]

    several = client.v1.events.list(params={"types": ["invoice.created", "invoiceitem.created"]})
    assert [e.type for e in several.data] == ["invoice.created", "invoiceitem.created"]

    page = client.v1.events.list(params={"type": "invoice.*", "limit": 2})
    assert page.has_more is True and len(page.data) == 2
    rest = client.v1.events.list(
        params={"type": "invoice.*", "limit": 2, "starting_after": page.data[-1].id}
    )
    assert [e.type for e in rest.data] == ["invoice.created"] and rest.has_more is False


def test_retrieve_and_shape(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "Ada"}).id
    _invoice_events(client, customer)
    listed = client.v1.events.list(params={"type": "invoice.finalized"}).data[0]
    event = client.v1.events.retrieve(listed.id)
    assert event.to_dict() == listed.to_dict()
    assert event.id.startswith("evt_") and event.object == "event"
    assert event.livemode is False and event.api_version
    assert event.data.object["object"] == "invoice"  # type: ignore[index]
    assert event.data.object["number"] is not None  # type: ignore[index]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.retrieve("evt_nope")
    assert excinfo.value.http_status == 404


def test_created_filter_uses_billing_time(client: stripe.StripeClient) -> None:
    start = utc(2025, 3, 1, 9)
    shop = open_shop(client, start)
    client.v1.invoice_items.create(
        params={"customer": shop.customer_id, "amount": 100, "currency": "eur"}
    )
    shop.advance(start + timedelta(days=2))
    client.v1.invoice_items.create(
        params={"customer": shop.customer_id, "amount": 200, "currency": "eur"}
    )
    later = to_unix(start + timedelta(days=1))
    after = client.v1.events.list(params={"type": "invoiceitem.created", "created": {"gte": later}})
    assert [e.data.object["amount"] for e in after.data] == [200]  # type: ignore[index]
    before = client.v1.events.list(params={"type": "invoiceitem.created", "created": {"lt": later}})
    assert [e.data.object["amount"] for e in before.data] == [100]  # type: ignore[index]
    exact = client.v1.events.list(params={"created": to_unix(start), "type": "invoiceitem.*"})
    assert [e.created for e in exact.data] == [to_unix(start)]


def test_subscription_update_carries_previous_attributes(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"name": "Desk"}).id
    price = client.v1.prices.create(
        params={
            "product": product,
            "currency": "eur",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
        }
    ).id
    customer = client.v1.customers.create(
        params={
            "name": "Ada",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    ).id
    sub = client.v1.subscriptions.create(params={"customer": customer, "items": [{"price": price}]})
    client.v1.subscriptions.update(
        sub.id, params={"cancel_at_period_end": True, "metadata": {"seat": "12"}}
    )
    updated = client.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
    previous = updated.data.to_dict()["previous_attributes"]
    assert previous["cancel_at_period_end"] is False
    assert previous["metadata"] == {"seat": None}  # an added key was null before (Stripe)
    assert updated.data.object["cancel_at_period_end"] is True  # type: ignore[index]
    assert updated.data.object["id"] == sub.id  # type: ignore[index]
    created = client.v1.events.list(params={"type": "customer.subscription.created"}).data[0]
    assert "previous_attributes" not in created.data.to_dict()


def test_livemode_isolation(client: stripe.StripeClient, live_client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "Ada"}).id
    _invoice_events(client, customer)
    test_event = client.v1.events.list().data[0]
    assert live_client.v1.events.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.events.retrieve(test_event.id)
    assert excinfo.value.http_status == 404

    live_customer = live_client.v1.customers.create(params={"name": "Live"}).id
    live_client.v1.invoice_items.create(
        params={"customer": live_customer, "amount": 100, "currency": "eur"}
    )
    live_events = live_client.v1.events.list().data
    assert [e.type for e in live_events] == ["invoiceitem.created", "customer.created"]
    assert all(e.livemode is True for e in live_events)
    assert all(e.livemode is False for e in client.v1.events.list(params={"limit": 100}).data)


def test_bad_filters_name_the_parameter(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.list(params={"limit": 0})
    assert excinfo.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.list(params={"created": {"gte": "soon"}})  # type: ignore[typeddict-item]
    assert excinfo.value.param == "created[gte]"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.list(params={"type": "invoice.paid", "types": ["invoice.created"]})
    assert excinfo.value.param == "types"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.list(params={"types": [f"invoice.t{n}" for n in range(21)]})
    assert excinfo.value.param == "types"
