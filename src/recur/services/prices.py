"""Prices: create, retrieve, update, list; and their terms for billing."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, cast

from recur.domain.clock import to_unix
from recur.domain.errors import InvalidRequest
from recur.domain.ids import new_id
from recur.domain.money import is_valid_currency, parse_decimal_amount
from recur.domain.pricing import PriceTerms, Tier, TransformQuantity, validate_tiers
from recur.services import products as product_service
from recur.services.events import record_event
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.catalog import PriceRepository, ProductRepository
from recur.storage.rows import RowMemo
from recur.storage.uow import UnitOfWork

BILLING_SCHEMES = ("per_unit", "tiered")
TIERS_MODES = ("graduated", "volume")
INTERVALS = ("day", "week", "month", "year")
USAGE_TYPES = ("licensed", "metered")
TAX_BEHAVIORS = ("inclusive", "exclusive", "unspecified")
ROUNDINGS = ("up", "down")
# Stripe: "Maximum of three years interval allowed (3 years, 36 months, or 156 weeks)";
# for days Recur takes three 365-day years.
MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}
MAX_TRIAL_PERIOD_DAYS = 730  # Stripe's limit on trial lengths
# Stripe amounts have at most eight digits of minor units (99999999 = $999,999.99);
# decimal amounts add at most 12 decimal places to that.
MAX_AMOUNT = Decimal(99_999_999)
MAX_LOOKUP_KEY_LENGTH = 200
MAX_NICKNAME_LENGTH = 5000
MAX_TIERS = 250
# The official SDKs type decimal amounts as Decimal and send str(Decimal), which writes
# 0.0000001 as "1E-7": exponent forms are accepted when the value has ≤ 12 decimal places.
_EXPONENT_FORM = re.compile(r"[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]{1,3}")
MAX_DECIMAL_PLACES = 12


def _prices(uow: UnitOfWork) -> PriceRepository:
    return uow.repository(PriceRepository)


def _nested(prefix: str, name: str) -> str:
    """`name` inside the parameter `prefix`: ("price_data", "tiers[0]") → price_data[tiers][0]."""
    if not prefix:
        return name
    head, bracket, rest = name.partition("[")
    return f"{prefix}[{head}]{bracket}{rest}"


def decimal_text(amount: Decimal) -> str:
    """The canonical wire text of a decimal amount: no exponent, no trailing zeros."""
    return format(amount.normalize(), "f")


def integer_amount(text: str | None) -> int | None:
    """`unit_amount` as Stripe shows it next to `unit_amount_decimal`: null unless whole."""
    if text is None:
        return None
    amount = Decimal(text)
    return int(amount) if amount == amount.to_integral_value() else None


def parse_amount_text(text: str) -> Decimal:
    """A decimal amount in minor units: plain digits or str(Decimal); ≤ 12 decimal places."""
    try:
        return parse_decimal_amount(text)
    except InvalidRequest:
        if _EXPONENT_FORM.fullmatch(text):
            amount = Decimal(text)
            exponent = amount.normalize().as_tuple().exponent
            if isinstance(exponent, int) and -exponent <= MAX_DECIMAL_PLACES:
                return amount
        raise


def _choice(value: Any, allowed: Sequence[str], param: str) -> str:
    if value not in allowed:
        raise InvalidRequest(f"Invalid {param}: must be one of {', '.join(allowed)}", param=param)
    return cast(str, value)


def _amount(
    values: Mapping[str, Any], int_name: str, decimal_name: str, prefix: str
) -> Decimal | None:
    """One amount given as integer minor units or as a decimal string, never both."""
    whole = values.get(int_name)
    text = values.get(decimal_name)
    if whole is not None and text is not None:
        raise InvalidRequest(
            f"You may only specify one of these parameters: {int_name}, {decimal_name}.",
            param=_nested(prefix, decimal_name),
        )
    if whole is not None:
        if isinstance(whole, bool) or not isinstance(whole, int) or whole < 0:
            raise InvalidRequest(
                f"Invalid {int_name}: must be a non-negative integer.",
                param=_nested(prefix, int_name),
            )
        amount, param = Decimal(whole), _nested(prefix, int_name)
    elif text is not None:
        param = _nested(prefix, decimal_name)
        try:
            amount = parse_amount_text(str(text))
        except InvalidRequest as error:
            raise InvalidRequest(error.message, param=param) from None
    else:
        return None
    if amount > MAX_AMOUNT:
        raise InvalidRequest(
            f"Invalid {param}: amounts can have at most eight digits of minor units "
            f"(at most {MAX_AMOUNT}).",
            param=param,
        )
    return amount


def _tiers(raw: Sequence[Mapping[str, Any]], prefix: str) -> list[Tier]:
    if len(raw) > MAX_TIERS:
        raise InvalidRequest(
            f"A price can have at most {MAX_TIERS} tiers.", param=_nested(prefix, "tiers")
        )
    tiers = []
    for index, item in enumerate(raw):
        at = _nested(prefix, f"tiers[{index}]")
        up_to = item.get("up_to")
        if up_to is not None and (isinstance(up_to, bool) or not isinstance(up_to, int)):
            raise InvalidRequest(
                f"Invalid {at}[up_to]: must be a positive integer or inf.", param=f"{at}[up_to]"
            )
        tiers.append(
            Tier(
                up_to=up_to,
                unit_amount=_amount(item, "unit_amount", "unit_amount_decimal", at),
                flat_amount=_amount(item, "flat_amount", "flat_amount_decimal", at),
            )
        )
    try:
        validate_tiers(tiers)
    except InvalidRequest as error:
        raise InvalidRequest(error.message, param=_nested(prefix, error.param or "")) from None
    return tiers


def _stored_tiers(tiers: Sequence[Tier]) -> list[dict[str, Any]]:
    return [
        {
            "up_to": tier.up_to,
            "unit_amount_decimal": (
                None if tier.unit_amount is None else decimal_text(tier.unit_amount)
            ),
            "flat_amount_decimal": (
                None if tier.flat_amount is None else decimal_text(tier.flat_amount)
            ),
        }
        for tier in tiers
    ]


def _recurring(raw: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    at = _nested(prefix, "recurring")
    interval = raw.get("interval")
    if interval is None:
        raise InvalidRequest(
            f"Missing required param: {at}[interval].",
            param=f"{at}[interval]",
            code="parameter_missing",
        )
    interval = _choice(interval, INTERVALS, f"{at}[interval]")
    count = raw.get("interval_count")
    count = 1 if count is None else count
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidRequest(
            f"Invalid {at}[interval_count]: must be a positive integer.",
            param=f"{at}[interval_count]",
        )
    if count > MAX_INTERVAL_COUNT[interval]:
        raise InvalidRequest(
            "The maximum billing interval is three years "
            "(3 years, 36 months, 156 weeks or 1095 days).",
            param=f"{at}[interval_count]",
        )
    usage_type = raw.get("usage_type") or "licensed"
    usage_type = _choice(usage_type, USAGE_TYPES, f"{at}[usage_type]")
    trial = raw.get("trial_period_days")
    if trial is not None and (
        isinstance(trial, bool)
        or not isinstance(trial, int)
        or not 0 <= trial <= MAX_TRIAL_PERIOD_DAYS
    ):
        raise InvalidRequest(
            f"Invalid {at}[trial_period_days]: must be 0 to {MAX_TRIAL_PERIOD_DAYS}.",
            param=f"{at}[trial_period_days]",
        )
    return {
        "recurring_interval": interval,
        "recurring_interval_count": count,
        "recurring_usage_type": usage_type,
        "recurring_trial_period_days": trial,
    }


def _check_lookup_key(lookup_key: Any, param: str) -> str:
    if not isinstance(lookup_key, str) or not 1 <= len(lookup_key) <= MAX_LOOKUP_KEY_LENGTH:
        raise InvalidRequest(
            f"Invalid {param}: must be 1 to {MAX_LOOKUP_KEY_LENGTH} characters.", param=param
        )
    return lookup_key


def _check_nickname(nickname: Any, param: str) -> str | None:
    if nickname is not None and (
        not isinstance(nickname, str) or len(nickname) > MAX_NICKNAME_LENGTH
    ):
        raise InvalidRequest(
            f"Invalid {param}: must be at most {MAX_NICKNAME_LENGTH} characters.", param=param
        )
    return nickname


def _claim_lookup_key(
    uow: UnitOfWork,
    lookup_key: str,
    price_id: str | None,
    now: datetime,
    *,
    transfer: bool,
    param: str,
) -> None:
    """Make `lookup_key` free for `price_id`: take it from its holder (a `price.updated`
    for the holder), or refuse."""
    holder = _prices(uow).find_by_lookup_key(lookup_key, for_update=True)
    if holder is None or holder["id"] == price_id:
        return
    if not transfer:
        raise InvalidRequest(
            f"A price (`{holder['id']}`) already uses that lookup key. Pass "
            "transfer_lookup_key=true to move it to this price.",
            param=param,
        )
    released = _prices(uow).update(holder["id"], {"lookup_key": None})
    record_event(uow, "price.updated", "price", released, now, previous=holder)


def create_price(
    uow: UnitOfWork, values: Mapping[str, Any], now: datetime, *, param_prefix: str = ""
) -> Record:
    """Create a price; `values` holds fields named as on the wire (`tiers[i][up_to]` None = inf).

    `param_prefix` names the enclosing parameter in errors (`default_price_data`,
    `items[0][price_data]`) when the price is created inline by another resource.
    """
    p = param_prefix

    def at(name: str) -> str:
        return _nested(p, name)

    currency = values.get("currency")
    if currency is None:
        raise InvalidRequest(
            f"Missing required param: {at('currency')}.",
            param=at("currency"),
            code="parameter_missing",
        )
    currency = str(currency).lower()
    if not is_valid_currency(currency):
        raise InvalidRequest(f"Invalid currency: {currency}.", param=at("currency"))

    product_id = values.get("product")
    product_data = values.get("product_data")
    if product_id is not None and product_data is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: product, product_data.",
            param=at("product_data"),
        )
    if product_id is None and product_data is None:
        raise InvalidRequest(
            f"Missing required param: {at('product')}.",
            param=at("product"),
            code="parameter_missing",
        )
    if product_id is not None:
        # Locked: a concurrent delete of the product must not miss this new price.
        product_service.get_product(uow, product_id, param=at("product"), for_update=True)

    scheme = _choice(
        values.get("billing_scheme") or "per_unit", BILLING_SCHEMES, at("billing_scheme")
    )
    unit_amount = _amount(values, "unit_amount", "unit_amount_decimal", p)
    tiers_mode = values.get("tiers_mode")
    raw_tiers = values.get("tiers")
    transform = values.get("transform_quantity")
    stored_tiers: list[dict[str, Any]] | None = None
    if scheme == "per_unit":
        if unit_amount is None:
            raise InvalidRequest(
                f"Missing required param: {at('unit_amount')}.",
                param=at("unit_amount"),
                code="parameter_missing",
            )
        for name, given in (("tiers", raw_tiers), ("tiers_mode", tiers_mode)):
            if given is not None:
                raise InvalidRequest(
                    f"{name} can only be used with billing_scheme=tiered.", param=at(name)
                )
    else:
        if unit_amount is not None:
            name = "unit_amount" if values.get("unit_amount") is not None else "unit_amount_decimal"
            raise InvalidRequest(
                f"{name} cannot be used with billing_scheme=tiered: set amounts in tiers.",
                param=at(name),
            )
        if tiers_mode is None:
            raise InvalidRequest(
                f"Missing required param: {at('tiers_mode')}.",
                param=at("tiers_mode"),
                code="parameter_missing",
            )
        tiers_mode = _choice(tiers_mode, TIERS_MODES, at("tiers_mode"))
        if raw_tiers is None:
            raise InvalidRequest(
                f"Missing required param: {at('tiers')}.",
                param=at("tiers"),
                code="parameter_missing",
            )
        stored_tiers = _stored_tiers(_tiers(raw_tiers, p))
        if transform is not None:
            raise InvalidRequest(
                "transform_quantity cannot be combined with billing_scheme=tiered.",
                param=at("transform_quantity"),
            )
    if transform is not None:
        divide_by = transform.get("divide_by")
        if isinstance(divide_by, bool) or not isinstance(divide_by, int) or divide_by < 1:
            raise InvalidRequest(
                "Invalid transform_quantity[divide_by]: must be a positive integer.",
                param=at("transform_quantity[divide_by]"),
            )
        rounding = _choice(transform.get("round"), ROUNDINGS, at("transform_quantity[round]"))
        transform = {"divide_by": divide_by, "round": rounding}

    recurring = values.get("recurring")
    recurring_columns = (
        _recurring(recurring, p)
        if recurring is not None
        else {
            "recurring_interval": None,
            "recurring_interval_count": None,
            "recurring_usage_type": None,
            "recurring_trial_period_days": None,
        }
    )
    tax_behavior = _choice(
        values.get("tax_behavior") or "unspecified", TAX_BEHAVIORS, at("tax_behavior")
    )
    lookup_key = values.get("lookup_key")
    if lookup_key is not None:
        lookup_key = _check_lookup_key(lookup_key, at("lookup_key"))
    nickname = _check_nickname(values.get("nickname"), at("nickname"))

    # Every check passed: only now write anything.
    if product_data is not None:
        product_id = product_service.create_product(
            uow, product_data, now, param_prefix=at("product_data")
        )["id"]
    if lookup_key is not None:
        _claim_lookup_key(
            uow,
            lookup_key,
            None,
            now,
            transfer=bool(values.get("transfer_lookup_key")),
            param=at("lookup_key"),
        )
    row: dict[str, Any] = {
        "id": new_id("price"),
        "created": to_unix(now),
        "product": product_id,
        "active": True if values.get("active") is None else bool(values["active"]),
        "currency": currency,
        "type": "one_time" if recurring is None else "recurring",
        "billing_scheme": scheme,
        "unit_amount_decimal": None if unit_amount is None else decimal_text(unit_amount),
        "tiers_mode": tiers_mode,
        "tiers": stored_tiers,
        "transform_quantity": transform,
        **recurring_columns,
        "tax_behavior": tax_behavior,
        "lookup_key": lookup_key,
        "nickname": nickname,
        "metadata": dict(values.get("metadata") or {}),
    }
    price = _prices(uow).insert(row)
    # Inline prices (`price_data`, `default_price_data`) are prices too: each has its event.
    record_event(uow, "price.created", "price", price, now)
    return price


def retrieve_price(uow: UnitOfWork, price_id: str, *, param: str | None = None) -> Record:
    """A price of this tenant, or NotFound naming `param`."""
    return _prices(uow).get(price_id, param=param)


def get_price(
    uow: UnitOfWork, price_id: str, *, param: str | None = "price", for_update: bool = False
) -> Record:
    """A price for use by other resources (subscription items, invoice items), or NotFound."""
    return _prices(uow).get(price_id, param=param, for_update=for_update)


def item_price(
    uow: UnitOfWork,
    raw: Mapping[str, Any],
    at: datetime,
    prefix: str,
    *,
    price_type: Literal["recurring", "one_time"],
    allow_inactive: bool = False,
) -> Record:
    """The price an item names: `raw["price"]` (an existing price) or `raw["price_data"]`
    (an inline price, created now), of `price_type`, active unless `allow_inactive` (a
    change planned before the price was archived). Errors name `prefix[...]`."""
    if raw.get("price") and raw.get("price_data"):
        raise InvalidRequest(
            "You may only specify one of these parameters: price, price_data.",
            param=f"{prefix}[price_data]",
        )
    if raw.get("price_data"):
        price = create_price(uow, dict(raw["price_data"]), at, param_prefix=f"{prefix}[price_data]")
    elif raw.get("price"):
        price = get_price(uow, raw["price"], param=f"{prefix}[price]")
    else:
        raise InvalidRequest(
            f"Missing required param: {prefix}[price].",
            param=f"{prefix}[price]",
            code="parameter_missing",
        )
    if price["type"] != price_type:
        raise InvalidRequest(
            f"The price specified is set to `type={price['type']}` but this field only "
            f"accepts prices with `type={price_type}`.",
            param=f"{prefix}[price]",
        )
    if not price["active"] and not allow_inactive:
        raise InvalidRequest(
            f"The price specified is inactive: {price['id']}.", param=f"{prefix}[price]"
        )
    return price


def update_price(
    uow: UnitOfWork, price_id: str, changes: Mapping[str, Any], now: datetime
) -> Record:
    """Change what Stripe lets change: active, metadata, nickname, lookup_key, tax_behavior."""
    current = _prices(uow).get(price_id, for_update=True)
    values: dict[str, Any] = {}
    if "active" in changes and changes["active"] is not None:
        active = bool(changes["active"])
        if not active and current["active"]:
            product = uow.repository(ProductRepository).find(current["product"])
            if product is not None and product["default_price"] == price_id:
                raise InvalidRequest(
                    "This price cannot be archived because it is the default price of its product.",
                    param="active",
                )
        values["active"] = active
    if "metadata" in changes:
        values["metadata"] = dict(changes["metadata"] or {})
    if "nickname" in changes:
        values["nickname"] = _check_nickname(changes["nickname"], "nickname")
    if "tax_behavior" in changes and changes["tax_behavior"] is not None:
        behavior = _choice(changes["tax_behavior"], TAX_BEHAVIORS, "tax_behavior")
        if behavior != current["tax_behavior"]:
            if current["tax_behavior"] != "unspecified":
                raise InvalidRequest(
                    "tax_behavior cannot be changed once it is inclusive or exclusive.",
                    param="tax_behavior",
                )
            values["tax_behavior"] = behavior
    if "lookup_key" in changes:
        lookup_key = changes["lookup_key"]
        if lookup_key is not None:
            lookup_key = _check_lookup_key(lookup_key, "lookup_key")
            _claim_lookup_key(
                uow,
                lookup_key,
                price_id,
                now,
                transfer=bool(changes.get("transfer_lookup_key")),
                param="lookup_key",
            )
        values["lookup_key"] = lookup_key
    price = _prices(uow).update(price_id, values)
    record_event(uow, "price.updated", "price", price, now, previous=current)
    return price


def list_prices(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    product: str | None = None,
    active: bool | None = None,
    type: str | None = None,
    currency: str | None = None,
    lookup_keys: Sequence[str] | None = None,
    recurring_interval: str | None = None,
    recurring_usage_type: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of prices, newest first."""
    return _prices(uow).list_prices(
        request,
        product=product,
        active=active,
        type=type,
        currency=None if currency is None else currency.lower(),
        lookup_keys=lookup_keys,
        recurring_interval=recurring_interval,
        recurring_usage_type=recurring_usage_type,
        created=created,
    )


def _price_terms(record: Record) -> PriceTerms:
    transform = record["transform_quantity"]
    tiers = tuple(
        Tier(
            up_to=tier["up_to"],
            unit_amount=_stored_decimal(tier["unit_amount_decimal"]),
            flat_amount=_stored_decimal(tier["flat_amount_decimal"]),
        )
        for tier in record["tiers"] or ()
    )
    return PriceTerms(
        billing_scheme=cast(Literal["per_unit", "tiered"], record["billing_scheme"]),
        unit_amount=_stored_decimal(record["unit_amount_decimal"]),
        tiers_mode=cast(Literal["graduated", "volume"] | None, record["tiers_mode"]),
        tiers=tiers,
        transform_quantity=(
            None
            if transform is None
            else TransformQuantity(
                divide_by=int(transform["divide_by"]),
                round=cast(Literal["up", "down"], transform["round"]),
            )
        ),
    )


# The parts of a stored price that decide what a quantity costs; made once per row as read
# (a billing run prices every item of a batch from the same few rows; terms are immutable).
price_terms: RowMemo[PriceTerms] = RowMemo(_price_terms)


def _stored_decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
