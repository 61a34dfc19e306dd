"""Credit note arithmetic: partial credits of lines, totals, the pre/post-payment split."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recur.domain.credit_notes import (
    CreditSplit,
    amount_for_quantity,
    credit_note_number,
    credit_of_custom_line,
    credit_of_line,
    credit_totals,
    split_credit,
)
from recur.domain.invoicing import LineTotals, TaxLine
from recur.domain.tax import TaxRateTerms

# 3 × 1,000 with 10 % off (300) and 20 % exclusive VAT on the 2,700 left (540).
CHAIRS = LineTotals(3000, (("di_1", 300),), (TaxLine(540, False, "txr_vat", 2700),), 3000)


def test_a_third_of_a_line_takes_a_third_of_its_discount_and_tax() -> None:
    credit = credit_of_line(CHAIRS, 0, 1000)
    assert credit == LineTotals(
        1000, (("di_1", 100),), (TaxLine(180, False, "txr_vat", 900),), 1000
    )
    totals = credit_totals([credit])
    assert (totals.subtotal, totals.discount_amount, totals.total) == (1000, 100, 1080)
    assert totals.total_excluding_tax == 900


def test_inclusive_tax_is_not_added_and_leaves_amount_excluding_tax() -> None:
    line = LineTotals(1100, (), (TaxLine(100, True, "txr_tva", 1000),), 1000)
    credit = credit_of_line(line, 0, 550)
    assert credit.tax_amounts == (TaxLine(50, True, "txr_tva", 500),)
    assert credit.amount_excluding_tax == 500
    totals = credit_totals([credit])
    assert (totals.total, totals.subtotal_excluding_tax, totals.total_excluding_tax) == (
        550,
        500,
        500,
    )


@given(
    amount=st.integers(min_value=1, max_value=10**7),
    tax=st.integers(min_value=0, max_value=10**6),
    discount=st.integers(min_value=0, max_value=10**6),
    cuts=st.lists(st.integers(min_value=1, max_value=10**4), min_size=1, max_size=6),
)
def test_credits_of_a_line_in_parts_add_up_to_the_line_exactly(
    amount: int, tax: int, discount: int, cuts: list[int]
) -> None:
    line = LineTotals(amount, (("di_1", discount),), (TaxLine(tax, False, "txr", amount),), amount)
    parts: list[LineTotals] = []
    credited = 0
    for cut in cuts:
        part = min(cut, amount - credited)
        if part <= 0:
            break
        parts.append(credit_of_line(line, credited, part))
        credited += part
    if credited < amount:
        parts.append(credit_of_line(line, credited, amount - credited))
    assert sum(p.amount for p in parts) == amount
    assert sum(p.discount_amounts[0][1] for p in parts) == discount
    assert sum(p.tax_amounts[0].amount for p in parts) == tax
    assert sum(credit_totals([p]).total for p in parts) == amount - discount + tax


def test_a_credit_beyond_the_line_is_refused() -> None:
    with pytest.raises(ValueError):
        credit_of_line(CHAIRS, 2500, 501)
    with pytest.raises(ValueError):
        credit_of_line(CHAIRS, 0, 0)
    with pytest.raises(ValueError):
        credit_of_line(LineTotals(-500, (), (), -500), 0, 100)


def test_quantity_and_custom_lines() -> None:
    assert amount_for_quantity(1000, 3, 1) == 333
    assert amount_for_quantity(1000, 3, 2) == 667
    assert amount_for_quantity(1000, 3, 3) == 1000
    vat = TaxRateTerms("txr_vat", Decimal("20"), inclusive=False)
    custom = credit_of_custom_line(500, [vat])
    assert custom == LineTotals(500, (), (TaxLine(100, False, "txr_vat", 500),), 500)
    assert credit_totals([custom, credit_of_line(CHAIRS, 0, 3000)]).total == 600 + 3240


def test_split_before_and_after_payment() -> None:
    assert split_credit(300, 1000) == CreditSplit(300, 0)
    assert split_credit(300, 1000).type == "pre_payment"
    assert split_credit(1100, 500) == CreditSplit(500, 600)
    assert split_credit(1100, 500).type == "mixed"
    assert split_credit(700, 0) == CreditSplit(0, 700)
    assert split_credit(700, 0).type == "post_payment"


def test_numbers_follow_the_invoice_number() -> None:
    assert credit_note_number("ABCD1234-0007", 1) == "ABCD1234-0007-CN-01"
    assert credit_note_number("ABCD1234-0007", 12) == "ABCD1234-0007-CN-12"
    assert credit_note_number("ABCD1234-0007", 100) == "ABCD1234-0007-CN-100"
