"""Coupons as arithmetic: what a discount takes off each line, and for how long it lasts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from recur.domain.money import percent_ratio, round_ratio_half_up
from recur.domain.periods import add_intervals

Duration = Literal["once", "repeating", "forever"]

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class CouponTerms:
    """The parts of a coupon that decide what it takes off, and for how long.

    Exactly one of `percent_off` (0 < p ≤ 100) and `amount_off` (minor units of
    `currency`) is set. `applies_to_products` of None means every product.
    """

    percent_off: Decimal | None
    amount_off: int | None
    currency: str | None
    duration: Duration
    duration_in_months: int | None = None
    applies_to_products: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("a coupon has exactly one of percent_off and amount_off")
        if self.percent_off is not None and not (0 < self.percent_off <= HUNDRED):
            raise ValueError(f"percent_off must be in (0, 100], got {self.percent_off}")
        if self.amount_off is not None and (self.amount_off <= 0 or self.currency is None):
            raise ValueError("amount_off must be positive and come with a currency")
        if (self.duration == "repeating") != (self.duration_in_months is not None):
            raise ValueError("duration_in_months is required exactly when duration is repeating")
        if self.duration_in_months is not None and self.duration_in_months < 1:
            raise ValueError("duration_in_months must be at least 1")

    def applies_to_product(self, product: str | None) -> bool:
        """Whether a line of `product` (None: a line without a product) can be discounted."""
        if self.applies_to_products is None:
            return True
        return product is not None and product in self.applies_to_products


def discount_amounts(
    line_amounts: Sequence[int], coupon: CouponTerms, eligible: Sequence[bool]
) -> list[int]:
    """Return the amount the coupon takes off each line (0 for ineligible lines).

    Percent off: `round_half_up(amount * p / 100)` once per line; a negative line (a
    proration credit) gets a negative discount, i.e. the credit shrinks by the same share,
    as the charge it reverses was discounted. Amount off: `min(amount_off, Σ eligible
    positive amounts)` spread over the eligible positive lines in proportion to their
    amounts, by the largest-remainder method, so the parts add up exactly and no line is
    discounted below zero; credits take no part of a fixed amount. The caller checks that
    the coupon's currency is the lines' currency.
    """
    if len(line_amounts) != len(eligible):
        raise ValueError("line_amounts and eligible must have the same length")
    if coupon.percent_off is not None:
        # round_half_up(amount * percent_off / 100), on integers: the same exact ratio.
        numerator, denominator = percent_ratio(coupon.percent_off)
        return [
            round_ratio_half_up(amount * numerator, denominator) if ok else 0
            for amount, ok in zip(line_amounts, eligible, strict=True)
        ]
    if coupon.amount_off is None:  # unreachable: CouponTerms has exactly one of the two
        raise ValueError("a coupon has exactly one of percent_off and amount_off")
    weights = [
        amount if ok and amount > 0 else 0
        for amount, ok in zip(line_amounts, eligible, strict=True)
    ]
    return allocate(min(coupon.amount_off, sum(weights)), weights)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` ≥ 0 over non-negative `weights` proportionally, parts summing to `total`.

    Largest-remainder method: every part is the floor of its exact share, then the units
    left over go one each to the parts with the largest fractional remainders (ties to the
    earlier part, so the result is deterministic). With `total ≤ Σ weights` no part
    exceeds its weight.
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate needs a non-negative total and non-negative weights")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise ValueError("cannot allocate a positive total over zero weights")
        return [0] * len(weights)
    exact = [Fraction(total * w, weight_sum) for w in weights]
    parts = [int(share) for share in exact]  # floor: every share is non-negative
    left = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def discount_end(
    duration: Duration, duration_in_months: int | None, start: datetime
) -> datetime | None:
    """Return when a discount started at `start` stops applying (Stripe's `discount.end`).

    Only `repeating` discounts end by time: `duration_in_months` months after the start,
    with the month-end rule (started Jan 31 for one month → ends Feb 28/29). `forever`
    never ends; `once` ends by use, not by time — see `discount_active`.
    """
    if duration != "repeating":
        return None
    if duration_in_months is None or duration_in_months < 1:
        raise ValueError("a repeating discount needs duration_in_months ≥ 1")
    return add_intervals(start, "month", 1, duration_in_months)


def discount_active(
    duration: Duration, duration_in_months: int | None, start: datetime, at: datetime
) -> bool:
    """Whether a discount that started at `start` still applies to an invoice made at `at`.

    Measured from when the discount started (not from the coupon's creation): repeating
    discounts apply while `start ≤ at < end`, so a 3-month coupon on a monthly plan covers
    exactly three invoices. A `once` discount is active from its start until an invoice
    has used it; removing it after that first invoice is the invoicing code's job, since
    it depends on invoices, not on time.
    """
    if at < start:
        return False
    end = discount_end(duration, duration_in_months, start)
    return end is None or at < end
