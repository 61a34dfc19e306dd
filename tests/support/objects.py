"""One object of every resource in one account, for tests that walk every route."""

from __future__ import annotations

import re

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
    event = client.v1.events.list(params={"limit": 1}).data[0]
    return {
        "subscription": subscription.id,
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
    }


def path_parameters(target: Route) -> list[str]:
    """The names of a route's path parameters."""
    return re.findall(r"\{(\w+)\}", target.path)


def fill_path(target: Route, ids: dict[str, str]) -> str:
    """The route's path with real ids in place of its parameters."""
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], target.path)
