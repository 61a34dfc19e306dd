"""Payment methods (test cards) through the official stripe SDK against a live server."""

from __future__ import annotations

import re
from typing import Any

import pytest
import stripe
from sqlalchemy import Engine, select

from recur.services.accounts import AccountKeys
from recur.storage.tables import metadata
from tests.support.server import LiveServer

VISA = "4242424242424242"
CARD = {"number": VISA, "exp_month": 12, "exp_year": 2040, "cvc": "123"}


def _card(number: str = VISA, **overrides: Any) -> dict[str, Any]:
    return {**CARD, "number": number, **overrides}


def _create(client: stripe.StripeClient, **params: Any) -> stripe.PaymentMethod:
    return client.v1.payment_methods.create(params={"type": "card", "card": _card(), **params})


def test_create_from_card_number(client: stripe.StripeClient) -> None:
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": _card(),
            "billing_details": {
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "address": {"line1": "12 Rue de la Paix", "postal_code": "75002"},
            },
            "metadata": {"source": "signup"},
        }
    )
    assert pm.id.startswith("pm_")
    assert pm.object == "payment_method"
    assert pm.type == "card"
    assert pm.livemode is False
    assert pm.customer is None
    assert pm.allow_redisplay == "unspecified"
    assert pm.metadata.to_dict() == {"source": "signup"}
    assert pm.billing_details.to_dict() == {
        "address": {
            "city": None,
            "country": None,
            "line1": "12 Rue de la Paix",
            "line2": None,
            "postal_code": "75002",
            "state": None,
        },
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "phone": None,
    }
    card = pm.card
    assert card is not None
    assert card.to_dict() == {
        "brand": "visa",
        "checks": {
            "address_line1_check": "pass",
            "address_postal_code_check": "pass",
            "cvc_check": "pass",
        },
        "country": "US",
        "display_brand": "visa",
        "exp_month": 12,
        "exp_year": 2040,
        "fingerprint": card.fingerprint,
        "funding": "credit",
        "generated_from": None,
        "last4": "4242",
        "networks": {"available": ["visa"], "preferred": None},
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }
    assert len(card.fingerprint or "") == 16
    assert "behavior" not in pm.to_dict()
    assert client.v1.payment_methods.retrieve(pm.id).to_dict() == pm.to_dict()


def test_fingerprint_identifies_a_card_within_an_account(
    client: stripe.StripeClient, server: LiveServer, container: Any
) -> None:
    from recur.services import accounts

    first = _create(client)
    again = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    other = client.v1.payment_methods.create(
        params={"type": "card", "card": _card("5555555555554444")}
    )
    assert first.card and again.card and other.card
    assert again.card.fingerprint == first.card.fingerprint
    assert other.card.fingerprint != first.card.fingerprint
    assert other.card.brand == "mastercard"
    with container.uow_factory(None) as uow:
        keys = accounts.create_account(uow, "Another merchant", container.clock.now())
    elsewhere = _create(server.stripe_client(keys.test_secret_key))
    assert elsewhere.card and elsewhere.card.fingerprint != first.card.fingerprint


def test_card_tokens(client: stripe.StripeClient) -> None:
    amex = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_amex"}})
    assert amex.card is not None
    assert (amex.card.brand, amex.card.last4, amex.card.display_brand) == (
        "amex",
        "0005",
        "american_express",
    )
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_nope"}})
    assert excinfo.value.param == "card[token]"
    assert excinfo.value.code == "resource_missing"


def test_retrieving_a_test_id_gives_a_fresh_object(client: stripe.StripeClient) -> None:
    first = client.v1.payment_methods.retrieve("pm_card_mastercard")
    second = client.v1.payment_methods.retrieve("pm_card_mastercard")
    assert first.id.startswith("pm_") and first.id != "pm_card_mastercard"
    assert first.id != second.id
    assert first.card is not None and first.card.brand == "mastercard"
    assert first.card.last4 == "4444"
    assert first.customer is None


@pytest.mark.parametrize(
    ("card", "param", "code"),
    [
        ({"number": "4242424242424241"}, "card[number]", "incorrect_number"),
        ({"number": "not a number"}, "card[number]", "incorrect_number"),
        ({"exp_year": 2020}, "card[exp_year]", "invalid_expiry_year"),
        ({"exp_year": 2300}, "card[exp_year]", "invalid_expiry_year"),
        ({"exp_month": 13}, "card[exp_month]", "invalid_expiry_month"),
        ({"exp_month": "ab"}, "card[exp_month]", "invalid_expiry_month"),
        ({"cvc": "12"}, "card[cvc]", "invalid_cvc"),
    ],
)
def test_invalid_cards_are_card_errors(
    client: stripe.StripeClient, card: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.payment_methods.create(params={"type": "card", "card": {**CARD, **card}})
    assert excinfo.value.http_status == 402
    assert excinfo.value.param == param
    assert excinfo.value.code == code
    assert excinfo.value.json_body is not None
    assert excinfo.value.json_body["error"]["type"] == "card_error"
    if code == "incorrect_number":
        assert excinfo.value.user_message == "Your card number is incorrect."
    assert "424242" not in str(excinfo.value.json_body)


def test_missing_card_fields(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.create(params={"type": "card"})
    assert excinfo.value.param == "card"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.create(params={"type": "card", "card": {"number": VISA}})
    assert excinfo.value.param == "card[exp_month]"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.create(params={"type": "sepa_debit"})  # type: ignore[typeddict-item]
    assert excinfo.value.param == "type"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.create(
            params={"type": "card", "card": {"token": "tok_visa", "number": VISA}}
        )
    assert excinfo.value.param == "card[token]"


def test_no_card_number_or_cvc_is_stored(
    client: stripe.StripeClient, engine: Engine, server: LiveServer, account: AccountKeys
) -> None:
    numbers = ["4000056655665556", "4000000000000341", "378282246310005", "6011000990139424"]
    for index, number in enumerate(numbers):
        # Idempotent requests store their response: it must not hold the number either.
        pm = client.v1.payment_methods.create(
            params={"type": "card", "card": _card(number, cvc="9876")},
            options={"idempotency_key": f"{account.account}-card-{index}"},
        )
        assert pm.card is not None and pm.card.last4 == number[-4:]
    # Publishable keys send card numbers too, and a failed attempt must leave no trace.
    pk = server.stripe_client(account.test_publishable_key)
    pk.v1.payment_methods.create(params={"type": "card", "card": _card("4000002500003155")})
    with pytest.raises(stripe.CardError):
        client.v1.payment_methods.create(
            params={"type": "card", "card": _card("4000002760003184", exp_year=2001)}
        )
    numbers += ["4000002500003155", "4000002760003184", VISA]
    with engine.connect() as connection:
        dump = "\n".join(
            repr(tuple(row))
            for table in metadata.sorted_tables
            for row in connection.execute(select(table))
        )
        # This account's rows, and every row of the tables that belong to no account: a
        # 4-digit CVC can occur by chance elsewhere (another test's amount or quantity).
        ours = "\n".join(
            repr(tuple(row))
            for table in metadata.sorted_tables
            for row in connection.execute(
                select(table).where(table.c.account_id == account.account)
                if "account_id" in table.c
                else select(table)
            )
        )
    # A 4-digit CVC can occur by chance inside a hex digest; stored, it would stand alone.
    assert re.search(r"(?<![0-9A-Za-z])9876(?![0-9A-Za-z])", ours) is None
    for number in numbers:
        assert number not in dump
        assert number[:12] not in dump


def test_attach_detach_round_trip(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "Grace"})
    pm = _create(client)
    attached = client.v1.payment_methods.attach(pm.id, params={"customer": customer.id})
    assert attached.customer == customer.id
    # Attaching again to the same customer changes nothing.
    again = client.v1.payment_methods.attach(pm.id, params={"customer": customer.id})
    assert again.customer == customer.id

    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [m.id for m in listed.data] == [pm.id]
    assert listed.url == f"/v1/customers/{customer.id}/payment_methods"
    fetched = client.v1.customers.payment_methods.retrieve(customer.id, pm.id)
    assert fetched.id == pm.id

    other = client.v1.customers.create(params={"name": "Other"})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.attach(pm.id, params={"customer": other.id})
    assert excinfo.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.payment_methods.retrieve(other.id, pm.id)
    assert excinfo.value.http_status == 404

    detached = client.v1.payment_methods.detach(pm.id)
    assert detached.customer is None
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.detach(pm.id)
    assert excinfo.value.http_status == 400
    # Stripe: a detached payment method may not be used again.
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.attach(pm.id, params={"customer": customer.id})


def test_attach_errors(client: stripe.StripeClient) -> None:
    pm = _create(client)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.attach(pm.id, params={"customer": "cus_missing"})
    assert excinfo.value.http_status == 404
    assert excinfo.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.attach(pm.id, params={})  # type: ignore[typeddict-item]
    assert excinfo.value.param == "customer"
    customer = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.attach("pm_missing", params={"customer": customer.id})
    assert excinfo.value.http_status == 404
    client.v1.customers.delete(customer.id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.attach(pm.id, params={"customer": customer.id})
    assert excinfo.value.http_status == 404


def test_attaching_a_test_id_creates_a_new_method(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create()
    first = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    second = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    assert first.id != second.id
    assert first.customer == second.customer == customer.id
    assert first.card and second.card and first.card.fingerprint == second.card.fingerprint
    ids = {m.id for m in client.v1.customers.payment_methods.list(customer.id).data}
    assert ids == {first.id, second.id}


@pytest.mark.parametrize(
    ("token", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedStolenCard", "card_declined", "stolen_card"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
    ],
)
def test_decline_cards_fail_on_attach(
    client: stripe.StripeClient, token: str, code: str, decline_code: str
) -> None:
    customer = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.payment_methods.attach(token, params={"customer": customer.id})
    assert excinfo.value.http_status == 402
    assert excinfo.value.code == code
    assert excinfo.value.json_body is not None
    assert excinfo.value.json_body["error"]["decline_code"] == decline_code
    assert client.v1.payment_methods.list(params={"customer": customer.id}).data == []


def test_customer_fail_card_attaches(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create()
    pm = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer.id}
    )
    assert pm.customer == customer.id
    assert pm.card is not None and pm.card.last4 == "0341"


def test_update(client: stripe.StripeClient) -> None:
    pm = _create(client, billing_details={"name": "Ada", "address": {"city": "Paris"}})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.update(pm.id, params={"metadata": {"a": "1"}})
    assert excinfo.value.http_status == 400
    customer = client.v1.customers.create()
    client.v1.payment_methods.attach(pm.id, params={"customer": customer.id})
    updated = client.v1.payment_methods.update(
        pm.id,
        params={
            "billing_details": {"email": "ada@example.com", "address": {"postal_code": "75002"}},
            "card": {"exp_month": 3, "exp_year": 2041},
            "metadata": {"a": "1", "b": "2"},
        },
    )
    assert updated.billing_details.name == "Ada"
    assert updated.billing_details.email == "ada@example.com"
    assert updated.billing_details.address is not None
    assert updated.billing_details.address.city == "Paris"
    assert updated.billing_details.address.postal_code == "75002"
    assert updated.card is not None
    assert (updated.card.exp_month, updated.card.exp_year) == (3, 2041)
    assert updated.metadata.to_dict() == {"a": "1", "b": "2"}
    again = client.v1.payment_methods.update(
        pm.id, params={"metadata": {"a": ""}, "billing_details": {"name": ""}}
    )
    assert again.metadata.to_dict() == {"b": "2"}
    assert again.billing_details.name is None
    with pytest.raises(stripe.CardError) as card_error:
        client.v1.payment_methods.update(pm.id, params={"card": {"exp_year": 2001}})
    assert card_error.value.param == "card[exp_year]"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.update(pm.id, params={"card": {"number": VISA}})  # type: ignore[typeddict-unknown-key]
    assert excinfo.value.param == "card[number]"


def test_list_filters_and_pagination(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create()
    attached = [
        client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
        for _ in range(3)
    ]
    loose = _create(client)
    mine = client.v1.payment_methods.list(params={"customer": customer.id, "type": "card"})
    assert [m.id for m in mine.data] == [m.id for m in reversed(attached)]
    assert (
        client.v1.payment_methods.list(params={"customer": customer.id, "type": "sepa_debit"}).data
        == []
    )
    everything = client.v1.payment_methods.list(params={"limit": 100})
    assert {m.id for m in everything.data} >= {loose.id, *(m.id for m in attached)}
    page = client.v1.customers.payment_methods.list(customer.id, params={"limit": 2})
    assert page.has_more is True and len(page.data) == 2
    walked = [m.id for m in page.auto_paging_iter()]
    assert walked == [m.id for m in reversed(attached)]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.list(params={"customer": "cus_missing"})
    assert excinfo.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.payment_methods.list("cus_missing")
    assert excinfo.value.http_status == 404


def test_expand_customer(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "Expanded"})
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    fetched = client.v1.payment_methods.retrieve(pm.id, params={"expand": ["customer"]})
    assert isinstance(fetched.customer, stripe.Customer)
    assert fetched.customer.name == "Expanded"
    listed = client.v1.customers.payment_methods.list(
        customer.id, params={"expand": ["data.customer"]}
    )
    assert listed.data[0].to_dict()["customer"]["id"] == customer.id


def test_publishable_key_may_only_create(
    client: stripe.StripeClient, server: LiveServer, account: AccountKeys
) -> None:
    pk = server.stripe_client(account.test_publishable_key)
    pm = pk.v1.payment_methods.create(params={"type": "card", "card": _card()})
    assert pm.id.startswith("pm_")
    customer = client.v1.customers.create()
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_700_000_000})
    forbidden = [
        lambda: pk.v1.payment_methods.retrieve(pm.id),
        lambda: pk.v1.payment_methods.update(pm.id, params={"metadata": {"a": "b"}}),
        lambda: pk.v1.payment_methods.attach(pm.id, params={"customer": customer.id}),
        lambda: pk.v1.payment_methods.detach(pm.id),
        lambda: pk.v1.payment_methods.list(),
        lambda: pk.v1.customers.payment_methods.list(customer.id),
        lambda: pk.v1.customers.payment_methods.retrieve(customer.id, pm.id),
        lambda: pk.v1.customers.create(params={"payment_method": "pm_card_visa"}),
        lambda: pk.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_700_000_000}),
        lambda: pk.v1.test_helpers.test_clocks.retrieve(clock.id),
        lambda: pk.v1.test_helpers.test_clocks.list(),
        lambda: pk.v1.test_helpers.test_clocks.advance(
            clock.id, params={"frozen_time": 1_700_000_100}
        ),
        lambda: pk.v1.test_helpers.test_clocks.delete(clock.id),
    ]
    for call in forbidden:
        with pytest.raises(stripe.StripeError) as excinfo:
            call()
        assert excinfo.value.http_status == 403
    assert client.v1.payment_methods.retrieve(pm.id).id == pm.id


def test_livemode_isolation(client: stripe.StripeClient, live_client: stripe.StripeClient) -> None:
    pm = _create(client)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.payment_methods.retrieve(pm.id)
    assert excinfo.value.http_status == 404
    assert pm.id not in {m.id for m in live_client.v1.payment_methods.list().data}
    live_customer = live_client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.payment_methods.attach(pm.id, params={"customer": live_customer.id})
    assert excinfo.value.http_status == 404
    # Stripe refuses test cards in live mode; real numbers belong at the gateway.
    with pytest.raises(stripe.CardError) as card_error:
        live_client.v1.payment_methods.create(params={"type": "card", "card": _card()})
    assert card_error.value.json_body is not None
    assert card_error.value.json_body["error"]["decline_code"] == "test_mode_live_card"
    with pytest.raises(stripe.CardError):
        live_client.v1.payment_methods.attach("pm_card_visa", params={"customer": live_customer.id})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.payment_methods.create(
            params={"type": "card", "card": _card("4111111111111111")}
        )
    assert excinfo.value.param == "card[number]"
