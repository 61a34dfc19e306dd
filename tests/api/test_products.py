"""Products through the official stripe SDK against a live server."""

from __future__ import annotations

import time

import pytest
import stripe


def _error(
    excinfo: pytest.ExceptionInfo[stripe.InvalidRequestError],
) -> tuple[int | None, str | None]:
    return excinfo.value.http_status, excinfo.value.param


def test_create_retrieve_update(client: stripe.StripeClient) -> None:
    created = client.v1.products.create(
        params={
            "name": "Hot desk",
            "description": "A desk in the open space",
            "images": ["https://example.com/desk.png"],
            "metadata": {"floor": "2", "zone": "B"},
            "tax_code": "txcd_10000000",
            "unit_label": "desk",
            "url": "https://example.com/desk",
            "shippable": False,
        }
    )
    assert created.id.startswith("prod_")
    assert created.object == "product"
    assert created.livemode is False
    assert created.active is True
    assert created.default_price is None
    assert created.images == ["https://example.com/desk.png"]
    assert created.unit_label == "desk"
    assert created.shippable is False
    assert created.updated == created.created

    fetched = client.v1.products.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()

    updated = client.v1.products.update(
        created.id,
        params={
            "name": "Hot desk (2nd floor)",
            "description": "",
            "active": False,
            "images": "",
            "metadata": {"zone": "", "wifi": "yes"},
        },
    )
    assert updated.name == "Hot desk (2nd floor)"
    assert updated.description is None
    assert updated.active is False
    assert updated.images == []
    assert updated.metadata.to_dict() == {"floor": "2", "wifi": "yes"}
    assert updated.unit_label == "desk"


def test_name_is_required_and_cannot_be_unset(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.create(params={"description": "no name"})  # type: ignore[typeddict-item]
    assert _error(excinfo) == (400, "name")
    product = client.v1.products.create(params={"name": "Box"})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.update(product.id, params={"name": ""})
    assert _error(excinfo) == (400, "name")


def test_custom_id(client: stripe.StripeClient) -> None:
    custom = f"veg-box-{time.time_ns()}"
    product = client.v1.products.create(params={"id": custom, "name": "Veg box"})
    assert product.id == custom
    assert client.v1.products.retrieve(custom).name == "Veg box"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.create(params={"id": custom, "name": "Again"})
    assert _error(excinfo) == (400, "id")
    assert excinfo.value.code == "resource_already_exists"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.create(params={"id": "has space", "name": "x"})
    assert _error(excinfo) == (400, "id")


def test_too_many_images(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.create(
            params={"name": "x", "images": [f"https://example.com/{i}.png" for i in range(9)]}
        )
    assert _error(excinfo) == (400, "images")


def test_default_price_data_creates_the_default_price(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(
        params={
            "name": "Membership",
            "default_price_data": {
                "currency": "EUR",
                "unit_amount": 4900,
                "recurring": {"interval": "month"},
            },
            "expand": ["default_price"],
        }
    )
    price = product.default_price
    assert isinstance(price, stripe.Price)
    assert price.product == product.id
    assert price.currency == "eur"
    assert price.unit_amount == 4900
    assert price.type == "recurring"
    assert price.recurring is not None and price.recurring.interval == "month"
    assert client.v1.products.retrieve(product.id).default_price == price.id


def test_default_price_data_errors_name_the_nested_param(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.create(
            params={"name": "x", "default_price_data": {"currency": "zzz", "unit_amount": 1}}
        )
    assert _error(excinfo) == (400, "default_price_data[currency]")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.create(params={"name": "x", "default_price_data": {"currency": "usd"}})
    assert _error(excinfo) == (400, "default_price_data[unit_amount]")
    # Nothing was written: the product of the failed request does not exist.
    assert client.v1.products.list(params={"limit": 100}).data == []


def test_default_price_must_be_an_active_price_of_the_product(
    client: stripe.StripeClient,
) -> None:
    product = client.v1.products.create(params={"name": "Box"})
    other = client.v1.products.create(params={"name": "Other"})
    own = client.v1.prices.create(
        params={"product": product.id, "currency": "usd", "unit_amount": 1}
    )
    foreign = client.v1.prices.create(
        params={"product": other.id, "currency": "usd", "unit_amount": 1}
    )
    updated = client.v1.products.update(product.id, params={"default_price": own.id})
    assert updated.default_price == own.id

    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.update(product.id, params={"default_price": foreign.id})
    assert _error(excinfo) == (400, "default_price")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.update(product.id, params={"default_price": "price_missing"})
    assert _error(excinfo) == (404, "default_price")

    # The default price cannot be archived until it stops being the default.
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.update(own.id, params={"active": False})
    assert _error(excinfo) == (400, "active")
    cleared = client.v1.products.update(product.id, params={"default_price": ""})
    assert cleared.default_price is None
    archived = client.v1.prices.update(own.id, params={"active": False})
    assert archived.active is False
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.update(product.id, params={"default_price": own.id})
    assert _error(excinfo) == (400, "default_price")


def test_delete_is_refused_while_the_product_has_prices(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"name": "Priced"})
    client.v1.prices.create(params={"product": product.id, "currency": "usd", "unit_amount": 500})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.delete(product.id)
    assert excinfo.value.http_status == 400
    assert "prices" in str(excinfo.value.user_message)
    assert client.v1.products.retrieve(product.id).id == product.id


def test_delete(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"name": "Unpriced"})
    deleted = client.v1.products.delete(product.id)
    assert deleted.to_dict() == {"id": product.id, "object": "product", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.retrieve(product.id)
    assert excinfo.value.http_status == 404
    assert excinfo.value.code == "resource_missing"


def test_list_filters_and_pagination(client: stripe.StripeClient) -> None:
    a = client.v1.products.create(params={"name": "A"})
    b = client.v1.products.create(params={"name": "B", "active": False})
    c = client.v1.products.create(params={"name": "C", "shippable": True})

    everything = client.v1.products.list()
    assert [p.id for p in everything.data] == [c.id, b.id, a.id]
    assert [p.id for p in client.v1.products.list(params={"active": True}).data] == [c.id, a.id]
    assert [p.id for p in client.v1.products.list(params={"active": False}).data] == [b.id]
    assert [p.id for p in client.v1.products.list(params={"ids": [a.id, b.id]}).data] == [
        b.id,
        a.id,
    ]
    assert [p.id for p in client.v1.products.list(params={"shippable": True}).data] == [c.id]
    assert [p.id for p in client.v1.products.list(params={"created": {"gte": a.created}}).data] == [
        c.id,
        b.id,
        a.id,
    ]
    assert client.v1.products.list(params={"created": {"lt": a.created}}).data == []

    first = client.v1.products.list(params={"limit": 2})
    assert first.has_more is True
    assert [p.id for p in first.data] == [c.id, b.id]
    assert [p.id for p in first.auto_paging_iter()] == [c.id, b.id, a.id]
    before = client.v1.products.list(params={"ending_before": a.id, "limit": 1})
    assert [p.id for p in before.data] == [b.id]


def test_missing_product_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.products.retrieve("prod_doesnotexist")
    assert excinfo.value.http_status == 404
    assert excinfo.value.code == "resource_missing"


def test_livemode_isolation(client: stripe.StripeClient, live_client: stripe.StripeClient) -> None:
    test_product = client.v1.products.create(params={"name": "Test only"})
    live_product = live_client.v1.products.create(params={"name": "Live only"})
    assert live_product.livemode is True
    assert [p.id for p in live_client.v1.products.list().data] == [live_product.id]
    assert [p.id for p in client.v1.products.list().data] == [test_product.id]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.products.retrieve(test_product.id)
    assert excinfo.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.products.delete(test_product.id)
    assert excinfo.value.http_status == 404
