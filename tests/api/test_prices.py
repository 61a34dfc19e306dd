"""Prices through the official stripe SDK against a live server."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, cast

import pytest
import stripe

from recur.services.accounts import AccountKeys
from tests.support.server import LiveServer


@pytest.fixture
def product(client: stripe.StripeClient) -> stripe.Product:
    return client.v1.products.create(params={"name": "Coworking"})


def _fails(
    client: stripe.StripeClient, params: dict[str, Any], status: int = 400
) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.create(params=params)  # type: ignore[arg-type]
    assert excinfo.value.http_status == status
    return excinfo.value


def test_create_retrieve_recurring_price(
    client: stripe.StripeClient, product: stripe.Product
) -> None:
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "EUR",
            "unit_amount": 2500,
            "recurring": {"interval": "month", "interval_count": 3},
            "nickname": "Quarterly",
            "metadata": {"plan": "q"},
        }
    )
    assert price.id.startswith("price_")
    wire = price.to_dict()
    assert wire["object"] == "price"
    assert wire["currency"] == "eur"
    assert wire["type"] == "recurring"
    assert wire["billing_scheme"] == "per_unit"
    assert wire["unit_amount"] == 2500
    # The SDK turns decimal strings into Decimal; the wire carries "2500".
    assert wire["unit_amount_decimal"] == Decimal("2500")
    assert wire["recurring"] == {
        "interval": "month",
        "interval_count": 3,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }
    assert wire["tax_behavior"] == "unspecified"
    assert wire["tiers_mode"] is None
    assert wire["transform_quantity"] is None
    assert wire["lookup_key"] is None
    assert wire["active"] is True
    assert wire["livemode"] is False
    assert "tiers" not in wire  # only with expand[]=tiers, as at Stripe
    assert client.v1.prices.retrieve(price.id).to_dict() == wire


def test_one_time_price_and_inline_product_data(client: stripe.StripeClient) -> None:
    price = client.v1.prices.create(
        params={
            "currency": "jpy",
            "unit_amount": 1200,
            "product_data": {"name": "Day pass", "unit_label": "day", "metadata": {"k": "v"}},
        }
    )
    assert price.type == "one_time"
    assert price.recurring is None
    product = client.v1.products.retrieve(str(price.product))
    assert product.name == "Day pass"
    assert product.unit_label == "day"
    assert product.metadata.to_dict() == {"k": "v"}


def test_decimal_amounts(client: stripe.StripeClient, product: stripe.Product) -> None:
    fractional = client.v1.prices.create(
        params={"product": product.id, "currency": "usd", "unit_amount_decimal": Decimal("0.0125")}
    )
    assert fractional.unit_amount is None
    assert fractional.unit_amount_decimal == Decimal("0.0125")
    whole = client.v1.prices.create(
        params={"product": product.id, "currency": "usd", "unit_amount_decimal": Decimal("1000.00")}
    )
    assert whole.unit_amount == 1000
    # The SDK turns decimal strings into Decimal; the wire carries the canonical "1000".
    assert str(whole.unit_amount_decimal) == "1000"
    # The SDK sends str(Decimal): 12 decimal places go out as "1E-12" and must be accepted.
    finest = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount_decimal": Decimal("0.000000000001"),
        }
    )
    assert finest.unit_amount_decimal == Decimal("0.000000000001")

    base: dict[str, Any] = {"product": product.id, "currency": "usd"}
    for bad in ("0.0000000000001", "1E-13", "-1", "1,5", "NaN", "Infinity", "abc", ""):
        assert _fails(client, {**base, "unit_amount_decimal": bad}).param == (
            "unit_amount_decimal"
        ), bad
    assert (
        _fails(client, {**base, "unit_amount": 1, "unit_amount_decimal": "1"}).param
        == "unit_amount_decimal"
    )
    assert _fails(client, {**base, "unit_amount": 100_000_000}).param == "unit_amount"


def test_amount_and_currency_errors_name_the_param(
    client: stripe.StripeClient, product: stripe.Product
) -> None:
    base = {"product": product.id, "currency": "usd", "unit_amount": 100}
    assert _fails(client, {**base, "currency": "xyz"}).param == "currency"
    assert _fails(client, {"product": product.id, "unit_amount": 1}).param == "currency"
    assert _fails(client, {**base, "unit_amount": -1}).param == "unit_amount"
    assert _fails(client, {**base, "unit_amount": "ten"}).param == "unit_amount"
    missing = _fails(client, {"product": product.id, "currency": "usd"})
    assert missing.param == "unit_amount"
    assert missing.code == "parameter_missing"
    assert _fails(client, {"currency": "usd", "unit_amount": 1}).param == "product"
    assert _fails(client, {**base, "product_data": {"name": "dup"}}).param == "product_data"
    not_found = _fails(client, {**base, "product": "prod_missing"}, status=404)
    assert not_found.param == "product"
    assert not_found.code == "resource_missing"


def test_recurring_errors_name_the_param(
    client: stripe.StripeClient, product: stripe.Product
) -> None:
    base = {"product": product.id, "currency": "usd", "unit_amount": 100}
    assert _fails(client, {**base, "recurring": {"interval": "fortnight"}}).param == (
        "recurring[interval]"
    )
    assert _fails(client, {**base, "recurring": {"interval_count": 2}}).param == (
        "recurring[interval]"
    )
    too_long = {"interval": "month", "interval_count": 37}
    assert _fails(client, {**base, "recurring": too_long}).param == "recurring[interval_count]"
    assert _fails(
        client, {**base, "recurring": {"interval": "year", "interval_count": 4}}
    ).param == ("recurring[interval_count]")
    longest = client.v1.prices.create(
        params={**base, "recurring": {"interval": "week", "interval_count": 156}}  # type: ignore[typeddict-item]
    )
    assert longest.recurring is not None and longest.recurring.interval_count == 156


GRADUATED_TIERS: list[dict[str, Any]] = [
    {"up_to": 5, "unit_amount": 700},
    {"up_to": 10, "unit_amount_decimal": "650.5"},
    {"up_to": "inf", "unit_amount": 600, "flat_amount": 100},
]


def test_tiered_prices_round_trip_with_expanded_tiers(
    client: stripe.StripeClient, product: stripe.Product
) -> None:
    for mode in ("graduated", "volume"):
        price = client.v1.prices.create(
            params={
                "product": product.id,
                "currency": "usd",
                "billing_scheme": "tiered",
                "tiers_mode": mode,
                "tiers": GRADUATED_TIERS,  # type: ignore[typeddict-item]
                "recurring": {"interval": "month"},
                "expand": ["tiers"],
            }
        )
        wire = price.to_dict()
        assert wire["billing_scheme"] == "tiered"
        assert wire["tiers_mode"] == mode
        assert wire["unit_amount"] is None
        assert wire["unit_amount_decimal"] is None
        assert wire["tiers"] == [
            {
                "flat_amount": None,
                "flat_amount_decimal": None,
                "unit_amount": 700,
                "unit_amount_decimal": Decimal("700"),
                "up_to": 5,
            },
            {
                "flat_amount": None,
                "flat_amount_decimal": None,
                "unit_amount": None,
                "unit_amount_decimal": Decimal("650.5"),
                "up_to": 10,
            },
            {
                "flat_amount": 100,
                "flat_amount_decimal": Decimal("100"),
                "unit_amount": 600,
                "unit_amount_decimal": Decimal("600"),
                "up_to": None,
            },
        ]
        assert "tiers" not in client.v1.prices.retrieve(price.id).to_dict()
        fetched = client.v1.prices.retrieve(price.id, params={"expand": ["tiers"]})
        assert fetched.to_dict() == wire

    listed = client.v1.prices.list(params={"expand": ["data.tiers"]})
    assert all(len(p.to_dict()["tiers"]) == 3 for p in listed.data)
    assert all("tiers" not in p.to_dict() for p in client.v1.prices.list().data)


def test_tier_errors_name_the_param(client: stripe.StripeClient, product: stripe.Product) -> None:
    base: dict[str, Any] = {
        "product": product.id,
        "currency": "usd",
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
    }
    descending = [
        {"up_to": 10, "unit_amount": 1},
        {"up_to": 5, "unit_amount": 1},
        {"up_to": "inf", "unit_amount": 1},
    ]
    assert _fails(client, {**base, "tiers": descending}).param == "tiers[1][up_to]"
    unbounded = [{"up_to": 10, "unit_amount": 1}, {"up_to": 20, "unit_amount": 1}]
    assert _fails(client, {**base, "tiers": unbounded}).param == "tiers[1][up_to]"
    garbage = [{"up_to": "lots", "unit_amount": 1}, {"up_to": "inf", "unit_amount": 1}]
    assert _fails(client, {**base, "tiers": garbage}).param == "tiers[0][up_to]"
    no_amount = [{"up_to": 10, "unit_amount": 1}, {"up_to": "inf"}]
    assert _fails(client, {**base, "tiers": no_amount}).param == "tiers[1]"
    both = [{"up_to": "inf", "unit_amount": 1, "unit_amount_decimal": "1"}]
    assert _fails(client, {**base, "tiers": both}).param == "tiers[0][unit_amount_decimal]"
    negative = [{"up_to": "inf", "flat_amount": -5}]
    assert _fails(client, {**base, "tiers": negative}).param == "tiers[0][flat_amount]"
    assert _fails(client, {**base}).param == "tiers"
    one = [{"up_to": "inf", "unit_amount": 1}]
    no_mode = {k: v for k, v in base.items() if k != "tiers_mode"}
    assert _fails(client, {**no_mode, "tiers": one}).param == "tiers_mode"
    assert _fails(client, {**base, "tiers": one, "unit_amount": 5}).param == "unit_amount"
    transform = {"divide_by": 10, "round": "up"}
    assert (
        _fails(client, {**base, "tiers": one, "transform_quantity": transform}).param
        == "transform_quantity"
    )
    per_unit = {"product": product.id, "currency": "usd", "unit_amount": 5}
    assert _fails(client, {**per_unit, "tiers": one}).param == "tiers"


def test_transform_quantity(client: stripe.StripeClient, product: stripe.Product) -> None:
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 500,
            "transform_quantity": {"divide_by": 10, "round": "up"},
        }
    )
    assert price.to_dict()["transform_quantity"] == {"divide_by": 10, "round": "up"}
    base = {"product": product.id, "currency": "usd", "unit_amount": 500}
    assert _fails(
        client, {**base, "transform_quantity": {"divide_by": 0, "round": "up"}}
    ).param == ("transform_quantity[divide_by]")
    assert _fails(client, {**base, "transform_quantity": {"divide_by": 2, "round": "x"}}).param == (
        "transform_quantity[round]"
    )


def test_update(client: stripe.StripeClient, product: stripe.Product) -> None:
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 100,
            "metadata": {"a": "1", "b": "2"},
            "nickname": "Old",
        }
    )
    updated = client.v1.prices.update(
        price.id,
        params={
            "active": False,
            "metadata": {"a": "", "c": "3"},
            "nickname": "",
            "tax_behavior": "exclusive",
        },
    )
    assert updated.active is False
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    assert updated.nickname is None
    assert updated.tax_behavior == "exclusive"
    same = client.v1.prices.update(price.id, params={"tax_behavior": "exclusive"})
    assert same.tax_behavior == "exclusive"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.update(price.id, params={"tax_behavior": "inclusive"})
    assert excinfo.value.param == "tax_behavior"
    # Amounts and currency are immutable: Stripe does not know them as update parameters.
    for name, value in (
        ("unit_amount", 5),
        ("currency", "eur"),
        ("recurring", {"interval": "day"}),
    ):
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.prices.update(price.id, params=cast(Any, {name: value}))
        assert excinfo.value.http_status == 400
        assert excinfo.value.param == name
        assert excinfo.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.update("price_missing", params={"active": True})
    assert excinfo.value.http_status == 404


def test_lookup_keys_are_unique_and_transferable(
    client: stripe.StripeClient, product: stripe.Product
) -> None:
    base: Any = {"product": product.id, "currency": "usd"}
    old = client.v1.prices.create(
        params=cast(Any, {**base, "unit_amount": 1000, "lookup_key": "standard"})
    )
    error = _fails(client, {**base, "unit_amount": 1200, "lookup_key": "standard"})
    assert error.param == "lookup_key"
    assert old.id in str(error.user_message)

    new = client.v1.prices.create(
        params=cast(
            Any,
            {**base, "unit_amount": 1200, "lookup_key": "standard", "transfer_lookup_key": True},
        )
    )
    assert new.lookup_key == "standard"
    assert client.v1.prices.retrieve(old.id).lookup_key is None
    found = client.v1.prices.list(params={"lookup_keys": ["standard", "unknown"]})
    assert [p.id for p in found.data] == [new.id]

    # Through update too: refused without transfer, moved with it.
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.update(old.id, params={"lookup_key": "standard"})
    assert excinfo.value.param == "lookup_key"
    moved = client.v1.prices.update(
        old.id, params={"lookup_key": "standard", "transfer_lookup_key": True}
    )
    assert moved.lookup_key == "standard"
    assert client.v1.prices.retrieve(new.id).lookup_key is None
    unset = client.v1.prices.update(old.id, params={"lookup_key": ""})
    assert unset.lookup_key is None
    assert client.v1.prices.list(params={"lookup_keys": ["standard"]}).data == []


def test_list_filters(client: stripe.StripeClient, product: stripe.Product) -> None:
    other = client.v1.products.create(params={"name": "Other"})
    monthly = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1,
            "recurring": {"interval": "month"},
        }
    )
    metered = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 1,
            "recurring": {"interval": "year", "usage_type": "metered"},
        }
    )
    one_time = client.v1.prices.create(
        params={"product": other.id, "currency": "usd", "unit_amount": 1}
    )
    archived = client.v1.prices.create(
        params={"product": other.id, "currency": "usd", "unit_amount": 1, "active": False}
    )

    def ids(**params: Any) -> list[str]:
        return [p.id for p in client.v1.prices.list(params=params).data]  # type: ignore[arg-type]

    assert ids() == [archived.id, one_time.id, metered.id, monthly.id]
    assert ids(product=product.id) == [metered.id, monthly.id]
    assert ids(active=False) == [archived.id]
    assert ids(active=True) == [one_time.id, metered.id, monthly.id]
    assert ids(type="one_time") == [archived.id, one_time.id]
    assert ids(type="recurring") == [metered.id, monthly.id]
    assert ids(currency="EUR") == [metered.id]
    assert ids(recurring={"interval": "month"}) == [monthly.id]
    assert ids(recurring={"usage_type": "metered"}) == [metered.id]
    assert ids(created={"gte": monthly.created}) == [
        archived.id,
        one_time.id,
        metered.id,
        monthly.id,
    ]
    assert ids(created={"gt": archived.created}) == []
    assert ids(product="prod_missing") == []
    page = client.v1.prices.list(params={"limit": 3})
    assert page.has_more is True
    assert [p.id for p in page.auto_paging_iter()] == ids()
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.list(params={"type": "sometimes"})
    assert excinfo.value.param == "type"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.list(params={"recurring": {"interval": "hour"}})
    assert excinfo.value.param == "recurring[interval]"


def test_expand_product(client: stripe.StripeClient, product: stripe.Product) -> None:
    price = client.v1.prices.create(
        params={"product": product.id, "currency": "usd", "unit_amount": 1, "expand": ["product"]}
    )
    assert isinstance(price.product, stripe.Product)
    assert price.product.name == "Coworking"
    listed = client.v1.prices.list(params={"expand": ["data.product"]})
    assert isinstance(listed.data[0].product, stripe.Product)
    # A client-chosen product id has no `prod_` prefix and still expands, two levels deep too.
    custom = client.v1.products.create(params={"id": f"gold-plan-{time.time_ns()}", "name": "Gold"})
    gold = client.v1.prices.create(
        params={"product": custom.id, "currency": "usd", "unit_amount": 1}
    )
    client.v1.products.update(custom.id, params={"default_price": gold.id})
    expanded = client.v1.prices.retrieve(gold.id, params={"expand": ["product.default_price"]})
    assert isinstance(expanded.product, stripe.Product)
    assert expanded.product.id == custom.id
    assert isinstance(expanded.product.default_price, stripe.Price)
    assert expanded.product.default_price.id == gold.id
    listed = client.v1.prices.list(params={"product": custom.id, "expand": ["data.product"]})
    assert isinstance(listed.data[0].product, stripe.Product)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.prices.retrieve(price.id, params={"expand": ["currency"]})
    assert excinfo.value.param == "expand"


def test_livemode_isolation(
    client: stripe.StripeClient, live_client: stripe.StripeClient, product: stripe.Product
) -> None:
    test_price = client.v1.prices.create(
        params={"product": product.id, "currency": "usd", "unit_amount": 1, "lookup_key": "k"}
    )
    # A live price cannot use a test product, and lookup keys are per mode.
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.prices.create(
            params={"product": product.id, "currency": "usd", "unit_amount": 1}
        )
    assert excinfo.value.http_status == 404
    assert excinfo.value.param == "product"
    live_price = live_client.v1.prices.create(
        params={
            "product_data": {"name": "Live"},
            "currency": "usd",
            "unit_amount": 1,
            "lookup_key": "k",
        }
    )
    assert live_price.livemode is True
    assert [p.id for p in live_client.v1.prices.list().data] == [live_price.id]
    assert [p.id for p in client.v1.prices.list().data] == [test_price.id]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.prices.retrieve(test_price.id)
    assert excinfo.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.prices.update(test_price.id, params={"active": False})
    assert excinfo.value.http_status == 404


def test_decimal_text_on_the_wire(server: LiveServer, account: AccountKeys) -> None:
    with server.http(account.test_secret_key) as http:
        product = http.post("/v1/products", data={"name": "Metered API"}).json()
        response = http.post(
            "/v1/prices",
            data={
                "product": product["id"],
                "currency": "usd",
                "unit_amount_decimal": "12.50",
                "expand[]": "tiers",
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert body["unit_amount_decimal"] == "12.5"
        assert body["unit_amount"] is None
        assert body["tiers"] is None  # expanded on a per-unit price: nothing to show
        # A JSON body keeps the digits exactly as written, never through a float.
        response = http.post(
            "/v1/prices",
            json={
                "product": product["id"],
                "currency": "usd",
                "unit_amount_decimal": "0.000000000001",
            },
        )
        assert response.json()["unit_amount_decimal"] == "0.000000000001"
