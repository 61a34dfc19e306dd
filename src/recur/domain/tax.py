"""Tax rates as arithmetic: the tax on one line, per rate, inclusive or exclusive.

A line carries up to a few tax rates (Stripe allows five). Exclusive rates add tax on top
of the amount; inclusive rates say the amount already contains the tax. Each rate's tax is
rounded once per line with `round_half_up`, as Stripe reports one `tax_amounts` entry per
rate per line; the invoice total is the sum of the rounded line figures.

Several inclusive rates on one line (e.g. a 5 % federal and a 9.975 % provincial tax in a
tax-included price) split the amount as `amount = net * (100 + Σp) / 100`: rate i's tax is
`round(amount * p_i / (100 + Σp))`, each rounded on its own, and the taxable (net) amount
is what remains, `amount - Σ taxes_i`, so net plus the taxes always gives back the amount
exactly. Because each share is rounded separately, Σ taxes_i may differ by a unit or two
from `round(amount * Σp / (100 + Σp))`; the net absorbs it.

When a line has both kinds (Stripe is silent; Recur's choice), exclusive rates apply to the
net amount — the price without the inclusive tax — since taxing a tax is never what a
merchant configuring "price includes VAT" plus "add a surcharge tax" means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from recur.domain.money import decimal_to_fraction, percent_ratio, round_ratio_half_up

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class TaxRateTerms:
    """What the arithmetic needs of a tax rate: its id, percentage and kind."""

    id: str
    percentage: Decimal
    inclusive: bool

    def __post_init__(self) -> None:
        if not (0 <= self.percentage <= HUNDRED):
            raise ValueError(f"percentage must be in [0, 100], got {self.percentage}")


@dataclass(frozen=True)
class TaxAmount:
    """One entry of Stripe's `tax_amounts`: the tax of one rate on one line."""

    amount: int
    inclusive: bool
    tax_rate: str
    taxable_amount: int


@dataclass(frozen=True)
class TaxResult:
    """The taxes of one line, in the order of its rates.

    `taxable_amount` is the line amount without any tax (net of inclusive taxes);
    `exclusive_tax` is what is added on top of the line; `inclusive_tax` is the part of
    the line amount that is tax.
    """

    tax_amounts: tuple[TaxAmount, ...]
    taxable_amount: int
    exclusive_tax: int
    inclusive_tax: int


def tax_for_line(amount: int, rates: Sequence[TaxRateTerms]) -> TaxResult:
    """Return the tax each rate levies on a line of `amount` minor units (credits included)."""
    seen: set[str] = set()
    for rate in rates:
        if rate.id in seen:
            raise ValueError(f"tax rate {rate.id} given twice for one line")
        seen.add(rate.id)
    inclusive_taxes: dict[str, int] = {}
    if any(r.inclusive for r in rates):
        inclusive_sum = sum(
            (decimal_to_fraction(r.percentage) for r in rates if r.inclusive), Fraction(0)
        )
        for r in rates:
            if r.inclusive:
                # round_half_up(amount * p / (100 + Σp)), the exact ratio on integers.
                share = decimal_to_fraction(r.percentage) / (100 + inclusive_sum)
                inclusive_taxes[r.id] = round_ratio_half_up(
                    amount * share.numerator, share.denominator
                )
    net = amount - sum(inclusive_taxes.values())
    entries: list[TaxAmount] = []
    for rate in rates:
        if rate.inclusive:
            tax = inclusive_taxes[rate.id]
        else:
            # round_half_up(net * p / 100), the exact ratio on integers.
            numerator, denominator = percent_ratio(rate.percentage)
            tax = round_ratio_half_up(net * numerator, denominator)
        entries.append(TaxAmount(tax, rate.inclusive, rate.id, net))
    return TaxResult(
        tax_amounts=tuple(entries),
        taxable_amount=net,
        exclusive_tax=sum(e.amount for e in entries if not e.inclusive),
        inclusive_tax=sum(e.amount for e in entries if e.inclusive),
    )
