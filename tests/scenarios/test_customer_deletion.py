"""A deleted customer is never billed again; a trial's end never moves into the past."""

from __future__ import annotations

import pytest
import stripe

from recur.domain.clock import utc
from tests.support.billing import open_shop


def test_deleting_a_customer_cancels_its_subscriptions(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 3, 1))
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": shop.price(1500)}]}
    )
    client.v1.customers.delete(shop.customer_id)
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.ended_at == ended.canceled_at
    shop.advance(utc(2025, 5, 2))
    assert [i.billing_reason for i in shop.invoices(sub.id)] == ["subscription_create"]
    assert "customer.subscription.deleted" in shop.events("customer.subscription.")


def test_deleting_a_test_clock_cancels_its_customers_subscriptions(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 3, 1))
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": shop.price(1500)}]}
    )
    client.v1.test_helpers.test_clocks.delete(shop.clock_id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_moving_a_trial_end_into_the_past_is_refused(client: stripe.StripeClient) -> None:
    # Moving it to a future date is supported: tests/scenarios/test_trial_changes.py.
    shop = open_shop(client, utc(2025, 3, 1))
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": shop.price(1500)}],
            "trial_period_days": 14,
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscriptions.update(sub.id, params={"trial_end": sub.created - 86400})
    assert excinfo.value.param == "trial_end"
    assert client.v1.subscriptions.retrieve(sub.id).trial_end == sub.trial_end
