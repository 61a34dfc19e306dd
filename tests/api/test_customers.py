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


def test_create_with_a_test_payment_method_as_default(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(
        params={
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    default = customer.invoice_settings.default_payment_method
    assert isinstance(default, str) and default.startswith("pm_") and default != "pm_card_visa"
    methods = client.v1.customers.payment_methods.list(customer.id).data
    assert [m.id for m in methods] == [default]
    # Attached only: Stripe does not make `payment_method` the default by itself.
    plain = client.v1.customers.create(params={"payment_method": "pm_card_mastercard"})
    assert plain.invoice_settings.default_payment_method is None
    assert len(client.v1.customers.payment_methods.list(plain.id).data) == 1


def test_create_with_an_existing_payment_method(client: stripe.StripeClient) -> None:
    pm = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    customer = client.v1.customers.create(
        params={"payment_method": pm.id, "invoice_settings": {"default_payment_method": pm.id}}
    )
    assert customer.invoice_settings.default_payment_method == pm.id
    assert client.v1.payment_methods.retrieve(pm.id).customer == customer.id


def test_create_refuses_bad_payment_methods_and_creates_nothing(
    client: stripe.StripeClient,
) -> None:
    email = "nobody@example.com"
    loose = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(
            params={"email": email, "invoice_settings": {"default_payment_method": loose.id}}
        )
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == "invoice_settings[default_payment_method]"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(params={"email": email, "payment_method": "pm_missing"})
    assert excinfo.value.param == "payment_method"
    with pytest.raises(stripe.CardError) as card_error:
        client.v1.customers.create(
            params={"email": email, "payment_method": "pm_card_chargeDeclined"}
        )
    assert card_error.value.http_status == 402
    assert client.v1.customers.list(params={"email": email}).data == []
    assert client.v1.payment_methods.retrieve(loose.id).customer is None


def test_default_payment_method_on_update(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create()
    other = client.v1.customers.create()
    mine = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    theirs = client.v1.payment_methods.attach("pm_card_visa", params={"customer": other.id})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.update(
            customer.id, params={"invoice_settings": {"default_payment_method": theirs.id}}
        )
    assert excinfo.value.param == "invoice_settings[default_payment_method]"
    updated = client.v1.customers.update(
        customer.id,
        params={"invoice_settings": {"default_payment_method": mine.id, "footer": "Thanks"}},
    )
    assert updated.invoice_settings.default_payment_method == mine.id
    assert updated.invoice_settings.footer == "Thanks"

    expanded = client.v1.customers.retrieve(
        customer.id, params={"expand": ["invoice_settings.default_payment_method"]}
    )
    default = expanded.invoice_settings.default_payment_method
    assert isinstance(default, stripe.PaymentMethod)
    assert default.id == mine.id and default.card is not None and default.card.last4 == "4242"

    cleared = client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": ""}}
    )
    assert cleared.invoice_settings.default_payment_method is None
    assert cleared.invoice_settings.footer == "Thanks"


def test_detaching_the_default_payment_method_clears_it(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(
        params={
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    default = customer.invoice_settings.default_payment_method
    assert isinstance(default, str)
    client.v1.payment_methods.detach(default)
    fetched = client.v1.customers.retrieve(customer.id)
    assert fetched.invoice_settings.default_payment_method is None


def test_test_clock_on_create(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_577_836_800})
    customer = client.v1.customers.create(params={"test_clock": clock.id})
    assert customer.test_clock == clock.id
    # Objects on a test clock live in its time.
    assert customer.created == 1_577_836_800
    expanded = client.v1.customers.retrieve(customer.id, params={"expand": ["test_clock"]})
    assert expanded.to_dict()["test_clock"]["frozen_time"] == 1_577_836_800
    listed = client.v1.customers.list(params={"test_clock": clock.id})
    assert [c.id for c in listed.data] == [customer.id]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.update(customer.id, params={"test_clock": clock.id})  # type: ignore[typeddict-unknown-key]
    assert excinfo.value.param == "test_clock"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create(params={"test_clock": "clock_missing"})
    assert excinfo.value.http_status == 404
    assert excinfo.value.param == "test_clock"
