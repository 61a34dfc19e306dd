"""Webhook endpoints (scoped), their attempts (scoped), and the worker's outbox queries.

The worker's side spans tenants (`WebhookOutbox`): the fan-out from events to deliveries
is set-based (`INSERT … SELECT` per endpoint, over a range of `events.pk`), deliveries are
claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, and every statement is bounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Insert,
    Integer,
    String,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from recur.domain.tenancy import Scope
from recur.storage.repositories.base import ObjectRepository, Page, PageRequest, Record
from recur.storage.tables import (
    events,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_fanout,
)

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork

ENABLED = "enabled"
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
FANOUT_ROW = 1


def _insert(uow: UnitOfWork, table: Any) -> Insert:
    """An INSERT that can say ON CONFLICT DO NOTHING on both backends."""
    if uow.dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _type_filter(enabled_events: Sequence[str]) -> list[ColumnElement[bool]]:
    return [] if "*" in enabled_events else [events.c.type.in_(list(enabled_events))]


class WebhookEndpointRepository(ObjectRepository):
    """Webhook endpoints of one tenant."""

    table = webhook_endpoints
    kind = "webhook endpoint"

    def list_endpoints(self, request: PageRequest) -> Page:
        """A page of endpoints, newest first."""
        return self.page(request)

    def enabled_for(self, event_type: str) -> list[Record]:
        """The enabled endpoints subscribed to `event_type` (a handful per tenant)."""
        rows = self.connection.execute(
            select(webhook_endpoints).where(
                *self._in_scope(), webhook_endpoints.c.status == ENABLED
            )
        ).mappings()
        return [r for r in rows if "*" in r["enabled_events"] or event_type in r["enabled_events"]]

    def delete_with_history(self, endpoint_id: str) -> None:
        """Delete an endpoint, its deliveries and attempts; its undelivered events lose it."""
        d = webhook_deliveries.c
        mine = [d.account_id == self.scope.account_id, d.livemode == self.scope.livemode]
        undelivered = select(d.event).where(*mine, d.endpoint == endpoint_id, d.status != SUCCEEDED)
        self.connection.execute(
            update(events)
            .where(
                events.c.account_id == self.scope.account_id,
                events.c.livemode == self.scope.livemode,
                events.c.id.in_(undelivered),
                events.c.pending_webhooks > 0,
            )
            .values(pending_webhooks=events.c.pending_webhooks - 1)
        )
        self.connection.execute(delete(webhook_deliveries).where(*mine, d.endpoint == endpoint_id))
        a = webhook_attempts.c
        self.connection.execute(
            delete(webhook_attempts).where(
                a.account_id == self.scope.account_id,
                a.livemode == self.scope.livemode,
                a.endpoint == endpoint_id,
            )
        )
        self.delete(endpoint_id)


class WebhookAttemptRepository(ObjectRepository):
    """Delivery attempts of one tenant."""

    table = webhook_attempts
    kind = "webhook attempt"

    def list_attempts(self, request: PageRequest, endpoint: str, event: str | None) -> Page:
        """A page of one endpoint's attempts, newest first."""
        conditions = [webhook_attempts.c.endpoint == endpoint]
        if event is not None:
            conditions.append(webhook_attempts.c.event == event)
        return self.page(request, *conditions)


class WebhookDeliveryRepository:
    """Deliveries of one tenant (they have no public id: an endpoint and an event name one)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.scope = uow.scope
        self.connection = uow.connection

    def _in_scope(self) -> list[ColumnElement[bool]]:
        d = webhook_deliveries.c
        return [d.account_id == self.scope.account_id, d.livemode == self.scope.livemode]

    def find(self, endpoint: str, event: str) -> Record | None:
        """The delivery of `event` to `endpoint`, if there is one."""
        d = webhook_deliveries.c
        query = select(webhook_deliveries).where(
            *self._in_scope(), d.endpoint == endpoint, d.event == event
        )
        return self.connection.execute(query).mappings().first()

    def insert_pending(self, endpoint: str, event: str, event_type: str, now: int) -> None:
        """A new delivery, due at once."""
        self.connection.execute(
            insert(webhook_deliveries).values(
                account_id=self.scope.account_id,
                livemode=self.scope.livemode,
                endpoint=endpoint,
                event=event,
                event_type=event_type,
                created=now,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
            )
        )

    def restart(self, pk: int, now: int) -> None:
        """Make a delivery due at once with a fresh retry schedule (a manual resend)."""
        self.connection.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.pk == pk)
            .values(status=PENDING, attempts=0, next_attempt_at=now, lease=None)
        )

    def cancel_pending(self, endpoint: str) -> None:
        """Stop every delivery still due to `endpoint` (it was disabled)."""
        d = webhook_deliveries.c
        self.connection.execute(
            update(webhook_deliveries)
            .where(*self._in_scope(), d.endpoint == endpoint, d.status == PENDING)
            .values(status=CANCELED, next_attempt_at=None, lease=None)
        )

    def change_pending_webhooks(self, event: str, delta: int) -> None:
        """Move an event's `pending_webhooks` count (never below zero)."""
        e = events.c
        self.connection.execute(
            update(events)
            .where(
                e.account_id == self.scope.account_id,
                e.livemode == self.scope.livemode,
                e.id == event,
                e.pending_webhooks + delta >= 0,
            )
            .values(pending_webhooks=e.pending_webhooks + delta)
        )


class WebhookOutbox:
    """The worker's queries, across every tenant."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.connection = uow.connection
        self.postgresql = uow.dialect == "postgresql"

    # -- the watermark -------------------------------------------------------------------

    def max_event_pk(self) -> int:
        """The highest `events.pk` this transaction sees (0 when there is none)."""
        return int(
            self.connection.execute(select(func.coalesce(func.max(events.c.pk), 0))).scalar_one()
        )

    def snapshot(self) -> tuple[int, list[str]]:
        """PostgreSQL: the max `events.pk` seen, and the ids of the other transactions of
        this database that are running (they may hold events not committed yet)."""
        row = self.connection.execute(
            text(
                "SELECT (SELECT coalesce(max(pk), 0) FROM events), "
                "ARRAY(SELECT backend_xid::text FROM pg_stat_activity "
                "WHERE datname = current_database() AND backend_xid IS NOT NULL "
                "AND pid <> pg_backend_pid())"
            )
        ).one()
        return int(row[0]), [str(x) for x in row[1]]

    def lock_state(self) -> Record | None:
        """The watermark row, locked; None while another worker holds it (PostgreSQL)."""
        query = select(webhook_fanout).where(webhook_fanout.c.pk == FANOUT_ROW)
        if self.connection.execute(query).first() is None:  # the first pass ever
            self.connection.execute(
                _insert(self.uow, webhook_fanout)
                .values(pk=FANOUT_ROW, settled_pk=0)
                .on_conflict_do_nothing()  # type: ignore[attr-defined]
            )
        if self.postgresql:
            query = query.with_for_update(skip_locked=True)
        return self.connection.execute(query).mappings().first()

    def save_state(self, values: Mapping[str, Any]) -> None:
        """Store the watermark."""
        self.connection.execute(
            update(webhook_fanout).where(webhook_fanout.c.pk == FANOUT_ROW).values(**values)
        )

    def rewind_cursors(self) -> None:
        """Every cursor back to 0 (SQLite reused the pks of an emptied events table)."""
        self.connection.execute(update(webhook_endpoints).values(events_after=0))

    # -- the fan-out ---------------------------------------------------------------------

    def endpoints_behind(self, settled: int, limit: int) -> list[Record]:
        """Enabled endpoints with events of their tenant in (cursor, settled], locked.

        An endpoint an API request is changing right now is skipped (PostgreSQL) and
        caught up on the next pass. Tenants without endpoints are never looked at.
        """
        w = webhook_endpoints.c
        e = events.c
        newer = exists().where(
            e.account_id == w.account_id,
            e.livemode == w.livemode,
            e.pk > w.events_after,
            e.pk <= settled,
        )
        query = (
            select(w.pk, w.id, w.account_id, w.livemode, w.enabled_events, w.events_after)
            .where(w.status == ENABLED, w.events_after < settled, newer)
            .order_by(w.events_after)
            .limit(limit)
        )
        if self.postgresql:
            query = query.with_for_update(skip_locked=True, of=webhook_endpoints)
        return list(self.connection.execute(query).mappings())

    def range_end(self, endpoint: Record, settled: int, max_events: int) -> int:
        """Where this pass's range for `endpoint` ends: `settled`, or sooner for a backlog."""
        e = events.c
        query = (
            select(e.pk)
            .where(
                e.account_id == endpoint["account_id"],
                e.livemode == endpoint["livemode"],
                e.pk > endpoint["events_after"],
                e.pk <= settled,
            )
            .order_by(e.pk)
            .offset(max_events - 1)
            .limit(1)
        )
        found = self.connection.execute(query).scalar_one_or_none()
        return settled if found is None else int(found)

    def fan_out(self, endpoint: Record, upto: int, now: int) -> int:
        """Deliveries for the endpoint's events in (cursor, upto]; the cursor moves to upto.

        Three statements whatever the number of events: the deliveries, the events'
        `pending_webhooks`, the cursor. Returns how many events were fanned out.
        """
        e = events.c
        in_range = [
            e.account_id == endpoint["account_id"],
            e.livemode == endpoint["livemode"],
            e.pk > endpoint["events_after"],
            e.pk <= upto,
            *_type_filter(endpoint["enabled_events"]),
        ]
        rows = select(
            e.account_id,
            e.livemode,
            literal(endpoint["id"], String).label("endpoint"),
            e.id,
            e.type,
            literal(now, BigInteger).label("created"),
            literal(PENDING, String).label("status"),
            literal(0, Integer).label("attempts"),
            literal(now, BigInteger).label("next_attempt_at"),
        ).where(*in_range)
        columns = [
            "account_id",
            "livemode",
            "endpoint",
            "event",
            "event_type",
            "created",
            "status",
            "attempts",
            "next_attempt_at",
        ]
        self.connection.execute(
            _insert(self.uow, webhook_deliveries)
            .from_select(columns, rows)
            .on_conflict_do_nothing()  # type: ignore[attr-defined]
        )
        # (An INSERT … SELECT's rowcount is not reported through psycopg: count this one.)
        fanned = self.connection.execute(
            update(events).where(*in_range).values(pending_webhooks=e.pending_webhooks + 1)
        ).rowcount
        self.connection.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.pk == endpoint["pk"])
            .values(events_after=upto)
        )
        return int(fanned or 0)

    # -- delivering ----------------------------------------------------------------------

    def claim_due(self, now: int, limit: int, lease: str, lease_until: int) -> list[Record]:
        """Due deliveries, leased to this worker until `lease_until` (one short transaction).

        Returned as they were before the claim: `lease` set means a previous worker's
        attempt ended without a recorded outcome (it died, or its lease ran out).
        """
        d = webhook_deliveries.c
        query = (
            select(webhook_deliveries)
            .where(d.next_attempt_at.is_not(None), d.next_attempt_at <= now)
            .order_by(d.next_attempt_at)
            .limit(limit)
        )
        if self.postgresql:
            query = query.with_for_update(skip_locked=True)
        claimed: list[Record] = list(self.connection.execute(query).mappings())
        if claimed:
            self.connection.execute(
                update(webhook_deliveries)
                .where(d.pk.in_([r["pk"] for r in claimed]))
                .values(lease=lease, next_attempt_at=lease_until, attempts=d.attempts + 1)
            )
        return claimed

    def endpoints_of(
        self, keys: Iterable[tuple[str, bool, str]]
    ) -> dict[tuple[str, bool, str], Record]:
        """Endpoints by (account, livemode, id)."""
        wanted = set(keys)
        if not wanted:
            return {}
        w = webhook_endpoints.c
        query = select(webhook_endpoints).where(tuple_(w.account_id, w.livemode, w.id).in_(wanted))
        rows = self.connection.execute(query).mappings()
        return {(r["account_id"], bool(r["livemode"]), r["id"]): r for r in rows}

    def events_of(
        self, keys: Iterable[tuple[str, bool, str]]
    ) -> dict[tuple[str, bool, str], Record]:
        """Events by (account, livemode, id); purged ones are missing."""
        wanted = set(keys)
        if not wanted:
            return {}
        e = events.c
        query = select(events).where(tuple_(e.account_id, e.livemode, e.id).in_(wanted))
        rows = self.connection.execute(query).mappings()
        return {(r["account_id"], bool(r["livemode"]), r["id"]): r for r in rows}

    def settle(self, pk: int, lease: str, values: Mapping[str, Any]) -> bool:
        """Record an attempt's outcome on its delivery, if this worker still holds the lease."""
        d = webhook_deliveries.c
        result = self.connection.execute(
            update(webhook_deliveries).where(d.pk == pk, d.lease == lease).values(**values)
        )
        return bool(result.rowcount)

    def insert_attempts(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Attempt records, in one statement."""
        if rows:
            self.connection.execute(insert(webhook_attempts), list(rows))

    def mark_failing(self, scope: Scope, endpoint: str, now: int) -> int | None:
        """Note a failure: the endpoint's `failing_since` (set now if it was not failing)."""
        w = webhook_endpoints.c
        mine = [w.account_id == scope.account_id, w.livemode == scope.livemode, w.id == endpoint]
        self.connection.execute(
            update(webhook_endpoints)
            .where(*mine, w.failing_since.is_(None))
            .values(failing_since=now)
        )
        return self.connection.execute(select(w.failing_since).where(*mine)).scalar_one_or_none()

    def mark_healthy(self, scope: Scope, endpoint: str) -> None:
        """A success: the endpoint is not failing."""
        w = webhook_endpoints.c
        self.connection.execute(
            update(webhook_endpoints)
            .where(
                w.account_id == scope.account_id,
                w.livemode == scope.livemode,
                w.id == endpoint,
                w.failing_since.is_not(None),
            )
            .values(failing_since=None)
        )

    def purge_before(self, cutoff: int) -> int:
        """Forget finished deliveries and attempts created before `cutoff` (every tenant)."""
        d = webhook_deliveries.c
        gone = self.connection.execute(
            delete(webhook_deliveries).where(d.created < cutoff, d.next_attempt_at.is_(None))
        ).rowcount
        gone += self.connection.execute(
            delete(webhook_attempts).where(webhook_attempts.c.created < cutoff)
        ).rowcount
        return int(gone or 0)
