"""Waiting for the worker to finish a test clock's advance."""

from __future__ import annotations

import time

import stripe


def wait_for_clock_ready(
    client: stripe.StripeClient, clock_id: str, timeout: float = 10
) -> stripe.test_helpers.TestClock:
    """Poll the clock until its status is `ready` (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        clock = client.v1.test_helpers.test_clocks.retrieve(clock_id)
        if clock.status == "ready":
            return clock
        if clock.status == "internal_failure":
            raise AssertionError(f"test clock {clock_id} failed to advance")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"test clock {clock_id} still {clock.status} after {timeout} seconds"
            )
        time.sleep(0.05)
