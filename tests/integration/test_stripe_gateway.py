"""The Stripe gateway against localstripe: Recur bills, a Stripe stand-in moves the money.

An account is put on the Stripe gateway (`payment_gateway=stripe`, its key, signing
secret and an API base pointing at a `FaultProxy` in front of localstripe). Everything is
driven through Recur with the official `stripe` package, and checked on both sides: in
Recur, and at "Stripe" (localstripe's own API, as a merchant's Dashboard would show it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import select

from recur import bootstrap
from recur.domain.clock import FrozenClock, SystemClock, utc
from recur.services.accounts import AccountKeys
from recur.services.reconciliation import sweep_gateway_books
from recur.storage.tables import charges, gateway_events
from tests.support.billing import open_shop
from tests.support.localstripe import (
    STRIPE_KEY,
    FaultProxy,
    Localstripe,
    free_port,
    proxied,
    signed_delivery,
    start_localstripe,
    stripe_at,
    stripe_event,
    stripe_timeout,
)
from tests.support.payments import billing_settings, settle_everything
from tests.support.server import LiveServer

WEBHOOK_SECRET = "whsec_recurlocalstripetest"
# How long the gateway waits for an answer here: a lost answer costs a test this much.
TIMEOUT = 1.5


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localstripe]:
    """localstripe, once per session, on a free port."""
    yield from start_localstripe(tmp_path_factory.mktemp("localstripe"))


@pytest.fixture(scope="module", autouse=True)
def short_stripe_timeout(container: bootstrap.Container) -> Iterator[None]:
    """Lost answers time out quickly in these tests."""
    with stripe_timeout(container, TIMEOUT):
        yield


@pytest.fixture
def proxy(localstripe: Localstripe) -> Iterator[FaultProxy]:
    """A proxy in front of localstripe, for this test."""
    with proxied(localstripe) as started:
        yield started


@pytest.fixture
def dashboard(localstripe: Localstripe) -> stripe.StripeClient:
    """The official client pointed at localstripe itself: what the merchant sees at Stripe."""
    return stripe_at(localstripe)


@pytest.fixture
def on_stripe(client: stripe.StripeClient, proxy: FaultProxy) -> stripe.StripeClient:
    """The test's account, charging through Stripe (localstripe behind the proxy)."""
    billing_settings(
        client,
        payment_gateway="stripe",
        stripe={"secret_key": STRIPE_KEY, "webhook_secret": WEBHOOK_SECRET, "api_base": proxy.url},
    )
    return client


def _customer(client: stripe.StripeClient, card: str = "pm_card_visa") -> stripe.Customer:
    return client.v1.customers.create(
        params={
            "name": "Ada",
            "payment_method": card,
            "invoice_settings": {"default_payment_method": card},
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


def _subscribe(
    client: stripe.StripeClient, customer: str, amount: int = 1500
) -> stripe.Subscription:
    return client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": _price(client, amount)}]}
    )


def _intents_at_stripe(dashboard: stripe.StripeClient, key: str) -> list[dict[str, Any]]:
    """The PaymentIntents localstripe holds under a Recur attempt's key."""
    found = dashboard.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    return [
        intent.to_dict()
        for intent in found
        if (intent.to_dict().get("metadata") or {}).get("recur_key") == key
    ]


def _deliver(server: LiveServer, account: str, event: dict[str, Any], **kw: Any) -> httpx.Response:
    body, signature = signed_delivery(event, kw.pop("secret", WEBHOOK_SECRET))
    with server.http() as http:
        return http.post(
            f"/gateways/stripe/webhook/{account}",
            content=body,
            headers={"Stripe-Signature": kw.pop("signature", signature), **kw},
        )


def _events(client: stripe.StripeClient, event_type: str) -> list[stripe.Event]:
    return list(client.v1.events.list(params={"type": event_type, "limit": 100}).data)


# --- charging -----------------------------------------------------------------------------


def test_the_first_invoice_is_paid_by_an_off_session_payment_intent_at_stripe(
    on_stripe: stripe.StripeClient,
    proxy: FaultProxy,
    dashboard: stripe.StripeClient,
    account: AccountKeys,
) -> None:
    customer = _customer(on_stripe)
    sub = _subscribe(on_stripe, customer.id)
    assert sub.status == "active"
    invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    assert invoice.status == "paid" and invoice.amount_paid == 1500
    key = f"{invoice.id}:attempt:1"
    (intent,) = _intents_at_stripe(dashboard, key)
    assert intent["status"] == "succeeded" and intent["amount"] == 1500
    assert intent["currency"] == "eur"
    assert intent["metadata"]["recur_account"] == account.account
    assert intent["metadata"]["recur_invoice"] == invoice.id
    # The customer and the card were mirrored first; the card is the customer's there.
    mirrored = dashboard.v1.customers.retrieve(intent["customer"])
    assert mirrored.metadata["recur_customer"] == customer.id
    card = dashboard.v1.payment_methods.retrieve(intent["payment_method"])
    assert card.customer == mirrored.id and card.card is not None and card.card.last4 == "4242"
    # Charged off session, confirmed at once, under the attempt's idempotency key.
    (sent,) = proxy.sent("POST", "/v1/payment_intents")
    form = sent.form()
    assert form["off_session"] == "true" and form["confirm"] == "true"
    assert sent.headers["idempotency-key"] == key
    assert form["metadata[recur_key]"] == key
    # The second invoice of this customer reuses what was mirrored.
    _subscribe(on_stripe, customer.id, 700)
    assert len(proxy.sent("POST", "/v1/customers")) == 1
    assert len(proxy.sent("POST", "/v1/payment_methods")) == 1
    assert len(proxy.sent("POST", "/v1/payment_intents")) == 2


def test_a_declined_card_leaves_the_first_invoice_open_and_the_subscription_incomplete(
    on_stripe: stripe.StripeClient, dashboard: stripe.StripeClient
) -> None:
    customer = _customer(on_stripe, "pm_card_chargeCustomerFail")
    sub = _subscribe(on_stripe, customer.id)
    assert sub.status == "incomplete"
    invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    assert invoice.status == "open" and invoice.attempt_count == 1
    (charge,) = on_stripe.v1.charges.list(params={"customer": customer.id}).data
    assert charge.status == "failed" and charge.failure_code == "card_declined"
    (intent,) = _intents_at_stripe(dashboard, f"{invoice.id}:attempt:1")
    assert intent["status"] == "requires_payment_method"
    # A working card completes it, through Stripe too.
    visa = on_stripe.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    recur_intent = on_stripe.v1.payment_intents.confirm(
        str(invoice.payment_intent), params={"payment_method": visa.id}
    )
    assert recur_intent.status == "succeeded"
    assert on_stripe.v1.subscriptions.retrieve(sub.id).status == "active"


def test_a_declined_renewal_makes_the_subscription_past_due(on_stripe: stripe.StripeClient) -> None:
    start = utc(2025, 4, 1)
    shop = open_shop(on_stripe, start)
    sub = _subscribe(on_stripe, shop.customer_id, 2000)
    assert sub.status == "active"
    failing = on_stripe.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": shop.customer_id}
    )
    on_stripe.v1.customers.update(
        shop.customer_id, params={"invoice_settings": {"default_payment_method": failing.id}}
    )
    shop.advance(utc(2025, 5, 1, 3))
    renewal = shop.invoices(sub.id)[1]
    assert renewal.status == "open" and renewal.attempt_count == 1
    assert renewal.next_payment_attempt is not None
    assert on_stripe.v1.subscriptions.retrieve(sub.id).status == "past_due"


def test_a_refund_through_recur_is_a_refund_at_stripe(
    on_stripe: stripe.StripeClient, dashboard: stripe.StripeClient
) -> None:
    customer = _customer(on_stripe)
    sub = _subscribe(on_stripe, customer.id)
    invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    refund = on_stripe.v1.refunds.create(
        params={"payment_intent": str(invoice.payment_intent), "amount": 500}
    )
    assert refund.status == "succeeded" and refund.amount == 500
    (intent,) = _intents_at_stripe(dashboard, f"{invoice.id}:attempt:1")
    at_stripe = dashboard.v1.refunds.list(params={"payment_intent": intent["id"]}).data
    assert [(r.amount, r.metadata["recur_key"]) for r in at_stripe] == [
        (500, f"{refund.charge}:refund:1")
    ]
    charge = on_stripe.v1.charges.retrieve(str(refund.charge))
    assert charge.amount_refunded == 500


# --- lost answers -------------------------------------------------------------------------


def test_an_answer_lost_after_stripe_charged_is_settled_by_key_without_a_second_charge(
    on_stripe: stripe.StripeClient,
    proxy: FaultProxy,
    dashboard: stripe.StripeClient,
    container: bootstrap.Container,
) -> None:
    customer = _customer(on_stripe)
    proxy.fail("POST", "/v1/payment_intents", "forward_then_hang")
    sub = _subscribe(on_stripe, customer.id)
    invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    assert invoice.status == "open"
    intent = on_stripe.v1.payment_intents.retrieve(str(invoice.payment_intent))
    assert intent.status == "processing"
    (pending,) = on_stripe.v1.charges.list(params={"customer": customer.id}).data
    assert pending.status == "pending"
    with pytest.raises(stripe.InvalidRequestError):
        on_stripe.v1.invoices.pay(invoice.id)  # blocked until reconciled
    settle_everything(container.uow_factory)
    assert on_stripe.v1.invoices.retrieve(invoice.id).status == "paid"
    assert on_stripe.v1.subscriptions.retrieve(sub.id).status == "active"
    assert len(_intents_at_stripe(dashboard, f"{invoice.id}:attempt:1")) == 1
    assert len(proxy.sent("POST", "/v1/payment_intents")) == 1


def test_a_5xx_after_the_fact_is_settled_by_key(
    on_stripe: stripe.StripeClient, proxy: FaultProxy, container: bootstrap.Container
) -> None:
    customer = _customer(on_stripe)
    proxy.fail("POST", "/v1/payment_intents", "forward_then_status:500")
    sub = _subscribe(on_stripe, customer.id)
    invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    assert invoice.status == "open"
    settle_everything(container.uow_factory)
    assert on_stripe.v1.invoices.retrieve(invoice.id).status == "paid"


def test_a_request_that_never_arrived_is_settled_as_not_made(
    on_stripe: stripe.StripeClient,
    proxy: FaultProxy,
    dashboard: stripe.StripeClient,
    container: bootstrap.Container,
) -> None:
    customer = _customer(on_stripe)
    proxy.fail("POST", "/v1/payment_intents", "hang")
    sub = _subscribe(on_stripe, customer.id)
    invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    settle_everything(container.uow_factory)
    (charge,) = on_stripe.v1.charges.list(params={"customer": customer.id}).data
    assert charge.status == "failed" and charge.failure_code == "processing_error"
    assert on_stripe.v1.invoices.retrieve(invoice.id).status == "open"
    assert _intents_at_stripe(dashboard, f"{invoice.id}:attempt:1") == []


@pytest.mark.parametrize("fault", ["status:429", "unreachable"])
def test_nothing_done_fails_the_attempt_at_once(
    fault: str,
    client: stripe.StripeClient,
    on_stripe: stripe.StripeClient,
    proxy: FaultProxy,
) -> None:
    customer = _customer(on_stripe)
    if fault == "unreachable":
        billing_settings(client, stripe={"api_base": f"http://127.0.0.1:{free_port()}"})
    else:
        proxy.fail("POST", "/v1/payment_intents", fault)
    sub = _subscribe(on_stripe, customer.id)
    invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    assert invoice.status == "open"
    (charge,) = on_stripe.v1.charges.list(params={"customer": customer.id}).data
    assert charge.status == "failed" and charge.failure_code == "processing_error"
    assert sub.status == "incomplete"  # nothing pending: the attempt failed at once


# --- Stripe's webhooks --------------------------------------------------------------------


def test_a_success_reported_by_webhook_is_applied_once(
    on_stripe: stripe.StripeClient,
    proxy: FaultProxy,
    dashboard: stripe.StripeClient,
    server: LiveServer,
    account: AccountKeys,
    container: bootstrap.Container,
) -> None:
    customer = _customer(on_stripe)
    proxy.fail("POST", "/v1/payment_intents", "forward_then_hang")
    sub = _subscribe(on_stripe, customer.id)
    invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    (intent,) = _intents_at_stripe(dashboard, f"{invoice.id}:attempt:1")
    event = stripe_event("payment_intent.succeeded", intent)
    first = _deliver(server, account.account, event)
    assert first.status_code == 200 and first.json()["outcome"] == "applied"
    again = _deliver(server, account.account, event)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert on_stripe.v1.invoices.retrieve(invoice.id).status == "paid"
    assert on_stripe.v1.subscriptions.retrieve(sub.id).status == "active"
    assert len(_events(on_stripe, "invoice.paid")) == 1
    settle_everything(container.uow_factory)  # nothing left to reconcile
    assert len(_events(on_stripe, "invoice.paid")) == 1
    assert len(_intents_at_stripe(dashboard, f"{invoice.id}:attempt:1")) == 1


def _first_invoice_paid_at_stripe(
    on_stripe: stripe.StripeClient, dashboard: stripe.StripeClient
) -> tuple[stripe.Customer, stripe.Invoice, dict[str, Any]]:
    """A new customer's subscription, its first invoice, and the PaymentIntent at Stripe
    that paid it."""
    customer = _customer(on_stripe)
    sub = _subscribe(on_stripe, customer.id)
    invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
    (intent,) = _intents_at_stripe(dashboard, f"{invoice.id}:attempt:1")
    return customer, invoice, intent


def test_a_failure_reported_after_the_invoice_was_paid_changes_nothing(
    on_stripe: stripe.StripeClient,
    dashboard: stripe.StripeClient,
    server: LiveServer,
    account: AccountKeys,
) -> None:
    customer, invoice, intent = _first_invoice_paid_at_stripe(on_stripe, dashboard)
    failed = {
        **intent,
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "decline_code": "generic_decline"},
    }
    answer = _deliver(
        server, account.account, stripe_event("payment_intent.payment_failed", failed)
    )
    assert answer.status_code == 200 and answer.json()["outcome"] == "already_settled"
    assert on_stripe.v1.invoices.retrieve(invoice.id).status == "paid"
    (charge,) = on_stripe.v1.charges.list(params={"customer": customer.id}).data
    assert charge.status == "succeeded"
    assert _events(on_stripe, "invoice.payment_failed") == []


def test_a_refund_made_in_stripe_is_recorded_once(
    on_stripe: stripe.StripeClient,
    dashboard: stripe.StripeClient,
    server: LiveServer,
    account: AccountKeys,
) -> None:
    customer, _invoice, intent = _first_invoice_paid_at_stripe(on_stripe, dashboard)
    dashboard.v1.refunds.create(params={"payment_intent": intent["id"], "amount": 300})
    latest = dashboard.v1.payment_intents.retrieve(intent["id"]).to_dict()["latest_charge"]
    stripe_charge = dashboard.v1.charges.retrieve(
        latest["id"] if isinstance(latest, dict) else latest
    ).to_dict()
    event = stripe_event("charge.refunded", stripe_charge)
    assert _deliver(server, account.account, event).json()["outcome"] == "applied"
    assert _deliver(server, account.account, event).json()["outcome"] == "duplicate"
    # A second event about the same refund (another type, the same object) adds nothing.
    other = stripe_event("charge.refunded", stripe_charge)
    assert _deliver(server, account.account, other).json()["outcome"] == "already_settled"
    (charge,) = on_stripe.v1.charges.list(params={"customer": customer.id}).data
    assert charge.amount_refunded == 300
    refunds = on_stripe.v1.refunds.list(params={"charge": charge.id}).data
    assert [(r.amount, r.status) for r in refunds] == [(300, "succeeded")]


def test_a_dispute_is_recorded_and_announced(
    on_stripe: stripe.StripeClient,
    dashboard: stripe.StripeClient,
    server: LiveServer,
    account: AccountKeys,
) -> None:
    customer, invoice, intent = _first_invoice_paid_at_stripe(on_stripe, dashboard)
    # localstripe has no disputes: the event carries what Stripe's does.
    dispute = {
        "id": "dp_1RecurLocalTest",
        "object": "dispute",
        "amount": 1500,
        "currency": "eur",
        "charge": "ch_unknown_to_recur",
        "payment_intent": intent["id"],
        "reason": "fraudulent",
        "status": "needs_response",
        "created": int(time.time()),
        "livemode": False,
    }
    event = stripe_event("charge.dispute.created", dispute)
    assert _deliver(server, account.account, event).json()["outcome"] == "applied"
    assert _deliver(server, account.account, event).json()["outcome"] == "duplicate"
    (charge,) = on_stripe.v1.charges.list(params={"customer": customer.id}).data
    assert charge.disputed is True
    (announced,) = _events(on_stripe, "charge.dispute.created")
    recorded = announced.data.object
    assert recorded["object"] == "dispute" and recorded["id"].startswith("dp_")
    assert recorded["charge"] == charge.id and recorded["payment_intent"] == charge.payment_intent
    assert (recorded["amount"], recorded["reason"], recorded["status"]) == (
        1500,
        "fraudulent",
        "needs_response",
    )
    assert on_stripe.v1.invoices.retrieve(invoice.id).status == "paid"


def test_deliveries_that_cannot_be_trusted_are_refused(
    on_stripe: stripe.StripeClient, server: LiveServer, account: AccountKeys
) -> None:
    event = stripe_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    wrong = _deliver(server, account.account, event, secret="whsec_someoneelse")
    assert wrong.status_code == 400 and wrong.json()["error"]["type"] == "invalid_request_error"
    assert _deliver(server, account.account, event, signature="t=1,v1=00").status_code == 400
    with server.http() as http:
        unsigned = http.post(f"/gateways/stripe/webhook/{account.account}", content=b"{}")
        assert unsigned.status_code == 400
        garbage = http.post(f"/gateways/stripe/webhook/{account.account}", content=b"not json")
        assert garbage.status_code == 400
    assert _deliver(server, "acct_nobody", event).status_code == 404
    # The account has no signing secret for live mode.
    live = stripe_event("payment_intent.succeeded", {"id": "pi_x"}, livemode=True)
    assert _deliver(server, account.account, live).status_code == 404
    # Unknown event types are acknowledged and ignored.
    other = _deliver(server, account.account, stripe_event("customer.created", {"id": "cus_x"}))
    assert other.status_code == 200 and other.json()["outcome"] == "ignored"


def test_localstripe_signs_its_own_webhooks_the_way_recur_checks(
    on_stripe: stripe.StripeClient,
    localstripe: Localstripe,
    dashboard: stripe.StripeClient,
    server: LiveServer,
    account: AccountKeys,
    container: bootstrap.Container,
) -> None:
    hook = f"recur-{account.account}"
    url = f"{server.url}/gateways/stripe/webhook/{account.account}"
    localstripe.post(
        f"/_config/webhooks/{hook}",
        url=url,
        secret=WEBHOOK_SECRET,
        **{"events[]": "payment_intent.succeeded"},
    )
    try:
        customer = _customer(on_stripe)
        sub = _subscribe(on_stripe, customer.id)
        invoice = on_stripe.v1.invoices.retrieve(str(sub.latest_invoice))
        (intent,) = _intents_at_stripe(dashboard, f"{invoice.id}:attempt:1")
        deadline = time.monotonic() + 15
        outcome = None
        while outcome is None and time.monotonic() < deadline:
            with container.uow_factory(None, readonly=True) as uow:
                outcome = uow.connection.execute(
                    select(gateway_events.c.outcome).where(
                        gateway_events.c.account_id == account.account,
                        gateway_events.c.object_reference == intent["id"],
                    )
                ).scalar()
            time.sleep(0.1)
        assert outcome == "already_settled"  # Recur had recorded the success itself
    finally:
        # localstripe cannot forget a webhook: this one now listens to nothing.
        localstripe.post(
            f"/_config/webhooks/{hook}", url=url, secret=WEBHOOK_SECRET, **{"events[]": "none"}
        )


def test_a_charge_made_for_a_transaction_that_was_lost_is_refunded_by_the_sweep(
    on_stripe: stripe.StripeClient,
    localstripe: Localstripe,
    dashboard: stripe.StripeClient,
    server: LiveServer,
    account: AccountKeys,
    container: bootstrap.Container,
) -> None:
    # Stripe charged under a key for which Recur's transaction never committed.
    orphan = localstripe.post(
        "/v1/payment_intents",
        amount=900,
        currency="eur",
        payment_method="pm_card_visa",
        confirm="true",
        **{
            "metadata[recur_key]": "in_lost:attempt:1",
            "metadata[recur_account]": account.account,
        },
    )
    event = stripe_event("payment_intent.succeeded", orphan)
    assert _deliver(server, account.account, event).json()["outcome"] == "unmatched"
    later = FrozenClock(SystemClock().now() + timedelta(hours=2))
    sweep_gateway_books(container.uow_factory, later)
    refunds = dashboard.v1.refunds.list(params={"payment_intent": orphan["id"]}).data
    assert [(r.amount, r.metadata["recur_key"]) for r in refunds] == [
        (900, "orphan:in_lost:attempt:1")
    ]
    with container.uow_factory(None, readonly=True) as uow:
        outcome = uow.connection.execute(
            select(gateway_events.c.outcome).where(gateway_events.c.event_id == event["id"])
        ).scalar()
    assert outcome == "refunded"


def test_a_method_mirrored_to_stripe_is_charged_there_after_the_account_leaves_it(
    client: stripe.StripeClient,
    on_stripe: stripe.StripeClient,
    proxy: FaultProxy,
    container: bootstrap.Container,
) -> None:
    customer = _customer(on_stripe)
    _subscribe(on_stripe, customer.id)
    billing_settings(client, payment_gateway="simulated")
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "auto_advance": False, "currency": "eur"}
    )
    client.v1.invoice_items.create(
        params={"customer": customer.id, "invoice": invoice.id, "amount": 400, "currency": "eur"}
    )
    paid = client.v1.invoices.pay(invoice.id)
    assert paid.status == "paid"
    assert len(proxy.sent("POST", "/v1/payment_intents")) == 2  # the card lives at Stripe
    with container.uow_factory(None, readonly=True) as uow:
        gateways = set(
            uow.connection.execute(
                select(charges.c.gateway).where(charges.c.customer == customer.id)
            ).scalars()
        )
    assert gateways == {"stripe"}


def test_the_webhook_answers_with_json(server: LiveServer) -> None:
    with server.http() as http:
        answer = http.post("/gateways/stripe/webhook/acct_nobody", content=b"{}")
    assert answer.status_code == 404
    assert json.loads(answer.content)["error"]["code"] == "resource_missing"


def test_a_success_reported_for_an_invoice_voided_meanwhile_is_refunded(
    on_stripe: stripe.StripeClient,
    proxy: FaultProxy,
    dashboard: stripe.StripeClient,
    server: LiveServer,
    account: AccountKeys,
) -> None:
    customer = _customer(on_stripe)
    invoice = on_stripe.v1.invoices.create(
        params={"customer": customer.id, "auto_advance": False, "currency": "eur"}
    )
    on_stripe.v1.invoice_items.create(
        params={"customer": customer.id, "invoice": invoice.id, "amount": 800, "currency": "eur"}
    )
    on_stripe.v1.invoices.finalize_invoice(invoice.id)
    proxy.fail("POST", "/v1/payment_intents", "forward_then_hang")
    assert on_stripe.v1.invoices.pay(invoice.id).status == "open"  # the answer was lost
    on_stripe.v1.invoices.void_invoice(invoice.id)
    (intent,) = _intents_at_stripe(dashboard, f"{invoice.id}:attempt:1")
    answer = _deliver(server, account.account, stripe_event("payment_intent.succeeded", intent))
    assert answer.json()["outcome"] == "applied"
    assert on_stripe.v1.invoices.retrieve(invoice.id).status == "void"
    (charge,) = on_stripe.v1.charges.list(params={"customer": customer.id}).data
    assert charge.status == "succeeded" and charge.amount_refunded == 800
    at_stripe = dashboard.v1.refunds.list(params={"payment_intent": intent["id"]}).data
    assert [r.amount for r in at_stripe] == [800]
