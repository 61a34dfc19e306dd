"""`config_cycle_anchor`: periods on a configured day of the month, clamped to short months."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from recur.domain.periods import add_intervals, config_cycle_anchor


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_the_31st_anchored_in_february_counts_from_january_31() -> None:
    anchor = utc(2025, 2, 28, 9)
    cycle = config_cycle_anchor(anchor, "month", 1, 31)
    assert cycle == utc(2025, 1, 31, 9)
    assert [add_intervals(cycle, "month", 1, n) for n in range(1, 5)] == [
        utc(2025, 2, 28, 9),
        utc(2025, 3, 31, 9),
        utc(2025, 4, 30, 9),
        utc(2025, 5, 31, 9),
    ]


def test_an_anchor_on_its_day_and_weekly_cycles_are_kept() -> None:
    assert config_cycle_anchor(utc(2025, 3, 31), "month", 1, 31) == utc(2025, 3, 31)
    assert config_cycle_anchor(utc(2025, 2, 28), "week", 1, 31) == utc(2025, 2, 28)


def test_february_29_yearly_counts_from_the_last_leap_year() -> None:
    cycle = config_cycle_anchor(utc(2026, 2, 28), "year", 1, 29)
    assert cycle == utc(2024, 2, 29)
    assert add_intervals(cycle, "year", 1, 4) == utc(2028, 2, 29)


def test_a_day_no_boundary_of_the_cycle_has_keeps_the_anchor() -> None:
    # Whole years in February never have a 30th.
    assert config_cycle_anchor(utc(2025, 2, 28), "year", 1, 30) == utc(2025, 2, 28)


@given(
    st.integers(min_value=2000, max_value=2100),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=31),
    st.sampled_from([1, 2, 3, 6]),
    st.integers(min_value=1, max_value=40),
)
def test_every_later_period_falls_on_the_day_clamped(
    year: int, month: int, day: int, count: int, n: int
) -> None:
    anchor = utc(year, month, min(day, calendar.monthrange(year, month)[1]))
    cycle = config_cycle_anchor(anchor, "month", count, day)
    boundaries = [add_intervals(cycle, "month", count, k) for k in range(0, 60)]
    assert anchor in boundaries
    later = [b for b in boundaries if b >= anchor][:n]
    for boundary in later:
        assert boundary.day == min(day, calendar.monthrange(boundary.year, boundary.month)[1])
