"""previous_attributes, as Stripe computes them for `*.updated` events."""

from __future__ import annotations

from recur.services.events import changed_attributes


def test_top_level_changes_keep_their_old_values() -> None:
    assert changed_attributes({"status": "active", "x": 1}, {"status": "past_due", "x": 1}) == {
        "status": "active"
    }


def test_nested_objects_are_diffed_and_added_keys_show_as_null() -> None:
    before = {"metadata": {"desk": "12"}, "status": "active"}
    after = {"metadata": {"desk": "14", "plan": "gold"}, "status": "active"}
    assert changed_attributes(before, after) == {"metadata": {"desk": "12", "plan": None}}


def test_removed_keys_show_their_old_value() -> None:
    assert changed_attributes({"metadata": {"a": "1"}}, {"metadata": {}}) == {
        "metadata": {"a": "1"}
    }


def test_an_object_replaced_by_null_keeps_the_whole_old_object() -> None:
    before = {"pause_collection": {"behavior": "void", "resumes_at": None}}
    assert changed_attributes(before, {"pause_collection": None}) == before
