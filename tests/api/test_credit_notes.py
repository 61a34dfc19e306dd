"""Credit notes through the official stripe SDK: before and after payment, lines and
amounts, numbering, preview, void, errors."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from recur.services.accounts import AccountKeys
from tests.support.server import LiveServer


def _customer(client: stripe.StripeClient, **params: Any) -> str:
    return client.v1.customers.create(params={"name": "Ada", **params}).id


def _paying_customer(client: stripe.StripeClient) -> str:
    card = "pm_card_visa"
    return _customer(client, payment_method=card, invoice_settings={"default_payment_method": card})


def _invoice(
    client: stripe.StripeClient, customer: str, *items: dict[str, Any], **params: Any
) -> stripe.Invoice:
    """A finalized manual invoice of `items` (open: send_invoice, nothing charged)."""
    for item in items:
        client.v1.invoice_items.create(
            params={"customer": customer, "currency": "eur", **item}  # type: ignore[typeddict-item]
        )
    draft = client.v1.invoices.create(
        params={
            "customer": customer,
            "pending_invoice_items_behavior": "include",
            "collection_method": "send_invoice",
            "days_until_due": 30,
            **params,
        }
    )
    return client.v1.invoices.finalize_invoice(draft.id)


def _error(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call()
    return excinfo.value


def _event_types(client: stripe.StripeClient, prefix: str) -> list[str]:
    found = client.v1.events.list(params={"limit": 100}).data
    return [event.type for event in found if event.type.startswith(prefix)]


def test_credit_notes_on_an_open_invoice_reduce_what_it_asks_then_settle_it(
    client: stripe.StripeClient,
) -> None:
    customer = _customer(client)
    invoice = _invoice(client, customer, {"amount": 3000, "description": "Desk"}, {"amount": 1000})
    assert invoice.status == "open" and invoice.amount_due == 4000
    desk, other = invoice.lines.data
    first = client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": desk.id, "amount": 1200}],
            "reason": "order_change",
            "memo": "Half a desk",
            "metadata": {"ticket": "7"},
        }
    )
    assert first.id.startswith("cn_") and first.object == "credit_note"
    assert first.number == f"{invoice.number}-CN-01"
    assert (first.status, first.type, first.reason, first.memo) == (
        "issued",
        "pre_payment",
        "order_change",
        "Half a desk",
    )
    assert (first.amount, first.total, first.subtotal) == (1200, 1200, 1200)
    assert (first.pre_payment_amount, first.post_payment_amount) == (1200, 0)
    assert first.out_of_band_amount is None and first.refunds == []
    assert first.customer == customer and first.invoice == invoice.id and first.currency == "eur"
    assert first.effective_at == first.created and first.metadata.to_dict() == {"ticket": "7"}
    (line,) = first.lines.data
    assert (line.type, line.invoice_line_item, line.amount, line.description) == (
        "invoice_line_item",
        desk.id,
        1200,
        "Desk",
    )
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.amount_due, after.amount_remaining) == ("open", 2800, 2800)
    assert after.pre_payment_credit_notes_amount == 1200
    assert after.post_payment_credit_notes_amount == 0
    assert after.total == 4000  # the invoice itself is unchanged

    second = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 2800})
    assert second.number == f"{invoice.number}-CN-02" and second.lines.data == []
    assert (second.type, second.pre_payment_amount) == ("pre_payment", 2800)
    settled = client.v1.invoices.retrieve(invoice.id)
    assert (settled.status, settled.amount_due, settled.amount_remaining) == ("paid", 0, 0)
    assert settled.amount_paid == 0 and settled.pre_payment_credit_notes_amount == 4000
    assert _event_types(client, "credit_note.") == ["credit_note.created"] * 2
    assert _event_types(client, "invoice.")[:2] == ["invoice.paid", "invoice.updated"]
    # Nothing left to credit: the credit notes of an invoice never exceed its total.
    error = _error(
        lambda: client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1})
    )
    assert error.http_status == 400 and error.param == "amount"
    assert other.amount == 1000


def test_a_paid_invoice_is_credited_after_payment_in_proportion_of_taxes_and_discounts(
    client: stripe.StripeClient,
) -> None:
    customer = _paying_customer(client)
    vat = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 20.0, "inclusive": False}
    ).id
    coupon = client.v1.coupons.create(params={"percent_off": 10.0, "duration": "once"})
    client.v1.invoice_items.create(
        params={
            "customer": customer,
            "currency": "eur",
            "unit_amount_decimal": "1000",
            "quantity": 3,
            "tax_rates": [vat],
            "description": "Chairs",
        }
    )
    draft = client.v1.invoices.create(
        params={
            "customer": customer,
            "pending_invoice_items_behavior": "include",
            "discounts": [{"coupon": coupon.id}],
        }
    )
    invoice = client.v1.invoices.pay(draft.id)
    # 3,000 - 10 % = 2,700, + 20 % VAT = 540: 3,240 paid.
    assert invoice.status == "paid" and invoice.amount_paid == 3240
    (chairs,) = invoice.lines.data
    discount_id = invoice.discounts[0]

    # One chair of three: a third of the amount, of the discount and of the tax.
    note = client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": chairs.id, "quantity": 1}],
            "credit_amount": 800,
            "out_of_band_amount": 280,
        }
    )
    assert (note.subtotal, note.discount_amount, note.total) == (1000, 100, 1080)
    assert [d.to_dict() for d in note.discount_amounts] == [
        {"amount": 100, "discount": discount_id}
    ]
    assert [(t.amount, t.taxable_amount, t.tax_behavior) for t in note.total_taxes or []] == [
        (180, 900, "exclusive")
    ]
    assert note.total_excluding_tax == 900 and note.subtotal_excluding_tax == 1000
    assert (note.type, note.pre_payment_amount, note.post_payment_amount) == (
        "post_payment",
        0,
        1080,
    )
    assert note.out_of_band_amount == 280
    (line,) = note.lines.data
    assert (line.quantity, line.unit_amount, str(line.unit_amount_decimal)) == (1, 1000, "1000")
    assert [rate.id for rate in line.tax_rates] == [vat]
    # The customer's balance got the credit, through one ledger transaction.
    assert client.v1.customers.retrieve(customer).balance == -800
    transaction = client.v1.customers.balance_transactions.retrieve(
        customer,
        note.customer_balance_transaction,  # type: ignore[arg-type]
    )
    assert (transaction.type, transaction.amount, transaction.ending_balance) == (
        "credit_note",
        -800,
        -800,
    )
    assert (transaction.credit_note, transaction.invoice) == (note.id, invoice.id)
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.amount_paid, after.amount_remaining) == ("paid", 3240, 0)
    assert after.post_payment_credit_notes_amount == 1080
    assert after.pre_payment_credit_notes_amount == 0
    assert _event_types(client, "customer.updated")[:1] == ["customer.updated"]

    # The two remaining chairs, credited in full, give back exactly what is left.
    rest = client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": chairs.id, "quantity": 2}],
            "out_of_band_amount": 2160,
        }
    )
    assert (rest.subtotal, rest.discount_amount, rest.total) == (2000, 200, 2160)
    assert note.total + rest.total == invoice.total
    error = _error(
        lambda: client.v1.credit_notes.create(
            params={
                "invoice": invoice.id,
                "lines": [
                    {"type": "invoice_line_item", "invoice_line_item": chairs.id, "amount": 1}
                ],
                "out_of_band_amount": 1,
            }
        )
    )
    assert error.http_status == 400 and error.param == "lines[0][amount]"


def test_post_payment_amounts_must_add_up(client: stripe.StripeClient) -> None:
    customer = _paying_customer(client)
    client.v1.invoice_items.create(params={"customer": customer, "currency": "eur", "amount": 900})
    draft = client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include"}
    )
    invoice = client.v1.invoices.pay(draft.id)
    error = _error(
        lambda: client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 500})
    )
    assert error.http_status == 400 and error.param == "out_of_band_amount"
    assert "post-payment amount (500)" in str(error.user_message)
    error = _error(
        lambda: client.v1.credit_notes.create(
            params={"invoice": invoice.id, "amount": 500, "credit_amount": 200}
        )
    )
    assert error.param == "credit_amount"
    error = _error(
        lambda: client.v1.credit_notes.create(
            params={"invoice": invoice.id, "amount": 1000, "out_of_band_amount": 1000}
        )
    )
    assert error.param == "amount" and "more than what is left to credit" in str(error.user_message)
    error = _error(
        lambda: client.v1.credit_notes.create(
            params={"invoice": invoice.id, "amount": 500, "refund_amount": 600}
        )
    )
    assert error.param == "refund_amount"
    # Nothing was written by the refused requests.
    assert client.v1.credit_notes.list(params={"invoice": invoice.id}).data == []
    assert client.v1.customers.retrieve(customer).balance == 0

    refunded = client.v1.credit_notes.create(
        params={"invoice": invoice.id, "amount": 900, "refund_amount": 900, "reason": "duplicate"}
    )
    (refund,) = refunded.refunds
    assert refund.amount_refunded == 900
    error = _error(
        lambda: client.v1.credit_notes.void_credit_note(refunded.id)  # money that left
    )
    assert error.http_status == 400 and "refund" in str(error.user_message)

    client.v1.invoice_items.create(params={"customer": customer, "currency": "eur", "amount": 400})
    draft = client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include"}
    )
    out_of_band = client.v1.invoices.pay(draft.id, params={"paid_out_of_band": True})
    error = _error(
        lambda: client.v1.credit_notes.create(
            params={"invoice": out_of_band.id, "amount": 400, "refund_amount": 400}
        )
    )
    assert error.param == "refund_amount" and "not paid by a charge" in str(error.user_message)


def test_custom_lines_with_tax_rates_and_a_mixed_credit(client: stripe.StripeClient) -> None:
    customer = _customer(client, balance=-1500)
    vat = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 10.0, "inclusive": True}
    ).id
    invoice = _invoice(client, customer, {"amount": 2000})
    assert (invoice.total, invoice.amount_due, invoice.starting_balance) == (2000, 500, -1500)
    # 1,100 credited on an invoice asking 500: 500 before payment, 600 back to the balance.
    note = client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "lines": [
                {
                    "type": "custom_line_item",
                    "description": "Goodwill",
                    "quantity": 2,
                    "unit_amount": 550,
                    "tax_rates": [vat],
                }
            ],
            "credit_amount": 600,
            "amount": 1100,
        }
    )
    assert note.total == 1100 and note.subtotal == 1100 and note.total_excluding_tax == 1000
    assert (note.type, note.pre_payment_amount, note.post_payment_amount) == ("mixed", 500, 600)
    (line,) = note.lines.data
    assert (line.type, line.description, line.quantity, line.unit_amount) == (
        "custom_line_item",
        "Goodwill",
        2,
        550,
    )
    assert [(t.amount, t.tax_behavior) for t in line.taxes or []] == [(100, "inclusive")]
    settled = client.v1.invoices.retrieve(invoice.id)
    assert (settled.status, settled.pre_payment_credit_notes_amount) == ("paid", 500)
    assert settled.post_payment_credit_notes_amount == 600
    assert client.v1.customers.retrieve(customer).balance == -600


def test_preview_writes_nothing_and_shows_the_next_number(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _invoice(
        client, customer, *({"amount": 100 * (k + 1), "description": f"L{k}"} for k in range(3))
    )
    lines = [
        {"type": "invoice_line_item", "invoice_line_item": line.id, "amount": line.amount}
        for line in invoice.lines.data
    ]
    preview = client.v1.credit_notes.preview(params={"invoice": invoice.id, "lines": lines})  # type: ignore[typeddict-item]
    assert preview.id.startswith("cn_tmp_") and preview.number == f"{invoice.number}-CN-01"
    assert preview.total == 600 and preview.pre_payment_amount == 600
    assert [line.description for line in preview.lines.data] == ["L0", "L1", "L2"]
    page = client.v1.credit_notes.preview_lines.list(
        params={"invoice": invoice.id, "lines": lines, "limit": 2}  # type: ignore[typeddict-item]
    )
    assert [line.description for line in page.data] == ["L0", "L1"] and page.has_more
    rest = client.v1.credit_notes.preview_lines.list(
        params={"invoice": invoice.id, "lines": lines, "starting_after": page.data[-1].id}  # type: ignore[typeddict-item]
    )
    assert [line.description for line in rest.data] == ["L2"] and not rest.has_more
    assert client.v1.credit_notes.list(params={"invoice": invoice.id}).data == []
    assert client.v1.invoices.retrieve(invoice.id).amount_due == 600
    created = client.v1.credit_notes.create(params={"invoice": invoice.id, "lines": lines})  # type: ignore[typeddict-item]
    assert created.number == preview.number and created.total == preview.total


def test_void_restores_the_invoice_and_the_balance_and_keeps_the_number(
    client: stripe.StripeClient,
) -> None:
    customer = _customer(client)
    invoice = _invoice(client, customer, {"amount": 2000})
    pre = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 500})
    rest = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1500})
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    # A note that took the invoice to paid cannot be voided: the invoice is no longer open.
    error = _error(lambda: client.v1.credit_notes.void_credit_note(rest.id))
    assert error.http_status == 400 and "now paid" in str(error.user_message)

    other = _invoice(client, customer, {"amount": 1000})
    note = client.v1.credit_notes.create(params={"invoice": other.id, "amount": 400})
    voided = client.v1.credit_notes.void_credit_note(note.id)
    assert (voided.status, voided.number) == ("void", note.number)
    assert voided.voided_at is not None
    restored = client.v1.invoices.retrieve(other.id)
    assert (restored.amount_due, restored.amount_remaining) == (1000, 1000)
    assert restored.pre_payment_credit_notes_amount == 0
    error = _error(lambda: client.v1.credit_notes.void_credit_note(note.id))
    assert error.http_status == 400 and error.code == "credit_note_voided"
    again = client.v1.credit_notes.create(params={"invoice": other.id, "amount": 1000})
    assert again.number == f"{other.number}-CN-02"  # gapless: the void one keeps -CN-01
    assert _event_types(client, "credit_note.")[:2] == [
        "credit_note.created",
        "credit_note.voided",
    ]
    assert pre.number.endswith("-CN-01")


def test_voiding_a_balance_credit_debits_it_back(client: stripe.StripeClient) -> None:
    customer = _paying_customer(client)
    client.v1.invoice_items.create(params={"customer": customer, "currency": "eur", "amount": 700})
    draft = client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include"}
    )
    invoice = client.v1.invoices.pay(draft.id)
    note = client.v1.credit_notes.create(
        params={"invoice": invoice.id, "amount": 700, "credit_amount": 700}
    )
    assert client.v1.customers.retrieve(customer).balance == -700
    client.v1.credit_notes.void_credit_note(note.id)
    assert client.v1.customers.retrieve(customer).balance == 0
    ledger = client.v1.customers.balance_transactions.list(customer).data
    assert [(t.type, t.amount, t.ending_balance, t.credit_note) for t in ledger] == [
        ("credit_note", 700, 0, note.id),
        ("credit_note", -700, -700, note.id),
    ]
    assert client.v1.invoices.retrieve(invoice.id).post_payment_credit_notes_amount == 0


def test_retrieve_update_list_and_lines(
    client: stripe.StripeClient, live_client: stripe.StripeClient
) -> None:
    ada, bob = _customer(client), _customer(client)
    first = _invoice(client, ada, {"amount": 1000})
    second = _invoice(client, ada, {"amount": 1000})
    third = _invoice(client, bob, {"amount": 1000})
    notes = [
        client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 100})
        for invoice in (first, second, third)
    ]
    assert client.v1.credit_notes.retrieve(notes[0].id).to_dict() == notes[0].to_dict()
    listed = client.v1.credit_notes.list(params={"customer": ada}).data
    assert [note.id for note in listed] == [notes[1].id, notes[0].id]
    assert [n.id for n in client.v1.credit_notes.list(params={"invoice": third.id}).data] == [
        notes[2].id
    ]
    assert live_client.v1.credit_notes.list().data == []

    updated = client.v1.credit_notes.update(
        notes[0].id, params={"memo": "Sorry", "metadata": {"a": "1"}}
    )
    assert updated.memo == "Sorry" and updated.metadata.to_dict() == {"a": "1"}
    event = client.v1.events.list(params={"type": "credit_note.updated"}).data[0]
    assert event.data.previous_attributes is not None
    assert event.data.previous_attributes.to_dict() == {"memo": None, "metadata": {"a": None}}

    items = [{"amount": 100 + k, "description": f"Item {k}"} for k in range(3)]
    invoice = _invoice(client, ada, *items)
    note = client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "lines": [
                {"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 50}
                for line in invoice.lines.data
            ],
        }
    )
    page = client.v1.credit_notes.line_items.list(note.id, params={"limit": 2})
    assert [line.description for line in page.data] == ["Item 0", "Item 1"] and page.has_more
    every = client.v1.credit_notes.line_items.list(note.id, params={"limit": 1})
    assert [line.id for line in every.auto_paging_iter()] == [line.id for line in note.lines.data]
    before = client.v1.credit_notes.line_items.list(
        note.id, params={"ending_before": note.lines.data[2].id}
    )
    assert [line.description for line in before.data] == ["Item 0", "Item 1"]
    expanded = client.v1.credit_notes.retrieve(note.id, params={"expand": ["invoice", "customer"]})
    assert expanded.invoice.id == invoice.id  # type: ignore[union-attr]
    assert expanded.customer.id == ada  # type: ignore[union-attr]


def test_errors_name_the_parameter(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    draft = client.v1.invoices.create(params={"customer": customer, "currency": "eur"})
    error = _error(lambda: client.v1.credit_notes.create(params={"invoice": draft.id, "amount": 1}))
    assert (error.http_status, error.param) == (400, "invoice")
    error = _error(
        lambda: client.v1.credit_notes.create(params={"invoice": "in_nope", "amount": 1})
    )
    assert (error.http_status, error.param) == (404, "invoice")
    invoice = _invoice(client, customer, {"amount": 1000})
    (line,) = invoice.lines.data
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "amount"),
        ({"amount": 0}, "amount"),
        (
            {"lines": [{"type": "invoice_line_item", "invoice_line_item": line.id}]},
            "lines[0][amount]",
        ),
        (
            {"lines": [{"type": "invoice_line_item", "invoice_line_item": "il_x", "amount": 1}]},
            "lines[0][invoice_line_item]",
        ),
        (
            {
                "lines": [
                    {
                        "type": "invoice_line_item",
                        "invoice_line_item": line.id,
                        "amount": 1,
                        "quantity": 1,
                    }
                ]
            },
            "lines[0][quantity]",
        ),
        ({"lines": [{"type": "custom_line_item", "description": "x"}]}, "lines[0][unit_amount]"),
        (
            {"lines": [{"type": "custom_line_item", "unit_amount": 5, "tax_rates": ["txr_nope"]}]},
            "lines[0][tax_rates][0]",
        ),
        (
            {
                "lines": [
                    {"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 10}
                ],
                "amount": 11,
            },
            "amount",
        ),
        ({"amount": 10, "reason": "because"}, "reason"),
    ]
    for params, param in cases:
        error = _error(
            lambda params=params: client.v1.credit_notes.create(
                params={"invoice": invoice.id, **params}  # type: ignore[typeddict-item]
            )
        )
        missing = param.endswith(("[invoice_line_item]", "[tax_rates][0]"))
        assert (error.http_status, error.param) == (404 if missing else 400, param), params
    assert client.v1.credit_notes.list(params={"invoice": invoice.id}).data == []
    error = _error(lambda: client.v1.credit_notes.retrieve("cn_nope"))
    assert error.http_status == 404


def test_preview_of_a_foreign_invoice_is_not_found(
    server: LiveServer, client: stripe.StripeClient, account: AccountKeys
) -> None:
    invoice = _invoice(client, _customer(client), {"amount": 1000})
    with server.http(account.live_secret_key) as http:
        for path in ("/v1/credit_notes/preview", "/v1/credit_notes/preview/lines"):
            response = http.get(path, params={"invoice": invoice.id, "amount": "10"})
            assert response.status_code == 404, response.text
            assert response.json()["error"]["param"] == "invoice"
