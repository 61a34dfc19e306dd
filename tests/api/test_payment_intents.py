"""`/v1/payment_intents` and `/v1/charges` through the official SDK; invoices' payments."""

from __future__ import annotations

import pytest
import stripe


def _customer(client: stripe.StripeClient, token: str = "pm_card_visa") -> stripe.Customer:
    return client.v1.customers.create(
        params={"payment_method": token, "invoice_settings": {"default_payment_method": token}}
    )


def _method(client: stripe.StripeClient, customer: stripe.Customer) -> str:
    return client.v1.customers.payment_methods.list(customer.id).data[0].id


def test_create_then_confirm_charges_once(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    method = _method(client, customer)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": method,
            "description": "Key deposit",
            "metadata": {"order": "42"},
        }
    )
    assert intent.status == "requires_confirmation" and intent.amount_received == 0
    assert intent.client_secret.startswith(f"{intent.id}_secret_")  # type: ignore[union-attr]
    confirmed = client.v1.payment_intents.confirm(intent.id)
    assert confirmed.status == "succeeded" and confirmed.amount_received == 1500
    charge = client.v1.charges.retrieve(str(confirmed.latest_charge))
    assert charge.status == "succeeded" and charge.paid and charge.captured
    assert charge.amount == 1500 and charge.payment_intent == intent.id
    assert charge.payment_method == method and charge.customer == customer.id
    assert charge.payment_method_details is not None
    assert charge.payment_method_details.card.last4 == "4242"  # type: ignore[union-attr]
    assert charge.outcome is not None and charge.outcome.type == "authorized"
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.payment_intents.confirm(intent.id)
    assert again.value.code == "payment_intent_unexpected_state"
    listed = client.v1.payment_intents.list(params={"customer": customer.id})
    assert [i.id for i in listed.data] == [intent.id]
    types = [e.type for e in client.v1.events.list(params={"limit": 10}).data]
    assert types[:3] == ["payment_intent.succeeded", "charge.succeeded", "payment_intent.created"]


def test_confirm_true_with_a_test_token_and_no_customer(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        params={
            "amount": 990,
            "currency": "usd",
            "payment_method": "pm_card_mastercard",
            "confirm": True,
        }
    )
    assert intent.status == "succeeded" and intent.customer is None
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert charge.payment_method_details.card.brand == "mastercard"  # type: ignore[union-attr]


def test_a_declined_confirmation_is_402_and_keeps_the_attempt(client: stripe.StripeClient) -> None:
    customer = _customer(client, "pm_card_chargeCustomerFail")
    intent = client.v1.payment_intents.create(
        params={"amount": 2000, "currency": "eur", "customer": customer.id}
    )
    assert intent.status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.confirm(intent.id)
    assert missing.value.param == "payment_method"
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.confirm(
            intent.id, params={"payment_method": _method(client, customer)}
        )
    assert declined.value.code == "card_declined"
    after = client.v1.payment_intents.retrieve(intent.id)
    assert after.status == "requires_payment_method" and after.payment_method is None
    assert after.last_payment_error is not None
    assert after.last_payment_error.decline_code == "generic_decline"
    charges = client.v1.charges.list(params={"payment_intent": intent.id}).data
    assert [c.status for c in charges] == ["failed"]
    assert charges[0].failure_code == "card_declined"
    retried = client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    assert retried.status == "succeeded"
    assert len(client.v1.charges.list(params={"payment_intent": intent.id}).data) == 2


def test_authentication_leaves_the_intent_requires_action(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        params={
            "amount": 500,
            "currency": "eur",
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
        }
    )
    assert intent.status == "requires_action"
    assert intent.next_action is not None and intent.next_action.type == "redirect_to_url"
    assert intent.next_action.redirect_to_url.url.endswith(  # type: ignore[union-attr]
        f"/payment_intents/{intent.id}/authenticate"
    )
    canceled = client.v1.payment_intents.cancel(
        intent.id, params={"cancellation_reason": "abandoned"}
    )
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.cancel(intent.id)


def test_an_invoice_shows_its_payment(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    product = client.v1.products.create(params={"name": "Desk"})
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 19900,
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    invoice = client.v1.invoices.retrieve(
        str(sub.latest_invoice), params={"expand": ["payment_intent"]}
    )
    intent = invoice.payment_intent
    assert isinstance(intent, stripe.PaymentIntent)
    assert intent.status == "succeeded" and intent.amount == 19900
    assert invoice.charge == intent.latest_charge
    assert invoice.payments is not None
    payment = invoice.payments.data[0]
    assert payment.object == "invoice_payment" and payment.status == "paid"
    assert payment.payment.payment_intent == intent.id
    assert payment.amount_paid == 19900 and payment.is_default
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.cancel(intent.id)
    assert refused.value.code == "payment_intent_unexpected_state"
    charges = client.v1.charges.list(params={"customer": customer.id}).data
    assert [c.id for c in charges] == [invoice.charge]


def test_voiding_an_invoice_cancels_its_intent(client: stripe.StripeClient) -> None:
    customer = _customer(client, "pm_card_chargeCustomerFail")
    client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 700, "currency": "eur"}
    )
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    client.v1.invoices.finalize_invoice(invoice.id)
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(invoice.id)
    open_invoice = client.v1.invoices.retrieve(invoice.id)
    assert open_invoice.attempt_count == 1 and open_invoice.payment_intent is not None
    client.v1.invoices.void_invoice(invoice.id)
    intent = client.v1.payment_intents.retrieve(str(open_invoice.payment_intent))
    assert intent.status == "canceled" and intent.cancellation_reason == "void_invoice"


def test_unknown_ids_are_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_missing")
    assert missing.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as no_charge:
        client.v1.charges.retrieve("ch_missing")
    assert no_charge.value.http_status == 404


def test_default_incomplete_is_completed_by_confirming_the_invoice_intent(
    client: stripe.StripeClient,
) -> None:
    """The SDK flow: create the subscription incomplete, confirm its first invoice's intent."""
    customer = client.v1.customers.create(params={"name": "Ada"})
    product = client.v1.products.create(params={"name": "Desk"})
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 4500,
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "payment_behavior": "default_incomplete",
            "expand": ["latest_invoice.payment_intent"],
        }
    )
    assert sub.status == "incomplete"
    invoice = sub.latest_invoice
    assert isinstance(invoice, stripe.Invoice)
    intent = invoice.payment_intent
    assert isinstance(intent, stripe.PaymentIntent)
    assert intent.status == "requires_payment_method" and intent.amount == 4500
    assert intent.client_secret is not None
    confirmed = client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    assert confirmed.status == "succeeded"
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
