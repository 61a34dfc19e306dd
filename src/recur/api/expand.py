"""`expand[]`: replace id references by the objects they name, up to four levels deep.

Paths are dotted (`customer`, `latest_invoice.payment_intent`, `data.customer` on lists,
`items.data.price.product`); a list's `data` is walked element by element. Which ids can
be expanded is decided by their prefix: each resource module registers a loader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recur.api.errors import invalid_param
from recur.domain.ids import prefix_of

if TYPE_CHECKING:
    from recur.api.framework import ApiContext

MAX_DEPTH = 4

Loader = Callable[["ApiContext", str], dict[str, Any]]
LOADERS: dict[str, Loader] = {}
FIELD_LOADERS: dict[str, Loader] = {}


def register_loader(prefix: str, loader: Loader, *, fields: tuple[str, ...] = ()) -> None:
    """Make ids with `prefix` expandable (called by the resource modules).

    `fields` names the reference fields that hold this kind of object, for ids without
    the prefix: merchants choose some ids themselves (a product `gold-plan`, a coupon
    `SUMMER25`).
    """
    LOADERS[prefix] = loader
    for name in fields:
        FIELD_LOADERS[name] = loader


def apply_expand(ctx: ApiContext, document: dict[str, Any], paths: list[str]) -> None:
    """Expand each dotted path in `document`, in place."""
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise invalid_param(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
                "expand",
            )
        _expand(ctx, document, parts, path)


def _expand(ctx: ApiContext, node: Any, parts: list[str], path: str) -> None:
    if isinstance(node, list):
        for element in node:
            _expand(ctx, element, parts, path)
        return
    head, rest = parts[0], parts[1:]
    if not isinstance(node, dict) or head not in node:
        raise _not_expandable(path)
    value = node[head]
    if value is None:
        return
    if isinstance(value, str):
        value = _load(ctx, value, path, head)
        node[head] = value
    elif isinstance(value, list) and not rest:
        node[head] = [_load(ctx, v, path, head) if isinstance(v, str) else v for v in value]
        return
    elif not rest:
        return  # already an object: expanding it again changes nothing
    if rest:
        _expand(ctx, value, rest, path)


def _load(ctx: ApiContext, object_id: str, path: str, field: str) -> dict[str, Any]:
    # A field that holds merchant-chosen ids names its resource better than a prefix does:
    # a coupon may be called `cus_x`.
    loader = FIELD_LOADERS.get(field)
    if loader is None:
        try:
            loader = LOADERS.get(prefix_of(object_id))
        except ValueError:
            loader = None
    if loader is None:
        raise _not_expandable(path)
    return loader(ctx, object_id)


def _not_expandable(path: str) -> Exception:
    return invalid_param(f"This property cannot be expanded ({path}).", "expand")
