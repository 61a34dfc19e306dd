"""Payment methods collected by Stripe, adopted by Recur, against localstripe.

A merchant on the Stripe gateway collects cards with Stripe.js or Checkout: the card is a
`pm_…` at Stripe that Recur has never seen. Here such a card is made directly at
localstripe (the official client pointed at it, as Stripe.js would make it), then given to
Recur through the official client as merchants' code does with Stripe itself: attached,
given on customer creation, made the default, charged. Checked on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from sqlalchemy import select

from recur import bootstrap
from recur.domain.tenancy import Scope
from recur.services.accounts import AccountKeys
from recur.storage.repositories.accounts import AccountRepository
from recur.storage.tables import payment_methods
from tests.support.localstripe import (
    STRIPE_KEY,
    FaultProxy,
    Localstripe,
    proxied,
    start_localstripe,
    stripe_at,
    stripe_timeout,
)
from tests.support.payments import billing_settings

LIVE_KEY = "sk_live_recurlocalstripe"


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localstripe]:
    """localstripe for this module, on a free port."""
    yield from start_localstripe(tmp_path_factory.mktemp("localstripe-adoption"))


@pytest.fixture(scope="module", autouse=True)
def short_stripe_timeout(container: bootstrap.Container) -> Iterator[None]:
    """Lost answers time out quickly in these tests."""
    with stripe_timeout(container, 1.5):
        yield


@pytest.fixture
def proxy(localstripe: Localstripe) -> Iterator[FaultProxy]:
    """A proxy in front of localstripe, for this test (it records what Recur sends)."""
    with proxied(localstripe) as started:
        yield started


@pytest.fixture
def stripe_js(localstripe: Localstripe) -> stripe.StripeClient:
    """The official client pointed at localstripe itself: the merchant's side of Stripe."""
    return stripe_at(localstripe)


@pytest.fixture
def on_stripe(client: stripe.StripeClient, proxy: FaultProxy) -> stripe.StripeClient:
    """The test's account, on the Stripe gateway (localstripe behind the proxy)."""
    billing_settings(
        client, payment_gateway="stripe", stripe={"secret_key": STRIPE_KEY, "api_base": proxy.url}
    )
    return client


def _collected(
    stripe_js: stripe.StripeClient, number: str = "4242424242424242", **params: Any
) -> stripe.PaymentMethod:
    """A card collected by Stripe (as Stripe.js creates one): it exists only at Stripe."""
    return stripe_js.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 11, "exp_year": 2031, "cvc": "123"},
            **params,
        }
    )


def _price(client: stripe.StripeClient, amount: int = 1500) -> str:
    product = client.v1.products.create(params={"name": "Desk"})
    return client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": amount,
            "recurring": {"interval": "month"},
        }
    ).id


def _intent_at_stripe(stripe_js: stripe.StripeClient, key: str) -> dict[str, Any]:
    found = stripe_js.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    (intent,) = [
        i.to_dict() for i in found if (i.to_dict().get("metadata") or {}).get("recur_key") == key
    ]
    return intent


def _stored(container: bootstrap.Container, method_id: str) -> dict[str, Any]:
    with container.uow_factory(None, readonly=True) as uow:
        row = (
            uow.connection.execute(select(payment_methods).where(payment_methods.c.id == method_id))
            .mappings()
            .one()
        )
        return dict(row)


def _pay_with_adopted_card(
    client: stripe.StripeClient, stripe_js: stripe.StripeClient, customer: str
) -> tuple[stripe.Subscription, dict[str, Any]]:
    sub = client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": _price(client)}]}
    )
    invoice = client.v1.invoices.retrieve(str(sub.latest_invoice))
    return sub, _intent_at_stripe(stripe_js, f"{invoice.id}:attempt:1")


def test_a_card_collected_by_stripe_is_adopted_on_attach_and_charged_there(
    on_stripe: stripe.StripeClient,
    stripe_js: stripe.StripeClient,
    proxy: FaultProxy,
    container: bootstrap.Container,
) -> None:
    card = _collected(stripe_js, billing_details={"name": "Ada Lovelace"})
    customer = on_stripe.v1.customers.create(params={"name": "Ada"})
    attached = on_stripe.v1.payment_methods.attach(card.id, params={"customer": customer.id})
    # Recur's id is Stripe's: the merchant's code uses the id Stripe.js gave it.
    assert attached.id == card.id and attached.customer == customer.id
    assert attached.card is not None and card.card is not None
    assert (attached.card.brand, attached.card.last4) == ("visa", "4242")
    assert (attached.card.exp_month, attached.card.exp_year) == (11, 2031)
    assert attached.card.fingerprint == card.card.fingerprint
    assert attached.card.country == card.card.country
    assert attached.billing_details.name == "Ada Lovelace"
    stored = _stored(container, card.id)
    assert (stored["gateway"], stored["gateway_reference"]) == ("stripe", card.id)
    # Attached at Stripe too, to the customer's counterpart there (made for it).
    at_stripe = stripe_js.v1.payment_methods.retrieve(card.id)
    mirror = stripe_js.v1.customers.retrieve(str(at_stripe.customer))
    assert mirror.metadata["recur_customer"] == customer.id
    (event,) = on_stripe.v1.events.list(params={"type": "payment_method.attached"}).data
    assert event.data.object["id"] == card.id
    on_stripe.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    # A subscription charges it at Stripe: an off-session PaymentIntent on that card.
    sub, intent = _pay_with_adopted_card(on_stripe, stripe_js, customer.id)
    assert sub.status == "active"
    assert intent["status"] == "succeeded" and intent["amount"] == 1500
    assert intent["payment_method"] == card.id and intent["customer"] == mirror.id
    (charge,) = on_stripe.v1.charges.list(params={"customer": customer.id}).data
    assert charge.payment_method == card.id and charge.status == "succeeded"
    # One look-up, one Stripe customer, one attach: nothing made twice.
    assert len(proxy.sent("GET", f"/v1/payment_methods/{card.id}")) == 1
    assert len(proxy.sent("POST", "/v1/customers")) == 1
    assert len(proxy.sent("POST", f"/v1/payment_methods/{card.id}/attach")) == 1
    # Known from now on: attaching again changes nothing, asks Stripe nothing.
    again = on_stripe.v1.payment_methods.attach(card.id, params={"customer": customer.id})
    assert again.id == card.id
    assert len(proxy.sent("GET", "/v1/payment_methods/")) == 1


def test_a_collected_card_given_when_the_customer_is_created(
    on_stripe: stripe.StripeClient, stripe_js: stripe.StripeClient
) -> None:
    card = _collected(stripe_js)
    customer = on_stripe.v1.customers.create(
        params={
            "name": "Grace",
            "payment_method": card.id,
            "invoice_settings": {"default_payment_method": card.id},
        }
    )
    assert customer.invoice_settings is not None
    assert customer.invoice_settings.default_payment_method == card.id
    sub, intent = _pay_with_adopted_card(on_stripe, stripe_js, customer.id)
    assert sub.status == "active" and intent["payment_method"] == card.id


def test_a_collected_card_given_to_a_payment_intent(
    on_stripe: stripe.StripeClient, stripe_js: stripe.StripeClient
) -> None:
    card = _collected(stripe_js)
    intent = on_stripe.v1.payment_intents.create(
        params={"amount": 700, "currency": "eur", "payment_method": card.id, "confirm": True}
    )
    assert intent.status == "succeeded" and intent.payment_method == card.id
    at_stripe = _intent_at_stripe(stripe_js, f"{intent.id}:attempt:1")
    assert at_stripe["payment_method"] == card.id and at_stripe["amount"] == 700
    # Saved in Recur, not attached (a one-off payment), and living at Stripe.
    assert on_stripe.v1.payment_methods.retrieve(card.id).customer is None


def test_a_default_payment_method_attached_at_stripe_is_adopted_attached(
    on_stripe: stripe.StripeClient,
    stripe_js: stripe.StripeClient,
) -> None:
    first = _collected(stripe_js)
    customer = on_stripe.v1.customers.create(params={"payment_method": first.id})
    mirror = str(stripe_js.v1.payment_methods.retrieve(first.id).customer)
    # The merchant saved a second card at Stripe on the customer's counterpart (a
    # SetupIntent, Checkout in setup mode): Recur has never seen it.
    saved = _collected(stripe_js, "5555555555554444")
    stripe_js.v1.payment_methods.attach(saved.id, params={"customer": mirror})
    updated = on_stripe.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": saved.id}}
    )
    assert updated.invoice_settings is not None
    assert updated.invoice_settings.default_payment_method == saved.id
    assert on_stripe.v1.payment_methods.retrieve(saved.id).customer == customer.id
    listed = on_stripe.v1.customers.payment_methods.list(customer.id).data
    assert {m.id for m in listed} == {first.id, saved.id}
    # A card at Stripe that is not the customer's there is not its default here either.
    loose = _collected(stripe_js)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        on_stripe.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": _price(on_stripe)}],
                "default_payment_method": loose.id,
            }
        )
    assert refused.value.param == "default_payment_method"
    assert refused.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError):
        on_stripe.v1.payment_methods.retrieve(loose.id)  # nothing recorded


def test_an_id_stripe_does_not_know_either_is_not_found(
    on_stripe: stripe.StripeClient, proxy: FaultProxy
) -> None:
    customer = on_stripe.v1.customers.create(params={"name": "Ada"})
    with pytest.raises(stripe.InvalidRequestError) as attach:
        on_stripe.v1.payment_methods.attach("pm_1NoSuchCard", params={"customer": customer.id})
    assert attach.value.http_status == 404 and attach.value.code == "resource_missing"
    assert len(proxy.sent("GET", "/v1/payment_methods/pm_1NoSuchCard")) == 1
    with pytest.raises(stripe.InvalidRequestError) as create:
        on_stripe.v1.customers.create(params={"name": "Bob", "payment_method": "pm_1NoSuchCard"})
    assert create.value.http_status == 404 and create.value.param == "payment_method"
    assert create.value.code == "resource_missing"
    assert [c.name for c in on_stripe.v1.customers.list().data] == ["Ada"]  # nothing written
    with pytest.raises(stripe.InvalidRequestError) as intent:
        on_stripe.v1.payment_intents.create(
            params={"amount": 100, "currency": "eur", "payment_method": "pm_1NoSuchCard"}
        )
    assert intent.value.http_status == 404 and intent.value.param == "payment_method"
    # Ids that are not a Stripe payment method's are not even asked about.
    for odd in ("pm_card_unknownTestCard", "pm_" + "x" * 70, "card_123"):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            on_stripe.v1.payment_methods.attach(odd, params={"customer": customer.id})
        assert refused.value.http_status == 404
    assert len(proxy.sent("GET", "/v1/payment_methods/")) == 3


def test_an_account_not_on_stripe_adopts_nothing(
    client: stripe.StripeClient, stripe_js: stripe.StripeClient
) -> None:
    card = _collected(stripe_js)
    customer = client.v1.customers.create(params={"name": "Ada"})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_methods.attach(card.id, params={"customer": customer.id})
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_a_card_stripe_declines_on_attach_is_not_adopted(
    on_stripe: stripe.StripeClient, stripe_js: stripe.StripeClient
) -> None:
    declined = _collected(stripe_js, "4000000000000002")
    customer = on_stripe.v1.customers.create(params={"name": "Ada"})
    with pytest.raises(stripe.CardError) as refused:
        on_stripe.v1.payment_methods.attach(declined.id, params={"customer": customer.id})
    assert refused.value.http_status == 402 and refused.value.code == "card_declined"
    with pytest.raises(stripe.InvalidRequestError):
        on_stripe.v1.payment_methods.retrieve(declined.id)  # the request left nothing
    assert on_stripe.v1.events.list(params={"type": "payment_method.attached"}).data == []


def test_only_cards_are_adopted(on_stripe: stripe.StripeClient, localstripe: Localstripe) -> None:
    sepa = localstripe.post(
        "/v1/payment_methods", type="sepa_debit", **{"sepa_debit[iban]": "DE89370400440532013000"}
    )
    customer = on_stripe.v1.customers.create(params={"name": "Ada"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        on_stripe.v1.customers.create(params={"payment_method": sepa["id"]})
    assert refused.value.http_status == 400 and refused.value.param == "payment_method"
    assert "sepa_debit" in str(refused.value.user_message)
    with pytest.raises(stripe.InvalidRequestError):
        on_stripe.v1.payment_methods.attach(sepa["id"], params={"customer": customer.id})


@pytest.mark.parametrize("fault", ["GET", "POST"])
def test_stripe_unreachable_records_nothing_and_a_retry_adopts(
    fault: str,
    on_stripe: stripe.StripeClient,
    stripe_js: stripe.StripeClient,
    proxy: FaultProxy,
) -> None:
    card = _collected(stripe_js)
    customer = on_stripe.v1.customers.create(params={"name": "Ada"})
    path = f"/v1/payment_methods/{card.id}" + ("/attach" if fault == "POST" else "")
    proxy.fail(fault, path, "status:503")
    with pytest.raises(stripe.StripeError) as unreachable:
        on_stripe.v1.payment_methods.attach(card.id, params={"customer": customer.id})
    assert unreachable.value.http_status == 409
    assert unreachable.value.json_body is not None
    assert unreachable.value.json_body["error"]["code"] == "payment_gateway_unavailable"
    assert unreachable.value.headers is not None
    assert unreachable.value.headers.get("Stripe-Should-Retry") == "true"
    assert on_stripe.v1.customers.payment_methods.list(customer.id).data == []
    attached = on_stripe.v1.payment_methods.attach(card.id, params={"customer": customer.id})
    assert attached.customer == customer.id


def test_live_mode_adopts_with_the_live_key(
    client: stripe.StripeClient,
    live_client: stripe.StripeClient,
    on_stripe: stripe.StripeClient,
    stripe_js: stripe.StripeClient,
    proxy: FaultProxy,
    account: AccountKeys,
    container: bootstrap.Container,
) -> None:
    # Live credentials need an https API base; localstripe speaks http, so the test writes
    # the live mode's credentials into the account's settings directly.
    with container.uow_factory(Scope(account.account, True)) as uow:
        accounts = uow.repository(AccountRepository)
        document = dict((accounts.find_account(account.account) or {})["settings"] or {})
        billing = dict(document["billing"])
        billing["stripe"] = {
            **billing["stripe"],
            "live": {"secret_key": LIVE_KEY, "api_base": proxy.url},
        }
        accounts.update_settings(account.account, {**document, "billing": billing})
    card = _collected(stripe_js)
    customer = live_client.v1.customers.create(
        params={"payment_method": card.id, "invoice_settings": {"default_payment_method": card.id}}
    )
    sub, intent = _pay_with_adopted_card(live_client, stripe_js, customer.id)
    assert sub.status == "active" and sub.livemode is True
    assert intent["payment_method"] == card.id and intent["status"] == "succeeded"
    live_calls = [r for r in proxy.requests if LIVE_KEY in r.headers.get("authorization", "")]
    assert {(r.method, r.path.split("?")[0]) for r in live_calls} >= {
        ("GET", f"/v1/payment_methods/{card.id}"),
        ("POST", f"/v1/payment_methods/{card.id}/attach"),
        ("POST", "/v1/payment_intents"),
    }
    assert all(STRIPE_KEY not in r.headers.get("authorization", "") for r in live_calls)
    # Test mode does not see the live adoption.
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.retrieve(card.id)
