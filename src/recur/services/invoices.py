"""Invoices: drafting (with pending items, discounts, taxes), finalization, payment, voiding.

Amounts come from `recur.domain.invoicing`: exact arithmetic, rounded once per line. This
module decides what goes on an invoice and moves it through its statuses; what a payment
outcome does to a subscription is decided in `subscription_status`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from recur.domain.clock import from_unix, to_unix
from recur.domain.discounts import CouponTerms
from recur.domain.errors import CardDeclined, InvalidRequest
from recur.domain.ids import new_id
from recur.domain.invoicing import (
    InvoiceDiscount,
    LineDraft,
    apply_customer_balance,
    compute_totals,
)
from recur.domain.tax import TaxRateTerms
from recur.gateways import simulated
from recur.services import subscription_status
from recur.services.coupons import coupon_terms, get_coupon_record
from recur.services.events import record_event
from recur.services.tax_rates import retrieve_tax_rate, tax_rate_terms
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import (
    ChargeRepository,
    InvoiceItemRepository,
    InvoiceLineRepository,
    InvoiceRepository,
)
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.payment_methods import PaymentMethodRepository
from recur.storage.repositories.test_clocks import TestClockRepository
from recur.storage.uow import UnitOfWork


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


def tax_terms(uow: UnitOfWork, tax_rate_ids: Sequence[str]) -> tuple[TaxRateTerms, ...]:
    """The arithmetic terms of stored tax rates."""
    return tuple(tax_rate_terms(retrieve_tax_rate(uow, rate_id)) for rate_id in tax_rate_ids)


def _pending_item_line(uow: UnitOfWork, item: Record) -> LineDraft:
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
        tax_rates=tax_terms(uow, item["tax_rates"] or []),
        subscription_item_id=item["subscription_item"],
        invoice_item_id=item["id"],
        kind="invoiceitem",
    )


def active_discounts(
    uow: UnitOfWork, discounts: Sequence[Mapping[str, Any]], at: datetime
) -> list[tuple[Mapping[str, Any], CouponTerms]]:
    """The discounts (subscription or customer entries) in force at `at`, with their terms."""
    active = []
    for entry in discounts:
        start = entry.get("start")
        end = entry.get("end")
        if start is not None and at < from_unix(start):
            continue
        if end is not None and at >= from_unix(end):
            continue
        coupon = get_coupon_record(uow, entry["coupon"])
        active.append((entry, coupon_terms(coupon)))
    return active


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
    drafts = [*lines, *(_pending_item_line(uow, item) for item in pending)]
    applied = active_discounts(uow, request.discounts, at)
    totals = compute_totals(
        drafts,
        [InvoiceDiscount(entry["id"], terms) for entry, terms in applied],
        tax_exempt=customer["tax_exempt"] == "exempt",
    )
    invoice_id = new_id("in")
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
        "subtotal": totals.subtotal,
        "subtotal_excluding_tax": totals.subtotal_excluding_tax,
        "total_discount_amounts": [
            {"amount": amount, "discount": discount_id}
            for discount_id, amount in totals.total_discount_amounts
        ],
        "total_taxes": [_tax_json(tax) for tax in totals.total_taxes],
        "total_excluding_tax": totals.total_excluding_tax,
        "total": totals.total,
        "starting_balance": 0,
        "ending_balance": None,
        "amount_due": max(0, totals.total),
        "amount_paid": 0,
        "amount_remaining": max(0, totals.total),
        "attempt_count": 0,
        "attempted": False,
        "next_payment_attempt": None,
        "due_date": None,
        "default_payment_method": request.default_payment_method,
        "discounts": [entry["id"] for entry, _terms in applied],
        "description": request.description,
        "paid_out_of_band": False,
        "status_transitions": {},
        "test_clock": customer["test_clock"],
        "metadata": dict(request.metadata or {}),
    }
    if request.days_until_due is not None:
        row["due_date"] = to_unix(at + timedelta(days=request.days_until_due))
    invoice = _invoices(uow).insert(row)
    _lines(uow).insert_many(
        [
            _line_row(invoice_id, position, draft, line, request, at)
            for position, (draft, line) in enumerate(zip(drafts, totals.lines, strict=True))
        ]
    )
    uow.repository(InvoiceItemRepository).attach([item["id"] for item in pending], invoice_id)
    _consume_once_discounts(applied, at)
    record_event(uow, "invoice.created", "invoice", invoice_view(uow, invoice), at)
    return invoice


def _consume_once_discounts(
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
    request: InvoiceRequest,
    at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id("il"),
        "created": to_unix(at),
        "invoice": invoice_id,
        "position": position,
        "kind": draft.kind,
        "subscription": request.subscription,
        "subscription_item": draft.subscription_item_id,
        "invoice_item": draft.invoice_item_id,
        "price": draft.price_id,
        "product": draft.product_id,
        "quantity": draft.quantity,
        "amount": totals.amount,
        "amount_excluding_tax": totals.amount_excluding_tax,
        "currency": request.currency,
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
) -> Page:
    """A page of invoices, newest first."""
    return _invoices(uow).list_invoices(
        request,
        customer=customer,
        subscription=subscription,
        status=status,
        collection_method=collection_method,
        created=created,
    )


def retrieve_invoice(uow: UnitOfWork, invoice_id: str, *, param: str | None = None) -> Record:
    """One invoice of this tenant."""
    return _invoices(uow).get(invoice_id, param=param)


def finalize_invoice(
    uow: UnitOfWork, invoice_id: str, at: datetime, *, attempt: bool = True
) -> Record:
    """Draft → open: number, customer balance, due date; then collect it.

    Numbers are assigned here and only here, so the sequence has no gaps. A zero amount
    due is paid at once. `charge_automatically` invoices are charged unless `attempt` is
    False (an `unpaid` subscription's invoices, `default_incomplete`).
    """
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    if invoice["status"] != "draft":
        raise InvalidRequest(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_not_editable",
        )
    customers = uow.repository(CustomerRepository)
    customer = customers.get(invoice["customer"], for_update=True)
    balance = apply_customer_balance(int(invoice["total"]), int(customer["balance"]))
    if balance.ending_balance != customer["balance"]:
        customers.update(customer["id"], {"balance": balance.ending_balance})
    transitions = dict(invoice["status_transitions"] or {}, finalized_at=to_unix(at))
    values: dict[str, Any] = {
        "status": "open",
        "number": _invoices(uow).take_invoice_number(customer["id"]),
        "starting_balance": balance.starting_balance,
        "ending_balance": balance.ending_balance,
        "amount_due": balance.amount_due,
        "amount_remaining": balance.amount_due,
        "automatically_finalizes_at": None,
        "status_transitions": transitions,
    }
    if invoice["collection_method"] == "send_invoice" and invoice["due_date"] is None:
        values["due_date"] = to_unix(at + timedelta(days=30))
    invoice = _invoices(uow).update(invoice_id, values)
    record_event(uow, "invoice.finalized", "invoice", invoice_view(uow, invoice), at)
    if balance.amount_due == 0:
        return mark_paid(uow, invoice, at)
    if attempt and invoice["collection_method"] == "charge_automatically":
        return attempt_payment(uow, invoice, at)
    return invoice


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
    """Charge an open invoice's amount remaining once; record the charge and the outcome."""
    method_id = payment_method or payment_method_for(uow, invoice)
    attempt = int(invoice["attempt_count"]) + 1
    if method_id is None:
        outcome = simulated.ChargeOutcome(
            False,
            "invoice_no_customer_payment_method",
            None,
            "The customer has no default payment method to charge.",
        )
    else:
        method = uow.repository(PaymentMethodRepository).get(method_id, param="payment_method")
        outcome = simulated.charge(method["behavior"], off_session=True)
        uow.repository(ChargeRepository).insert(
            {
                "id": new_id("ch"),
                "created": to_unix(at),
                "invoice": invoice["id"],
                "customer": invoice["customer"],
                "payment_method": method_id,
                "amount": invoice["amount_remaining"],
                "currency": invoice["currency"],
                "status": "succeeded" if outcome.succeeded else "failed",
                "failure_code": outcome.failure_code,
                "decline_code": outcome.decline_code,
                "failure_message": outcome.failure_message,
                # One charge per attempt: a replayed attempt collides here instead of charging.
                "idempotency_key": f"{invoice['id']}:attempt:{attempt}",
            }
        )
    invoice = _invoices(uow).update(
        invoice["id"], {"attempt_count": attempt, "attempted": True, "next_payment_attempt": None}
    )
    if outcome.succeeded:
        return mark_paid(uow, invoice, at)
    view = invoice_view(uow, invoice)
    record_event(uow, "invoice.payment_failed", "invoice", view, at)
    if outcome.requires_action:
        record_event(uow, "invoice.payment_action_required", "invoice", view, at)
    subscription_status.after_payment_failed(uow, invoice, at)
    return invoice


def mark_paid(
    uow: UnitOfWork, invoice: Record, at: datetime, *, out_of_band: bool = False
) -> Record:
    """Open → paid (a zero amount, a successful charge, or paid out of band)."""
    transitions = dict(invoice["status_transitions"] or {}, paid_at=to_unix(at))
    invoice = _invoices(uow).update(
        invoice["id"],
        {
            "status": "paid",
            "amount_paid": invoice["amount_due"],
            "amount_remaining": 0,
            "paid_out_of_band": out_of_band,
            "next_payment_attempt": None,
            "status_transitions": transitions,
        },
    )
    view = invoice_view(uow, invoice)
    if invoice["amount_paid"] > 0 and not out_of_band:
        record_event(uow, "invoice.payment_succeeded", "invoice", view, at)
    record_event(uow, "invoice.paid", "invoice", view, at)
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
    if invoice["status"] == "draft":
        invoice = finalize_invoice(uow, invoice_id, at, attempt=False)
        if invoice["status"] == "paid":
            return invoice
    if invoice["status"] != "open":
        raise InvalidRequest(f"Invoice is already {invoice['status']}.", code="invoice_not_open")
    if paid_out_of_band:
        return mark_paid(uow, invoice, at, out_of_band=True)
    paid = attempt_payment(uow, invoice, at, payment_method=payment_method)
    if paid["status"] != "paid":
        charge = uow.repository(ChargeRepository).latest_for(paid["id"]) or {}
        raise CardDeclined(
            charge.get("failure_message") or "Your card was declined.",
            code=charge.get("failure_code") or "card_declined",
            decline_code=charge.get("decline_code"),
        )
    return paid


def void_invoice(uow: UnitOfWork, invoice_id: str, at: datetime) -> Record:
    """Open → void (a finalized invoice is never deleted)."""
    invoice = _invoices(uow).get(invoice_id, for_update=True)
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
            "amount_remaining": 0,
            "status_transitions": transitions,
            "next_payment_attempt": None,
        },
    )
    record_event(uow, "invoice.voided", "invoice", invoice_view(uow, invoice), at)
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
