"""expand[] resolution, with stand-in loaders."""

from __future__ import annotations

from typing import Any

import pytest

from recur.api import expand
from recur.api.errors import ApiError


@pytest.fixture
def loaders(monkeypatch: pytest.MonkeyPatch) -> None:
    def product(_ctx: Any, object_id: str) -> dict[str, Any]:
        return {"id": object_id, "object": "product", "default_price": "price_1"}

    def price(_ctx: Any, object_id: str) -> dict[str, Any]:
        return {"id": object_id, "object": "price", "product": "gold-plan"}

    monkeypatch.setattr(expand, "LOADERS", {"prod": product, "price": price})
    monkeypatch.setattr(expand, "FIELD_LOADERS", {"product": product})


def test_nested_paths_through_lists(loaders: None) -> None:
    document: dict[str, Any] = {
        "object": "list",
        "data": [{"id": "si_1", "price": "price_1"}, {"id": "si_2", "price": "price_2"}],
    }
    expand.apply_expand(None, document, ["data.price.product"])  # type: ignore[arg-type]
    assert [item["price"]["product"]["id"] for item in document["data"]] == ["gold-plan"] * 2


def test_custom_ids_expand_by_field_name(loaders: None) -> None:
    document: dict[str, Any] = {"id": "price_1", "product": "gold-plan"}
    expand.apply_expand(None, document, ["product"])  # type: ignore[arg-type]
    assert document["product"]["object"] == "product"


def test_a_custom_id_in_an_unregistered_field_is_not_expandable(loaders: None) -> None:
    with pytest.raises(ApiError) as excinfo:
        expand.apply_expand(None, {"coupon": "SUMMER25"}, ["coupon"])  # type: ignore[arg-type]
    assert excinfo.value.param == "expand"


def test_null_references_stay_null(loaders: None) -> None:
    document: dict[str, Any] = {"product": None}
    expand.apply_expand(None, document, ["product"])  # type: ignore[arg-type]
    assert document == {"product": None}
