"""Request parameter models: Pydantic validates, errors name the Stripe parameter.

Every endpoint declares a model; unknown parameters are rejected (no mass assignment),
values arrive as strings and are coerced, and the first error becomes a Stripe error whose
`param` is the bracketed path (`items[0][price]`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from recur.api.errors import ApiError, invalid_param

M = TypeVar("M", bound=BaseModel)

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500


class Params(BaseModel):
    """Base of every parameter model: unknown parameters are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    expand: list[str] = Field(default_factory=list)

    def given(self, name: str) -> bool:
        """Whether the client sent this parameter (possibly empty, meaning unset)."""
        return name in self.model_fields_set


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def _parse_int(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text or not (text.isdigit() or (text[0] == "-" and text[1:].isdigit())):
            raise PydanticCustomError("recur_int", "Invalid integer: {value}", {"value": value})
        return int(text)
    return value


def _parse_bool(value: Any) -> Any:
    if isinstance(value, str):
        if value == "true":
            return True
        if value == "false":
            return False
        raise PydanticCustomError("recur_bool", "Invalid boolean: {value}", {"value": value})
    return value


def _parse_decimal(value: Any) -> Any:
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise PydanticCustomError(
                "recur_decimal", "Invalid decimal: {value}", {"value": value}
            ) from None
        if not number.is_finite():
            raise PydanticCustomError("recur_decimal", "Invalid decimal: {value}", {"value": value})
        return number
    return value


def _parse_metadata(value: Any) -> Any:
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise PydanticCustomError("recur_metadata", "Invalid metadata: expected an object")
    if len(value) > MAX_METADATA_KEYS:
        raise PydanticCustomError(
            "recur_metadata", "Metadata can have at most {n} keys.", {"n": MAX_METADATA_KEYS}
        )
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY_LENGTH:
            raise PydanticCustomError(
                "recur_metadata",
                "Metadata keys can be at most {n} characters long.",
                {"n": MAX_METADATA_KEY_LENGTH},
            )
        if not isinstance(item, str):
            raise PydanticCustomError("recur_metadata", "Metadata values must be strings.")
        if len(item) > MAX_METADATA_VALUE_LENGTH:
            raise PydanticCustomError(
                "recur_metadata",
                "Metadata values can be at most {n} characters long.",
                {"n": MAX_METADATA_VALUE_LENGTH},
            )
    return value


# Coerced scalar types. Stripe sends every value as a string; JSON bodies too, after decoding.
Int = Annotated[int, BeforeValidator(_parse_int)]
Bool = Annotated[bool, BeforeValidator(_parse_bool)]
Dec = Annotated[Decimal, BeforeValidator(_parse_decimal)]
NonNegInt = Annotated[int, BeforeValidator(_parse_int), Field(ge=0)]
PositiveInt = Annotated[int, BeforeValidator(_parse_int), Field(gt=0)]
Timestamp = Annotated[int, BeforeValidator(_parse_int), Field(ge=0, le=253402300799)]
# On updates, "" unsets a field: it arrives as None; `Params.given` tells it from absent.
OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]
# `metadata[k]=` deletes key k, `metadata=` deletes all: see `merge_metadata`.
Metadata = Annotated[dict[str, str], BeforeValidator(_parse_metadata)]


# Use as `Annotated[Address | None, BlankIsNone]`: an object parameter that "" unsets.
BlankIsNone = BeforeValidator(_blank_to_none)


Currency = Annotated[str, BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)]


class Nested(BaseModel):
    """Base of nested parameter objects (`address`, `recurring`, …): no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(Nested):
    """A postal address (every field optional, "" unsets)."""

    city: OptStr = None
    country: OptStr = None
    line1: OptStr = None
    line2: OptStr = None
    postal_code: OptStr = None
    state: OptStr = None


class RangeFilter(Params):
    """Stripe's range filter (`created[gte]=…`)."""

    gt: Timestamp | None = None
    gte: Timestamp | None = None
    lt: Timestamp | None = None
    lte: Timestamp | None = None


def _int_or_range(value: Any) -> Any:
    if isinstance(value, str):
        exact = _parse_int(value)
        return {"gte": exact, "lte": exact}
    return value


class ListParams(Params):
    """Parameters every list endpoint takes."""

    limit: Annotated[int, BeforeValidator(_parse_int), Field(ge=1, le=100)] = 10
    starting_after: str | None = None
    ending_before: str | None = None
    created: Annotated[RangeFilter | None, BeforeValidator(_int_or_range)] = None


class DeleteParams(Params):
    """A DELETE takes nothing but `expand`."""


class RetrieveParams(Params):
    """A GET of one object takes nothing but `expand`."""


def merge_metadata(
    current: dict[str, str], update: dict[str, str], *, cleared: bool
) -> dict[str, str]:
    """Apply a metadata update: "" values delete keys; `metadata=` (cleared) drops all."""
    merged = {} if cleared else dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_METADATA_KEYS:
        raise invalid_param(f"Metadata can have at most {MAX_METADATA_KEYS} keys.", "metadata")
    return merged


def updated_metadata(
    current: dict[str, str], params: Params, raw: dict[str, Any]
) -> dict[str, str]:
    """An object's metadata after an update request that sent `metadata`."""
    sent: dict[str, str] = getattr(params, "metadata", None) or {}
    return merge_metadata(current, sent, cleared=metadata_cleared(raw))


def plain(value: Any) -> Any:
    """Parameter models (only their given fields) to the plain dicts services take."""
    if isinstance(value, BaseModel):
        return {name: plain(getattr(value, name)) for name in value.model_fields_set}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def given_values(params: BaseModel, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields the client sent, named as on the wire, nested models as plain dicts."""
    return {
        name: plain(getattr(params, name))
        for name in params.model_fields_set - {"expand", *exclude}
    }


def metadata_cleared(raw: dict[str, Any]) -> bool:
    """Whether the raw request sent `metadata=` (remove every key)."""
    return raw.get("metadata") == ""


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate decoded request data against `model`, or raise the Stripe error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _to_api_error(exc) from None


def param_name(loc: tuple[int | str, ...]) -> str:
    """`("items", 0, "price")` → `items[0][price]`."""
    if not loc:
        return ""
    head, *rest = loc
    return str(head) + "".join(f"[{part}]" for part in rest)


def _to_api_error(exc: ValidationError) -> ApiError:
    error = exc.errors(include_url=False)[0]
    loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and "[" in part))
    # Union members and validators add their own names to `loc`; keep the parameter path.
    loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
    name = param_name(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return invalid_param(f"Received unknown parameter: {name}", name, code="parameter_unknown")
    if kind == "missing":
        return invalid_param(f"Missing required param: {name}.", name, code="parameter_missing")
    if kind.startswith("recur_"):
        return invalid_param(error["msg"], name)
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return invalid_param(f"Invalid {name}: must be one of {expected}", name)
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return invalid_param(f"Invalid {name}: expected an object (hash)", name)
    if kind == "list_type":
        return invalid_param(f"Invalid array: {name}", name)
    if kind in {"string_type"}:
        return invalid_param(f"Invalid {name}: expected a string", name)
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return invalid_param(f"Invalid {name}: {error['msg'].lower()}", name)
    message = error["msg"].removeprefix("Value error, ")
    return invalid_param(f"Invalid {name}: {message}", name)
