"""Customers."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from recur.storage.repositories.base import CreatedFilter, ObjectRepository, Page, PageRequest
from recur.storage.tables import customers


class CustomerRepository(ObjectRepository):
    """Customers of one tenant; deleted customers stay retrievable as tombstones."""

    table = customers
    kind = "customer"

    def list_customers(
        self,
        request: PageRequest,
        *,
        email: str | None = None,
        test_clock: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of live (not deleted) customers, optionally filtered."""
        c = customers.c
        conditions: list[ColumnElement[bool]] = [c.deleted.is_(False)]
        if email is not None:
            conditions.append(c.email == email)
        if test_clock is not None:
            conditions.append(c.test_clock == test_clock)
        return self.page(request, *conditions, created=created)

    def invoice_prefix_taken(self, prefix: str) -> bool:
        """Whether another customer of the account already uses this invoice prefix."""
        query = select(customers.c.id).where(
            customers.c.account_id == self.scope.account_id, customers.c.invoice_prefix == prefix
        )
        return self.connection.execute(query.limit(1)).first() is not None
