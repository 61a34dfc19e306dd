"""The Pacific: every case of Stripe's subscription-schedule use-case document, on test clocks.

The newspaper sells Print (10.00 a month) and Digital (5.00 a month). Each scenario makes
the document's request as written (with the legacy `iterations`), moves a test clock, and
asserts every invoice: its amount, its lines and their periods. The clock starts on July 15
(2025) at midnight, so a monthly period is July 15 → August 15 (31 days).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop

START = utc(2025, 7, 15)
PRINT, DIGITAL = 1000, 500


def _month(n: int, day: int = 15) -> datetime:
    """The `day` of the n-th month after July 2025 (0: July 2025)."""
    return utc(2025 + (6 + n) // 12, (6 + n) % 12 + 1, day)


def _after(moment: datetime) -> datetime:
    """Two hours after a boundary: the renewal drafted then is finalized and paid."""
    return moment.replace(hour=2)


def _lines(invoice: stripe.Invoice) -> list[tuple[int, bool, int, int]]:
    """(amount, proration, period start, period end) of each line, sorted."""
    return sorted(
        (line.amount, bool(line["proration"]), line.period.start, line.period.end)
        for line in invoice.lines.data
    )


def _period(amount: int, start: datetime, end: datetime) -> tuple[int, bool, int, int]:
    return (amount, False, to_unix(start), to_unix(end))


def _newspaper(client: stripe.StripeClient) -> tuple[Shop, str, str]:
    shop = open_shop(client, START)
    return shop, shop.price(PRINT, name="Print"), shop.price(DIGITAL, name="Digital")


def _schedule(client: stripe.StripeClient, **params: Any) -> stripe.SubscriptionSchedule:
    return client.v1.subscription_schedules.create(params=params)  # type: ignore[arg-type]


def _items(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"price": price, "quantity": quantity} for price, quantity in pairs]


def _monthly(shop: Shop, sub_id: str, amount: int, first: int, count: int) -> None:
    """Invoices `first` … `first + count - 1` each bill one whole month of `amount`."""
    invoices = shop.invoices(sub_id)
    for n in range(first, first + count):
        assert _lines(invoices[n]) == [_period(amount, _month(n), _month(n + 1))], n
        assert invoices[n].status == "paid" and invoices[n].amount_paid == amount, n


# --- starting: in the future, backdated, from an existing subscription -----------------------


def test_start_in_the_future(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _newspaper(client)
    august = utc(2025, 8, 1)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date=to_unix(august),
        end_behavior="release",
        phases=[{"items": _items((print_, 1)), "iterations": 12}],
    )
    assert schedule.status == "not_started" and schedule.subscription is None
    assert schedule.current_phase is None
    assert (schedule.phases[0].start_date, schedule.phases[0].end_date) == (
        to_unix(august),
        to_unix(utc(2026, 8, 1)),
    )
    assert client.v1.subscriptions.list(params={"customer": shop.customer_id}).data == []
    listed = client.v1.subscription_schedules.list(params={"scheduled": True}).data
    assert [s.id for s in listed] == [schedule.id]

    shop.advance(_after(august))
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "active" and schedule.subscription is not None
    assert schedule.current_phase.start_date == to_unix(august)  # type: ignore[union-attr]
    sub = client.v1.subscriptions.retrieve(str(schedule.subscription))
    assert sub.schedule == schedule.id and sub.start_date == to_unix(august)
    (first,) = shop.invoices(sub.id)
    assert first.billing_reason == "subscription_create" and first.status == "paid"
    assert _lines(first) == [_period(PRINT, august, utc(2025, 9, 1))]

    shop.advance(_after(utc(2026, 8, 1)))
    invoices = shop.invoices(sub.id)
    assert len(invoices) == 13  # twelve months planned, then the released subscription renews
    for n, invoice in enumerate(invoices):
        start, end = utc(2025 + (7 + n) // 12, (7 + n) % 12 + 1, 1), None
        end = utc(2025 + (8 + n) // 12, (8 + n) % 12 + 1, 1)
        assert _lines(invoice) == [_period(PRINT, start, end)], n
        assert invoice.amount_paid == PRINT
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "released" and schedule.released_at == to_unix(utc(2026, 8, 1))
    assert schedule.released_subscription == sub.id and schedule.subscription is None
    assert client.v1.subscriptions.retrieve(sub.id).schedule is None
    assert shop.events("subscription_schedule.") == [
        "subscription_schedule.created",
        "subscription_schedule.updated",  # started
        "subscription_schedule.expiring",  # 7 days before the end
        "subscription_schedule.released",
    ]


def test_backdated_to_the_first_of_the_month(client: stripe.StripeClient) -> None:
    shop, _print, digital = _newspaper(client)
    july = utc(2025, 7, 1)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date=to_unix(july),
        end_behavior="release",
        phases=[{"items": _items((digital, 1)), "iterations": 12}],
    )
    assert schedule.status == "active"
    assert schedule.phases[0].end_date == to_unix(utc(2026, 7, 1))
    sub = client.v1.subscriptions.retrieve(str(schedule.subscription))
    assert sub.start_date == to_unix(july) and sub.billing_cycle_anchor == to_unix(july)
    # The time already passed is billed: the whole month from the 1st.
    (first,) = shop.invoices(sub.id)
    assert _lines(first) == [_period(DIGITAL, july, utc(2025, 8, 1))]
    assert first.amount_paid == DIGITAL
    shop.advance(_after(utc(2025, 8, 1)))
    assert _lines(shop.invoices(sub.id)[1]) == [_period(DIGITAL, utc(2025, 8, 1), utc(2025, 9, 1))]


def test_schedule_added_to_an_existing_subscription(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _newspaper(client)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": print_}]}
    )
    schedule = _schedule(client, from_subscription=sub.id)
    assert schedule.status == "active" and schedule.end_behavior == "release"
    assert schedule.subscription == sub.id and schedule.customer == shop.customer_id
    (phase,) = schedule.phases
    assert (phase.start_date, phase.end_date) == (to_unix(START), to_unix(_month(1)))
    assert [(i.price, i.quantity) for i in phase["items"]] == [(print_, 1)]
    assert client.v1.subscriptions.retrieve(sub.id).schedule == schedule.id

    shop.advance(_after(_month(1)))
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "released" and schedule.released_subscription == sub.id
    assert client.v1.subscriptions.retrieve(sub.id).schedule is None
    # The subscription keeps renewing by itself.
    shop.advance(_after(_month(2)))
    invoices = shop.invoices(sub.id)
    assert len(invoices) == 3
    _monthly(shop, sub.id, PRINT, 0, 3)


# --- changing what is billed: upgrade, downgrade, next cycle, quantity, coupon, tax --------


def test_upgrade_print_then_print_and_digital(client: stripe.StripeClient) -> None:
    shop, print_, digital = _newspaper(client)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        end_behavior="release",
        phases=[
            {"items": _items((print_, 1)), "iterations": 1},
            {"items": _items((print_, 1), (digital, 1)), "iterations": 11},
        ],
    )
    assert [(p.start_date, p.end_date) for p in schedule.phases] == [
        (to_unix(START), to_unix(_month(1))),
        (to_unix(_month(1)), to_unix(_month(12))),
    ]
    sub_id = str(schedule.subscription)
    (first,) = shop.invoices(sub_id)
    assert _lines(first) == [_period(PRINT, START, _month(1))]

    shop.advance(_after(_month(2)))
    invoices = shop.invoices(sub_id)
    assert len(invoices) == 3
    for n in (1, 2):
        # The boundary and the renewal share a second: one invoice, the new phase's prices.
        assert invoices[n].billing_reason == "subscription_cycle"
        assert invoices[n].amount_paid == PRINT + DIGITAL
        assert _lines(invoices[n]) == [
            _period(DIGITAL, _month(n), _month(n + 1)),
            _period(PRINT, _month(n), _month(n + 1)),
        ]
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert [(i.price.id, i.quantity) for i in sub["items"].data] == [(print_, 1), (digital, 1)]
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.current_phase.start_date == to_unix(_month(1))  # type: ignore[union-attr]
    updates = client.v1.events.list(params={"type": "customer.subscription.updated"}).data
    assert any(
        "items" in (e.data.to_dict().get("previous_attributes") or {})
        and e.created == to_unix(_month(1))
        for e in updates
    )


def test_downgrade_both_then_print_only(client: stripe.StripeClient) -> None:
    shop, print_, digital = _newspaper(client)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        end_behavior="release",
        phases=[
            {"items": _items((digital, 1), (print_, 1)), "iterations": 1},
            {"items": _items((print_, 1)), "iterations": 11},
        ],
    )
    sub_id = str(schedule.subscription)
    shop.advance(_after(_month(1)))
    first, second = shop.invoices(sub_id)
    assert first.amount_paid == PRINT + DIGITAL
    assert _lines(first) == [_period(DIGITAL, START, _month(1)), _period(PRINT, START, _month(1))]
    assert second.amount_paid == PRINT
    assert _lines(second) == [_period(PRINT, _month(1), _month(2))]  # no proration line


def test_change_at_the_next_cycle_premium_to_basic(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    premium, basic = shop.price(2000, name="Premium"), shop.price(PRINT, name="Basic")
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": premium}]}
    )
    # The document's two requests, as written in its Ruby example.
    schedule = _schedule(client, from_subscription=sub.id)
    first_phase = schedule.phases[0]
    schedule = client.v1.subscription_schedules.update(
        schedule.id,
        params={
            "phases": [
                {
                    "items": [
                        {
                            "price": str(first_phase["items"][0].price),
                            "quantity": first_phase["items"][0].quantity,
                        }
                    ],
                    "start_date": first_phase.start_date,
                    "end_date": first_phase.end_date,
                },
                {"items": [{"price": basic, "quantity": 1}], "iterations": 1},
            ]
        },
    )
    assert [p.end_date for p in schedule.phases] == [to_unix(_month(1)), to_unix(_month(2))]
    assert len(shop.invoices(sub.id)) == 1  # nothing changes, nothing is billed now
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert preview.total == PRINT  # the next invoice already bills the basic price

    shop.advance(_after(_month(2)))
    invoices = shop.invoices(sub.id)
    assert _lines(invoices[0]) == [_period(2000, START, _month(1))]
    assert _lines(invoices[1]) == [_period(PRINT, _month(1), _month(2))]
    assert _lines(invoices[2]) == [_period(PRINT, _month(2), _month(3))]  # released: goes on
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "released"


def test_a_planned_phase_keeps_a_price_archived_since(client: stripe.StripeClient) -> None:
    # Archiving a price stops new subscriptions to it; a change planned before goes ahead
    # (as subscriptions already on an archived price keep renewing).
    shop, print_, digital = _newspaper(client)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date=to_unix(START),
        end_behavior="release",
        phases=[
            {"items": _items((print_, 1)), "iterations": 1},
            {"items": _items((digital, 1)), "iterations": 1},
        ],
    )
    client.v1.prices.update(digital, params={"active": False})
    shop.advance(_after(_month(1)))
    sub = client.v1.subscriptions.retrieve(str(schedule.subscription))
    assert [item.price.id for item in sub["items"].data] == [digital]
    invoices = shop.invoices(sub.id)
    assert _lines(invoices[1]) == [_period(DIGITAL, _month(1), _month(2))]
    assert client.v1.test_helpers.test_clocks.retrieve(shop.clock_id).status == "ready"


def test_a_schedule_starts_on_a_price_archived_since(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _newspaper(client)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date=to_unix(_month(1)),
        phases=[{"items": _items((print_, 1)), "iterations": 2}],
    )
    client.v1.prices.update(print_, params={"active": False})
    shop.advance(_after(_month(1)))
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "active"
    invoices = shop.invoices(str(schedule.subscription))
    assert _lines(invoices[0]) == [_period(PRINT, _month(1), _month(2))]


def test_quantity_one_then_two(client: stripe.StripeClient) -> None:
    shop, _print, digital = _newspaper(client)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        end_behavior="release",
        phases=[
            {"items": _items((digital, 1)), "iterations": 1},
            {"items": _items((digital, 2)), "iterations": 11},
        ],
    )
    sub_id = str(schedule.subscription)
    shop.advance(_after(_month(2)))
    invoices = shop.invoices(sub_id)
    assert [i.amount_paid for i in invoices] == [DIGITAL, 2 * DIGITAL, 2 * DIGITAL]
    assert _lines(invoices[1]) == [_period(2 * DIGITAL, _month(1), _month(2))]
    assert invoices[1].lines.data[0].quantity == 2


def test_half_price_coupon_for_six_months(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _newspaper(client)
    coupon = client.v1.coupons.create(params={"percent_off": 50, "duration": "forever"})
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        end_behavior="release",
        phases=[
            {
                "items": _items((print_, 1)),
                "iterations": 6,
                "discounts": [{"coupon": coupon.id}],
            },
            {"items": _items((print_, 1)), "iterations": 6},
        ],
    )
    assert schedule.phases[0].discounts[0].coupon == coupon.id
    assert schedule.phases[1].discounts == []
    sub_id = str(schedule.subscription)
    shop.advance(_after(_month(12)))
    invoices = shop.invoices(sub_id)
    assert len(invoices) == 13  # twelve planned months, then the released subscription's
    for n, invoice in enumerate(invoices):
        assert _lines(invoice) == [_period(PRINT, _month(n), _month(n + 1))], n
        discount = sum(d.amount for d in invoice.total_discount_amounts or [])
        assert (invoice.total, discount) == ((500, 500) if n < 6 else (PRINT, 0)), n
        assert invoice.amount_paid == invoice.total
    assert client.v1.subscriptions.retrieve(sub_id).discounts == []


def test_another_tax_rate_for_the_first_month(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _newspaper(client)
    welcome, regular = (
        client.v1.tax_rates.create(
            params={"display_name": name, "percentage": rate, "inclusive": False}
        ).id
        for name, rate in (("Welcome tax", "10"), ("Tax", "20"))
    )
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        end_behavior="release",
        phases=[
            {"items": [{"price": print_, "quantity": 1, "tax_rates": [welcome]}], "iterations": 1},
            {
                "items": [{"price": print_, "quantity": 1, "tax_rates": [regular]}],
                "iterations": 11,
            },
        ],
    )
    assert schedule.phases[0]["items"][0].tax_rates[0].id == welcome
    sub_id = str(schedule.subscription)
    shop.advance(_after(_month(2)))
    invoices = shop.invoices(sub_id)
    taxes = [
        [(t.amount, t.tax_rate_details.tax_rate) for t in i.total_taxes or []] for i in invoices
    ]  # type: ignore[union-attr]
    assert taxes == [[(100, welcome)], [(200, regular)], [(200, regular)]]
    assert [i.total for i in invoices] == [1100, 1200, 1200]
    assert _lines(invoices[1]) == [_period(PRINT, _month(1), _month(2))]


# --- ending: release, cancel, instalments -----------------------------------------------------


def test_release_keeps_the_subscription_as_it_is(client: stripe.StripeClient) -> None:
    shop, print_, digital = _newspaper(client)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        phases=[
            {"items": _items((print_, 1)), "iterations": 1},
            {"items": _items((print_, 1), (digital, 1)), "iterations": 11},
        ],
    )
    sub_id = str(schedule.subscription)
    shop.advance(utc(2025, 8, 1))
    released = client.v1.subscription_schedules.release(schedule.id)
    assert released.status == "released" and released.released_at == to_unix(utc(2025, 8, 1))
    assert released.released_subscription == sub_id and released.subscription is None
    assert released.current_phase is None
    assert client.v1.subscriptions.retrieve(sub_id).schedule is None
    shop.advance(_after(_month(1)))
    invoices = shop.invoices(sub_id)
    # The second phase never comes: print only.
    assert _lines(invoices[1]) == [_period(PRINT, _month(1), _month(2))]
    try:
        client.v1.subscription_schedules.release(schedule.id)
        raise AssertionError("a released schedule cannot be released again")
    except stripe.InvalidRequestError as error:
        assert "released" in str(error.user_message)


def test_cancel_the_schedule_and_its_subscription(client: stripe.StripeClient) -> None:
    shop, print_, digital = _newspaper(client)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        phases=[
            {"items": _items((print_, 1)), "iterations": 1},
            {"items": _items((digital, 1)), "iterations": 11},
        ],
    )
    sub_id = str(schedule.subscription)
    august = utc(2025, 8, 1)
    shop.advance(august)
    canceled = client.v1.subscription_schedules.cancel(schedule.id)
    assert canceled.status == "canceled" and canceled.canceled_at == to_unix(august)
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.status == "canceled" and sub.ended_at == to_unix(august)
    # invoice_now and prorate (both default true): the unused 14 of 31 days are credited.
    first, final = shop.invoices(sub_id)
    assert _lines(first) == [_period(PRINT, START, _month(1))]
    assert _lines(final) == [(-452, True, to_unix(august), to_unix(_month(1)))]
    assert final.total == -452 and final.amount_due == 0
    assert client.v1.customers.retrieve(shop.customer_id).balance == -452
    shop.advance(_after(_month(2)))
    assert len(shop.invoices(sub_id)) == 2
    assert "subscription_schedule.canceled" in shop.events("subscription_schedule.")


def test_cancel_a_schedule_that_has_not_started(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _newspaper(client)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date=to_unix(utc(2025, 8, 1)),
        phases=[{"items": _items((print_, 1)), "iterations": 12}],
    )
    canceled = client.v1.subscription_schedules.cancel(schedule.id)
    assert canceled.status == "canceled" and canceled.subscription is None
    shop.advance(_after(utc(2025, 8, 1)))
    assert client.v1.subscriptions.list(params={"customer": shop.customer_id}).data == []


def test_billing_cycle_anchor_reset_at_the_phase_start(client: stripe.StripeClient) -> None:
    shop, print_, digital = _newspaper(client)
    august = utc(2025, 8, 1)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        phases=[
            {"items": _items((print_, 1)), "end_date": to_unix(august)},
            {
                "items": _items((digital, 1)),
                "iterations": 11,
                "billing_cycle_anchor": "phase_start",
            },
        ],
    )
    assert schedule.phases[1].end_date == to_unix(utc(2026, 7, 1))
    sub_id = str(schedule.subscription)
    assert _lines(shop.invoices(sub_id)[0]) == [_period(PRINT, START, _month(1))]

    shop.advance(august)
    invoices = shop.invoices(sub_id)
    assert len(invoices) == 2
    # Digital is billed from the 1st: the unused print time (14 of 31 days) is credited.
    switch = invoices[1]
    assert switch.billing_reason == "subscription_update" and switch.total == 48
    # 0.48 € is below the 0.50 € minimum charge: not charged, owed on the next invoice
    # (Stripe's invoice_too_small).
    assert switch.status == "paid" and switch.amount_paid == 0 and switch.ending_balance == 48
    assert _lines(switch) == [
        (-452, True, to_unix(august), to_unix(_month(1))),
        _period(DIGITAL, august, utc(2025, 9, 1)),
    ]
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.billing_cycle_anchor == to_unix(august)
    assert sub.current_period_end == to_unix(utc(2025, 9, 1))
    shop.advance(_after(utc(2025, 9, 1)))
    september = shop.invoices(sub_id)[2]
    assert _lines(september) == [_period(DIGITAL, utc(2025, 9, 1), utc(2025, 10, 1))]
    assert september.starting_balance == 48
    assert september.amount_paid == september.total + 48


def test_without_the_anchor_reset_the_cycle_stays(client: stripe.StripeClient) -> None:
    shop, print_, digital = _newspaper(client)
    august = utc(2025, 8, 1)
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        phases=[
            {"items": _items((print_, 1)), "end_date": to_unix(august)},
            {"items": _items((digital, 1)), "iterations": 11},
        ],
    )
    sub_id = str(schedule.subscription)
    shop.advance(august)
    assert len(shop.invoices(sub_id)) == 1  # the change is prorated, billed at the renewal
    shop.advance(_after(_month(1)))
    renewal = shop.invoices(sub_id)[1]
    assert renewal.billing_reason == "subscription_cycle" and renewal.amount_paid == 274
    assert _lines(renewal) == [
        (-452, True, to_unix(august), to_unix(_month(1))),
        (226, True, to_unix(august), to_unix(_month(1))),
        _period(DIGITAL, _month(1), _month(2)),
    ]


def _instalments(shop: Shop, schedule: stripe.SubscriptionSchedule, amount: int) -> None:
    """Six monthly instalments of `amount`, then the subscription ends: nothing more."""
    sub_id = str(schedule.subscription)
    sub = shop.client.v1.subscriptions.retrieve(sub_id)
    assert sub.cancel_at == to_unix(_month(6))  # the schedule's end, set by end_behavior
    shop.advance(_after(_month(7)))
    invoices = shop.invoices(sub_id)
    assert len(invoices) == 6
    for n, invoice in enumerate(invoices):
        assert _lines(invoice) == [_period(amount, _month(n), _month(n + 1))], n
        assert invoice.amount_paid == amount and invoice.currency == "usd"
    assert sum(i.amount_paid for i in invoices) == 6 * amount
    sub = shop.client.v1.subscriptions.retrieve(sub_id)
    assert sub.status == "canceled" and sub.ended_at == to_unix(_month(6))
    done = shop.client.v1.subscription_schedules.retrieve(schedule.id)
    assert done.status == "completed" and done.completed_at == to_unix(_month(6))
    assert shop.events("subscription_schedule.")[-1] == "subscription_schedule.completed"


def test_instalment_plan_six_payments_then_cancel(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    price = shop.price(100000, currency="usd", name="Press")
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        end_behavior="cancel",
        phases=[{"items": _items((price, 1)), "iterations": 6}],
    )
    _instalments(shop, schedule, 100000)


def test_instalment_plan_with_inline_price_data(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    press = client.v1.products.create(params={"name": "Press"})
    schedule = _schedule(
        client,
        customer=shop.customer_id,
        start_date="now",
        end_behavior="cancel",
        phases=[
            {
                "items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "product": press.id,
                            "recurring": {"interval": "month"},
                            "unit_amount": 50000,
                        },
                        "quantity": 1,
                    }
                ],
                "iterations": 6,
            }
        ],
    )
    price = client.v1.prices.retrieve(str(schedule.phases[0]["items"][0].price))
    assert price.unit_amount == 50000 and price.product == press.id
    _instalments(shop, schedule, 50000)
