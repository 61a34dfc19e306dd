"""`POST /v1/refunds`: full or partial, on a charge or a PaymentIntent, never beyond it."""

from __future__ import annotations

import json

import pytest
import stripe

from recur import bootstrap
from recur.services.accounts import AccountKeys
from tests.support.payments import gateway, inject, money_violations, settle_everything


def _paid(client: stripe.StripeClient, amount: int = 5000) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )


def test_partial_then_full_refunds_never_exceed_the_charge(client: stripe.StripeClient) -> None:
    intent = _paid(client)
    charge_id = str(intent.latest_charge)
    first = client.v1.refunds.create(
        params={"charge": charge_id, "amount": 1200, "reason": "requested_by_customer"}
    )
    assert first.status == "succeeded" and first.amount == 1200
    assert first.payment_intent == intent.id and first.reason == "requested_by_customer"
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"charge": charge_id, "amount": 3801})
    assert too_much.value.param == "amount"
    rest = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert rest.amount == 3800 and rest.charge == charge_id
    charge = client.v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == 5000 and charge.refunded
    assert [r.id for r in charge.refunds.data] == [rest.id, first.id]  # type: ignore[union-attr]
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create(params={"charge": charge_id})
    assert again.value.code == "charge_already_refunded"
    # The list the charge's `refunds.url` names (older clients page through it).
    listed = json.loads(client.raw_request("get", f"/v1/charges/{charge_id}/refunds").body)
    assert [r["id"] for r in listed["data"]] == [rest.id, first.id]
    assert [r.id for r in client.v1.refunds.list(params={"charge": charge_id}).data] == [
        rest.id,
        first.id,
    ]
    types = [e.type for e in client.v1.events.list(params={"limit": 4}).data]
    assert types == ["charge.refunded", "refund.created", "charge.refunded", "refund.created"]


def test_what_cannot_be_refunded(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as neither:
        client.v1.refunds.create(params={})
    assert neither.value.param == "charge"
    unpaid = client.v1.payment_intents.create(params={"amount": 100, "currency": "eur"})
    with pytest.raises(stripe.InvalidRequestError) as nothing:
        client.v1.refunds.create(params={"payment_intent": unpaid.id})
    assert nothing.value.code == "charge_not_refundable"
    with pytest.raises(stripe.InvalidRequestError) as zero:
        client.v1.refunds.create(params={"charge": str(_paid(client).latest_charge), "amount": 0})
    assert zero.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.refunds.create(params={"charge": "ch_missing"})
    assert missing.value.http_status == 404


def test_refund_metadata_can_be_updated(client: stripe.StripeClient) -> None:
    refund = client.v1.refunds.create(
        params={"charge": str(_paid(client).latest_charge), "metadata": {"ticket": "7"}}
    )
    updated = client.v1.refunds.update(refund.id, params={"metadata": {"agent": "ada"}})
    assert updated.metadata.to_dict() == {"ticket": "7", "agent": "ada"}
    assert client.v1.refunds.retrieve(refund.id).metadata.to_dict() == {
        "ticket": "7",
        "agent": "ada",
    }


def test_a_refund_whose_answer_is_lost_is_reconciled(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    intent = _paid(client)
    inject(container, account.account, "refund", "timeout")
    refund = client.v1.refunds.create(params={"charge": str(intent.latest_charge), "amount": 700})
    assert refund.status == "pending"
    # While pending it holds its amount: the rest is all that can still be refunded.
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"charge": str(intent.latest_charge), "amount": 4301})
    settle_everything(container.uow_factory)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    assert client.v1.charges.retrieve(str(intent.latest_charge)).amount_refunded == 700
    problems = money_violations(
        container.uow_factory, gateway(container), account.account, customer_refunds=True
    )
    assert problems == []


def test_an_unreachable_gateway_refunds_nothing_and_may_be_retried(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    intent = _paid(client)
    inject(container, account.account, "refund", "connection_error")
    with pytest.raises(stripe.StripeError) as refused:
        client.v1.refunds.create(params={"charge": str(intent.latest_charge)})
    assert refused.value.http_status == 409
    assert client.v1.refunds.list(params={"charge": str(intent.latest_charge)}).data == []
    refund = client.v1.refunds.create(params={"charge": str(intent.latest_charge)})
    assert refund.status == "succeeded" and refund.amount == 5000
