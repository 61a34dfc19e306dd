"""The integer fast paths give exactly what the Fraction arithmetic they replace gives.

Each reference below is the code as it was before the fast path: Fractions made and
rounded with `round_half_up`. Hypothesis draws amounts (credits too), percentages with up
to four decimals and sets of rates, and the results must be equal, not just close.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from recur.domain.clock import from_unix, to_unix
from recur.domain.discounts import CouponTerms, discount_amounts
from recur.domain.money import (
    decimal_to_fraction,
    percent_ratio,
    round_half_up,
    round_ratio_half_up,
)
from recur.domain.tax import TaxAmount, TaxRateTerms, tax_for_line

amounts = st.integers(min_value=-(10**12), max_value=10**12)
percentages = st.decimals(
    min_value=Decimal(0), max_value=Decimal(100), places=4, allow_nan=False, allow_infinity=False
)
positive_percentages = percentages.filter(lambda p: p > 0)


def reference_round(value: Fraction) -> int:
    magnitude = (2 * abs(value.numerator) + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


@given(amounts, st.integers(min_value=1, max_value=10**9))
def test_ratio_rounding_is_round_half_up_of_the_fraction(numerator: int, denominator: int) -> None:
    exact = Fraction(numerator, denominator)
    assert round_ratio_half_up(numerator, denominator) == reference_round(exact)
    assert round_half_up(exact) == reference_round(exact)
    # Any common multiple rounds the same (no gcd needed).
    assert round_ratio_half_up(numerator * 7, denominator * 7) == reference_round(exact)


def test_halves_go_away_from_zero() -> None:
    assert [round_ratio_half_up(n, 2) for n in (5, -5, 3, -3, 1, -1)] == [3, -3, 2, -2, 1, -1]
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Decimal("2.5")) == 3
    assert round_half_up(7) == 7


@given(percentages)
def test_percent_ratio_is_the_percentage_over_a_hundred(percent: Decimal) -> None:
    numerator, denominator = percent_ratio(percent)
    assert Fraction(numerator, denominator) == decimal_to_fraction(percent) / 100
    assert denominator > 0


@given(st.lists(amounts, min_size=1, max_size=6), positive_percentages, st.data())
def test_percent_discounts_match_the_fraction_arithmetic(
    lines: list[int], percent: Decimal, data: st.DataObject
) -> None:
    eligible = data.draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
    coupon = CouponTerms(percent_off=percent, amount_off=None, currency=None, duration="forever")
    share = decimal_to_fraction(percent) / 100
    expected = [
        reference_round(a * share) if ok else 0 for a, ok in zip(lines, eligible, strict=True)
    ]
    assert discount_amounts(lines, coupon, eligible) == expected


def reference_tax(amount: int, rates: list[TaxRateTerms]) -> tuple[tuple[TaxAmount, ...], int]:
    inclusive_sum = sum(
        (decimal_to_fraction(r.percentage) for r in rates if r.inclusive), Fraction(0)
    )
    inclusive_taxes = {
        r.id: reference_round(amount * decimal_to_fraction(r.percentage) / (100 + inclusive_sum))
        for r in rates
        if r.inclusive
    }
    net = amount - sum(inclusive_taxes.values())
    entries = []
    for rate in rates:
        if rate.inclusive:
            tax = inclusive_taxes[rate.id]
        else:
            tax = reference_round(net * decimal_to_fraction(rate.percentage) / 100)
        entries.append(TaxAmount(tax, rate.inclusive, rate.id, net))
    return tuple(entries), net


@given(amounts, st.lists(st.tuples(percentages, st.booleans()), max_size=5))
def test_line_taxes_match_the_fraction_arithmetic(
    amount: int, terms: list[tuple[Decimal, bool]]
) -> None:
    rates = [
        TaxRateTerms(id=f"txr_{i}", percentage=p, inclusive=inclusive)
        for i, (p, inclusive) in enumerate(terms)
    ]
    result = tax_for_line(amount, rates)
    entries, net = reference_tax(amount, rates)
    assert result.tax_amounts == entries
    assert result.taxable_amount == net
    assert result.exclusive_tax == sum(e.amount for e in entries if not e.inclusive)
    assert result.inclusive_tax == sum(e.amount for e in entries if e.inclusive)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
    )
)
def test_unix_time_of_any_aware_datetime(moment: datetime) -> None:
    exact = moment.astimezone(UTC).replace(microsecond=0)
    expected = (exact - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)
    assert to_unix(moment) == expected
    assert to_unix(from_unix(expected)) == expected
