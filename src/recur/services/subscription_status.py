"""A subscription's status and how payment outcomes move it; its view for the wire.

Kept apart from the subscription use cases so that invoices can tell a subscription that
its invoice was paid or failed without importing the whole of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from recur.services.events import record_event
from recur.services.prices import retrieve_price
from recur.services.tax_rates import retrieve_tax_rate
from recur.storage.repositories.base import Record
from recur.storage.repositories.billing import (
    InvoiceRepository,
    SubscriptionItemRepository,
    SubscriptionRepository,
)
from recur.storage.rows import RowMemo
from recur.storage.uow import UnitOfWork

ENDED = ("canceled", "incomplete_expired")


def subscription_view(uow: UnitOfWork, subscription: Record) -> dict[str, Any]:
    """A subscription with its items, each with its price record, as the wire shows it."""
    items = uow.repository(SubscriptionItemRepository).items_of(subscription["id"])
    return build_subscription_view(
        subscription,
        items,
        lambda price_id: retrieve_price(uow, price_id),
        lambda rate_id: retrieve_tax_rate(uow, rate_id),
    )


def build_subscription_view(
    subscription: Record,
    items: Sequence[Record],
    price: Callable[[str], Record],
    tax_rate: Callable[[str], Record],
) -> dict[str, Any]:
    """The view of a subscription and its items, given how to look up prices and tax rates
    (the billing run passes lookups into what it loaded in bulk)."""
    view = dict(subscription)
    item_views = []
    for item in items:
        # A row as read is copied into a dict once (a billing run views each item twice).
        item_view = dict(_item_fields(item))
        item_view["price"] = price(item["price"])
        item_view["tax_rates"] = [tax_rate(rate) for rate in item["tax_rates"] or []]
        item_view["current_period_start"] = subscription["current_period_start"]
        item_view["current_period_end"] = subscription["current_period_end"]
        item_views.append(item_view)
    view["items"] = item_views
    view["default_tax_rates"] = [tax_rate(rate) for rate in subscription["default_tax_rates"] or []]
    return view


_item_fields: RowMemo[dict[str, Any]] = RowMemo(dict)


def update_subscription_record(
    uow: UnitOfWork,
    subscription: Record,
    values: dict[str, Any],
    at: datetime,
    *,
    event: str = "customer.subscription.updated",
) -> Record:
    """Write changes and the event that describes them (with previous_attributes)."""
    before = subscription_view(uow, subscription)
    updated = uow.repository(SubscriptionRepository).update(subscription["id"], values)
    after = subscription_view(uow, updated)
    if event == "customer.subscription.updated":
        record_event(uow, event, "subscription", after, at, previous=before)
    else:
        record_event(uow, event, "subscription", after, at)
    return updated


def subscription_payment_method(uow: UnitOfWork, subscription_id: str) -> str | None:
    """The subscription's own default payment method, if it has one."""
    record = uow.repository(SubscriptionRepository).find(subscription_id)
    return None if record is None else record["default_payment_method"]


def _unpaid_invoices(uow: UnitOfWork, subscription_id: str) -> list[Record]:
    return [
        invoice
        for invoice in uow.repository(InvoiceRepository).open_or_draft_of(subscription_id)
        if invoice["status"] == "open"
    ]


def after_invoice_paid(uow: UnitOfWork, invoice: Record, at: datetime) -> None:
    """A paid invoice brings an incomplete or delinquent subscription back to active."""
    if not invoice["subscription"]:
        return
    subscription = uow.repository(SubscriptionRepository).find(
        invoice["subscription"], for_update=True
    )
    if subscription is not None and is_pending_update_invoice(subscription, invoice["id"]):
        # Imported here: pending updates build on this module.
        from recur.services.pending_updates import apply_pending_update

        apply_pending_update(uow, subscription, at)  # the change waited for this payment
        return
    if subscription is None or subscription["status"] not in ("incomplete", "past_due", "unpaid"):
        return
    pending = (subscription["pending_update"] or {}).get("invoice")
    if [unpaid for unpaid in _unpaid_invoices(uow, subscription["id"]) if unpaid["id"] != pending]:
        return  # still owes another invoice (a pending update's invoice is not owed)
    trialing = subscription["trial_end"] is not None and subscription["trial_end"] > int(
        at.timestamp()
    )
    update_subscription_record(
        uow, subscription, {"status": "trialing" if trialing else "active"}, at
    )


def after_payment_failed(uow: UnitOfWork, invoice: Record, at: datetime) -> None:
    """A failed renewal makes an active subscription past_due; a first invoice keeps it
    incomplete (it expires after the account's incomplete expiry)."""
    if not invoice["subscription"]:
        return
    subscription = uow.repository(SubscriptionRepository).find(
        invoice["subscription"], for_update=True
    )
    if subscription is None:
        return
    if is_pending_update_invoice(subscription, invoice["id"]):
        # Stripe: "The subscription will continue to cycle as if no update request was made."
        return
    if subscription["status"] in ("active", "trialing") and (
        invoice["billing_reason"] != "subscription_create"
    ):
        update_subscription_record(uow, subscription, {"status": "past_due"}, at)


def is_pending_update_invoice(subscription: Record, invoice_id: str) -> bool:
    """Whether the invoice is the one a pending update (`pending_if_incomplete`) waits for."""
    pending = subscription.get("pending_update") or {}
    return bool(pending.get("invoice") == invoice_id)
