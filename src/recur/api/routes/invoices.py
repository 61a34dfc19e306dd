"""`/v1/invoices`: create (manual), retrieve, update, delete, list, lines, finalize, pay,
send, void, mark_uncollectible."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    BlankIsNone,
    Bool,
    DeleteParams,
    ListParams,
    Metadata,
    Nested,
    NonNegInt,
    OptStr,
    Params,
    RangeFilter,
    RetrieveParams,
    Timestamp,
    given_values,
    updated_metadata,
)
from recur.api.routes.tax_rates import tax_rate_object
from recur.services import invoices as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import CreatedFilter, Record


def _int_or_range(value: Any) -> Any:
    # `due_date=<ts>` means exactly then, as `created` does.
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        exact = int(value)
        return {"gte": exact, "lte": exact}
    return value


# Set once per process by `configure` (the composition root knows the public URL).
_LINKS = {"public_url": "http://127.0.0.1:8000"}


def configure(public_url: str) -> None:
    """Where the hosted invoice pages live (links in invoices and emails)."""
    _LINKS["public_url"] = public_url.rstrip("/")


def public_url() -> str:
    """The installation's public URL, for links in objects (credit note PDFs too)."""
    return _LINKS["public_url"]


def hosted_invoice_url(invoice_id: str) -> str:
    """Where the customer sees and pays an invoice (and authenticates a payment)."""
    return f"{_LINKS['public_url']}/invoices/{invoice_id}"


def invoice_payment_object(intent: Mapping[str, Any], invoice: Mapping[str, Any]) -> Wire:
    """One entry of `invoice.payments`: the invoice's PaymentIntent as an invoice payment."""
    paid = intent["status"] == "succeeded"
    return {
        "id": "inpay_" + str(intent["id"]).removeprefix("pi_"),
        "object": "invoice_payment",
        "amount_paid": intent["amount_received"] if paid else None,
        "amount_requested": intent["amount"],
        "created": intent["created"],
        "currency": intent["currency"],
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": intent["livemode"],
        "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
        "status": "paid" if paid else "canceled" if intent["status"] == "canceled" else "open",
        "status_transitions": {
            "canceled_at": intent["canceled_at"],
            "paid_at": (invoice["status_transitions"] or {}).get("paid_at") if paid else None,
        },
    }


def _payments(view: Mapping[str, Any]) -> Wire:
    intents = view.get("payments") or []
    return {
        "object": "list",
        "data": [invoice_payment_object(intent, view) for intent in reversed(intents)],
        "has_more": False,
        "total_count": len(intents),
        "url": f"/v1/invoice_payments?invoice={view['id']}",
    }


class InvoiceListParams(ListParams):
    """`GET /v1/invoices`."""

    customer: str | None = None
    subscription: str | None = None
    status: Literal["draft", "open", "paid", "uncollectible", "void"] | None = None
    collection_method: Literal["charge_automatically", "send_invoice"] | None = None
    due_date: Annotated[RangeFilter | None, BeforeValidator(_int_or_range)] = None


class DiscountParams(Nested):
    """One entry of `discounts[]`."""

    coupon: str | None = None
    promotion_code: str | None = None


CollectionMethod = Literal["charge_automatically", "send_invoice"]


class InvoiceCreateParams(Params):
    """`POST /v1/invoices` (a manual invoice)."""

    customer: str
    auto_advance: Bool | None = None
    automatically_finalizes_at: Timestamp | None = None
    collection_method: CollectionMethod | None = None
    currency: str | None = None
    days_until_due: NonNegInt | None = None
    default_payment_method: str | None = None
    default_tax_rates: list[str] | None = None
    description: str | None = None
    # Absent: the customer's discount is inherited; "" (or a list): not (as at Stripe).
    discounts: Annotated[list[DiscountParams] | None, BlankIsNone] = None
    due_date: Timestamp | None = None
    footer: str | None = None
    metadata: Metadata | None = None
    pending_invoice_items_behavior: Literal["exclude", "include"] | None = None
    subscription: str | None = None


class InvoiceUpdateParams(Params):
    """`POST /v1/invoices/{invoice}`: drafts, or a few fields of finalized invoices."""

    auto_advance: Bool | None = None
    collection_method: CollectionMethod | None = None
    days_until_due: NonNegInt | None = None
    default_payment_method: OptStr = None
    default_tax_rates: Annotated[list[str] | None, BlankIsNone] = None
    description: OptStr = None
    discounts: Annotated[list[DiscountParams] | None, BlankIsNone] = None
    due_date: Timestamp | None = None
    footer: OptStr = None
    metadata: Metadata | None = None


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


def tax_object(tax: Mapping[str, Any]) -> Wire:
    """One entry of `taxes` / `total_taxes` in the current API shape."""
    return {
        "amount": tax["amount"],
        "tax_behavior": "inclusive" if tax["inclusive"] else "exclusive",
        "tax_rate_details": {"tax_rate": tax["tax_rate"]},
        "taxability_reason": "standard_rated",
        "taxable_amount": tax["taxable_amount"],
        "type": "tax_rate_details",
    }


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
        "taxes": [tax_object(tax) for tax in line["tax_amounts"]],
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
    invoice_id = view["id"]
    finalized = view["status"] != "draft"
    latest_payment = (view.get("payments") or [{}])[-1]
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
        "default_source": None,
        "default_tax_rates": [
            tax_rate_object(rate) for rate in view.get("default_tax_rate_records", [])
        ],
        "discounts": view["discounts"],
        "due_date": view["due_date"],
        "effective_at": transitions.get("finalized_at"),
        "ending_balance": view["ending_balance"],
        "footer": view["footer"],
        "hosted_invoice_url": f"{public}/invoices/{invoice_id}" if finalized else None,
        "invoice_pdf": f"{public}/invoices/{invoice_id}/pdf" if finalized else None,
        "last_finalization_error": view["last_finalization_error"],
        "lines": {
            "object": "list",
            "data": [line_object(line) for line in lines],
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": view["livemode"],
        "metadata": view["metadata"],
        "next_payment_attempt": view["next_payment_attempt"],
        "number": view["number"],
        "paid": view["status"] == "paid",
        "paid_out_of_band": view["paid_out_of_band"],
        # Its payments (current API) and, for older clients, its PaymentIntent and charge.
        "payments": _payments(view),
        "payment_intent": latest_payment.get("id"),
        "charge": latest_payment.get("latest_charge"),
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": None, "subscription": view["subscription"]},
        }
        if view["subscription"]
        else None,
        "period_end": view["period_end"],
        "period_start": view["period_start"],
        "post_payment_credit_notes_amount": view.get("post_payment_credit_notes_amount") or 0,
        "pre_payment_credit_notes_amount": view.get("pre_payment_credit_notes_amount") or 0,
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
        "total_taxes": [tax_object(tax) for tax in view["total_taxes"]],
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


@route("POST", "/v1/invoices", InvoiceCreateParams, summary="Create an invoice.", returns="invoice")
def create(ctx: ApiContext, params: InvoiceCreateParams) -> Wire:
    values = given_values(params)
    values["metadata"] = params.metadata or {}
    return render(ctx, service.create_manual_invoice(ctx.uow, values, ctx.now))


@route(
    "POST",
    "/v1/invoices/{invoice}",
    InvoiceUpdateParams,
    summary="Update an invoice.",
    returns="invoice",
)
def update(ctx: ApiContext, params: InvoiceUpdateParams, invoice: str) -> Wire:
    values = given_values(params)
    if params.given("metadata"):
        current = service.retrieve_invoice(ctx.uow, invoice)
        values["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    return render(ctx, service.update_invoice(ctx.uow, invoice, values, ctx.now))


@route(
    "DELETE",
    "/v1/invoices/{invoice}",
    DeleteParams,
    summary="Delete a draft invoice.",
    returns="deleted_invoice",
)
def delete(ctx: ApiContext, params: DeleteParams, invoice: str) -> Wire:
    record = service.delete_invoice(ctx.uow, invoice, ctx.now)
    return {"id": record["id"], "object": "invoice", "deleted": True}


@route(
    "POST",
    "/v1/invoices/{invoice}/send",
    RetrieveParams,
    summary="Send an invoice (finalizing a draft).",
    returns="invoice",
)
def send(ctx: ApiContext, params: RetrieveParams, invoice: str) -> Wire:
    return render(ctx, service.send_invoice(ctx.uow, invoice, ctx.now))


def _range(value: RangeFilter | None) -> CreatedFilter | None:
    if value is None:
        return None
    return CreatedFilter(gt=value.gt, gte=value.gte, lt=value.lt, lte=value.lte)


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
        due_date=_range(params.due_date),
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
    current = service.retrieve_invoice(ctx.uow, invoice)
    auto_advance = current["auto_advance"]
    if params.auto_advance is not None and current["status"] == "draft":
        auto_advance = params.auto_advance
        service.set_auto_advance(ctx.uow, invoice, auto_advance)
    # Stripe collects a finalized invoice only under automatic advancement; otherwise the
    # merchant calls `pay` (or the customer pays a send_invoice invoice).
    return render(ctx, service.finalize_invoice(ctx.uow, invoice, at, attempt=auto_advance))


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
