"""Credit notes: create (from lines or an amount), preview, retrieve, update, list, void.

A credit note lowers a finalized invoice. Its total first reduces what the invoice still
asks — `amount_due` and `amount_remaining`, never below zero (its pre-payment amount; an
invoice brought to zero is paid) — and the rest, already paid, goes back to the customer
as a refund (`refund_amount`), a credit to the customer's balance (`credit_amount`) or
outside Recur (`out_of_band_amount`), which must add up to it. The credit notes of an
invoice never add up to more than its total. Numbers are `<invoice number>-CN-01`,
gapless per invoice. The arithmetic is in `recur.domain.credit_notes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.credit_notes import (
    CreditSplit,
    CreditTotals,
    amount_for_quantity,
    amount_only_totals,
    credit_note_number,
    credit_of_custom_line,
    credit_of_line,
    credit_totals,
    split_credit,
)
from recur.domain.errors import InvalidRequest, NotFound
from recur.domain.ids import new_id
from recur.domain.invoicing import LineTotals, TaxLine
from recur.domain.money import round_half_up
from recur.services import balance_transactions
from recur.services import invoices as invoice_service
from recur.services.events import record_event
from recur.services.refunds import create_refund
from recur.services.tax_rates import get_active_tax_rate, retrieve_tax_rate, tax_rate_terms
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import (
    ChargeRepository,
    InvoiceLineRepository,
    InvoiceRepository,
)
from recur.storage.repositories.credit_notes import (
    CreditNoteLineRepository,
    CreditNoteRepository,
)
from recur.storage.uow import UnitOfWork

CREDITABLE_STATUSES = ("open", "paid", "uncollectible")
# Where the invoice still asks for money, a credit note first reduces that.
UNPAID_STATUSES = ("open", "uncollectible")
# Refund reasons that a credit note's reason carries over (the others have no equivalent).
REFUND_REASONS = {"duplicate": "duplicate", "fraudulent": "fraudulent"}
UPDATABLE = ("memo", "metadata")


def _notes(uow: UnitOfWork) -> CreditNoteRepository:
    return uow.repository(CreditNoteRepository)


def _note_lines(uow: UnitOfWork) -> CreditNoteLineRepository:
    return uow.repository(CreditNoteLineRepository)


@dataclass(frozen=True)
class CreditNoteDraft:
    """A credit note computed and checked, not yet written (a preview stops here)."""

    invoice: Record
    row: dict[str, Any]
    lines: list[dict[str, Any]]
    split: CreditSplit
    refund_amount: int


# --- computing a credit note --------------------------------------------------------------


def _line_totals(line: Record) -> LineTotals:
    """An invoice line's stored figures."""
    return LineTotals(
        amount=int(line["amount"]),
        discount_amounts=tuple(
            (entry["discount"], int(entry["amount"])) for entry in line["discount_amounts"] or []
        ),
        tax_amounts=tuple(
            TaxLine(int(t["amount"]), bool(t["inclusive"]), t["tax_rate"], int(t["taxable_amount"]))
            for t in line["tax_amounts"] or []
        ),
        amount_excluding_tax=int(line["amount_excluding_tax"]),
    )


def _unit_amount_decimal(amount: int, quantity: int | None) -> str | None:
    if not quantity:
        return None
    unit = (Decimal(amount) / Decimal(quantity)).quantize(Decimal("1E-12")).normalize()
    return format(unit, "f")


def _line_row(
    position: int,
    kind: str,
    figures: LineTotals,
    *,
    invoice_line_item: str | None,
    description: str | None,
    quantity: int | None,
    tax_rates: Sequence[str],
    metadata: Mapping[str, str] | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id("cnli"),
        "created": to_unix(at),
        "position": position,
        "type": kind,
        "invoice_line_item": invoice_line_item,
        "description": description,
        "quantity": quantity,
        "unit_amount_decimal": _unit_amount_decimal(figures.amount, quantity),
        "amount": figures.amount,
        "amount_excluding_tax": figures.amount_excluding_tax,
        "discount_amount": sum(amount for _id, amount in figures.discount_amounts),
        "discount_amounts": [
            {"amount": amount, "discount": discount_id}
            for discount_id, amount in figures.discount_amounts
        ],
        "tax_amounts": [_tax_json(tax) for tax in figures.tax_amounts],
        "tax_rates": list(tax_rates),
        "metadata": dict(metadata or {}),
    }


def _tax_json(tax: TaxLine) -> dict[str, Any]:
    return {
        "amount": tax.amount,
        "inclusive": tax.inclusive,
        "tax_rate": tax.tax_rate_id,
        "taxable_amount": tax.taxable_amount,
    }


def _credited_per_line(uow: UnitOfWork, issued: Sequence[Record]) -> dict[str, int]:
    """How much of each invoice line the issued credit notes took back already."""
    credited: dict[str, int] = {}
    for line in _note_lines(uow).lines_of([note["id"] for note in issued]):
        if line["invoice_line_item"]:
            key = str(line["invoice_line_item"])
            credited[key] = credited.get(key, 0) + int(line["amount"])
    return credited


def _invoice_line_credit(
    entry: Mapping[str, Any],
    param: str,
    invoice_lines: Mapping[str, Record],
    credited: dict[str, int],
) -> tuple[LineTotals, Record]:
    """What one `invoice_line_item` entry of `lines[]` takes back of its invoice line."""
    for name in ("description", "unit_amount", "unit_amount_decimal", "tax_rates"):
        if entry.get(name) is not None:
            raise InvalidRequest(
                f"{name} is only valid when the type is custom_line_item.",
                param=f"{param}[{name}]",
            )
    line_id = entry.get("invoice_line_item")
    if not line_id:
        raise InvalidRequest(
            f"Missing required param: {param}[invoice_line_item].",
            param=f"{param}[invoice_line_item]",
            code="parameter_missing",
        )
    line = invoice_lines.get(line_id)
    if line is None:
        raise NotFound.for_id("invoice line item", line_id, f"{param}[invoice_line_item]")
    figures = _line_totals(line)
    if figures.amount <= 0:
        raise InvalidRequest(
            "Only a line with a positive amount can be credited.",
            param=f"{param}[invoice_line_item]",
        )
    amount, quantity = entry.get("amount"), entry.get("quantity")
    if amount is not None and quantity is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: amount, quantity.",
            param=f"{param}[quantity]",
        )
    if quantity is not None:
        line_quantity = int(line["quantity"] or 0)
        if line_quantity <= 0 or not 0 < int(quantity) <= line_quantity:
            raise InvalidRequest(
                f"The quantity to credit must be between 1 and the line's quantity "
                f"({line_quantity}).",
                param=f"{param}[quantity]",
            )
        amount = amount_for_quantity(figures.amount, line_quantity, int(quantity))
    if amount is None:
        raise InvalidRequest(
            f"Missing required param: {param}[amount] or {param}[quantity].",
            param=f"{param}[amount]",
            code="parameter_missing",
        )
    before = credited.get(line_id, 0)
    left = figures.amount - before
    if not 0 < int(amount) <= left:
        raise InvalidRequest(
            f"The amount to credit on this line must be positive and at most what is left "
            f"to credit on it ({left}).",
            param=f"{param}[{'quantity' if quantity is not None else 'amount'}]",
        )
    credited[line_id] = before + int(amount)
    return credit_of_line(figures, before, int(amount)), line


def _custom_credit(uow: UnitOfWork, entry: Mapping[str, Any], param: str) -> LineTotals:
    """What one `custom_line_item` entry of `lines[]` credits."""
    for name in ("invoice_line_item", "amount"):
        if entry.get(name) is not None:
            raise InvalidRequest(
                f"{name} is only valid when the type is invoice_line_item.",
                param=f"{param}[{name}]",
            )
    quantity = int(entry["quantity"]) if entry.get("quantity") is not None else 1
    if quantity <= 0:
        raise InvalidRequest("The quantity must be positive.", param=f"{param}[quantity]")
    unit, unit_decimal = entry.get("unit_amount"), entry.get("unit_amount_decimal")
    if unit is not None and unit_decimal is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
            param=f"{param}[unit_amount_decimal]",
        )
    if unit is not None:
        amount = int(unit) * quantity
    elif unit_decimal is not None:
        amount = round_half_up(Decimal(unit_decimal) * quantity)
    else:
        raise InvalidRequest(
            f"Missing required param: {param}[unit_amount].",
            param=f"{param}[unit_amount]",
            code="parameter_missing",
        )
    if amount <= 0:
        raise InvalidRequest(
            "A custom credit line must have a positive amount.", param=f"{param}[unit_amount]"
        )
    rates = [
        get_active_tax_rate(uow, rate_id, param=f"{param}[tax_rates][{index}]")
        for index, rate_id in enumerate(entry.get("tax_rates") or [])
    ]
    if len({rate["id"] for rate in rates}) != len(rates):
        raise InvalidRequest("A tax rate is given twice.", param=f"{param}[tax_rates]")
    return credit_of_custom_line(amount, [tax_rate_terms(rate) for rate in rates])


def _lines(
    uow: UnitOfWork,
    invoice: Record,
    entries: Sequence[Mapping[str, Any]],
    issued: Sequence[Record],
    at: datetime,
) -> tuple[list[dict[str, Any]], list[LineTotals]]:
    invoice_lines = {
        line["id"]: line for line in uow.repository(InvoiceLineRepository).lines_of(invoice["id"])
    }
    credited = _credited_per_line(uow, issued)
    rows: list[dict[str, Any]] = []
    figures: list[LineTotals] = []
    for position, entry in enumerate(entries):
        param = f"lines[{position}]"
        if entry.get("type") == "invoice_line_item":
            credit, line = _invoice_line_credit(entry, param, invoice_lines, credited)
            row = _line_row(
                position,
                "invoice_line_item",
                credit,
                invoice_line_item=line["id"],
                description=line["description"],
                quantity=entry.get("quantity"),
                tax_rates=line["tax_rates"] or [],
                metadata=entry.get("metadata"),
                at=at,
            )
        else:
            credit = _custom_credit(uow, entry, param)
            row = _line_row(
                position,
                "custom_line_item",
                credit,
                invoice_line_item=None,
                description=entry.get("description"),
                quantity=int(entry["quantity"]) if entry.get("quantity") is not None else 1,
                tax_rates=[str(rate_id) for rate_id in entry.get("tax_rates") or []],
                metadata=entry.get("metadata"),
                at=at,
            )
        rows.append(row)
        figures.append(credit)
    return rows, figures


def _totals(
    uow: UnitOfWork,
    invoice: Record,
    values: Mapping[str, Any],
    issued: Sequence[Record],
    at: datetime,
) -> tuple[CreditTotals, list[dict[str, Any]]]:
    entries = values.get("lines") or []
    amount = values.get("amount")
    if amount is not None and int(amount) <= 0:
        raise InvalidRequest("The credit note amount must be positive.", param="amount")
    if not entries:
        if amount is None:
            raise InvalidRequest(
                "One of amount or lines must be provided.",
                param="amount",
                code="parameter_missing",
            )
        return amount_only_totals(int(amount)), []
    rows, figures = _lines(uow, invoice, entries, issued, at)
    totals = credit_totals(figures)
    if amount is not None and int(amount) != totals.total:
        raise InvalidRequest(
            f"The amount ({amount}) must equal the total of the lines ({totals.total}).",
            param="amount",
        )
    if totals.total <= 0:
        raise InvalidRequest("The credit note total must be positive.", param="lines")
    return totals, rows


def _refundable(uow: UnitOfWork, invoice: Record, issued: Sequence[Record]) -> int:
    """What refunds may still give back of the invoice's payment (Recur's bound; the
    refunds service checks the charge itself too)."""
    refunded = sum(
        int(entry["amount_refunded"]) for note in issued for entry in note["refunds"] or []
    )
    return max(int(invoice["amount_paid"]) - refunded, 0)


def _draft(uow: UnitOfWork, values: Mapping[str, Any], at: datetime) -> CreditNoteDraft:
    """Compute and check a credit note (nothing written)."""
    invoice = uow.repository(InvoiceRepository).get(
        values["invoice"], param="invoice", for_update=True
    )
    if invoice["status"] not in CREDITABLE_STATUSES:
        raise InvalidRequest(
            f"A credit note can only be issued for an open, paid or uncollectible invoice; "
            f"this invoice is {invoice['status']}.",
            param="invoice",
            code="invoice_not_open" if invoice["status"] == "draft" else None,
        )
    notes = _notes(uow).of_invoice(invoice["id"])
    issued = [note for note in notes if note["status"] == "issued"]
    totals, rows = _totals(uow, invoice, values, issued, at)
    creditable = int(invoice["total"]) - sum(int(note["total"]) for note in issued)
    if totals.total > creditable:
        raise InvalidRequest(
            f"The credit note total ({totals.total}) is more than what is left to credit on "
            f"the invoice ({max(creditable, 0)}).",
            param="lines" if rows else "amount",
        )
    unpaid = invoice["status"] in UNPAID_STATUSES
    split = split_credit(totals.total, int(invoice["amount_remaining"]) if unpaid else 0)
    refund = int(values.get("refund_amount") or 0)
    credit = int(values.get("credit_amount") or 0)
    out_of_band = int(values.get("out_of_band_amount") or 0)
    if refund + credit + out_of_band != split.post_payment_amount:
        raise InvalidRequest(
            "The sum of refund_amount, credit_amount and out_of_band_amount "
            f"({refund + credit + out_of_band}) must equal the credit note's post-payment "
            f"amount ({split.post_payment_amount}): what it credits beyond the invoice's "
            f"amount remaining ({split.pre_payment_amount} of {totals.total} reduces it).",
            param="refund_amount"
            if refund
            else "credit_amount"
            if credit
            else "out_of_band_amount",
        )
    if refund > _refundable(uow, invoice, issued):
        raise InvalidRequest(
            f"refund_amount ({refund}) is more than what the invoice's payment can still "
            f"refund ({_refundable(uow, invoice, issued)}).",
            param="refund_amount",
        )
    note_id = new_id("cn")
    for line in rows:
        line["credit_note"] = note_id
    row: dict[str, Any] = {
        "id": note_id,
        "created": to_unix(at),
        "invoice": invoice["id"],
        "customer": invoice["customer"],
        "number": credit_note_number(str(invoice["number"]), len(notes) + 1),
        "status": "issued",
        "type": split.type,
        "currency": invoice["currency"],
        "subtotal": totals.subtotal,
        "subtotal_excluding_tax": totals.subtotal_excluding_tax,
        "discount_amount": totals.discount_amount,
        "discount_amounts": [
            {"amount": amount, "discount": discount_id}
            for discount_id, amount in totals.discount_amounts
        ],
        "total_taxes": [_tax_json(tax) for tax in totals.total_taxes],
        "total_excluding_tax": totals.total_excluding_tax,
        "total": totals.total,
        "pre_payment_amount": split.pre_payment_amount,
        "post_payment_amount": split.post_payment_amount,
        "credit_amount": credit,
        "out_of_band_amount": out_of_band if "out_of_band_amount" in values else None,
        "refunds": [],
        "customer_balance_transaction": None,
        "reason": values.get("reason"),
        "memo": values.get("memo"),
        "effective_at": values.get("effective_at"),
        "voided_at": None,
        "metadata": dict(values.get("metadata") or {}),
    }
    return CreditNoteDraft(invoice, row, rows, split, refund)


# --- use cases ----------------------------------------------------------------------------


def _time(uow: UnitOfWork, values: Mapping[str, Any], now: datetime) -> datetime:
    """The credited invoice's present (its customer's test clock time, or `now`)."""
    invoice = uow.repository(InvoiceRepository).get(values["invoice"], param="invoice")
    return invoice_service.invoice_time(uow, invoice["id"], now)


def preview_credit_note(
    uow: UnitOfWork, values: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """`GET /v1/credit_notes/preview`: the credit note `values` would create (nothing
    written; its id and its lines' ids are temporary, as at Stripe)."""
    at = _time(uow, values, now)
    draft = _draft(uow, values, at)
    row = dict(draft.row, id=new_id("cn_tmp"), livemode=uow.scope.livemode)
    lines = [
        dict(
            line,
            id=f"cnli_tmp_{line['position']:04d}",
            credit_note=row["id"],
            livemode=uow.scope.livemode,
        )
        for line in draft.lines
    ]
    return _view(uow, row, lines)


def create_credit_note(uow: UnitOfWork, values: Mapping[str, Any], now: datetime) -> Record:
    """`POST /v1/credit_notes`: issue a credit note and apply it to the invoice."""
    at = _time(uow, values, now)
    draft = _draft(uow, values, at)
    invoice, split = draft.invoice, draft.split
    before = invoice_service.invoice_view(uow, invoice)
    note = _notes(uow).insert(draft.row)
    _note_lines(uow).insert_many(draft.lines)
    changes: dict[str, Any] = {}
    if split.pre_payment_amount:
        changes.update(
            amount_due=int(invoice["amount_due"]) - split.pre_payment_amount,
            amount_remaining=int(invoice["amount_remaining"]) - split.pre_payment_amount,
            pre_payment_credit_notes_amount=int(invoice["pre_payment_credit_notes_amount"])
            + split.pre_payment_amount,
        )
    if split.post_payment_amount:
        changes["post_payment_credit_notes_amount"] = (
            int(invoice["post_payment_credit_notes_amount"]) + split.post_payment_amount
        )
    note_changes: dict[str, Any] = {}
    if draft.refund_amount:
        refund = _refund(uow, invoice, draft.refund_amount, values, at)
        note_changes["refunds"] = [{"refund": refund["id"], "amount_refunded": draft.refund_amount}]
    if note["credit_amount"]:
        transaction = balance_transactions.record_balance_change(
            uow,
            invoice["customer"],
            -int(note["credit_amount"]),
            "credit_note",
            at,
            currency=invoice["currency"],
            invoice=invoice["id"],
            credit_note=note["id"],
        )
        note_changes["customer_balance_transaction"] = transaction["id"]
    if note_changes:
        note = _notes(uow).update(note["id"], note_changes)
    record_event(uow, "credit_note.created", "credit_note", credit_note_view(uow, note), at)
    invoice = uow.repository(InvoiceRepository).update(invoice["id"], changes)
    record_event(
        uow,
        "invoice.updated",
        "invoice",
        invoice_service.invoice_view(uow, invoice),
        at,
        previous=before,
    )
    if split.pre_payment_amount and invoice["amount_remaining"] == 0:
        # Credited in full before payment: nothing is owed any more.
        invoice_service.mark_paid(uow, invoice, at)
        _reschedule(uow, invoice)
    return note


def _refund(
    uow: UnitOfWork, invoice: Record, amount: int, values: Mapping[str, Any], at: datetime
) -> Record:
    """Refund `amount` of the invoice's payment through the payments' refunds service."""
    charge = uow.repository(ChargeRepository).succeeded_for(invoice["id"])
    if charge is None:
        raise InvalidRequest(
            "This invoice was not paid by a charge: there is nothing to refund. Use "
            "credit_amount or out_of_band_amount instead.",
            param="refund_amount",
        )
    try:
        return create_refund(
            uow,
            charge=str(charge["id"]),
            amount=amount,
            at=at,
            reason=REFUND_REASONS.get(values.get("reason") or ""),
            metadata=None,
        )
    except InvalidRequest as error:
        # What the charge can still give back (other refunds count): said of this request.
        raise InvalidRequest(error.message, param="refund_amount", code=error.code) from error


def _reschedule(uow: UnitOfWork, invoice: Record) -> None:
    if invoice["subscription"]:
        # Imported here: advance builds on the invoices service.
        from recur.services import advance

        advance.schedule(uow, invoice["subscription"])


def void_credit_note(uow: UnitOfWork, credit_note_id: str, now: datetime) -> Record:
    """`POST /v1/credit_notes/{id}/void`: undo what the credit note did, keep its number.

    The invoice's amounts and the customer's balance credit are restored. **Recur's
    choices**, where Stripe does not say: a credit note whose refund was made cannot be
    voided (money that left cannot be called back), nor one that reduced an invoice
    before payment once that invoice is no longer open (paid, or voided since).
    """
    note = _notes(uow).get(credit_note_id, for_update=True)
    if note["status"] != "issued":
        raise InvalidRequest("This credit note is already void.", code="credit_note_voided")
    if note["refunds"]:
        raise InvalidRequest(
            "This credit note refunded a payment, and a refund cannot be undone: it cannot "
            "be voided."
        )
    invoices = uow.repository(InvoiceRepository)
    invoice = invoices.get(note["invoice"], for_update=True)
    pre, post = int(note["pre_payment_amount"]), int(note["post_payment_amount"])
    if pre and invoice["status"] not in UNPAID_STATUSES:
        raise InvalidRequest(
            f"This credit note reduced the invoice before payment, and the invoice is now "
            f"{invoice['status']}: it cannot be voided."
        )
    at = invoice_service.invoice_time(uow, invoice["id"], now)
    before = invoice_service.invoice_view(uow, invoice)
    note = _notes(uow).update(note["id"], {"status": "void", "voided_at": to_unix(at)})
    if note["credit_amount"]:
        balance_transactions.record_balance_change(
            uow,
            invoice["customer"],
            int(note["credit_amount"]),
            "credit_note",
            at,
            currency=invoice["currency"],
            invoice=invoice["id"],
            credit_note=note["id"],
        )
    changes: dict[str, Any] = {}
    if pre:
        changes.update(
            amount_due=int(invoice["amount_due"]) + pre,
            amount_remaining=int(invoice["amount_remaining"]) + pre,
            pre_payment_credit_notes_amount=int(invoice["pre_payment_credit_notes_amount"]) - pre,
        )
    if post:
        changes["post_payment_credit_notes_amount"] = (
            int(invoice["post_payment_credit_notes_amount"]) - post
        )
    record_event(uow, "credit_note.voided", "credit_note", credit_note_view(uow, note), at)
    invoice = invoices.update(invoice["id"], changes)
    record_event(
        uow,
        "invoice.updated",
        "invoice",
        invoice_service.invoice_view(uow, invoice),
        at,
        previous=before,
    )
    return note


def update_credit_note(
    uow: UnitOfWork, credit_note_id: str, changes: Mapping[str, Any], now: datetime
) -> Record:
    """`POST /v1/credit_notes/{id}`: `memo` and `metadata` only."""
    note = _notes(uow).get(credit_note_id, for_update=True)
    at = invoice_service.invoice_time(uow, note["invoice"], now)
    before = credit_note_view(uow, note)
    values = {name: changes[name] for name in UPDATABLE if name in changes}
    note = _notes(uow).update(credit_note_id, values)
    record_event(
        uow, "credit_note.updated", "credit_note", credit_note_view(uow, note), at, previous=before
    )
    return note


def retrieve_credit_note(uow: UnitOfWork, credit_note_id: str) -> Record:
    """One credit note of this tenant."""
    return _notes(uow).get(credit_note_id)


def list_credit_notes(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    customer: str | None = None,
    invoice: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of credit notes, newest first."""
    return _notes(uow).list_credit_notes(
        request, customer=customer, invoice=invoice, created=created
    )


def lines_page(uow: UnitOfWork, credit_note_id: str, request: PageRequest) -> Page:
    """A page of a credit note's lines."""
    _notes(uow).get(credit_note_id)
    return _note_lines(uow).page_of(credit_note_id, request)


def line_view(uow: UnitOfWork, line: Record) -> dict[str, Any]:
    """A credit note line with its tax rates, as the API renders it."""
    return {
        **line,
        "tax_rate_records": [retrieve_tax_rate(uow, rate_id) for rate_id in line["tax_rates"]],
    }


def _view(uow: UnitOfWork, note: Mapping[str, Any], lines: Sequence[Record]) -> dict[str, Any]:
    return {**note, "lines": [line_view(uow, line) for line in lines]}


def credit_note_view(uow: UnitOfWork, note: Record) -> dict[str, Any]:
    """A credit note with its lines, as the API and events render it."""
    return _view(uow, note, _note_lines(uow).lines_of([note["id"]]))
