"""Subscription changes mid-period on test clocks: prorations, credits, cycle resets, previews.

Every scenario starts on April 1 (a 30-day month) and changes exactly half-way, on April
16 at 00:00, so the proration factor is exactly 1/2.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop

START = utc(2025, 4, 1)
HALF = utc(2025, 4, 16)
MAY = utc(2025, 5, 1)
AFTER_RENEWAL = utc(2025, 5, 1, 2)  # the renewal draft is finalized an hour after


def _lines(invoice: stripe.Invoice) -> list[tuple[int, bool, int, int]]:
    """(amount, proration, period start, period end) per line, sorted."""
    return sorted(
        (line.amount, bool(line["proration"]), line.period.start, line.period.end)
        for line in invoice.lines.data
    )


def _subscribe(shop: Shop, *prices: str, quantity: int = 1) -> stripe.Subscription:
    return shop.client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": price, "quantity": quantity} for price in prices],
        }
    )


def _update(client: stripe.StripeClient, sub_id: str, **params: Any) -> stripe.Subscription:
    return client.v1.subscriptions.update(sub_id, params=params)  # type: ignore[arg-type]


def _day_price(shop: Shop, amount: int, name: str) -> str:
    """A price billed every 30 days (Dodo's cycle in its documentation's example)."""
    product = shop.client.v1.products.create(params={"name": name})
    return shop.client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": amount,
            "recurring": {"interval": "day", "interval_count": 30},
        }
    ).id


def _change_to(sub: stripe.Subscription, price: str) -> list[dict[str, Any]]:
    return [{"id": sub["items"].data[0].id, "price": price}]


# --- Stripe's worked example: 1000 → 2000 per month, half-way ---------------------------


def test_upgrade_half_way_create_prorations(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000, name="Basic"), shop.price(2000, name="Pro")
    sub = _subscribe(shop, basic)
    shop.advance(HALF)
    updated = _update(client, sub.id, items=_change_to(sub, pro))
    assert updated["items"].data[0].price.id == pro
    assert updated["items"].data[0].id == sub["items"].data[0].id
    assert updated["current_period_end"] == to_unix(MAY)
    assert len(shop.invoices(sub.id)) == 1  # nothing invoiced now

    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert preview.id.startswith("upcoming_in_")
    assert preview.billing_reason == "upcoming"
    assert preview.total == 2500

    shop.advance(AFTER_RENEWAL)
    invoices = shop.invoices(sub.id)
    assert len(invoices) == 2
    renewal = invoices[1]
    assert renewal.billing_reason == "subscription_cycle"
    assert renewal.status == "paid" and renewal.total == 2500 and renewal.amount_paid == 2500
    june = to_unix(utc(2025, 6, 1))
    assert _lines(renewal) == [
        (-500, True, to_unix(HALF), to_unix(MAY)),
        (1000, True, to_unix(HALF), to_unix(MAY)),
        (2000, False, to_unix(MAY), june),
    ]
    descriptions = sorted(line.description or "" for line in renewal.lines.data)
    assert descriptions[0] == "1 × Pro (at 20.00 EUR / month)"
    assert descriptions[1].startswith(
        "Remaining time on 1 × Pro (at 20.00 EUR / month) after 16 Apr"
    )
    assert descriptions[2].startswith(
        "Unused time on 1 × Basic (at 10.00 EUR / month) after 16 Apr"
    )
    # The preview made at the change is the invoice that was produced.
    assert _lines(preview) == _lines(renewal)
    assert preview.amount_due == renewal.amount_due


def test_upgrade_half_way_always_invoice(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000, name="Basic"), shop.price(2000, name="Pro")
    sub = _subscribe(shop, basic)
    shop.advance(HALF)
    updated = _update(
        client, sub.id, items=_change_to(sub, pro), proration_behavior="always_invoice"
    )
    invoices = shop.invoices(sub.id)
    assert len(invoices) == 2
    now = invoices[1]
    assert updated.latest_invoice == now.id
    assert now.billing_reason == "subscription_update"
    assert now.status == "paid" and now.total == 500 and now.amount_paid == 500
    assert _lines(now) == [
        (-500, True, to_unix(HALF), to_unix(MAY)),
        (1000, True, to_unix(HALF), to_unix(MAY)),
    ]
    assert now.period_start == now.period_end == to_unix(HALF)

    shop.advance(AFTER_RENEWAL)
    renewal = shop.invoices(sub.id)[2]
    assert renewal.total == 2000 and renewal.status == "paid"
    assert _lines(renewal) == [(2000, False, to_unix(MAY), to_unix(utc(2025, 6, 1)))]


def test_upgrade_half_way_without_proration(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000)
    sub = _subscribe(shop, basic)
    shop.advance(HALF)
    _update(client, sub.id, items=_change_to(sub, pro), proration_behavior="none")
    assert len(shop.invoices(sub.id)) == 1
    shop.advance(AFTER_RENEWAL)
    renewal = shop.invoices(sub.id)[1]
    assert _lines(renewal) == [(2000, False, to_unix(MAY), to_unix(utc(2025, 6, 1)))]


def test_upgrade_half_way_difference_immediately(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000, name="Pro")
    sub = _subscribe(shop, basic)
    shop.advance(HALF)
    _update(client, sub.id, items=_change_to(sub, pro), proration_behavior="difference_immediately")
    invoices = shop.invoices(sub.id)
    now = invoices[1]
    assert now.billing_reason == "subscription_update"
    assert now.total == 1000 and now.status == "paid"
    assert _lines(now) == [(1000, True, to_unix(HALF), to_unix(MAY))]
    assert now.lines.data[0].description.startswith("Change to 1 × Pro")  # type: ignore[union-attr]
    shop.advance(AFTER_RENEWAL)
    assert _lines(shop.invoices(sub.id)[2]) == [
        (2000, False, to_unix(MAY), to_unix(utc(2025, 6, 1)))
    ]


# --- Dodo's documented example: 30 → 80 per 30-day cycle with 15 days left -------------


@pytest.mark.parametrize(
    ("params", "charged", "lines"),
    [
        # prorated_immediately: 40 - 15 = 25, the cycle kept
        (
            {"proration_behavior": "always_invoice"},
            2500,
            [(-1500, True, HALF, MAY), (4000, True, HALF, MAY)],
        ),
        # difference_immediately: 80 - 30 = 50
        (
            {"proration_behavior": "difference_immediately"},
            5000,
            [(5000, True, HALF, MAY)],
        ),
        # full_immediately: 80, a new cycle from today
        (
            {"proration_behavior": "none", "billing_cycle_anchor": "now"},
            8000,
            [(8000, False, HALF, utc(2025, 5, 16))],
        ),
        # do_not_bill: nothing now
        ({"proration_behavior": "none"}, None, []),
    ],
    ids=["prorated_immediately", "difference_immediately", "full_immediately", "do_not_bill"],
)
def test_dodo_plan_change_modes(
    client: stripe.StripeClient,
    params: dict[str, Any],
    charged: int | None,
    lines: list[tuple[int, bool, Any, Any]],
) -> None:
    shop = open_shop(client, START)
    basic, pro = _day_price(shop, 3000, "Basic"), _day_price(shop, 8000, "Pro")
    sub = _subscribe(shop, basic)
    assert sub["current_period_end"] == to_unix(MAY)  # 30 days
    shop.advance(HALF)
    # The preview states the immediate charge before committing.
    details = {"items": _change_to(sub, pro), **params}
    preview = client.v1.invoices.create_preview(
        params={"subscription": sub.id, "subscription_details": details}  # type: ignore[arg-type]
    )
    updated = _update(client, sub.id, items=_change_to(sub, pro), **params)
    invoices = shop.invoices(sub.id)
    expected = sorted((a, p, to_unix(s), to_unix(e)) for a, p, s, e in lines)
    if charged is None:
        assert len(invoices) == 1
        assert preview.billing_reason == "upcoming"  # nothing now: the renewal is next
        assert preview.total == 8000 and preview.period_start == to_unix(MAY)
        assert updated["current_period_end"] == to_unix(MAY)
        return
    assert len(invoices) == 2
    now = invoices[1]
    assert now.status == "paid" and now.amount_paid == charged
    assert _lines(now) == expected
    assert preview.amount_due == charged and _lines(preview) == expected
    if params.get("billing_cycle_anchor") == "now":
        assert updated.billing_cycle_anchor == to_unix(HALF)
        assert updated["current_period_start"] == to_unix(HALF)
        assert updated["current_period_end"] == to_unix(utc(2025, 5, 16))
    else:
        assert updated["current_period_end"] == to_unix(MAY)


def test_dodo_plan_change_with_seats(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = _day_price(shop, 3000, "Basic"), _day_price(shop, 8000, "Pro")
    seat = _day_price(shop, 1000, "Seat")
    sub = _subscribe(shop, basic)
    shop.advance(HALF)
    items = [*_change_to(sub, pro), {"price": seat, "quantity": 3}]
    updated = _update(client, sub.id, items=items, proration_behavior="always_invoice")
    assert [(i.price.id, i.quantity) for i in updated["items"].data] == [(pro, 1), (seat, 3)]
    now = shop.invoices(sub.id)[1]
    # 40 - 15 for the plan, 3 × 10 × 1/2 = 15 for the seats: 40 in all.
    assert now.amount_paid == 4000
    assert _lines(now) == [
        (-1500, True, to_unix(HALF), to_unix(MAY)),
        (1500, True, to_unix(HALF), to_unix(MAY)),
        (4000, True, to_unix(HALF), to_unix(MAY)),
    ]
    shop.advance(AFTER_RENEWAL)
    renewal = shop.invoices(sub.id)[2]
    assert renewal.total == 8000 + 3000


# --- quantity, downgrade credit, interval change -----------------------------------------


def test_quantity_change_half_way(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    desk = shop.price(1000)
    sub = _subscribe(shop, desk)
    shop.advance(HALF)
    item = sub["items"].data[0].id
    changed = client.v1.subscription_items.update(item, params={"quantity": 3})
    assert changed.quantity == 3 and changed.id == item
    shop.advance(AFTER_RENEWAL)
    renewal = shop.invoices(sub.id)[1]
    assert _lines(renewal) == [
        (-500, True, to_unix(HALF), to_unix(MAY)),
        (1500, True, to_unix(HALF), to_unix(MAY)),
        (3000, False, to_unix(MAY), to_unix(utc(2025, 6, 1))),
    ]
    assert renewal.total == 4000


def test_downgrade_credit_is_used_by_the_next_invoice(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    pro, basic = shop.price(2000, name="Pro"), shop.price(1000, name="Basic")
    sub = _subscribe(shop, pro)
    shop.advance(HALF)
    _update(client, sub.id, items=_change_to(sub, basic), proration_behavior="always_invoice")
    now = shop.invoices(sub.id)[1]
    assert now.total == -500 and now.amount_due == 0 and now.status == "paid"
    assert now.starting_balance == 0 and now.ending_balance == -500
    assert client.v1.customers.retrieve(shop.customer_id).balance == -500

    shop.advance(AFTER_RENEWAL)
    renewal = shop.invoices(sub.id)[2]
    assert renewal.total == 1000
    assert renewal.starting_balance == -500 and renewal.ending_balance == 0
    assert renewal.amount_due == 500 and renewal.amount_paid == 500
    assert client.v1.customers.retrieve(shop.customer_id).balance == 0


def test_difference_immediately_downgrade_is_a_pending_credit(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, START)
    pro, basic = shop.price(2000, name="Pro"), shop.price(1500, name="Basic")
    sub = _subscribe(shop, pro)
    shop.advance(HALF)
    _update(
        client, sub.id, items=_change_to(sub, basic), proration_behavior="difference_immediately"
    )
    assert len(shop.invoices(sub.id)) == 1  # a credit is not invoiced on its own
    shop.advance(AFTER_RENEWAL)
    renewal = shop.invoices(sub.id)[1]
    assert _lines(renewal) == [
        (-500, True, to_unix(HALF), to_unix(MAY)),
        (1500, False, to_unix(MAY), to_unix(utc(2025, 6, 1))),
    ]
    assert renewal.amount_paid == 1000


def test_interval_change_resets_the_cycle(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    monthly, yearly = shop.price(1000), shop.price(10000, interval="year")
    sub = _subscribe(shop, monthly)
    shop.advance(HALF)
    updated = _update(client, sub.id, items=_change_to(sub, yearly))
    next_year = utc(2026, 4, 16)
    assert updated.billing_cycle_anchor == to_unix(HALF)
    assert updated["current_period_start"] == to_unix(HALF)
    assert updated["current_period_end"] == to_unix(next_year)
    now = shop.invoices(sub.id)[1]
    assert now.billing_reason == "subscription_update"
    assert _lines(now) == [
        (-500, True, to_unix(HALF), to_unix(MAY)),
        (10000, False, to_unix(HALF), to_unix(next_year)),
    ]
    assert now.amount_paid == 9500
    shop.advance(AFTER_RENEWAL)
    assert len(shop.invoices(sub.id)) == 2  # no renewal on May 1 any more


# --- preview, trial, payment behaviours, errors -----------------------------------------


def test_preview_writes_nothing(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000)
    sub = _subscribe(shop, basic)
    shop.advance(HALF)
    events_before = shop.events()
    details = {"items": _change_to(sub, pro), "proration_behavior": "always_invoice"}
    preview = client.v1.invoices.create_preview(
        params={
            "customer": shop.customer_id,
            "subscription": sub.id,
            "subscription_details": details,
        }  # type: ignore[arg-type]
    )
    assert preview.status == "draft" and preview.number is None
    assert preview.amount_due == 500 and preview.billing_reason == "subscription_update"
    assert all(line.id.startswith("il_tmp_") for line in preview.lines.data)
    assert shop.events() == events_before
    assert len(shop.invoices(sub.id)) == 1
    after = client.v1.subscriptions.retrieve(sub.id)
    assert after["items"].data[0].price.id == basic
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.invoices.retrieve(preview.id)
    assert error.value.http_status == 404


def test_preview_errors(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    sub = _subscribe(shop, shop.price(1000))
    other = client.v1.customers.create(params={"name": "Other"})
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"customer": shop.customer_id}, "subscription", 400),
        ({"subscription": "sub_missing"}, "subscription", 404),
        ({"subscription": sub.id, "customer": other.id}, "customer", 400),
        (
            {"subscription": sub.id, "subscription_details": {"proration_date": 1}},
            "proration_date",
            400,
        ),
        (
            {
                "subscription": sub.id,
                "subscription_details": {"items": [{"id": "si_nope", "quantity": 2}]},
            },
            "subscription_details[items][0][id]",
            404,
        ),
    ]
    for params, param, status in cases:
        if "proration_date" in str(params):
            params["subscription_details"]["items"] = [
                {"id": sub["items"].data[0].id, "quantity": 2}
            ]
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.invoices.create_preview(params=params)  # type: ignore[arg-type]
        assert error.value.param == param, params
        assert error.value.http_status == status, params
    client.v1.subscriptions.cancel(sub.id)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert error.value.code == "invoice_upcoming_none"


def test_change_during_trial_with_trial_end_now(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": basic}], "trial_period_days": 30}
    )
    assert sub.status == "trialing"
    shop.advance(HALF)
    updated = _update(client, sub.id, items=_change_to(sub, pro), trial_end="now")
    assert updated.status == "active"
    assert updated.trial_end == to_unix(HALF)
    assert updated["current_period_start"] == to_unix(HALF)
    invoices = shop.invoices(sub.id)
    first_paid = invoices[-1]
    assert _lines(first_paid) == [(2000, False, to_unix(HALF), to_unix(utc(2025, 5, 16)))]


def test_error_if_incomplete_changes_nothing(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000)
    sub = _subscribe(shop, basic)
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": shop.customer_id}
    )
    _update(client, sub.id, default_payment_method=failing.id)
    shop.advance(HALF)
    # pending_if_incomplete: 200 and a pending_update (tests/scenarios/test_pending_updates.py)
    for behavior in ("error_if_incomplete",):
        with pytest.raises(stripe.CardError) as error:
            _update(
                client,
                sub.id,
                items=_change_to(sub, pro),
                proration_behavior="always_invoice",
                payment_behavior=behavior,
            )
        assert error.value.http_status == 402
        unchanged = client.v1.subscriptions.retrieve(sub.id)
        assert unchanged["items"].data[0].price.id == basic and unchanged.status == "active"
        assert len(shop.invoices(sub.id)) == 1
    # allow_incomplete (the default): the change applies, the invoice stays open, past_due.
    changed = _update(
        client, sub.id, items=_change_to(sub, pro), proration_behavior="always_invoice"
    )
    assert changed["items"].data[0].price.id == pro
    assert changed.status == "past_due"
    open_invoice = shop.invoices(sub.id)[1]
    assert open_invoice.status == "open" and open_invoice.amount_remaining == 500


def test_update_errors_name_the_parameter(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, yearly = shop.price(1000), shop.price(10000, interval="year")
    usd = shop.price(1000, currency="usd")
    sub = _subscribe(shop, basic)
    item = sub["items"].data[0].id
    cases: list[tuple[dict[str, Any], str]] = [
        ({"items": [{"id": "si_missing", "quantity": 2}]}, "items[0][id]"),
        ({"items": [{"id": item, "deleted": True}]}, "items"),
        ({"items": [{"price": usd}]}, "items[0][price]"),
        ({"items": [{"price": yearly}]}, "items[0][price]"),
        ({"items": [{"price": basic}]}, "items[0][price]"),
        ({"items": [{"quantity": 2}]}, "items[0][price]"),
        ({"items": [{"id": item, "quantity": 2}], "proration_date": 1}, "proration_date"),
        ({"proration_behavior": "sometimes"}, "proration_behavior"),
        (
            {
                "items": [{"id": item, "price": yearly}],
                "proration_behavior": "difference_immediately",
            },
            "proration_behavior",
        ),
    ]
    for params, param in cases:
        with pytest.raises(stripe.InvalidRequestError) as error:
            _update(client, sub.id, **params)
        assert error.value.param == param, params
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].quantity == 1
    assert len(shop.invoices(sub.id)) == 1
    assert shop.events("customer.subscription.updated") == []


def test_subscription_updated_event_has_previous_items(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000)
    sub = _subscribe(shop, basic)
    shop.advance(HALF)
    _update(client, sub.id, items=_change_to(sub, pro), proration_behavior="none")
    events = client.v1.events.list(params={"type": "customer.subscription.updated"}).data
    assert len(events) == 1
    data = events[0].data
    assert data.object["items"]["data"][0]["price"]["id"] == pro
    previous = data.previous_attributes
    assert previous is not None
    assert previous["items"]["data"][0]["price"]["id"] == basic


def test_prorations_carry_the_item_tax_rates(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    vat = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 20, "inclusive": False}
    )
    basic, pro = shop.price(1000), shop.price(2000)
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": basic, "tax_rates": [vat.id]}],
        }
    )
    shop.advance(HALF)
    _update(client, sub.id, items=_change_to(sub, pro))
    shop.advance(AFTER_RENEWAL)
    renewal = shop.invoices(sub.id)[1]
    taxes = sorted(
        (line.amount, [t.amount for t in line.taxes or []]) for line in renewal.lines.data
    )
    assert taxes == [(-500, [-100]), (1000, [200]), (2000, [400])]
    assert renewal.subtotal == 2500 and renewal.total == 3000


def test_preview_with_proration_date_matches_a_later_change(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000)
    sub = _subscribe(shop, basic)
    shop.advance(HALF)
    details = {
        "items": _change_to(sub, pro),
        "proration_behavior": "always_invoice",
        "proration_date": to_unix(HALF),
    }
    preview = client.v1.invoices.create_preview(
        params={"subscription": sub.id, "subscription_details": details}  # type: ignore[arg-type]
    )
    shop.advance(utc(2025, 4, 16, 7))  # the customer thinks it over for seven hours
    _update(client, sub.id, **details)
    now = shop.invoices(sub.id)[1]
    assert (
        _lines(now)
        == _lines(preview)
        == [
            (-500, True, to_unix(HALF), to_unix(MAY)),
            (1000, True, to_unix(HALF), to_unix(MAY)),
        ]
    )
    assert now.amount_paid == preview.amount_due == 500


def test_preview_applies_the_customer_credit(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    pro, basic = shop.price(2000), shop.price(1000)
    sub = _subscribe(shop, pro)
    shop.advance(HALF)
    _update(client, sub.id, items=_change_to(sub, basic), proration_behavior="always_invoice")
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert preview.total == 1000
    assert preview.starting_balance == -500 and preview.amount_due == 500
    assert client.v1.customers.retrieve(shop.customer_id).balance == -500  # still unused


def test_trialing_change_is_not_prorated(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": basic}], "trial_period_days": 30}
    )
    shop.advance(HALF)
    updated = _update(
        client, sub.id, items=_change_to(sub, pro), proration_behavior="always_invoice"
    )
    assert updated.status == "trialing"
    assert len(shop.invoices(sub.id)) == 1  # the 0 trial invoice only
    shop.advance(utc(2025, 5, 1, 2))
    first = shop.invoices(sub.id)[1]
    assert _lines(first) == [(2000, False, to_unix(MAY), to_unix(utc(2025, 6, 1)))]


def test_in_arrears_subscription_changes_without_proration_only(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000)
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": basic}],
            "invoice_timing": "end",  # type: ignore[typeddict-unknown-key]
        }
    )
    shop.advance(HALF)
    with pytest.raises(stripe.InvalidRequestError) as error:
        _update(client, sub.id, items=_change_to(sub, pro))
    assert error.value.param == "proration_behavior"
    with pytest.raises(stripe.InvalidRequestError) as error:
        _update(client, sub.id, billing_cycle_anchor="now", proration_behavior="none")
    assert error.value.param == "billing_cycle_anchor"
    _update(client, sub.id, items=_change_to(sub, pro), proration_behavior="none")
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == pro


def test_preview_of_trial_end_now_and_of_the_period_end(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    basic, pro = shop.price(1000), shop.price(2000)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": basic}], "trial_period_days": 30}
    )
    shop.advance(HALF)
    details = {"items": _change_to(sub, pro), "trial_end": "now"}
    preview = client.v1.invoices.create_preview(
        params={"subscription": sub.id, "subscription_details": details}  # type: ignore[arg-type]
    )
    assert _lines(preview) == [(2000, False, to_unix(HALF), to_unix(utc(2025, 5, 16)))]
    _update(client, sub.id, **details)
    assert _lines(shop.invoices(sub.id)[-1]) == _lines(preview)

    # While the May renewal draft waits for finalization, the next invoice is June's.
    shop.advance(utc(2025, 5, 16, 0, 30))
    upcoming = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert upcoming.period_start == to_unix(utc(2025, 6, 16))
    assert upcoming.total == 2000 and upcoming.billing_reason == "upcoming"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.invoices.create_preview(
            params={
                "subscription": sub.id,
                "subscription_details": {"cancel_at_period_end": True},
            }
        )
    assert error.value.code == "invoice_upcoming_none" and error.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.invoices.create_preview(
            params={"subscription": sub.id, "subscription_details": {"cancel_at": 1}}
        )
    assert error.value.param == "subscription_details[cancel_at]"
