"""Manual invoices through the official stripe SDK: drafting, totals, lifecycle, errors."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import stripe

from recur import bootstrap
from recur.domain.clock import from_unix, utc
from recur.domain.tenancy import Scope
from recur.services import invoices as invoice_service
from recur.services.accounts import AccountKeys
from tests.support.billing import open_shop


def _customer(client: stripe.StripeClient, **params: Any) -> stripe.Customer:
    return client.v1.customers.create(params={"name": "Ada", **params})


def _item(client: stripe.StripeClient, customer: str, amount: int, **params: Any) -> str:
    return client.v1.invoice_items.create(
        params={"customer": customer, "amount": amount, "currency": "eur", **params}
    ).id


def _rate(client: stripe.StripeClient, percentage: str, inclusive: bool) -> str:
    return client.v1.tax_rates.create(
        params={
            "display_name": "VAT",
            "percentage": float(percentage),
            "inclusive": inclusive,
        }
    ).id


def _draft(client: stripe.StripeClient, customer: str, amount: int = 1000) -> stripe.Invoice:
    _item(client, customer, amount)
    return client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include"}
    )


def test_manual_invoice_with_coupon_and_taxes(client: stripe.StripeClient) -> None:
    customer = _customer(client).id
    exclusive = _rate(client, "20", inclusive=False)
    inclusive = _rate(client, "10", inclusive=True)
    coupon = client.v1.coupons.create(params={"percent_off": 10.0, "duration": "once"})
    desk = _item(client, customer, 10000, description="Desk")
    coffee = _item(client, customer, 5000, description="Coffee", tax_rates=[inclusive])
    invoice = client.v1.invoices.create(
        params={
            "customer": customer,
            "pending_invoice_items_behavior": "include",
            "default_tax_rates": [exclusive],
            "discounts": [{"coupon": coupon.id}],
            "description": "March",
            "footer": "Thank you",
            "metadata": {"order": "42"},
        }
    )
    assert invoice.id.startswith("in_") and invoice.status == "draft"
    assert invoice.billing_reason == "manual" and invoice.auto_advance is False
    assert invoice.currency == "eur" and invoice.number is None
    assert (invoice.description, invoice.footer) == ("March", "Thank you")
    assert [r.id for r in invoice.default_tax_rates] == [exclusive]
    assert invoice.parent is None and invoice.subscription is None

    lines = invoice.lines.data
    assert [line.to_dict()["parent"]["invoice_item_details"]["invoice_item"] for line in lines] == [
        desk,
        coffee,
    ]
    desk_line, coffee_line = lines
    discount_id = invoice.discounts[0]
    assert isinstance(discount_id, str) and discount_id.startswith("di_")
    # Desk: 10,000 - 10 % = 9,000, + 20 % exclusive VAT = 1,800 (the invoice's default rate).
    assert desk_line.amount == 10000
    assert [d.to_dict() for d in desk_line.discount_amounts or []] == [
        {"amount": 1000, "discount": discount_id}
    ]
    assert [(t.amount, t.tax_behavior, t.taxable_amount) for t in desk_line.taxes or []] == [
        (1800, "exclusive", 9000)
    ]
    # Coffee: 5,000 - 10 % = 4,500, of which 10 % inclusive VAT: 4,500 - 4,500/1.1 = 409.09 → 409.
    assert [(t.amount, t.tax_behavior, t.taxable_amount) for t in coffee_line.taxes or []] == [
        (409, "inclusive", 4091)
    ]
    assert coffee_line.amount_excluding_tax == 4591  # type: ignore[attr-defined]
    assert invoice.subtotal == 15000
    assert [d.to_dict() for d in invoice.total_discount_amounts or []] == [
        {"amount": 1500, "discount": discount_id}
    ]
    assert sorted(
        (t.amount, t.tax_behavior, t.taxable_amount, t.tax_rate_details.tax_rate)  # type: ignore[union-attr]
        for t in invoice.total_taxes or []
    ) == sorted([(1800, "exclusive", 9000, exclusive), (409, "inclusive", 4091, inclusive)])
    assert invoice.total == 15000 - 1500 + 1800
    assert invoice.total_excluding_tax == 15000 - 1500 - 409
    assert invoice.amount_due == 15300
    items = client.v1.invoice_items.list(params={"invoice": invoice.id}).data
    assert sorted(i.id for i in items) == sorted([desk, coffee])

    paid = client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert paid.status == "paid" and paid.paid_out_of_band is True
    assert paid.amount_paid == 15300 and paid.amount_remaining == 0
    assert paid.number is not None and paid.status_transitions.paid_at is not None
    assert paid.auto_advance is False


def test_pending_items_are_excluded_by_default(client: stripe.StripeClient) -> None:
    customer = _customer(client).id
    item = _item(client, customer, 700)
    invoice = client.v1.invoices.create(params={"customer": customer, "currency": "eur"})
    assert invoice.total == 0 and invoice.lines.data == []
    assert client.v1.invoice_items.retrieve(item).invoice is None


def test_update_and_delete_a_draft(client: stripe.StripeClient) -> None:
    customer = _customer(client).id
    item = _item(client, customer, 1000)
    invoice = client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include"}
    )
    assert client.v1.invoice_items.retrieve(item).invoice == invoice.id
    rate = _rate(client, "5.5", inclusive=False)
    updated = client.v1.invoices.update(
        invoice.id,
        params={
            "description": "Updated",
            "collection_method": "send_invoice",
            "days_until_due": 14,
            "default_tax_rates": [rate],
            "metadata": {"a": "1"},
        },
    )
    assert updated.description == "Updated" and updated.collection_method == "send_invoice"
    assert updated.due_date == invoice.created + 14 * 86400
    assert updated.total == 1055 and updated.metadata.to_dict() == {"a": "1"}

    deleted = client.v1.invoices.delete(invoice.id)
    assert deleted.to_dict() == {"id": invoice.id, "object": "invoice", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.retrieve(invoice.id)
    assert excinfo.value.http_status == 404
    assert client.v1.invoice_items.retrieve(item).invoice is None  # pending again
    types = [e.type for e in client.v1.events.list(params={"type": "invoice.*"}).data]
    assert types[:2] == ["invoice.deleted", "invoice.updated"]


def test_open_invoice_only_takes_a_few_changes(client: stripe.StripeClient) -> None:
    customer = _customer(client, payment_method="pm_card_visa").id
    invoice = client.v1.invoices.finalize_invoice(_draft(client, customer).id)
    assert invoice.status == "open" and invoice.attempt_count == 0  # auto_advance=false
    changed = client.v1.invoices.update(
        invoice.id, params={"description": "Fixed", "footer": "F", "metadata": {"k": "v"}}
    )
    assert (changed.description, changed.footer) == ("Fixed", "F")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.update(invoice.id, params={"collection_method": "send_invoice"})
    assert (excinfo.value.http_status, excinfo.value.param) == (400, "collection_method")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.delete(invoice.id)
    assert excinfo.value.http_status == 400 and excinfo.value.param is None
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.finalize_invoice(invoice.id)
    assert excinfo.value.http_status == 400 and excinfo.value.param is None
    assert "re-finalize" in str(excinfo.value.user_message)


def test_pay_with_a_declining_card(client: stripe.StripeClient) -> None:
    customer = _customer(
        client,
        payment_method="pm_card_chargeCustomerFail",
        invoice_settings={"default_payment_method": "pm_card_chargeCustomerFail"},
    ).id
    invoice = _draft(client, customer, 2500)
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.invoices.pay(invoice.id)
    assert excinfo.value.http_status == 402
    assert excinfo.value.code == "card_declined"
    after = client.v1.invoices.retrieve(invoice.id)
    assert after.status == "open" and after.attempt_count == 1 and after.attempted is True
    assert after.number is not None and after.amount_remaining == 2500
    types = [e.type for e in client.v1.events.list(params={"type": "invoice.*"}).data]
    assert types[:2] == ["invoice.payment_failed", "invoice.finalized"]

    good = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer})
    paid = client.v1.invoices.pay(invoice.id, params={"payment_method": good.id})
    assert paid.status == "paid" and paid.attempt_count == 2 and paid.amount_paid == 2500


def test_a_declined_pay_is_kept_once_and_replayed_by_its_idempotency_key(
    client: stripe.StripeClient,
) -> None:
    customer = _customer(
        client,
        payment_method="pm_card_chargeCustomerFail",
        invoice_settings={"default_payment_method": "pm_card_chargeCustomerFail"},
    ).id
    invoice = _draft(client, customer, 2500)
    options: stripe.RequestOptions = {"idempotency_key": f"pay-{invoice.id}"}
    for _ in range(2):
        with pytest.raises(stripe.CardError) as excinfo:
            client.v1.invoices.pay(invoice.id, options=options)
        assert excinfo.value.http_status == 402
    # The attempt stands (as at Stripe), and the retry replayed it instead of charging again.
    after = client.v1.invoices.retrieve(invoice.id)
    assert after.status == "open" and after.attempt_count == 1
    failures = client.v1.events.list(params={"type": "invoice.payment_failed"}).data
    assert [e.data.object["id"] for e in failures] == [invoice.id]


def test_finalize_with_auto_advance_charges(client: stripe.StripeClient) -> None:
    customer = _customer(
        client,
        payment_method="pm_card_visa",
        invoice_settings={"default_payment_method": "pm_card_visa"},
    ).id
    invoice = client.v1.invoices.finalize_invoice(
        _draft(client, customer, 990).id, params={"auto_advance": True}
    )
    assert invoice.status == "paid" and invoice.amount_paid == 990 and invoice.attempt_count == 1


def test_void_and_mark_uncollectible(client: stripe.StripeClient) -> None:
    customer = _customer(client).id
    first = client.v1.invoices.finalize_invoice(_draft(client, customer).id)
    voided = client.v1.invoices.void_invoice(first.id)
    assert voided.status == "void" and voided.amount_remaining == 0
    assert voided.status_transitions.voided_at is not None
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.pay(first.id, params={"paid_out_of_band": True})
    assert excinfo.value.http_status == 400 and excinfo.value.param is None
    assert "void" in str(excinfo.value.user_message)

    second = client.v1.invoices.finalize_invoice(_draft(client, customer).id)
    bad_debt = client.v1.invoices.mark_uncollectible(second.id)
    assert bad_debt.status == "uncollectible"
    assert bad_debt.status_transitions.marked_uncollectible_at is not None
    paid = client.v1.invoices.pay(second.id, params={"paid_out_of_band": True})
    assert paid.status == "paid" and paid.amount_paid == 1000
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.void_invoice(second.id)
    assert excinfo.value.http_status == 400 and excinfo.value.param is None
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.pay(second.id, params={"paid_out_of_band": True})
    assert "already paid" in str(excinfo.value.user_message)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.mark_uncollectible(second.id)
    draft = _draft(client, customer)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(draft.id)


def test_customer_credit_is_applied_at_finalization(client: stripe.StripeClient) -> None:
    customer = _customer(client, balance=-300).id
    invoice = _draft(client, customer, 1000)
    assert invoice.starting_balance == 0 and invoice.amount_due == 1000
    opened = client.v1.invoices.finalize_invoice(invoice.id)
    assert (opened.starting_balance, opened.ending_balance, opened.amount_due) == (-300, 0, 700)
    assert opened.total == 1000 and opened.amount_remaining == 700
    assert client.v1.customers.retrieve(customer).balance == 0

    rich = _customer(client, balance=-1500).id
    covered = client.v1.invoices.finalize_invoice(_draft(client, rich, 1000).id)
    assert (covered.starting_balance, covered.ending_balance) == (-1500, -500)
    assert covered.amount_due == 0 and covered.status == "paid"
    assert client.v1.customers.retrieve(rich).balance == -500


def test_numbers_are_sequential_per_customer(client: stripe.StripeClient) -> None:
    customer = _customer(client, invoice_prefix="GAPLESS").id
    numbers = [
        client.v1.invoices.finalize_invoice(_draft(client, customer).id).number for _ in range(3)
    ]
    assert numbers == ["GAPLESS-0001", "GAPLESS-0002", "GAPLESS-0003"]


def test_a_failed_finalization_gives_its_number_back(
    client: stripe.StripeClient,
    container: bootstrap.Container,
    account: AccountKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customer = _customer(client, invoice_prefix="ROLLBACK").id
    draft = _draft(client, customer)
    real_record_event = invoice_service.record_event

    def failing(uow: Any, event_type: str, *args: Any, **kwargs: Any) -> None:
        if event_type == "invoice.finalized":
            raise RuntimeError("the database went away mid-finalization")
        real_record_event(uow, event_type, *args, **kwargs)

    monkeypatch.setattr(invoice_service, "record_event", failing)
    with (
        pytest.raises(RuntimeError),
        container.uow_factory(Scope(account.account, livemode=False)) as uow,
    ):
        invoice_service.finalize_invoice(uow, draft.id, container.clock.now())
    monkeypatch.undo()

    assert client.v1.invoices.retrieve(draft.id).status == "draft"
    assert client.v1.customers.retrieve(customer).next_invoice_sequence == 1
    assert client.v1.invoices.finalize_invoice(draft.id).number == "ROLLBACK-0001"


def test_send_finalizes_a_send_invoice_draft(client: stripe.StripeClient) -> None:
    customer = _customer(client, email="ada@example.com").id
    _item(client, customer, 1200)
    invoice = client.v1.invoices.create(
        params={
            "customer": customer,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "pending_invoice_items_behavior": "include",
        }
    )
    assert invoice.due_date == invoice.created + 30 * 86400
    sent = client.v1.invoices.send_invoice(invoice.id)
    assert sent.status == "open" and sent.number is not None and sent.attempt_count == 0
    assert sent.hosted_invoice_url is not None
    types = [e.type for e in client.v1.events.list(params={"type": "invoice.*"}).data]
    assert types[:2] == ["invoice.sent", "invoice.finalized"]

    automatic = _draft(client, customer)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.send_invoice(automatic.id)
    assert excinfo.value.http_status == 400


def test_create_errors_name_the_parameter(client: stripe.StripeClient) -> None:
    customer = _customer(client).id
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({}, "currency", 400),
        ({"currency": "eur", "days_until_due": 3}, "days_until_due", 400),
        ({"currency": "eur", "collection_method": "cash"}, "collection_method", 400),
        ({"currency": "eur", "default_tax_rates": ["txr_nope"]}, "default_tax_rates[0]", 404),
        ({"currency": "eur", "discounts": [{"coupon": "nope"}]}, "discounts[0][coupon]", 404),
        ({"currency": "eur", "subscription": "sub_nope"}, "subscription", 404),
        (
            {"currency": "eur", "pending_invoice_items_behavior": "all"},
            "pending_invoice_items_behavior",
            400,
        ),
        ({"currency": "eur", "default_payment_method": "pm_nope"}, "default_payment_method", 400),
    ]
    for params, param, status in cases:
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            client.v1.invoices.create(params={"customer": customer, **params})  # type: ignore[typeddict-item]
        assert (excinfo.value.param, excinfo.value.http_status) == (param, status), params
    assert client.v1.invoices.list(params={"customer": customer}).data == []


def test_lines_pagination(client: stripe.StripeClient) -> None:
    customer = _customer(client).id
    for amount in (100, 200, 300):
        _item(client, customer, amount)
    invoice = client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include"}
    )
    page = client.v1.invoices.line_items.list(invoice.id, params={"limit": 2})
    assert page.has_more is True and len(page.data) == 2
    rest = client.v1.invoices.line_items.list(
        invoice.id, params={"limit": 2, "starting_after": page.data[-1].id}
    )
    assert rest.has_more is False
    # In the invoice's order, as Stripe lists lines (not newest first like other lists).
    every = [line.amount for line in [*page.data, *rest.data]]
    assert every == [line.amount for line in invoice.lines.data] == [100, 200, 300]
    back = client.v1.invoices.line_items.list(
        invoice.id, params={"limit": 2, "ending_before": rest.data[0].id}
    )
    assert [line.amount for line in back.data] == [100, 200]


def test_list_filters(client: stripe.StripeClient, live_client: stripe.StripeClient) -> None:
    ada = _customer(client).id
    bob = _customer(client).id
    draft = _draft(client, ada)
    opened = client.v1.invoices.finalize_invoice(_draft(client, ada).id)
    billed = client.v1.invoices.create(
        params={
            "customer": bob,
            "currency": "eur",
            "collection_method": "send_invoice",
            "due_date": 2_000_000_000,
        }
    )

    def ids(**params: Any) -> set[str]:
        return {i.id for i in client.v1.invoices.list(params=params).data}  # type: ignore[arg-type]

    assert ids(customer=ada) == {draft.id, opened.id}
    assert ids(status="draft") == {draft.id, billed.id}
    assert ids(status="open") == {opened.id}
    assert ids(collection_method="send_invoice") == {billed.id}
    assert ids(due_date={"gte": 1_999_999_999}) == {billed.id}
    assert ids(due_date=2_000_000_000) == {billed.id}
    assert ids(created={"gte": draft.created}) >= {draft.id, opened.id, billed.id}
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.list(params={"status": "lost"})  # type: ignore[typeddict-item]
    assert excinfo.value.param == "status"

    assert live_client.v1.invoices.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.invoices.retrieve(draft.id)
    assert excinfo.value.http_status == 404
    expanded = client.v1.invoices.retrieve(draft.id, params={"expand": ["customer"]})
    assert expanded.to_dict()["customer"]["id"] == ada


def test_auto_advance_draft_is_finalized_by_the_worker(client: stripe.StripeClient) -> None:
    customer = _customer(
        client,
        payment_method="pm_card_visa",
        invoice_settings={"default_payment_method": "pm_card_visa"},
    ).id
    _item(client, customer, 800)
    invoice = client.v1.invoices.create(
        params={
            "customer": customer,
            "auto_advance": True,
            "pending_invoice_items_behavior": "include",
        }
    )
    assert invoice.auto_advance is True
    assert invoice.automatically_finalizes_at == invoice.created + 3600

    due_now = client.v1.invoices.create(
        params={
            "customer": customer,
            "currency": "eur",
            "auto_advance": True,
            "automatically_finalizes_at": invoice.created,
        }
    )
    deadline = time.monotonic() + 10
    while client.v1.invoices.retrieve(due_now.id).status == "draft":
        assert time.monotonic() < deadline, "the worker did not finalize the due draft"
        time.sleep(0.05)
    finalized = client.v1.invoices.retrieve(due_now.id)
    assert finalized.status == "paid" and finalized.number is not None  # amount 0: paid
    assert client.v1.invoices.retrieve(invoice.id).status == "draft"  # not due yet


def test_manual_invoices_on_a_test_clock_finalize_when_it_advances(
    client: stripe.StripeClient,
) -> None:
    start = utc(2025, 3, 1, 9)
    shop = open_shop(client, start)
    _item(client, shop.customer_id, 4200)
    invoice = client.v1.invoices.create(
        params={
            "customer": shop.customer_id,
            "auto_advance": True,
            "pending_invoice_items_behavior": "include",
        }
    )
    assert from_unix(invoice.created) == start
    assert invoice.automatically_finalizes_at == invoice.created + 3600
    shop.advance(start + timedelta(minutes=30))
    assert client.v1.invoices.retrieve(invoice.id).status == "draft"
    shop.advance(start + timedelta(hours=2))
    paid = client.v1.invoices.retrieve(invoice.id)
    assert paid.status == "paid" and paid.amount_paid == 4200
    assert paid.status_transitions.finalized_at == invoice.created + 3600


def test_the_worker_retries_a_failed_finalization_without_using_a_number(
    client: stripe.StripeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = _customer(client, invoice_prefix="RETRY").id
    _item(client, customer, 300)
    real_record_event = invoice_service.record_event

    def failing(uow: Any, event_type: str, *args: Any, **kwargs: Any) -> None:
        if event_type == "invoice.finalized":
            raise RuntimeError("the payment provider is unreachable")
        real_record_event(uow, event_type, *args, **kwargs)

    monkeypatch.setattr(invoice_service, "record_event", failing)
    invoice = client.v1.invoices.create(
        params={
            "customer": customer,
            "auto_advance": True,
            "automatically_finalizes_at": int(time.time()) - 5,
            "pending_invoice_items_behavior": "include",
        }
    )
    deadline = time.monotonic() + 10
    while client.v1.invoices.retrieve(invoice.id).last_finalization_error is None:
        assert time.monotonic() < deadline, "the worker never tried to finalize"
        time.sleep(0.05)
    monkeypatch.undo()
    failed = client.v1.invoices.retrieve(invoice.id)
    assert failed.status == "draft" and failed.number is None
    assert failed.automatically_finalizes_at is not None
    assert failed.automatically_finalizes_at > invoice.automatically_finalizes_at  # type: ignore[operator]
    assert client.v1.customers.retrieve(customer).next_invoice_sequence == 1
    types = [e.type for e in client.v1.events.list(params={"type": "invoice.*"}).data]
    assert types[0] == "invoice.finalization_failed"
    assert client.v1.invoices.finalize_invoice(invoice.id).number == "RETRY-0001"
