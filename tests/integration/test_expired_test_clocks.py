"""Test clocks past `deletes_after` are deleted by the worker, with their objects."""

from __future__ import annotations

import pytest
import stripe

from recur import bootstrap
from recur.domain.clock import FrozenClock, from_unix, utc
from recur.domain.clock import to_unix as unix
from recur.services.test_clocks import delete_expired_test_clocks
from recur.worker.loop import DEFAULT_JOBS


def test_a_clock_past_deletes_after_goes_with_its_customers_and_subscriptions(
    client: stripe.StripeClient, container: bootstrap.Container
) -> None:
    clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": unix(utc(2025, 1, 1)), "name": "expiring"}
    )
    assert clock.deletes_after == clock.created + 30 * 86400  # Stripe's 30 days, real time
    customer = client.v1.customers.create(
        params={
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    product = client.v1.products.create(params={"name": "Desk"})
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )

    # A second before: kept (the job runs on the worker's clock, not the test clock's).
    delete_expired_test_clocks(
        container.uow_factory, FrozenClock(from_unix(clock.deletes_after - 1))
    )
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).id == clock.id

    # Other tests' clocks on this database expire too: the job takes them in batches.
    expiry = FrozenClock(from_unix(clock.deletes_after))
    deleted = [delete_expired_test_clocks(container.uow_factory, expiry) for _ in range(50)]
    assert deleted[0] >= 1 and deleted[-1] == 0
    with pytest.raises(stripe.InvalidRequestError) as gone:
        client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert gone.value.http_status == 404
    assert client.v1.customers.retrieve(customer.id).deleted is True
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.ended_at == unix(utc(2025, 1, 1))  # canceled at the clock's time


def test_the_worker_runs_the_deletion_job() -> None:
    assert delete_expired_test_clocks in DEFAULT_JOBS
