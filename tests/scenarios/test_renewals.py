"""Subscriptions renewing through time on test clocks."""

from __future__ import annotations

import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import open_shop


def test_monthly_subscription_renews_for_a_year(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 1, 15, 10))
    price = shop.price(2000)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": price}]}
    )
    assert sub.status == "active"
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert first.status == "paid" and first.amount_paid == 2000
    assert first.billing_reason == "subscription_create"
    assert first.number is not None and first.number.endswith("-0001")

    shop.advance(utc(2026, 1, 15, 12))  # a year and two hours: the last draft is finalized
    invoices = shop.invoices(sub.id)
    assert len(invoices) == 13
    assert [i.billing_reason for i in invoices[1:]] == ["subscription_cycle"] * 12
    assert all(i.status == "paid" and i.amount_paid == 2000 for i in invoices)
    starts = [i.period_start for i in invoices]
    assert starts == [to_unix(utc(2025 + (m // 12), m % 12 + 1, 15, 10)) for m in range(13)]
    numbers = [i.number for i in invoices]
    assert [n.rsplit("-", 1)[1] for n in numbers] == [f"{k:04d}" for k in range(1, 14)]  # type: ignore[union-attr]
    renewed = client.v1.subscriptions.retrieve(sub.id)
    assert renewed.current_period_start == to_unix(utc(2026, 1, 15, 10))
    assert renewed.items.data[0].current_period_end == to_unix(utc(2026, 2, 15, 10))
    line = invoices[5].lines.data[0]
    assert line.amount == 2000 and line.period.start == invoices[5].period_start
    assert shop.events("invoice.paid") == ["invoice.paid"] * 13
    created = shop.events("customer.subscription.")
    assert created[0] == "customer.subscription.created"
    assert "customer.subscription.updated" in created[1:]  # each renewal moves the period
