"""Tax rates."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from recur.storage.repositories.base import CreatedFilter, ObjectRepository, Page, PageRequest
from recur.storage.tables import tax_rates


class TaxRateRepository(ObjectRepository):
    """Tax rates of one tenant (never deleted: archived with `active=false`)."""

    table = tax_rates
    kind = "tax rate"

    def list_tax_rates(
        self,
        request: PageRequest,
        *,
        active: bool | None = None,
        inclusive: bool | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of tax rates, optionally filtered."""
        t = tax_rates.c
        conditions: list[ColumnElement[bool]] = []
        if active is not None:
            conditions.append(t.active.is_(active))
        if inclusive is not None:
            conditions.append(t.inclusive.is_(inclusive))
        return self.page(request, *conditions, created=created)
