"""Clocks: the only place in Recur that reads the wall clock; everything else is handed `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from recur.domain.errors import InvalidRequest


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime in whole seconds."""

    def now(self) -> datetime:
        """Return the current time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the wall-clock time, aware UTC, truncated to whole seconds."""
        return datetime.now(UTC).replace(microsecond=0)


class FrozenClock:
    """A clock that only moves when told to, forward: tests and Stripe-style test clocks."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc_seconds(at)

    def now(self) -> datetime:
        """Return the frozen time."""
        return self._at

    def advance_to(self, at: datetime) -> None:
        """Move the clock to `at` (or leave it there); time never goes backwards."""
        target = ensure_utc_seconds(at)
        if target < self._at:
            raise InvalidRequest(
                "The clock can only move forward: "
                f"{target.isoformat()} is before {self._at.isoformat()}",
                param="frozen_time",
            )
        self._at = target


def ensure_utc_seconds(dt: datetime) -> datetime:
    """Return `dt` converted to UTC and truncated to whole seconds; naive datetimes are refused."""
    if dt.tzinfo is UTC and not dt.microsecond:
        return dt  # already (the common case: every time the engine computes itself)
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime not allowed: {dt.isoformat()}")
    return dt.astimezone(UTC).replace(microsecond=0)


def to_unix(dt: datetime) -> int:
    """Return the unix timestamp in whole seconds of an aware datetime."""
    if dt.tzinfo is not UTC or dt.microsecond:
        dt = ensure_utc_seconds(dt)
    return (dt - _EPOCH) // _SECOND


def from_unix(ts: int) -> datetime:
    """Return the aware UTC datetime of a unix timestamp in seconds."""
    return datetime.fromtimestamp(ts, UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """Build an aware UTC datetime (a convenience for tests and fixtures)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
