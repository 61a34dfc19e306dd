"""Billing periods: boundaries anchored on a moment, Stripe's month-end rule, proration factors."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Literal

from recur.domain.errors import InvalidRequest

Interval = Literal["day", "week", "month", "year"]

_MICROSECOND = timedelta(microseconds=1)


def _as_utc(dt: datetime) -> datetime:
    # Month arithmetic on local wall time would shift across DST changes; periods live in UTC.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime not allowed: {dt.isoformat()}")
    return dt.astimezone(UTC)


def _check_count(interval_count: int) -> None:
    if interval_count < 1:
        raise ValueError(f"interval_count must be at least 1, got {interval_count}")


def add_intervals(anchor: datetime, interval: Interval, interval_count: int, n: int) -> datetime:
    """Return the boundary `n` periods after `anchor` (before it when `n` is negative)."""
    _check_count(interval_count)
    anchor = _as_utc(anchor)
    steps = n * interval_count
    # Always from the anchor, never from the previous boundary: a Jan 31 anchor must come back
    # to Mar 31 after Feb 28, which stepping month by month would lose. The day is clamped
    # to the target month's length, as dateutil's relativedelta does (Jan 31 + 1 month =
    # Feb 28/29, Feb 29 + 1 year = Feb 28), which is Stripe's documented rule.
    if interval == "day":
        return anchor + timedelta(days=steps)
    if interval == "week":
        return anchor + timedelta(weeks=steps)
    if interval == "month":
        return _add_months(anchor, steps)
    if interval == "year":
        return _add_months(anchor, 12 * steps)
    raise ValueError(f"unknown interval: {interval!r}")


def _add_months(moment: datetime, months: int) -> datetime:
    """`moment + relativedelta(months=months)`, without its generality (a renewal computes
    several boundaries; this is the hot path): same day, clamped to the month's length."""
    year, month_index = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    day = min(moment.day, calendar.monthrange(year, month_index + 1)[1])
    return moment.replace(year=year, month=month_index + 1, day=day)


def period_index_at(anchor: datetime, interval: Interval, interval_count: int, t: datetime) -> int:
    """Return the largest `n` with `add_intervals(anchor, ..., n) <= t`."""
    _check_count(interval_count)
    anchor, t = _as_utc(anchor), _as_utc(t)
    if interval in ("day", "week"):
        length = timedelta(days=interval_count * (1 if interval == "day" else 7))
        return (t - anchor) // length
    months_per_period = interval_count * (12 if interval == "year" else 1)
    months = (t.year - anchor.year) * 12 + (t.month - anchor.month)
    # The calendar estimate is off by at most one period either way; settle it exactly.
    n = months // months_per_period
    while add_intervals(anchor, interval, interval_count, n) > t:
        n -= 1
    while add_intervals(anchor, interval, interval_count, n + 1) <= t:
        n += 1
    return n


def period_containing(
    anchor: datetime, interval: Interval, interval_count: int, t: datetime
) -> tuple[datetime, datetime]:
    """Return the half-open period `[start, end)` of the anchored cycle that contains `t`."""
    n = period_index_at(anchor, interval, interval_count, t)
    return (
        add_intervals(anchor, interval, interval_count, n),
        add_intervals(anchor, interval, interval_count, n + 1),
    )


def _clamped(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    last_day = calendar.monthrange(year, month)[1]
    return datetime(year, month, min(day, last_day), hour, minute, second, tzinfo=UTC)


def next_anchor_from_config(
    now: datetime,
    *,
    day_of_month: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    month: int | None = None,
) -> datetime:
    """Return the billing cycle anchor that Stripe's `billing_cycle_anchor_config` describes."""
    # Stripe: "the billing_cycle_anchor is set to the next occurrence of the day_of_month at the
    # hour, minute, and second UTC". We read "next occurrence" as strictly after `now`, which
    # also keeps the result a valid future `billing_cycle_anchor` (Stripe requires one on
    # create). A config that matches `now` to the second therefore anchors a cycle later.
    config = "billing_cycle_anchor_config"
    for name, value, low, high in (
        ("day_of_month", day_of_month, 1, 31),
        ("hour", hour, 0, 23),
        ("minute", minute, 0, 59),
        ("second", second, 0, 59),
        ("month", month, 1, 12),
    ):
        if value is not None and not low <= value <= high:
            raise InvalidRequest(
                f"{name} must be between {low} and {high}, got {value}",
                code="parameter_invalid_integer",
                param=f"{config}[{name}]",
            )
    now = _as_utc(now)
    if month is None:
        candidates = (
            (now.year + (now.month - 1 + k) // 12, (now.month - 1 + k) % 12 + 1) for k in range(2)
        )
    else:
        candidates = ((now.year + k, month) for k in range(2))
    for year, candidate_month in candidates:
        candidate = _clamped(year, candidate_month, day_of_month, hour, minute, second)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: one of two consecutive occurrences is in the future")


def proration_factor(period_start: datetime, period_end: datetime, t: datetime) -> Fraction:
    """Return the unused share `(end - t) / (end - start)` of a period, with `t` clamped into it."""
    if period_end <= period_start:
        raise ValueError(f"empty period: {period_start.isoformat()} .. {period_end.isoformat()}")
    t = min(max(t, period_start), period_end)
    return Fraction((period_end - t) // _MICROSECOND, (period_end - period_start) // _MICROSECOND)


def config_cycle_anchor(
    anchor: datetime, interval: Interval, interval_count: int, day_of_month: int
) -> datetime:
    """The moment periods are counted from when `billing_cycle_anchor_config` asked for
    `day_of_month` and the anchor fell in a shorter month (clamped: Feb 28 for the 31st).

    Counting from the clamped day would stay on it (Feb 28 → Mar 28 → Apr 28); counting
    from an earlier boundary of the same cycle that has the asked-for day keeps every later
    period on that day, clamped to each month's length (Jan 31 → Feb 28 → Mar 31 → Apr 30),
    as Stripe bills a config's day "on the last day of shorter months". Returns `anchor`
    itself when it has that day, or when no boundary of the cycle in the 48 before it has
    it (whole years in February asked for the 30th).
    """
    anchor = _as_utc(anchor)
    if interval not in ("month", "year") or anchor.day >= day_of_month:
        return anchor
    months = interval_count * (12 if interval == "year" else 1)
    for back in range(1, 49):
        year, month_index = divmod(anchor.year * 12 + anchor.month - 1 - back * months, 12)
        if calendar.monthrange(year, month_index + 1)[1] >= day_of_month:
            return anchor.replace(year=year, month=month_index + 1, day=day_of_month)
    return anchor
