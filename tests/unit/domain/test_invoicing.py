"""Invoice totals: stacked discounts, per-line taxes, exemption, credits and customer balance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recur.domain.clock import utc
from recur.domain.discounts import CouponTerms
from recur.domain.invoicing import (
    BalanceApplication,
    InvoiceDiscount,
    LineDraft,
    TaxLine,
    apply_customer_balance,
    compute_totals,
)
from recur.domain.tax import TaxRateTerms

START, END = utc(2024, 1, 1), utc(2024, 2, 1)
VAT20 = TaxRateTerms(id="txr_vat", percentage=Decimal(20), inclusive=False)
VAT20_INCL = TaxRateTerms(id="txr_vat_incl", percentage=Decimal(20), inclusive=True)
SALES5 = TaxRateTerms(id="txr_sales", percentage=Decimal(5), inclusive=False)


def line(amount: int, **kwargs: Any) -> LineDraft:
    return LineDraft(amount, "line", START, END, **kwargs)


def percent(discount_id: str, p: str, products: frozenset[str] | None = None) -> InvoiceDiscount:
    coupon = CouponTerms(Decimal(p), None, None, "forever", applies_to_products=products)
    return InvoiceDiscount(discount_id, coupon)


def amount_off(discount_id: str, a: int) -> InvoiceDiscount:
    return InvoiceDiscount(discount_id, CouponTerms(None, a, "usd", "once"))


def test_no_discounts_no_taxes() -> None:
    totals = compute_totals([line(1000), line(500)], [])
    assert (totals.subtotal, totals.total, totals.total_excluding_tax) == (1500, 1500, 1500)
    assert totals.lines[0].discount_amounts == ()
    assert totals.lines[0].tax_amounts == ()
    assert totals.total_discount_amounts == ()


def test_exclusive_tax_on_discounted_amount() -> None:
    totals = compute_totals([line(1000, tax_rates=(VAT20,))], [percent("di_1", "10")])
    (only,) = totals.lines
    assert only.discount_amounts == (("di_1", 100),)
    assert only.tax_amounts == (TaxLine(180, False, "txr_vat", 900),)
    assert only.amount_excluding_tax == 1000
    assert totals.subtotal == 1000
    assert totals.total_excluding_tax == 900
    assert totals.total == 1080


def test_inclusive_tax_is_contained_in_the_total() -> None:
    totals = compute_totals([line(1200, tax_rates=(VAT20_INCL,))], [])
    assert totals.lines[0].tax_amounts == (TaxLine(200, True, "txr_vat_incl", 1000),)
    assert totals.lines[0].amount_excluding_tax == 1000
    assert totals.subtotal_excluding_tax == 1000
    assert totals.total_excluding_tax == 1000
    assert totals.total == 1200


def test_discounts_stack_sequentially() -> None:
    totals = compute_totals([line(1000)], [percent("di_a", "10"), percent("di_b", "10")])
    assert totals.lines[0].discount_amounts == (("di_a", 100), ("di_b", 90))
    assert totals.total == 810


def test_amount_off_after_percent_and_spread_over_lines() -> None:
    totals = compute_totals(
        [line(1000), line(3000)], [percent("di_p", "50"), amount_off("di_a", 400)]
    )
    assert totals.lines[0].discount_amounts == (("di_p", 500), ("di_a", 100))
    assert totals.lines[1].discount_amounts == (("di_p", 1500), ("di_a", 300))
    assert totals.total_discount_amounts == (("di_p", 2000), ("di_a", 400))
    assert totals.total == 1600


def test_amount_off_capped_at_what_remains() -> None:
    totals = compute_totals([line(300)], [amount_off("di_a", 1000)])
    assert totals.total_discount_amounts == (("di_a", 300),)
    assert totals.total == 0


def test_non_discountable_and_other_product_lines_are_left_alone() -> None:
    lines = [
        line(1000, product_id="prod_a"),
        line(1000, product_id="prod_b"),
        line(1000, product_id="prod_a", discountable=False),
    ]
    totals = compute_totals(lines, [percent("di_1", "25", frozenset({"prod_a"}))])
    assert [t.discount_amounts for t in totals.lines] == [(("di_1", 250),), (), ()]
    assert totals.total_discount_amounts == (("di_1", 250),)
    assert totals.total == 2750


def test_credit_line_gets_negative_percent_discount_and_tax() -> None:
    totals = compute_totals(
        [line(-500, tax_rates=(VAT20,)), line(1000, tax_rates=(VAT20,))],
        [percent("di_1", "10")],
    )
    credit, charge = totals.lines
    assert credit.discount_amounts == (("di_1", -50),)
    assert credit.tax_amounts == (TaxLine(-90, False, "txr_vat", -450),)
    assert charge.tax_amounts == (TaxLine(180, False, "txr_vat", 900),)
    assert totals.total_taxes == (TaxLine(90, False, "txr_vat", 450),)
    assert totals.total == 500 - 50 + 90


def test_credit_line_takes_no_part_of_an_amount_off() -> None:
    totals = compute_totals([line(-500), line(1000)], [amount_off("di_a", 200)])
    assert [t.discount_amounts for t in totals.lines] == [(("di_a", 0),), (("di_a", 200),)]
    assert totals.total == 300


def test_taxes_summed_per_rate_and_kind() -> None:
    totals = compute_totals(
        [
            line(1000, tax_rates=(VAT20, SALES5)),
            line(2000, tax_rates=(VAT20,)),
            line(1200, tax_rates=(VAT20_INCL,)),
        ],
        [],
    )
    assert totals.total_taxes == (
        TaxLine(600, False, "txr_vat", 3000),
        TaxLine(50, False, "txr_sales", 1000),
        TaxLine(200, True, "txr_vat_incl", 1000),
    )
    assert totals.subtotal == 4200
    assert totals.total == 4200 + 650
    assert totals.total_excluding_tax == 4000


def test_tax_exempt_customer_pays_no_tax_and_inclusive_tax_is_dropped() -> None:
    totals = compute_totals(
        [line(1000, tax_rates=(VAT20,)), line(1200, tax_rates=(VAT20_INCL,))], [], tax_exempt=True
    )
    assert totals.lines[0].tax_amounts == (TaxLine(0, False, "txr_vat", 1000),)
    assert totals.lines[1].tax_amounts == (TaxLine(0, True, "txr_vat_incl", 1200),)
    assert totals.total == 2200
    assert totals.total_excluding_tax == 2200


amounts = st.integers(min_value=-100_000, max_value=100_000)
percents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2)


@given(
    st.lists(amounts, min_size=1, max_size=6),
    st.lists(percents, max_size=3),
    st.integers(min_value=1, max_value=50_000),
    st.booleans(),
)
def test_totals_add_up(
    line_amounts: list[int], ps: list[Decimal], off: int, inclusive: bool
) -> None:
    rate = TaxRateTerms("txr", Decimal("7.5"), inclusive)
    discounts = [percent(f"di_{i}", str(p)) for i, p in enumerate(ps)]
    discounts.append(amount_off("di_off", off))
    totals = compute_totals([line(a, tax_rates=(rate,)) for a in line_amounts], discounts)
    discount_total = sum(a for _, a in totals.total_discount_amounts)
    assert discount_total == sum(a for t in totals.lines for _, a in t.discount_amounts)
    tax = sum(t.amount for t in totals.total_taxes)
    assert totals.subtotal == sum(line_amounts)
    expected_total = totals.subtotal - discount_total + (0 if inclusive else tax)
    assert totals.total == expected_total
    assert totals.total_excluding_tax == totals.subtotal - discount_total - (
        tax if inclusive else 0
    )


@pytest.mark.parametrize(
    ("total", "balance", "expected"),
    [
        (2500, -500, BalanceApplication(-500, 0, 2000)),
        (-500, 0, BalanceApplication(0, -500, 0)),
        (1000, 300, BalanceApplication(300, 0, 1300)),
        (300, -1000, BalanceApplication(-1000, -700, 0)),
        (0, 0, BalanceApplication(0, 0, 0)),
    ],
)
def test_apply_customer_balance(total: int, balance: int, expected: BalanceApplication) -> None:
    assert apply_customer_balance(total, balance) == expected
