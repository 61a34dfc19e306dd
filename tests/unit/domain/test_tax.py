"""Tax arithmetic per line: exclusive on top, inclusive contained, rounded once per rate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recur.domain.tax import TaxAmount, TaxRateTerms, tax_for_line


def rate(rate_id: str, p: str, inclusive: bool) -> TaxRateTerms:
    return TaxRateTerms(rate_id, Decimal(p), inclusive)


def test_exclusive_rate_adds_tax_on_top() -> None:
    result = tax_for_line(1000, [rate("txr_vat", "19", False)])
    assert result.tax_amounts == (TaxAmount(190, False, "txr_vat", 1000),)
    assert result.exclusive_tax == 190
    assert result.inclusive_tax == 0
    assert result.taxable_amount == 1000


def test_exclusive_rates_round_half_up_each() -> None:
    # 8.875 % of 1000 = 88.75 → 89; 0.05 % of 1000 = 0.5 → 1.
    result = tax_for_line(1000, [rate("txr_ny", "8.875", False), rate("txr_x", "0.05", False)])
    assert [t.amount for t in result.tax_amounts] == [89, 1]
    assert result.exclusive_tax == 90


def test_inclusive_rate_is_contained_in_the_amount() -> None:
    # 1190 including 19 %: net 1000, tax 190.
    result = tax_for_line(1190, [rate("txr_vat", "19", True)])
    assert result.tax_amounts == (TaxAmount(190, True, "txr_vat", 1000),)
    assert result.taxable_amount == 1000
    assert result.inclusive_tax == 190
    assert result.exclusive_tax == 0


def test_inclusive_rates_split_over_their_sum() -> None:
    # Quebec: GST 5 % + QST 9.975 % included in 1000: net = 1000 / 1.14975 = 869.75.
    # GST = 1000 * 5 / 114.975 = 43.49 → 43; QST = 1000 * 9.975 / 114.975 = 86.76 → 87.
    result = tax_for_line(1000, [rate("txr_gst", "5", True), rate("txr_qst", "9.975", True)])
    assert [t.amount for t in result.tax_amounts] == [43, 87]
    assert result.taxable_amount == 870
    assert all(t.taxable_amount == 870 for t in result.tax_amounts)
    assert result.taxable_amount + result.inclusive_tax == 1000


def test_mixed_rates_tax_exclusive_on_the_net() -> None:
    result = tax_for_line(1100, [rate("txr_in", "10", True), rate("txr_ex", "5", False)])
    assert [t.amount for t in result.tax_amounts] == [100, 50]
    assert result.taxable_amount == 1000


def test_credits_get_negative_tax() -> None:
    result = tax_for_line(-1005, [rate("txr_ex", "10", False)])
    # -100.5 → -101 (half away from zero, as for charges).
    assert result.tax_amounts[0].amount == -101
    assert result.tax_amounts[0].taxable_amount == -1005


def test_no_rates_no_tax() -> None:
    result = tax_for_line(1234, [])
    assert result.tax_amounts == ()
    assert result.taxable_amount == 1234


def test_zero_percent_rate_is_reported() -> None:
    result = tax_for_line(1000, [rate("txr_zero", "0", False)])
    assert result.tax_amounts == (TaxAmount(0, False, "txr_zero", 1000),)


def test_rate_given_twice_is_refused() -> None:
    with pytest.raises(ValueError):
        tax_for_line(100, [rate("txr_a", "5", False), rate("txr_a", "5", False)])


def test_percentage_must_be_within_bounds() -> None:
    with pytest.raises(ValueError):
        rate("txr_a", "100.0001", False)
    with pytest.raises(ValueError):
        rate("txr_a", "-1", False)


percentages = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=4)


@given(
    st.integers(min_value=-(10**9), max_value=10**9),
    st.lists(st.tuples(percentages, st.booleans()), max_size=5),
)
def test_inclusive_taxes_and_net_add_up_to_the_amount(
    amount: int, specs: list[tuple[Decimal, bool]]
) -> None:
    rates = [TaxRateTerms(f"txr_{i}", p, inc) for i, (p, inc) in enumerate(specs)]
    result = tax_for_line(amount, rates)
    assert result.taxable_amount + result.inclusive_tax == amount
    assert len(result.tax_amounts) == len(rates)
    inclusive_sum = sum((p for p, inc in specs if inc), Decimal(0))
    for entry, (p, inc) in zip(result.tax_amounts, specs, strict=True):
        assert entry.inclusive is inc
        assert entry.taxable_amount == result.taxable_amount
        if inc:
            exact = Decimal(amount) * p / (100 + inclusive_sum)
        else:
            exact = Decimal(result.taxable_amount) * p / 100
        assert abs(Decimal(entry.amount) - exact) <= Decimal("0.5")
        # Tax has the sign of the amount.
        assert entry.amount * amount >= 0


@given(st.integers(min_value=0, max_value=10**9), percentages)
def test_exclusive_tax_grows_with_the_amount(amount: int, p: Decimal) -> None:
    low = tax_for_line(amount, [TaxRateTerms("txr", p, False)]).exclusive_tax
    high = tax_for_line(amount + 1, [TaxRateTerms("txr", p, False)]).exclusive_tax
    assert low <= high
