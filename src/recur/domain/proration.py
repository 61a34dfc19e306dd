"""Proration lines for a mid-period change: credit the unused old items, charge the new ones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from recur.domain.invoicing import LineDraft
from recur.domain.money import round_half_up
from recur.domain.periods import proration_factor


@dataclass(frozen=True)
class ProratedItem:
    """A subscription item's full-period amount, before or after a change."""

    unit_amount_for_quantity: Fraction
    description: str
    price_id: str
    product_id: str | None
    quantity: int
    subscription_item_id: str | None


def _key(item: ProratedItem) -> tuple[str, int, str | None]:
    return (item.price_id, item.quantity, item.subscription_item_id)


def _line(
    item: ProratedItem, amount: int, description: str, at: datetime, period_end: datetime
) -> LineDraft:
    return LineDraft(
        amount=amount,
        description=description,
        period_start=at,
        period_end=period_end,
        quantity=item.quantity,
        price_id=item.price_id,
        product_id=item.product_id,
        proration=True,
        subscription_item_id=item.subscription_item_id,
        kind="invoiceitem",
    )


def proration_lines(
    old: Sequence[ProratedItem],
    new: Sequence[ProratedItem],
    *,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
) -> list[LineDraft]:
    """Return the credits for `old` and the debits for `new` over `[at, period_end)`."""
    factor = proration_factor(period_start, period_end, at)
    if factor == 0:
        return []  # Nothing of the period is left to credit or charge.
    at = min(max(at, period_start), period_end)
    when = f"{at:%d %b %Y}"
    # Items present on both sides with the same price, quantity and item cancel out.
    unchanged = Counter(_key(item) for item in old) & Counter(_key(item) for item in new)
    lines: list[LineDraft] = []
    for items, sign, wording in ((old, -1, "Unused"), (new, 1, "Remaining")):
        left = Counter(unchanged)
        for item in items:
            if left[_key(item)] > 0:
                left[_key(item)] -= 1
                continue
            amount = sign * round_half_up(item.unit_amount_for_quantity * factor)
            text = f"{wording} time on {item.description} after {when}"
            lines.append(_line(item, amount, text, at, period_end))
    return lines


def difference_line(
    old_total: Fraction,
    new_total: Fraction,
    *,
    description: str,
    at: datetime,
    period_end: datetime,
    price_id: str | None = None,
    product_id: str | None = None,
    quantity: int | None = None,
    subscription_item_id: str | None = None,
) -> LineDraft:
    """Return Recur's `difference_immediately` line: new - old in full now (< 0 is a credit)."""
    return LineDraft(
        amount=round_half_up(new_total - old_total),
        description=f"Change to {description} after {at:%d %b %Y}",
        period_start=at,
        period_end=period_end,
        quantity=quantity,
        price_id=price_id,
        product_id=product_id,
        proration=True,
        subscription_item_id=subscription_item_id,
        kind="invoiceitem",
    )
