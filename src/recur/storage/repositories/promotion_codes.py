"""Promotion codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from recur.storage.repositories.base import (
    CreatedFilter,
    ObjectRepository,
    Page,
    PageRequest,
    Record,
)
from recur.storage.tables import coupons, promotion_codes


class PromotionCodeRepository(ObjectRepository):
    """Promotion codes of one tenant."""

    table = promotion_codes
    kind = "promotion code"

    def update_unique(self, promotion_code_id: str, values: Mapping[str, Any]) -> Record | None:
        """Update a code, or return None when that would make two active codes alike."""
        try:
            with self.connection.begin_nested():
                return self.update(promotion_code_id, values)
        except IntegrityError:
            return None

    def flagged_active_with_code(self, code_key: str) -> list[Record]:
        """Codes of this tenant with this (upper-cased) text whose `active` flag is set."""
        p = promotion_codes.c
        query = select(promotion_codes).where(
            *self._in_scope(), p.code_key == code_key, p.active.is_(True)
        )
        return list(self.connection.execute(query).mappings())

    def currently_active(self, now: int) -> ColumnElement[bool]:
        """Flagged active, not expired, not used up, and its coupon still valid at `now`."""
        p, c = promotion_codes.c, coupons.c
        coupon_valid = exists().where(
            c.id == p.coupon,
            c.account_id == p.account_id,
            c.livemode == p.livemode,
            c.deleted.is_(False),
            or_(c.redeem_by.is_(None), c.redeem_by > now),
            or_(c.max_redemptions.is_(None), c.times_redeemed < c.max_redemptions),
        )
        return and_(
            p.active.is_(True),
            or_(p.expires_at.is_(None), p.expires_at > now),
            or_(p.max_redemptions.is_(None), p.times_redeemed < p.max_redemptions),
            coupon_valid,
        )

    def list_promotion_codes(
        self,
        request: PageRequest,
        *,
        now: int,
        active: bool | None = None,
        code_key: str | None = None,
        coupon: str | None = None,
        customer: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of promotion codes, optionally filtered."""
        p = promotion_codes.c
        conditions: list[ColumnElement[bool]] = []
        if active is not None:
            is_active = self.currently_active(now)
            conditions.append(is_active if active else not_(is_active))
        if code_key is not None:
            conditions.append(p.code_key == code_key)
        if coupon is not None:
            conditions.append(p.coupon == coupon)
        if customer is not None:
            conditions.append(p.customer == customer)
        return self.page(request, *conditions, created=created)

    def redeem(self, promotion_code_id: str, now: int) -> bool:
        """Count one redemption if the code is still redeemable; False if it is not.

        One conditional UPDATE, like `CouponRepository.redeem`: the limit holds under
        concurrent redemptions.
        """
        p = promotion_codes.c
        result = self.connection.execute(
            update(promotion_codes)
            .where(
                p.id == promotion_code_id,
                *self._in_scope(),
                p.active.is_(True),
                or_(p.expires_at.is_(None), p.expires_at > now),
                or_(p.max_redemptions.is_(None), p.times_redeemed < p.max_redemptions),
            )
            .values(times_redeemed=p.times_redeemed + 1)
        )
        return result.rowcount == 1

    def unredeem(self, promotion_code_id: str) -> None:
        """Take back a redemption counted earlier in this same transaction."""
        p = promotion_codes.c
        self.connection.execute(
            update(promotion_codes)
            .where(p.id == promotion_code_id, *self._in_scope(), p.times_redeemed > 0)
            .values(times_redeemed=p.times_redeemed - 1)
        )
