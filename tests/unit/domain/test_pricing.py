from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recur.domain.errors import InvalidRequest
from recur.domain.money import round_half_up
from recur.domain.pricing import (
    PriceTerms,
    Tier,
    TransformQuantity,
    amount_for_quantity,
    transformed_quantity,
    validate_tiers,
)


def tier(up_to: int | None, unit: str | None = None, flat: str | None = None) -> Tier:
    return Tier(
        up_to=up_to,
        unit_amount=None if unit is None else Decimal(unit),
        flat_amount=None if flat is None else Decimal(flat),
    )


# Stripe's "Set up tiered pricing" guide (Typographic fonts): 1-5 at 7 USD, 6-10 at 6.50 USD,
# 11+ at 6 USD, in cents.
FONT_TIERS = (tier(5, "700"), tier(10, "650"), tier(None, "600"))
VOLUME = PriceTerms(billing_scheme="tiered", tiers_mode="volume", tiers=FONT_TIERS)
GRADUATED = PriceTerms(billing_scheme="tiered", tiers_mode="graduated", tiers=FONT_TIERS)


@pytest.mark.parametrize(
    ("quantity", "cents"), [(1, 700), (5, 3500), (6, 3900), (20, 12000), (25, 15000)]
)
def test_stripe_volume_example(quantity: int, cents: int) -> None:
    assert amount_for_quantity(VOLUME, quantity) == cents


@pytest.mark.parametrize(
    ("quantity", "cents"), [(1, 700), (5, 3500), (6, 4150), (10, 6750), (20, 12750), (25, 15750)]
)
def test_stripe_graduated_example(quantity: int, cents: int) -> None:
    assert amount_for_quantity(GRADUATED, quantity) == cents


def test_per_unit_with_decimal_unit_amount_is_exact() -> None:
    terms = PriceTerms(billing_scheme="per_unit", unit_amount=Decimal("0.333333333333"))
    amount = amount_for_quantity(terms, 3)
    assert amount == Fraction(999999999999, 10**12)
    assert round_half_up(amount) == 1
    assert amount_for_quantity(terms, 0) == 0


def test_per_unit_integer() -> None:
    terms = PriceTerms(billing_scheme="per_unit", unit_amount=Decimal(1000))
    assert amount_for_quantity(terms, 7) == 7000


@pytest.mark.parametrize(
    ("rounding", "quantity", "packages"),
    [("up", 0, 0), ("up", 1, 1), ("up", 10, 1), ("up", 11, 2), ("down", 9, 0), ("down", 21, 2)],
)
def test_transform_quantity(rounding: str, quantity: int, packages: int) -> None:
    transform = TransformQuantity(divide_by=10, round=rounding)  # type: ignore[arg-type]
    assert transformed_quantity(transform, quantity) == packages
    terms = PriceTerms(
        billing_scheme="per_unit", unit_amount=Decimal(500), transform_quantity=transform
    )
    assert amount_for_quantity(terms, quantity) == 500 * packages


def test_volume_flat_amounts() -> None:
    terms = PriceTerms(
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=(tier(10, "100", "1000"), tier(None, "50", "2000")),
    )
    assert amount_for_quantity(terms, 10) == 10 * 100 + 1000
    assert amount_for_quantity(terms, 11) == 11 * 50 + 2000


def test_graduated_flat_amount_applies_once_a_unit_falls_in_the_tier() -> None:
    # A base fee with included units, then overage: "fixed fee and overage".
    terms = PriceTerms(
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=(tier(100, flat="20000"), tier(None, unit="0.1", flat="500")),
    )
    assert amount_for_quantity(terms, 1) == 20000
    assert amount_for_quantity(terms, 100) == 20000
    assert amount_for_quantity(terms, 101) == Fraction(20000) + Fraction(1, 10) + 500
    assert amount_for_quantity(terms, 1100) == 20000 + 100 + 500


@pytest.mark.parametrize("terms", [VOLUME, GRADUATED])
def test_quantity_zero_bills_nothing_even_with_flat_amounts(terms: PriceTerms) -> None:
    with_flat = PriceTerms(
        billing_scheme="tiered",
        tiers_mode=terms.tiers_mode,
        tiers=(tier(5, "700", "999"), tier(None, "600", "111")),
    )
    assert amount_for_quantity(with_flat, 0) == 0
    assert amount_for_quantity(terms, 0) == 0


def test_negative_quantity_is_refused() -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        amount_for_quantity(GRADUATED, -1)
    assert excinfo.value.param == "quantity"


@pytest.mark.parametrize(
    ("tiers", "param"),
    [
        ((), "tiers"),
        ((tier(5, "1"),), "tiers[0][up_to]"),
        ((tier(5, "1"), tier(5, "1"), tier(None, "1")), "tiers[1][up_to]"),
        ((tier(5, "1"), tier(3, "1"), tier(None, "1")), "tiers[1][up_to]"),
        ((tier(None, "1"), tier(None, "1")), "tiers[0][up_to]"),
        ((tier(0, "1"), tier(None, "1")), "tiers[0][up_to]"),
        ((tier(5, "1"), tier(None)), "tiers[1]"),
        ((tier(5, "-1"), tier(None, "1")), "tiers[0][unit_amount]"),
        ((tier(5, "1"), tier(None, "1", "NaN")), "tiers[1][flat_amount]"),
    ],
)
def test_validate_tiers_rejects(tiers: tuple[Tier, ...], param: str) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        validate_tiers(tiers)
    assert excinfo.value.param == param


def test_validate_tiers_accepts_zero_amounts_and_a_single_tier() -> None:
    validate_tiers((tier(10, "0"), tier(None, "5")))
    validate_tiers((tier(None, flat="100"),))


amounts = st.decimals(min_value=0, max_value=100_000, places=4)
tier_lists = st.lists(
    st.tuples(st.integers(min_value=1, max_value=50), st.none() | amounts, st.none() | amounts),
    min_size=1,
    max_size=6,
).map(
    lambda rows: tuple(
        Tier(
            up_to=None if i == len(rows) - 1 else sum(r[0] for r in rows[: i + 1]),
            unit_amount=unit if unit is not None or flat is not None else Decimal(0),
            flat_amount=flat,
        )
        for i, (_, unit, flat) in enumerate(rows)
    )
)


@given(tier_lists, st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=50))
def test_graduated_is_monotone_in_quantity(tiers: tuple[Tier, ...], q: int, extra: int) -> None:
    terms = PriceTerms(billing_scheme="tiered", tiers_mode="graduated", tiers=tiers)
    assert amount_for_quantity(terms, q) <= amount_for_quantity(terms, q + extra)


@given(tier_lists, st.integers(min_value=1, max_value=500))
def test_graduated_without_flat_amounts_equals_unit_by_unit_sum(
    tiers: tuple[Tier, ...], q: int
) -> None:
    unit_only = tuple(Tier(t.up_to, t.unit_amount or Decimal(0), None) for t in tiers)
    terms = PriceTerms(billing_scheme="tiered", tiers_mode="graduated", tiers=unit_only)

    def unit_price(k: int) -> Fraction:
        for t in unit_only:
            if t.up_to is None or k <= t.up_to:
                return Fraction(t.unit_amount or 0)
        raise AssertionError

    assert amount_for_quantity(terms, q) == sum(unit_price(k) for k in range(1, q + 1))


@given(tier_lists, st.integers(min_value=1, max_value=500))
def test_volume_with_one_tier_matches_graduated(tiers: tuple[Tier, ...], q: int) -> None:
    last = Tier(None, tiers[-1].unit_amount, tiers[-1].flat_amount)
    volume = PriceTerms(billing_scheme="tiered", tiers_mode="volume", tiers=(last,))
    graduated = PriceTerms(billing_scheme="tiered", tiers_mode="graduated", tiers=(last,))
    assert amount_for_quantity(volume, q) == amount_for_quantity(graduated, q)
