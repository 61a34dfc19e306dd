"""Tax rates through the official stripe SDK against a live server."""

from __future__ import annotations

import pytest
import stripe


def test_create_retrieve_update(client: stripe.StripeClient) -> None:
    created = client.v1.tax_rates.create(
        params={
            "display_name": "VAT",
            "percentage": 19.5,
            "inclusive": False,
            "country": "de",
            "jurisdiction": "DE",
            "description": "VAT Germany",
            "tax_type": "vat",
            "metadata": {"ledger": "4400"},
        }
    )
    assert created.id.startswith("txr_")
    assert created.object == "tax_rate"
    assert created.percentage == 19.5
    assert created.effective_percentage == 19.5
    assert created.inclusive is False
    assert created.active is True
    assert created.country == "DE"
    assert created.tax_type == "vat"
    assert created.rate_type == "percentage"
    assert created.livemode is False

    assert client.v1.tax_rates.retrieve(created.id).to_dict() == created.to_dict()

    updated = client.v1.tax_rates.update(
        created.id,
        params={
            "active": False,
            "description": "",
            "display_name": "MwSt",
            "state": "BE",
            "metadata": {"ledger": "", "k": "v"},
        },
    )
    assert updated.active is False
    assert updated.description is None
    assert updated.display_name == "MwSt"
    assert updated.state == "BE"
    assert updated.metadata.to_dict() == {"k": "v"}
    assert updated.percentage == 19.5


def test_percentage_keeps_four_decimals(client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create(
        params={"display_name": "Sales tax", "percentage": 8.875, "inclusive": False}
    )
    assert rate.percentage == 8.875
    zero = client.v1.tax_rates.create(
        params={"display_name": "Zero", "percentage": 0, "inclusive": True}
    )
    assert zero.percentage == 0


def test_percentage_and_inclusive_are_immutable(client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create(
        params={"display_name": "GST", "percentage": 5, "inclusive": True}
    )
    for params, param in (({"percentage": 6}, "percentage"), ({"inclusive": False}, "inclusive")):
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.tax_rates.update(rate.id, params=params)  # type: ignore[arg-type]
        assert excinfo.value.param == param


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"percentage": 10, "inclusive": False}, "display_name"),
        ({"display_name": "VAT", "inclusive": False}, "percentage"),
        ({"display_name": "VAT", "percentage": 10}, "inclusive"),
        ({"display_name": "VAT", "percentage": 100.5, "inclusive": False}, "percentage"),
        ({"display_name": "VAT", "percentage": -1, "inclusive": False}, "percentage"),
        ({"display_name": "VAT", "percentage": 1.00001, "inclusive": False}, "percentage"),
        ({"display_name": "VAT", "percentage": "abc", "inclusive": False}, "percentage"),
        ({"display_name": "", "percentage": 10, "inclusive": False}, "display_name"),
        ({"display_name": "VAT", "percentage": 10, "inclusive": "maybe"}, "inclusive"),
        (
            {"display_name": "VAT", "percentage": 10, "inclusive": False, "country": "DEU"},
            "country",
        ),
        (
            {"display_name": "VAT", "percentage": 10, "inclusive": False, "tax_type": "tithe"},
            "tax_type",
        ),
    ],
)
def test_invalid_create_names_the_param(
    client: stripe.StripeClient, params: dict[str, object], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.tax_rates.create(params=params)  # type: ignore[arg-type]
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == param
    assert client.v1.tax_rates.list().data == []


def test_display_name_cannot_be_unset(client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 20, "inclusive": True}
    )
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.tax_rates.update(rate.id, params={"display_name": ""})
    assert excinfo.value.param == "display_name"


def test_list_filters(client: stripe.StripeClient) -> None:
    def make(inclusive: bool, active: bool) -> str:
        return client.v1.tax_rates.create(
            params={
                "display_name": "T",
                "percentage": 10,
                "inclusive": inclusive,
                "active": active,
            }
        ).id

    a = make(True, True)
    b = make(False, True)
    c = make(False, False)

    def ids(**params: object) -> list[str]:
        return [t.id for t in client.v1.tax_rates.list(params=params).data]  # type: ignore[arg-type]

    assert ids() == [c, b, a]
    assert ids(active=True) == [b, a]
    assert ids(active=False) == [c]
    assert ids(inclusive=True) == [a]
    assert ids(inclusive=False, active=True) == [b]
    assert ids(limit=2) == [c, b]
    assert ids(ending_before=b) == [c]
    created = client.v1.tax_rates.retrieve(a).created
    assert ids(created={"lt": created}) == []


def test_livemode_isolation(client: stripe.StripeClient, live_client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 20, "inclusive": False}
    )
    assert live_client.v1.tax_rates.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.tax_rates.retrieve(rate.id)
    assert excinfo.value.http_status == 404
    assert excinfo.value.code == "resource_missing"
