"""Resuming with `proration_behavior`; a `cancel_at` inside the first period; one event
per update."""

from __future__ import annotations

from typing import Any

import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop

APR = utc(2025, 4, 1)
MAY = utc(2025, 5, 1)
JUN = utc(2025, 6, 1)
RESUMED = utc(2025, 5, 16)  # 16 of May's 31 days are left


def _subscribe(shop: Shop, price: str, **params: Any) -> stripe.Subscription:
    return shop.client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": price}], **params}  # type: ignore[typeddict-item]
    )


def _paused_through_may_1(client: stripe.StripeClient) -> tuple[Shop, stripe.Subscription]:
    shop = open_shop(client, APR)
    sub = _subscribe(shop, shop.price(3100))
    shop.advance(utc(2025, 4, 10))
    client.v1.subscriptions.pause(sub.id)
    shop.advance(RESUMED)
    assert len(shop.invoices(sub.id)) == 1  # nothing billed while paused
    return shop, sub


def test_resuming_unchanged_prorates_the_period_that_began_while_paused(
    client: stripe.StripeClient,
) -> None:
    shop, sub = _paused_through_may_1(client)
    resumed = client.v1.subscriptions.resume(sub.id, params={"billing_cycle_anchor": "unchanged"})
    assert resumed.status == "active"
    assert (resumed.current_period_start, resumed.current_period_end) == (
        to_unix(MAY),
        to_unix(JUN),
    )
    pending = client.v1.invoice_items.list(params={"customer": shop.customer_id, "pending": True})
    # create_prorations (the default): 16/31 of 3100, pending for the next invoice.
    assert [(item.amount, item["proration"]) for item in pending.data] == [(1600, True)]
    assert pending.data[0].period.start == to_unix(RESUMED)
    shop.advance(utc(2025, 6, 1, 2))
    june = shop.invoices(sub.id)[-1]
    assert june.billing_reason == "subscription_cycle" and june.total == 3100 + 1600


def test_resuming_unchanged_with_always_invoice_and_with_none(
    client: stripe.StripeClient,
) -> None:
    shop, sub = _paused_through_may_1(client)
    client.v1.subscriptions.resume(
        sub.id,
        params={"billing_cycle_anchor": "unchanged", "proration_behavior": "always_invoice"},
    )
    now = shop.invoices(sub.id)[-1]
    assert now.billing_reason == "subscription_update"
    assert now.total == 1600 and now.status == "paid"
    assert (now.period_start, now.period_end) == (to_unix(RESUMED), to_unix(JUN))

    shop, sub = _paused_through_may_1(client)
    client.v1.subscriptions.resume(
        sub.id, params={"billing_cycle_anchor": "unchanged", "proration_behavior": "none"}
    )
    assert len(shop.invoices(sub.id)) == 1
    pending = client.v1.invoice_items.list(params={"customer": shop.customer_id, "pending": True})
    assert pending.data == []
    shop.advance(utc(2025, 6, 1, 2))
    assert shop.invoices(sub.id)[-1].total == 3100


def test_resuming_within_the_paid_period_prorates_nothing(client: stripe.StripeClient) -> None:
    shop = open_shop(client, APR)
    sub = _subscribe(shop, shop.price(3000))
    shop.advance(utc(2025, 4, 10))
    client.v1.subscriptions.pause(sub.id)
    shop.advance(utc(2025, 4, 20))
    client.v1.subscriptions.resume(
        sub.id,
        params={"billing_cycle_anchor": "unchanged", "proration_behavior": "always_invoice"},
    )
    assert len(shop.invoices(sub.id)) == 1
    shop.advance(utc(2025, 5, 1, 2))
    assert [i.total for i in shop.invoices(sub.id)] == [3000, 3000]


def test_a_cancel_at_inside_the_first_period_prorates_it(client: stripe.StripeClient) -> None:
    shop = open_shop(client, APR)
    sub = _subscribe(shop, shop.price(3000), cancel_at=to_unix(utc(2025, 4, 16)))
    first = shop.invoices(sub.id)[0]
    assert first.total == 1500  # 15 of April's 30 days
    line = first.lines.data[0]
    assert line["proration"] is True
    assert (line.period.start, line.period.end) == (to_unix(APR), to_unix(utc(2025, 4, 16)))
    assert (first.period_start, first.period_end) == (to_unix(APR), to_unix(utc(2025, 4, 16)))
    assert sub.current_period_end == to_unix(utc(2025, 4, 16))
    assert sub.cancel_at == to_unix(utc(2025, 4, 16))
    shop.advance(utc(2025, 5, 2))
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.ended_at == to_unix(utc(2025, 4, 16))
    assert len(shop.invoices(sub.id)) == 1


def test_a_cancel_at_in_the_first_period_under_proration_behavior_none(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, APR)
    sub = _subscribe(
        shop, shop.price(3000), cancel_at=to_unix(utc(2025, 4, 16)), proration_behavior="none"
    )
    assert shop.invoices(sub.id)[0].total == 3000
    assert sub.current_period_end == to_unix(MAY)


def test_a_cancel_at_before_the_anchor_cuts_the_partial_period(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 11))
    sub = _subscribe(
        shop,
        shop.price(3000),
        billing_cycle_anchor=to_unix(MAY),
        cancel_at=to_unix(utc(2025, 4, 21)),
    )
    # Apr 11 → Apr 21: 10 of the 30 days of the period that ends at the May 1 anchor.
    assert shop.invoices(sub.id)[0].total == 1000
    assert sub.current_period_end == to_unix(utc(2025, 4, 21))


def test_an_update_of_items_and_other_fields_is_one_event(client: stripe.StripeClient) -> None:
    shop = open_shop(client, APR)
    basic, pro = shop.price(1000, name="Basic"), shop.price(2000, name="Pro")
    sub = _subscribe(shop, basic)
    shop.advance(utc(2025, 4, 16))
    client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": sub["items"].data[0].id, "price": pro}],
            "proration_behavior": "always_invoice",
            "metadata": {"plan": "pro"},
            "description": "Upgraded",
            "cancel_at_period_end": True,
        },
    )
    events = client.v1.events.list(params={"type": "customer.subscription.updated"}).data
    assert len(events) == 1
    data = events[0].data
    assert data.object["items"]["data"][0]["price"]["id"] == pro
    assert data.object["metadata"].to_dict() == {"plan": "pro"}
    assert data.object["cancel_at_period_end"] is True
    previous = data.previous_attributes
    assert previous is not None
    assert previous["items"]["data"][0]["price"]["id"] == basic
    assert previous["description"] is None and previous["cancel_at_period_end"] is False
    assert "latest_invoice" in previous  # the change's invoice is in the same event
