"""Events of customers and of their discounts, written in the transaction of the change.

`customer.created|updated|deleted` carry the customer as the API shows it, with its
discount in force at the customer's present (its test clock's time); the changes a
customer's own calls make emit one `customer.updated` per call, whatever they touch (a
`balance` set by the call included: its ledger row is written beside, without an event of
its own). A change of the customer's discount alone is `customer.discount.*` only: Stripe's
events of a sub-resource do not trigger the parent's `updated` (docs.stripe.com/api/events/
types), so the customer's views before and after a change are both shown with the discount
in force after it. `customer.discount.*` carry the discount object (`object: "discount"`),
as at Stripe, whose descriptions say "attached to", "removed from" a customer and "switched
from one coupon to another" — Recur emits them for the customer's own discount only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.services.balance_transactions import customer_view
from recur.services.coupons import get_coupon_record
from recur.services.events import record_event
from recur.storage.repositories.base import Record
from recur.storage.uow import UnitOfWork


def _discount_in_force(
    uow: UnitOfWork, customer: Record, at: datetime
) -> tuple[dict[str, Any], Record] | None:
    # Imported here: customer discounts build on the customers service, which records here.
    from recur.services.customer_discounts import discount_in_force

    if customer.get("deleted"):
        return None
    entry = discount_in_force(customer, at)
    if entry is None:
        return None
    return entry, get_coupon_record(uow, entry["coupon"])


def record_customer_created(uow: UnitOfWork, customer: Record, at: datetime) -> None:
    """`customer.created`: the customer as its create call left it."""
    view = customer_view(customer, at, _discount_in_force(uow, customer, at))
    record_event(uow, "customer.created", "customer", view, at)


def record_customer_updated(uow: UnitOfWork, before: Record, after: Record, at: datetime) -> None:
    """`customer.updated` for what changed from `before` to `after` (nothing: no event)."""
    discount = _discount_in_force(uow, after, at)
    record_event(
        uow,
        "customer.updated",
        "customer",
        customer_view(after, at, discount),
        at,
        previous=customer_view(before, at, discount),
    )


def record_customer_deleted(uow: UnitOfWork, customer: Record, at: datetime) -> None:
    """`customer.deleted`: the customer as it was (not its tombstone), as at Stripe."""
    view = customer_view(customer, at, _discount_in_force(uow, customer, at))
    record_event(uow, "customer.deleted", "customer", view, at)


def discount_view(
    entry: Mapping[str, Any], coupon: Record, customer_id: str, at: datetime
) -> dict[str, Any]:
    """A customer's discount as events render it (its coupon's `valid` read at `at`)."""
    return {
        "entry": dict(entry),
        "coupon_record": coupon,
        "customer": customer_id,
        "view_at": to_unix(at),
    }


def record_discount_change(
    uow: UnitOfWork,
    customer_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    at: datetime,
) -> None:
    """`customer.discount.created|updated|deleted` for a customer's discount in force
    `before` and `after` a change (entries as stored on the customer)."""

    def view(entry: Mapping[str, Any]) -> dict[str, Any]:
        return discount_view(entry, get_coupon_record(uow, entry["coupon"]), customer_id, at)

    if before is None:
        if after is not None:
            record_event(uow, "customer.discount.created", "discount", view(after), at)
    elif after is None:
        # `data.object` is the discount as it was (the DELETE answers it with `deleted`).
        record_event(uow, "customer.discount.deleted", "discount", view(before), at)
    else:
        record_event(
            uow, "customer.discount.updated", "discount", view(after), at, previous=view(before)
        )
