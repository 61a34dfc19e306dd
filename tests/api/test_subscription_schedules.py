"""`/v1/subscription_schedules`: parameters, updates, release and cancel, lists, expand,
the worker starting schedules in real time, and scheduled plan changes (Dodo's
`effective_at=next_billing_date`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe

from recur import bootstrap
from recur.domain.clock import FrozenClock, from_unix, to_unix, utc
from recur.services.schedule_transitions import start_due_schedules
from tests.support.billing import Shop, open_shop

START = utc(2025, 7, 15)
AUG15, SEP15 = utc(2025, 8, 15), utc(2025, 9, 15)


def _create(client: stripe.StripeClient, **params: Any) -> stripe.SubscriptionSchedule:
    return client.v1.subscription_schedules.create(params=params)  # type: ignore[arg-type]


def _update(
    client: stripe.StripeClient, schedule_id: str, **params: Any
) -> stripe.SubscriptionSchedule:
    return client.v1.subscription_schedules.update(schedule_id, params=params)  # type: ignore[arg-type]


def _refused(call: Any, param: str | None, status: int = 400) -> str:
    """Call, expect a 400 (or `status`) naming `param`; return the message."""
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call()
    assert excinfo.value.http_status == status
    assert excinfo.value.param == param, excinfo.value.user_message
    return str(excinfo.value.user_message)


def _shop(client: stripe.StripeClient) -> tuple[Shop, str, str]:
    shop = open_shop(client, START)
    return shop, shop.price(1000, name="Print"), shop.price(500, name="Digital")


def _phase(price: str, quantity: int = 1, **more: Any) -> dict[str, Any]:
    return {"items": [{"price": price, "quantity": quantity}], **more}


# --- the object and its parameters ---------------------------------------------------------


def test_the_schedule_object(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _shop(client)
    rate = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": "20", "inclusive": False}
    )
    schedule = _create(
        client,
        customer=shop.customer_id,
        start_date=to_unix(AUG15),
        metadata={"order": "42"},
        default_settings={
            "collection_method": "send_invoice",
            "invoice_settings": {"days_until_due": 14},
        },
        phases=[
            {
                "items": [{"price": print_, "tax_rates": [rate.id], "metadata": {"k": "v"}}],
                "duration": {"interval": "week", "interval_count": 2},
                "default_tax_rates": [rate.id],
                "description": "First fortnight",
                "metadata": {"phase": "1"},
                "proration_behavior": "none",
            }
        ],
        expand=["customer", "phases.items.price"],
    )
    wire = schedule.to_dict()
    assert wire["object"] == "subscription_schedule" and wire["id"].startswith("sub_sched_")
    assert wire["status"] == "not_started" and wire["end_behavior"] == "release"
    assert wire["customer"]["id"] == shop.customer_id  # expanded
    assert wire["metadata"] == {"order": "42"}
    assert wire["default_settings"]["collection_method"] == "send_invoice"
    assert wire["default_settings"]["invoice_settings"]["days_until_due"] == 14
    assert wire["test_clock"] == shop.clock_id
    (phase,) = wire["phases"]
    assert phase["start_date"] == to_unix(AUG15)
    assert phase["end_date"] == to_unix(AUG15 + timedelta(weeks=2))
    assert phase["items"][0]["price"]["id"] == print_  # expanded
    assert phase["items"][0]["tax_rates"][0]["id"] == rate.id
    assert phase["items"][0]["metadata"] == {"k": "v"}
    assert phase["default_tax_rates"][0]["id"] == rate.id
    assert phase["currency"] == "eur" and phase["proration_behavior"] == "none"
    assert (phase["description"], phase["metadata"]) == ("First fortnight", {"phase": "1"})
    assert {"released_at", "released_subscription", "completed_at", "canceled_at"} <= wire.keys()

    shop.advance(AUG15)
    sub = client.v1.subscriptions.retrieve(
        str(client.v1.subscription_schedules.retrieve(schedule.id).subscription),
        params={"expand": ["schedule"]},
    )
    assert sub.schedule.id == schedule.id  # type: ignore[union-attr]
    assert sub.collection_method == "send_invoice" and sub.days_until_due == 14
    assert sub.description == "First fortnight" and sub.metadata.to_dict() == {"phase": "1"}
    assert sub.default_tax_rates[0].id == rate.id  # type: ignore[index]


def test_invalid_parameters_are_refused(client: stripe.StripeClient) -> None:
    shop, print_, digital = _shop(client)
    usd = shop.price(1000, currency="usd")
    customer = shop.customer_id

    def create(**params: Any) -> Any:
        return lambda: _create(client, **params)

    _refused(create(phases=[_phase(print_)]), "customer")
    _refused(create(customer=customer), "phases")
    _refused(
        create(customer=customer, phases=[{"items": [{"quantity": 1}]}]),
        "phases[0][items][0][price]",
    )
    _refused(
        create(customer=customer, phases=[_phase(print_), _phase(digital)]), "phases[0][end_date]"
    )
    _refused(
        create(customer=customer, phases=[_phase(print_, iterations=2, end_date=1)]),
        "phases[0][iterations]",
    )
    _refused(
        create(customer=customer, phases=[_phase(print_, iterations=1), _phase(usd)]),
        "phases[1][items][0][price]",
    )
    _refused(
        create(
            customer=customer,
            phases=[{"items": [{"price": print_}, {"price": print_}]}],
        ),
        "phases[0][items][1][price]",
    )
    _refused(
        create(
            customer=customer, phases=[_phase(print_, iterations=1), _phase(digital, trial=True)]
        ),
        "phases[1][trial]",
    )
    _refused(
        create(
            customer=customer,
            phases=[_phase(print_, invoice_settings={"days_until_due": 3})],
        ),
        "phases[0][invoice_settings][days_until_due]",
    )
    _refused(
        create(customer=customer, phases=[_phase(print_, discounts=[{"coupon": "nope"}])]),
        "phases[0][discounts][0][coupon]",
        404,
    )
    # Backdated so far that the first phase is over: refused rather than guessed.
    _refused(
        create(
            customer=customer,
            start_date=to_unix(utc(2025, 1, 1)),
            phases=[_phase(print_, iterations=1)],
        ),
        "start_date",
    )
    # Item-level discounts are not served: an unknown parameter, never ignored.
    _refused(
        create(
            customer=customer,
            phases=[{"items": [{"price": print_, "discounts": [{"coupon": "x"}]}]}],
        ),
        "phases[0][items][0][discounts]",
    )
    sub = client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": print_}]}
    )
    _refused(create(from_subscription=sub.id, customer=customer), "customer")
    _create(client, from_subscription=sub.id)
    _refused(create(from_subscription=sub.id), "from_subscription")
    # Nothing was written by the refused requests.
    listed = client.v1.subscription_schedules.list(params={"customer": customer}).data
    assert len(listed) == 1


def test_trial_in_the_first_phase(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _shop(client)
    schedule = _create(
        client,
        customer=shop.customer_id,
        phases=[_phase(print_, iterations=1, trial=True), _phase(print_, iterations=2)],
    )
    sub = client.v1.subscriptions.retrieve(str(schedule.subscription))
    assert sub.status == "trialing" and sub.trial_end == to_unix(AUG15)
    assert schedule.phases[0].trial_end == to_unix(AUG15)
    shop.advance(AUG15.replace(hour=2))
    invoices = list(reversed(client.v1.invoices.list(params={"subscription": sub.id}).data))
    assert [i.total for i in invoices] == [0, 1000]
    assert invoices[1].lines.data[0].period.start == to_unix(AUG15)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_add_invoice_items_go_on_the_phase_first_invoice(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _shop(client)
    product = client.v1.products.create(params={"name": "Welcome pack"})
    schedule = _create(
        client,
        customer=shop.customer_id,
        phases=[
            _phase(print_, iterations=1),
            _phase(
                print_,
                iterations=1,
                add_invoice_items=[
                    {"price_data": {"currency": "eur", "product": product.id, "unit_amount": 250}}
                ],
            ),
        ],
    )
    shop.advance(AUG15.replace(hour=2))
    invoices = client.v1.invoices.list(params={"subscription": str(schedule.subscription)}).data
    assert sorted(line.amount for line in invoices[0].lines.data) == [250, 1000]
    assert invoices[0].total == 1250


# --- updates ------------------------------------------------------------------------------


def test_editing_the_current_phase_prorates_it(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _shop(client)
    schedule = _create(client, customer=shop.customer_id, phases=[_phase(print_, iterations=3)])
    sub_id = str(schedule.subscription)
    shop.advance(utc(2025, 7, 31))  # 15 of 31 days left
    phase = schedule.phases[0]
    updated = _update(
        client,
        schedule.id,
        proration_behavior="always_invoice",
        phases=[_phase(print_, 2, start_date=phase.start_date, end_date=phase.end_date)],
    )
    assert updated.phases[0]["items"][0].quantity == 2
    assert client.v1.subscriptions.retrieve(sub_id)["items"].data[0].quantity == 2
    invoices = list(reversed(client.v1.invoices.list(params={"subscription": sub_id}).data))
    assert len(invoices) == 2
    # -1000 × 15/31 + 2000 × 15/31 = -484 + 968
    assert sorted(line.amount for line in invoices[1].lines.data) == [-484, 968]
    assert invoices[1].amount_paid == 484


def test_ended_phases_cannot_change_and_the_current_keeps_its_start(
    client: stripe.StripeClient,
) -> None:
    shop, print_, digital = _shop(client)
    schedule = _create(
        client,
        customer=shop.customer_id,
        phases=[_phase(print_, iterations=1), _phase(digital, iterations=2)],
    )
    shop.advance(utc(2025, 8, 20))
    first, second = schedule.phases
    _refused(
        lambda: _update(
            client,
            schedule.id,
            phases=[
                _phase(digital, start_date=first.start_date, end_date=first.end_date),
                _phase(digital, end_date=second.end_date),
            ],
        ),
        "phases[0]",
    )
    _refused(
        lambda: _update(
            client, schedule.id, phases=[_phase(digital, start_date=first.end_date + 1)]
        ),
        "phases[0][start_date]",
    )
    # Past phases may be left out: the schedule keeps them; the last phase is longer now.
    updated = _update(client, schedule.id, phases=[_phase(digital, iterations=5)])
    assert [(p.start_date, p.end_date) for p in updated.phases] == [
        (first.start_date, first.end_date),
        (second.start_date, to_unix(utc(2026, 1, 15))),
    ]
    # Sent back unchanged, an ended phase is accepted.
    again = _update(
        client,
        schedule.id,
        phases=[
            _phase(print_, start_date=first.start_date, end_date=first.end_date),
            _phase(digital, iterations=5),
        ],
    )
    assert len(again.phases) == 2


def test_end_behavior_cancel_sets_and_release_can_clear_the_cancel_date(
    client: stripe.StripeClient,
) -> None:
    shop, print_, _digital = _shop(client)
    schedule = _create(client, customer=shop.customer_id, phases=[_phase(print_, iterations=3)])
    sub_id = str(schedule.subscription)
    assert client.v1.subscriptions.retrieve(sub_id).cancel_at is None
    _update(client, schedule.id, end_behavior="cancel")
    assert client.v1.subscriptions.retrieve(sub_id).cancel_at == to_unix(utc(2025, 10, 15))
    _update(client, schedule.id, end_behavior="release")
    assert client.v1.subscriptions.retrieve(sub_id).cancel_at is None
    _update(client, schedule.id, end_behavior="cancel")
    kept = client.v1.subscription_schedules.release(schedule.id)
    assert kept.status == "released"
    assert client.v1.subscriptions.retrieve(sub_id).cancel_at == to_unix(utc(2025, 10, 15))

    other = _create(
        client, customer=shop.customer_id, end_behavior="cancel", phases=[_phase(print_)]
    )
    client.v1.subscription_schedules.release(other.id, params={"preserve_cancel_date": False})
    assert client.v1.subscriptions.retrieve(str(other.subscription)).cancel_at is None


def test_update_moves_a_schedule_that_has_not_started(client: stripe.StripeClient) -> None:
    shop, print_, digital = _shop(client)
    schedule = _create(
        client,
        customer=shop.customer_id,
        start_date=to_unix(AUG15),
        phases=[_phase(print_, iterations=1)],
    )
    moved = _update(
        client,
        schedule.id,
        phases=[_phase(digital, start_date=to_unix(SEP15), iterations=1)],
        metadata={"moved": "yes"},
    )
    assert moved.status == "not_started" and moved.phases[0].start_date == to_unix(SEP15)
    assert moved.metadata.to_dict() == {"moved": "yes"}
    shop.advance(AUG15.replace(hour=2))
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "not_started"
    # Starting now (`now`) creates the subscription in the request.
    started = _update(client, schedule.id, phases=[_phase(digital, start_date="now")])
    assert started.status == "active" and started.subscription is not None
    sub = client.v1.subscriptions.retrieve(str(started.subscription))
    assert sub["items"].data[0].price.id == digital
    assert sub.start_date == to_unix(AUG15.replace(hour=2))


# --- ending ------------------------------------------------------------------------------


def test_canceling_the_subscription_cancels_its_schedule(client: stripe.StripeClient) -> None:
    shop, print_, digital = _shop(client)
    schedule = _create(
        client,
        customer=shop.customer_id,
        phases=[_phase(print_, iterations=1), _phase(digital, iterations=1)],
    )
    client.v1.subscriptions.cancel(str(schedule.subscription))
    canceled = client.v1.subscription_schedules.retrieve(schedule.id)
    assert canceled.status == "canceled" and canceled.canceled_at == to_unix(START)
    assert canceled.current_phase is None
    _refused(lambda: _update(client, schedule.id, end_behavior="cancel"), None)
    _refused(lambda: client.v1.subscription_schedules.cancel(schedule.id), None)


def test_cancel_without_proration_nor_final_invoice(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _shop(client)
    schedule = _create(client, customer=shop.customer_id, phases=[_phase(print_, iterations=2)])
    shop.advance(utc(2025, 8, 1))
    client.v1.subscription_schedules.cancel(
        schedule.id, params={"invoice_now": False, "prorate": False}
    )
    invoices = client.v1.invoices.list(params={"subscription": str(schedule.subscription)}).data
    assert len(invoices) == 1
    assert client.v1.customers.retrieve(shop.customer_id).balance == 0


# --- lists --------------------------------------------------------------------------------


def test_list_filters(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _shop(client)
    other = open_shop(client, START)
    later = _create(
        client, customer=shop.customer_id, start_date=to_unix(AUG15), phases=[_phase(print_)]
    )
    running = _create(client, customer=shop.customer_id, phases=[_phase(print_)])
    released = _create(client, customer=shop.customer_id, phases=[_phase(print_)])
    client.v1.subscription_schedules.release(released.id)
    elsewhere = _create(client, customer=other.customer_id, phases=[_phase(print_)])

    def ids(**params: Any) -> list[str]:
        found = client.v1.subscription_schedules.list(params=params)  # type: ignore[arg-type]
        return [s.id for s in found.data]

    assert ids() == [elsewhere.id, released.id, running.id, later.id]
    assert ids(customer=shop.customer_id) == [released.id, running.id, later.id]
    assert ids(scheduled=True) == [later.id]
    assert ids(released_at={"gte": to_unix(START)}) == [released.id]
    assert ids(released_at=to_unix(START)) == [released.id]
    assert ids(canceled_at={"gte": 0}) == []
    assert ids(completed_at={"lt": to_unix(START)}) == []
    assert ids(limit=1, starting_after=released.id) == [running.id]
    _refused(lambda: ids(status="active"), "status")


# --- real time: the worker starts schedules -------------------------------------------------


def test_the_worker_starts_a_schedule_at_its_start_date(
    client: stripe.StripeClient, container: bootstrap.Container
) -> None:
    customer = client.v1.customers.create(
        params={
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    price = client.v1.prices.create(
        params={
            "product_data": {"name": "Print"},
            "currency": "eur",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
        }
    )
    start = to_unix(container.clock.now()) + 40 * 86400
    schedule = _create(
        client, customer=customer.id, start_date=start, phases=[_phase(price.id, iterations=2)]
    )
    # The worker runs late (a day after the start): the subscription still starts then.
    late = FrozenClock(from_unix(start) + timedelta(days=1))
    assert start_due_schedules(container.uow_factory, late) >= 1
    started = client.v1.subscription_schedules.retrieve(schedule.id)
    assert started.status == "active"
    sub = client.v1.subscriptions.retrieve(str(started.subscription))
    assert sub.start_date == start and sub.current_period_start == start
    (invoice,) = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert invoice.amount_paid == 1000 and invoice.created == start
    start_due_schedules(container.uow_factory, late)  # started once, not again
    assert client.v1.subscription_schedules.retrieve(schedule.id).subscription == sub.id
    assert len(client.v1.invoices.list(params={"customer": customer.id}).data) == 1


def test_a_schedule_whose_customer_was_deleted_is_canceled_at_its_start(
    client: stripe.StripeClient, container: bootstrap.Container
) -> None:
    customer = client.v1.customers.create(params={"name": "Gone"})
    price = client.v1.prices.create(
        params={
            "product_data": {"name": "Print"},
            "currency": "eur",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
        }
    )
    start = to_unix(container.clock.now()) + 50 * 86400
    schedule = _create(client, customer=customer.id, start_date=start, phases=[_phase(price.id)])
    client.v1.customers.delete(customer.id)
    start_due_schedules(container.uow_factory, FrozenClock(from_unix(start)))
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "canceled"


# --- scheduled plan changes (Dodo's effective_at=next_billing_date) -------------------------


def _downgrade_at_renewal(
    client: stripe.StripeClient, sub: stripe.Subscription, price: str
) -> stripe.SubscriptionSchedule:
    """The one request docs/api.md shows: the current items until the period end, then
    the new price (the schedule then releases the subscription, which goes on)."""
    item = sub["items"].data[0]
    return _create(
        client,
        from_subscription=sub.id,
        phases=[
            {
                "items": [{"price": item.price.id, "quantity": item.quantity}],
                "end_date": sub["current_period_end"],
            },
            {"items": [{"price": price, "quantity": item.quantity}]},
        ],
    )


def test_a_plan_change_scheduled_for_the_next_renewal(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    pro, basic = shop.price(3000, name="Pro"), shop.price(1000, name="Basic")
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": pro}]}
    )
    schedule = _downgrade_at_renewal(client, sub, basic)
    assert schedule.status == "active"
    assert [p.end_date for p in schedule.phases] == [to_unix(AUG15), to_unix(SEP15)]
    # Visible on the subscription; nothing billed, nothing changed yet.
    now = client.v1.subscriptions.retrieve(sub.id)
    assert now.schedule == schedule.id and now["items"].data[0].price.id == pro
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert preview.total == 1000 and preview.period_start == to_unix(AUG15)

    shop.advance(SEP15.replace(hour=2))
    invoices = list(reversed(client.v1.invoices.list(params={"subscription": sub.id}).data))
    assert [i.amount_paid for i in invoices] == [3000, 1000, 1000]
    assert all(not line["proration"] for i in invoices for line in i.lines.data)
    after = client.v1.subscriptions.retrieve(sub.id)
    assert after.schedule is None and after["items"].data[0].price.id == basic
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "released"


def test_a_scheduled_plan_change_is_canceled_by_releasing(client: stripe.StripeClient) -> None:
    shop = open_shop(client, START)
    pro, basic = shop.price(3000, name="Pro"), shop.price(1000, name="Basic")
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": pro}]}
    )
    schedule = _downgrade_at_renewal(client, sub, basic)
    client.v1.subscription_schedules.release(schedule.id)
    shop.advance(AUG15.replace(hour=2))
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert [i.amount_paid for i in invoices] == [3000, 3000]
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == pro


def test_restating_the_current_phase_keeps_its_trial_and_coupon(
    client: stripe.StripeClient,
) -> None:
    shop, print_, digital = _shop(client)
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": print_}],
            "trial_period_days": 31,
            "discounts": [{"coupon": coupon.id}],
        }
    )
    schedule = _create(
        client,
        from_subscription=sub.id,
        phases=[
            {"items": [{"price": print_}], "end_date": sub.trial_end},
            {"items": [{"price": digital}], "discounts": [{"coupon": coupon.id}]},
        ],
    )
    assert schedule.phases[0].trial_end == sub.trial_end
    assert schedule.phases[0].discounts[0].coupon == coupon.id
    now = client.v1.subscriptions.retrieve(sub.id)
    assert now.status == "trialing" and len(now.discounts) == 1
    shop.advance(AUG15.replace(hour=2))
    invoices = list(reversed(client.v1.invoices.list(params={"subscription": sub.id}).data))
    # The trial ends at the boundary: the first paid invoice bills the next phase, 10 % off.
    assert [i.total for i in invoices] == [0, 450]
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_expiring_is_announced_once_per_end(client: stripe.StripeClient) -> None:
    shop, print_, _digital = _shop(client)
    schedule = _create(client, customer=shop.customer_id, phases=[_phase(print_, iterations=1)])
    shop.advance(utc(2025, 8, 10))  # the notice was due on Aug 8
    assert shop.events("subscription_schedule.expiring") == ["subscription_schedule.expiring"]
    _update(client, schedule.id, metadata={"seen": "yes"}, end_behavior="release")
    shop.advance(utc(2025, 8, 14))
    assert len(shop.events("subscription_schedule.expiring")) == 1
    # A later end is announced again, a week before it.
    _update(client, schedule.id, phases=[_phase(print_, iterations=2)])
    shop.advance(utc(2025, 9, 9))
    expiring = client.v1.events.list(params={"type": "subscription_schedule.expiring"}).data
    assert [e.created for e in expiring] == [to_unix(utc(2025, 9, 8)), to_unix(utc(2025, 8, 8))]
