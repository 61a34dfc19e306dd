"""A price's amount for a quantity, exactly: per-unit, volume and graduated tiers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from recur.domain.errors import InvalidRequest
from recur.domain.money import decimal_to_fraction


@dataclass(frozen=True)
class Tier:
    """One tier of a tiered price; amounts in minor units, `up_to=None` means infinity."""

    up_to: int | None
    unit_amount: Decimal | None
    flat_amount: Decimal | None


@dataclass(frozen=True)
class TransformQuantity:
    """Bill per package of `divide_by` units, rounding the package count up or down."""

    divide_by: int
    round: Literal["up", "down"]


@dataclass(frozen=True)
class PriceTerms:
    """The parts of a price that decide how much a quantity costs."""

    billing_scheme: Literal["per_unit", "tiered"]
    unit_amount: Decimal | None = None
    tiers_mode: Literal["graduated", "volume"] | None = None
    tiers: tuple[Tier, ...] = ()
    transform_quantity: TransformQuantity | None = None


def _exact(amount: Decimal | None) -> Fraction:
    return Fraction(0) if amount is None else decimal_to_fraction(amount)


def transformed_quantity(transform: TransformQuantity | None, quantity: int) -> int:
    """Return the quantity after Stripe's `transform_quantity` (packages of `divide_by`)."""
    if transform is None:
        return quantity
    if transform.divide_by < 1:
        raise ValueError(f"divide_by must be at least 1, got {transform.divide_by}")
    packages, remainder = divmod(quantity, transform.divide_by)
    return packages + 1 if transform.round == "up" and remainder else packages


def amount_for_quantity(terms: PriceTerms, quantity: int) -> Fraction:
    """Return the exact, unrounded amount in minor units that `quantity` costs under `terms`."""
    if quantity < 0:
        raise InvalidRequest(
            f"quantity must be non-negative, got {quantity}",
            code="parameter_invalid_integer",
            param="quantity",
        )
    if terms.billing_scheme == "per_unit":
        if terms.unit_amount is None:
            raise ValueError("a per_unit price needs a unit_amount")
        units = transformed_quantity(terms.transform_quantity, quantity)
        return decimal_to_fraction(terms.unit_amount) * units
    if terms.billing_scheme != "tiered":
        raise ValueError(f"unknown billing_scheme: {terms.billing_scheme!r}")
    if terms.transform_quantity is not None:
        raise ValueError("transform_quantity cannot be combined with tiers")
    validate_tiers(terms.tiers)
    # Recur's choice, as Stripe documents nothing for it: no unit means nothing is billed, so
    # a first tier's flat amount is not charged at quantity 0 in either tiers mode.
    if quantity == 0:
        return Fraction(0)
    if terms.tiers_mode == "volume":
        return _volume_amount(terms.tiers, quantity)
    if terms.tiers_mode == "graduated":
        return _graduated_amount(terms.tiers, quantity)
    raise ValueError(
        f"a tiered price needs tiers_mode graduated or volume, got {terms.tiers_mode!r}"
    )


def _volume_amount(tiers: Sequence[Tier], quantity: int) -> Fraction:
    # The single tier that holds the whole quantity prices every unit.
    for tier in tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            return _exact(tier.unit_amount) * quantity + _exact(tier.flat_amount)
    raise AssertionError("unreachable: validated tiers end with up_to=None")


def _graduated_amount(tiers: Sequence[Tier], quantity: int) -> Fraction:
    # Each tier prices the units that fall inside it; its flat amount applies once reached.
    total = Fraction(0)
    lower = 0
    for tier in tiers:
        if quantity <= lower:
            break
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        total += _exact(tier.unit_amount) * (upper - lower) + _exact(tier.flat_amount)
        if tier.up_to is None:
            break
        lower = tier.up_to
    return total


def validate_tiers(tiers: Sequence[Tier]) -> None:
    """Check that tiers ascend, end with an unbounded tier and each has an amount."""
    if not tiers:
        raise InvalidRequest("Tiered prices need at least one tier.", param="tiers")
    previous: int | None = None
    for index, tier in enumerate(tiers):
        is_last = index == len(tiers) - 1
        if tier.unit_amount is None and tier.flat_amount is None:
            raise InvalidRequest(
                "An entry in the tiers array is missing an amount: set unit_amount or flat_amount.",
                param=f"tiers[{index}]",
            )
        for name, amount in (("unit_amount", tier.unit_amount), ("flat_amount", tier.flat_amount)):
            if amount is not None and (not amount.is_finite() or amount < 0):
                raise InvalidRequest(
                    f"{name} must be a non-negative amount, got {amount}",
                    param=f"tiers[{index}][{name}]",
                )
        if tier.up_to is None:
            if not is_last:
                raise InvalidRequest(
                    "Only the last tier may have up_to=inf.", param=f"tiers[{index}][up_to]"
                )
            continue
        if is_last:
            raise InvalidRequest(
                "The last tier must have up_to=inf.", param=f"tiers[{index}][up_to]"
            )
        if tier.up_to < 1 or (previous is not None and tier.up_to <= previous):
            raise InvalidRequest(
                "Tiers must be in ascending order of up_to (each at least 1).",
                param=f"tiers[{index}][up_to]",
            )
        previous = tier.up_to
