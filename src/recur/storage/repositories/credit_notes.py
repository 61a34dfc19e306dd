"""Credit notes, their lines, and customer balance transactions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select

from recur.storage.repositories.base import (
    CreatedFilter,
    ObjectRepository,
    Page,
    PageRequest,
    Record,
)
from recur.storage.tables import credit_note_lines, credit_notes, customer_balance_transactions


class CreditNoteRepository(ObjectRepository):
    """Credit notes of one tenant."""

    table = credit_notes
    kind = "credit note"

    def of_invoice(self, invoice_id: str) -> list[Record]:
        """An invoice's credit notes (void ones included), oldest first."""
        c = credit_notes.c
        query = select(credit_notes).where(*self._in_scope(), c.invoice == invoice_id)
        return list(self.connection.execute(query.order_by(c.pk)).mappings())

    def count_of_invoice(self, invoice_id: str) -> int:
        """How many credit notes an invoice has had (void ones included): its sequence."""
        c = credit_notes.c
        query = (
            select(func.count())
            .select_from(credit_notes)
            .where(*self._in_scope(), c.invoice == invoice_id)
        )
        return int(self.connection.execute(query).scalar_one())

    def list_credit_notes(
        self,
        request: PageRequest,
        *,
        customer: str | None = None,
        invoice: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of credit notes, optionally filtered."""
        c = credit_notes.c
        conditions: list[ColumnElement[bool]] = []
        if customer is not None:
            conditions.append(c.customer == customer)
        if invoice is not None:
            conditions.append(c.invoice == invoice)
        return self.page(request, *conditions, created=created)


class CreditNoteLineRepository(ObjectRepository):
    """Lines of credit notes."""

    table = credit_note_lines
    kind = "credit note line item"

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert the lines of one credit note in one statement."""
        if rows:
            scope = {"account_id": self.scope.account_id, "livemode": self.scope.livemode}
            self.connection.execute(insert(credit_note_lines), [dict(r, **scope) for r in rows])

    def lines_of(self, credit_note_ids: Sequence[str]) -> list[Record]:
        """The lines of these credit notes, each note's in order."""
        if not credit_note_ids:
            return []
        c = credit_note_lines.c
        query = select(credit_note_lines).where(
            *self._in_scope(), c.credit_note.in_(list(credit_note_ids))
        )
        return list(self.connection.execute(query.order_by(c.position, c.pk)).mappings())

    def page_of(self, credit_note_id: str, request: PageRequest) -> Page:
        """A page of one credit note's lines, in order (as Stripe lists them; they are
        inserted in order, so their keys are too)."""
        c = credit_note_lines.c
        query = select(credit_note_lines).where(*self._in_scope(), c.credit_note == credit_note_id)
        if request.ending_before is not None:
            cursor = self._cursor(request.ending_before, "ending_before")
            query = query.where(c.pk < cursor).order_by(c.pk.desc())
            rows = list(self.connection.execute(query.limit(request.limit + 1)).mappings())
            return Page(list(reversed(rows[: request.limit])), len(rows) > request.limit)
        if request.starting_after is not None:
            query = query.where(c.pk > self._cursor(request.starting_after, "starting_after"))
        query = query.order_by(c.pk).limit(request.limit + 1)
        rows = list(self.connection.execute(query).mappings())
        return Page(rows[: request.limit], len(rows) > request.limit)


class BalanceTransactionRepository(ObjectRepository):
    """The customer balance ledger of one tenant."""

    table = customer_balance_transactions
    kind = "customer balance transaction"

    def list_of_customer(
        self,
        request: PageRequest,
        customer_id: str,
        *,
        invoice: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of one customer's transactions, newest first."""
        c = customer_balance_transactions.c
        conditions: list[ColumnElement[bool]] = [c.customer == customer_id]
        if invoice is not None:
            conditions.append(c.invoice == invoice)
        return self.page(request, *conditions, created=created)
