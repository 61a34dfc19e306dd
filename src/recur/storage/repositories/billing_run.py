"""Bulk reads and writes for the billing run: a batch of subscriptions in a few statements.

The billing run (services/billing_run.py) loads everything a batch of renewals needs with
one `IN` query per table, computes the renewals in memory, and writes the results with one
multi-row statement per table. Every query is scoped to the tenant, as in the other
repositories.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, select

from recur.storage import bulk
from recur.storage.repositories.base import Record
from recur.storage.tables import (
    charges,
    coupons,
    customer_balance_transactions,
    customers,
    events,
    invoice_items,
    invoice_lines,
    invoices,
    payment_intents,
    payment_methods,
    prices,
    products,
    subscription_items,
    subscriptions,
    tax_rates,
)

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork

# Bound parameters in one `IN (…)` list; SQLite allows 32,766 variables per statement.
IN_CHUNK = 2000

TABLES: dict[str, Table] = {
    "charge": charges,
    "coupon": coupons,
    "customer": customers,
    "customer_balance_transaction": customer_balance_transactions,
    "event": events,
    "invoice": invoices,
    "invoice_line": invoice_lines,
    "payment_intent": payment_intents,
    "payment_method": payment_methods,
    "price": prices,
    "product": products,
    "subscription": subscriptions,
    "tax_rate": tax_rates,
}


def as_stored(
    kind: str, row: Mapping[str, Any], *, account_id: str, livemode: bool
) -> dict[str, Any]:
    """A new row as a read would return it: the columns it leaves out at their defaults
    (server-side defaults and the surrogate key, unknown before the insert, are None)."""
    template, fresh = _template(kind)
    stored = template.copy()
    stored.update(row)
    for name, make in fresh:
        if name not in row:
            stored[name] = make()
    stored["account_id"], stored["livemode"] = account_id, livemode
    return stored


@cache
def _template(kind: str) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]:
    """Every column at its scalar default (None if it has none), in column order; and the
    columns whose default must be made fresh for each row (a new list or dict)."""
    callable_defaults = {column.name for column in TABLES[kind].columns if _is_callable(column)}
    makers = _defaults(kind)
    template = {name: None if name in callable_defaults else make() for name, make in makers}
    return template, tuple((name, make) for name, make in makers if name in callable_defaults)


def _is_callable(column: Any) -> bool:
    return column.default is not None and bool(column.default.is_callable)


@cache
def _defaults(kind: str) -> tuple[tuple[str, Callable[[], Any]], ...]:
    """Each column's client-side default as a function (a fresh list or dict each time)."""
    makers: list[tuple[str, Callable[[], Any]]] = []
    for column in TABLES[kind].columns:
        default: Any = column.default
        if default is not None and default.is_callable:
            makers.append((column.name, partial(default.arg, None)))
        elif default is not None and default.is_scalar:
            makers.append((column.name, partial(lambda value: value, default.arg)))
        else:
            makers.append((column.name, lambda: None))
    return tuple(makers)


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for first in range(0, len(values), IN_CHUNK):
        yield list(values[first : first + IN_CHUNK])


class BillingRunStore:
    """One tenant's rows for a batch of subscriptions, read and written in bulk."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.scope = uow.scope
        self.connection = uow.connection

    def _scoped(self, table: Table) -> list[Any]:
        return [
            table.c.account_id == self.scope.account_id,
            table.c.livemode == self.scope.livemode,
        ]

    def rows_by_id(
        self, kind: str, ids: Iterable[str], *, for_update: bool = False
    ) -> dict[str, Record]:
        """The tenant's objects of `kind` with these ids (locked, in id order, if asked)."""
        table = TABLES[kind]
        wanted = sorted(set(ids))
        found: dict[str, Record] = {}
        for chunk in _chunks(wanted):
            query = select(table).where(*self._scoped(table), table.c.id.in_(chunk))
            if for_update and self.uow.dialect == "postgresql":
                # Locked in id order, so two workers locking overlapping sets cannot deadlock.
                query = query.order_by(table.c.id).with_for_update()
            for row in self.connection.execute(query).mappings():
                found[row["id"]] = row
        return found

    def _grouped(
        self, table: Table, column: str, keys: Sequence[str], *conditions: Any
    ) -> dict[str, list[Record]]:
        grouped: dict[str, list[Record]] = defaultdict(list)
        for chunk in _chunks(sorted(set(keys))):
            query = (
                select(table)
                .where(*self._scoped(table), table.c[column].in_(chunk), *conditions)
                .order_by(table.c.pk)
            )
            for row in self.connection.execute(query).mappings():
                grouped[row[column]].append(row)
        return grouped

    def items_of(self, subscription_ids: Sequence[str]) -> dict[str, list[Record]]:
        """Current items of each subscription, in the order they were added."""
        return self._grouped(
            subscription_items,
            "subscription",
            subscription_ids,
            subscription_items.c.deleted.is_(False),
        )

    def open_or_draft_of(self, subscription_ids: Sequence[str]) -> dict[str, list[Record]]:
        """Each subscription's drafts and open invoices (what time can still move)."""
        return self._grouped(
            invoices,
            "subscription",
            subscription_ids,
            invoices.c.status.in_(("draft", "open")),
        )

    def lines_of(self, invoice_ids: Sequence[str]) -> dict[str, list[Record]]:
        """Each invoice's lines, in invoice order."""
        grouped = self._grouped(invoice_lines, "invoice", invoice_ids)
        for lines in grouped.values():
            lines.sort(key=lambda line: (line["position"], line["pk"]))
        return grouped

    def intents_of(self, invoice_ids: Sequence[str]) -> dict[str, list[Record]]:
        """The PaymentIntents of each invoice, oldest first."""
        return self._grouped(payment_intents, "invoice", invoice_ids)

    def invoices_with_pending_attempts(self, invoice_ids: Sequence[str]) -> set[str]:
        """Which of these invoices have an attempt whose outcome is still unknown."""
        found: set[str] = set()
        c = charges.c
        for chunk in _chunks(sorted(set(invoice_ids))):
            query = select(c.invoice).where(
                *self._scoped(charges), c.invoice.in_(chunk), c.status == "pending"
            )
            found.update(self.connection.execute(query).scalars())
        return found

    def customers_with_pending_items(self, customer_ids: Sequence[str]) -> set[str]:
        """Customers that have invoice items waiting for their next invoice."""
        c = invoice_items.c
        found: set[str] = set()
        for chunk in _chunks(sorted(set(customer_ids))):
            query = select(c.customer).where(
                *self._scoped(invoice_items), c.customer.in_(chunk), c.invoice.is_(None)
            )
            found.update(self.connection.execute(query).scalars())
        return found

    def insert_rows(self, kind: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert new objects of this tenant in one driver call."""
        scope = {"account_id": self.scope.account_id, "livemode": self.scope.livemode}
        bulk.insert_rows(self.connection, TABLES[kind], rows, scope)

    def update_rows(self, kind: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Set columns of existing objects by surrogate key (`pk`); every row sets the same
        columns. One driver call."""
        bulk.update_rows(self.connection, TABLES[kind], rows)
