"""Changes of a subscription's items mid-period, with proration, and their preview.

One function, `change_subscription`, serves `POST /v1/subscriptions/{id}` with `items[]`
and every `/v1/subscription_items` write. It credits the unused time of the old items and
charges the remaining time of the new ones (`proration_behavior`), restarts the cycle when
asked (`billing_cycle_anchor=now`) or when the interval changes, and invoices now when the
behaviour says so. `preview_invoice` runs the same code inside a savepoint that it rolls
back, so a preview is exactly what the change would produce and leaves nothing behind.

Recur extension `proration_behavior=difference_immediately` (Dodo's plan-change mode):
each item's full-period price difference, new minus old, now; an upgrade is invoiced and
charged at once, a downgrade's difference stays pending as a credit for the next invoice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from recur.domain.clock import from_unix, to_unix
from recur.domain.errors import CardDeclined, InvalidRequest, NotFound
from recur.domain.ids import new_id
from recur.domain.invoicing import LineDraft, apply_customer_balance
from recur.domain.periods import Interval, add_intervals
from recur.domain.pricing import amount_for_quantity
from recur.domain.proration import ProratedItem, difference_line, proration_lines
from recur.services import advance, pending_updates
from recur.services import invoices as invoice_service
from recur.services.customers import get_live_customer
from recur.services.events import record_event
from recur.services.prices import item_price, price_terms, retrieve_price
from recur.services.products import retrieve_product
from recur.services.subscription_status import ENDED, subscription_view
from recur.services.tax_rates import get_active_tax_rate, retrieve_tax_rate
from recur.storage.repositories.base import Page, PageRequest, Record
from recur.storage.repositories.billing import (
    ChargeRepository,
    InvoiceItemRepository,
    SubscriptionItemRepository,
    SubscriptionRepository,
)
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.storage.uow import UnitOfWork

PRORATION_BEHAVIORS = ("create_prorations", "always_invoice", "none", "difference_immediately")
PAYMENT_BEHAVIORS = (
    "allow_incomplete",
    "default_incomplete",
    "error_if_incomplete",
    "pending_if_incomplete",
)
# Statuses whose current period was paid for (or is owed): a change there is prorated.
PRORATED_STATUSES = ("active", "past_due", "unpaid")


@dataclass(frozen=True, slots=True)
class ChangeOptions:
    """How a change is billed (the parameters Stripe takes next to `items[]`)."""

    proration_behavior: str = "create_prorations"
    proration_date: int | None = None
    billing_cycle_anchor: str | None = None  # "now" | "unchanged"
    payment_behavior: str = "allow_incomplete"
    ends_trial: bool = False  # `trial_end=now` in the same request: the trial end bills
    # A change planned earlier (a schedule's phase): its prices may have been archived since
    # it was planned, and it goes ahead anyway, as a subscription on an archived price
    # keeps renewing. A request's own changes may only name active prices.
    planned: bool = False


@dataclass(slots=True)
class ChangeResult:
    """The subscription after a change, its immediate invoice (a draft), the items added."""

    subscription: Record
    invoice: Record | None = None
    added_items: list[str] = field(default_factory=list)
    # The subscription's view before the change (for the one `updated` event), and what a
    # pending update puts back when the change's invoice is not paid.
    before: dict[str, Any] | None = None
    restore: dict[str, Any] | None = None


def _subscriptions(uow: UnitOfWork) -> SubscriptionRepository:
    return uow.repository(SubscriptionRepository)


def _items(uow: UnitOfWork) -> SubscriptionItemRepository:
    return uow.repository(SubscriptionItemRepository)


def customer_time(uow: UnitOfWork, subscription: Record, now: datetime) -> datetime:
    """The subscription's present: its customer's test clock time, or `now`."""
    customer = get_live_customer(uow, subscription["customer"], param=None)
    if customer["test_clock"]:
        clock = uow.repository(TestClockRepository).get(customer["test_clock"])
        return from_unix(clock["frozen_time"])
    return now


def options_from(values: Mapping[str, Any]) -> ChangeOptions:
    """The change options among request values (absent ones take Stripe's defaults)."""
    return ChangeOptions(
        proration_behavior=values.get("proration_behavior") or "create_prorations",
        proration_date=values.get("proration_date"),
        billing_cycle_anchor=values.get("billing_cycle_anchor"),
        payment_behavior=values.get("payment_behavior") or "allow_incomplete",
        ends_trial=values.get("trial_end") == "now",
    )


# --- items --------------------------------------------------------------------------------


def _price_for(
    uow: UnitOfWork,
    raw: Mapping[str, Any],
    subscription: Record,
    at: datetime,
    prefix: str,
    *,
    planned: bool = False,
) -> Record:
    price = item_price(uow, raw, at, prefix, price_type="recurring", allow_inactive=planned)
    if price["currency"] != subscription["currency"]:
        raise InvalidRequest(
            "All prices on a subscription must have the same currency.", param=f"{prefix}[price]"
        )
    return price


def _tax_rate_ids(uow: UnitOfWork, rates: Sequence[str] | None, prefix: str) -> list[str]:
    return [
        get_active_tax_rate(uow, rate, param=f"{prefix}[tax_rates]")["id"] for rate in rates or []
    ]


def _quantity(raw: Mapping[str, Any], prefix: str, default: int) -> int:
    quantity = raw.get("quantity", default)
    if quantity is None or int(quantity) < 0:
        raise InvalidRequest("Invalid quantity: must be at least 0.", param=f"{prefix}[quantity]")
    return int(quantity)


def _merged_metadata(current: Mapping[str, str], sent: Mapping[str, str]) -> dict[str, str]:
    merged = dict(current)
    for key, value in sent.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _apply_items(
    uow: UnitOfWork,
    subscription: Record,
    raw_items: Sequence[Mapping[str, Any]],
    at: datetime,
    param: str,
    *,
    planned: bool = False,
) -> tuple[list[str], tuple[Interval, int]]:
    """Write the item changes; return the new item ids and the subscription's new interval."""
    repo = _items(uow)
    current = {item["id"]: item for item in repo.items_of(subscription["id"])}
    origin: dict[str, str] = {}  # item id -> the parameter that set its price, for errors
    added: list[str] = []
    for index, raw in enumerate(raw_items):
        prefix = f"{param}[{index}]"
        item_id = raw.get("id")
        if item_id:
            item = current.get(item_id)
            if item is None:
                raise NotFound.for_id("subscription_item", item_id, f"{prefix}[id]")
            if raw.get("deleted"):
                repo.update(item_id, {"deleted": True})
                del current[item_id]
                continue
            values: dict[str, Any] = {}
            if raw.get("price") or raw.get("price_data"):
                values["price"] = _price_for(uow, raw, subscription, at, prefix, planned=planned)[
                    "id"
                ]
                origin[item_id] = prefix
            if "quantity" in raw:
                values["quantity"] = _quantity(raw, prefix, int(item["quantity"]))
            if "tax_rates" in raw:
                values["tax_rates"] = _tax_rate_ids(uow, raw["tax_rates"], prefix)
            if "metadata" in raw:
                values["metadata"] = _merged_metadata(item["metadata"], raw["metadata"] or {})
            current[item_id] = repo.update(item_id, values) if values else item
            continue
        if raw.get("deleted"):
            raise InvalidRequest(
                "To delete an item, give its id.", param=f"{prefix}[id]", code="parameter_missing"
            )
        if not raw.get("price") and not raw.get("price_data"):
            raise InvalidRequest(
                f"Missing required param: {prefix}[price].",
                param=f"{prefix}[price]",
                code="parameter_missing",
            )
        price = _price_for(uow, raw, subscription, at, prefix, planned=planned)
        new = repo.insert(
            {
                "id": new_id("si"),
                "created": to_unix(at),
                "subscription": subscription["id"],
                "price": price["id"],
                "quantity": _quantity(raw, prefix, 1),
                "tax_rates": _tax_rate_ids(uow, raw.get("tax_rates"), prefix),
                "discounts": [],
                "metadata": _merged_metadata({}, raw.get("metadata") or {}),
                "deleted": False,
            }
        )
        current[new["id"]] = new
        origin[new["id"]] = prefix
        added.append(new["id"])
    if not current:
        raise InvalidRequest(
            "A subscription must keep at least one item; cancel it instead.", param=param
        )
    return added, _common_interval(uow, list(current.values()), origin, param)


def _common_interval(
    uow: UnitOfWork, items: Sequence[Record], origin: Mapping[str, str], param: str
) -> tuple[Interval, int]:
    seen_prices: set[str] = set()
    interval: tuple[Interval, int] | None = None
    # Items left as they were decide the interval (a new price must follow them); when
    # every price was just set, the first one decides.
    ordered = sorted(items, key=lambda item: item["id"] in origin)
    for item in ordered:
        where = f"{origin.get(item['id'], param)}[price]" if item["id"] in origin else param
        if item["price"] in seen_prices:
            raise InvalidRequest(
                "Cannot add multiple subscription items with the same price.", param=where
            )
        seen_prices.add(item["price"])
        price = retrieve_price(uow, item["price"])
        this = (price["recurring_interval"], int(price["recurring_interval_count"]))
        if interval is None:
            interval = this
        elif this != interval:
            raise InvalidRequest(
                "All prices on a subscription must have the same `recurring.interval` and "
                "`recurring.interval_count`.",
                param=where,
            )
    if interval is None:  # unreachable: the caller refuses an empty subscription
        raise InvalidRequest("A subscription must keep at least one item.", param=param)
    return interval


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """A subscription's items at one moment: full-period amounts and tax rates by item."""

    items: tuple[ProratedItem, ...]
    tax_rates: Mapping[str, tuple[str, ...]]


def _snapshot(uow: UnitOfWork, subscription: Record) -> _Snapshot:
    items = []
    rates: dict[str, tuple[str, ...]] = {}
    defaults = tuple(subscription["default_tax_rates"] or [])
    for item in _items(uow).items_of(subscription["id"]):
        price = retrieve_price(uow, item["price"])
        product = retrieve_product(uow, price["product"])
        quantity = int(item["quantity"])
        items.append(
            ProratedItem(
                unit_amount_for_quantity=amount_for_quantity(price_terms(price), quantity),
                description=advance.describe(price, product["name"], quantity),
                price_id=price["id"],
                product_id=price["product"],
                quantity=quantity,
                subscription_item_id=item["id"],
            )
        )
        rates[item["id"]] = tuple(item["tax_rates"] or []) or defaults
    return _Snapshot(tuple(items), rates)


def _difference_lines(
    old: _Snapshot, new: _Snapshot, at: datetime, period_end: datetime
) -> list[LineDraft]:
    """Dodo's `difference_immediately`: per item, the full new price less the full old one."""
    before = {item.subscription_item_id: item for item in old.items}
    after = {item.subscription_item_id: item for item in new.items}
    lines = []
    for item_id in [*before, *(key for key in after if key not in before)]:
        was, now_ = before.get(item_id), after.get(item_id)
        shown = now_ or was
        if shown is None:
            continue
        old_total = was.unit_amount_for_quantity if was else Fraction(0)
        new_total = now_.unit_amount_for_quantity if now_ else Fraction(0)
        if old_total == new_total:
            continue
        lines.append(
            difference_line(
                old_total,
                new_total,
                description=shown.description if now_ else f"removal of {shown.description}",
                at=at,
                period_end=period_end,
                price_id=shown.price_id,
                product_id=shown.product_id,
                quantity=shown.quantity if now_ else 0,
                subscription_item_id=item_id,
            )
        )
    return [line for line in lines if line.amount != 0]


def _add_pending_items(
    uow: UnitOfWork,
    subscription: Record,
    lines: Sequence[LineDraft],
    old: _Snapshot,
    new: _Snapshot,
    at: datetime,
) -> None:
    """Prorations become pending invoice items of the subscription (the next invoice's)."""
    rows = []
    for line in lines:
        # A credit reverses the old item (its tax rates); a charge is for the new one.
        primary, fallback = (old, new) if line.amount < 0 else (new, old)
        key = line.subscription_item_id or ""
        rates = primary.tax_rates.get(key, fallback.tax_rates.get(key, ()))
        rows.append(pending_proration_row(subscription, line, at, tax_rates=list(rates)))
    repo = uow.repository(InvoiceItemRepository)
    for row in rows:
        repo.insert(row)


def pending_proration_row(
    subscription: Record,
    line: LineDraft,
    at: datetime,
    *,
    tax_rates: Sequence[str] | None = None,
    discountable: bool = True,
) -> dict[str, Any]:
    """A proration line as the pending invoice item the subscription's next invoice sweeps
    in (`tax_rates`: the line's own unless given)."""
    return {
        "id": new_id("ii"),
        "created": to_unix(at),
        "customer": subscription["customer"],
        "invoice": None,
        "subscription": subscription["id"],
        "subscription_item": line.subscription_item_id,
        "price": line.price_id,
        "product": line.product_id,
        "quantity": line.quantity or 0,
        "unit_amount_decimal": None,
        "amount": line.amount,
        "currency": subscription["currency"],
        "description": line.description,
        "period_start": to_unix(line.period_start),
        "period_end": to_unix(line.period_end),
        "proration": True,
        "discountable": discountable,
        "tax_rates": (
            [rate.id for rate in line.tax_rates] if tax_rates is None else list(tax_rates)
        ),
        "test_clock": subscription["test_clock"],
        "metadata": {},
    }


# --- the change ---------------------------------------------------------------------------


def _check_options(options: ChangeOptions, subscription: Record) -> None:
    if options.proration_behavior not in PRORATION_BEHAVIORS:
        raise InvalidRequest(
            f"Invalid proration_behavior: must be one of {', '.join(PRORATION_BEHAVIORS)}",
            param="proration_behavior",
        )
    if options.payment_behavior not in PAYMENT_BEHAVIORS:
        raise InvalidRequest(
            f"Invalid payment_behavior: must be one of {', '.join(PAYMENT_BEHAVIORS)}",
            param="payment_behavior",
        )
    if (
        options.payment_behavior == "pending_if_incomplete"
        and subscription["collection_method"] == "send_invoice"
    ):
        # Stripe: "Pending updates aren't supported when the subscription's
        # collection_method is send_invoice".
        raise InvalidRequest(
            "payment_behavior=pending_if_incomplete cannot be used with a subscription whose "
            "collection_method is send_invoice.",
            param="payment_behavior",
        )
    if options.billing_cycle_anchor not in (None, "now", "unchanged"):
        raise InvalidRequest(
            "Invalid billing_cycle_anchor: must be one of now, unchanged",
            param="billing_cycle_anchor",
        )
    if options.proration_date is not None and subscription["status"] in PRORATED_STATUSES:
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        if not start <= int(options.proration_date) <= end:
            raise InvalidRequest(
                "proration_date must be within the subscription's current period "
                f"({start} to {end}).",
                param="proration_date",
            )


def _apply_change(
    uow: UnitOfWork,
    subscription_id: str,
    raw_items: Sequence[Mapping[str, Any]] | None,
    options: ChangeOptions,
    at: datetime,
    *,
    param: str = "items",
    catch_up: bool = True,
) -> ChangeResult:
    """Write the change and its prorations; the immediate invoice is left as a draft.

    `catch_up=False` is for a change made by `advance` itself (a schedule's phase
    transition), which is already the action due at `at`."""
    # Whatever time already owes (a renewal the worker has not reached yet) happens first,
    # so the change is prorated against the period that is really current.
    if catch_up:
        advance.advance_subscription(uow, subscription_id, at)
    subscription = _subscriptions(uow).get(subscription_id, for_update=True)
    status = subscription["status"]
    if status in ENDED:
        raise InvalidRequest(
            "A canceled subscription can only update its cancellation_details and metadata.",
            param=param,
        )
    if status == "incomplete" and raw_items:
        raise InvalidRequest(
            "The items of an incomplete subscription cannot change: pay its first invoice "
            "or cancel it.",
            param=param,
        )
    _check_options(options, subscription)
    behavior = options.proration_behavior
    anchor_now = options.billing_cycle_anchor == "now"
    if anchor_now and status == "trialing" and not options.ends_trial:
        raise InvalidRequest(
            "billing_cycle_anchor=now cannot be used during a trial; end it with trial_end=now.",
            param="billing_cycle_anchor",
        )
    if anchor_now and status not in (*PRORATED_STATUSES, "trialing"):
        raise InvalidRequest(
            f"billing_cycle_anchor=now cannot be used on a {status} subscription.",
            param="billing_cycle_anchor",
        )
    before = subscription_view(uow, subscription)
    restore = (
        pending_updates.capture(uow, subscription_id)
        if options.payment_behavior == "pending_if_incomplete"
        else None
    )
    old = _snapshot(uow, subscription)
    added: list[str] = []
    interval: tuple[Interval, int] = (subscription["interval"], int(subscription["interval_count"]))
    if raw_items is not None:
        added, interval = _apply_items(
            uow, subscription, raw_items, at, param, planned=options.planned
        )
    new = _snapshot(uow, subscription)
    prorated = status in PRORATED_STATUSES
    reset = prorated and (
        anchor_now or interval != (subscription["interval"], subscription["interval_count"])
    )
    if subscription.get("invoice_timing") == "end" and prorated:
        # Billed in arrears (Recur extension): nothing was paid ahead, so there is no unused
        # time to credit nor a new period to charge now; the period-end invoice bills the
        # items as they are then. Recur refuses what it could not bill correctly.
        if reset:
            raise InvalidRequest(
                "A subscription billed in arrears (invoice_timing=end) cannot restart its "
                "billing cycle or change its interval.",
                param="billing_cycle_anchor" if anchor_now else param,
            )
        if behavior != "none":
            raise InvalidRequest(
                "A subscription billed in arrears (invoice_timing=end) is changed with "
                "proration_behavior=none: its period-end invoice bills the new items.",
                param="proration_behavior",
            )
    if reset and behavior == "difference_immediately":
        raise InvalidRequest(
            "proration_behavior=difference_immediately keeps the billing cycle; it cannot be "
            "combined with billing_cycle_anchor=now or a change of interval.",
            param="proration_behavior",
        )
    period_start = from_unix(subscription["current_period_start"])
    period_end = from_unix(subscription["current_period_end"])
    t = at if options.proration_date is None else from_unix(int(options.proration_date))
    values: dict[str, Any] = {"interval": interval[0], "interval_count": interval[1]}
    lines: list[LineDraft] = []
    invoice_now = False
    new_end = period_end
    if reset:
        # A new period starts now and is billed now; the unused old period is credited
        # (unless proration_behavior=none: Dodo's full_immediately).
        new_end = add_intervals(at, interval[0], interval[1], 1)
        if behavior != "none":
            lines = proration_lines(
                old.items, [], period_start=period_start, period_end=period_end, at=t
            )
        values.update(
            billing_cycle_anchor=to_unix(at),
            # The anchor is now the change: a billing_cycle_anchor_config no longer applies.
            billing_cycle_anchor_config=None,
            current_period_start=to_unix(at),
            current_period_end=to_unix(new_end),
        )
        invoice_now = True
    elif prorated and behavior in ("create_prorations", "always_invoice"):
        lines = proration_lines(
            old.items, new.items, period_start=period_start, period_end=period_end, at=t
        )
        invoice_now = behavior == "always_invoice" and bool(lines)
    elif prorated and behavior == "difference_immediately":
        lines = _difference_lines(old, new, min(max(t, period_start), period_end), period_end)
        # An upgrade is charged now; a downgrade's credit waits for the next invoice.
        invoice_now = sum(line.amount for line in lines) > 0
    _add_pending_items(uow, subscription, lines, old, new, at)
    subscription = _subscriptions(uow).update(subscription_id, values)
    invoice = None
    if invoice_now:
        invoice = advance.subscription_invoice(
            uow,
            subscription,
            advance.item_lines(uow, subscription, at, new_end) if reset else [],
            at,
            billing_reason="subscription_update",
            period_start=at,
            period_end=new_end if reset else at,
            cycle=False,
            finalizes_at=None,
        )
        subscription = _subscriptions(uow).get(subscription_id)
    return ChangeResult(subscription, invoice, added, before=before, restore=restore)


def _collect(
    uow: UnitOfWork, result: ChangeResult, invoice: Record, options: ChangeOptions, at: datetime
) -> None:
    """Finalize the change's invoice and collect it as `payment_behavior` says."""
    subscription = result.subscription
    pending = options.payment_behavior == "pending_if_incomplete"
    if pending:
        pending_updates.hold(uow, subscription["id"], invoice["id"])
    attempt = options.payment_behavior != "default_incomplete"
    invoice = invoice_service.finalize_invoice(uow, invoice["id"], at, attempt=attempt)
    if invoice["status"] == "paid" or invoice["collection_method"] == "send_invoice":
        return
    if pending and result.restore is not None:
        # Stripe's pending update: the subscription stays as it was, the invoice open; the
        # change applies when the invoice is paid, or is discarded at `expires_at`.
        pending_updates.defer(uow, subscription["id"], result.restore, invoice["id"], at)
        return
    if options.payment_behavior == "error_if_incomplete":
        # Raising rolls the whole request back: the subscription is left as it was.
        charge = uow.repository(ChargeRepository).latest_for(invoice["id"]) or {}
        raise CardDeclined(
            charge.get("failure_message") or "Your card was declined.",
            code=charge.get("failure_code") or "card_declined",
            decline_code=charge.get("decline_code"),
        )
    if options.payment_behavior == "default_incomplete":
        current = _subscriptions(uow).get(subscription["id"])
        if current["status"] == "active":
            # Stripe: "transition the subscription to status=past_due when payment is
            # required and await explicit confirmation of the invoice's payment". The
            # change's one `updated` event (emitted after this) shows the new status.
            _subscriptions(uow).update(current["id"], {"status": "past_due"})


def change_subscription(
    uow: UnitOfWork,
    subscription_id: str,
    raw_items: Sequence[Mapping[str, Any]] | None,
    options: ChangeOptions,
    at: datetime,
    *,
    param: str = "items",
    catch_up: bool = True,
    event: bool = True,
) -> ChangeResult:
    """Change items at `at` with prorations; invoice and collect now if the options say so.

    Emits the one `customer.subscription.updated` of the change, unless `event=False` (the
    caller changes more of the subscription and emits one event for all of it)."""
    result = _apply_change(
        uow, subscription_id, raw_items, options, at, param=param, catch_up=catch_up
    )
    if result.invoice is not None:
        _collect(uow, result, result.invoice, options, at)
    result.subscription = advance.schedule(uow, subscription_id)
    if event and result.before is not None:
        after = subscription_view(uow, result.subscription)
        record_event(
            uow, "customer.subscription.updated", "subscription", after, at, previous=result.before
        )
    return result


def apply_update(
    uow: UnitOfWork, subscription: Record, changes: Mapping[str, Any], at: datetime
) -> Record:
    """The item and billing-cycle part of `POST /v1/subscriptions/{id}` (others: unchanged).

    No event: the update emits one `customer.subscription.updated` for all its changes."""
    if "items" not in changes and changes.get("billing_cycle_anchor") != "now":
        return subscription
    raw_items = changes.get("items")
    result = change_subscription(
        uow, subscription["id"], raw_items, options_from(changes), at, event=False
    )
    return result.subscription


# --- subscription items -------------------------------------------------------------------


def item_view(uow: UnitOfWork, item: Record) -> dict[str, Any]:
    """A subscription item with its price and tax-rate records and its period."""
    subscription = _subscriptions(uow).get(item["subscription"])
    view = dict(item)
    view["price"] = retrieve_price(uow, item["price"])
    view["tax_rates"] = [retrieve_tax_rate(uow, rate) for rate in item["tax_rates"] or []]
    view["current_period_start"] = subscription["current_period_start"]
    view["current_period_end"] = subscription["current_period_end"]
    return view


def retrieve_item(uow: UnitOfWork, item_id: str, *, param: str | None = None) -> Record:
    """One current (not deleted) subscription item of this tenant."""
    item = _items(uow).get(item_id, param=param)
    if item["deleted"]:
        raise NotFound.for_id("subscription_item", item_id, param)
    return item


def create_item(
    uow: UnitOfWork,
    subscription_id: str,
    raw: Mapping[str, Any],
    options: ChangeOptions,
    now: datetime,
) -> Record:
    """Add an item to a subscription (prorated as `options` say)."""
    subscription = _subscriptions(uow).get(subscription_id, param="subscription")
    at = customer_time(uow, subscription, now)
    result = change_subscription(uow, subscription_id, [raw], options, at, param="items")
    return _items(uow).get(result.added_items[0])


def update_item(
    uow: UnitOfWork, item_id: str, raw: Mapping[str, Any], options: ChangeOptions, now: datetime
) -> Record:
    """Change an item's price, quantity, tax rates or metadata (prorated)."""
    item = retrieve_item(uow, item_id)
    subscription = _subscriptions(uow).get(item["subscription"])
    at = customer_time(uow, subscription, now)
    change_subscription(uow, subscription["id"], [dict(raw, id=item_id)], options, at)
    return _items(uow).get(item_id)


def delete_item(uow: UnitOfWork, item_id: str, options: ChangeOptions, now: datetime) -> Record:
    """Remove an item from its subscription (its unused time credited as `options` say)."""
    item = retrieve_item(uow, item_id)
    subscription = _subscriptions(uow).get(item["subscription"])
    at = customer_time(uow, subscription, now)
    change_subscription(uow, subscription["id"], [{"id": item_id, "deleted": True}], options, at)
    return _items(uow).get(item_id)


def list_items(uow: UnitOfWork, request: PageRequest, subscription_id: str) -> Page:
    """A page of a subscription's current items."""
    _subscriptions(uow).get(subscription_id, param="subscription")
    return _items(uow).list_items(request, subscription_id)


# --- preview ------------------------------------------------------------------------------


# A preview walks at most this many of the subscription's actions looking for its next
# invoice (a pending draft's finalization, a notice, then the renewal).
MAX_PREVIEW_STEPS = 20


def _next_invoice(uow: UnitOfWork, subscription_id: str) -> Record:
    """Let time run to the subscription's next invoice (inside the preview's savepoint).

    The renewal is produced by `advance`, the code that will produce it for real, so the
    preview follows every rule of the engine (cancel_at, invoice timing, discounts, ...).
    """
    repo = _subscriptions(uow)
    for _ in range(MAX_PREVIEW_STEPS):
        subscription = repo.get(subscription_id)
        action = advance.next_action(uow, subscription)
        if action is None:
            break
        before = subscription["latest_invoice"]
        advance.advance_subscription(uow, subscription_id, from_unix(action.at))
        latest = repo.get(subscription_id)["latest_invoice"]
        if latest is not None and latest != before:
            return invoice_service.retrieve_invoice(uow, latest)
    raise NotFound(
        f"No upcoming invoices for subscription {subscription_id}.",
        code="invoice_upcoming_none",
    )


def _preview_view(uow: UnitOfWork, invoice: Record, *, upcoming: bool) -> dict[str, Any]:
    """The invoice as a preview: a draft that was never stored, the customer balance applied."""
    view = invoice_service.invoice_view(uow, invoice)
    if invoice["status"] == "draft":
        customer = uow.repository(CustomerRepository).get(invoice["customer"])
        balance = apply_customer_balance(int(invoice["total"]), int(customer["balance"]))
    else:
        # Finalized on the way (an account without finalization delay): the balance it met
        # is the one finalization applied.
        balance = apply_customer_balance(int(invoice["total"]), int(invoice["starting_balance"]))
    # Stripe names previews `upcoming_in_…` and their lines `il_tmp_…`: neither can be
    # retrieved, paid or edited.
    preview_id = f"upcoming_{invoice['id']}"
    view.update(
        id=preview_id,
        status="draft",
        number=None,
        starting_balance=balance.starting_balance,
        ending_balance=None,
        amount_due=balance.amount_due,
        amount_paid=0,
        amount_remaining=balance.amount_due,
        attempt_count=0,
        attempted=False,
        next_payment_attempt=None,
        paid_out_of_band=False,
        status_transitions={},
    )
    if upcoming:
        view["billing_reason"] = "upcoming"
    view["lines"] = [
        dict(line, id=f"il_tmp_{line['id'].removeprefix('il_')}", invoice=preview_id)
        for line in view["lines"]
    ]
    return view


def preview_invoice(
    uow: UnitOfWork,
    subscription_id: str,
    details: Mapping[str, Any],
    now: datetime,
    *,
    customer_id: str | None = None,
) -> dict[str, Any]:
    """The invoice a subscription would produce next, or that a proposed change would
    produce now — computed by the real code in a savepoint that is then rolled back."""
    subscription = _subscriptions(uow).get(subscription_id, param="subscription")
    if customer_id is not None and customer_id != subscription["customer"]:
        raise InvalidRequest(
            f"The subscription {subscription_id} does not belong to customer {customer_id}.",
            param="customer",
        )
    at = customer_time(uow, subscription, now)
    savepoint = uow.connection.begin_nested()
    try:
        invoice, upcoming = _preview_in_savepoint(uow, subscription_id, details, at, now)
        return _preview_view(uow, invoice, upcoming=upcoming)
    finally:
        # Everything the preview wrote (items, invoices, events, charges) disappears here.
        savepoint.rollback()


def _preview_in_savepoint(
    uow: UnitOfWork,
    subscription_id: str,
    details: Mapping[str, Any],
    at: datetime,
    now: datetime,
) -> tuple[Record, bool]:
    """The change's immediate invoice, else the next one time brings (True: upcoming)."""
    # Imported here because `subscriptions.update_subscription` calls into this module.
    from recur.services.subscriptions import update_subscription

    options = options_from(details)
    if "items" in details or details.get("billing_cycle_anchor") == "now":
        result = _apply_change(
            uow,
            subscription_id,
            details.get("items"),
            options,
            at,
            param="subscription_details[items]",
        )
        if result.invoice is not None:
            return result.invoice, False
    else:
        advance.advance_subscription(uow, subscription_id, at)
    others = {
        name: details[name]
        for name in ("trial_end", "cancel_at", "cancel_at_period_end")
        if name in details
    }
    if others:
        # The rest of the update goes through the update itself: ending a trial bills now.
        before = _subscriptions(uow).get(subscription_id)["latest_invoice"]
        try:
            subscription = update_subscription(uow, subscription_id, others, now)
        except InvalidRequest as error:
            if error.param in others:
                error.param = f"subscription_details[{error.param}]"
            raise
        if subscription["latest_invoice"] not in (None, before):
            invoice = invoice_service.retrieve_invoice(uow, subscription["latest_invoice"])
            return invoice, False
    return _next_invoice(uow, subscription_id), True
