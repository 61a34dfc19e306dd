"""Subscriptions, items, invoices, lines, pending invoice items, charges, events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update

from recur.domain.invoicing import invoice_number
from recur.storage.repositories.base import (
    CreatedFilter,
    ObjectRepository,
    Page,
    PageRequest,
    Record,
)
from recur.storage.tables import (
    charges,
    customers,
    events,
    invoice_items,
    invoice_lines,
    invoices,
    subscription_items,
    subscriptions,
)

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork

ENDED_STATUSES = ("canceled", "incomplete_expired")


class SubscriptionRepository(ObjectRepository):
    """Subscriptions of one tenant."""

    table = subscriptions
    kind = "subscription"

    def list_subscriptions(
        self,
        request: PageRequest,
        *,
        customer: str | None = None,
        price: str | None = None,
        status: str | None = None,
        test_clock: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of subscriptions; without `status`, canceled ones are left out (Stripe)."""
        c = subscriptions.c
        conditions: list[ColumnElement[bool]] = []
        if customer is not None:
            conditions.append(c.customer == customer)
        if test_clock is not None:
            conditions.append(c.test_clock == test_clock)
        if status is None:
            conditions.append(c.status.not_in(ENDED_STATUSES))
        elif status == "ended":
            conditions.append(c.status.in_(ENDED_STATUSES))
        elif status != "all":
            conditions.append(c.status == status)
        if price is not None:
            items = subscription_items.c
            conditions.append(
                c.id.in_(
                    select(items.subscription).where(
                        items.price == price,
                        items.deleted.is_(False),
                        items.account_id == self.scope.account_id,
                    )
                )
            )
        return self.page(request, *conditions, created=created)

    def live_ids_of_customer(self, customer: str) -> list[str]:
        """A customer's subscriptions that have not ended."""
        c = subscriptions.c
        query = select(c.id).where(
            *self._in_scope(), c.customer == customer, c.status.not_in(ENDED_STATUSES)
        )
        return list(self.connection.execute(query.order_by(c.pk)).scalars())

    def ids_on_clock(self, test_clock: str) -> list[str]:
        """Subscriptions of this tenant attached (through their customer) to a test clock."""
        c = subscriptions.c
        query = select(c.id).where(*self._in_scope(), c.test_clock == test_clock)
        return list(self.connection.execute(query.order_by(c.pk)).scalars())

    def due_on_clock(self, test_clock: str, until: int) -> list[str]:
        """Subscriptions on a clock with something due at or before `until`."""
        c = subscriptions.c
        query = select(c.id).where(
            *self._in_scope(),
            c.test_clock == test_clock,
            c.next_action_at.is_not(None),
            c.next_action_at <= until,
        )
        return list(self.connection.execute(query.order_by(c.next_action_at, c.pk)).scalars())

    def earliest_action_on_clock(self, test_clock: str) -> int | None:
        """The earliest `next_action_at` among a clock's subscriptions."""
        c = subscriptions.c
        query = select(c.next_action_at).where(
            *self._in_scope(), c.test_clock == test_clock, c.next_action_at.is_not(None)
        )
        return self.connection.execute(
            query.order_by(c.next_action_at).limit(1)
        ).scalar_one_or_none()


class DueWork:
    """Unscoped: finds the work of every tenant that real time has made due."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.connection = uow.connection

    def claim_due_subscriptions(self, now: int, limit: int) -> list[Record]:
        """Due subscriptions not on a test clock, locked for this worker.

        On PostgreSQL `FOR UPDATE SKIP LOCKED` lets many workers take disjoint batches
        without coordination; SQLite has one writer at a time, which serializes them.
        """
        c = subscriptions.c
        query = (
            select(c.account_id, c.livemode, c.id)
            .where(c.next_action_at.is_not(None), c.next_action_at <= now, c.test_clock.is_(None))
            .order_by(c.next_action_at)
            .limit(limit)
        )
        if self.uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.connection.execute(query).mappings())

    def scopes_with_due_collections(self, now: int, limit: int) -> list[Record]:
        """Which tenants have invoices due for a payment attempt (not on a test clock), and
        how many (capped at `limit` each: a count, not a scan of a million rows)."""
        c = invoices.c
        due = (
            select(c.account_id, c.livemode)
            .where(
                c.next_payment_attempt.is_not(None),
                c.next_payment_attempt <= now,
                c.status == "open",
                c.test_clock.is_(None),
            )
            .order_by(c.next_payment_attempt)
            .limit(limit * 8)
            .subquery()
        )
        query = select(due.c.account_id, due.c.livemode, func.count().label("due")).group_by(
            due.c.account_id, due.c.livemode
        )
        return list(self.connection.execute(query).mappings())

    def claim_due_collections(
        self, account_id: str, livemode: bool, now: int, limit: int
    ) -> list[Record]:
        """One tenant's open invoices due for a payment attempt, locked for this worker.

        `SKIP LOCKED` on PostgreSQL (workers take disjoint sets); the subscriptions they
        belong to are locked the same way by `lock_free_subscriptions`.
        """
        c = invoices.c
        query = (
            select(c.id, c.subscription, c.next_payment_attempt)
            .where(
                c.account_id == account_id,
                c.livemode == livemode,
                c.next_payment_attempt.is_not(None),
                c.next_payment_attempt <= now,
                c.status == "open",
                c.test_clock.is_(None),
            )
            .order_by(c.next_payment_attempt, c.pk)
            .limit(limit)
        )
        if self.uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.connection.execute(query).mappings())

    def lock_free_subscriptions(self, ids: list[str]) -> set[str]:
        """Lock these subscriptions unless another worker holds them; the ones locked.

        A collection locks an invoice before its subscription, a billing run the other way
        round: skipping a held subscription (its invoice waits for the next pass) means
        the two never wait for each other.
        """
        if not ids or self.uow.dialect != "postgresql":
            return set(ids)
        c = subscriptions.c
        query = select(c.id).where(c.id.in_(ids)).with_for_update(skip_locked=True)
        return set(self.connection.execute(query).scalars())

    def claim_due_drafts(self, now: int, limit: int) -> list[Record]:
        """Drafts without subscription (manual invoices) due for automatic finalization.

        Subscription drafts are finalized by `advance_subscription`; test-clock drafts by
        the clock's advance. Locked with `SKIP LOCKED` on PostgreSQL, as subscriptions are.
        """
        c = invoices.c
        query = (
            select(c.account_id, c.livemode, c.id, c.automatically_finalizes_at)
            .where(
                c.status == "draft",
                c.subscription.is_(None),
                c.automatically_finalizes_at.is_not(None),
                c.automatically_finalizes_at <= now,
                c.test_clock.is_(None),
            )
            .order_by(c.automatically_finalizes_at)
            .limit(limit)
        )
        if self.uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.connection.execute(query).mappings())


class SubscriptionItemRepository(ObjectRepository):
    """The items of subscriptions."""

    table = subscription_items
    kind = "subscription_item"

    def items_of(self, subscription_id: str) -> list[Record]:
        """A subscription's current items, in the order they were added."""
        c = subscription_items.c
        query = select(subscription_items).where(
            *self._in_scope(), c.subscription == subscription_id, c.deleted.is_(False)
        )
        return list(self.connection.execute(query.order_by(c.pk)).mappings())

    def list_items(self, request: PageRequest, subscription_id: str) -> Page:
        """A page of a subscription's items."""
        c = subscription_items.c
        return self.page(request, c.subscription == subscription_id, c.deleted.is_(False))


def _in_range(column: Any, bounds: CreatedFilter) -> list[ColumnElement[bool]]:
    """Stripe's range filter (`gt`, `gte`, `lt`, `lte`) on any timestamp column."""
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


class InvoiceRepository(ObjectRepository):
    """Invoices of one tenant."""

    table = invoices
    kind = "invoice"

    def list_invoices(
        self,
        request: PageRequest,
        *,
        customer: str | None = None,
        subscription: str | None = None,
        status: str | None = None,
        collection_method: str | None = None,
        created: CreatedFilter | None = None,
        due_date: CreatedFilter | None = None,
    ) -> Page:
        """A page of invoices, optionally filtered."""
        c = invoices.c
        conditions: list[ColumnElement[bool]] = []
        if customer is not None:
            conditions.append(c.customer == customer)
        if subscription is not None:
            conditions.append(c.subscription == subscription)
        if status is not None:
            conditions.append(c.status == status)
        if collection_method is not None:
            conditions.append(c.collection_method == collection_method)
        if due_date is not None:
            conditions.extend(_in_range(c.due_date, due_date))
        return self.page(request, *conditions, created=created)

    def due_drafts_on_clock(self, test_clock: str, until: int) -> list[Record]:
        """Drafts without subscription on a test clock whose finalization is due by `until`."""
        c = invoices.c
        query = select(c.id, c.automatically_finalizes_at).where(
            *self._in_scope(),
            c.test_clock == test_clock,
            c.status == "draft",
            c.subscription.is_(None),
            c.automatically_finalizes_at.is_not(None),
            c.automatically_finalizes_at <= until,
        )
        return list(
            self.connection.execute(query.order_by(c.automatically_finalizes_at, c.pk)).mappings()
        )

    def earliest_collection_on_clock(self, test_clock: str) -> int | None:
        """The earliest `next_payment_attempt` among a clock's open invoices."""
        c = invoices.c
        query = select(c.next_payment_attempt).where(
            *self._in_scope(),
            c.test_clock == test_clock,
            c.status == "open",
            c.next_payment_attempt.is_not(None),
        )
        return self.connection.execute(query.order_by(c.next_payment_attempt).limit(1)).scalar()

    def collections_on_clock(self, test_clock: str, until: int) -> list[str]:
        """A clock's open invoices whose next payment attempt is due by `until`."""
        c = invoices.c
        query = select(c.id).where(
            *self._in_scope(),
            c.test_clock == test_clock,
            c.status == "open",
            c.next_payment_attempt.is_not(None),
            c.next_payment_attempt <= until,
        )
        return list(self.connection.execute(query.order_by(c.next_payment_attempt, c.pk)).scalars())

    def earliest_draft_on_clock(self, test_clock: str) -> int | None:
        """The earliest automatic finalization among a clock's drafts without subscription."""
        c = invoices.c
        query = select(c.automatically_finalizes_at).where(
            *self._in_scope(),
            c.test_clock == test_clock,
            c.status == "draft",
            c.subscription.is_(None),
            c.automatically_finalizes_at.is_not(None),
        )
        return self.connection.execute(
            query.order_by(c.automatically_finalizes_at).limit(1)
        ).scalar()

    def open_or_draft_of(self, subscription_id: str) -> list[Record]:
        """A subscription's invoices that time can still move (drafts and open ones)."""
        c = invoices.c
        query = select(invoices).where(
            *self._in_scope(),
            c.subscription == subscription_id,
            c.status.in_(("draft", "open")),
        )
        return list(self.connection.execute(query.order_by(c.pk)).mappings())

    def cycle_invoice(self, subscription_id: str, period_start: int) -> Record | None:
        """The cycle invoice of a subscription for the period starting then, if any."""
        c = invoices.c
        query = select(invoices).where(
            *self._in_scope(),
            c.subscription == subscription_id,
            c.cycle_period_start == period_start,
        )
        return self.connection.execute(query).mappings().first()

    def take_invoice_number(self, customer_id: str) -> str:
        """Assign the customer's next invoice number (`PREFIX-0001`), gaplessly.

        The customer row is updated in the finalizing transaction, so two finalizations
        serialize on it and a rolled-back one gives its number back.
        """
        c = customers.c
        where = [c.id == customer_id, c.account_id == self.scope.account_id]
        row = self.connection.execute(
            update(customers)
            .where(*where)
            .values(next_invoice_sequence=c.next_invoice_sequence + 1)
            .returning(c.invoice_prefix, c.next_invoice_sequence)
        ).one()
        return invoice_number(row.invoice_prefix, row.next_invoice_sequence - 1)


class InvoiceLineRepository(ObjectRepository):
    """Lines of invoices."""

    table = invoice_lines
    kind = "invoice line item"

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert the lines of one invoice in one statement."""
        if rows:
            scope = {"account_id": self.scope.account_id, "livemode": self.scope.livemode}
            self.connection.execute(insert(invoice_lines), [dict(r, **scope) for r in rows])

    def lines_of(self, invoice_id: str) -> list[Record]:
        """An invoice's lines in invoice order."""
        c = invoice_lines.c
        query = select(invoice_lines).where(*self._in_scope(), c.invoice == invoice_id)
        return list(self.connection.execute(query.order_by(c.position, c.pk)).mappings())

    def delete_lines_of(self, invoice_id: str) -> None:
        """Remove an invoice's lines (a draft being recomputed or deleted)."""
        c = invoice_lines.c
        self.connection.execute(
            delete(invoice_lines).where(*self._in_scope(), c.invoice == invoice_id)
        )

    def page_of(self, invoice_id: str, request: PageRequest) -> Page:
        """A page of an invoice's lines, in the invoice's order (Stripe's order for lines)."""
        c = invoice_lines.c
        return self.page(request, c.invoice == invoice_id, oldest_first=True)


class InvoiceItemRepository(ObjectRepository):
    """Invoice items: pending (no invoice yet) or on an invoice."""

    table = invoice_items
    kind = "invoiceitem"

    def pending_for(self, customer_id: str, subscription_id: str | None) -> list[Record]:
        """Pending items a new invoice of this customer (and subscription) sweeps in.

        A subscription invoice takes the customer's pending items that belong to that
        subscription or to none; a manual invoice takes those that belong to none.
        """
        c = invoice_items.c
        belongs: ColumnElement[bool] = c.subscription.is_(None)
        if subscription_id is not None:
            belongs = or_(c.subscription.is_(None), c.subscription == subscription_id)
        query = select(invoice_items).where(
            *self._in_scope(), c.customer == customer_id, c.invoice.is_(None), belongs
        )
        return list(self.connection.execute(query.order_by(c.pk)).mappings())

    def attach(self, item_ids: Sequence[str], invoice_id: str) -> None:
        """Mark pending items as invoiced."""
        if item_ids:
            c = invoice_items.c
            self.connection.execute(
                update(invoice_items)
                .where(*self._in_scope(), c.id.in_(list(item_ids)))
                .values(invoice=invoice_id)
            )

    def on_invoice(self, invoice_id: str) -> list[Record]:
        """The items an invoice holds, in the order they were created."""
        c = invoice_items.c
        query = select(invoice_items).where(*self._in_scope(), c.invoice == invoice_id)
        return list(self.connection.execute(query.order_by(c.pk)).mappings())

    def detach_from(self, invoice_id: str) -> None:
        """Return a deleted draft's items to pending."""
        c = invoice_items.c
        self.connection.execute(
            update(invoice_items)
            .where(*self._in_scope(), c.invoice == invoice_id)
            .values(invoice=None)
        )

    def list_items(
        self,
        request: PageRequest,
        *,
        customer: str | None = None,
        invoice: str | None = None,
        pending: bool | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of invoice items, optionally filtered."""
        c = invoice_items.c
        conditions: list[ColumnElement[bool]] = []
        if customer is not None:
            conditions.append(c.customer == customer)
        if invoice is not None:
            conditions.append(c.invoice == invoice)
        if pending is not None:
            conditions.append(c.invoice.is_(None) if pending else c.invoice.is_not(None))
        return self.page(request, *conditions, created=created)


class ChargeRepository(ObjectRepository):
    """Charges made on payment methods."""

    table = charges
    kind = "charge"

    def succeeded_for(self, invoice_id: str) -> Record | None:
        """The successful charge of an invoice, if any (there is at most one)."""
        c = charges.c
        query = select(charges).where(
            *self._in_scope(), c.invoice == invoice_id, c.status == "succeeded"
        )
        return self.connection.execute(query).mappings().first()

    def latest_for(self, invoice_id: str) -> Record | None:
        """The most recent charge attempted for an invoice."""
        c = charges.c
        query = select(charges).where(*self._in_scope(), c.invoice == invoice_id)
        return self.connection.execute(query.order_by(c.pk.desc()).limit(1)).mappings().first()

    def count_for(self, invoice_id: str) -> int:
        """How many charges were attempted for an invoice."""
        return self.count(charges.c.invoice == invoice_id)


class EventRepository(ObjectRepository):
    """Events: one per state change, kept 30 days."""

    table = events
    kind = "event"

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert events in one statement."""
        if rows:
            scope = {"account_id": self.scope.account_id, "livemode": self.scope.livemode}
            self.connection.execute(insert(events), [dict(r, **scope) for r in rows])

    def list_events(
        self,
        request: PageRequest,
        *,
        types: Sequence[str] | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of events; `types` entries may end in `.*` (a prefix)."""
        c = events.c
        conditions: list[ColumnElement[bool]] = []
        if types:
            matches = [c.type.startswith(t[:-1]) if t.endswith("*") else c.type == t for t in types]
            conditions.append(or_(*matches))
        return self.page(request, *conditions, created=created)


def purge_events_before(uow: UnitOfWork, cutoff: datetime) -> int:
    """Delete every tenant's events written before `cutoff` (wall clock); returns how many."""
    result = uow.connection.execute(delete(events).where(events.c.recorded_at < cutoff))
    return int(result.rowcount or 0)
