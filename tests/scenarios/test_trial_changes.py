"""`trial_end` on update with a timestamp: extend or shorten a trial, or start one on an
active subscription (Stripe's way to move a billing date), its unused paid time credited
as `proration_behavior` says."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop

APR = utc(2025, 4, 1)  # a 30-day month: half-way is exactly April 16
HALF = utc(2025, 4, 16)


def _subscribe(shop: Shop, price: str, **params: Any) -> stripe.Subscription:
    return shop.client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": price}], **params}  # type: ignore[typeddict-item]
    )


def _update(client: stripe.StripeClient, sub_id: str, **params: Any) -> stripe.Subscription:
    return client.v1.subscriptions.update(sub_id, params=params)  # type: ignore[arg-type]


def test_extending_a_trial_moves_its_end_its_notice_and_the_first_charge(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    sub = _subscribe(shop, shop.price(2000), trial_period_days=14)
    shop.advance(utc(2025, 1, 13))  # the notice for Jan 15 went out on Jan 12
    extended = _update(client, sub.id, trial_end=to_unix(utc(2025, 1, 25)))
    assert extended.status == "trialing"
    assert extended.trial_end == to_unix(utc(2025, 1, 25))
    assert extended.current_period_end == to_unix(utc(2025, 1, 25))
    assert extended.billing_cycle_anchor == to_unix(utc(2025, 1, 25))
    shop.advance(utc(2025, 1, 24))
    assert client.v1.subscriptions.retrieve(sub.id).status == "trialing"  # not Jan 15
    assert (
        shop.events("customer.subscription.trial_will_end")
        == ["customer.subscription.trial_will_end"] * 2
    )  # Jan 12, then Jan 22 for the new end
    shop.advance(utc(2025, 1, 25, 2))
    paid = shop.invoices(sub.id)[1]
    assert paid.total == 2000 and paid.status == "paid"
    assert (paid.period_start, paid.period_end) == (
        to_unix(utc(2025, 1, 25)),
        to_unix(utc(2025, 2, 25)),
    )
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_shortening_a_trial_to_within_three_days_sends_no_late_notice(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    sub = _subscribe(shop, shop.price(2000), trial_period_days=30)
    shop.advance(utc(2025, 1, 5))
    _update(client, sub.id, trial_end=to_unix(utc(2025, 1, 7)))
    shop.advance(utc(2025, 1, 7, 2))
    assert shop.events("customer.subscription.trial_will_end") == []
    invoices = shop.invoices(sub.id)
    assert [i.total for i in invoices] == [0, 2000]
    assert invoices[1].period_start == to_unix(utc(2025, 1, 7))


def test_a_trial_on_an_active_subscription_credits_its_unused_time(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, APR)
    sub = _subscribe(shop, shop.price(3000))
    shop.advance(HALF)
    moved = _update(client, sub.id, trial_end=to_unix(utc(2025, 5, 10)))
    assert moved.status == "trialing"
    assert (moved.trial_start, moved.trial_end) == (to_unix(HALF), to_unix(utc(2025, 5, 10)))
    assert (moved.current_period_start, moved.current_period_end) == (
        to_unix(HALF),
        to_unix(utc(2025, 5, 10)),
    )
    pending = client.v1.invoice_items.list(params={"customer": shop.customer_id, "pending": True})
    assert [(item.amount, item["proration"]) for item in pending.data] == [(-1500, True)]
    shop.advance(utc(2025, 6, 10, 2))
    totals = [(i.billing_reason, i.total) for i in shop.invoices(sub.id)]
    # May 10: the new cycle's first period, less the credit; then every 10th.
    assert totals == [
        ("subscription_create", 3000),
        ("subscription_cycle", 1500),
        ("subscription_cycle", 3000),
    ]
    assert shop.invoices(sub.id)[1].period_start == to_unix(utc(2025, 5, 10))


def test_a_trial_on_an_active_subscription_under_each_proration_behavior(
    client: stripe.StripeClient,
) -> None:
    for behavior, balance, invoices in (("none", 0, 1), ("always_invoice", -1500, 2)):
        shop = open_shop(client, APR)
        sub = _subscribe(shop, shop.price(3000))
        shop.advance(HALF)
        _update(client, sub.id, trial_end=to_unix(utc(2025, 5, 10)), proration_behavior=behavior)
        assert len(shop.invoices(sub.id)) == invoices, behavior
        assert client.v1.customers.retrieve(shop.customer_id).balance == balance, behavior
        pending = client.v1.invoice_items.list(
            params={"customer": shop.customer_id, "pending": True}
        )
        assert pending.data == [], behavior


def test_trial_end_errors_name_the_parameter_and_change_nothing(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, APR)
    active = _subscribe(shop, shop.price(3000))
    arrears = _subscribe(shop, shop.price(1000, name="Locker"), invoice_timing="end")
    cases: list[tuple[str, Any]] = [
        (active.id, to_unix(APR) - 60),  # in the past
        (active.id, to_unix(utc(2027, 4, 2))),  # more than two years away
        (arrears.id, to_unix(utc(2025, 4, 20))),  # billed in arrears
    ]
    for sub_id, trial_end in cases:
        with pytest.raises(stripe.InvalidRequestError) as error:
            _update(client, sub_id, trial_end=trial_end)
        assert error.value.param == "trial_end", trial_end
    # No trial to end: accepted, nothing changes.
    assert _update(client, active.id, trial_end="now").status == "active"
    client.v1.subscriptions.pause(active.id)
    with pytest.raises(stripe.InvalidRequestError) as paused:
        _update(client, active.id, trial_end=to_unix(utc(2025, 4, 20)))
    assert paused.value.param == "trial_end"
    current = client.v1.subscriptions.retrieve(active.id)
    assert current.trial_end is None and current.status == "paused"
    assert shop.events("customer.subscription.updated") == []
