"""Who owns a row: an account (merchant) and a mode (test or live)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """The tenant of a request: every query is filtered by both fields."""

    account_id: str
    livemode: bool
