"""`/v1/disputes`: disputes opened by Stripe's dispute test card on the simulated gateway
(`pm_card_createDispute`, 4000000000000259: the charge succeeds, then it is disputed as
fraudulent), listed and retrieved in Stripe's shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe

from recur import bootstrap
from recur.domain.clock import utc
from recur.services.accounts import AccountKeys
from tests.support.billing import open_shop
from tests.support.payments import gateway, inject, money_violations, settle_everything

CARD = "pm_card_createDispute"


def _paid(
    client: stripe.StripeClient, card: str = CARD, amount: int = 4200
) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={"amount": amount, "currency": "eur", "payment_method": card, "confirm": True}
    )


def test_a_charge_on_the_dispute_card_succeeds_then_is_disputed(
    client: stripe.StripeClient,
) -> None:
    intent = _paid(client)
    assert intent.status == "succeeded" and intent.amount_received == 4200
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert charge.status == "succeeded" and charge.paid and charge.disputed is True
    (dispute,) = client.v1.disputes.list().data
    assert dispute.object == "dispute" and dispute.id.startswith("dp_")
    assert (dispute.charge, dispute.payment_intent) == (charge.id, intent.id)
    assert (dispute.amount, dispute.currency) == (4200, "eur")
    assert (dispute.reason, dispute.status) == ("fraudulent", "needs_response")
    assert dispute.livemode is False and dispute.is_charge_refundable is False
    wire = dispute.to_dict()
    assert wire["metadata"] == {} and wire["balance_transactions"] == []
    assert set(wire["evidence"].values()) == {None}
    assert wire["evidence_details"]["submission_count"] == 0
    assert wire["evidence_details"]["has_evidence"] is False
    assert client.v1.disputes.retrieve(dispute.id).to_dict() == wire
    # Announced once, after the charge's own events.
    types = [e.type for e in client.v1.events.list(params={"limit": 3}).data]
    assert types == ["charge.dispute.created", "payment_intent.succeeded", "charge.succeeded"]
    (announced,) = client.v1.events.list(params={"type": "charge.dispute.created"}).data
    assert announced.data.object["id"] == dispute.id
    # Expanding the charge shows it disputed.
    expanded = client.v1.disputes.retrieve(dispute.id, params={"expand": ["charge"]})
    assert isinstance(expanded.charge, stripe.Charge) and expanded.charge.disputed is True
    # A charged-back charge cannot also be refunded (Stripe: `charge_disputed`).
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"charge": charge.id})
    assert refused.value.code == "charge_disputed" and refused.value.param == "charge"
    assert client.v1.refunds.list(params={"charge": charge.id}).data == []


def test_disputes_are_listed_newest_first_and_filtered(client: stripe.StripeClient) -> None:
    first = _paid(client, amount=1000)
    undisputed = _paid(client, "pm_card_visa", amount=1100)
    second = _paid(client, amount=1200)
    assert client.v1.charges.retrieve(str(undisputed.latest_charge)).disputed is False
    listed = client.v1.disputes.list().data
    assert [d.amount for d in listed] == [1200, 1000]
    by_charge = client.v1.disputes.list(params={"charge": str(first.latest_charge)}).data
    assert [d.payment_intent for d in by_charge] == [first.id]
    by_intent = client.v1.disputes.list(params={"payment_intent": second.id}).data
    assert [d.charge for d in by_intent] == [second.latest_charge]
    assert client.v1.disputes.list(params={"charge": str(undisputed.latest_charge)}).data == []
    assert client.v1.disputes.list(params={"payment_intent": "pi_unknown"}).data == []
    newest = listed[0]
    after = client.v1.disputes.list(params={"created": {"gt": newest.created}}).data
    assert after == []
    assert len(client.v1.disputes.list(params={"created": {"lte": newest.created}}).data) == 2
    page = client.v1.disputes.list(params={"limit": 1})
    assert page.has_more and [d.id for d in page.data] == [newest.id]
    rest = client.v1.disputes.list(params={"limit": 1, "starting_after": newest.id})
    assert [d.amount for d in rest.data] == [1000] and not rest.has_more


def test_an_unknown_dispute_is_not_found(
    client: stripe.StripeClient, live_client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.disputes.retrieve("dp_unknown")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    _paid(client)
    (dispute,) = client.v1.disputes.list().data
    # Live mode sees nothing of test mode's.
    assert live_client.v1.disputes.list().data == []
    with pytest.raises(stripe.InvalidRequestError):
        live_client.v1.disputes.retrieve(dispute.id)


def test_a_renewal_on_the_dispute_card_is_disputed_too(client: stripe.StripeClient) -> None:
    start = utc(2025, 4, 1)
    shop = open_shop(client, start, payment_method=CARD)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": shop.price(1900)}]}
    )
    assert sub.status == "active"
    shop.advance(start + timedelta(days=31, hours=3))
    first, renewal = shop.invoices(sub.id)
    assert first.status == "paid" and renewal.status == "paid"
    disputes = client.v1.disputes.list().data
    assert [d.payment_intent for d in disputes] == [renewal.payment_intent, first.payment_intent]
    # Disputed at the customer's time (its test clock), as its charges are.
    charge = client.v1.charges.retrieve(disputes[0].charge)  # type: ignore[arg-type]
    assert disputes[0].created == charge.created
    # The dispute changes neither the invoice nor the subscription (Stripe's Dashboard does).
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    dispute_events = [e for e in shop.events() if e == "charge.dispute.created"]
    assert len(dispute_events) == 2


def test_a_dispute_learned_by_the_reconciler_is_recorded_once(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    inject(container, account.account, "charge", "timeout")
    intent = _paid(client)
    assert intent.status == "processing"
    assert client.v1.disputes.list().data == []
    settle_everything(container.uow_factory)
    intent = client.v1.payment_intents.retrieve(intent.id)
    assert intent.status == "succeeded"
    (dispute,) = client.v1.disputes.list().data
    assert dispute.charge == intent.latest_charge and dispute.reason == "fraudulent"
    settle_everything(container.uow_factory)  # nothing left: no second dispute
    assert [d.id for d in client.v1.disputes.list().data] == [dispute.id]
    assert len(client.v1.events.list(params={"type": "charge.dispute.created"}).data) == 1
    assert money_violations(container.uow_factory, gateway(container), account.account) == []
