from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recur.domain.clock import (
    Clock,
    FrozenClock,
    SystemClock,
    ensure_utc_seconds,
    from_unix,
    to_unix,
    utc,
)
from recur.domain.errors import InvalidRequest


def test_system_clock_is_aware_utc_whole_seconds() -> None:
    clock: Clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is UTC
    assert now.microsecond == 0


def test_frozen_clock_moves_forward_only() -> None:
    clock: Clock = FrozenClock(utc(2024, 1, 31, 12))
    assert clock.now() == utc(2024, 1, 31, 12)
    assert isinstance(clock, FrozenClock)
    clock.advance_to(utc(2024, 2, 29))
    assert clock.now() == utc(2024, 2, 29)
    clock.advance_to(utc(2024, 2, 29))
    assert clock.now() == utc(2024, 2, 29)
    with pytest.raises(InvalidRequest):
        clock.advance_to(utc(2024, 2, 28))
    assert clock.now() == utc(2024, 2, 29)


def test_frozen_clock_normalises_to_utc_seconds() -> None:
    plus_two = timezone(timedelta(hours=2))
    clock = FrozenClock(datetime(2024, 1, 1, 2, 0, 0, 999_999, tzinfo=plus_two))
    assert clock.now() == utc(2024, 1, 1)
    assert clock.now().tzinfo is UTC
    assert clock.now().microsecond == 0


def test_frozen_clock_refuses_naive() -> None:
    with pytest.raises(ValueError):
        FrozenClock(datetime(2024, 1, 1))


def test_ensure_utc_seconds() -> None:
    assert ensure_utc_seconds(datetime(2024, 1, 1, 0, 0, 1, 500_000, tzinfo=UTC)) == utc(
        2024, 1, 1, 0, 0, 1
    )
    with pytest.raises(ValueError):
        ensure_utc_seconds(datetime(2024, 1, 1))


def test_unix_round_trip_known_values() -> None:
    assert to_unix(utc(1970, 1, 1)) == 0
    assert to_unix(utc(2024, 2, 29, 12, 30, 15)) == 1709209815
    assert from_unix(1709209815) == utc(2024, 2, 29, 12, 30, 15)
    assert from_unix(0).tzinfo is UTC


@given(st.integers(min_value=-(2**33), max_value=2**34))
def test_unix_round_trip(ts: int) -> None:
    assert to_unix(from_unix(ts)) == ts


def test_to_unix_refuses_naive() -> None:
    with pytest.raises(ValueError):
        to_unix(datetime(2024, 1, 1))
