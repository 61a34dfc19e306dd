"""Coupons."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, update

from recur.storage.repositories.base import (
    CreatedFilter,
    ObjectRepository,
    Page,
    PageRequest,
)
from recur.storage.tables import coupons


class CouponRepository(ObjectRepository):
    """Coupons of one tenant; deleted coupons stay as tombstones for existing discounts."""

    table = coupons
    kind = "coupon"

    def list_coupons(self, request: PageRequest, *, created: CreatedFilter | None = None) -> Page:
        """A page of coupons that are not deleted."""
        return self.page(request, coupons.c.deleted.is_(False), created=created)

    def redeemable(self, now: int) -> list[ColumnElement[bool]]:
        """The conditions under which a coupon can still be redeemed at `now` (unix)."""
        c = coupons.c
        return [
            c.deleted.is_(False),
            or_(c.redeem_by.is_(None), c.redeem_by > now),
            or_(c.max_redemptions.is_(None), c.times_redeemed < c.max_redemptions),
        ]

    def redeem(self, coupon_id: str, now: int) -> bool:
        """Count one redemption if the coupon is still redeemable; False if it is not.

        One conditional UPDATE: concurrent redemptions serialize on the row, and each
        re-checks `times_redeemed < max_redemptions`, so the limit is never exceeded.
        """
        c = coupons.c
        result = self.connection.execute(
            update(coupons)
            .where(c.id == coupon_id, *self._in_scope(), *self.redeemable(now))
            .values(times_redeemed=c.times_redeemed + 1)
        )
        return result.rowcount == 1

    def unredeem(self, coupon_id: str) -> None:
        """Take back a redemption counted earlier in this same transaction."""
        c = coupons.c
        self.connection.execute(
            update(coupons)
            .where(c.id == coupon_id, *self._in_scope(), c.times_redeemed > 0)
            .values(times_redeemed=c.times_redeemed - 1)
        )
