"""Discount arithmetic: percent and amount off per line, and how long a discount lasts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recur.domain.clock import utc
from recur.domain.discounts import (
    CouponTerms,
    allocate,
    discount_active,
    discount_amounts,
    discount_end,
)


def percent(p: str) -> CouponTerms:
    return CouponTerms(percent_off=Decimal(p), amount_off=None, currency=None, duration="forever")


def amount(a: int) -> CouponTerms:
    return CouponTerms(percent_off=None, amount_off=a, currency="usd", duration="once")


# --- CouponTerms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"percent_off": None, "amount_off": None, "currency": None},
        {"percent_off": Decimal(10), "amount_off": 100, "currency": "usd"},
        {"percent_off": Decimal(0), "amount_off": None, "currency": None},
        {"percent_off": Decimal("100.01"), "amount_off": None, "currency": None},
        {"percent_off": None, "amount_off": 0, "currency": "usd"},
        {"percent_off": None, "amount_off": 100, "currency": None},
    ],
)
def test_coupon_terms_refuse_inconsistent_amounts(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CouponTerms(duration="once", **kwargs)  # type: ignore[arg-type]


def test_duration_in_months_goes_with_repeating_only() -> None:
    with pytest.raises(ValueError):
        CouponTerms(Decimal(10), None, None, "repeating")
    with pytest.raises(ValueError):
        CouponTerms(Decimal(10), None, None, "forever", duration_in_months=3)
    CouponTerms(Decimal(10), None, None, "repeating", duration_in_months=3)


def test_applies_to_products() -> None:
    everything = percent("10")
    assert everything.applies_to_product("prod_a") and everything.applies_to_product(None)
    restricted = CouponTerms(
        Decimal(10), None, None, "once", applies_to_products=frozenset({"prod_a"})
    )
    assert restricted.applies_to_product("prod_a")
    assert not restricted.applies_to_product("prod_b")
    assert not restricted.applies_to_product(None)


# --- percent off ---------------------------------------------------------------------------


def test_percent_off_rounds_once_per_line_half_up() -> None:
    # 12.5 % of 1004 = 125.5 → 126; of 1003 = 125.375 → 125; of 4 = 0.5 → 1.
    assert discount_amounts([1004, 1003, 4], percent("12.5"), [True, True, True]) == [126, 125, 1]


def test_percent_off_skips_ineligible_lines() -> None:
    assert discount_amounts([1000, 2000], percent("25"), [False, True]) == [0, 500]


def test_percent_off_on_a_credit_shrinks_the_credit() -> None:
    # A proration credit for time on a discounted plan is discounted by the same share.
    assert discount_amounts([-1001, 2000], percent("50"), [True, True]) == [-501, 1000]


def test_hundred_percent_takes_everything() -> None:
    assert discount_amounts([999, 1], percent("100"), [True, True]) == [999, 1]


# --- amount off ----------------------------------------------------------------------------


def test_amount_off_is_spread_proportionally() -> None:
    # 1000 over 3000 : 1000 → 750 and 250.
    assert discount_amounts([3000, 1000], amount(1000), [True, True]) == [750, 250]


def test_amount_off_largest_remainder_gives_leftover_units() -> None:
    # 100 over three equal lines: 33.33 each; the one unit left goes to the first (tie).
    assert discount_amounts([500, 500, 500], amount(100), [True, True, True]) == [34, 33, 33]
    # 10 over 1, 2, 7 (total 10): exact.
    assert discount_amounts([1, 2, 7], amount(10), [True, True, True]) == [1, 2, 7]
    # 5 over 3 and 3: 2.5 each, tie to the first.
    assert discount_amounts([3, 3], amount(5), [True, True]) == [3, 2]


def test_amount_off_is_capped_at_the_eligible_total() -> None:
    assert discount_amounts([300, 200, 900], amount(5000), [True, True, False]) == [300, 200, 0]


def test_amount_off_ignores_credits_and_ineligible_lines() -> None:
    assert discount_amounts([-500, 1000, 1000], amount(600), [True, True, False]) == [0, 600, 0]


def test_amount_off_with_nothing_eligible() -> None:
    assert discount_amounts([1000], amount(100), [False]) == [0]
    assert discount_amounts([], amount(100), []) == []


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError):
        discount_amounts([1, 2], amount(1), [True])


def test_allocate_refuses_negative_input() -> None:
    with pytest.raises(ValueError):
        allocate(-1, [1])
    with pytest.raises(ValueError):
        allocate(1, [-1, 2])
    with pytest.raises(ValueError):
        allocate(1, [0, 0])


lines = st.lists(st.integers(min_value=-100_000, max_value=10_000_000), max_size=12)


@given(
    st.data(),
    lines,
    st.integers(min_value=1, max_value=50_000_000),
)
def test_amount_off_parts_sum_exactly_and_never_exceed_a_line(
    data: st.DataObject, amounts: list[int], off: int
) -> None:
    eligible = data.draw(st.lists(st.booleans(), min_size=len(amounts), max_size=len(amounts)))
    parts = discount_amounts(amounts, amount(off), eligible)
    eligible_total = sum(a for a, ok in zip(amounts, eligible, strict=True) if ok and a > 0)
    assert sum(parts) == min(off, eligible_total)
    for part, line, ok in zip(parts, amounts, eligible, strict=True):
        assert 0 <= part <= max(line, 0)
        if not ok:
            assert part == 0


@given(
    lines,
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
)
def test_percent_off_is_within_the_line_and_rounded_once(amounts: list[int], p: Decimal) -> None:
    parts = discount_amounts(amounts, percent(str(p)), [True] * len(amounts))
    for part, line in zip(parts, amounts, strict=True):
        assert abs(part) <= abs(line)
        assert (part >= 0) == (line >= 0) or part == 0
        exact = Decimal(line) * p / 100
        assert abs(Decimal(part) - exact) <= Decimal("0.5")


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=10),
)
def test_allocate_sums_and_stays_proportional(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        total = 0
    parts = allocate(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        if weight_sum:
            # Every part is within one unit of its exact share.
            assert abs(part * weight_sum - total * weight) < weight_sum


# --- duration ------------------------------------------------------------------------------


def test_repeating_counts_months_from_the_start_with_the_month_end_rule() -> None:
    start = utc(2024, 1, 31, 12)
    assert discount_end("repeating", 1, start) == utc(2024, 2, 29, 12)
    assert discount_end("repeating", 3, start) == utc(2024, 4, 30, 12)
    assert discount_active("repeating", 3, start, utc(2024, 4, 30, 11, 59, 59))
    assert not discount_active("repeating", 3, start, utc(2024, 4, 30, 12))


def test_three_month_coupon_covers_three_monthly_invoices() -> None:
    start = utc(2025, 1, 15)
    invoices = [utc(2025, m, 15) for m in range(1, 7)]
    covered = [discount_active("repeating", 3, start, at) for at in invoices]
    assert covered == [True, True, True, False, False, False]


def test_forever_and_once_have_no_end_by_time() -> None:
    start = utc(2025, 1, 1)
    assert discount_end("forever", None, start) is None
    assert discount_end("once", None, start) is None
    assert discount_active("forever", None, start, utc(2099, 1, 1))
    assert discount_active("once", None, start, start)


def test_nothing_is_active_before_the_start() -> None:
    assert not discount_active("forever", None, utc(2025, 1, 2), utc(2025, 1, 1))


def test_repeating_needs_months() -> None:
    with pytest.raises(ValueError):
        discount_end("repeating", None, utc(2025, 1, 1))
