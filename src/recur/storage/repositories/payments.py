"""Payment intents, payment attempts (charges) and refunds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select, update

from recur.storage.repositories.base import (
    CreatedFilter,
    ObjectRepository,
    Page,
    PageRequest,
    Record,
)
from recur.storage.tables import charges, gateway_rate_limits, payment_intents, refunds

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork


class PaymentIntentRepository(ObjectRepository):
    """Payment intents of one tenant."""

    table = payment_intents
    kind = "payment_intent"

    def of_invoice(self, invoice_id: str) -> list[Record]:
        """The intents that collect an invoice, oldest first."""
        c = payment_intents.c
        query = select(payment_intents).where(*self._in_scope(), c.invoice == invoice_id)
        return list(self.connection.execute(query.order_by(c.pk)).mappings())

    def of_invoices(self, invoice_ids: Sequence[str]) -> dict[str, list[Record]]:
        """The intents of several invoices (one query), oldest first each."""
        found: dict[str, list[Record]] = {}
        if not invoice_ids:
            return found
        c = payment_intents.c
        query = select(payment_intents).where(
            *self._in_scope(), c.invoice.in_(sorted(set(invoice_ids)))
        )
        for row in self.connection.execute(query.order_by(c.pk)).mappings():
            found.setdefault(row["invoice"], []).append(row)
        return found

    def list_intents(
        self,
        request: PageRequest,
        *,
        customer: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of intents, optionally of one customer."""
        conditions: list[ColumnElement[bool]] = []
        if customer is not None:
            conditions.append(payment_intents.c.customer == customer)
        return self.page(request, *conditions, created=created)


class AttemptRepository(ObjectRepository):
    """Charges seen as payment attempts: pending ones, by key, per intent or invoice."""

    table = charges
    kind = "charge"

    def pending_for_invoice(self, invoice_id: str) -> Record | None:
        """The invoice's attempt in flight or of unknown outcome, if any (at most one)."""
        c = charges.c
        query = select(charges).where(
            *self._in_scope(), c.invoice == invoice_id, c.status == "pending"
        )
        return self.connection.execute(query).mappings().first()

    def pending_for_intent(self, intent_id: str) -> Record | None:
        """The intent's attempt in flight or of unknown outcome, if any (at most one)."""
        c = charges.c
        query = select(charges).where(
            *self._in_scope(), c.payment_intent == intent_id, c.status == "pending"
        )
        return self.connection.execute(query).mappings().first()

    def by_key(self, idempotency_key: str) -> Record | None:
        """The attempt made under this idempotency key."""
        c = charges.c
        query = select(charges).where(*self._in_scope(), c.idempotency_key == idempotency_key)
        return self.connection.execute(query).mappings().first()

    def count_for_intent(self, intent_id: str) -> int:
        """How many attempts an intent has had."""
        return self.count(charges.c.payment_intent == intent_id)

    def first_failure_for_invoice(self, invoice_id: str) -> Record | None:
        """The invoice's earliest failed attempt."""
        c = charges.c
        query = select(charges).where(
            *self._in_scope(), c.invoice == invoice_id, c.status == "failed"
        )
        return self.connection.execute(query.order_by(c.pk).limit(1)).mappings().first()

    def list_charges(
        self,
        request: PageRequest,
        *,
        customer: str | None = None,
        payment_intent: str | None = None,
        invoice: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of charges, optionally filtered."""
        c = charges.c
        conditions: list[ColumnElement[bool]] = []
        if customer is not None:
            conditions.append(c.customer == customer)
        if payment_intent is not None:
            conditions.append(c.payment_intent == payment_intent)
        if invoice is not None:
            conditions.append(c.invoice == invoice)
        return self.page(request, *conditions, created=created)

    def keys_known(self, keys: Sequence[str]) -> dict[str, str]:
        """Of these idempotency keys, those Recur has an attempt for, with its status."""
        c = charges.c
        found: dict[str, str] = {}
        for first in range(0, len(keys), 1000):
            chunk = list(keys[first : first + 1000])
            query = select(c.idempotency_key, c.status).where(
                *self._in_scope(), c.idempotency_key.in_(chunk)
            )
            found.update({row[0]: row[1] for row in self.connection.execute(query)})
        return found


class RefundRepository(ObjectRepository):
    """Refunds of one tenant."""

    table = refunds
    kind = "refund"

    def of_charge(self, charge_id: str) -> list[Record]:
        """A charge's refunds, newest first."""
        c = refunds.c
        query = select(refunds).where(*self._in_scope(), c.charge == charge_id)
        return list(self.connection.execute(query.order_by(c.pk.desc())).mappings())

    def held_amount(self, charge_id: str) -> int:
        """What succeeded and pending refunds take (or may take) off a charge."""
        c = refunds.c
        query = select(func.coalesce(func.sum(c.amount), 0)).where(
            *self._in_scope(), c.charge == charge_id, c.status.in_(("succeeded", "pending"))
        )
        return int(self.connection.execute(query).scalar_one())

    def count_for_charge(self, charge_id: str) -> int:
        """How many refunds a charge has had (any status)."""
        return self.count(refunds.c.charge == charge_id)

    def by_key(self, idempotency_key: str) -> Record | None:
        """The refund made under this idempotency key."""
        c = refunds.c
        query = select(refunds).where(*self._in_scope(), c.idempotency_key == idempotency_key)
        return self.connection.execute(query).mappings().first()

    def list_refunds(
        self,
        request: PageRequest,
        *,
        charge: str | None = None,
        payment_intent: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of refunds, optionally filtered."""
        return self.page_matching(
            request, created=created, charge=charge, payment_intent=payment_intent
        )


class PendingPayments:
    """Unscoped: attempts and refunds of every tenant whose outcome is still unknown."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.connection = uow.connection

    def pending_charges(
        self, recorded_before: datetime, limit: int, *, lock: bool = True
    ) -> list[Record]:
        """Pending attempts written before then (locked, SKIP LOCKED, on PostgreSQL)."""
        c = charges.c
        query = (
            select(c.account_id, c.livemode, c.id)
            .where(c.status == "pending", c.recorded_at < recorded_before)
            .order_by(c.recorded_at)
            .limit(limit)
        )
        if lock and self.uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.connection.execute(query).mappings())

    def pending_refunds(
        self, recorded_before: datetime, limit: int, *, lock: bool = True
    ) -> list[Record]:
        """Pending refunds written before then (locked, SKIP LOCKED, on PostgreSQL)."""
        c = refunds.c
        query = (
            select(c.account_id, c.livemode, c.id)
            .where(c.status == "pending", c.recorded_at < recorded_before)
            .order_by(c.recorded_at)
            .limit(limit)
        )
        if lock and self.uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.connection.execute(query).mappings())


class GatewayRateLimits:
    """Unscoped: the token buckets that pace calls to each gateway (all workers share them)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.connection = uow.connection

    def take(self, key: str, *, rate: float, burst: float, wanted: int, wall: float) -> int:
        """Take up to `wanted` tokens from `key`'s bucket at wall-clock time `wall`.

        The bucket refills at `rate` tokens per second up to `burst`; returns how many
        were taken (whole tokens). The row is locked while it is read and written, so
        concurrent workers never take the same token.
        """
        t = gateway_rate_limits.c
        query = select(t.tokens, t.refilled_at).where(t.gateway_key == key)
        if self.uow.dialect == "postgresql":
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        if row is None:
            self.connection.execute(_insert_ignoring_conflict(self.uow.dialect, key, burst, wall))
            row = self.connection.execute(query).first()
            if row is None:
                raise RuntimeError(f"rate limit bucket {key} vanished")
        tokens = min(burst, float(row.tokens) + max(0.0, wall - float(row.refilled_at)) * rate)
        taken = max(0, min(wanted, int(tokens)))
        self.connection.execute(
            update(gateway_rate_limits)
            .where(t.gateway_key == key)
            .values(tokens=tokens - taken, refilled_at=max(wall, float(row.refilled_at)))
        )
        return taken


def _insert_ignoring_conflict(dialect: str, key: str, tokens: float, wall: float) -> Any:
    values = {"gateway_key": key, "tokens": tokens, "refilled_at": wall}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(gateway_rate_limits).values(values).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(gateway_rate_limits).values(values).on_conflict_do_nothing()
