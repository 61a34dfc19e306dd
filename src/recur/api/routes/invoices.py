"""`/v1/invoices`: retrieve, list, lines, finalize, pay, void, mark_uncollectible."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import Bool, ListParams, Params, RetrieveParams
from recur.services import invoices as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record

# Set once per process by `configure` (the composition root knows the public URL).
_LINKS = {"public_url": "http://127.0.0.1:8000"}


def configure(public_url: str) -> None:
    """Where the hosted invoice pages live (links in invoices and emails)."""
    _LINKS["public_url"] = public_url.rstrip("/")


class InvoiceListParams(ListParams):
    """`GET /v1/invoices`."""

    customer: str | None = None
    subscription: str | None = None
    status: Literal["draft", "open", "paid", "uncollectible", "void"] | None = None
    collection_method: Literal["charge_automatically", "send_invoice"] | None = None


class FinalizeParams(Params):
    """`POST /v1/invoices/{id}/finalize`."""

    auto_advance: Bool | None = None


class PayParams(Params):
    """`POST /v1/invoices/{id}/pay`."""

    paid_out_of_band: Bool | None = None
    payment_method: str | None = None
    off_session: Bool | None = None
    forgive: Bool | None = None


class LinesParams(ListParams):
    """`GET /v1/invoices/{id}/lines`."""


def line_object(line: Mapping[str, Any]) -> Wire:
    """The wire shape of an invoice line (current shape plus the legacy fields)."""
    subscription_details = None
    invoice_item_details = None
    if line["kind"] == "subscription":
        parent_type = "subscription_item_details"
        subscription_details = {
            "invoice_item": line["invoice_item"],
            "proration": line["proration"],
            "proration_details": {"credited_items": None},
            "subscription": line["subscription"],
            "subscription_item": line["subscription_item"],
        }
    else:
        parent_type = "invoice_item_details"
        invoice_item_details = {
            "invoice_item": line["invoice_item"],
            "proration": line["proration"],
            "proration_details": {"credited_items": None},
            "subscription": line["subscription"],
        }
    return {
        "id": line["id"],
        "object": "line_item",
        "amount": line["amount"],
        "amount_excluding_tax": line["amount_excluding_tax"],
        "currency": line["currency"],
        "description": line["description"],
        "discount_amounts": line["discount_amounts"],
        "discountable": line["discountable"],
        "discounts": [d["discount"] for d in line["discount_amounts"]],
        "invoice": line["invoice"],
        "livemode": line["livemode"],
        "metadata": line["metadata"],
        "parent": {
            "type": parent_type,
            "subscription_item_details": subscription_details,
            "invoice_item_details": invoice_item_details,
        },
        "period": {"start": line["period_start"], "end": line["period_end"]},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": line["price"], "product": line["product"]},
            "unit_amount_decimal": None,
        }
        if line["price"]
        else None,
        "quantity": line["quantity"],
        "taxes": [
            {
                "amount": tax["amount"],
                "tax_behavior": "inclusive" if tax["inclusive"] else "exclusive",
                "tax_rate_details": {"tax_rate": tax["tax_rate"]},
                "taxability_reason": "standard_rated",
                "taxable_amount": tax["taxable_amount"],
                "type": "tax_rate_details",
            }
            for tax in line["tax_amounts"]
        ],
        # Older API versions:
        "price": line["price"],
        "proration": line["proration"],
        "subscription": line["subscription"],
        "subscription_item": line["subscription_item"],
        "tax_amounts": line["tax_amounts"],
        "tax_rates": line["tax_rates"],
        "type": "subscription" if line["kind"] == "subscription" else "invoiceitem",
    }


def invoice_object(view: Mapping[str, Any]) -> Wire:
    """The wire shape of an invoice (a view from `services.invoices.invoice_view`)."""
    transitions = view["status_transitions"] or {}
    lines = view["lines"]
    public = _LINKS["public_url"]
    finalized = view["status"] != "draft"
    return {
        "id": view["id"],
        "object": "invoice",
        "account_country": None,
        "account_name": None,
        "amount_due": view["amount_due"],
        "amount_overpaid": 0,
        "amount_paid": view["amount_paid"],
        "amount_remaining": view["amount_remaining"],
        "amount_shipping": 0,
        "attempt_count": view["attempt_count"],
        "attempted": view["attempted"],
        "auto_advance": view["auto_advance"],
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "automatically_finalizes_at": view["automatically_finalizes_at"],
        "billing_reason": view["billing_reason"],
        "collection_method": view["collection_method"],
        "created": view["created"],
        "currency": view["currency"],
        "customer": view["customer"],
        "default_payment_method": view["default_payment_method"],
        "description": view["description"],
        "discounts": view["discounts"],
        "due_date": view["due_date"],
        "effective_at": transitions.get("finalized_at"),
        "ending_balance": view["ending_balance"],
        "footer": view["footer"],
        "hosted_invoice_url": f"{public}/invoices/{view['id']}" if finalized else None,
        "invoice_pdf": f"{public}/invoices/{view['id']}/pdf" if finalized else None,
        "last_finalization_error": view["last_finalization_error"],
        "lines": {
            "object": "list",
            "data": [line_object(line) for line in lines],
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{view['id']}/lines",
        },
        "livemode": view["livemode"],
        "metadata": view["metadata"],
        "next_payment_attempt": view["next_payment_attempt"],
        "number": view["number"],
        "paid": view["status"] == "paid",
        "paid_out_of_band": view["paid_out_of_band"],
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": None, "subscription": view["subscription"]},
        }
        if view["subscription"]
        else None,
        "period_end": view["period_end"],
        "period_start": view["period_start"],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "starting_balance": view["starting_balance"],
        "status": view["status"],
        "status_transitions": {
            "finalized_at": transitions.get("finalized_at"),
            "marked_uncollectible_at": transitions.get("marked_uncollectible_at"),
            "paid_at": transitions.get("paid_at"),
            "voided_at": transitions.get("voided_at"),
        },
        "subscription": view["subscription"],
        "subtotal": view["subtotal"],
        "subtotal_excluding_tax": view["subtotal_excluding_tax"],
        "test_clock": view["test_clock"],
        "total": view["total"],
        "total_discount_amounts": view["total_discount_amounts"],
        "total_excluding_tax": view["total_excluding_tax"],
        "total_taxes": [
            {
                "amount": tax["amount"],
                "tax_behavior": "inclusive" if tax["inclusive"] else "exclusive",
                "tax_rate_details": {"tax_rate": tax["tax_rate"]},
                "taxability_reason": "standard_rated",
                "taxable_amount": tax["taxable_amount"],
                "type": "tax_rate_details",
            }
            for tax in view["total_taxes"]
        ],
        "webhooks_delivered_at": view["created"],
    }


def render(ctx: ApiContext, record: Record) -> Wire:
    """A stored invoice on the wire."""
    return invoice_object(service.invoice_view(ctx.uow, record))


@route(
    "GET",
    "/v1/invoices/{invoice}",
    RetrieveParams,
    summary="Retrieve an invoice.",
    returns="invoice",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, invoice: str) -> Wire:
    return render(ctx, service.retrieve_invoice(ctx.uow, invoice))


@route("GET", "/v1/invoices", InvoiceListParams, summary="List invoices.", returns="list")
def list_(ctx: ApiContext, params: InvoiceListParams) -> Wire:
    page = service.list_invoices(
        ctx.uow,
        page_request(params),
        customer=params.customer,
        subscription=params.subscription,
        status=params.status,
        collection_method=params.collection_method,
        created=created_filter(params),
    )
    return list_envelope("/v1/invoices", page, lambda record: render(ctx, record))


@route(
    "GET",
    "/v1/invoices/{invoice}/lines",
    LinesParams,
    summary="List an invoice's lines.",
    returns="list",
)
def lines(ctx: ApiContext, params: LinesParams, invoice: str) -> Wire:
    page = service.lines_page(ctx.uow, invoice, page_request(params))
    return list_envelope(f"/v1/invoices/{invoice}/lines", page, line_object)


@route(
    "POST",
    "/v1/invoices/{invoice}/finalize",
    FinalizeParams,
    summary="Finalize a draft invoice.",
    returns="invoice",
)
def finalize(ctx: ApiContext, params: FinalizeParams, invoice: str) -> Wire:
    at = service.invoice_time(ctx.uow, invoice, ctx.now)
    return render(ctx, service.finalize_invoice(ctx.uow, invoice, at))


@route(
    "POST",
    "/v1/invoices/{invoice}/pay",
    PayParams,
    summary="Pay an invoice now.",
    returns="invoice",
)
def pay(ctx: ApiContext, params: PayParams, invoice: str) -> Wire:
    at = service.invoice_time(ctx.uow, invoice, ctx.now)
    record = service.pay_invoice(
        ctx.uow,
        invoice,
        at,
        paid_out_of_band=bool(params.paid_out_of_band),
        payment_method=params.payment_method,
    )
    return render(ctx, record)


@route(
    "POST",
    "/v1/invoices/{invoice}/void",
    RetrieveParams,
    summary="Void an invoice.",
    returns="invoice",
)
def void(ctx: ApiContext, params: RetrieveParams, invoice: str) -> Wire:
    at = service.invoice_time(ctx.uow, invoice, ctx.now)
    return render(ctx, service.void_invoice(ctx.uow, invoice, at))


@route(
    "POST",
    "/v1/invoices/{invoice}/mark_uncollectible",
    RetrieveParams,
    summary="Mark an invoice uncollectible.",
    returns="invoice",
)
def mark_uncollectible(ctx: ApiContext, params: RetrieveParams, invoice: str) -> Wire:
    at = service.invoice_time(ctx.uow, invoice, ctx.now)
    return render(ctx, service.mark_uncollectible(ctx.uow, invoice, at))


register_loader(
    "in", lambda ctx, object_id: render(ctx, service.retrieve_invoice(ctx.uow, object_id))
)
register_renderer("invoice", invoice_object)
