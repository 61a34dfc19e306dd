"""Invoice items: one-off charges and credits, pending until an invoice sweeps them in.

An item's amount is exact: `unit_amount_decimal × quantity` (or a price's amount for the
quantity), rounded half-up once. An item on a draft invoice can still change; the draft is
then recomputed (`invoices.recompute_draft`), so its totals always match its items.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from recur.domain.clock import from_unix, to_unix
from recur.domain.errors import InvalidRequest
from recur.domain.ids import new_id
from recur.domain.money import decimal_to_fraction, is_valid_currency, round_half_up
from recur.domain.pricing import amount_for_quantity
from recur.services import invoices as invoice_service
from recur.services.customers import get_live_customer
from recur.services.events import record_event
from recur.services.prices import (
    MAX_AMOUNT,
    create_price,
    decimal_text,
    get_price,
    parse_amount_text,
    price_terms,
)
from recur.services.tax_rates import get_active_tax_rate, retrieve_tax_rate
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import (
    InvoiceItemRepository,
    InvoiceRepository,
    SubscriptionRepository,
)
from recur.storage.repositories.catalog import PriceRepository
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.storage.uow import UnitOfWork

# The largest amount an item may reach, either sign (Stripe's eight digits of minor units).
MAX_ITEM_AMOUNT = int(MAX_AMOUNT)


def _items(uow: UnitOfWork) -> InvoiceItemRepository:
    return uow.repository(InvoiceItemRepository)


def _customer_time(uow: UnitOfWork, customer: Record, now: datetime) -> datetime:
    """A customer on a test clock lives at the clock's frozen time."""
    if customer["test_clock"]:
        clock = uow.repository(TestClockRepository).find(customer["test_clock"])
        if clock is not None:
            return from_unix(clock["frozen_time"])
    return now


def _signed_decimal(value: Any, param: str) -> Decimal:
    """A decimal amount in minor units; invoice items may be negative (credits)."""
    text = str(value).strip()
    negative = text.startswith("-")
    try:
        amount = parse_amount_text(text[1:] if negative else text)
    except InvalidRequest as error:
        raise InvalidRequest(error.message, param=param) from None
    return -amount if negative else amount


def _check_amount(amount: int, param: str) -> int:
    if abs(amount) > MAX_ITEM_AMOUNT:
        raise InvalidRequest(
            f"Invalid {param}: amounts can have at most eight digits of minor units "
            f"(at most {MAX_ITEM_AMOUNT} in absolute value).",
            param=param,
        )
    return amount


def _pricing(
    uow: UnitOfWork,
    values: Mapping[str, Any],
    current: Record | None,
    at: datetime,
) -> dict[str, Any]:
    """The price, unit amount, quantity, currency and amount an item's parameters describe.

    Exactly one way of pricing: `amount`, a `price` (or `pricing[price]`), inline
    `price_data`, or `unit_amount_decimal` (legacy `unit_amount`) — the last three with a
    `quantity` (default 1). On update, what is not given is kept from `current`.
    """
    price_id = values.get("price") or (values.get("pricing") or {}).get("price")
    ways = [
        name
        for name, given in (
            ("amount", values.get("amount") is not None),
            ("price", price_id is not None),
            ("price_data", values.get("price_data") is not None),
            ("unit_amount_decimal", values.get("unit_amount_decimal") is not None),
            ("unit_amount", values.get("unit_amount") is not None),
        )
        if given
    ]
    if len(ways) > 1:
        raise InvalidRequest(
            f"You may only specify one of these parameters: {', '.join(ways)}.", param=ways[-1]
        )
    quantity_given = values.get("quantity") is not None
    quantity = int(values["quantity"]) if quantity_given else None
    if quantity is not None and quantity < 0:
        raise InvalidRequest("Invalid quantity: must be at least 0.", param="quantity")
    way = ways[0] if ways else None
    if way is None:
        if current is None:
            raise InvalidRequest(
                "Missing required param: amount (or price, price_data, unit_amount_decimal).",
                param="amount",
                code="parameter_missing",
            )
        if not quantity_given:
            return {}
        # A new quantity re-prices the item as it was priced.
        if current["price"]:
            way, price_id = "price", current["price"]
        else:
            way = "unit_amount_decimal"
            values = {"unit_amount_decimal": current["unit_amount_decimal"] or current["amount"]}
    currency = values.get("currency")
    if currency is not None:
        currency = str(currency).lower()
        if not is_valid_currency(currency):
            raise InvalidRequest(f"Invalid currency: {currency}.", param="currency")
    if current is not None:
        currency = currency or current["currency"]
    price: Record | None = None
    if way == "price":
        price = get_price(
            uow, str(price_id), param="price" if values.get("price") else "pricing[price]"
        )
        if not price["active"]:
            raise InvalidRequest(f"The price specified is inactive: {price['id']}.", param="price")
    elif way == "price_data":
        data = dict(values["price_data"])
        price = create_price(uow, data, at, param_prefix="price_data")
    if price is not None:
        if currency is not None and currency != price["currency"]:
            raise InvalidRequest(
                f"The price's currency ({price['currency']}) does not match the currency "
                f"given ({currency}).",
                param="currency",
            )
        units = 1 if quantity is None else quantity
        amount = round_half_up(amount_for_quantity(price_terms(price), units))
        return {
            "price": price["id"],
            "product": price["product"],
            "unit_amount_decimal": price["unit_amount_decimal"],
            "quantity": units,
            "currency": price["currency"],
            "amount": _check_amount(amount, "quantity"),
        }
    if currency is None:
        raise InvalidRequest(
            "Missing required param: currency.", param="currency", code="parameter_missing"
        )
    if way == "amount":
        if quantity is not None and quantity != 1:
            raise InvalidRequest(
                "quantity cannot be combined with amount: use unit_amount_decimal instead.",
                param="quantity",
            )
        amount = _check_amount(int(values["amount"]), "amount")
        return {
            "price": None,
            "product": None,
            "unit_amount_decimal": str(amount),
            "quantity": 1,
            "currency": currency,
            "amount": amount,
        }
    name = "unit_amount" if way == "unit_amount" else "unit_amount_decimal"
    unit = _signed_decimal(values[name], name)
    units = 1 if quantity is None else quantity
    # Exact: the unit amount times the quantity, rounded once.
    amount = round_half_up(decimal_to_fraction(unit) * units)
    return {
        "price": None,
        "product": None,
        "unit_amount_decimal": decimal_text(unit),
        "quantity": units,
        "currency": currency,
        "amount": _check_amount(amount, name),
    }


def _period(values: Mapping[str, Any], at: datetime) -> tuple[int, int] | None:
    period = values.get("period")
    if period is None:
        return None
    start, end = int(period["start"]), int(period["end"])
    if end < start:
        raise InvalidRequest(
            "The period end must be on or after the period start.", param="period[end]"
        )
    return start, end


def _tax_rates(uow: UnitOfWork, rate_ids: Any) -> list[str]:
    return [
        get_active_tax_rate(uow, rate_id, param=f"tax_rates[{index}]")["id"]
        for index, rate_id in enumerate(rate_ids or [])
    ]


def _draft_for(uow: UnitOfWork, invoice_id: str, customer: Record, currency: str) -> Record:
    invoice = uow.repository(InvoiceRepository).get(invoice_id, param="invoice")
    if invoice["customer"] != customer["id"]:
        raise InvalidRequest("The invoice belongs to another customer.", param="invoice")
    if invoice["status"] != "draft":
        raise InvalidRequest(
            f"Invoice items can only be added to draft invoices; {invoice_id} is "
            f"{invoice['status']}.",
            param="invoice",
        )
    if invoice["currency"] != currency:
        raise InvalidRequest(
            f"The invoice item's currency ({currency}) must match the invoice's "
            f"({invoice['currency']}).",
            param="currency",
        )
    return invoice


def create_invoice_item(uow: UnitOfWork, values: Mapping[str, Any], now: datetime) -> Record:
    """`POST /v1/invoiceitems`: a pending item, or an item added to a draft invoice."""
    customer = get_live_customer(uow, values["customer"], param="customer")
    at = _customer_time(uow, customer, now)
    pricing = _pricing(uow, values, None, at)
    period = _period(values, at) or (to_unix(at), to_unix(at))
    subscription_id = values.get("subscription")
    if subscription_id:
        subscription = uow.repository(SubscriptionRepository).get(
            subscription_id, param="subscription"
        )
        if subscription["customer"] != customer["id"]:
            raise InvalidRequest(
                "The subscription belongs to another customer.", param="subscription"
            )
    invoice_id = values.get("invoice")
    if invoice_id:
        _draft_for(uow, invoice_id, customer, pricing["currency"])
    discountable = values.get("discountable")
    if discountable is None:
        # Stripe: false for prorations and negative items, true for the others.
        discountable = pricing["amount"] >= 0
    item = _items(uow).insert(
        {
            "id": new_id("ii"),
            "created": to_unix(at),
            "customer": customer["id"],
            "invoice": invoice_id or None,
            "subscription": subscription_id or None,
            "subscription_item": None,
            **pricing,
            "description": values.get("description"),
            "period_start": period[0],
            "period_end": period[1],
            "proration": False,
            "discountable": bool(discountable),
            "tax_rates": _tax_rates(uow, values.get("tax_rates")),
            "test_clock": customer["test_clock"],
            "metadata": dict(values.get("metadata") or {}),
        }
    )
    record_event(uow, "invoiceitem.created", "invoiceitem", invoice_item_view(uow, item), at)
    if invoice_id:
        invoice_service.recompute_draft(uow, invoice_id, at)
    return item


def _editable(uow: UnitOfWork, item_id: str) -> Record:
    item = _items(uow).get(item_id, for_update=True)
    if item["invoice"]:
        invoice = uow.repository(InvoiceRepository).get(item["invoice"])
        if invoice["status"] != "draft":
            raise InvalidRequest(
                f"This invoice item is on invoice {invoice['id']}, which is "
                f"{invoice['status']}: only pending items and items of draft invoices can "
                "change.",
                code="invoice_not_editable",
            )
    return item


def _item_time(uow: UnitOfWork, item: Record, now: datetime) -> datetime:
    if item["test_clock"]:
        clock = uow.repository(TestClockRepository).find(item["test_clock"])
        if clock is not None:
            return from_unix(clock["frozen_time"])
    return now


def update_invoice_item(
    uow: UnitOfWork, item_id: str, values: Mapping[str, Any], now: datetime
) -> Record:
    """Change a pending item or one on a draft (whose totals are then recomputed)."""
    item = _editable(uow, item_id)
    at = _item_time(uow, item, now)
    changes: dict[str, Any] = dict(_pricing(uow, values, item, at))
    if changes.get("currency", item["currency"]) != item["currency"]:
        raise InvalidRequest("An invoice item's currency cannot change.", param="currency")
    period = _period(values, at)
    if period is not None:
        changes["period_start"], changes["period_end"] = period
    for name in ("description", "metadata"):
        if name in values:
            changes[name] = values[name]
    if values.get("discountable") is not None:
        changes["discountable"] = bool(values["discountable"])
    if "tax_rates" in values:
        changes["tax_rates"] = _tax_rates(uow, values["tax_rates"])
    before = invoice_item_view(uow, item)
    item = _items(uow).update(item_id, changes)
    view = invoice_item_view(uow, item)
    record_event(uow, "invoiceitem.updated", "invoiceitem", view, at, previous=before)
    if item["invoice"]:
        invoice_service.recompute_draft(uow, item["invoice"], at)
    return item


def delete_invoice_item(uow: UnitOfWork, item_id: str, now: datetime) -> Record:
    """Delete a pending item or one on a draft; returns the item as it was."""
    item = _editable(uow, item_id)
    at = _item_time(uow, item, now)
    view = invoice_item_view(uow, item)
    _items(uow).delete(item_id)
    record_event(uow, "invoiceitem.deleted", "invoiceitem", view, at)
    if item["invoice"]:
        invoice_service.recompute_draft(uow, item["invoice"], at)
    return item


def retrieve_invoice_item(uow: UnitOfWork, item_id: str) -> Record:
    """One invoice item of this tenant."""
    return _items(uow).get(item_id)


def list_invoice_items(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    customer: str | None = None,
    invoice: str | None = None,
    pending: bool | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of invoice items, newest first."""
    return _items(uow).list_items(
        request, customer=customer, invoice=invoice, pending=pending, created=created
    )


def invoice_item_view(uow: UnitOfWork, item: Record) -> dict[str, Any]:
    """An item with its price and tax rate records, as the API and events render it."""
    view = dict(item)
    view["price_record"] = (
        uow.repository(PriceRepository).find(item["price"]) if item["price"] else None
    )
    view["tax_rate_records"] = [retrieve_tax_rate(uow, rate) for rate in item["tax_rates"] or []]
    return view
