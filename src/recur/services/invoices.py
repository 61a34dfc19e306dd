"""Invoices: drafting (with pending items, discounts, taxes), finalization, payment, voiding.

Amounts come from `recur.domain.invoicing`: exact arithmetic, rounded once per line. This
module decides what goes on an invoice and moves it through its statuses; what a payment
outcome does to a subscription is decided in `subscription_status`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from recur.domain.clock import Clock, from_unix, to_unix
from recur.domain.discounts import CouponTerms
from recur.domain.errors import DomainError, InvalidRequest, PaymentFailed
from recur.domain.ids import new_id
from recur.domain.invoicing import (
    InvoiceDiscount,
    LineDraft,
    apply_customer_balance,
    compute_totals,
)
from recur.domain.money import is_valid_currency, minimum_charge
from recur.domain.tax import TaxRateTerms
from recur.domain.tenancy import Scope
from recur.services import balance_transactions, subscription_status
from recur.services.billing_settings import billing_settings
from recur.services.coupons import coupon_terms, get_coupon_record
from recur.services.customers import get_live_customer
from recur.services.events import record_event
from recur.services.payment_gateways import collects_automatically
from recur.services.payment_methods import check_attached
from recur.services.tax_rates import get_active_tax_rate, retrieve_tax_rate, tax_rate_terms
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import (
    DueWork,
    InvoiceItemRepository,
    InvoiceLineRepository,
    InvoiceRepository,
    SubscriptionRepository,
)
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.payments import PaymentIntentRepository
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("recur.invoices")


def _invoices(uow: UnitOfWork) -> InvoiceRepository:
    return uow.repository(InvoiceRepository)


def _lines(uow: UnitOfWork) -> InvoiceLineRepository:
    return uow.repository(InvoiceLineRepository)


@dataclass(frozen=True, slots=True)
class InvoiceRequest:
    """What a new invoice is: whose, why, for which period, and how it is collected."""

    customer: Record
    currency: str
    billing_reason: str
    period_start: datetime
    period_end: datetime
    collection_method: str = "charge_automatically"
    days_until_due: int | None = None
    subscription: str | None = None
    cycle_period_start: datetime | None = None
    default_payment_method: str | None = None
    discounts: tuple[Mapping[str, Any], ...] = ()
    auto_advance: bool = True
    finalizes_at: datetime | None = None
    sweep_pending_items: bool = True
    description: str | None = None
    metadata: Mapping[str, Any] | None = None
    footer: str | None = None
    default_tax_rates: tuple[str, ...] = ()


def tax_terms(uow: UnitOfWork, tax_rate_ids: Sequence[str]) -> tuple[TaxRateTerms, ...]:
    """The arithmetic terms of stored tax rates."""
    return tuple(tax_rate_terms(retrieve_tax_rate(uow, rate_id)) for rate_id in tax_rate_ids)


def _pending_item_line(
    uow: UnitOfWork, item: Record, default_rates: tuple[TaxRateTerms, ...] = ()
) -> LineDraft:
    # Stripe: an invoice's `default_tax_rates` apply to the lines without tax rates of their own.
    rates = tax_terms(uow, item["tax_rates"]) if item["tax_rates"] else default_rates
    return LineDraft(
        amount=int(item["amount"]),
        description=item["description"] or "",
        period_start=from_unix(item["period_start"]),
        period_end=from_unix(item["period_end"]),
        quantity=item["quantity"],
        price_id=item["price"],
        product_id=item["product"],
        proration=bool(item["proration"]),
        discountable=bool(item["discountable"]),
        tax_rates=rates,
        subscription_item_id=item["subscription_item"],
        invoice_item_id=item["id"],
        kind="invoiceitem",
    )


def active_discounts(
    uow: UnitOfWork, discounts: Sequence[Mapping[str, Any]], at: datetime
) -> list[tuple[Mapping[str, Any], CouponTerms]]:
    """The discounts (subscription or customer entries) in force at `at`, with their terms."""
    return [
        (entry, coupon_terms(get_coupon_record(uow, entry["coupon"])))
        for entry in discounts_in_force(discounts, at)
    ]


def discounts_in_force(
    discounts: Sequence[Mapping[str, Any]], at: datetime
) -> list[Mapping[str, Any]]:
    """The discount entries whose [start, end) contains `at` (pure)."""
    moment = to_unix(at)
    return [
        entry
        for entry in discounts
        if (entry.get("start") is None or moment >= entry["start"])
        and (entry.get("end") is None or moment < entry["end"])
    ]


def new_invoice_row(
    request: InvoiceRequest,
    invoice_id: str,
    applied: Sequence[tuple[Mapping[str, Any], CouponTerms]],
    at: datetime,
) -> dict[str, Any]:
    """A new draft's columns, before its totals (pure: the billing run builds them in bulk)."""
    customer = request.customer
    finalizes_at = request.finalizes_at if request.auto_advance else None
    row: dict[str, Any] = {
        "id": invoice_id,
        "created": to_unix(at),
        "customer": customer["id"],
        "subscription": request.subscription,
        "status": "draft",
        "number": None,
        "currency": request.currency,
        "billing_reason": request.billing_reason,
        "collection_method": request.collection_method,
        "auto_advance": request.auto_advance,
        "automatically_finalizes_at": None if finalizes_at is None else to_unix(finalizes_at),
        "period_start": to_unix(request.period_start),
        "period_end": to_unix(request.period_end),
        "cycle_period_start": (
            None if request.cycle_period_start is None else to_unix(request.cycle_period_start)
        ),
        "starting_balance": 0,
        "ending_balance": None,
        "amount_paid": 0,
        "attempt_count": 0,
        "attempted": False,
        "next_payment_attempt": None,
        "due_date": None,
        "default_payment_method": request.default_payment_method,
        "discount_entries": [dict(entry) for entry, _terms in applied],
        "default_tax_rates": list(request.default_tax_rates),
        "description": request.description,
        "footer": request.footer,
        "paid_out_of_band": False,
        "status_transitions": {},
        "test_clock": customer["test_clock"],
        "metadata": dict(request.metadata or {}),
    }
    if request.days_until_due is not None:
        row["due_date"] = to_unix(at + timedelta(days=request.days_until_due))
    return row


def create_invoice(
    uow: UnitOfWork, request: InvoiceRequest, lines: Sequence[LineDraft], at: datetime
) -> Record:
    """Write a draft invoice with `lines` plus the customer's pending items; returns it."""
    customer = request.customer
    pending: list[Record] = []
    if request.sweep_pending_items:
        pending = [
            item
            for item in uow.repository(InvoiceItemRepository).pending_for(
                customer["id"], request.subscription
            )
            if item["currency"] == request.currency
        ]
    default_rates = tax_terms(uow, request.default_tax_rates)
    drafts = [*lines, *(_pending_item_line(uow, item, default_rates) for item in pending)]
    applied = active_discounts(uow, request.discounts, at)
    invoice_id = new_id("in")
    row = new_invoice_row(request, invoice_id, applied, at)
    figures, line_rows = figures_and_lines(
        customer, invoice_id, request.subscription, request.currency, drafts, applied, at
    )
    invoice = _invoices(uow).insert({**row, **figures})
    _lines(uow).insert_many(line_rows)
    uow.repository(InvoiceItemRepository).attach([item["id"] for item in pending], invoice_id)
    consume_once_discounts(applied, at)
    record_event(uow, "invoice.created", "invoice", invoice_view(uow, invoice), at)
    return invoice


def figures_and_lines(
    customer: Record,
    invoice_id: str,
    subscription: str | None,
    currency: str,
    drafts: Sequence[LineDraft],
    applied: Sequence[tuple[Mapping[str, Any], CouponTerms]],
    at: datetime,
    line_ids: Sequence[str | None] = (),
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An invoice's totals columns and line rows: the one path for new and recomputed drafts."""
    totals = compute_totals(
        drafts,
        [InvoiceDiscount(entry["id"], terms) for entry, terms in applied],
        tax_exempt=customer["tax_exempt"] == "exempt",
    )
    figures: dict[str, Any] = {
        "subtotal": totals.subtotal,
        "subtotal_excluding_tax": totals.subtotal_excluding_tax,
        "total_discount_amounts": [
            {"amount": amount, "discount": discount_id}
            for discount_id, amount in totals.total_discount_amounts
        ],
        "total_taxes": [_tax_json(tax) for tax in totals.total_taxes],
        "total_excluding_tax": totals.total_excluding_tax,
        "total": totals.total,
        "amount_due": max(0, totals.total),
        "amount_remaining": max(0, totals.total),
        "discounts": [entry["id"] for entry, _terms in applied],
    }
    ids = list(line_ids) or [None] * len(drafts)
    rows = [
        _line_row(invoice_id, position, draft, line, subscription, currency, at, line_id)
        for position, (draft, line, line_id) in enumerate(
            zip(drafts, totals.lines, ids, strict=True)
        )
    ]
    return figures, rows


def _stored_line_draft(uow: UnitOfWork, line: Record) -> LineDraft:
    """A subscription line of a draft, back as the draft it was computed from."""
    return LineDraft(
        amount=int(line["amount"]),
        description=line["description"] or "",
        period_start=from_unix(line["period_start"]),
        period_end=from_unix(line["period_end"]),
        quantity=line["quantity"],
        price_id=line["price"],
        product_id=line["product"],
        proration=bool(line["proration"]),
        discountable=bool(line["discountable"]),
        tax_rates=tax_terms(uow, line["tax_rates"] or []),
        subscription_item_id=line["subscription_item"],
        invoice_item_id=line["invoice_item"],
        kind=line["kind"],
    )


def recompute_draft(
    uow: UnitOfWork,
    invoice_id: str,
    at: datetime,
    *,
    before: Mapping[str, Any] | None = None,
) -> Record:
    """Rebuild a draft's lines and totals after its invoice items changed.

    Subscription lines are kept as they were computed; the item lines are rebuilt from the
    items the invoice now holds; the discounts are those the draft was created with (a
    `once` coupon already used by this draft still applies to it). Emits `invoice.updated`.
    """
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    if invoice["status"] != "draft":
        raise _not_editable(invoice)
    if before is None:
        before = invoice_view(uow, invoice)
    customer = uow.repository(CustomerRepository).get(invoice["customer"])
    stored = [line for line in _lines(uow).lines_of(invoice_id) if line["kind"] != "invoiceitem"]
    item_line_ids = {
        line["invoice_item"]: line["id"]
        for line in _lines(uow).lines_of(invoice_id)
        if line["kind"] == "invoiceitem" and line["invoice_item"]
    }
    items = uow.repository(InvoiceItemRepository).on_invoice(invoice_id)
    default_rates = tax_terms(uow, invoice["default_tax_rates"] or [])
    drafts = [
        *(_stored_line_draft(uow, line) for line in stored),
        *(_pending_item_line(uow, item, default_rates) for item in items),
    ]
    line_ids = [
        *(line["id"] for line in stored),
        *(item_line_ids.get(item["id"]) for item in items),
    ]
    applied = [
        (entry, coupon_terms(get_coupon_record(uow, entry["coupon"])))
        for entry in invoice["discount_entries"] or []
    ]
    figures, rows = figures_and_lines(
        customer,
        invoice_id,
        invoice["subscription"],
        invoice["currency"],
        drafts,
        applied,
        at,
        line_ids,
    )
    _lines(uow).delete_lines_of(invoice_id)
    _lines(uow).insert_many(rows)
    invoice = _invoices(uow).update(invoice_id, figures)
    record_event(uow, "invoice.updated", "invoice", invoice_view(uow, invoice), at, previous=before)
    return invoice


def consume_once_discounts(
    applied: Sequence[tuple[Mapping[str, Any], CouponTerms]], at: datetime
) -> None:
    # A `once` discount applies to one invoice: the caller stores the entries it passed in,
    # so ending them here (in place) is seen when the subscription is written back.
    for entry, terms in applied:
        if terms.duration == "once" and isinstance(entry, dict):
            entry["end"] = to_unix(at) + 1


def _tax_json(tax: Any) -> dict[str, Any]:
    return {
        "amount": tax.amount,
        "inclusive": tax.inclusive,
        "tax_rate": tax.tax_rate_id,
        "taxable_amount": tax.taxable_amount,
    }


def _line_row(
    invoice_id: str,
    position: int,
    draft: LineDraft,
    totals: Any,
    subscription: str | None,
    currency: str,
    at: datetime,
    line_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": line_id or new_id("il"),
        "created": to_unix(at),
        "invoice": invoice_id,
        "position": position,
        "kind": draft.kind,
        "subscription": subscription,
        "subscription_item": draft.subscription_item_id,
        "invoice_item": draft.invoice_item_id,
        "price": draft.price_id,
        "product": draft.product_id,
        "quantity": draft.quantity,
        "amount": totals.amount,
        "amount_excluding_tax": totals.amount_excluding_tax,
        "currency": currency,
        "description": draft.description,
        "period_start": to_unix(draft.period_start),
        "period_end": to_unix(draft.period_end),
        "proration": draft.proration,
        "discountable": draft.discountable,
        "discount_amounts": [
            {"amount": amount, "discount": discount_id}
            for discount_id, amount in totals.discount_amounts
        ],
        "tax_amounts": [_tax_json(tax) for tax in totals.tax_amounts],
        "tax_rates": [rate.id for rate in draft.tax_rates],
        "metadata": {},
    }


def invoice_view(uow: UnitOfWork, invoice: Record) -> dict[str, Any]:
    """An invoice with its lines, as the API and events render it."""
    view = dict(invoice)
    view["lines"] = _lines(uow).lines_of(invoice["id"])
    view["default_tax_rate_records"] = [
        retrieve_tax_rate(uow, rate_id) for rate_id in invoice.get("default_tax_rates") or []
    ]
    # Its PaymentIntents (`payments`, `payment_intent`, `charge` on the wire).
    view["payments"] = uow.repository(PaymentIntentRepository).of_invoice(invoice["id"])
    return view


def invoice_time(uow: UnitOfWork, invoice_id: str, now: datetime) -> datetime:
    """The invoice's present: its customer's test clock time, or `now`."""
    invoice = _invoices(uow).get(invoice_id)
    if invoice["test_clock"]:
        clock = uow.repository(TestClockRepository).find(invoice["test_clock"])
        if clock is not None:
            return from_unix(clock["frozen_time"])
    return now


def list_invoices(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    customer: str | None = None,
    subscription: str | None = None,
    status: str | None = None,
    collection_method: str | None = None,
    created: CreatedFilter | None = None,
    due_date: CreatedFilter | None = None,
) -> Page:
    """A page of invoices, newest first."""
    return _invoices(uow).list_invoices(
        request,
        customer=customer,
        subscription=subscription,
        status=status,
        collection_method=collection_method,
        created=created,
        due_date=due_date,
    )


def retrieve_invoice(uow: UnitOfWork, invoice_id: str, *, param: str | None = None) -> Record:
    """One invoice of this tenant."""
    return _invoices(uow).get(invoice_id, param=param)


def finalize_invoice(
    uow: UnitOfWork,
    invoice_id: str,
    at: datetime,
    *,
    attempt: bool = True,
    intent: bool = True,
    queue: bool = False,
) -> Record:
    """Draft → open: number, customer balance, due date; then collect it.

    Numbers are assigned here and only here, so the sequence has no gaps. A zero amount
    due is paid at once. `charge_automatically` invoices are charged unless `attempt` is
    False (an `unpaid` subscription's invoices, `default_incomplete`). With `queue`, the
    charge is not made here but left to collection (services/collection_run.py): the
    invoice's `next_payment_attempt` is set to now — how time finalizes invoices (renewals,
    due drafts), so a billing run issues invoices at database speed and the gateway is
    called at its own pace.
    """
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    if invoice["status"] != "draft":
        raise InvalidRequest(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_not_editable",
        )
    customers = uow.repository(CustomerRepository)
    customer = customers.get(invoice["customer"], for_update=True)
    values, ending_balance = finalization(invoice, int(customer["balance"]), at)
    if ending_balance != customer["balance"]:
        balance_transactions.record_applied_to_invoice(uow, customer, invoice, ending_balance, at)
    carried = too_small_to_charge(invoice, values)
    if carried and collects_automatically(uow):
        # Stripe: an amount due below the minimum charge is not charged; the invoice is
        # paid and the amount added to the customer's balance, owed on the next invoice.
        balance_transactions.record_balance_change(
            uow,
            customer["id"],
            carried,
            "invoice_too_small",
            at,
            currency=invoice["currency"],
            invoice=invoice_id,
        )
        values.update(amount_due=0, amount_remaining=0, ending_balance=ending_balance + carried)
    values["number"] = _invoices(uow).take_invoice_number(customer["id"])
    invoice = _invoices(uow).update(invoice_id, values)
    if (
        intent
        and values["amount_due"] > 0
        and invoice["collection_method"] == "charge_automatically"
    ):
        # Stripe makes the invoice's PaymentIntent at finalization (a `default_incomplete`
        # subscription's client confirms it); the payment attempt uses it. Not for a draft
        # finalized to be paid out of band at once (`intent=False`).
        from recur.services import collection  # builds on this module

        collection.prepare_invoice_intent(uow, invoice, at)
    record_event(uow, "invoice.finalized", "invoice", invoice_view(uow, invoice), at)
    if values["amount_due"] == 0:
        return mark_paid(uow, invoice, at)
    if attempt and invoice["collection_method"] == "charge_automatically":
        if queue:
            from recur.services import collection  # builds on this module

            return collection.queue_collection(uow, invoice, at)
        return attempt_payment(uow, invoice, at)
    return invoice


def finalization(
    invoice: Record, customer_balance: int, at: datetime
) -> tuple[dict[str, Any], int]:
    """Draft → open (pure): the invoice's new columns but its number, and the customer's
    balance after the invoice used or added to it."""
    balance = apply_customer_balance(int(invoice["total"]), customer_balance)
    transitions = dict(invoice["status_transitions"] or {}, finalized_at=to_unix(at))
    values: dict[str, Any] = {
        "status": "open",
        "starting_balance": balance.starting_balance,
        "ending_balance": balance.ending_balance,
        "amount_due": balance.amount_due,
        "amount_remaining": balance.amount_due,
        "automatically_finalizes_at": None,
        "status_transitions": transitions,
    }
    if invoice["collection_method"] == "send_invoice" and invoice["due_date"] is None:
        values["due_date"] = to_unix(at + timedelta(days=30))
    return values, balance.ending_balance


def too_small_to_charge(invoice: Record, values: Mapping[str, Any]) -> int:
    """The amount due, if a charged invoice's is below the currency's minimum charge; else 0
    (pure)."""
    amount_due = int(values["amount_due"])
    if invoice["collection_method"] != "charge_automatically":
        return 0
    return amount_due if 0 < amount_due < minimum_charge(invoice["currency"]) else 0


def payment_method_for(uow: UnitOfWork, invoice: Record) -> str | None:
    """Invoice default, then subscription default, then the customer's invoice default."""
    if invoice["default_payment_method"]:
        return str(invoice["default_payment_method"])
    if invoice["subscription"]:
        method = subscription_status.subscription_payment_method(uow, invoice["subscription"])
        if method:
            return method
    customer = uow.repository(CustomerRepository).get(invoice["customer"])
    method_id: str | None = customer["default_payment_method"]
    return method_id


def attempt_payment(
    uow: UnitOfWork, invoice: Record, at: datetime, *, payment_method: str | None = None
) -> Record:
    """Charge an open invoice's amount remaining once (services/collection.py)."""
    from recur.services import collection  # builds on this module

    collected = collection.attempt_invoice_payment(uow, invoice, at, payment_method=payment_method)
    return collected.invoice


def attempted_values(invoice: Record) -> dict[str, Any]:
    """The invoice's columns after one more payment attempt (pure)."""
    return {
        "attempt_count": int(invoice["attempt_count"]) + 1,
        "attempted": True,
        "next_payment_attempt": None,
    }


def paid_values(invoice: Record, at: datetime, *, out_of_band: bool = False) -> dict[str, Any]:
    """Open → paid (pure): the invoice's new columns."""
    return {
        "status": "paid",
        # Stripe: paid, void and uncollectible invoices never advance by themselves.
        "auto_advance": False,
        "amount_paid": invoice["amount_due"],
        "amount_remaining": 0,
        "paid_out_of_band": out_of_band,
        "next_payment_attempt": None,
        "status_transitions": dict(invoice["status_transitions"] or {}, paid_at=to_unix(at)),
    }


def mark_paid(
    uow: UnitOfWork, invoice: Record, at: datetime, *, out_of_band: bool = False
) -> Record:
    """Open → paid (a zero amount, a successful charge, or paid out of band)."""
    invoice = _invoices(uow).update(
        invoice["id"], paid_values(invoice, at, out_of_band=out_of_band)
    )
    view = invoice_view(uow, invoice)
    if invoice["amount_paid"] > 0 and not out_of_band:
        record_event(uow, "invoice.payment_succeeded", "invoice", view, at)
    record_event(uow, "invoice.paid", "invoice", view, at)
    if out_of_band:
        from recur.services import collection  # builds on this module

        collection.cancel_invoice_intents(uow, invoice, at, reason="automatic")
    subscription_status.after_invoice_paid(uow, invoice, at)
    return invoice


def pay_invoice(
    uow: UnitOfWork,
    invoice_id: str,
    at: datetime,
    *,
    paid_out_of_band: bool = False,
    payment_method: str | None = None,
) -> Record:
    """`POST /v1/invoices/{id}/pay`: finalize a draft if needed, then collect now."""
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    if payment_method is not None:
        check_attached(uow, payment_method, invoice["customer"], "payment_method")
    if invoice["status"] == "paid":
        raise InvalidRequest("Invoice is already paid.", code="invoice_already_paid")
    if invoice["status"] == "void":
        raise InvalidRequest(
            "This invoice is void and can no longer be paid.", code="invoice_not_open"
        )
    if invoice["status"] == "draft":
        invoice = finalize_invoice(uow, invoice_id, at, attempt=False, intent=not paid_out_of_band)
        if invoice["status"] == "paid":
            return invoice
    # An uncollectible invoice can still be paid (Stripe: it stays payable until voided).
    if paid_out_of_band:
        return mark_paid(uow, invoice, at, out_of_band=True)
    from recur.services import collection  # builds on this module

    collection.check_payable(uow, invoice)
    collected = collection.attempt_invoice_payment(uow, invoice, at, payment_method=payment_method)
    if collected.status in ("succeeded", "unknown"):
        # Unknown: the invoice stays open, its PaymentIntent `processing` until reconciled.
        return collected.invoice
    if collected.status == "requires_action":
        raise PaymentFailed(
            "This payment requires additional user action before it can be completed "
            "successfully: the customer can authenticate on the hosted invoice page.",
            code="invoice_payment_intent_requires_action",
        )
    failure = collected.failure or {}
    raise PaymentFailed(
        failure.get("failure_message") or "Your card was declined.",
        code=failure.get("failure_code") or "card_declined",
        decline_code=failure.get("decline_code"),
    )


def void_invoice(uow: UnitOfWork, invoice_id: str, at: datetime) -> Record:
    """Open → void (a finalized invoice is never deleted)."""
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    if invoice["status"] == "draft":
        raise InvalidRequest(
            "You can only void a finalized invoice; delete a draft invoice instead.",
            code="invoice_not_open",
        )
    if invoice["status"] not in ("open", "uncollectible"):
        raise InvalidRequest(
            f"You can only void an open or uncollectible invoice; this one is {invoice['status']}.",
            code="invoice_not_open",
        )
    transitions = dict(invoice["status_transitions"] or {}, voided_at=to_unix(at))
    invoice = _invoices(uow).update(
        invoice_id,
        {
            "status": "void",
            "auto_advance": False,
            "amount_remaining": 0,
            "status_transitions": transitions,
            "next_payment_attempt": None,
        },
    )
    # Stripe (since API version 2019-12-03): the balance the invoice used is given back.
    balance_transactions.record_unapplied_from_invoice(uow, invoice, at)
    record_event(uow, "invoice.voided", "invoice", invoice_view(uow, invoice), at)
    from recur.services import collection  # builds on this module

    collection.cancel_invoice_intents(uow, invoice, at, reason="void_invoice")
    return invoice


def mark_uncollectible(uow: UnitOfWork, invoice_id: str, at: datetime) -> Record:
    """Open → uncollectible (bad debt, still payable later)."""
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    if invoice["status"] != "open":
        raise InvalidRequest(
            f"You can only mark an open invoice uncollectible; this one is {invoice['status']}.",
            code="invoice_not_open",
        )
    transitions = dict(invoice["status_transitions"] or {}, marked_uncollectible_at=to_unix(at))
    invoice = _invoices(uow).update(
        invoice_id,
        {
            "status": "uncollectible",
            "auto_advance": False,
            "status_transitions": transitions,
            "next_payment_attempt": None,
        },
    )
    record_event(uow, "invoice.marked_uncollectible", "invoice", invoice_view(uow, invoice), at)
    return invoice


def lines_page(uow: UnitOfWork, invoice_id: str, request: Any) -> Any:
    """A page of an invoice's lines."""
    _invoices(uow).get(invoice_id)
    return _lines(uow).page_of(invoice_id, request)


# --- manual invoices ----------------------------------------------------------------------

EDITABLE_WHEN_OPEN = frozenset({"metadata", "description", "footer", "auto_advance"})


def _not_editable(invoice: Record) -> InvalidRequest:
    return InvalidRequest(
        f"This invoice is {invoice['status']}, and only draft invoices can be edited.",
        code="invoice_not_editable",
    )


def _manual_currency(
    uow: UnitOfWork, customer: Record, values: Mapping[str, Any], pending: Sequence[Record]
) -> str:
    currency = values.get("currency")
    if currency:
        currency = str(currency).lower()
        if not is_valid_currency(currency):
            raise InvalidRequest(f"Invalid currency: {currency}.", param="currency")
        return currency
    if customer["currency"]:
        return str(customer["currency"])
    # Stripe falls back on the account's default currency; Recur accounts have none, so the
    # pending items (when swept in) decide, and otherwise the client must say.
    if pending:
        return str(pending[0]["currency"])
    raise InvalidRequest(
        "Missing required param: currency (the customer has no currency yet).",
        param="currency",
        code="parameter_missing",
    )


def _check_tax_rates(uow: UnitOfWork, rate_ids: Sequence[str], param: str) -> list[str]:
    return [
        get_active_tax_rate(uow, rate_id, param=f"{param}[{index}]")["id"]
        for index, rate_id in enumerate(rate_ids)
    ]


def _check_payment_method(uow: UnitOfWork, method_id: str | None, customer: Record) -> None:
    if method_id:
        check_attached(uow, method_id, customer["id"], "default_payment_method")


def create_manual_invoice(uow: UnitOfWork, values: Mapping[str, Any], now: datetime) -> Record:
    """`POST /v1/invoices`: a draft with billing_reason `manual`.

    Stripe's current API leaves pending invoice items out unless
    `pending_invoice_items_behavior=include`, and API-created invoices do not advance by
    themselves unless `auto_advance=true` (then they finalize after the account's
    finalization delay, an hour by default, as Stripe's do).
    """
    # Imported here: subscriptions and advance build on this module.
    from recur.services import advance
    from recur.services.subscriptions import billing_time, redeem_discounts

    customer = get_live_customer(uow, values["customer"], param="customer")
    at = billing_time(uow, customer, now)
    subscription_id = values.get("subscription")
    if subscription_id:
        subscription = uow.repository(SubscriptionRepository).get(
            subscription_id, param="subscription"
        )
        if subscription["customer"] != customer["id"]:
            raise InvalidRequest(
                "The subscription does not belong to this customer.", param="subscription"
            )
    include = values.get("pending_invoice_items_behavior") == "include"
    pending = (
        uow.repository(InvoiceItemRepository).pending_for(customer["id"], subscription_id)
        if include
        else []
    )
    currency = _manual_currency(uow, customer, values, pending)
    collection_method = values.get("collection_method") or "charge_automatically"
    days_until_due = values.get("days_until_due")
    due_date = values.get("due_date")
    if collection_method == "charge_automatically":
        for name in ("days_until_due", "due_date"):
            if values.get(name) is not None:
                raise InvalidRequest(
                    f"Invoices with collection_method=charge_automatically cannot have {name}.",
                    param=name,
                )
    elif days_until_due is not None and due_date is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: days_until_due, due_date.",
            param="due_date",
        )
    _check_payment_method(uow, values.get("default_payment_method"), customer)
    default_rates = _check_tax_rates(
        uow, values.get("default_tax_rates") or [], "default_tax_rates"
    )
    amount = sum(int(item["amount"]) for item in pending if item["currency"] == currency)
    discounts = redeem_discounts(uow, values.get("discounts") or [], customer, amount, currency, at)
    inherited = None
    if "discounts" not in values:
        # Stripe: "If not specified, inherits the discount from the invoice's customer."
        from recur.services import customer_discounts

        inherited = customer_discounts.inherited_discount(uow, customer, currency, [], at)
        if inherited is not None:
            discounts = [inherited]
    auto_advance = bool(values.get("auto_advance", False))
    finalizes_at = values.get("automatically_finalizes_at")
    request = InvoiceRequest(
        customer=customer,
        currency=currency,
        billing_reason="manual",
        period_start=at,
        period_end=at,
        collection_method=collection_method,
        days_until_due=days_until_due,
        subscription=subscription_id,
        default_payment_method=values.get("default_payment_method"),
        discounts=tuple(discounts),
        auto_advance=auto_advance,
        finalizes_at=(
            from_unix(finalizes_at)
            if finalizes_at is not None
            else at + timedelta(seconds=billing_settings(uow).finalization_delay)
        ),
        sweep_pending_items=include,
        description=values.get("description"),
        metadata=values.get("metadata"),
        footer=values.get("footer"),
        default_tax_rates=tuple(default_rates),
    )
    invoice = create_invoice(uow, request, [], at)
    if inherited is not None:
        customer_discounts.record_inherited_use(uow, customer, inherited)
    if due_date is not None:
        invoice = _invoices(uow).update(invoice["id"], {"due_date": int(due_date)})
    if subscription_id:
        advance.schedule(uow, subscription_id)
    return invoice


def update_invoice(
    uow: UnitOfWork, invoice_id: str, values: Mapping[str, Any], now: datetime
) -> Record:
    """Change a draft (most fields) or an open invoice (metadata, description, footer)."""
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    at = invoice_time(uow, invoice_id, now)
    status = invoice["status"]
    if status != "draft":
        allowed = EDITABLE_WHEN_OPEN if status == "open" else frozenset({"metadata"})
        refused = sorted(set(values) - allowed)
        if refused:
            raise InvalidRequest(
                f"This invoice is {status}: only {', '.join(sorted(allowed))} can be "
                "changed once an invoice is no longer a draft.",
                param=refused[0],
                code="invoice_not_editable",
            )
    before = invoice_view(uow, invoice)
    customer = uow.repository(CustomerRepository).get(invoice["customer"])
    changes: dict[str, Any] = {}
    for name in ("description", "footer", "metadata", "default_payment_method", "due_date"):
        if name in values:
            changes[name] = values[name]
    if "default_payment_method" in changes:
        _check_payment_method(uow, changes["default_payment_method"], customer)
    if "auto_advance" in values:
        auto_advance = bool(values["auto_advance"])
        changes["auto_advance"] = auto_advance
        if status == "draft":
            delay = billing_settings(uow).finalization_delay
            changes["automatically_finalizes_at"] = (
                (invoice["automatically_finalizes_at"] or to_unix(at) + delay)
                if auto_advance
                else None
            )
    collection_method = values.get("collection_method") or invoice["collection_method"]
    if "collection_method" in values:
        changes["collection_method"] = collection_method
    if "days_until_due" in values and values["days_until_due"] is not None:
        changes["due_date"] = invoice["created"] + int(values["days_until_due"]) * 86400
    if collection_method == "charge_automatically" and (
        values.get("days_until_due") is not None or values.get("due_date") is not None
    ):
        raise InvalidRequest(
            "Invoices with collection_method=charge_automatically cannot have a due date.",
            param="due_date" if values.get("due_date") is not None else "days_until_due",
        )
    if collection_method == "charge_automatically" and "collection_method" in values:
        changes["due_date"] = None
    recompute = False
    if "default_tax_rates" in values:
        changes["default_tax_rates"] = _check_tax_rates(
            uow, values["default_tax_rates"] or [], "default_tax_rates"
        )
        recompute = True
    if "discounts" in values:
        from recur.services.subscriptions import redeem_discounts

        changes["discount_entries"] = redeem_discounts(
            uow,
            values["discounts"] or [],
            customer,
            int(invoice["subtotal"]),
            invoice["currency"],
            at,
        )
        recompute = True
    invoice = _invoices(uow).update(invoice_id, changes)
    if recompute:
        # recompute_draft emits the one `invoice.updated` for the whole change.
        invoice = recompute_draft(uow, invoice_id, at, before=before)
    else:
        record_event(
            uow, "invoice.updated", "invoice", invoice_view(uow, invoice), at, previous=before
        )
    if invoice["subscription"] and "auto_advance" in changes:
        from recur.services import advance

        advance.schedule(uow, invoice["subscription"])
    return invoice


def delete_invoice(uow: UnitOfWork, invoice_id: str, now: datetime) -> Record:
    """Delete a one-off draft; its invoice items return to pending. Returns the deleted row."""
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    if invoice["status"] != "draft":
        raise InvalidRequest(
            f"You can only delete draft invoices; this invoice is {invoice['status']}. "
            "Void it instead.",
            code="invoice_not_editable",
        )
    if invoice["subscription"] and invoice["billing_reason"] != "manual":
        raise InvalidRequest(
            "You can't delete invoices created by subscriptions; void them once finalized.",
            code="invoice_not_editable",
        )
    at = invoice_time(uow, invoice_id, now)
    view = invoice_view(uow, invoice)
    uow.repository(InvoiceItemRepository).detach_from(invoice_id)
    _lines(uow).delete_lines_of(invoice_id)
    _invoices(uow).delete(invoice_id)
    record_event(uow, "invoice.deleted", "invoice", view, at)
    if invoice["subscription"]:
        from recur.services import advance

        advance.schedule(uow, invoice["subscription"])
    return invoice


def send_invoice(uow: UnitOfWork, invoice_id: str, now: datetime) -> Record:
    """`POST …/send`: finalize a send_invoice draft if needed; emits `invoice.sent`.

    The email itself is sent by the emails issue's outbox, from this event.
    """
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    if invoice["collection_method"] != "send_invoice":
        raise InvalidRequest(
            "You can only manually send an invoice if its collection method is 'send_invoice'.",
            code="invoice_not_editable",
        )
    if invoice["status"] in ("void", "uncollectible"):
        raise InvalidRequest(
            f"You can't send an invoice that is {invoice['status']}.",
            code="invoice_not_open",
        )
    at = invoice_time(uow, invoice_id, now)
    if invoice["status"] == "draft":
        invoice = finalize_invoice(uow, invoice_id, at)
    record_event(uow, "invoice.sent", "invoice", invoice_view(uow, invoice), at)
    return invoice


def set_auto_advance(uow: UnitOfWork, invoice_id: str, auto_advance: bool) -> Record:
    """Record `auto_advance` (from `finalize`); finalized invoices keep it for collection."""
    return _invoices(uow).update(invoice_id, {"auto_advance": auto_advance})


# --- automatic finalization of manual drafts ---------------------------------------------

FINALIZE_BATCH = 200
FINALIZE_RETRY_AFTER = 60


def _finalize_due(uow: UnitOfWork, invoice_id: str, due: int, now: datetime) -> None:
    """Finalize one due manual draft at its own due time (never later than `now`)."""
    at = min(from_unix(due), now)
    from recur.services import collection  # builds on this module

    finalize_invoice(uow, invoice_id, at, queue=collection.collects_later())


def finalize_due_invoices(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Worker job: finalize (and collect) manual drafts whose `automatically_finalizes_at` came.

    Subscription drafts are finalized by `advance_subscription`, and drafts on a test clock
    by the clock's advance; this job takes the others, claimed with `SKIP LOCKED` on
    PostgreSQL. A draft whose finalization fails keeps its draft status (and number: none
    is taken), records `last_finalization_error`, and is retried a minute later.
    """
    now = clock.now()
    with uow_factory(None) as uow:
        claimed = DueWork(uow).claim_due_drafts(to_unix(now), FINALIZE_BATCH)
        for row in claimed:
            scoped = uow.for_scope(Scope(row["account_id"], bool(row["livemode"])))
            try:
                with uow.connection.begin_nested():
                    _finalize_due(scoped, row["id"], int(row["automatically_finalizes_at"]), now)
            except DomainError as error:
                _postpone(scoped, row["id"], now, error.message, error.code)
            except Exception:
                log.exception("finalizing invoice %s failed", row["id"])
                _postpone(scoped, row["id"], now, "An internal error occurred.", None)
    return len(claimed)


def _postpone(
    uow: UnitOfWork, invoice_id: str, now: datetime, message: str, code: str | None
) -> None:
    invoice = _invoices(uow).update(
        invoice_id,
        {
            "automatically_finalizes_at": to_unix(now) + FINALIZE_RETRY_AFTER,
            "last_finalization_error": {
                "code": code,
                "message": message,
                "type": "invalid_request_error",
            },
        },
    )
    record_event(uow, "invoice.finalization_failed", "invoice", invoice_view(uow, invoice), now)


def finalize_clock_invoices(uow: UnitOfWork, clock_id: str, target: datetime) -> None:
    """A test clock's advance: finalize its manual drafts due by `target`, in time order."""
    for row in _invoices(uow).due_drafts_on_clock(clock_id, to_unix(target)):
        _finalize_due(uow, row["id"], int(row["automatically_finalizes_at"]), target)
