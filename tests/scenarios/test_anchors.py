"""Billing cycle anchors on test clocks: month ends, anchor configs, backdating."""

from __future__ import annotations

from datetime import datetime, timedelta

import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop


def walk(shop: Shop, to: datetime, step: timedelta = timedelta(days=27)) -> None:
    """Move the clock to `to` in steps (a clock advances at most two intervals at once)."""
    now = shop.client.v1.test_helpers.test_clocks.retrieve(shop.clock_id).frozen_time
    current = datetime.fromtimestamp(now, tz=to.tzinfo)
    while current < to:
        current = min(current + step, to)
        shop.advance(current)


def lines(invoice: stripe.Invoice) -> list[tuple[int, int, int, bool]]:
    """Each line as (amount, period start, period end, proration)."""
    return [
        (line.amount, line.period.start, line.period.end, bool(line.proration))
        for line in invoice.lines.data
    ]


def _periods(shop: Shop, subscription_id: str) -> list[tuple[int, int]]:
    return [(i.period_start, i.period_end) for i in shop.invoices(subscription_id)]


def test_anchor_on_the_31st_keeps_the_month_end(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 1, 31, 10))
    price = shop.price(3100)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": price}]}
    )
    assert sub.billing_cycle_anchor == to_unix(utc(2025, 1, 31, 10))
    walk(shop, utc(2025, 5, 31, 12))
    ends = [utc(2025, 2, 28, 10), utc(2025, 3, 31, 10), utc(2025, 4, 30, 10)]
    ends += [utc(2025, 5, 31, 10), utc(2025, 6, 30, 10)]
    starts = [utc(2025, 1, 31, 10), *ends[:-1]]
    assert _periods(shop, sub.id) == [
        (to_unix(s), to_unix(e)) for s, e in zip(starts, ends, strict=True)
    ]
    invoices = shop.invoices(sub.id)
    # A short month costs the same: a period is one interval, whatever its length.
    assert [i.amount_paid for i in invoices] == [3100] * 5
    assert all(i.status == "paid" for i in invoices)
    for invoice, start, end in zip(invoices, starts, ends, strict=True):
        assert lines(invoice) == [(3100, to_unix(start), to_unix(end), False)]


def test_anchor_on_the_31st_in_a_leap_year(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2024, 1, 31))
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": shop.price(1000)}]}
    )
    walk(shop, utc(2024, 3, 31, 2))
    assert _periods(shop, sub.id) == [
        (to_unix(utc(2024, 1, 31)), to_unix(utc(2024, 2, 29))),
        (to_unix(utc(2024, 2, 29)), to_unix(utc(2024, 3, 31))),
        (to_unix(utc(2024, 3, 31)), to_unix(utc(2024, 4, 30))),
    ]


def test_anchor_config_bills_the_partial_first_period_then_each_first(
    client: stripe.StripeClient,
) -> None:
    # The coworking case: memberships always renew on the 1st. Created on April 16 at
    # midnight, the partial period Apr 16 → May 1 is half of Apr 1 → May 1 (15 of 30 days).
    shop = open_shop(client, utc(2025, 4, 16))
    price = shop.price(2000)
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": price}],
            "billing_cycle_anchor_config": {"day_of_month": 1},
        }
    )
    assert sub.status == "active"
    assert sub.billing_cycle_anchor == to_unix(utc(2025, 5, 1))
    assert sub.items.data[0].current_period_start == to_unix(utc(2025, 4, 16))
    assert sub.items.data[0].current_period_end == to_unix(utc(2025, 5, 1))
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert first.status == "paid" and first.amount_paid == 1000
    assert lines(first) == [(1000, to_unix(utc(2025, 4, 16)), to_unix(utc(2025, 5, 1)), True)]
    walk(shop, utc(2025, 7, 1, 2))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [1000, 2000, 2000, 2000]
    assert [i.billing_reason for i in invoices] == ["subscription_create"] + [
        "subscription_cycle"
    ] * 3
    firsts = [utc(2025, 5, 1), utc(2025, 6, 1), utc(2025, 7, 1), utc(2025, 8, 1)]
    for invoice, start, end in zip(invoices[1:], firsts[:-1], firsts[1:], strict=True):
        assert lines(invoice) == [(2000, to_unix(start), to_unix(end), False)]


def test_anchor_config_without_proration_makes_the_partial_period_free(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 16))
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": shop.price(2000)}],
            "billing_cycle_anchor_config": {"day_of_month": 1},
            "proration_behavior": "none",
        }
    )
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert first.status == "paid" and first.total == 0 and first.amount_paid == 0
    assert [line.amount for line in first.lines.data] == [0]
    walk(shop, utc(2025, 5, 1, 2))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [0, 2000]
    assert lines(invoices[1]) == [(2000, to_unix(utc(2025, 5, 1)), to_unix(utc(2025, 6, 1)), False)]


def test_anchor_config_with_an_hour(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 16, 12))
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": shop.price(2000)}],
            "billing_cycle_anchor_config": {"day_of_month": 31, "hour": 6},
        }
    )
    # Clamped to April's length.
    assert sub.billing_cycle_anchor == to_unix(utc(2025, 4, 30, 6))


def test_future_billing_cycle_anchor(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 6, 1))
    anchor = utc(2025, 6, 11)
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": shop.price(3000)}],
            "billing_cycle_anchor": to_unix(anchor),
        }
    )
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    # Jun 1 → Jun 11 against the interval May 11 → Jun 11 (31 days): 3000 × 10/31 = 967.74.
    assert lines(first) == [(968, to_unix(utc(2025, 6, 1)), to_unix(anchor), True)]
    walk(shop, utc(2025, 7, 11, 2))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [968, 3000, 3000]
    assert _periods(shop, sub.id)[1:] == [
        (to_unix(utc(2025, 6, 11)), to_unix(utc(2025, 7, 11))),
        (to_unix(utc(2025, 7, 11)), to_unix(utc(2025, 8, 11))),
    ]


def test_anchor_in_the_past_is_refused(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 6, 1))
    try:
        client.v1.subscriptions.create(
            params={
                "customer": shop.customer_id,
                "items": [{"price": shop.price(3000)}],
                "billing_cycle_anchor": to_unix(utc(2025, 5, 1)),
            }
        )
    except stripe.InvalidRequestError as error:
        assert error.param == "billing_cycle_anchor"
    else:
        raise AssertionError("a past anchor was accepted")
    assert client.v1.subscriptions.list(params={"customer": shop.customer_id}).data == []
    assert client.v1.invoices.list(params={"customer": shop.customer_id}).data == []


def test_backdate_with_anchor_prorates_against_the_backdated_interval(
    client: stripe.StripeClient,
) -> None:
    # stripe-semantics.md: backdated to Feb 15 with anchor Mar 1 on 2000/month → 1000.
    shop = open_shop(client, utc(2025, 2, 20))
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": shop.price(2000)}],
            "backdate_start_date": to_unix(utc(2025, 2, 15)),
            "billing_cycle_anchor": to_unix(utc(2025, 3, 1)),
        }
    )
    assert sub.start_date == to_unix(utc(2025, 2, 15))
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert first.amount_paid == 1000
    assert lines(first) == [(1000, to_unix(utc(2025, 2, 15)), to_unix(utc(2025, 3, 1)), True)]
    walk(shop, utc(2025, 3, 1, 2))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [1000, 2000]
    assert lines(invoices[1]) == [(2000, to_unix(utc(2025, 3, 1)), to_unix(utc(2025, 4, 1)), False)]


def test_backdate_without_anchor_bills_every_period_since_the_start(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 3, 20))
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": shop.price(2000)}],
            "backdate_start_date": to_unix(utc(2025, 2, 10)),
        }
    )
    assert sub.billing_cycle_anchor == to_unix(utc(2025, 2, 10))
    assert sub.items.data[0].current_period_start == to_unix(utc(2025, 3, 10))
    assert sub.items.data[0].current_period_end == to_unix(utc(2025, 4, 10))
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert first.amount_paid == 4000
    assert lines(first) == [
        (2000, to_unix(utc(2025, 2, 10)), to_unix(utc(2025, 3, 10)), False),
        (2000, to_unix(utc(2025, 3, 10)), to_unix(utc(2025, 4, 10)), False),
    ]
    walk(shop, utc(2025, 4, 10, 2))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [4000, 2000]
    assert lines(invoices[1]) == [
        (2000, to_unix(utc(2025, 4, 10)), to_unix(utc(2025, 5, 10)), False)
    ]


def test_backdate_in_the_future_is_refused(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 3, 20))
    try:
        client.v1.subscriptions.create(
            params={
                "customer": shop.customer_id,
                "items": [{"price": shop.price(2000)}],
                "backdate_start_date": to_unix(utc(2025, 4, 20)),
            }
        )
    except stripe.InvalidRequestError as error:
        assert error.param == "backdate_start_date"
    else:
        raise AssertionError("a future backdate was accepted")
