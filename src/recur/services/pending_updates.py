"""Pending updates: a subscription change that waits for its invoice to be paid.

`payment_behavior=pending_if_incomplete` (Stripe's pending updates): when the invoice a
change produces cannot be paid at once, the subscription stays as it was and shows the
change in `pending_update` (its items, the new anchor, `expires_at`); the invoice stays
open. Paying it later applies the change (`customer.subscription.pending_update_applied`);
at `expires_at` — 23 hours after the request, or the end of the current period or trial
when that comes first — the invoice is voided and the change discarded
(`customer.subscription.pending_update_expired`). The expiry is an action of
`advance.due_actions`, so it happens in the one code path through time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.services import invoices as invoice_service
from recur.services.events import record_event
from recur.services.subscription_status import subscription_view
from recur.storage.repositories.base import Record
from recur.storage.repositories.billing import (
    InvoiceRepository,
    SubscriptionItemRepository,
    SubscriptionRepository,
)
from recur.storage.uow import UnitOfWork

# Stripe: a pending update expires 23 hours after the update at the latest.
LIFETIME = 23 * 3600
# The subscription columns a change of items or of the billing cycle writes.
CHANGE_COLUMNS = (
    "interval",
    "interval_count",
    "billing_cycle_anchor",
    "billing_cycle_anchor_config",
    "current_period_start",
    "current_period_end",
)
ITEM_COLUMNS = ("price", "quantity", "tax_rates", "metadata")


def capture(uow: UnitOfWork, subscription_id: str) -> dict[str, Any]:
    """What a change of items writes, as it is now: the cycle columns and the items."""
    subscription = uow.repository(SubscriptionRepository).get(subscription_id)
    items = uow.repository(SubscriptionItemRepository).items_of(subscription_id)
    return {
        "subscription": {name: subscription[name] for name in CHANGE_COLUMNS},
        "items": [
            {"id": item["id"], **{name: item[name] for name in ITEM_COLUMNS}} for item in items
        ],
    }


def restore(uow: UnitOfWork, subscription_id: str, state: dict[str, Any]) -> Record:
    """Put the cycle columns and the items back as `capture` saw them."""
    items = uow.repository(SubscriptionItemRepository)
    kept = {item["id"] for item in state["items"]}
    for item in items.items_of(subscription_id):
        if item["id"] not in kept:
            items.update(item["id"], {"deleted": True})
    for item in state["items"]:
        items.update(item["id"], {**{name: item[name] for name in ITEM_COLUMNS}, "deleted": False})
    return uow.repository(SubscriptionRepository).update(
        subscription_id, dict(state["subscription"])
    )


def hold(uow: UnitOfWork, subscription_id: str, invoice_id: str) -> None:
    """Name the change's invoice before it is charged: a failed charge of it then leaves
    the subscription's status alone, and a successful one just clears the mark."""
    uow.repository(SubscriptionRepository).update(
        subscription_id, {"pending_update": {"invoice": invoice_id}}
    )


def defer(
    uow: UnitOfWork,
    subscription_id: str,
    before: dict[str, Any],
    invoice_id: str,
    at: datetime,
) -> Record:
    """The change's invoice was not paid: the subscription goes back to `before` (a
    `capture` from before the change) and the change waits in `pending_update`."""
    repo = uow.repository(SubscriptionRepository)
    after = capture(uow, subscription_id)
    shown_items = subscription_view(uow, repo.get(subscription_id))["items"]
    subscription = restore(uow, subscription_id, before)
    expires_at = min(to_unix(at) + LIFETIME, int(subscription["current_period_end"]))
    if subscription["status"] == "trialing" and subscription["trial_end"] is not None:
        expires_at = min(expires_at, int(subscription["trial_end"]))
    anchor = after["subscription"]["billing_cycle_anchor"]
    pending = {
        "invoice": invoice_id,
        "expires_at": expires_at,
        "billing_cycle_anchor": (
            anchor if anchor != before["subscription"]["billing_cycle_anchor"] else None
        ),
        "trial_end": None,
        "trial_from_plan": None,
        "subscription_items": [_plain(item) for item in shown_items],
        "apply": after,
    }
    return repo.update(subscription_id, {"pending_update": pending, "latest_invoice": invoice_id})


def apply_pending_update(uow: UnitOfWork, subscription: Record, at: datetime) -> None:
    """The invoice a pending update waited for is paid: the change happens now."""
    repo = uow.repository(SubscriptionRepository)
    pending = subscription["pending_update"] or {}
    if "apply" not in pending:
        # Paid within the update request itself: the change is already in place.
        repo.update(subscription["id"], {"pending_update": None})
        return
    before = subscription_view(uow, subscription)
    restore(uow, subscription["id"], pending["apply"])
    updated = repo.update(subscription["id"], {"pending_update": None})
    view = subscription_view(uow, updated)
    record_event(uow, "customer.subscription.updated", "subscription", view, at, previous=before)
    record_event(uow, "customer.subscription.pending_update_applied", "subscription", view, at)
    # Imported here: `advance` performs this module's expiry.
    from recur.services import advance

    advance.schedule(uow, subscription["id"])


def expire_pending_update(uow: UnitOfWork, subscription: Record, at: datetime) -> None:
    """`expires_at` came with the invoice unpaid: void it and discard the change."""
    pending = subscription["pending_update"] or {}
    invoice = uow.repository(InvoiceRepository).find(pending.get("invoice") or "")
    if invoice is not None and invoice["status"] in ("open", "uncollectible"):
        invoice_service.void_invoice(uow, invoice["id"], at)
    updated = uow.repository(SubscriptionRepository).update(
        subscription["id"], {"pending_update": None}
    )
    view = subscription_view(uow, updated)
    record_event(uow, "customer.subscription.pending_update_expired", "subscription", view, at)


def _plain(value: Any) -> Any:
    """A record (or anything in it) as plain JSON values, to be stored in a JSON column."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
