"""Invoice totals: discounts and taxes per line, summed the way Stripe reports them.

Several discounts apply in the order given, each on what the earlier ones left of a line
(two 10 % coupons take 19 %, not 20 %). Stripe's documentation does not spell the
combination out; sequential stacking is Recur's reading of it. Taxes are computed per line
on the line amount less that line's discounts, per rate, with `tax.tax_for_line`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from recur.domain.discounts import CouponTerms, discount_amounts
from recur.domain.tax import TaxRateTerms, tax_for_line


@dataclass(frozen=True)
class LineDraft:
    """One invoice line before discounts and exclusive tax; `amount` < 0 for credits."""

    amount: int
    description: str
    period_start: datetime
    period_end: datetime
    quantity: int | None = None
    price_id: str | None = None
    product_id: str | None = None
    proration: bool = False
    discountable: bool = True
    tax_rates: tuple[TaxRateTerms, ...] = ()
    subscription_item_id: str | None = None
    invoice_item_id: str | None = None
    kind: str = "subscription"  # "subscription" | "invoiceitem"


@dataclass(frozen=True)
class InvoiceDiscount:
    """A discount (`di_…`) applied to the invoice, and the coupon it redeems."""

    discount_id: str
    coupon: CouponTerms


@dataclass(frozen=True)
class TaxLine:
    """One `tax_amounts` entry: a rate's tax on a line, or summed over the invoice."""

    amount: int
    inclusive: bool
    tax_rate_id: str
    taxable_amount: int


@dataclass(frozen=True)
class LineTotals:
    """A line's figures as Stripe shows them: amount, discounts per discount, taxes per rate."""

    amount: int
    discount_amounts: tuple[tuple[str, int], ...]
    tax_amounts: tuple[TaxLine, ...]
    amount_excluding_tax: int


@dataclass(frozen=True)
class InvoiceTotals:
    """An invoice's lines and totals (Stripe's `subtotal`, `total`, `total_taxes`, ...)."""

    lines: tuple[LineTotals, ...]
    subtotal: int
    subtotal_excluding_tax: int
    total_discount_amounts: tuple[tuple[str, int], ...]
    total_taxes: tuple[TaxLine, ...]
    total_excluding_tax: int
    total: int


@dataclass(frozen=True)
class BalanceApplication:
    """How the customer balance meets an invoice total: what is due, what is carried."""

    starting_balance: int
    ending_balance: int
    amount_due: int


def _discounts_per_line(
    lines: Sequence[LineDraft], discounts: Sequence[InvoiceDiscount]
) -> list[list[tuple[str, int]]]:
    remaining = [line.amount for line in lines]
    per_line: list[list[tuple[str, int]]] = [[] for _ in lines]
    for discount in discounts:
        eligible = [
            line.discountable and discount.coupon.applies_to_product(line.product_id)
            for line in lines
        ]
        taken = discount_amounts(remaining, discount.coupon, eligible)
        for i, (ok, amount) in enumerate(zip(eligible, taken, strict=True)):
            if ok:
                per_line[i].append((discount.discount_id, amount))
                remaining[i] -= amount
    return per_line


def compute_totals(
    lines: Sequence[LineDraft], discounts: Sequence[InvoiceDiscount], *, tax_exempt: bool = False
) -> InvoiceTotals:
    """Return the invoice's per-line and total discounts, taxes and totals."""
    line_totals: list[LineTotals] = []
    for line, line_discounts in zip(lines, _discounts_per_line(lines, discounts), strict=True):
        base = line.amount - sum(amount for _, amount in line_discounts)
        rates = line.tax_rates
        if tax_exempt:
            # An exempt customer pays no exclusive tax, and Stripe drops inclusive taxes too:
            # the line keeps its amount, which then contains no tax (entries show 0).
            rates = tuple(replace(rate, percentage=Decimal(0)) for rate in rates)
        result = tax_for_line(base, rates)
        line_totals.append(
            LineTotals(
                amount=line.amount,
                discount_amounts=tuple(line_discounts),
                tax_amounts=tuple(
                    TaxLine(t.amount, t.inclusive, t.tax_rate, t.taxable_amount)
                    for t in result.tax_amounts
                ),
                amount_excluding_tax=line.amount - result.inclusive_tax,
            )
        )
    subtotal = sum(line.amount for line in line_totals)
    discount_sums: dict[str, int] = {d.discount_id: 0 for d in discounts}
    tax_sums: dict[tuple[str, bool], tuple[int, int]] = {}
    for totals in line_totals:
        for discount_id, amount in totals.discount_amounts:
            discount_sums[discount_id] += amount
        for tax in totals.tax_amounts:
            amount, taxable = tax_sums.get((tax.tax_rate_id, tax.inclusive), (0, 0))
            tax_sums[(tax.tax_rate_id, tax.inclusive)] = (
                amount + tax.amount,
                taxable + tax.taxable_amount,
            )
    total_taxes = tuple(
        TaxLine(amount, inclusive, rate_id, taxable)
        for (rate_id, inclusive), (amount, taxable) in tax_sums.items()
    )
    discount_total = sum(discount_sums.values())
    inclusive_tax = sum(t.amount for t in total_taxes if t.inclusive)
    exclusive_tax = sum(t.amount for t in total_taxes if not t.inclusive)
    return InvoiceTotals(
        lines=tuple(line_totals),
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal - inclusive_tax,
        total_discount_amounts=tuple(discount_sums.items()),
        total_taxes=total_taxes,
        total_excluding_tax=subtotal - discount_total - inclusive_tax,
        total=subtotal - discount_total + exclusive_tax,
    )


def apply_customer_balance(total: int, customer_balance: int) -> BalanceApplication:
    """Apply a customer balance (negative: credit) to an invoice total."""
    # A negative result is never refunded: it stays on the customer as credit.
    owed = total + customer_balance
    return BalanceApplication(
        starting_balance=customer_balance,
        ending_balance=min(owed, 0),
        amount_due=max(owed, 0),
    )


def invoice_number(prefix: str, sequence: int) -> str:
    """A customer's invoice number for one value of its sequence: `PREFIX-0001`."""
    return f"{prefix}-{sequence:04d}"
