"""`/v1/subscription_items` through the official stripe SDK against a live server."""

from __future__ import annotations

import pytest
import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop

START = utc(2025, 4, 1)
HALF = utc(2025, 4, 16)
MAY = utc(2025, 5, 1)


def _shop_with_subscription(client: stripe.StripeClient) -> tuple[Shop, stripe.Subscription]:
    shop = open_shop(client, START)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": shop.price(1000)}]}
    )
    return shop, sub


def test_create_retrieve_update_delete(client: stripe.StripeClient) -> None:
    shop, sub = _shop_with_subscription(client)
    rate = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 20, "inclusive": False}
    )
    seat = shop.price(500, name="Seat")
    created = client.v1.subscription_items.create(
        params={
            "subscription": sub.id,
            "price": seat,
            "quantity": 2,
            "tax_rates": [rate.id],
            "metadata": {"team": "ops"},
            "proration_behavior": "none",
        }
    )
    assert created.id.startswith("si_")
    assert created.object == "subscription_item"
    assert created.subscription == sub.id
    assert created.price.id == seat and created.quantity == 2
    assert [r.id for r in created.tax_rates or []] == [rate.id]
    assert created.metadata.to_dict() == {"team": "ops"}
    assert created.current_period_start == to_unix(START)
    assert created.current_period_end == to_unix(MAY)

    fetched = client.v1.subscription_items.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()

    updated = client.v1.subscription_items.update(
        created.id,
        params={
            "quantity": 5,
            "tax_rates": "",
            "metadata": {"team": "", "floor": "2"},
            "proration_behavior": "none",
        },
    )
    assert updated.quantity == 5 and updated.tax_rates == []
    assert updated.metadata.to_dict() == {"floor": "2"}
    subscription = client.v1.subscriptions.retrieve(sub.id)
    assert [i.id for i in subscription["items"].data] == [sub["items"].data[0].id, created.id]

    deleted = client.v1.subscription_items.delete(
        created.id,
        params={"proration_behavior": "none", "clear_usage": True},
    )
    assert deleted.to_dict() == {"id": created.id, "object": "subscription_item", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscription_items.retrieve(created.id)
    assert error.value.http_status == 404
    assert len(client.v1.subscriptions.retrieve(sub.id)["items"].data) == 1
    assert len(shop.invoices(sub.id)) == 1  # proration_behavior=none: nothing billed


def test_writes_are_prorated(client: stripe.StripeClient) -> None:
    shop, sub = _shop_with_subscription(client)
    seat = shop.price(600, name="Seat")
    shop.advance(HALF)
    # Adding 2 seats half-way, invoiced now: 2 × 600 × 1/2.
    added = client.v1.subscription_items.create(
        params={
            "subscription": sub.id,
            "price": seat,
            "quantity": 2,
            "proration_behavior": "always_invoice",
        }
    )
    invoices = shop.invoices(sub.id)
    assert len(invoices) == 2
    assert invoices[1].amount_paid == 600
    assert [(line.amount, line["proration"]) for line in invoices[1].lines.data] == [(600, True)]
    # Removing them again (create_prorations): a pending credit of 600 for the next invoice.
    client.v1.subscription_items.delete(added.id, params={"proration_date": to_unix(HALF)})
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert sorted(line.amount for line in preview.lines.data) == [-600, 1000]
    assert preview.total == 400


def test_list_requires_subscription_and_paginates(client: stripe.StripeClient) -> None:
    shop, sub = _shop_with_subscription(client)
    for amount in (100, 200, 300):
        client.v1.subscription_items.create(
            params={
                "subscription": sub.id,
                "price": shop.price(amount),
                "proration_behavior": "none",
            }
        )
    listed = client.v1.subscription_items.list(params={"subscription": sub.id, "limit": 2})
    assert len(listed.data) == 2 and listed.has_more
    every = list(
        client.v1.subscription_items.list(
            params={"subscription": sub.id, "limit": 2}
        ).auto_paging_iter()
    )
    assert len(every) == 4 and len({item.id for item in every}) == 4
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscription_items.list(params={})  # type: ignore[typeddict-item]
    assert error.value.param == "subscription"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscription_items.list(params={"subscription": "sub_missing"})
    assert error.value.param == "subscription" and error.value.http_status == 404


def test_expand(client: stripe.StripeClient) -> None:
    _shop, sub = _shop_with_subscription(client)
    item = client.v1.subscription_items.retrieve(
        sub["items"].data[0].id, params={"expand": ["price.product"]}
    )
    assert item.price.product.object == "product"  # type: ignore[union-attr]
    line_item = client.v1.invoices.retrieve(
        sub.latest_invoice,  # type: ignore[arg-type]
        params={"expand": ["lines.data.subscription_item"]},
    ).lines.data[0]
    assert line_item["subscription_item"]["object"] == "subscription_item"
    assert line_item["subscription_item"]["id"] == item.id


def test_errors_name_the_parameter(client: stripe.StripeClient) -> None:
    shop, sub = _shop_with_subscription(client)
    item = sub["items"].data[0].id
    price = sub["items"].data[0].price.id
    cases: list[tuple[str, dict[str, object], str | None, int]] = [
        ("create", {"price": price}, "subscription", 400),
        ("create", {"subscription": "sub_missing", "price": price}, "subscription", 404),
        ("create", {"subscription": sub.id}, "items[0][price]", 400),
        ("create", {"subscription": sub.id, "price": price}, "items[0][price]", 400),
        ("create", {"subscription": sub.id, "price": "price_missing"}, "items[0][price]", 404),
        ("create", {"subscription": sub.id, "price": price, "quantity": -1}, "quantity", 400),
        (
            "create",
            {"subscription": sub.id, "price": shop.price(5), "proration_behavior": "maybe"},
            "proration_behavior",
            400,
        ),
        ("update", {"quantity": "many"}, "quantity", 400),
        ("update", {"tax_rates": ["txr_missing"]}, "items[0][tax_rates]", 404),
        ("delete", {}, "items", 400),  # the last item cannot go: cancel instead
    ]
    for action, params, param, status in cases:
        with pytest.raises(stripe.InvalidRequestError) as error:
            if action == "create":
                client.v1.subscription_items.create(params=params)  # type: ignore[arg-type]
            elif action == "update":
                client.v1.subscription_items.update(item, params=params)  # type: ignore[arg-type]
            else:
                client.v1.subscription_items.delete(item, params=params)  # type: ignore[arg-type]
        assert error.value.param == param, (action, params)
        assert error.value.http_status == status, (action, params)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscription_items.retrieve("si_missing")
    assert error.value.http_status == 404
    assert len(client.v1.subscriptions.retrieve(sub.id)["items"].data) == 1


def test_live_mode_does_not_see_test_items(
    client: stripe.StripeClient, live_client: stripe.StripeClient
) -> None:
    _shop, sub = _shop_with_subscription(client)
    item = sub["items"].data[0].id
    with pytest.raises(stripe.InvalidRequestError) as error:
        live_client.v1.subscription_items.retrieve(item)
    assert error.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as error:
        live_client.v1.subscription_items.list(params={"subscription": sub.id})
    assert error.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as error:
        live_client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert error.value.http_status == 404
