"""`POST /v1/billing/settings` with `payment_gateway=stripe` and `stripe[…]` (extension):
per-mode credentials, written once and shown only by their last four characters."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from recur import bootstrap
from recur.domain.errors import InvalidRequest
from recur.domain.tenancy import Scope
from recur.services import stripe_settings
from recur.services.accounts import AccountKeys
from tests.support.payments import billing_settings

SECRET_KEY = "sk_test_51RecurExampleKey0000abcd"
WEBHOOK_SECRET = "whsec_RecurExampleSecretwxyz"


def _refused(client: stripe.StripeClient, **params: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.raw_request("post", "/v1/billing/settings", **params)
    assert refused.value.http_status == 400
    return refused.value


def test_the_keys_are_kept_per_mode_and_never_shown_again(
    client: stripe.StripeClient, live_client: stripe.StripeClient, account: AccountKeys
) -> None:
    changed = billing_settings(
        client,
        payment_gateway="stripe",
        stripe={
            "secret_key": SECRET_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "api_base": "http://127.0.0.1:12111/",
        },
    )
    assert changed["payment_gateway"] == "stripe"
    shown = changed["stripe"]
    assert shown["secret_key_last4"] == "abcd"
    assert shown["webhook_secret_last4"] == "wxyz"
    assert shown["api_base"] == "http://127.0.0.1:12111"
    assert shown["webhook_url"].endswith(f"/gateways/stripe/webhook/{account.account}")
    for body in (changed, billing_settings(client)):
        text = json.dumps(body)
        assert SECRET_KEY not in text and WEBHOOK_SECRET not in text
    # Live mode shares the gateway but not the test keys.
    live = billing_settings(live_client)
    assert live["payment_gateway"] == "stripe" and live["stripe"] is None
    # Only what is given changes; an empty value removes one.
    billing_settings(client, stripe={"webhook_secret": ""})
    kept = billing_settings(client)["stripe"]
    assert kept["secret_key_last4"] == "abcd" and kept["webhook_secret_last4"] is None


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"stripe": {"secret_key": "sk_live_51Recur"}}, "stripe[secret_key]"),
        ({"stripe": {"secret_key": "pk_test_51Recur"}}, "stripe[secret_key]"),
        ({"stripe": {"secret_key": "sk_test_has spaces"}}, "stripe[secret_key]"),
        ({"stripe": {"webhook_secret": "secret"}}, "stripe[webhook_secret]"),
        ({"stripe": {"api_base": "ftp://127.0.0.1"}}, "stripe[api_base]"),
        ({"stripe": {"api_base": "http://127.0.0.1/?x=1"}}, "stripe[api_base]"),
        ({"stripe": {"api_base": "not a url"}}, "stripe[api_base]"),
        ({"stripe": {"unknown": "x"}}, "stripe[unknown]"),
        ({"payment_gateway": "stripe"}, "stripe[secret_key]"),
    ],
)
def test_bad_credentials_are_refused_naming_the_parameter(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    assert _refused(client, **params).param == param
    assert billing_settings(client)["payment_gateway"] == "simulated"


def test_live_mode_wants_a_live_key_and_https(live_client: stripe.StripeClient) -> None:
    assert _refused(live_client, stripe={"secret_key": SECRET_KEY}).param == "stripe[secret_key]"
    refused = _refused(live_client, stripe={"api_base": "http://api.example.com"})
    assert refused.param == "stripe[api_base]"
    live = billing_settings(live_client, stripe={"secret_key": "rk_live_51RecurRestricted9876"})
    assert live["stripe"]["secret_key_last4"] == "9876"


def test_the_key_of_an_account_on_stripe_cannot_be_removed(client: stripe.StripeClient) -> None:
    billing_settings(client, payment_gateway="stripe", stripe={"secret_key": SECRET_KEY})
    assert _refused(client, stripe={"secret_key": ""}).param == "stripe[secret_key]"
    billing_settings(client, payment_gateway="manual")
    billing_settings(client, stripe={"secret_key": ""})
    assert billing_settings(client)["stripe"] is None


def test_a_private_api_base_is_refused_unless_the_installation_allows_it(
    container: bootstrap.Container, account: AccountKeys
) -> None:
    with container.uow_factory(Scope(account.account, False)) as uow:
        for url in ("http://10.0.0.7", "http://127.0.0.1:8420", "http://[::1]:8420"):
            with pytest.raises(InvalidRequest) as refused:
                stripe_settings.update_stripe_config(uow, {"api_base": url}, allow_private=False)
            assert refused.value.param == "stripe[api_base]"
        allowed = stripe_settings.update_stripe_config(
            uow, {"api_base": "http://127.0.0.1:8420"}, allow_private=True
        )
        assert allowed.api_base == "http://127.0.0.1:8420"
