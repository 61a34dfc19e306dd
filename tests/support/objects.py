"""One object of every resource in one account, for tests that walk every route."""

from __future__ import annotations

import re
import time

import stripe

from recur.api.framework import Route


def create_one_of_each(client: stripe.StripeClient) -> dict[str, str]:
    """Create a linked set of objects; keys are the routes' path parameter names."""
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_700_000_000})
    customer = client.v1.customers.create(
        params={
            "name": "Owner",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    payment_method = client.v1.customers.payment_methods.list(customer.id).data[0]
    product = client.v1.products.create(params={"name": "Desk"})
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 19900,
            "recurring": {"interval": "month"},
        }
    )
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "once"})
    promotion_code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}}
    )
    tax_rate = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": "20", "inclusive": False}
    )
    subscription = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    item = client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 100, "currency": "eur"}
    )
    schedule = client.v1.subscription_schedules.create(
        params={
            "customer": customer.id,
            "start_date": int(time.time()) + 30 * 86400,  # not started: no subscription yet
            "phases": [{"items": [{"price": price.id}], "iterations": 12}],
        }
    )
    credit_note = client.v1.credit_notes.create(
        params={
            "invoice": str(subscription.latest_invoice),
            "amount": 100,
            "out_of_band_amount": 100,
        }
    )
    # A credit and the debit that cancels it: the customer's balance stays 0.
    transaction = client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": -500, "currency": "eur"}
    )
    client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": 500, "currency": "eur"}
    )
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": payment_method.id,
            "confirm": True,
        }
    )
    refund = client.v1.refunds.create(params={"charge": str(intent.latest_charge), "amount": 100})
    event = client.v1.events.list(params={"limit": 1}).data[0]
    # Disabled: routes walked with random bodies must not see deliveries appear meanwhile.
    webhook_endpoint = client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/webhooks", "enabled_events": ["*"]}
    )
    client.v1.webhook_endpoints.update(webhook_endpoint.id, params={"disabled": True})
    # Stripe's dispute test card: the charge succeeds, then the simulated gateway disputes it.
    disputed = client.v1.payment_intents.create(
        params={
            "amount": 500,
            "currency": "eur",
            "payment_method": "pm_card_createDispute",
            "confirm": True,
        }
    )
    dispute = client.v1.disputes.list(params={"payment_intent": disputed.id}).data[0]
    return {
        "webhook_endpoint": webhook_endpoint.id,
        "subscription": subscription.id,
        "schedule": schedule.id,
        "item": subscription["items"].data[0].id,
        "invoice": str(subscription.latest_invoice),
        "event": event.id,
        "invoiceitem": item.id,
        "customer": customer.id,
        "payment_method": payment_method.id,
        "product": product.id,
        "price": price.id,
        "coupon": coupon.id,
        "promotion_code": promotion_code.id,
        "tax_rate": tax_rate.id,
        "test_clock": clock.id,
        "credit_note": credit_note.id,
        "transaction": transaction.id,
        "payment_intent": intent.id,
        "charge": str(intent.latest_charge),
        "refund": refund.id,
        "dispute": dispute.id,
    }


def path_parameters(target: Route) -> list[str]:
    """The names of a route's path parameters."""
    return re.findall(r"\{(\w+)\}", target.path)


def fill_path(target: Route, ids: dict[str, str]) -> str:
    """The route's path with real ids in place of its parameters."""
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], target.path)
