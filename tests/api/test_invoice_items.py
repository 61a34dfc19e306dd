"""Invoice items through the official stripe SDK: CRUD, pricing, drafts recomputed."""

from __future__ import annotations

from typing import Any

import pytest
import stripe


def _customer(client: stripe.StripeClient, **params: Any) -> str:
    return client.v1.customers.create(params={"name": "Ada", **params}).id


def _product(client: stripe.StripeClient) -> str:
    return client.v1.products.create(params={"name": "Coffee"}).id


def test_create_retrieve_update_delete(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    item = client.v1.invoice_items.create(
        params={
            "customer": customer,
            "amount": 1250,
            "currency": "eur",
            "description": "Room booking",
            "period": {"start": 1_700_000_000, "end": 1_700_086_400},
            "metadata": {"room": "B"},
        }
    )
    assert item.id.startswith("ii_")
    assert item.object == "invoiceitem"
    assert (item.amount, item.currency, item.quantity) == (1250, "eur", 1)
    assert item.invoice is None and item.discountable is True and item.proration is False
    assert item.period.start == 1_700_000_000 and item.period.end == 1_700_086_400
    assert item.metadata.to_dict() == {"room": "B"}
    assert item.pricing is not None and str(item.pricing.unit_amount_decimal) == "1250"
    assert item.to_dict()["unit_amount"] == 1250
    assert item.parent is None and item.livemode is False

    assert client.v1.invoice_items.retrieve(item.id).to_dict() == item.to_dict()

    updated = client.v1.invoice_items.update(
        item.id, params={"description": "Room B", "metadata": {"room": ""}, "quantity": 3}
    )
    assert updated.description == "Room B"
    assert updated.metadata.to_dict() == {}
    assert (updated.quantity, updated.amount) == (3, 3750)

    deleted = client.v1.invoice_items.delete(item.id)
    assert deleted.to_dict() == {"id": item.id, "object": "invoiceitem", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoice_items.retrieve(item.id)
    assert excinfo.value.http_status == 404


def test_period_defaults_to_now(client: stripe.StripeClient) -> None:
    item = client.v1.invoice_items.create(
        params={"customer": _customer(client), "amount": 100, "currency": "usd"}
    )
    assert item.period.start == item.period.end == item.date


def test_unit_amount_decimal_times_quantity_is_rounded_once(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    # 0.333 × 7 = 2.331 → 2; rounding each unit first would give 0 × 7 = 0.
    item = client.v1.invoice_items.create(
        params={
            "customer": customer,
            "currency": "eur",
            "unit_amount_decimal": "0.333",
            "quantity": 7,
        }
    )
    assert (item.amount, item.quantity, str(item.unit_amount_decimal)) == (2, 7, "0.333")
    assert item.to_dict()["unit_amount"] is None
    # 12.5 × 3 = 37.5 → 38 (half-up).
    half = client.v1.invoice_items.create(
        params={
            "customer": customer,
            "currency": "eur",
            "unit_amount_decimal": "12.5",
            "quantity": 3,
        }
    )
    assert half.amount == 38


def test_price_and_price_data(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    product = _product(client)
    price = client.v1.prices.create(
        params={"product": product, "currency": "eur", "unit_amount": 450}
    )
    item = client.v1.invoice_items.create(
        params={"customer": customer, "pricing": {"price": price.id}, "quantity": 2}
    )
    assert (item.amount, item.currency, item.quantity) == (900, "eur", 2)
    assert item.pricing is not None and item.pricing.price_details is not None
    assert item.pricing.price_details.price == price.id
    assert item.pricing.price_details.product == product
    assert item.to_dict()["price"]["id"] == price.id

    legacy = client.v1.invoice_items.create(params={"customer": customer, "price": price.id})
    assert legacy.amount == 450

    inline = client.v1.invoice_items.create(
        params={
            "customer": customer,
            "price_data": {"currency": "eur", "product": product, "unit_amount_decimal": "99.5"},
            "quantity": 3,
        }
    )
    assert inline.amount == 299  # 298.5 rounded half-up, once
    assert str(inline.to_dict()["price"]["unit_amount_decimal"]) == "99.5"


def test_negative_amount_is_a_credit_not_discountable(client: stripe.StripeClient) -> None:
    item = client.v1.invoice_items.create(
        params={"customer": _customer(client), "amount": -500, "currency": "eur"}
    )
    assert item.amount == -500 and item.discountable is False


def test_errors_name_the_parameter(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"amount": 100}, "currency"),
        ({"currency": "eur"}, "amount"),
        ({"amount": 100, "currency": "eur", "unit_amount_decimal": "5"}, "unit_amount_decimal"),
        ({"amount": 100, "currency": "eur", "quantity": 2}, "quantity"),
        ({"amount": 100, "currency": "xxx"}, "currency"),
        ({"amount": 100, "currency": "eur", "tax_rates": ["txr_nope"]}, "tax_rates[0]"),
        ({"price": "price_nope"}, "price"),
        ({"amount": 100, "currency": "eur", "invoice": "in_nope"}, "invoice"),
        ({"amount": 100, "currency": "eur", "subscription": "sub_nope"}, "subscription"),
        ({"unit_amount_decimal": "1.2.3", "currency": "eur"}, "unit_amount_decimal"),
        ({"amount": 100, "currency": "eur", "period": {"start": 10, "end": 5}}, "period[end]"),
        ({"amount": 10**9, "currency": "eur"}, "amount"),
    ]
    for params, param in cases:
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.invoice_items.create(params={"customer": customer, **params})  # type: ignore[typeddict-item]
        assert excinfo.value.http_status in (400, 404), params
        assert excinfo.value.param == param, params
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoice_items.create(
            params={"customer": "cus_nope", "amount": 1, "currency": "eur"}
        )
    assert (excinfo.value.http_status, excinfo.value.param) == (404, "customer")
    assert client.v1.invoice_items.list(params={"customer": customer}).data == []


def test_items_on_a_draft_recompute_it(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = client.v1.invoices.create(params={"customer": customer, "currency": "eur"})
    assert (invoice.status, invoice.total, invoice.lines.data) == ("draft", 0, [])

    first = client.v1.invoice_items.create(
        params={"customer": customer, "amount": 1000, "currency": "eur", "invoice": invoice.id}
    )
    assert first.invoice == invoice.id
    second = client.v1.invoice_items.create(
        params={"customer": customer, "amount": 250, "currency": "eur", "invoice": invoice.id}
    )
    draft = client.v1.invoices.retrieve(invoice.id)
    assert (draft.subtotal, draft.total, draft.amount_due) == (1250, 1250, 1250)
    assert [line.amount for line in draft.lines.data] == [1000, 250]
    line_ids = [line.id for line in draft.lines.data]

    client.v1.invoice_items.update(second.id, params={"amount": 400})
    draft = client.v1.invoices.retrieve(invoice.id)
    assert draft.total == 1400
    assert [line.id for line in draft.lines.data] == line_ids  # lines keep their ids

    client.v1.invoice_items.delete(first.id)
    draft = client.v1.invoices.retrieve(invoice.id)
    assert draft.total == 400 and [line.amount for line in draft.lines.data] == [400]

    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    assert finalized.status == "open"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoice_items.update(second.id, params={"amount": 1})
    assert excinfo.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.delete(second.id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoice_items.create(
            params={"customer": customer, "amount": 1, "currency": "eur", "invoice": invoice.id}
        )
    assert excinfo.value.param == "invoice"
    assert client.v1.invoices.retrieve(invoice.id).total == 400


def test_item_currency_must_match_the_draft(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = client.v1.invoices.create(params={"customer": customer, "currency": "eur"})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoice_items.create(
            params={"customer": customer, "amount": 1, "currency": "usd", "invoice": invoice.id}
        )
    assert excinfo.value.param == "currency"


def test_list_filters_and_pagination(client: stripe.StripeClient) -> None:
    ada = _customer(client)
    bob = _customer(client)
    ids = [
        client.v1.invoice_items.create(
            params={"customer": ada, "amount": 100 + n, "currency": "eur"}
        ).id
        for n in range(3)
    ]
    client.v1.invoice_items.create(params={"customer": bob, "amount": 1, "currency": "eur"})
    invoice = client.v1.invoices.create(
        params={"customer": ada, "pending_invoice_items_behavior": "include"}
    )

    listed = client.v1.invoice_items.list(params={"customer": ada})
    assert [i.id for i in listed.data] == list(reversed(ids))
    page = client.v1.invoice_items.list(params={"customer": ada, "limit": 2})
    assert page.has_more is True and len(page.data) == 2
    rest = client.v1.invoice_items.list(
        params={"customer": ada, "limit": 2, "starting_after": page.data[-1].id}
    )
    assert [i.id for i in rest.data] == [ids[0]] and rest.has_more is False

    on_invoice = client.v1.invoice_items.list(params={"invoice": invoice.id})
    assert sorted(i.id for i in on_invoice.data) == sorted(ids)
    pending = client.v1.invoice_items.list(params={"pending": True})
    assert [i.customer for i in pending.data] == [bob]
    not_pending = client.v1.invoice_items.list(params={"pending": False})
    assert len(not_pending.data) == 3


def test_expand_and_livemode_isolation(
    client: stripe.StripeClient, live_client: stripe.StripeClient
) -> None:
    customer = _customer(client)
    item = client.v1.invoice_items.create(
        params={"customer": customer, "amount": 100, "currency": "eur"}
    )
    expanded = client.v1.invoice_items.retrieve(item.id, params={"expand": ["customer"]})
    assert expanded.to_dict()["customer"]["id"] == customer
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.invoice_items.retrieve(item.id)
    assert excinfo.value.http_status == 404
    assert live_client.v1.invoice_items.list().data == []


def test_events_are_written(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    item = client.v1.invoice_items.create(
        params={"customer": customer, "amount": 100, "currency": "eur"}
    )
    client.v1.invoice_items.delete(item.id)
    events = client.v1.events.list(params={"type": "invoiceitem.*"}).data
    assert [e.type for e in events] == ["invoiceitem.deleted", "invoiceitem.created"]
    assert events[1].data.object["id"] == item.id  # type: ignore[index]
