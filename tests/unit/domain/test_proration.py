"""Proration lines: Stripe's worked examples, unchanged items, and exactness properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from recur.domain.clock import utc
from recur.domain.periods import proration_factor
from recur.domain.proration import ProratedItem, difference_line, proration_lines

JAN, FEB = utc(2024, 1, 1), utc(2024, 1, 31)  # a 30-day period
HALF = JAN + (FEB - JAN) / 2
TIMES = "\N{MULTIPLICATION SIGN}"  # Stripe's line descriptions use it
GOLD = f"1 {TIMES} Gold (at €10.00 / month)"


def item(
    amount: Fraction | int, price: str = "price_a", quantity: int = 1, si: str | None = "si_1"
) -> ProratedItem:
    return ProratedItem(
        unit_amount_for_quantity=Fraction(amount),
        description=f"{quantity} {TIMES} Gold (at €10.00 / month)",
        price_id=price,
        product_id="prod_gold",
        quantity=quantity,
        subscription_item_id=si,
    )


def test_upgrade_half_way_credits_half_and_charges_half() -> None:
    lines = proration_lines(
        [item(1000)], [item(2000, "price_b")], period_start=JAN, period_end=FEB, at=HALF
    )
    assert [line.amount for line in lines] == [-500, 1000]
    credit, debit = lines
    assert credit.description == f"Unused time on {GOLD} after 16 Jan 2024"
    assert debit.description == f"Remaining time on {GOLD} after 16 Jan 2024"
    for line in lines:
        assert line.proration
        assert (line.period_start, line.period_end) == (HALF, FEB)
        assert line.price_id in ("price_a", "price_b")
        assert line.subscription_item_id == "si_1"
        assert line.kind == "invoiceitem"


def test_dodo_example_30_to_80_with_15_of_30_days_left() -> None:
    at = FEB - timedelta(days=15)
    lines = proration_lines(
        [item(30)], [item(80, "price_b")], period_start=JAN, period_end=FEB, at=at
    )
    assert [line.amount for line in lines] == [-15, 40]
    assert sum(line.amount for line in lines) == 25
    difference = difference_line(
        Fraction(30), Fraction(80), description="Gold", at=at, period_end=FEB
    )
    assert difference.amount == 50
    assert difference.description == "Change to Gold after 16 Jan 2024"
    assert difference.proration
    assert (
        difference_line(
            Fraction(80), Fraction(30), description="Gold", at=at, period_end=FEB
        ).amount
        == -50
    )


def test_adding_three_seats_half_way() -> None:
    lines = proration_lines(
        [item(10, quantity=1)], [item(40, quantity=4)], period_start=JAN, period_end=FEB, at=HALF
    )
    assert sum(line.amount for line in lines) == 15
    assert [line.quantity for line in lines] == [1, 4]


def test_unchanged_items_produce_no_lines() -> None:
    other = item(700, "price_c", si="si_2")
    lines = proration_lines(
        [item(1000), other],
        [item(2000, "price_b"), other],
        period_start=JAN,
        period_end=FEB,
        at=HALF,
    )
    assert [line.amount for line in lines] == [-500, 1000]
    assert proration_lines([other], [other], period_start=JAN, period_end=FEB, at=HALF) == []


def test_same_price_other_quantity_is_a_change() -> None:
    lines = proration_lines(
        [item(10, quantity=1)], [item(20, quantity=2)], period_start=JAN, period_end=FEB, at=HALF
    )
    assert [line.amount for line in lines] == [-5, 10]


def test_change_at_or_after_period_end_produces_nothing() -> None:
    for at in (FEB, FEB + timedelta(days=1)):
        assert (
            proration_lines(
                [item(1000)], [item(2000, "price_b")], period_start=JAN, period_end=FEB, at=at
            )
            == []
        )


def test_change_before_period_start_prorates_the_whole_period() -> None:
    lines = proration_lines(
        [item(1000)],
        [item(2000, "price_b")],
        period_start=JAN,
        period_end=FEB,
        at=JAN - timedelta(days=3),
    )
    assert [line.amount for line in lines] == [-1000, 2000]
    assert lines[0].period_start == JAN


def test_half_unit_rounds_away_from_zero_both_ways() -> None:
    lines = proration_lines(
        [item(1)], [item(3, "price_b")], period_start=JAN, period_end=FEB, at=HALF
    )
    assert [line.amount for line in lines] == [-1, 2]


moments = st.integers(min_value=0, max_value=30 * 86_400).map(lambda s: JAN + timedelta(seconds=s))
amounts = st.fractions(min_value=0, max_value=10_000_000, max_denominator=1000)


@given(amounts, moments)
def test_credit_and_debit_of_the_same_item_cancel(amount: Fraction, at: datetime) -> None:
    credit = proration_lines([item(amount)], [], period_start=JAN, period_end=FEB, at=at)
    debit = proration_lines([], [item(amount)], period_start=JAN, period_end=FEB, at=at)
    assert sum(line.amount for line in credit + debit) == 0
    assert len(credit) == len(debit)


@given(amounts, moments, moments)
def test_credits_over_split_periods_agree(amount: Fraction, t1: datetime, t2: datetime) -> None:
    t1, t2 = min(t1, t2), max(t1, t2)
    f1, f2 = proration_factor(JAN, FEB, t1), proration_factor(JAN, FEB, t2)
    assert f1 - f2 == Fraction(int((t2 - t1).total_seconds()), int((FEB - JAN).total_seconds()))

    def credit(at: datetime) -> int:
        lines = proration_lines([item(amount)], [], period_start=JAN, period_end=FEB, at=at)
        return sum(line.amount for line in lines)

    # The credit for [t1, t2] is the exact share of the period; at t1 it equals the credit at
    # t2 plus that share, within one minor unit per rounded line.
    between = -amount * (f1 - f2)
    assert abs(credit(t1) - (credit(t2) + between)) <= 1
    assert abs(credit(t1) + amount * f1) <= Fraction(1, 2)


def test_factor_is_exact_for_uneven_periods() -> None:
    start = datetime(2024, 2, 1, tzinfo=UTC)
    end = datetime(2024, 3, 1, tzinfo=UTC)
    at = start + timedelta(days=10, seconds=1)
    lines = proration_lines([item(2900)], [], period_start=start, period_end=end, at=at)
    assert proration_factor(start, end, at) == Fraction(19 * 86_400 - 1, 29 * 86_400)
    assert lines[0].amount == -1900
