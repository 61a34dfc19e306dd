"""Payment methods."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from recur.storage.repositories.base import CreatedFilter, ObjectRepository, Page, PageRequest
from recur.storage.tables import payment_methods


class PaymentMethodRepository(ObjectRepository):
    """Payment methods of one tenant."""

    table = payment_methods
    kind = "PaymentMethod"

    def list_payment_methods(
        self,
        request: PageRequest,
        *,
        customer: str | None = None,
        type: str | None = None,
        allow_redisplay: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of payment methods, optionally only one customer's or one type's."""
        c = payment_methods.c
        conditions: list[ColumnElement[bool]] = []
        if customer is not None:
            conditions.append(c.customer == customer)
        if type is not None:
            conditions.append(c.type == type)
        if allow_redisplay is not None:
            conditions.append(c.allow_redisplay == allow_redisplay)
        return self.page(request, *conditions, created=created)
