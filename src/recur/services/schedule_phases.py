"""A subscription schedule's phases: validated once, stored resolved.

A resolved phase is a plain dict (a JSON column): its `start_date` and `end_date` are
computed (from `end_date`, `duration`, or the legacy `iterations` × the price interval),
prices made from `price_data` are created and referenced by id, tax rates and coupons are
checked. Advancing a subscription later only reads these dicts; nothing is re-validated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from recur.domain.clock import from_unix, to_unix
from recur.domain.errors import InvalidRequest
from recur.domain.periods import Interval, add_intervals
from recur.services.coupons import get_coupon_record
from recur.services.payment_methods import check_attached
from recur.services.prices import item_price
from recur.services.promotion_codes import retrieve_promotion_code
from recur.services.subscriptions import resolve_items
from recur.services.tax_rates import get_active_tax_rate
from recur.storage.repositories.base import Record
from recur.storage.uow import UnitOfWork

PRORATION_BEHAVIORS = ("create_prorations", "always_invoice", "none")
DEFAULT_SETTINGS: dict[str, Any] = {
    "billing_cycle_anchor": "automatic",
    "collection_method": None,
    "default_payment_method": None,
    "description": None,
    "invoice_settings": {"days_until_due": None},
}


def resolve_default_settings(
    uow: UnitOfWork, raw: Mapping[str, Any] | None, current: Mapping[str, Any], customer: Record
) -> dict[str, Any]:
    """`default_settings`: what every phase inherits unless it sets its own."""
    settings = dict(DEFAULT_SETTINGS, **current)
    if raw is None:
        return settings
    for name in ("billing_cycle_anchor", "collection_method", "description"):
        if name in raw:
            settings[name] = raw[name]
    if "default_payment_method" in raw:
        method = raw["default_payment_method"]
        if method:
            check_attached(uow, method, customer["id"], "default_settings[default_payment_method]")
        settings["default_payment_method"] = method or None
    if "invoice_settings" in raw:
        days = (raw["invoice_settings"] or {}).get("days_until_due")
        settings["invoice_settings"] = {"days_until_due": days}
    days = settings["invoice_settings"].get("days_until_due")
    if days is not None and settings["collection_method"] != "send_invoice":
        raise InvalidRequest(
            "days_until_due is only used with collection_method=send_invoice.",
            param="default_settings[invoice_settings][days_until_due]",
        )
    return settings


def _end_of(
    raw: Mapping[str, Any],
    start: datetime,
    interval: tuple[Interval, int],
    prefix: str,
    *,
    last: bool,
    next_start: int | None,
) -> int:
    """The phase's end: `end_date`, `duration`, `iterations`, else the next phase's start
    (or, for the last phase, one interval of its prices)."""
    given = [name for name in ("end_date", "duration", "iterations") if raw.get(name) is not None]
    if len(given) > 1:
        raise InvalidRequest(
            f"You may only specify one of these parameters: {', '.join(given)}.",
            param=f"{prefix}[{given[-1]}]",
        )
    if raw.get("end_date") is not None:
        return int(raw["end_date"])
    if raw.get("duration") is not None:
        duration = raw["duration"]
        count = int(duration.get("interval_count") or 1)
        return to_unix(add_intervals(start, duration["interval"], count, 1))
    if raw.get("iterations") is not None:
        # Legacy `iterations`: that many billing periods of the phase's prices.
        return to_unix(add_intervals(start, interval[0], interval[1], int(raw["iterations"])))
    if next_start is not None:
        return next_start
    if last:
        # Recur's reading of Stripe: a last phase without an end lasts one iteration.
        return to_unix(add_intervals(start, interval[0], interval[1], 1))
    raise InvalidRequest(
        f"Missing required param: {prefix}[end_date] (or duration, or iterations): only the "
        "last phase may leave its end out.",
        param=f"{prefix}[end_date]",
        code="parameter_missing",
    )


def _discounts(uow: UnitOfWork, raw: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Coupons and promotion codes, checked now and redeemed when the phase starts."""
    wanted = list(raw.get("discounts") or [])
    if raw.get("coupon"):
        wanted.append({"coupon": raw["coupon"]})
    out = []
    for index, entry in enumerate(wanted):
        where = f"{prefix}[discounts][{index}]"
        coupon = entry.get("coupon")
        code = entry.get("promotion_code")
        if bool(coupon) == bool(code):
            raise InvalidRequest(
                "Each discount needs exactly one of coupon or promotion_code.", param=where
            )
        if coupon:
            record = get_coupon_record(uow, coupon, param=f"{where}[coupon]")
            if record["deleted"]:
                raise InvalidRequest(f"No such coupon: '{coupon}'", param=f"{where}[coupon]")
            out.append({"coupon": record["id"], "promotion_code": None})
        else:
            promo = retrieve_promotion_code(uow, code, param=f"{where}[promotion_code]")
            out.append({"coupon": promo["coupon"], "promotion_code": promo["id"]})
    return out


def _invoice_items(
    uow: UnitOfWork, raw: Sequence[Mapping[str, Any]], currency: str, at: datetime, prefix: str
) -> list[dict[str, Any]]:
    """`add_invoice_items`: one-time prices added to the first invoice of the phase."""
    out = []
    for index, entry in enumerate(raw):
        where = f"{prefix}[add_invoice_items][{index}]"
        price = item_price(uow, entry, at, where, price_type="one_time")
        if price["currency"] != currency:
            raise InvalidRequest(
                "The price's currency must be the phase's currency.", param=f"{where}[price]"
            )
        out.append(
            {
                "price": price["id"],
                "quantity": int(entry.get("quantity") or 1),
                "tax_rates": [
                    get_active_tax_rate(uow, rate, param=f"{where}[tax_rates]")["id"]
                    for rate in entry.get("tax_rates") or []
                ],
            }
        )
    return out


def resolve_phases(
    uow: UnitOfWork,
    raw_phases: Sequence[Mapping[str, Any]],
    *,
    start: int,
    customer: Record,
    settings: Mapping[str, Any],
    at: datetime,
    first_index: int = 0,
    request_offset: int = 0,
) -> list[dict[str, Any]]:
    """Validate phases given in a request and resolve them; the first starts at `start`.

    `first_index` is the position of the first of them in the schedule (past phases kept
    on an update come before); `request_offset` the position of the first of them in the
    request, so that errors name the parameter that was sent (`phases[1][items]`).
    """
    if not raw_phases:
        raise InvalidRequest(
            "Missing required param: phases.", param="phases", code="parameter_missing"
        )
    phases: list[dict[str, Any]] = []
    currency: str | None = None
    for position, raw in enumerate(raw_phases):
        prefix = f"phases[{position + request_offset}]"
        items = resolve_items(uow, raw.get("items") or [], at, param=f"{prefix}[items]")
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item["price"]["id"] in seen:
                raise InvalidRequest(
                    "Cannot add multiple subscription items with the same price.",
                    param=f"{prefix}[items][{index}][price]",
                )
            seen.add(item["price"]["id"])
        first_price = items[0]["price"]
        phase_currency = first_price["currency"]
        if raw.get("currency") and raw["currency"] != phase_currency:
            raise InvalidRequest(
                "The phase's currency must be its prices' currency.", param=f"{prefix}[currency]"
            )
        if currency is not None and phase_currency != currency:
            raise InvalidRequest(
                "All phases of a subscription schedule must have the same currency.",
                param=f"{prefix}[items][0][price]",
            )
        currency = phase_currency
        phase_start = start if not phases else phases[-1]["end_date"]
        given_start = raw.get("start_date")
        if given_start is not None and given_start != "now" and int(given_start) != phase_start:
            raise InvalidRequest(
                "A phase starts when the phase before it ends (or, for the first, at the "
                f"schedule's start: {phase_start}).",
                param=f"{prefix}[start_date]",
            )
        nxt = raw_phases[position + 1] if position + 1 < len(raw_phases) else None
        next_start = None
        if nxt is not None and nxt.get("start_date") not in (None, "now"):
            next_start = int(nxt["start_date"])
        interval = (first_price["recurring_interval"], int(first_price["recurring_interval_count"]))
        end = _end_of(
            raw,
            from_unix(phase_start),
            interval,
            prefix,
            last=nxt is None,
            next_start=next_start,
        )
        if end <= phase_start:
            raise InvalidRequest(
                "A phase must end after it starts.",
                param=f"{prefix}[end_date]" if raw.get("end_date") is not None else prefix,
            )
        trial_end = _trial_end(raw, phase_start, end, prefix, first_index + position)
        method = raw.get("collection_method")
        days = (raw.get("invoice_settings") or {}).get("days_until_due")
        if days is not None and (method or settings.get("collection_method")) != "send_invoice":
            raise InvalidRequest(
                "days_until_due is only used with collection_method=send_invoice.",
                param=f"{prefix}[invoice_settings][days_until_due]",
            )
        if raw.get("default_payment_method"):
            check_attached(
                uow,
                raw["default_payment_method"],
                customer["id"],
                f"{prefix}[default_payment_method]",
            )
        phases.append(
            {
                "start_date": phase_start,
                "end_date": end,
                "items": [
                    {
                        "price": item["price"]["id"],
                        "quantity": item["quantity"],
                        "tax_rates": item["tax_rates"],
                        "metadata": item["metadata"],
                    }
                    for item in items
                ],
                "add_invoice_items": _invoice_items(
                    uow, raw.get("add_invoice_items") or [], phase_currency, at, prefix
                ),
                "billing_cycle_anchor": raw.get("billing_cycle_anchor"),
                "collection_method": method,
                "currency": phase_currency,
                "default_payment_method": raw.get("default_payment_method") or None,
                "default_tax_rates": [
                    get_active_tax_rate(uow, rate, param=f"{prefix}[default_tax_rates]")["id"]
                    for rate in raw.get("default_tax_rates") or []
                ],
                "description": raw.get("description"),
                "discounts": _discounts(uow, raw, prefix),
                "invoice_settings": None if days is None else {"days_until_due": int(days)},
                "metadata": dict(raw.get("metadata") or {}),
                "proration_behavior": raw.get("proration_behavior") or "create_prorations",
                "trial_end": trial_end,
            }
        )
    return phases


def _trial_end(raw: Mapping[str, Any], start: int, end: int, prefix: str, index: int) -> int | None:
    """`trial` (the whole phase) or `trial_end`; Recur supports a trial in the first phase."""
    trial = bool(raw.get("trial"))
    trial_end = raw.get("trial_end")
    if not trial and trial_end is None:
        return None
    if trial and trial_end is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: trial, trial_end.",
            param=f"{prefix}[trial_end]",
        )
    if index != 0:
        raise InvalidRequest(
            "Recur supports a trial only in a schedule's first phase.",
            param=f"{prefix}[trial_end]" if trial_end is not None else f"{prefix}[trial]",
        )
    if trial or trial_end is None:
        return end
    if not start < int(trial_end) <= end:
        raise InvalidRequest("trial_end must lie within its phase.", param=f"{prefix}[trial_end]")
    return int(trial_end)


def effective(phase: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """What a phase sets on its subscription: its own values, else the schedule defaults."""
    method = phase["collection_method"] or settings.get("collection_method")
    method = method or "charge_automatically"
    days = (phase["invoice_settings"] or {}).get("days_until_due")
    if days is None:
        days = (settings.get("invoice_settings") or {}).get("days_until_due")
    if method == "send_invoice" and days is None:
        days = 30
    return {
        "collection_method": method,
        "days_until_due": days if method == "send_invoice" else None,
        "default_payment_method": phase["default_payment_method"]
        or settings.get("default_payment_method"),
        "description": phase["description"]
        if phase["description"] is not None
        else settings.get("description"),
        "default_tax_rates": list(phase["default_tax_rates"]),
    }


def anchors_at_start(phase: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
    """Whether entering the phase resets the billing cycle anchor to the phase start."""
    anchor = phase["billing_cycle_anchor"] or settings.get("billing_cycle_anchor")
    return anchor == "phase_start"


def phase_at(phases: Sequence[Mapping[str, Any]], moment: int) -> int | None:
    """The index of the phase in force at `moment` (start ≤ moment < end), if any."""
    for index, phase in enumerate(phases):
        if phase["start_date"] <= moment < phase["end_date"]:
            return index
    return None
