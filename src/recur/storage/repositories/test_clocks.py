"""Test clocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from recur.domain.tenancy import Scope
from recur.storage.repositories.base import (
    CreatedFilter,
    ObjectRepository,
    Page,
    PageRequest,
    Record,
)
from recur.storage.tables import test_clocks

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork

ADVANCING = "advancing"


class TestClockRepository(ObjectRepository):
    """Test clocks of one tenant."""

    __test__ = False  # not a pytest class, despite its name

    table = test_clocks
    kind = "test_clock"

    def list_test_clocks(self, request: PageRequest, created: CreatedFilter | None) -> Page:
        """A page of test clocks, newest first."""
        return self.page(request, created=created)

    def claim_advancing(self, clock_id: str) -> Record | None:
        """Lock this clock if it is advancing and no other worker holds it, else None.

        PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent workers split the clocks
        between them. SQLite: the write transaction (BEGIN IMMEDIATE) already serializes
        workers, so re-reading the status inside it is enough.
        """
        t = test_clocks
        query = select(t).where(t.c.id == clock_id, t.c.status == ADVANCING, *self._in_scope())
        if self.uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return self.connection.execute(query).mappings().first()

    def claim_expired(self, clock_id: str, now: int) -> Record | None:
        """Lock this clock if its `deletes_after` has passed and no other worker holds it."""
        t = test_clocks
        query = select(t).where(t.c.id == clock_id, t.c.deletes_after <= now, *self._in_scope())
        if self.uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return self.connection.execute(query).mappings().first()


class ExpiredClockFinder:
    """Across every tenant: which clocks are past their `deletes_after` (no locks taken)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.connection = uow.connection

    def expired(self, now: int, limit: int) -> Sequence[tuple[str, Scope]]:
        """Up to `limit` clocks whose `deletes_after` is at or before `now`, with their tenants."""
        t = test_clocks
        query = (
            select(t.c.id, t.c.account_id, t.c.livemode)
            .where(t.c.deletes_after <= now)
            .order_by(t.c.deletes_after, t.c.pk)
            .limit(limit)
        )
        return [
            (row.id, Scope(row.account_id, row.livemode)) for row in self.connection.execute(query)
        ]


class AdvancingClockFinder:
    """Across every tenant: which clocks are waiting for a worker (no locks taken)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.connection = uow.connection

    def advancing(self, limit: int) -> Sequence[tuple[str, Scope]]:
        """Up to `limit` advancing clocks, oldest request first, with their tenants."""
        t = test_clocks
        query = (
            select(t.c.id, t.c.account_id, t.c.livemode)
            .where(t.c.status == ADVANCING)
            .order_by(t.c.pk)
            .limit(limit)
        )
        return [
            (row.id, Scope(row.account_id, row.livemode)) for row in self.connection.execute(query)
        ]
