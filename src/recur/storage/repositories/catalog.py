"""Products and prices."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select

from recur.storage.repositories.base import (
    CreatedFilter,
    ObjectRepository,
    Page,
    PageRequest,
    Record,
)
from recur.storage.tables import prices, products


class ProductRepository(ObjectRepository):
    """Products of one tenant (deleting one removes its row)."""

    table = products
    kind = "product"

    def list_products(
        self,
        request: PageRequest,
        *,
        active: bool | None = None,
        ids: Sequence[str] | None = None,
        shippable: bool | None = None,
        url: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of products, optionally filtered."""
        c = products.c
        conditions: list[ColumnElement[bool]] = []
        if active is not None:
            conditions.append(c.active.is_(active))
        if ids is not None:
            conditions.append(c.id.in_(list(ids)))
        if shippable is not None:
            conditions.append(c.shippable.is_(shippable))
        if url is not None:
            conditions.append(c.url == url)
        return self.page(request, *conditions, created=created)

    def id_taken(self, object_id: str) -> bool:
        """Whether a product of this tenant (deleted ones included) already has this id."""
        return self.find(object_id) is not None


class PriceRepository(ObjectRepository):
    """Prices of one tenant (Stripe never deletes prices, it archives them)."""

    table = prices
    kind = "price"

    def list_prices(
        self,
        request: PageRequest,
        *,
        product: str | None = None,
        active: bool | None = None,
        type: str | None = None,
        currency: str | None = None,
        lookup_keys: Sequence[str] | None = None,
        recurring_interval: str | None = None,
        recurring_usage_type: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of prices, optionally filtered."""
        c = prices.c
        conditions: list[ColumnElement[bool]] = []
        if product is not None:
            conditions.append(c.product == product)
        if active is not None:
            conditions.append(c.active.is_(active))
        if type is not None:
            conditions.append(c.type == type)
        if currency is not None:
            conditions.append(c.currency == currency)
        if lookup_keys is not None:
            conditions.append(c.lookup_key.in_(list(lookup_keys)))
        if recurring_interval is not None:
            conditions.append(c.recurring_interval == recurring_interval)
        if recurring_usage_type is not None:
            conditions.append(c.recurring_usage_type == recurring_usage_type)
        return self.page(request, *conditions, created=created)

    def find_by_lookup_key(self, lookup_key: str, *, for_update: bool = False) -> Record | None:
        """The tenant's price holding this lookup key, if any."""
        query = select(prices).where(prices.c.lookup_key == lookup_key, *self._in_scope())
        if for_update and self.uow.dialect == "postgresql":
            query = query.with_for_update()
        return self.connection.execute(query).mappings().first()

    def product_has_prices(self, product_id: str) -> bool:
        """Whether any price (archived ones included) belongs to this product."""
        query = select(prices.c.pk).where(prices.c.product == product_id, *self._in_scope())
        return self.connection.execute(query.limit(1)).first() is not None
