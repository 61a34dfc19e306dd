"""`price_terms`: stored prices to the domain's pricing terms (Stripe's documented examples)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from recur.domain.errors import InvalidRequest
from recur.domain.pricing import PriceTerms, TransformQuantity, amount_for_quantity
from recur.services.prices import decimal_text, integer_amount, parse_amount_text, price_terms


def stored(**overrides: Any) -> dict[str, Any]:
    """A price row as the repository returns it."""
    row: dict[str, Any] = {
        "billing_scheme": "per_unit",
        "unit_amount_decimal": None,
        "tiers_mode": None,
        "tiers": None,
        "transform_quantity": None,
    }
    row.update(overrides)
    return row


# Stripe's "Set up tiered pricing" guide: 1-5 at 7 USD, 6-10 at 6.50 USD, 11+ at 6 USD.
FONT_TIERS = [
    {"up_to": 5, "unit_amount_decimal": "700", "flat_amount_decimal": None},
    {"up_to": 10, "unit_amount_decimal": "650", "flat_amount_decimal": None},
    {"up_to": None, "unit_amount_decimal": "600", "flat_amount_decimal": None},
]


def test_per_unit() -> None:
    terms = price_terms(stored(unit_amount_decimal="1000"))
    assert terms == PriceTerms(billing_scheme="per_unit", unit_amount=Decimal(1000))
    assert amount_for_quantity(terms, 3) == 3000


def test_per_unit_decimal_stays_exact() -> None:
    terms = price_terms(stored(unit_amount_decimal="0.0125"))
    assert amount_for_quantity(terms, 3) == Fraction(375, 10000)


@pytest.mark.parametrize(
    ("quantity", "cents"), [(1, 700), (5, 3500), (6, 4150), (10, 6750), (20, 12750), (25, 15750)]
)
def test_graduated(quantity: int, cents: int) -> None:
    terms = price_terms(stored(billing_scheme="tiered", tiers_mode="graduated", tiers=FONT_TIERS))
    assert amount_for_quantity(terms, quantity) == cents


@pytest.mark.parametrize(
    ("quantity", "cents"), [(1, 700), (5, 3500), (6, 3900), (20, 12000), (25, 15000)]
)
def test_volume(quantity: int, cents: int) -> None:
    terms = price_terms(stored(billing_scheme="tiered", tiers_mode="volume", tiers=FONT_TIERS))
    assert amount_for_quantity(terms, quantity) == cents


def test_flat_amounts() -> None:
    # Stripe's flat-fee example: 0-5 units for a flat 20 USD, then 2 USD per unit.
    tiers = [
        {"up_to": 5, "unit_amount_decimal": None, "flat_amount_decimal": "2000"},
        {"up_to": None, "unit_amount_decimal": "200", "flat_amount_decimal": None},
    ]
    terms = price_terms(stored(billing_scheme="tiered", tiers_mode="graduated", tiers=tiers))
    assert amount_for_quantity(terms, 5) == 2000
    assert amount_for_quantity(terms, 8) == 2600


@pytest.mark.parametrize(("rounding", "quantity", "cents"), [("up", 11, 1000), ("down", 11, 500)])
def test_transform_quantity(rounding: str, quantity: int, cents: int) -> None:
    # Stripe's example: 5 USD per package of 10 units.
    terms = price_terms(
        stored(unit_amount_decimal="500", transform_quantity={"divide_by": 10, "round": rounding})
    )
    assert terms.transform_quantity == TransformQuantity(divide_by=10, round=rounding)  # type: ignore[arg-type]
    assert amount_for_quantity(terms, quantity) == cents


@pytest.mark.parametrize(
    ("text", "canonical", "whole"),
    [
        ("1000", "1000", 1000),
        ("1000.00", "1000", 1000),
        ("12.50", "12.5", None),
        ("0", "0", 0),
        ("0.000", "0", 0),
        ("0.000000000001", "0.000000000001", None),
        ("99999999.999999999999", "99999999.999999999999", None),
    ],
)
def test_decimal_text(text: str, canonical: str, whole: int | None) -> None:
    assert decimal_text(Decimal(text)) == canonical
    assert integer_amount(canonical) == whole


@pytest.mark.parametrize(
    ("text", "value"),
    [("12.5", "12.5"), ("1E-7", "0.0000001"), ("1E-12", "0.000000000001"), ("1E+3", "1000")],
)
def test_parse_amount_text_accepts_what_the_sdk_sends(text: str, value: str) -> None:
    assert parse_amount_text(text) == Decimal(value)


@pytest.mark.parametrize(
    "text", ["1E-13", "-1", "-1E-3", "1e", "NaN", "Infinity", "", "1.0000000000001"]
)
def test_parse_amount_text_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_amount_text(text)
