"""Customers through the official stripe SDK against a live server."""

from __future__ import annotations

import pytest
import stripe


def test_create_retrieve_update_delete(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(
        params={
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "address": {"line1": "12 Rue de la Paix", "city": "Paris", "country": "FR"},
            "metadata": {"plan": "coworking", "desk": "12"},
            "preferred_locales": ["fr", "en"],
        }
    )
    assert created.id.startswith("cus_")
    assert created.object == "customer"
    assert created.livemode is False
    assert created.name == "Ada Lovelace"
    assert created.address is not None and created.address.city == "Paris"
    assert created.metadata.to_dict() == {"plan": "coworking", "desk": "12"}
    assert created.preferred_locales == ["fr", "en"]
    assert created.balance == 0
    assert created.invoice_prefix and len(created.invoice_prefix) == 8

    fetched = client.v1.customers.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()

    updated = client.v1.customers.update(
        created.id,
        params={
            "email": "ada@analytical.engine",
            "metadata": {"desk": "", "floor": "2"},
            "phone": "",
        },
    )
    assert updated.email == "ada@analytical.engine"
    assert updated.metadata.to_dict() == {"plan": "coworking", "floor": "2"}
    assert updated.phone is None

    deleted = client.v1.customers.delete(created.id)
    assert deleted.deleted is True
    tombstone = client.v1.customers.retrieve(created.id)
    assert tombstone.to_dict().get("deleted") is True
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.update(created.id, params={"name": "x"})
    assert excinfo.value.http_status == 404


def test_metadata_can_be_cleared_entirely(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"metadata": {"a": "1", "b": "2"}})
    cleared = client.v1.customers.update(customer.id, params={"metadata": ""})
    assert cleared.metadata.to_dict() == {}


def test_unknown_parameter_is_named(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(params={"nmae": "typo"})  # type: ignore[typeddict-unknown-key]
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == "nmae"
    assert "nmae" in str(excinfo.value.user_message)


def test_invalid_nested_parameter_is_named(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(params={"address": {"town": "Paris"}})  # type: ignore[typeddict-unknown-key]
    assert excinfo.value.param == "address[town]"


def test_invoice_prefix_is_unique_per_account(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"invoice_prefix": "ACME"})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(params={"invoice_prefix": "ACME"})
    assert excinfo.value.param == "invoice_prefix"


def test_list_filters_by_email(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"email": "a@example.com"})
    b = client.v1.customers.create(params={"email": "b@example.com"})
    found = client.v1.customers.list(params={"email": "b@example.com"})
    assert [c.id for c in found.data] == [b.id]


def test_missing_customer_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.retrieve("cus_doesnotexist")
    assert excinfo.value.http_status == 404
    assert excinfo.value.code == "resource_missing"
