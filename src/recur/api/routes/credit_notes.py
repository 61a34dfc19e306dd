"""`/v1/credit_notes`: create, preview (and its lines), retrieve, update, list, void, lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    BlankIsNone,
    Dec,
    ListParams,
    Metadata,
    Nested,
    NonNegInt,
    OptStr,
    Params,
    RetrieveParams,
    Timestamp,
    given_values,
    updated_metadata,
)
from recur.api.routes import invoices as invoice_routes
from recur.api.routes.invoices import tax_object
from recur.api.routes.tax_rates import tax_rate_object
from recur.domain.errors import InvalidRequest, NotFound
from recur.services import credit_notes as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Page, Record

Reason = Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"]


class CreditNoteLineParams(Nested):
    """One entry of `lines[]`: part of an invoice line, or a custom line."""

    type: Literal["invoice_line_item", "custom_line_item"]
    amount: NonNegInt | None = None
    description: str | None = None
    invoice_line_item: str | None = None
    metadata: Metadata | None = None
    quantity: NonNegInt | None = None
    tax_rates: Annotated[list[str] | None, BlankIsNone] = None
    unit_amount: NonNegInt | None = None
    unit_amount_decimal: Dec | None = None


class CreditNoteFields(Params):
    """What a credit note is made of (create and preview)."""

    invoice: str
    amount: NonNegInt | None = None
    credit_amount: NonNegInt | None = None
    effective_at: Timestamp | None = None
    # Accepted; the credit note email is sent by the emails issue's outbox, from the event.
    email_type: Literal["credit_note", "none"] | None = None
    lines: list[CreditNoteLineParams] | None = None
    memo: str | None = None
    metadata: Metadata | None = None
    out_of_band_amount: NonNegInt | None = None
    reason: Reason | None = None
    refund_amount: NonNegInt | None = None


class CreditNoteCreateParams(CreditNoteFields):
    """`POST /v1/credit_notes`."""


class CreditNotePreviewParams(CreditNoteFields):
    """`GET /v1/credit_notes/preview`."""


class CreditNotePreviewLinesParams(CreditNoteFields, ListParams):
    """`GET /v1/credit_notes/preview/lines`."""


class CreditNoteUpdateParams(Params):
    """`POST /v1/credit_notes/{credit_note}`: the memo and metadata only."""

    memo: OptStr = None
    metadata: Metadata | None = None


class CreditNoteListParams(ListParams):
    """`GET /v1/credit_notes`."""

    customer: str | None = None
    invoice: str | None = None


class CreditNoteLinesParams(ListParams):
    """`GET /v1/credit_notes/{credit_note}/lines`."""


def _legacy_tax(tax: Mapping[str, Any]) -> Wire:
    return {
        "amount": tax["amount"],
        "inclusive": tax["inclusive"],
        "tax_rate": tax["tax_rate"],
        "taxability_reason": "standard_rated",
        "taxable_amount": tax["taxable_amount"],
    }


def _pretax(entries: Sequence[Mapping[str, Any]]) -> list[Wire]:
    return [
        {
            "amount": entry["amount"],
            "credit_balance_transaction": None,
            "discount": entry["discount"],
            "type": "discount",
        }
        for entry in entries
    ]


def _unit_amount(text: str | None) -> int | None:
    if text is None:
        return None
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else None


def line_object(line: Mapping[str, Any]) -> Wire:
    """The wire shape of a credit note line (a view from `services.credit_notes.line_view`)."""
    return {
        "id": line["id"],
        "object": "credit_note_line_item",
        "amount": line["amount"],
        "amount_excluding_tax": line["amount_excluding_tax"],
        "description": line["description"],
        "discount_amount": line["discount_amount"],
        "discount_amounts": line["discount_amounts"],
        "invoice_line_item": line["invoice_line_item"],
        "livemode": line["livemode"],
        "metadata": line["metadata"],
        "pretax_credit_amounts": _pretax(line["discount_amounts"]),
        "quantity": line["quantity"],
        "tax_amounts": [_legacy_tax(tax) for tax in line["tax_amounts"]],
        "tax_rates": [tax_rate_object(rate) for rate in line.get("tax_rate_records", [])],
        "taxes": [tax_object(tax) for tax in line["tax_amounts"]],
        "type": line["type"],
        "unit_amount": _unit_amount(line["unit_amount_decimal"]),
        "unit_amount_decimal": line["unit_amount_decimal"],
        "unit_amount_excluding_tax": None,
    }


def credit_note_object(view: Mapping[str, Any]) -> Wire:
    """The wire shape of a credit note (a view from `services.credit_notes`)."""
    lines = view["lines"]
    refunds = view["refunds"] or []
    public = invoice_routes.public_url()
    return {
        "id": view["id"],
        "object": "credit_note",
        "amount": view["total"],
        "amount_shipping": 0,
        "created": view["created"],
        "currency": view["currency"],
        "customer": view["customer"],
        "customer_account": None,
        "customer_balance_transaction": view["customer_balance_transaction"],
        "discount_amount": view["discount_amount"],
        "discount_amounts": view["discount_amounts"],
        "effective_at": view["effective_at"] or view["created"],
        "invoice": view["invoice"],
        "lines": {
            "object": "list",
            "data": [line_object(line) for line in lines],
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/credit_notes/{view['id']}/lines",
        },
        "livemode": view["livemode"],
        "memo": view["memo"],
        "metadata": view["metadata"],
        "number": view["number"],
        "out_of_band_amount": view["out_of_band_amount"],
        "pdf": f"{public}/credit_notes/{view['id']}/pdf",
        "post_payment_amount": view["post_payment_amount"],
        "pre_payment_amount": view["pre_payment_amount"],
        "pretax_credit_amounts": _pretax(view["discount_amounts"]),
        "reason": view["reason"],
        # Older API versions: the one refund.
        "refund": refunds[0]["refund"] if refunds else None,
        "refunds": [
            {
                "amount_refunded": entry["amount_refunded"],
                "payment_record_refund": None,
                "refund": entry["refund"],
                "type": "refund",
            }
            for entry in refunds
        ],
        "shipping_cost": None,
        "status": view["status"],
        "subtotal": view["subtotal"],
        "subtotal_excluding_tax": view["subtotal_excluding_tax"],
        "tax_amounts": [_legacy_tax(tax) for tax in view["total_taxes"]],
        "total": view["total"],
        "total_excluding_tax": view["total_excluding_tax"],
        "total_taxes": [tax_object(tax) for tax in view["total_taxes"]],
        "type": view["type"],
        "voided_at": view["voided_at"],
    }


def render(ctx: ApiContext, record: Record) -> Wire:
    """A stored credit note on the wire."""
    return credit_note_object(service.credit_note_view(ctx.uow, record))


def _values(params: CreditNoteFields) -> dict[str, Any]:
    paging = frozenset({"limit", "starting_after", "ending_before", "created"})
    values = given_values(params, exclude=paging)
    values["metadata"] = params.metadata or {}
    return values


# The fixed paths first: they must win over /v1/credit_notes/{credit_note}.
@route(
    "GET",
    "/v1/credit_notes/preview",
    CreditNotePreviewParams,
    summary="Preview a credit note.",
    returns="credit_note",
)
def preview(ctx: ApiContext, params: CreditNotePreviewParams) -> Wire:
    return credit_note_object(service.preview_credit_note(ctx.uow, _values(params), ctx.now))


def _slice(lines: list[Wire], params: CreditNotePreviewLinesParams) -> tuple[list[Wire], bool]:
    """A page of a preview's lines, in order. Cursors are the preview's line ids, which
    are the same on every call with the same parameters (`cnli_tmp_<position>`)."""
    if params.starting_after and params.ending_before:
        raise InvalidRequest(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    ids = [line["id"] for line in lines]
    for name in ("starting_after", "ending_before"):
        cursor = getattr(params, name)
        if cursor is not None and cursor not in ids:
            raise NotFound.for_id("credit note line item", cursor, name)
    if params.ending_before is not None:
        before = lines[: ids.index(params.ending_before)]
        return before[-params.limit :], len(before) > params.limit
    start = 0 if params.starting_after is None else ids.index(params.starting_after) + 1
    rest = lines[start:]
    return rest[: params.limit], len(rest) > params.limit


@route(
    "GET",
    "/v1/credit_notes/preview/lines",
    CreditNotePreviewLinesParams,
    summary="List the lines of a credit note preview.",
    returns="list",
)
def preview_lines(ctx: ApiContext, params: CreditNotePreviewLinesParams) -> Wire:
    view = service.preview_credit_note(ctx.uow, _values(params), ctx.now)
    data, has_more = _slice([line_object(line) for line in view["lines"]], params)
    return {
        "object": "list",
        "url": "/v1/credit_notes/preview/lines",
        "has_more": has_more,
        "data": data,
    }


@route(
    "POST",
    "/v1/credit_notes",
    CreditNoteCreateParams,
    summary="Issue a credit note for an invoice.",
    returns="credit_note",
)
def create(ctx: ApiContext, params: CreditNoteCreateParams) -> Wire:
    return render(ctx, service.create_credit_note(ctx.uow, _values(params), ctx.now))


@route(
    "GET", "/v1/credit_notes", CreditNoteListParams, summary="List credit notes.", returns="list"
)
def list_(ctx: ApiContext, params: CreditNoteListParams) -> Wire:
    page = service.list_credit_notes(
        ctx.uow,
        page_request(params),
        customer=params.customer,
        invoice=params.invoice,
        created=created_filter(params),
    )
    return list_envelope("/v1/credit_notes", page, lambda record: render(ctx, record))


@route(
    "GET",
    "/v1/credit_notes/{credit_note}",
    RetrieveParams,
    summary="Retrieve a credit note.",
    returns="credit_note",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, credit_note: str) -> Wire:
    return render(ctx, service.retrieve_credit_note(ctx.uow, credit_note))


@route(
    "POST",
    "/v1/credit_notes/{credit_note}",
    CreditNoteUpdateParams,
    summary="Update a credit note's memo or metadata.",
    returns="credit_note",
)
def update(ctx: ApiContext, params: CreditNoteUpdateParams, credit_note: str) -> Wire:
    values = given_values(params)
    if params.given("metadata"):
        current = service.retrieve_credit_note(ctx.uow, credit_note)
        values["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    return render(ctx, service.update_credit_note(ctx.uow, credit_note, values, ctx.now))


@route(
    "POST",
    "/v1/credit_notes/{credit_note}/void",
    RetrieveParams,
    summary="Void a credit note.",
    returns="credit_note",
)
def void(ctx: ApiContext, params: RetrieveParams, credit_note: str) -> Wire:
    return render(ctx, service.void_credit_note(ctx.uow, credit_note, ctx.now))


@route(
    "GET",
    "/v1/credit_notes/{credit_note}/lines",
    CreditNoteLinesParams,
    summary="List a credit note's lines.",
    returns="list",
)
def lines(ctx: ApiContext, params: CreditNoteLinesParams, credit_note: str) -> Wire:
    page: Page = service.lines_page(ctx.uow, credit_note, page_request(params))
    return list_envelope(
        f"/v1/credit_notes/{credit_note}/lines",
        page,
        lambda line: line_object(service.line_view(ctx.uow, line)),
    )


register_loader(
    "cn", lambda ctx, object_id: render(ctx, service.retrieve_credit_note(ctx.uow, object_id))
)
register_renderer("credit_note", credit_note_object)
