"""A customer's discount (`coupon` / `promotion_code` on the customer) through time.

It applies to the customer's invoices that have no discount of their own, for as long as
its coupon's duration, counted from when the customer got it; a subscription's own
discounts take precedence; redemption limits are those of coupons and promotion codes.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop

JAN = utc(2025, 1, 1)
FEB = utc(2025, 2, 1)


def _coupon(client: stripe.StripeClient, **params: Any) -> str:
    return client.v1.coupons.create(params=params).id  # type: ignore[arg-type]


def _discounted_shop(client: stripe.StripeClient, **customer: Any) -> Shop:
    shop = open_shop(client, JAN)
    client.v1.customers.update(shop.customer_id, params=customer)  # type: ignore[arg-type]
    return shop


def _subscribe(shop: Shop, price: str, **params: Any) -> stripe.Subscription:
    return shop.client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": price}], **params}  # type: ignore[typeddict-item]
    )


def _totals(shop: Shop, sub: stripe.Subscription) -> list[tuple[int, int]]:
    """(subtotal, total) of each invoice of the subscription, oldest first."""
    return [(invoice.subtotal, invoice.total) for invoice in shop.invoices(sub.id)]


def test_a_repeating_customer_discount_counts_from_when_the_customer_got_it(
    client: stripe.StripeClient,
) -> None:
    coupon = _coupon(client, percent_off=25, duration="repeating", duration_in_months=3)
    shop = _discounted_shop(client, coupon=coupon)
    customer = client.v1.customers.retrieve(shop.customer_id)
    discount = customer.discount
    assert discount is not None
    assert discount.id.startswith("di_") and discount.object == "discount"
    assert (discount.start, discount.end) == (to_unix(JAN), to_unix(utc(2025, 4, 1)))
    assert discount.source.coupon == coupon and discount.source.type == "coupon"
    assert discount["coupon"]["percent_off"] == 25  # the older field, kept
    assert discount.customer == shop.customer_id and discount.promotion_code is None

    shop.advance(FEB)  # the subscription starts a month after the discount did
    sub = _subscribe(shop, shop.price(2000))
    assert sub.discounts == []  # the subscription has none of its own
    shop.advance(utc(2025, 5, 1, 2))
    # Feb and Mar are within Jan 1 + 3 months; Apr 1 is the discount's end; May is not.
    assert _totals(shop, sub) == [(2000, 1500), (2000, 1500), (2000, 2000), (2000, 2000)]
    first = shop.invoices(sub.id)[0]
    assert first.discounts == [discount.id]
    assert first.total_discount_amounts[0].amount == 500  # type: ignore[index]
    assert client.v1.customers.retrieve(shop.customer_id).discount is None  # ended Apr 1


def test_a_subscription_discount_takes_precedence_over_the_customer_one(
    client: stripe.StripeClient,
) -> None:
    half = _coupon(client, percent_off=50, duration="forever")
    tenth_once = _coupon(client, percent_off=10, duration="once")
    shop = _discounted_shop(client, coupon=half)
    price = shop.price(2000)
    own = _subscribe(shop, price, discounts=[{"coupon": tenth_once}])
    plain = _subscribe(shop, shop.price(1000, name="Locker"))
    assert _totals(shop, own) == [(2000, 1800)]  # its own 10 %, not the customer's 50 %
    assert _totals(shop, plain) == [(1000, 500)]  # the customer's 50 %
    shop.advance(utc(2025, 2, 1, 2))
    # The subscription's `once` discount is used up: the customer's applies from then on.
    assert _totals(shop, own) == [(2000, 1800), (2000, 1000)]
    assert _totals(shop, plain) == [(1000, 500), (1000, 500)]
    assert client.v1.customers.retrieve(shop.customer_id).discount is not None  # forever


def test_a_once_customer_discount_is_used_by_one_invoice(client: stripe.StripeClient) -> None:
    shop = _discounted_shop(client, coupon=_coupon(client, amount_off=300, currency="eur"))
    sub = _subscribe(shop, shop.price(2000))
    shop.advance(utc(2025, 2, 1, 2))
    assert _totals(shop, sub) == [(2000, 1700), (2000, 2000)]
    assert client.v1.customers.retrieve(shop.customer_id).discount is None


def test_deleting_the_customer_discount(client: stripe.StripeClient) -> None:
    shop = _discounted_shop(client, coupon=_coupon(client, percent_off=20, duration="forever"))
    sub = _subscribe(shop, shop.price(1000))
    deleted = client.v1.customers.delete_discount(shop.customer_id)
    assert deleted.deleted is True and deleted.object == "discount"
    assert deleted.customer == shop.customer_id
    assert client.v1.customers.retrieve(shop.customer_id).discount is None
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.delete_discount(shop.customer_id)
    assert missing.value.http_status == 404
    shop.advance(utc(2025, 2, 1, 2))
    assert _totals(shop, sub) == [(1000, 800), (1000, 1000)]


def test_a_new_coupon_replaces_the_customer_discount(client: stripe.StripeClient) -> None:
    shop = _discounted_shop(client, coupon=_coupon(client, percent_off=20, duration="forever"))
    first = client.v1.customers.retrieve(shop.customer_id).discount
    assert first is not None
    second_coupon = _coupon(client, percent_off=30, duration="forever")
    updated = client.v1.customers.update(
        shop.customer_id,
        params={"coupon": second_coupon},  # type: ignore[typeddict-unknown-key]
    )
    assert updated.discount is not None and updated.discount.id != first.id
    assert updated.discount.source.coupon == second_coupon
    sub = _subscribe(shop, shop.price(1000))
    assert _totals(shop, sub) == [(1000, 700)]


def test_a_promotion_code_on_a_customer(client: stripe.StripeClient) -> None:
    coupon = _coupon(client, percent_off=15, duration="forever")
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon}, "max_redemptions": 1}
    )
    shop = _discounted_shop(client, promotion_code=code.id)
    discount = client.v1.customers.retrieve(shop.customer_id).discount
    assert discount is not None and discount.promotion_code == code.id
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1
    sub = _subscribe(shop, shop.price(2000))
    assert _totals(shop, sub) == [(2000, 1700)]
    # The code's one redemption is used: another customer cannot redeem it.
    with pytest.raises(stripe.InvalidRequestError) as used_up:
        client.v1.customers.create(params={"promotion_code": code.id})  # type: ignore[typeddict-unknown-key]
    assert used_up.value.param == "promotion_code"


def test_redemption_limits_are_enforced_and_a_refusal_creates_nothing(
    client: stripe.StripeClient,
) -> None:
    once = _coupon(client, percent_off=10, max_redemptions=1)
    client.v1.customers.create(params={"name": "First", "coupon": once})  # type: ignore[typeddict-unknown-key]
    before = len(client.v1.customers.list(params={"limit": 100}).data)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.customers.create(params={"name": "Second", "coupon": once})  # type: ignore[typeddict-unknown-key]
    assert refused.value.param == "coupon" and refused.value.code == "coupon_expired"
    assert len(client.v1.customers.list(params={"limit": 100}).data) == before
    assert client.v1.coupons.retrieve(once).times_redeemed == 1

    minimum = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": _coupon(client, percent_off=5)},
            "restrictions": {"minimum_amount": 5000, "minimum_amount_currency": "eur"},
        }
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({"coupon": "no_such_coupon"}, "coupon"),
        ({"promotion_code": "promo_missing"}, "promotion_code"),
        ({"promotion_code": minimum.id}, "promotion_code"),
        ({"coupon": once, "promotion_code": minimum.id}, "promotion_code"),
    ]
    customer = client.v1.customers.create(params={"name": "Third"})
    for params, param in cases:
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.customers.update(customer.id, params=params)  # type: ignore[arg-type]
        assert error.value.param == param, params
    assert client.v1.customers.retrieve(customer.id).discount is None
    assert client.v1.promotion_codes.retrieve(minimum.id).times_redeemed == 0


def test_a_manual_invoice_inherits_the_customer_discount_unless_told_not_to(
    client: stripe.StripeClient,
) -> None:
    shop = _discounted_shop(client, coupon=_coupon(client, percent_off=50, duration="forever"))
    for discounts, total in ((None, 500), ("", 1000)):
        client.v1.invoice_items.create(
            params={"customer": shop.customer_id, "amount": 1000, "currency": "eur"}
        )
        params: dict[str, Any] = {
            "customer": shop.customer_id,
            "pending_invoice_items_behavior": "include",
        }
        if discounts is not None:
            params["discounts"] = discounts
        invoice = client.v1.invoices.create(params=params)  # type: ignore[arg-type]
        assert (invoice.subtotal, invoice.total) == (1000, total)


def test_an_amount_off_customer_coupon_in_another_currency_is_not_applied(
    client: stripe.StripeClient,
) -> None:
    shop = _discounted_shop(client, coupon=_coupon(client, amount_off=500, currency="usd"))
    sub = _subscribe(shop, shop.price(2000, currency="eur"))
    assert _totals(shop, sub) == [(2000, 2000)]
    # Still the customer's, for an invoice in its currency.
    assert client.v1.customers.retrieve(shop.customer_id).discount is not None
