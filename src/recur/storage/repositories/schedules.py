"""Subscription schedules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, select

from recur.storage.repositories.base import (
    CreatedFilter,
    ObjectRepository,
    Page,
    PageRequest,
    Record,
)
from recur.storage.tables import subscription_schedules

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork

NOT_STARTED = "not_started"


def _in_range(column: Any, bounds: CreatedFilter | None) -> list[ColumnElement[bool]]:
    """Stripe's range filter (`gt`, `gte`, `lt`, `lte`) on a timestamp column."""
    if bounds is None:
        return []
    out: list[ColumnElement[bool]] = []
    if bounds.gt is not None:
        out.append(column > bounds.gt)
    if bounds.gte is not None:
        out.append(column >= bounds.gte)
    if bounds.lt is not None:
        out.append(column < bounds.lt)
    if bounds.lte is not None:
        out.append(column <= bounds.lte)
    return out


class SubscriptionScheduleRepository(ObjectRepository):
    """Subscription schedules of one tenant."""

    table = subscription_schedules
    kind = "subscription_schedule"

    def list_schedules(
        self,
        request: PageRequest,
        *,
        customer: str | None = None,
        scheduled: bool | None = None,
        canceled_at: CreatedFilter | None = None,
        completed_at: CreatedFilter | None = None,
        released_at: CreatedFilter | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of schedules, newest first (`scheduled`: only those not started yet)."""
        c = subscription_schedules.c
        conditions: list[ColumnElement[bool]] = []
        if customer is not None:
            conditions.append(c.customer == customer)
        if scheduled is True:
            conditions.append(c.status == NOT_STARTED)
        elif scheduled is False:
            conditions.append(c.status != NOT_STARTED)
        conditions += _in_range(c.canceled_at, canceled_at)
        conditions += _in_range(c.completed_at, completed_at)
        conditions += _in_range(c.released_at, released_at)
        return self.page(request, *conditions, created=created)

    def to_start_on_clock(self, test_clock: str, until: int) -> list[str]:
        """Schedules on a clock that have not started and are due to start by `until`."""
        c = subscription_schedules.c
        query = select(c.id).where(
            *self._in_scope(),
            c.test_clock == test_clock,
            c.status == NOT_STARTED,
            c.start_date <= until,
        )
        return list(self.connection.execute(query.order_by(c.start_date, c.pk)).scalars())

    def earliest_start_on_clock(self, test_clock: str) -> int | None:
        """The earliest start among a clock's schedules that have not started."""
        c = subscription_schedules.c
        query = select(c.start_date).where(
            *self._in_scope(), c.test_clock == test_clock, c.status == NOT_STARTED
        )
        return self.connection.execute(query.order_by(c.start_date).limit(1)).scalar_one_or_none()

    def not_started_of_customer(self, customer: str) -> list[str]:
        """A customer's schedules that have not started (no subscription yet)."""
        c = subscription_schedules.c
        query = select(c.id).where(
            *self._in_scope(), c.customer == customer, c.status == NOT_STARTED
        )
        return list(self.connection.execute(query.order_by(c.pk)).scalars())


class ScheduleDueWork:
    """Unscoped: schedules of every tenant that real time has made due to start."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.connection = uow.connection

    def claim_due_schedules(self, now: int, limit: int) -> list[Record]:
        """Not-started schedules (not on a test clock) whose start has come, locked.

        `FOR UPDATE SKIP LOCKED` on PostgreSQL, as for due subscriptions.
        """
        c = subscription_schedules.c
        query = (
            select(c.account_id, c.livemode, c.id)
            .where(c.status == NOT_STARTED, c.start_date <= now, c.test_clock.is_(None))
            .order_by(c.start_date)
            .limit(limit)
        )
        if self.uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.connection.execute(query).mappings())
