"""Dunning on test clocks: a renewal's payment fails, is retried on schedule, and then the
account's settings decide; recovery by a new payment method; hard declines; payments that
need the customer; the incomplete first payment; accounts paid out of band; Dodo's
`on_hold` → `active` path."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import stripe

from recur import bootstrap
from recur.domain.clock import to_unix, utc
from recur.services.accounts import AccountKeys
from tests.support.billing import Shop, open_shop
from tests.support.payments import billing_settings, gateway, inject, money_violations

START = utc(2025, 4, 1)
# The first renewal is created at May 1 00:00 and finalized (and charged) an hour later.
FIRST_FAILURE = utc(2025, 5, 1, 1)
DAY = timedelta(days=1)


def subscribe(shop: Shop, amount: int = 2000, **params: object) -> stripe.Subscription:
    """A monthly subscription, its first invoice paid by the customer's card."""
    return shop.client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": shop.price(amount)}], **params}  # type: ignore[typeddict-item]
    )


def card(shop: Shop, token: str) -> str:
    """Attach a test card to the shop's customer; its id."""
    return shop.client.v1.payment_methods.attach(token, params={"customer": shop.customer_id}).id


def failing_renewal(shop: Shop, **params: object) -> tuple[stripe.Subscription, stripe.Invoice]:
    """A subscription whose card fails after the first payment, advanced past the first
    renewal's failed charge."""
    sub = subscribe(shop, **params)
    failing = card(shop, "pm_card_chargeCustomerFail")
    shop.client.v1.subscriptions.update(sub.id, params={"default_payment_method": failing})
    shop.advance(FIRST_FAILURE + timedelta(minutes=30))
    return sub, shop.invoices(sub.id)[1]


def charges_of(shop: Shop, invoice: stripe.Invoice) -> list[stripe.Charge]:
    """The invoice's charges, oldest first."""
    intent = shop.client.v1.invoices.retrieve(invoice.id).payment_intent
    found = shop.client.v1.charges.list(params={"payment_intent": intent, "limit": 100})  # type: ignore[typeddict-item]
    return list(reversed(found.data))


def at(moment: datetime) -> int:
    return to_unix(moment)


def test_a_declined_renewal_is_retried_on_schedule_then_the_subscription_is_canceled(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    shop = open_shop(client, START)
    sub, renewal = failing_renewal(shop)
    assert renewal.status == "open" and renewal.attempt_count == 1 and renewal.attempted
    assert renewal.next_payment_attempt == at(FIRST_FAILURE + DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    intent = client.v1.payment_intents.retrieve(str(renewal.payment_intent))
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error is not None
    assert intent.last_payment_error.decline_code == "generic_decline"
    assert renewal.charge == intent.latest_charge
    assert shop.events("invoice.payment_failed") == ["invoice.payment_failed"]

    # Retries 1, 3, 5 and 7 days after the first failure (the default schedule).
    for day, following in ((1, 3), (3, 5), (5, 7)):
        shop.advance(FIRST_FAILURE + day * DAY + timedelta(minutes=30))
        invoice = client.v1.invoices.retrieve(renewal.id)
        assert invoice.attempt_count == 1 + [1, 3, 5].index(day) + 1
        assert invoice.next_payment_attempt == at(FIRST_FAILURE + following * DAY)
        assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    shop.advance(FIRST_FAILURE + 7 * DAY + timedelta(minutes=30))
    invoice = client.v1.invoices.retrieve(renewal.id)
    assert invoice.attempt_count == 5 and invoice.next_payment_attempt is None
    assert invoice.status == "open"  # the default: the invoice stays open
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.cancellation_details is not None
    assert ended.cancellation_details.reason == "payment_failed"
    assert ended.ended_at == at(FIRST_FAILURE + 7 * DAY)
    attempts = charges_of(shop, renewal)
    assert [c.status for c in attempts] == ["failed"] * 5
    assert [c.created for c in attempts] == [
        at(FIRST_FAILURE + day * DAY) for day in (0, 1, 3, 5, 7)
    ]
    assert shop.events("invoice.payment_failed") == ["invoice.payment_failed"] * 5
    # Nothing more is attempted, nor billed.
    shop.advance(utc(2025, 6, 15))
    assert len(charges_of(shop, renewal)) == 5
    assert len(shop.invoices(sub.id)) == 2
    assert money_violations(container.uow_factory, gateway(container), account.account) == []


@pytest.mark.parametrize(
    ("subscription_after", "invoice_after", "status", "invoice_status"),
    [
        ("unpaid", "open", "unpaid", "open"),
        ("past_due", "uncollectible", "past_due", "uncollectible"),
    ],
)
def test_the_settings_decide_what_follows_the_last_retry(
    client: stripe.StripeClient,
    subscription_after: str,
    invoice_after: str,
    status: str,
    invoice_status: str,
) -> None:
    settings = billing_settings(
        client,
        dunning={
            "retry_schedule": [2],
            "subscription_after_retries": subscription_after,
            "invoice_after_retries": invoice_after,
        },
    )
    assert settings["dunning"]["retry_schedule"] == [2]
    shop = open_shop(client, START)
    sub, renewal = failing_renewal(shop)
    assert renewal.next_payment_attempt == at(FIRST_FAILURE + 2 * DAY)
    shop.advance(FIRST_FAILURE + 2 * DAY + timedelta(minutes=30))
    invoice = client.v1.invoices.retrieve(renewal.id)
    assert invoice.status == invoice_status and invoice.attempt_count == 2
    assert invoice.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == status
    # The next period is still invoiced; an unpaid subscription's invoices are not attempted.
    shop.advance(utc(2025, 6, 1, 2))
    invoices = shop.invoices(sub.id)
    assert len(invoices) == 3
    third = invoices[2]
    if status == "unpaid":
        assert third.status == "draft" and third.attempt_count == 0
        assert third.auto_advance is False
    else:
        assert third.status == "open" and third.attempt_count == 1  # past_due: attempted
    assert len(charges_of(shop, renewal)) == 2


def test_an_empty_schedule_ends_dunning_at_the_first_failure(client: stripe.StripeClient) -> None:
    billing_settings(client, dunning={"retry_schedule": ""})
    shop = open_shop(client, START)
    sub, renewal = failing_renewal(shop)
    assert renewal.next_payment_attempt is None and renewal.attempt_count == 1
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_a_new_default_card_on_the_customer_pays_the_open_invoice_at_once(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    shop = open_shop(client, START)
    sub = subscribe(shop)
    failing = card(shop, "pm_card_chargeCustomerFail")
    client.v1.customers.update(
        shop.customer_id, params={"invoice_settings": {"default_payment_method": failing}}
    )
    shop.advance(FIRST_FAILURE + DAY + timedelta(minutes=30))  # failed, retried once
    renewal = shop.invoices(sub.id)[1]
    assert renewal.status == "open" and renewal.attempt_count == 2
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    fresh = card(shop, "pm_card_visa")
    client.v1.customers.update(
        shop.customer_id, params={"invoice_settings": {"default_payment_method": fresh}}
    )
    paid = client.v1.invoices.retrieve(renewal.id)
    assert paid.status == "paid" and paid.attempt_count == 3 and paid.amount_paid == 2000
    assert paid.status_transitions.paid_at == at(FIRST_FAILURE + DAY + timedelta(minutes=30))
    assert paid.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    # No retry is left scheduled: the next charge is the next renewal's.
    shop.advance(FIRST_FAILURE + 8 * DAY)
    assert [c.status for c in charges_of(shop, renewal)] == ["failed", "failed", "succeeded"]
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert money_violations(container.uow_factory, gateway(container), account.account) == []


def test_dodo_on_hold_then_active_when_the_payment_method_is_updated(
    client: stripe.StripeClient,
) -> None:
    """Dodo: active → on_hold when a renewal charge fails; on_hold → active when the payment
    method is updated, which charges the dues at once. `on_hold` is `past_due` (retries
    running) or `unpaid` (retries exhausted); both come back the same way."""
    billing_settings(
        client, dunning={"retry_schedule": [1], "subscription_after_retries": "unpaid"}
    )
    shop = open_shop(client, START)
    sub, renewal = failing_renewal(shop)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"  # on_hold
    shop.advance(FIRST_FAILURE + 2 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"  # still on_hold
    fresh = card(shop, "pm_card_visa")
    updated = client.v1.subscriptions.update(sub.id, params={"default_payment_method": fresh})
    assert updated.status == "active"
    invoice = client.v1.invoices.retrieve(renewal.id)
    assert invoice.status == "paid" and invoice.amount_paid == 2000
    types = shop.events("customer.subscription.updated")
    assert len(types) >= 3  # past_due, unpaid, then active again
    shop.advance(utc(2025, 6, 1, 2))
    assert [i.status for i in shop.invoices(sub.id)] == ["paid", "paid", "paid"]


def test_a_hard_decline_is_not_retried_on_the_same_card(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    shop = open_shop(client, START)
    sub = subscribe(shop)
    # The card is reported lost after it was attached: the issuer declines the renewal.
    inject(container, account.account, "charge", "decline:lost_card")
    shop.advance(FIRST_FAILURE + timedelta(minutes=30))
    renewal = shop.invoices(sub.id)[1]
    assert renewal.status == "open" and renewal.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    failed = charges_of(shop, renewal)
    assert [(c.status, c.outcome.reason) for c in failed] == [("failed", "lost_card")]  # type: ignore[union-attr]
    shop.advance(FIRST_FAILURE + 6 * DAY)
    assert len(charges_of(shop, renewal)) == 1  # never retried on that card
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    # The retry window still ends (7 days after the failure): the settings' final action.
    shop.advance(FIRST_FAILURE + 7 * DAY + timedelta(minutes=1))
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    assert len(charges_of(shop, renewal)) == 1


def test_a_payment_that_needs_authentication_waits_for_the_customer(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, START)
    sub = subscribe(shop)
    secure = card(shop, "pm_card_authenticationRequired")
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": secure})
    shop.advance(FIRST_FAILURE + timedelta(minutes=30))
    renewal = shop.invoices(sub.id)[1]
    assert renewal.status == "open" and renewal.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    intent = client.v1.payment_intents.retrieve(str(renewal.payment_intent))
    assert intent.status == "requires_action"
    assert intent.next_action is not None
    assert intent.next_action.type == "redirect_to_url"
    assert intent.next_action.redirect_to_url.url == renewal.hosted_invoice_url  # type: ignore[union-attr]
    assert renewal.hosted_invoice_url is not None
    assert renewal.hosted_invoice_url.endswith(f"/invoices/{renewal.id}")
    assert shop.events("invoice.payment_action_required") == ["invoice.payment_action_required"]
    # No retry loop: three days later, still the one attempt.
    shop.advance(FIRST_FAILURE + 3 * DAY)
    assert len(charges_of(shop, renewal)) == 1
    # The customer pays on the hosted page (here: confirming with another card).
    visa = card(shop, "pm_card_visa")
    confirmed = client.v1.payment_intents.confirm(intent.id, params={"payment_method": visa})
    assert confirmed.status == "succeeded"
    assert client.v1.invoices.retrieve(renewal.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_an_incomplete_first_payment_is_completed_with_a_new_card(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, START, payment_method="pm_card_chargeCustomerFail")
    sub = subscribe(shop)
    assert sub.status == "incomplete"
    first = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert first.status == "open" and first.next_payment_attempt is None
    intent = client.v1.payment_intents.retrieve(str(first.payment_intent))
    assert intent.status == "requires_payment_method" and intent.invoice == first.id
    shop.advance(START + timedelta(hours=12))  # not retried, not expired yet
    assert len(charges_of(shop, first)) == 1
    visa = card(shop, "pm_card_visa")
    confirmed = client.v1.payment_intents.confirm(intent.id, params={"payment_method": visa})
    assert confirmed.status == "succeeded" and confirmed.amount_received == 2000
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    paid = client.v1.invoices.retrieve(first.id)
    assert paid.status == "paid" and paid.charge == confirmed.latest_charge


def test_an_account_paid_out_of_band_never_charges(client: stripe.StripeClient) -> None:
    assert billing_settings(client, payment_gateway="manual")["payment_gateway"] == "manual"
    shop = open_shop(client, START, payment_method=None)
    sub = subscribe(shop)
    assert sub.status == "active"  # waits for the cheque, as a send_invoice one would
    first = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert first.status == "open" and first.attempt_count == 0 and first.payment_intent is None
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.pay(first.id)
    assert refused.value.param == "paid_out_of_band"
    paid = client.v1.invoices.pay(first.id, params={"paid_out_of_band": True})
    assert paid.status == "paid" and paid.paid_out_of_band
    shop.advance(utc(2025, 5, 1, 2))
    renewal = shop.invoices(sub.id)[1]
    assert renewal.status == "open" and renewal.attempt_count == 0
    assert renewal.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.charges.list(params={"customer": shop.customer_id}).data == []


def test_a_one_off_invoice_is_retried_on_the_schedule_until_no_retry_is_left(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    shop = open_shop(client, START, payment_method="pm_card_chargeCustomerFail")
    client.v1.invoice_items.create(
        params={"customer": shop.customer_id, "amount": 5000, "currency": "eur"}
    )
    draft = client.v1.invoices.create(
        params={
            "customer": shop.customer_id,
            "pending_invoice_items_behavior": "include",
            "auto_advance": True,
        }
    )
    # Finalized by time (the draft's automatic finalization an hour later): the first
    # attempt is queued for collection, then retried 1, 3, 5 and 7 days after it failed.
    shop.advance(START + timedelta(hours=2))
    invoice = client.v1.invoices.retrieve(draft.id)
    first_failure = START + timedelta(hours=1)
    assert invoice.status == "open" and invoice.attempt_count == 1
    assert invoice.next_payment_attempt == at(first_failure + DAY)
    for day, following in ((1, 3), (3, 5), (5, 7)):
        shop.advance(first_failure + day * DAY + timedelta(minutes=5))
        invoice = client.v1.invoices.retrieve(draft.id)
        assert invoice.attempt_count == [1, 3, 5].index(day) + 2
        assert invoice.next_payment_attempt == at(first_failure + following * DAY)
    shop.advance(first_failure + 7 * DAY + timedelta(minutes=5))
    invoice = client.v1.invoices.retrieve(draft.id)
    # The last retry failed: no retry is left, the invoice stays open (the default) for
    # the customer to pay, and nothing more is attempted.
    assert invoice.attempt_count == 5 and invoice.next_payment_attempt is None
    assert invoice.status == "open"
    shop.advance(first_failure + 30 * DAY)
    assert client.v1.invoices.retrieve(draft.id).attempt_count == 5
    assert shop.events("invoice.payment_failed").count("invoice.payment_failed") == 5
    assert money_violations(container.uow_factory, gateway(container), account.account) == []


def test_canceling_a_past_due_subscription_stops_the_retries_of_its_invoices(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    # Stripe: "upon subscription cancellation, Stripe will stop automatic collection of
    # all finalized invoices" (auto_advance=false): no attempt after the customer left.
    shop = open_shop(client, START)
    sub, renewal = failing_renewal(shop)
    assert renewal.next_payment_attempt == at(FIRST_FAILURE + DAY)
    client.v1.subscriptions.cancel(sub.id)
    shop.advance(FIRST_FAILURE + 8 * DAY)
    invoice = client.v1.invoices.retrieve(renewal.id)
    assert invoice.status == "open" and invoice.attempt_count == 1
    assert invoice.auto_advance is False and invoice.next_payment_attempt is None
    assert shop.events("invoice.payment_failed") == ["invoice.payment_failed"]
    # The customer can still pay it.
    visa = card(shop, "pm_card_visa")
    paid = client.v1.invoices.pay(renewal.id, params={"payment_method": visa})
    assert paid.status == "paid"
    assert money_violations(container.uow_factory, gateway(container), account.account) == []
