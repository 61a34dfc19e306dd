"""`billing_cycle_anchor_config`: stored, shown, and the day it asks for kept every period."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop


def _subscribe(shop: Shop, price: str, **params: Any) -> stripe.Subscription:
    return shop.client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": price}], **params}  # type: ignore[typeddict-item]
    )


def test_the_31st_bills_on_the_last_day_of_every_month(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 2, 10))
    sub = _subscribe(shop, shop.price(2800), billing_cycle_anchor_config={"day_of_month": 31})
    assert sub.billing_cycle_anchor_config is not None
    assert sub.billing_cycle_anchor_config.to_dict() == {
        "day_of_month": 31,
        "hour": None,
        "minute": None,
        "month": None,
        "second": None,
    }
    # The next 31st, clamped to February.
    assert sub.billing_cycle_anchor == to_unix(utc(2025, 2, 28))
    first = shop.invoices(sub.id)[0]
    # Feb 10 → Feb 28 of the period Jan 31 → Feb 28 (28 days): 18/28 of 2800.
    assert first.total == 1800 and first.lines.data[0]["proration"] is True
    shop.advance(utc(2025, 6, 1))
    starts = [invoice.period_start for invoice in shop.invoices(sub.id)[1:]]
    # Not Mar 28, Apr 28: the configured day, clamped to each month's length.
    assert starts == [to_unix(utc(2025, m, d)) for m, d in ((2, 28), (3, 31), (4, 30), (5, 31))]
    assert all(invoice.total == 2800 for invoice in shop.invoices(sub.id)[1:])
    current = client.v1.subscriptions.retrieve(sub.id)
    assert current.current_period_end == to_unix(utc(2025, 6, 30))
    assert current.billing_cycle_anchor_config is not None


def test_a_yearly_config_on_february_29(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 3, 1))
    sub = _subscribe(
        shop,
        shop.price(36500, interval="year"),
        billing_cycle_anchor_config={"month": 2, "day_of_month": 29, "hour": 9, "minute": 30},
    )
    assert sub.billing_cycle_anchor == to_unix(utc(2026, 2, 28, 9, 30))
    shop.advance(utc(2027, 3, 1))
    shop.advance(utc(2028, 3, 1))
    starts = [invoice.period_start for invoice in shop.invoices(sub.id)[1:]]
    assert starts == [
        to_unix(utc(2026, 2, 28, 9, 30)),
        to_unix(utc(2027, 2, 28, 9, 30)),
        to_unix(utc(2028, 2, 29, 9, 30)),  # a leap year: the 29th itself
    ]


def test_resetting_the_anchor_drops_the_config(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 1, 10))
    sub = _subscribe(shop, shop.price(3100), billing_cycle_anchor_config={"day_of_month": 1})
    assert sub.billing_cycle_anchor == to_unix(utc(2025, 2, 1))
    shop.advance(utc(2025, 2, 15))
    reset = client.v1.subscriptions.update(
        sub.id, params={"billing_cycle_anchor": "now", "proration_behavior": "none"}
    )
    assert reset.billing_cycle_anchor == to_unix(utc(2025, 2, 15))
    assert reset.billing_cycle_anchor_config is None
    assert reset.current_period_end == to_unix(utc(2025, 3, 15))


def test_a_config_needs_a_monthly_or_yearly_price(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 1, 10))
    with pytest.raises(stripe.InvalidRequestError) as error:
        _subscribe(
            shop, shop.price(700, interval="week"), billing_cycle_anchor_config={"day_of_month": 1}
        )
    assert error.value.param == "billing_cycle_anchor_config"
    assert client.v1.subscriptions.list(params={"customer": shop.customer_id}).data == []


def test_the_part_of_a_period_between_a_trial_and_the_anchor_is_prorated(
    client: stripe.StripeClient,
) -> None:
    # The coworking case: every subscription bills on the 1st, after a week's trial.
    shop = open_shop(client, utc(2025, 1, 10))
    sub = _subscribe(
        shop, shop.price(3100), trial_period_days=7, billing_cycle_anchor_config={"day_of_month": 1}
    )
    assert sub.billing_cycle_anchor == to_unix(utc(2025, 2, 1))
    shop.advance(utc(2025, 2, 1, 2))
    trial, partial, first_full = shop.invoices(sub.id)
    assert trial.total == 0
    # Jan 17 → Feb 1: 15 of January's 31 days.
    assert (partial.period_start, partial.period_end) == (
        to_unix(utc(2025, 1, 17)),
        to_unix(utc(2025, 2, 1)),
    )
    assert partial.total == 1500 and partial.lines.data[0]["proration"] is True
    assert first_full.total == 3100 and first_full.period_start == to_unix(utc(2025, 2, 1))


def test_the_part_between_a_trial_and_the_anchor_is_free_under_proration_none(
    client: stripe.StripeClient,
) -> None:
    # Created with proration_behavior=none: the partial period up to the anchor is not
    # charged, after a trial as without one.
    shop = open_shop(client, utc(2025, 1, 10))
    sub = _subscribe(
        shop,
        shop.price(3100),
        trial_period_days=7,
        billing_cycle_anchor_config={"day_of_month": 1},
        proration_behavior="none",
    )
    shop.advance(utc(2025, 2, 1, 2))
    trial, partial, first_full = shop.invoices(sub.id)
    assert trial.total == 0
    assert (partial.period_start, partial.period_end) == (
        to_unix(utc(2025, 1, 17)),
        to_unix(utc(2025, 2, 1)),
    )
    assert partial.total == 0 and partial.status == "paid"
    assert first_full.total == 3100 and first_full.status == "paid"
