"""What the billing run's rendering shortcuts must keep: the same wire, and no sharing that
a caller could notice.

- `RowMemo` remembers what is derived from a row as read (immutable) and never from a dict
  (which its owner may change).
- Prices and tax rates rendered from a remembered shape: equal to a fresh render, and each
  caller's dict (and a price's `recurring`) is its own, as `expand[]` writes into them.
- `changed_attributes` (previous_attributes) against the plain reference implementation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.engine import RowMapping

from recur.api.routes.prices import _price_shape_of, price_object
from recur.api.routes.tax_rates import _tax_rate_shape_of, tax_rate_object
from recur.services.events import changed_attributes
from recur.storage.rows import RowMemo, is_row

PRICE = """
select 'price_1' as id, 'price' as object, 1 as active, 'per_unit' as billing_scheme,
  1700000000 as created, 'eur' as currency, 0 as livemode, null as lookup_key,
  null as metadata, null as nickname, 'prod_1' as product, 'month' as recurring_interval,
  1 as recurring_interval_count, null as recurring_trial_period_days,
  'licensed' as recurring_usage_type, 'exclusive' as tax_behavior, null as tiers_mode,
  null as transform_quantity, 'recurring' as type, '1990' as unit_amount_decimal,
  null as tiers
"""
TAX_RATE = """
select 'txr_1' as id, 1 as active, null as country, 1700000000 as created,
  null as description, 'VAT' as display_name, 0 as inclusive, null as jurisdiction,
  0 as livemode, null as metadata, '20.5' as percentage, null as state, null as tax_type
"""


@pytest.fixture
def rows() -> Iterator[dict[str, RowMapping]]:
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        yield {
            "price": connection.execute(text(PRICE)).mappings().one(),
            "tax_rate": connection.execute(text(TAX_RATE)).mappings().one(),
        }
    engine.dispose()


def test_a_row_is_remembered_a_dict_is_not(rows: dict[str, RowMapping]) -> None:
    made: list[Mapping[str, Any]] = []

    def make(record: Mapping[str, Any]) -> str:
        made.append(record)
        return str(record["id"])

    memo = RowMemo(make, limit=1)
    row = rows["price"]
    assert is_row(row) and not is_row(dict(row))
    assert memo(row) == memo(row) == "price_1"
    assert made == [row]
    plain = dict(row)
    memo(plain)
    memo(plain)
    assert len(made) == 3
    memo(rows["tax_rate"])  # full: the memo starts over, the price is made again
    memo(row)
    assert len(made) == 5


def test_price_and_tax_rate_render_as_fresh(rows: dict[str, RowMapping]) -> None:
    price, rate = rows["price"], rows["tax_rate"]
    for _ in range(2):
        assert orjson.dumps(price_object(price)) == orjson.dumps(_price_shape_of(price))
        assert orjson.dumps(price_object(dict(price))) == orjson.dumps(_price_shape_of(price))
        assert orjson.dumps(tax_rate_object(rate)) == orjson.dumps(_tax_rate_shape_of(rate))
    assert price_object(price)["unit_amount"] == 1990
    assert tax_rate_object(rate)["percentage"] == 20.5


def test_each_caller_gets_its_own_dicts(rows: dict[str, RowMapping]) -> None:
    price, rate = rows["price"], rows["tax_rate"]
    first = price_object(price)
    first["product"] = {"id": "prod_1", "object": "product"}  # what expand[] does
    first["recurring"]["interval"] = "changed"
    tax = tax_rate_object(rate)
    tax["display_name"] = "changed"
    again = price_object(price)
    assert again["product"] == "prod_1"
    assert again["recurring"]["interval"] == "month"
    assert tax_rate_object(rate)["display_name"] == "VAT"
    assert again is not first and again["recurring"] is not first["recurring"]


def reference_changed_attributes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in [*before.keys(), *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes[key] = reference_changed_attributes(old, new)
        else:
            changes[key] = old
    return changes


leaves = st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from(["a", "b", ""])
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abcde"), inner, max_size=4)
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.sampled_from("abcdef"), values, max_size=6)


@settings(max_examples=500)
@given(documents, documents)
def test_previous_attributes_as_the_reference_computes_them(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    expected = reference_changed_attributes(before, after)
    # Equal as JSON bytes: the same keys in the same order, nested too.
    assert orjson.dumps(changed_attributes(before, after)) == orjson.dumps(expected)
