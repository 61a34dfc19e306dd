"""`GET/POST /v1/billing/settings` (Recur extension): gateway, delays, notices, dunning."""

from __future__ import annotations

import pytest
import stripe

from tests.support.payments import billing_settings


def test_defaults(client: stripe.StripeClient) -> None:
    assert billing_settings(client) == {
        "object": "billing_settings",
        "livemode": False,
        "payment_gateway": "simulated",
        "stripe": None,
        "finalization_delay": 3600,
        "incomplete_expiry": 82800,
        "notices": {"trial_will_end": 259200},
        "dunning": {
            "retry_schedule": [1, 3, 5, 7],
            "subscription_after_retries": "cancel",
            "invoice_after_retries": "open",
        },
    }


def test_only_what_is_given_changes_and_both_modes_see_it(
    client: stripe.StripeClient, live_client: stripe.StripeClient
) -> None:
    changed = billing_settings(
        client,
        finalization_delay=0,
        notices={"trial_will_end": 86400},
        dunning={"retry_schedule": [2, 4], "invoice_after_retries": "uncollectible"},
    )
    assert changed["finalization_delay"] == 0
    assert changed["notices"] == {"trial_will_end": 86400}
    assert changed["dunning"] == {
        "retry_schedule": [2, 4],
        "subscription_after_retries": "cancel",
        "invoice_after_retries": "uncollectible",
    }
    assert changed["incomplete_expiry"] == 82800
    live = billing_settings(live_client)
    assert live["livemode"] is True
    assert live["dunning"]["retry_schedule"] == [2, 4]
    assert billing_settings(client, payment_gateway="manual")["payment_gateway"] == "manual"


def test_bad_settings_are_refused_naming_the_parameter(client: stripe.StripeClient) -> None:
    cases = [
        ({"dunning": {"retry_schedule": [3, 1]}}, "dunning[retry_schedule][1]"),
        ({"dunning": {"retry_schedule": [0]}}, "dunning[retry_schedule][0]"),
        ({"dunning": {"retry_schedule": [61]}}, "dunning[retry_schedule][0]"),
        (
            {"dunning": {"subscription_after_retries": "delete"}},
            "dunning[subscription_after_retries]",
        ),
        ({"payment_gateway": "paypal"}, "payment_gateway"),
        ({"incomplete_expiry": 10}, "incomplete_expiry"),
        ({"finalization_delay": 99999999}, "finalization_delay"),
    ]
    for params, param in cases:
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.raw_request("post", "/v1/billing/settings", **params)
        assert refused.value.http_status == 400, params
        assert refused.value.param == param, params
    assert billing_settings(client)["dunning"]["retry_schedule"] == [1, 3, 5, 7]
