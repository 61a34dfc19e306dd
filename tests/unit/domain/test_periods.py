import calendar
import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from recur.domain.clock import utc
from recur.domain.errors import InvalidRequest
from recur.domain.periods import (
    Interval,
    add_intervals,
    next_anchor_from_config,
    period_containing,
    period_index_at,
    proration_factor,
)

moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda dt: dt.replace(microsecond=0))
intervals = st.sampled_from(["day", "week", "month", "year"])
counts = st.integers(min_value=1, max_value=12)


def test_month_end_anchor_through_a_leap_year() -> None:
    anchor = utc(2024, 1, 31, 9, 30)
    boundaries = [add_intervals(anchor, "month", 1, n) for n in range(14)]
    assert boundaries == [
        utc(2024, 1, 31, 9, 30),
        utc(2024, 2, 29, 9, 30),
        utc(2024, 3, 31, 9, 30),
        utc(2024, 4, 30, 9, 30),
        utc(2024, 5, 31, 9, 30),
        utc(2024, 6, 30, 9, 30),
        utc(2024, 7, 31, 9, 30),
        utc(2024, 8, 31, 9, 30),
        utc(2024, 9, 30, 9, 30),
        utc(2024, 10, 31, 9, 30),
        utc(2024, 11, 30, 9, 30),
        utc(2024, 12, 31, 9, 30),
        utc(2025, 1, 31, 9, 30),
        utc(2025, 2, 28, 9, 30),
    ]


def test_month_end_anchor_in_a_common_year() -> None:
    anchor = utc(2023, 1, 31)
    assert add_intervals(anchor, "month", 1, 1) == utc(2023, 2, 28)
    assert add_intervals(anchor, "month", 1, 2) == utc(2023, 3, 31)


def test_day_30_anchor_keeps_its_day_after_february() -> None:
    anchor = utc(2023, 1, 30)
    assert add_intervals(anchor, "month", 1, 1) == utc(2023, 2, 28)
    assert add_intervals(anchor, "month", 1, 2) == utc(2023, 3, 30)


def test_yearly_leap_day_anchor() -> None:
    anchor = utc(2024, 2, 29, 12)
    assert [add_intervals(anchor, "year", 1, n) for n in range(5)] == [
        utc(2024, 2, 29, 12),
        utc(2025, 2, 28, 12),
        utc(2026, 2, 28, 12),
        utc(2027, 2, 28, 12),
        utc(2028, 2, 29, 12),
    ]
    assert add_intervals(anchor, "year", 1, -1) == utc(2023, 2, 28, 12)


def test_interval_count_three_months() -> None:
    anchor = utc(2023, 11, 30)
    assert [add_intervals(anchor, "month", 3, n) for n in range(-1, 4)] == [
        utc(2023, 8, 30),
        utc(2023, 11, 30),
        utc(2024, 2, 29),
        utc(2024, 5, 30),
        utc(2024, 8, 30),
    ]


def test_weekly_and_daily_are_exact_multiples() -> None:
    anchor = utc(2024, 6, 7, 15, 45, 10)  # a Friday
    assert add_intervals(anchor, "week", 1, 3) == anchor + timedelta(seconds=3 * 604800)
    assert add_intervals(anchor, "week", 2, 1) == utc(2024, 6, 21, 15, 45, 10)
    assert add_intervals(anchor, "week", 1, 4).weekday() == anchor.weekday()
    assert add_intervals(anchor, "day", 1, 30) == anchor + timedelta(seconds=30 * 86400)
    assert add_intervals(anchor, "day", 7, -2) == utc(2024, 5, 24, 15, 45, 10)


def test_naive_and_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        add_intervals(datetime(2024, 1, 1), "month", 1, 1)
    with pytest.raises(ValueError):
        add_intervals(utc(2024, 1, 1), "month", 0, 1)


def test_period_index_and_containing_on_month_ends() -> None:
    anchor = utc(2024, 1, 31)
    assert period_index_at(anchor, "month", 1, utc(2024, 2, 28, 23, 59, 59)) == 0
    assert period_index_at(anchor, "month", 1, utc(2024, 2, 29)) == 1
    assert period_index_at(anchor, "month", 1, utc(2024, 1, 30)) == -1
    assert period_containing(anchor, "month", 1, utc(2024, 4, 15)) == (
        utc(2024, 3, 31),
        utc(2024, 4, 30),
    )
    assert period_containing(anchor, "month", 1, utc(2024, 4, 30)) == (
        utc(2024, 4, 30),
        utc(2024, 5, 31),
    )


def test_period_containing_before_anchor_for_backdating() -> None:
    assert period_containing(utc(2024, 3, 1), "month", 1, utc(2024, 2, 15)) == (
        utc(2024, 2, 1),
        utc(2024, 3, 1),
    )


@given(moments, intervals, counts, st.integers(min_value=-60, max_value=60))
def test_add_intervals_is_strictly_increasing(
    anchor: datetime, interval: Interval, count: int, n: int
) -> None:
    assert add_intervals(anchor, interval, count, n) < add_intervals(anchor, interval, count, n + 1)


@given(moments, intervals, counts, st.integers(min_value=-60, max_value=60))
def test_period_index_inverts_add_intervals(
    anchor: datetime, interval: Interval, count: int, n: int
) -> None:
    boundary = add_intervals(anchor, interval, count, n)
    assert period_index_at(anchor, interval, count, boundary) == n
    assert period_index_at(anchor, interval, count, boundary - timedelta(seconds=1)) == n - 1


@given(moments, intervals, counts, moments)
def test_period_containing_contains_t(
    anchor: datetime, interval: Interval, count: int, t: datetime
) -> None:
    start, end = period_containing(anchor, interval, count, t)
    assert start <= t < end
    n = period_index_at(anchor, interval, count, t)
    assert start == add_intervals(anchor, interval, count, n)


@pytest.mark.parametrize(
    ("now", "kwargs", "expected"),
    [
        # The 31st in April is clamped to the month's last day.
        (utc(2024, 4, 10, 12), {"day_of_month": 31}, utc(2024, 4, 30)),
        (utc(2024, 2, 10), {"day_of_month": 31}, utc(2024, 2, 29)),
        (utc(2023, 2, 10), {"day_of_month": 30}, utc(2023, 2, 28)),
        (utc(2024, 1, 31, 10), {"day_of_month": 31, "hour": 12}, utc(2024, 1, 31, 12)),
        (utc(2024, 1, 31, 13), {"day_of_month": 31, "hour": 12}, utc(2024, 2, 29, 12)),
        (utc(2024, 12, 20), {"day_of_month": 5}, utc(2025, 1, 5)),
        (
            utc(2024, 5, 1),
            {"day_of_month": 1, "hour": 8, "minute": 30, "second": 15},
            utc(2024, 5, 1, 8, 30, 15),
        ),
        # Strictly after now: an occurrence at exactly `now` is not "next".
        (utc(2024, 4, 30), {"day_of_month": 31}, utc(2024, 5, 31)),
        (utc(2024, 5, 1), {"day_of_month": 1}, utc(2024, 6, 1)),
        # With a month (yearly prices): the next such date, day clamped, leap years honoured.
        (utc(2023, 6, 1), {"day_of_month": 29, "month": 2}, utc(2024, 2, 29)),
        (utc(2025, 3, 1), {"day_of_month": 29, "month": 2}, utc(2026, 2, 28)),
        (utc(2024, 1, 15), {"day_of_month": 31, "month": 4}, utc(2024, 4, 30)),
        (utc(2024, 4, 30, 1), {"day_of_month": 31, "month": 4}, utc(2025, 4, 30)),
    ],
)
def test_next_anchor_from_config(now: datetime, kwargs: dict[str, int], expected: datetime) -> None:
    assert next_anchor_from_config(now, **kwargs) == expected


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"day_of_month": 0}, "billing_cycle_anchor_config[day_of_month]"),
        ({"day_of_month": 32}, "billing_cycle_anchor_config[day_of_month]"),
        ({"day_of_month": 1, "hour": 24}, "billing_cycle_anchor_config[hour]"),
        ({"day_of_month": 1, "minute": 60}, "billing_cycle_anchor_config[minute]"),
        ({"day_of_month": 1, "second": -1}, "billing_cycle_anchor_config[second]"),
        ({"day_of_month": 1, "month": 13}, "billing_cycle_anchor_config[month]"),
    ],
)
def test_next_anchor_from_config_validates(kwargs: dict[str, int], param: str) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        next_anchor_from_config(utc(2024, 1, 1), **kwargs)
    assert excinfo.value.param == param


@given(moments, st.integers(min_value=1, max_value=31), st.integers(0, 23))
def test_next_anchor_is_within_a_month_and_in_the_future(
    now: datetime, day: int, hour: int
) -> None:
    anchor = next_anchor_from_config(now, day_of_month=day, hour=hour)
    assert now < anchor <= now + timedelta(days=31)
    assert anchor.day == min(day, calendar.monthrange(anchor.year, anchor.month)[1])
    assert (anchor.hour, anchor.minute, anchor.second) == (hour, 0, 0)


def test_proration_factor_worked_examples() -> None:
    start, end = utc(2024, 1, 1), utc(2024, 1, 31)
    assert proration_factor(start, end, utc(2024, 1, 16)) == Fraction(1, 2)
    assert proration_factor(start, end, start) == 1
    assert proration_factor(start, end, end) == 0
    # Clamped into the period.
    assert proration_factor(start, end, utc(2023, 12, 1)) == 1
    assert proration_factor(start, end, utc(2024, 3, 1)) == 0
    # stripe-semantics.md backdating: Feb 15 -> Mar 1 against a full Feb 15 -> Mar 15 interval.
    used = 1 - proration_factor(utc(2023, 2, 15), utc(2023, 3, 15), utc(2023, 3, 1))
    assert 2000 * used == 1000
    # Exact seconds, not days.
    assert proration_factor(start, end, utc(2024, 1, 1, 0, 0, 1)) == Fraction(
        30 * 86400 - 1, 30 * 86400
    )


def test_proration_factor_refuses_empty_period() -> None:
    with pytest.raises(ValueError):
        proration_factor(utc(2024, 1, 1), utc(2024, 1, 1), utc(2024, 1, 1))


@given(
    moments,
    st.integers(min_value=1, max_value=400 * 86400),
    st.lists(st.fractions(min_value=0, max_value=1), max_size=10),
)
def test_proration_shares_of_a_split_period_sum_to_one(
    start: datetime, length: int, cuts: list[Fraction]
) -> None:
    end = start + timedelta(seconds=length)
    points = sorted({start, end, *(start + timedelta(seconds=int(c * length)) for c in cuts)})
    factors = [proration_factor(start, end, p) for p in points]
    assert all(0 <= f <= 1 for f in factors)
    assert factors[0] == 1 and factors[-1] == 0
    shares = [a - b for a, b in itertools.pairwise(factors)]
    assert all(share >= 0 for share in shares)
    assert sum(shares) == 1


@given(moments, st.integers(min_value=-1200, max_value=1200))
def test_month_steps_are_relativedeltas(moment: datetime, months: int) -> None:
    # The hand-written month arithmetic (the billing run's hot path) is dateutil's.
    assert add_intervals(moment, "month", 1, months) == moment + relativedelta(months=months)
    assert add_intervals(moment, "year", 1, months // 12) == moment + relativedelta(
        years=months // 12
    )
