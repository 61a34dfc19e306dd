"""Dunning, purely: when a failed payment is retried, and the actions it puts in time."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recur.services.advance import Action, due_actions, payment_actions
from recur.services.billing_settings import BillingSettings
from recur.services.collection import next_dunning

DAY = 86400
T0 = 1_746_061_200  # 2025-05-01 01:00, the first failure
SETTINGS = BillingSettings()


def test_retries_fall_on_the_days_after_the_first_failure() -> None:
    state, first = next_dunning(None, T0, SETTINGS, retry=True)
    assert first == T0 + DAY
    assert state["started_at"] == T0 and state["failures"] == 1
    assert state["ends_at"] == T0 + 7 * DAY
    times = [first]
    moment = first
    while moment is not None:
        state, moment = next_dunning(state, moment, SETTINGS, retry=True)
        times.append(moment)
    assert times == [T0 + DAY, T0 + 3 * DAY, T0 + 5 * DAY, T0 + 7 * DAY, None]
    assert state["failures"] == 5


def test_an_extra_attempt_does_not_shift_the_schedule() -> None:
    state, _ = next_dunning(None, T0, SETTINGS, retry=True)
    # The customer's new card failed too, two hours after the first failure.
    state, following = next_dunning(state, T0 + 7200, SETTINGS, retry=True)
    assert following == T0 + DAY and state["failures"] == 2


def test_a_hard_decline_is_never_retried_but_the_window_still_ends() -> None:
    state, following = next_dunning(None, T0, SETTINGS, retry=False, hard_declined_method="pm_lost")
    assert following is None and state["hard_declined"] == ["pm_lost"]
    invoice = _open_invoice(next_payment_attempt=None, dunning=state)
    assert payment_actions(invoice) == [Action("end_dunning", T0 + 7 * DAY, "in_1")]
    assert payment_actions({**invoice, "dunning": {**state, "blocked": True}}) == []
    assert payment_actions({**invoice, "dunning": {**state, "ended": True}}) == []


def test_an_empty_schedule_ends_at_the_first_failure() -> None:
    state, following = next_dunning(None, T0, BillingSettings(retry_days=()), retry=True)
    assert following is None and state["ends_at"] == T0


def _open_invoice(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "in_1",
        "status": "open",
        "collection_method": "charge_automatically",
        "auto_advance": True,
        "automatically_finalizes_at": None,
        "due_date": None,
        "next_payment_attempt": T0 + DAY,
        "dunning": None,
    }
    row.update(overrides)
    return row


def _subscription(status: str) -> dict[str, Any]:
    return {
        "id": "sub_1",
        "status": status,
        "created": T0 - 40 * DAY,
        "trial_end": None,
        "notices": {},
        "cancel_at": None,
        "pause_collection": None,
        "current_period_start": T0 - 3600,
        "current_period_end": T0 + 30 * DAY,
    }


def test_a_retry_is_collections_not_the_subscriptions_but_the_windows_end_is() -> None:
    # The retry (`next_payment_attempt`) is worked by the collection queue
    # (services/collection_run.py, and a test clock's step loop), not by the subscription's
    # advance: a past_due subscription's next action is its renewal.
    state, _ = next_dunning(None, T0, SETTINGS, retry=True)
    retrying = _open_invoice(dunning=state)
    actions = due_actions(_subscription("past_due"), [retrying], SETTINGS)
    assert [a.kind for a in actions] == ["renew"]
    # Once no retry is left, the end of the retry window is the subscription's action.
    exhausted = _open_invoice(dunning=state, next_payment_attempt=None)
    actions = due_actions(_subscription("past_due"), [exhausted], SETTINGS)
    assert actions[0] == Action("end_dunning", T0 + 7 * DAY, "in_1")
    assert actions[-1].kind == "renew"


@given(
    days=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=8, unique=True),
    extra=st.lists(st.integers(min_value=0, max_value=61 * DAY), max_size=5),
)
def test_every_retry_is_later_than_the_failure_it_follows(
    days: list[int], extra: list[int]
) -> None:
    settings = BillingSettings(retry_days=tuple(sorted(days)))
    state, _first = next_dunning(None, T0, settings, retry=True)
    failures = sorted(T0 + offset for offset in extra)
    for failed_at in failures:
        state, following = next_dunning(state, failed_at, settings, retry=True)
        assert following is None or following > failed_at
        assert following is None or (following - T0) // DAY in days
    assert state["ends_at"] == T0 + max(days) * DAY
