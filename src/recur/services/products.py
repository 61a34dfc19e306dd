"""Products: create, retrieve, update, delete, list."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.errors import InvalidRequest
from recur.domain.ids import new_id
from recur.services.events import record_event
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.catalog import PriceRepository, ProductRepository
from recur.storage.uow import UnitOfWork

# Stripe lets a product have a client-chosen id. Recur's choice where Stripe documents
# no rule: letters, digits, `_` and `-`, at most 64 characters (the id column's width).
CUSTOM_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
MAX_IMAGES = 8  # Stripe: "A list of up to 8 URLs of images for this product"
MAX_IMAGE_URL_LENGTH = 2048
# Stripe's documented maximum lengths.
MAX_LENGTHS = {"name": 5000, "description": 40000, "tax_code": 5000, "unit_label": 12, "url": 5000}

# Fields a client may set directly, named as on the wire.
SIMPLE_FIELDS = (
    "name",
    "description",
    "active",
    "images",
    "tax_code",
    "unit_label",
    "url",
    "shippable",
    "metadata",
)


def _products(uow: UnitOfWork) -> ProductRepository:
    return uow.repository(ProductRepository)


def _prices(uow: UnitOfWork) -> PriceRepository:
    return uow.repository(PriceRepository)


def _nested(prefix: str, name: str) -> str:
    """`name` inside the parameter `prefix`: ("product_data", "name") → product_data[name]."""
    if not prefix:
        return name
    head, bracket, rest = name.partition("[")
    return f"{prefix}[{head}]{bracket}{rest}"


def _check_name(name: Any, param: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("A product needs a name.", param=param, code="parameter_missing")
    return name


def _check_images(images: Sequence[str], param: str) -> list[str]:
    if len(images) > MAX_IMAGES:
        raise InvalidRequest(f"A product can have at most {MAX_IMAGES} images.", param=param)
    for index, image in enumerate(images):
        if not image or len(image) > MAX_IMAGE_URL_LENGTH:
            raise InvalidRequest(
                f"Image URLs must be 1 to {MAX_IMAGE_URL_LENGTH} characters.",
                param=f"{param}[{index}]",
            )
    return list(images)


def _check_lengths(values: Mapping[str, Any], prefix: str) -> None:
    for name, limit in MAX_LENGTHS.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise InvalidRequest(
                f"Invalid {name}: must be at most {limit} characters.",
                param=_nested(prefix, name),
            )


def create_product(
    uow: UnitOfWork,
    values: Mapping[str, Any],
    now: datetime,
    *,
    default_price_data: Mapping[str, Any] | None = None,
    param_prefix: str = "",
) -> Record:
    """Create a product (and its default price from `default_price_data`, if given)."""
    name = _check_name(values.get("name"), _nested(param_prefix, "name"))
    _check_lengths(values, param_prefix)
    product_id = values.get("id")
    if product_id is None:
        product_id = new_id("prod")
    elif not CUSTOM_ID.fullmatch(product_id):
        raise InvalidRequest(
            "Invalid id: use 1 to 64 letters, digits, '_' or '-'.",
            param=_nested(param_prefix, "id"),
        )
    elif _products(uow).id_taken(product_id):
        raise InvalidRequest(
            "Product already exists.",
            param=_nested(param_prefix, "id"),
            code="resource_already_exists",
        )
    created = to_unix(now)
    row: dict[str, Any] = {
        "id": product_id,
        "created": created,
        "updated": created,
        "name": name,
        "description": values.get("description"),
        "active": True if values.get("active") is None else bool(values["active"]),
        "default_price": None,
        "images": _check_images(values.get("images") or [], _nested(param_prefix, "images")),
        "tax_code": values.get("tax_code"),
        "unit_label": values.get("unit_label"),
        "url": values.get("url"),
        "shippable": values.get("shippable"),
        "metadata": dict(values.get("metadata") or {}),
    }
    product = _products(uow).insert(row)
    if default_price_data is not None:
        # Imported here: prices import this module to create inline `product_data` products.
        from recur.services.prices import create_price

        price = create_price(
            uow,
            {**default_price_data, "product": product_id},
            now,
            param_prefix="default_price_data",
        )
        product = _products(uow).update(product_id, {"default_price": price["id"]})
    # One event for the product as the call left it (with its default price).
    record_event(uow, "product.created", "product", product, now)
    return product


def retrieve_product(uow: UnitOfWork, product_id: str, *, param: str | None = None) -> Record:
    """A product of this tenant, or NotFound naming `param`."""
    return _products(uow).get(product_id, param=param)


def get_product(
    uow: UnitOfWork, product_id: str, *, param: str | None = "product", for_update: bool = False
) -> Record:
    """A product for use by other resources (prices, invoice items), or NotFound."""
    return _products(uow).get(product_id, param=param, for_update=for_update)


def update_product(
    uow: UnitOfWork, product_id: str, changes: Mapping[str, Any], now: datetime
) -> Record:
    """Apply changes (only the fields given; None unsets) to a product."""
    current = _products(uow).get(product_id, for_update=True)
    values = {name: changes[name] for name in SIMPLE_FIELDS if name in changes}
    if "name" in values:
        values["name"] = _check_name(values["name"], "name")
    _check_lengths(values, "")
    if "active" in values and values["active"] is None:
        values["active"] = True
    if "images" in values:
        values["images"] = _check_images(values["images"] or [], "images")
    if "metadata" in values and values["metadata"] is None:
        values["metadata"] = {}
    if "default_price" in changes:
        price_id = changes["default_price"]
        if price_id is not None:
            price = _prices(uow).get(price_id, param="default_price")
            if price["product"] != product_id:
                raise InvalidRequest(
                    f"The price '{price_id}' does not belong to product '{product_id}'.",
                    param="default_price",
                )
            if not price["active"]:
                raise InvalidRequest(
                    "The price specified is inactive. This field only accepts active prices.",
                    param="default_price",
                )
        values["default_price"] = price_id
    if all(current[name] == value for name, value in values.items()):
        # Nothing changes, not even `updated`: no `product.updated` either (Stripe's event
        # "occurs whenever a product is updated").
        return current
    values["updated"] = to_unix(now)
    product = _products(uow).update(product_id, values)
    record_event(uow, "product.updated", "product", product, now, previous=current)
    return product


def delete_product(uow: UnitOfWork, product_id: str, now: datetime) -> str:
    """Delete a product that has no prices (as Stripe, which refuses otherwise)."""
    product = _products(uow).get(product_id, for_update=True)
    if _prices(uow).product_has_prices(product_id):
        raise InvalidRequest(
            "This product cannot be deleted because it has one or more user-created prices."
        )
    _products(uow).delete(product_id)
    # `data.object` is the product as it was (Stripe's `product.deleted` carries a product).
    record_event(uow, "product.deleted", "product", product, now)
    return product_id


def list_products(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    active: bool | None = None,
    ids: Sequence[str] | None = None,
    shippable: bool | None = None,
    url: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of products, newest first."""
    return _products(uow).list_products(
        request, active=active, ids=ids, shippable=shippable, url=url, created=created
    )
