"""Credit notes as arithmetic: what crediting part of an invoice line takes back, the
credit note's totals, and how its total is split before and after payment.

Crediting part of an invoice line takes back the same share of each of its figures — its
discounts, and each rate's tax — as of its amount. The shares are rounded cumulatively:
what a credit takes is `round(figure × (credited before + now) / amount)` minus
`round(figure × credited before / amount)`, so crediting a line in several notes never
takes back more (or less) than the line held, to the unit. Stripe does not document its
rounding of partial credits; this is Recur's choice.

A credit note's total first reduces what the invoice still asks (`amount_remaining`), but
not below zero: the pre-payment amount. The rest, the post-payment amount, is what was
already paid (or covered by the customer's balance) and is given back as a refund, a
credit to the customer's balance, or outside Recur — in amounts the caller must state and
that must add up to it (Stripe's rule since API version 2019-12-03).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from recur.domain.invoicing import LineTotals, TaxLine
from recur.domain.money import round_half_up
from recur.domain.tax import TaxRateTerms, tax_for_line


@dataclass(frozen=True)
class CreditTotals:
    """A credit note's totals, in the shape of an invoice's."""

    subtotal: int
    subtotal_excluding_tax: int
    discount_amount: int
    discount_amounts: tuple[tuple[str, int], ...]
    total_taxes: tuple[TaxLine, ...]
    total_excluding_tax: int
    total: int


@dataclass(frozen=True)
class CreditSplit:
    """How a credit note's total meets its invoice: before payment, then after it."""

    pre_payment_amount: int
    post_payment_amount: int

    @property
    def type(self) -> str:
        """Stripe's `type`: `pre_payment`, `post_payment` or `mixed`."""
        if self.post_payment_amount == 0:
            return "pre_payment"
        if self.pre_payment_amount == 0:
            return "post_payment"
        return "mixed"


def amount_for_quantity(line_amount: int, line_quantity: int, quantity: int) -> int:
    """What crediting `quantity` of a line of `line_quantity` units takes, in minor units."""
    if line_quantity <= 0:
        raise ValueError("a line without a positive quantity cannot be credited by quantity")
    return round_half_up(Fraction(line_amount * quantity, line_quantity))


def _share(figure: int, before: int, after: int, amount: int) -> int:
    return round_half_up(Fraction(figure * after, amount)) - round_half_up(
        Fraction(figure * before, amount)
    )


def credit_of_line(line: LineTotals, credited_before: int, credited: int) -> LineTotals:
    """The figures a credit of `credited` (of the line's `amount`) takes back, when
    `credited_before` of it was credited already."""
    if line.amount <= 0:
        raise ValueError("only a line with a positive amount can be credited")
    if credited <= 0 or credited_before < 0 or credited_before + credited > line.amount:
        raise ValueError("a credit must be positive and within what the line has left")
    after = credited_before + credited
    discounts = tuple(
        (discount_id, _share(amount, credited_before, after, line.amount))
        for discount_id, amount in line.discount_amounts
    )
    taxes = tuple(
        TaxLine(
            _share(tax.amount, credited_before, after, line.amount),
            tax.inclusive,
            tax.tax_rate_id,
            _share(tax.taxable_amount, credited_before, after, line.amount),
        )
        for tax in line.tax_amounts
    )
    inclusive = sum(tax.amount for tax in taxes if tax.inclusive)
    return LineTotals(credited, discounts, taxes, credited - inclusive)


def credit_of_custom_line(amount: int, rates: Sequence[TaxRateTerms]) -> LineTotals:
    """A custom credit line of `amount`, taxed at `rates` (no discounts)."""
    if amount <= 0:
        raise ValueError("a custom credit line must have a positive amount")
    result = tax_for_line(amount, rates)
    taxes = tuple(
        TaxLine(tax.amount, tax.inclusive, tax.tax_rate, tax.taxable_amount)
        for tax in result.tax_amounts
    )
    return LineTotals(amount, (), taxes, amount - result.inclusive_tax)


def credit_totals(lines: Sequence[LineTotals]) -> CreditTotals:
    """A credit note's totals from its lines, summed as an invoice's are."""
    subtotal = sum(line.amount for line in lines)
    discounts: dict[str, int] = {}
    taxes: dict[tuple[str, bool], tuple[int, int]] = {}
    for line in lines:
        for discount_id, amount in line.discount_amounts:
            discounts[discount_id] = discounts.get(discount_id, 0) + amount
        for tax in line.tax_amounts:
            amount, taxable = taxes.get((tax.tax_rate_id, tax.inclusive), (0, 0))
            taxes[(tax.tax_rate_id, tax.inclusive)] = (
                amount + tax.amount,
                taxable + tax.taxable_amount,
            )
    total_taxes = tuple(
        TaxLine(amount, inclusive, rate_id, taxable)
        for (rate_id, inclusive), (amount, taxable) in taxes.items()
    )
    discount = sum(discounts.values())
    inclusive = sum(tax.amount for tax in total_taxes if tax.inclusive)
    exclusive = sum(tax.amount for tax in total_taxes if not tax.inclusive)
    return CreditTotals(
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal - inclusive,
        discount_amount=discount,
        discount_amounts=tuple(discounts.items()),
        total_taxes=total_taxes,
        total_excluding_tax=subtotal - discount - inclusive,
        total=subtotal - discount + exclusive,
    )


def amount_only_totals(amount: int) -> CreditTotals:
    """The totals of a credit note given by its `amount` alone (no lines, no tax)."""
    return CreditTotals(amount, amount, 0, (), (), amount, amount)


def split_credit(total: int, amount_remaining: int) -> CreditSplit:
    """Split a credit note's total: first what the invoice still asks, then the rest."""
    pre = min(total, max(amount_remaining, 0))
    return CreditSplit(pre, total - pre)


def credit_note_number(invoice_number: str, sequence: int) -> str:
    """The `sequence`-th credit note of an invoice: `<invoice number>-CN-01` (as Stripe)."""
    return f"{invoice_number}-CN-{sequence:02d}"
