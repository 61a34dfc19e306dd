"""A pending update's expiry is one of `due_actions` (pure, no database)."""

from __future__ import annotations

from recur.services.advance import PERFORMERS, Action, due_actions
from recur.services.billing_settings import BillingSettings

DAY = 86400
T0 = 1_735_689_600  # 2025-01-01


def _subscription(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": "sub_1",
        "status": "active",
        "created": T0,
        "trial_end": None,
        "notices": {},
        "cancel_at": None,
        "pause_collection": None,
        "current_period_start": T0,
        "current_period_end": T0 + 31 * DAY,
        "pending_update": None,
    }
    row.update(overrides)
    return row


def test_a_pending_update_expires_before_the_renewal_at_the_same_second() -> None:
    end = T0 + 31 * DAY
    row = _subscription(pending_update={"invoice": "in_1", "expires_at": end})
    assert due_actions(row, [], BillingSettings()) == [
        Action("expire_pending_update", end),
        Action("renew", end),
    ]
    assert "expire_pending_update" in PERFORMERS


def test_the_mark_made_during_the_request_schedules_nothing() -> None:
    row = _subscription(pending_update={"invoice": "in_1"})
    assert [a.kind for a in due_actions(row, [], BillingSettings())] == ["renew"]


def test_an_ended_subscription_still_expires_its_pending_update() -> None:
    row = _subscription(status="canceled", pending_update={"invoice": "in_1", "expires_at": T0})
    assert due_actions(row, [], BillingSettings()) == [Action("expire_pending_update", T0)]
