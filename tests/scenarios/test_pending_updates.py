"""`payment_behavior=pending_if_incomplete`: a change that applies only once its invoice is
paid, and is discarded when it expires (Stripe's pending updates)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop

START = utc(2025, 4, 1)
HALF = utc(2025, 4, 16)  # half-way through April's 30 days
EXPIRY = HALF + timedelta(hours=23)


def _update(client: stripe.StripeClient, sub_id: str, **params: Any) -> stripe.Subscription:
    return client.v1.subscriptions.update(sub_id, params=params)  # type: ignore[arg-type]


def _declining_subscription(shop: Shop, price: str) -> stripe.Subscription:
    """Paid at creation; every later charge declines (the card fails after attaching)."""
    client = shop.client
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": price}]}
    )
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": shop.customer_id}
    )
    return _update(client, sub.id, default_payment_method=failing.id)


def _upgrade(client: stripe.StripeClient, sub: stripe.Subscription, price: str) -> Any:
    return _update(
        client,
        sub.id,
        items=[{"id": sub["items"].data[0].id, "price": price}],
        proration_behavior="always_invoice",
        payment_behavior="pending_if_incomplete",
    )


def test_an_unpaid_change_waits_and_applies_when_its_invoice_is_paid(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000, name="Basic"), shop.price(2000, name="Pro")
    sub = _declining_subscription(shop, basic)
    shop.advance(HALF)
    updated = _upgrade(client, sub, pro)
    # Stripe: 200, the subscription unchanged, the change in `pending_update`.
    assert updated.status == "active"
    assert updated["items"].data[0].price.id == basic
    pending = updated.pending_update
    assert pending is not None
    assert pending.expires_at == to_unix(EXPIRY)
    assert [item.price.id for item in pending.subscription_items] == [pro]
    assert pending.billing_cycle_anchor is None  # the cycle is kept
    invoice = client.v1.invoices.retrieve(updated.latest_invoice)  # type: ignore[arg-type]
    assert invoice.status == "open" and invoice.amount_remaining == 500  # -500 + 1000
    assert invoice.billing_reason == "subscription_update"
    assert shop.events("customer.subscription.updated")[-1:] == ["customer.subscription.updated"]

    good = client.v1.payment_methods.attach("pm_card_visa", params={"customer": shop.customer_id})
    client.v1.invoices.pay(invoice.id, params={"payment_method": good.id})
    applied = client.v1.subscriptions.retrieve(sub.id)
    assert applied.pending_update is None
    assert applied["items"].data[0].price.id == pro
    assert applied["items"].data[0].id == sub["items"].data[0].id
    assert applied.status == "active"
    assert shop.events("customer.subscription.pending_update") == [
        "customer.subscription.pending_update_applied"
    ]
    _update(client, sub.id, default_payment_method=good.id)
    shop.advance(utc(2025, 5, 1, 2))
    renewal = shop.invoices(sub.id)[-1]
    assert renewal.billing_reason == "subscription_cycle" and renewal.total == 2000


def test_an_unpaid_change_expires_and_its_invoice_is_voided(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000, name="Basic"), shop.price(2000, name="Pro")
    sub = _declining_subscription(shop, basic)
    shop.advance(HALF)
    updated = _upgrade(client, sub, pro)
    invoice_id = updated.latest_invoice
    shop.advance(EXPIRY - timedelta(seconds=1))
    assert client.v1.subscriptions.retrieve(sub.id).pending_update is not None
    shop.advance(EXPIRY)
    expired = client.v1.subscriptions.retrieve(sub.id)
    assert expired.pending_update is None
    assert expired["items"].data[0].price.id == basic
    assert expired.status == "active"  # the failed payment never made it past_due
    assert client.v1.invoices.retrieve(invoice_id).status == "void"  # type: ignore[arg-type]
    assert shop.events("customer.subscription.pending_update") == [
        "customer.subscription.pending_update_expired"
    ]
    good = client.v1.payment_methods.attach("pm_card_visa", params={"customer": shop.customer_id})
    _update(client, sub.id, default_payment_method=good.id)
    shop.advance(utc(2025, 5, 1, 2))
    assert shop.invoices(sub.id)[-1].total == 1000  # the old price: nothing changed


def test_a_paid_change_applies_at_once(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000, name="Basic"), shop.price(2000, name="Pro")
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": basic}]}
    )
    shop.advance(HALF)
    updated = _upgrade(client, sub, pro)
    assert updated.pending_update is None
    assert updated["items"].data[0].price.id == pro
    assert client.v1.invoices.retrieve(updated.latest_invoice).status == "paid"  # type: ignore[arg-type]
    assert shop.events("customer.subscription.pending_update") == []


def test_a_pending_cycle_reset_keeps_the_period_until_paid(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000, name="Basic"), shop.price(2000, name="Pro")
    sub = _declining_subscription(shop, basic)
    shop.advance(HALF)
    updated = _update(
        client,
        sub.id,
        items=[{"id": sub["items"].data[0].id, "price": pro}],
        billing_cycle_anchor="now",
        payment_behavior="pending_if_incomplete",
    )
    assert updated.pending_update is not None
    assert updated.pending_update.billing_cycle_anchor == to_unix(HALF)
    assert (updated.current_period_start, updated.current_period_end) == (
        to_unix(START),
        to_unix(utc(2025, 5, 1)),
    )
    good = client.v1.payment_methods.attach("pm_card_visa", params={"customer": shop.customer_id})
    client.v1.invoices.pay(updated.latest_invoice, params={"payment_method": good.id})  # type: ignore[arg-type]
    applied = client.v1.subscriptions.retrieve(sub.id)
    assert applied.billing_cycle_anchor == to_unix(HALF)
    assert (applied.current_period_start, applied.current_period_end) == (
        to_unix(HALF),
        to_unix(utc(2025, 5, 16)),
    )
    assert applied["items"].data[0].price.id == pro


def test_a_pending_item_update_through_subscription_items(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic = shop.price(1000, name="Basic")
    sub = _declining_subscription(shop, basic)
    shop.advance(HALF)
    item = sub["items"].data[0]
    client.v1.subscription_items.update(
        item.id,
        params={
            "quantity": 3,
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        },
    )
    current = client.v1.subscriptions.retrieve(sub.id)
    assert current["items"].data[0].quantity == 1
    assert current.pending_update is not None
    assert [i.quantity for i in current.pending_update.subscription_items] == [3]


def test_pending_if_incomplete_refuses_what_it_cannot_hold(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    sub = _declining_subscription(shop, shop.price(1000))
    with pytest.raises(stripe.InvalidRequestError) as other:
        _update(
            client,
            sub.id,
            items=[{"id": sub["items"].data[0].id, "quantity": 2}],
            metadata={"k": "v"},
            payment_behavior="pending_if_incomplete",
        )
    assert other.value.param == "metadata"
    unchanged = client.v1.subscriptions.retrieve(sub.id)
    assert unchanged["items"].data[0].quantity == 1
    assert unchanged.metadata.to_dict() == {}
    invoiced = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": shop.price(500, name="Locker")}],
            "collection_method": "send_invoice",
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as send_invoice:
        _update(
            client,
            invoiced.id,
            items=[{"id": invoiced["items"].data[0].id, "quantity": 2}],
            payment_behavior="pending_if_incomplete",
        )
    assert send_invoice.value.param == "payment_behavior"
