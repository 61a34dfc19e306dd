"""`due_actions`: what a subscription needs next, in time order (pure, no database)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recur.services.advance import PRIORITY, Action, due_actions
from recur.services.billing_settings import BillingSettings

SETTINGS = BillingSettings()
DAY = 86400
T0 = 1_735_689_600  # 2025-01-01


def subscription(**overrides: Any) -> dict[str, Any]:
    """A subscription row as the repository returns it."""
    row: dict[str, Any] = {
        "id": "sub_1",
        "status": "active",
        "created": T0,
        "trial_end": None,
        "notices": {},
        "cancel_at": None,
        "pause_collection": None,
        "current_period_start": T0,
        "current_period_end": T0 + 31 * DAY,
    }
    row.update(overrides)
    return row


def draft(invoice_id: str, finalizes_at: int, **overrides: Any) -> dict[str, Any]:
    """A renewal draft waiting for its finalization."""
    row: dict[str, Any] = {
        "id": invoice_id,
        "status": "draft",
        "auto_advance": True,
        "automatically_finalizes_at": finalizes_at,
        "collection_method": "charge_automatically",
        "due_date": None,
    }
    row.update(overrides)
    return row


def kinds(actions: list[Action]) -> list[str]:
    return [action.kind for action in actions]


def test_an_active_subscription_renews_at_its_period_end() -> None:
    assert due_actions(subscription(), [], SETTINGS) == [Action("renew", T0 + 31 * DAY)]


def test_ended_subscriptions_only_finalize_the_drafts_they_left() -> None:
    for status in ("canceled", "incomplete_expired"):
        assert due_actions(subscription(status=status), [], SETTINGS) == []
        left = due_actions(subscription(status=status), [draft("in_1", T0)], SETTINGS)
        assert left == [Action("finalize", T0, "in_1")]


def test_invoice_before_the_period_starts() -> None:
    end = T0 + 31 * DAY
    row = subscription(invoice_timing="before", invoice_days_before=5)
    assert due_actions(row, [], SETTINGS) == [
        Action("invoice_ahead", end - 5 * DAY),
        Action("renew", end),
    ]
    done = subscription(
        invoice_timing="before", invoice_days_before=5, notices={"invoiced_ahead": end}
    )
    assert due_actions(done, [], SETTINGS) == [Action("renew", end)]
    same_day = subscription(invoice_timing="before", invoice_days_before=0)
    assert due_actions(same_day, [], SETTINGS) == [
        Action("invoice_ahead", end),
        Action("renew", end),
    ]


def test_a_draft_is_finalized_before_the_period_it_belongs_to_is_left() -> None:
    end = T0 + 31 * DAY
    actions = due_actions(subscription(), [draft("in_1", end)], SETTINGS)
    assert actions == [Action("finalize", end, "in_1"), Action("renew", end)]


def test_a_draft_kept_as_draft_is_never_finalized() -> None:
    kept = draft("in_1", T0 + DAY, auto_advance=False)
    assert kinds(due_actions(subscription(), [kept], SETTINGS)) == ["renew"]


def test_cancellation_at_the_period_end_wins_over_renewal() -> None:
    end = T0 + 31 * DAY
    actions = due_actions(subscription(cancel_at=end), [], SETTINGS)
    assert actions == [Action("cancel", end)]


def test_cancel_later_than_the_period_end_still_renews_first() -> None:
    end = T0 + 31 * DAY
    actions = due_actions(subscription(cancel_at=end + 10 * DAY), [], SETTINGS)
    assert actions == [Action("renew", end), Action("cancel", end + 10 * DAY)]


def test_a_trial_sends_its_notice_three_days_before_it_ends() -> None:
    trial_end = T0 + 14 * DAY
    row = subscription(status="trialing", trial_end=trial_end, current_period_end=trial_end)
    actions = due_actions(row, [], SETTINGS)
    assert actions == [
        Action("trial_will_end", trial_end - 3 * DAY),
        Action("trial_end", trial_end),
    ]


def test_the_notice_is_sent_once_per_trial_end() -> None:
    trial_end = T0 + 14 * DAY
    row = subscription(
        status="trialing",
        trial_end=trial_end,
        current_period_end=trial_end,
        notices={"trial_will_end": trial_end},
    )
    assert kinds(due_actions(row, [], SETTINGS)) == ["trial_end"]


def test_a_trial_shorter_than_the_notice_lead_gets_none() -> None:
    trial_end = T0 + 2 * DAY
    row = subscription(status="trialing", trial_end=trial_end, current_period_end=trial_end)
    assert kinds(due_actions(row, [], SETTINGS)) == ["trial_end"]


def test_incomplete_only_expires() -> None:
    actions = due_actions(subscription(status="incomplete"), [], SETTINGS)
    assert actions == [Action("expire_incomplete", T0 + 23 * 3600)]


def test_paused_needs_nothing_but_its_drafts() -> None:
    actions = due_actions(subscription(status="paused"), [draft("in_1", T0 + DAY)], SETTINGS)
    assert kinds(actions) == ["finalize"]


def test_pause_collection_resumes_at_its_time() -> None:
    resumes = T0 + 40 * DAY
    row = subscription(pause_collection={"behavior": "void", "resumes_at": resumes})
    assert kinds(due_actions(row, [], SETTINGS)) == ["renew", "resume_collection"]


def test_an_unpaid_sent_invoice_makes_the_subscription_overdue_at_its_due_date() -> None:
    sent = draft("in_1", T0, status="open", collection_method="send_invoice", due_date=T0 + DAY)
    assert due_actions(subscription(), [sent], SETTINGS)[0] == Action("overdue", T0 + DAY, "in_1")


@given(
    trial=st.one_of(st.none(), st.integers(1, 60)),
    cancel=st.one_of(st.none(), st.integers(1, 90)),
    drafts=st.lists(st.integers(0, 90), max_size=3),
    resumes=st.one_of(st.none(), st.integers(1, 90)),
)
def test_actions_are_sorted_by_time_then_priority(
    trial: int | None, cancel: int | None, drafts: list[int], resumes: int | None
) -> None:
    row = subscription(
        status="trialing" if trial else "active",
        trial_end=None if trial is None else T0 + trial * DAY,
        cancel_at=None if cancel is None else T0 + cancel * DAY,
        pause_collection=None
        if resumes is None
        else {"behavior": "void", "resumes_at": T0 + resumes * DAY},
    )
    invoices = [draft(f"in_{k}", T0 + days * DAY) for k, days in enumerate(drafts)]
    actions = due_actions(row, invoices, SETTINGS)
    keys = [(action.at, PRIORITY.index(action.kind)) for action in actions]
    assert keys == sorted(keys)
    # Never a renewal at or after the cancellation.
    for action in actions:
        if action.kind == "renew" and row["cancel_at"] is not None:
            assert action.at < row["cancel_at"]
