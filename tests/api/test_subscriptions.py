"""`/v1/subscriptions` through the official stripe SDK: CRUD, lists, expand, errors, modes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import stripe


def _customer(client: stripe.StripeClient, card: str | None = "pm_card_visa") -> str:
    params: dict[str, Any] = {"name": "Ada"}
    if card:
        params.update(payment_method=card, invoice_settings={"default_payment_method": card})
    return client.v1.customers.create(params=params).id  # type: ignore[arg-type]


def _price(client: stripe.StripeClient, amount: int = 2000, **recurring: Any) -> str:
    product = client.v1.products.create(params={"name": "Desk"})
    return client.v1.prices.create(
        params={
            "product": product.id,
            "currency": recurring.pop("currency", "eur"),
            "unit_amount": amount,
            "recurring": {"interval": "month", **recurring},
        }
    ).id


def _subscribe(client: stripe.StripeClient, customer: str, price: str, **params: Any) -> Any:
    return client.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": price}], **params}
    )


def test_create_retrieve_update(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    price = _price(client)
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": price, "quantity": 2, "metadata": {"desk": "12"}}],
            "metadata": {"plan": "coworking"},
            "description": "Two desks",
        }
    )
    assert sub.id.startswith("sub_") and sub.object == "subscription"
    assert sub.status == "active" and sub.livemode is False
    assert sub.customer == customer and sub.currency == "eur"
    assert sub.collection_method == "charge_automatically"
    assert sub.metadata.to_dict() == {"plan": "coworking"}
    assert sub.description == "Two desks"
    item = sub.items.data[0]
    assert item.object == "subscription_item" and item.quantity == 2
    assert item.price.id == price and item.metadata.to_dict() == {"desk": "12"}
    assert item.current_period_start == sub.start_date
    assert sub.cancel_at_period_end is False and sub.cancel_at is None
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert first.amount_paid == 4000 and first.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).to_dict() == sub.to_dict()

    updated = client.v1.subscriptions.update(
        sub.id, params={"metadata": {"plan": "", "floor": "2"}, "description": ""}
    )
    assert updated.metadata.to_dict() == {"floor": "2"}
    assert updated.description is None
    assert updated.items.data[0].id == item.id


def test_events_of_creation_and_update(client: stripe.StripeClient) -> None:
    sub = _subscribe(client, _customer(client), _price(client))
    client.v1.subscriptions.update(sub.id, params={"metadata": {"a": "1"}})
    events = client.v1.events.list(params={"type": "customer.subscription.updated"}).data
    assert events[0].data.object["id"] == sub.id
    assert events[0].data.object["metadata"].to_dict() == {"a": "1"}
    assert "metadata" in events[0].data.previous_attributes.to_dict()
    created = client.v1.events.list(params={"type": "customer.subscription.created"}).data
    assert [e.data.object["id"] for e in created] == [sub.id]


def test_list_filters_and_pagination(client: stripe.StripeClient) -> None:
    ada, bob = _customer(client), _customer(client)
    desk, office = _price(client), _price(client, 9000)
    subs = [
        _subscribe(client, ada, desk),
        _subscribe(client, ada, office),
        _subscribe(client, bob, desk),
    ]
    client.v1.subscriptions.cancel(subs[2].id)

    def ids(**params: Any) -> list[str]:
        return [s.id for s in client.v1.subscriptions.list(params=params).data]

    # Default: everything but canceled, newest first.
    assert ids() == [subs[1].id, subs[0].id]
    assert ids(status="all") == [s.id for s in reversed(subs)]
    assert ids(status="canceled") == [subs[2].id]
    assert ids(status="ended") == [subs[2].id]
    assert ids(customer=ada) == [subs[1].id, subs[0].id]
    assert ids(price=desk) == [subs[0].id]
    assert ids(price=desk, status="all") == [subs[2].id, subs[0].id]
    page = client.v1.subscriptions.list(params={"limit": 1, "status": "all"})
    assert page.has_more is True and [s.id for s in page.data] == [subs[2].id]
    rest = ids(limit=5, status="all", starting_after=subs[2].id)
    assert rest == [subs[1].id, subs[0].id]
    every = client.v1.subscriptions.list(params={"status": "all", "limit": 1})
    assert [s.id for s in every.auto_paging_iter()] == [s.id for s in reversed(subs)]


def test_list_by_test_clock(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_735_689_600})
    on_clock = client.v1.customers.create(
        params={
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    price = _price(client)
    clocked = _subscribe(client, on_clock.id, price)
    _subscribe(client, _customer(client), price)
    assert clocked.test_clock == clock.id and clocked.start_date == 1_735_689_600
    found = client.v1.subscriptions.list(params={"test_clock": clock.id}).data
    assert [s.id for s in found] == [clocked.id]


def test_expand_latest_invoice_and_customer(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    sub = _subscribe(client, customer, _price(client))
    expanded = client.v1.subscriptions.retrieve(
        sub.id, params={"expand": ["latest_invoice", "customer"]}
    )
    assert expanded.latest_invoice.id == sub.latest_invoice  # type: ignore[union-attr]
    assert expanded.latest_invoice.object == "invoice"  # type: ignore[union-attr]
    assert expanded.customer.id == customer  # type: ignore[union-attr]


def test_live_mode_does_not_see_test_subscriptions(
    client: stripe.StripeClient, live_client: stripe.StripeClient
) -> None:
    sub = _subscribe(client, _customer(client), _price(client))
    with pytest.raises(stripe.InvalidRequestError) as raised:
        live_client.v1.subscriptions.retrieve(sub.id)
    assert raised.value.http_status == 404
    assert live_client.v1.subscriptions.list(params={"status": "all"}).data == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"items": []}, "items"),
        ({"items": [{"quantity": 1}]}, "items[0][price]"),
        ({"items": [{"price": "price_missing"}]}, "items[0][price]"),
        ({"items": [{"price": "$desk", "quantity": -1}]}, "items[0][quantity]"),
        ({"items": [{"price": "$desk", "tax_rates": ["txr_missing"]}]}, "items[0][tax_rates]"),
        ({"items": [{"price": "$desk"}, {"price": "$usd"}]}, "items[1][price]"),
        ({"items": [{"price": "$desk"}, {"price": "$yearly"}]}, "items[1][price]"),
        ({"items": [{"price": "$one_time"}]}, "items[0][price]"),
        ({"trial_period_days": 731}, "trial_period_days"),
        ({"trial_end": 1_000_000_000}, "trial_end"),
        ({"billing_cycle_anchor": 1_000_000_000}, "billing_cycle_anchor"),
        (
            {
                "billing_cycle_anchor": 4_000_000_000,
                "billing_cycle_anchor_config": {"day_of_month": 1},
            },
            "billing_cycle_anchor_config",
        ),
        (
            {"billing_cycle_anchor_config": {"day_of_month": 32}},
            "billing_cycle_anchor_config[day_of_month]",
        ),
        ({"backdate_start_date": 4_000_000_000}, "backdate_start_date"),
        ({"cancel_at": 1_000_000_000}, "cancel_at"),
        ({"days_until_due": 3}, "days_until_due"),
        ({"collection_method": "by_pigeon"}, "collection_method"),
        ({"payment_behavior": "pending_if_incomplete"}, "payment_behavior"),
        ({"default_payment_method": "pm_missing"}, "default_payment_method"),
        ({"discounts": [{"coupon": "missing"}]}, "discounts[0][coupon]"),
        (
            {"trial_settings": {"end_behavior": {"missing_payment_method": "x"}}},
            "trial_settings[end_behavior][missing_payment_method]",
        ),
        ({"invoice_timing": "later"}, "invoice_timing"),
    ],
)
def test_bad_create_names_the_parameter_and_creates_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    customer = _customer(client)
    product = client.v1.products.create(params={"name": "Once"})
    prices = {
        "$desk": _price(client),
        "$usd": _price(client, currency="usd"),
        "$yearly": _price(client, interval="year"),
        "$one_time": client.v1.prices.create(
            params={"product": product.id, "currency": "eur", "unit_amount": 5}
        ).id,
    }
    body: dict[str, Any] = {"customer": customer, "items": [{"price": prices["$desk"]}]}
    body.update(copy.deepcopy(params))  # the parametrized dicts are shared by both backends
    for item in body["items"]:
        if item.get("price", "").startswith("$"):
            item["price"] = prices[item["price"]]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.create(params=body)
    assert raised.value.http_status in (400, 404)
    assert raised.value.param == param
    assert client.v1.subscriptions.list(params={"status": "all"}).data == []
    assert client.v1.invoices.list(params={"customer": customer}).data == []


def test_missing_and_foreign_subscriptions_are_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.retrieve("sub_missing")
    assert raised.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.create(
            params={"customer": "cus_missing", "items": [{"price": _price(client)}]}
        )
    assert raised.value.param == "customer"


def test_a_canceled_subscription_only_takes_metadata(client: stripe.StripeClient) -> None:
    sub = _subscribe(client, _customer(client), _price(client))
    canceled = client.v1.subscriptions.cancel(
        sub.id, params={"cancellation_details": {"comment": "bye"}}
    )
    assert canceled.status == "canceled" and canceled.canceled_at is not None
    assert canceled.cancellation_details.reason == "cancellation_requested"
    assert canceled.cancellation_details.comment == "bye"
    again = client.v1.subscriptions.update(sub.id, params={"metadata": {"why": "moved"}})
    assert again.metadata.to_dict() == {"why": "moved"}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert raised.value.param == "cancel_at_period_end"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.pause(sub.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.resume(sub.id)


def test_pause_resume_and_pause_collection_errors(client: stripe.StripeClient) -> None:
    sub = _subscribe(client, _customer(client), _price(client))
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.resume(sub.id)  # not paused
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.update(
            sub.id,
            params={"pause_collection": {"behavior": "void", "resumes_at": 1_000_000_000}},
        )
    assert raised.value.param == "pause_collection[resumes_at]"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.update(
            sub.id,
            params={"pause_collection": {"behavior": "sleep"}},  # type: ignore[typeddict-item]
        )
    assert raised.value.param == "pause_collection[behavior]"
    paused = client.v1.subscriptions.update(
        sub.id, params={"pause_collection": {"behavior": "keep_as_draft"}}
    )
    assert paused.pause_collection is not None
    assert paused.pause_collection.behavior == "keep_as_draft"
    cleared = client.v1.subscriptions.update(sub.id, params={"pause_collection": ""})
    assert cleared.pause_collection is None
    assert client.v1.subscriptions.pause(sub.id).status == "paused"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.resume(
            sub.id,
            params={"billing_cycle_anchor": "later"},  # type: ignore[typeddict-item]
        )
    assert raised.value.param == "billing_cycle_anchor"
    assert client.v1.subscriptions.resume(sub.id).status == "active"


def test_send_invoice_defaults_to_thirty_days(client: stripe.StripeClient) -> None:
    sub = _subscribe(
        client, _customer(client, card=None), _price(client), collection_method="send_invoice"
    )
    assert sub.status == "active" and sub.days_until_due == 30
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert invoice.status == "open"
    assert invoice.due_date == invoice.status_transitions.finalized_at + 30 * 86400  # type: ignore[operator]
