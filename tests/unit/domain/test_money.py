from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recur.domain.errors import InvalidRequest
from recur.domain.money import (
    CURRENCY_EXPONENTS,
    currency_exponent,
    decimal_to_fraction,
    format_amount,
    is_valid_currency,
    parse_decimal_amount,
    round_half_up,
)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("usd", 2), ("EUR", 2), ("jpy", 0), ("KRW", 0), ("xof", 0), ("kwd", 3), ("BHD", 3)],
)
def test_currency_exponent(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


def test_exponent_table_agrees_with_function() -> None:
    assert len(CURRENCY_EXPONENTS) >= 150
    for code, exponent in CURRENCY_EXPONENTS.items():
        assert currency_exponent(code) == exponent


@pytest.mark.parametrize("currency", ["usd", "eur", "jpy", "kwd", "gbp", "chf"])
def test_known_currencies_are_valid(currency: str) -> None:
    assert is_valid_currency(currency)


@pytest.mark.parametrize("currency", ["USD", "us", "usdd", "xyz", "", "eur "])
def test_unknown_or_uppercase_currencies_are_invalid(currency: str) -> None:
    assert not is_valid_currency(currency)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(5, 2), 3),
        (Fraction(-5, 2), -3),
        (Fraction(3, 2), 2),
        (Fraction(-3, 2), -2),
        (Fraction(249, 100), 2),
        (Fraction(-249, 100), -2),
        (Fraction(1, 3), 0),
        (Fraction(2, 3), 1),
        (Decimal("2.5"), 3),
        (Decimal("-2.5"), -3),
        (Decimal("0.4999999999999"), 0),
        (7, 7),
        (-7, -7),
        (0, 0),
    ],
)
def test_round_half_up(value: Fraction | Decimal | int, expected: int) -> None:
    assert round_half_up(value) == expected


@pytest.mark.parametrize("value", [2.5, True, "2.5", None])
def test_round_half_up_rejects_inexact_and_non_numbers(value: object) -> None:
    with pytest.raises(TypeError):
        round_half_up(value)  # type: ignore[arg-type]


@given(st.fractions(max_denominator=10_000).filter(lambda f: abs(f) < 10**12))
def test_round_half_up_agrees_with_decimal_quantize(value: Fraction) -> None:
    # A denominator up to 10**4 fits exactly in 40 digits of decimal division here.
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    if Fraction(exact) == value:
        expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        assert round_half_up(value) == expected
    assert abs(round_half_up(value) - value) <= Fraction(1, 2)


@given(st.decimals(places=6, min_value=-(10**9), max_value=10**9))
def test_round_half_up_decimal_agrees_with_quantize(value: Decimal) -> None:
    assert round_half_up(value) == int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_decimal_to_fraction_is_exact() -> None:
    assert decimal_to_fraction(Decimal("0.1")) == Fraction(1, 10)
    assert decimal_to_fraction(Decimal("123.456789012345")) == Fraction(123456789012345, 10**12)
    with pytest.raises(ValueError):
        decimal_to_fraction(Decimal("NaN"))


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (123456, "usd", "1,234.56 USD"),
        (500, "jpy", "500 JPY"),
        (1234, "kwd", "1.234 KWD"),
        (5, "eur", "0.05 EUR"),
        (0, "usd", "0.00 USD"),
        (-123456, "usd", "-1,234.56 USD"),
        (-5, "eur", "-0.05 EUR"),
        (-1234567, "jpy", "-1,234,567 JPY"),
        (100000000, "gbp", "1,000,000.00 GBP"),
    ],
)
def test_format_amount(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", Decimal(0)),
        ("12", Decimal(12)),
        ("12.5", Decimal("12.5")),
        ("0.123456789012", Decimal("0.123456789012")),
        (".5", Decimal("0.5")),
    ],
)
def test_parse_decimal_amount(text: str, value: Decimal) -> None:
    assert parse_decimal_amount(text) == value


@pytest.mark.parametrize(
    "text",
    [
        *("", "-1", "+1", "1e3", "abc", "1.", "0.1234567890123", "NaN", "Infinity", " 1", "1,5"),
        "\u0661",  # an Arabic-Indic digit, which Decimal() would accept
    ],
)
def test_parse_decimal_amount_rejects(text: str) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        parse_decimal_amount(text)
    assert excinfo.value.param is None
