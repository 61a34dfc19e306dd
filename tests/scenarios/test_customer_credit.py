"""Credit notes and the customer balance through time, on test clocks."""

from __future__ import annotations

from datetime import datetime

import stripe

from recur.domain.clock import to_unix, utc
from tests.support.billing import Shop, open_shop


def walk(shop: Shop, *moments: datetime) -> None:
    for moment in moments:
        shop.advance(moment)


def test_refund_and_credit_after_payment_and_the_credit_used_by_the_next_renewal(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 3, 1, 9))
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": shop.price(2000)}]}
    )
    walk(shop, utc(2025, 3, 28), utc(2025, 4, 1, 11))  # the April renewal is charged
    april = shop.invoices(sub.id)[1]
    assert (april.status, april.amount_paid) == ("paid", 2000)
    (line,) = april.lines.data

    # Two weeks of April were not served: 1,000 back — 400 refunded to the card, 600 to
    # the customer's balance for May — and a goodwill 300 settled outside Recur.
    at = utc(2025, 4, 15, 12)
    shop.advance(at)
    note = client.v1.credit_notes.create(
        params={
            "invoice": april.id,
            "lines": [
                {"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 1300},
            ],
            "refund_amount": 400,
            "credit_amount": 600,
            "out_of_band_amount": 300,
            "reason": "product_unsatisfactory",
        }
    )
    assert note.created == to_unix(at)  # the clock's time, not the wall clock's
    assert note.number == f"{april.number}-CN-01"
    assert (note.type, note.total, note.post_payment_amount) == ("post_payment", 1300, 1300)
    (refund,) = note.refunds
    assert refund.amount_refunded == 400 and str(refund.refund).startswith("re_")
    assert note.refund == refund.refund
    credited = client.v1.invoices.retrieve(april.id)
    assert credited.post_payment_credit_notes_amount == 1300
    assert (credited.status, credited.amount_paid) == ("paid", 2000)
    assert client.v1.customers.retrieve(shop.customer_id).balance == -600

    walk(shop, utc(2025, 4, 28), utc(2025, 5, 1, 11))
    may = shop.invoices(sub.id)[2]
    assert (may.total, may.starting_balance, may.ending_balance) == (2000, -600, 0)
    assert (may.status, may.amount_due, may.amount_paid) == ("paid", 1400, 1400)
    assert client.v1.customers.retrieve(shop.customer_id).balance == 0
    ledger = client.v1.customers.balance_transactions.list(shop.customer_id).data
    assert [(t.type, t.amount, t.ending_balance, t.created) for t in ledger] == [
        ("applied_to_invoice", 600, 0, to_unix(utc(2025, 5, 1, 10))),
        ("credit_note", -600, -600, to_unix(at)),
    ]
    assert (ledger[0].invoice, ledger[1].credit_note) == (may.id, note.id)
    assert shop.events("credit_note.") == ["credit_note.created"]


def test_a_credit_note_settles_a_failed_renewal_and_the_subscription_recovers(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": shop.price(2000)}]}
    )
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": shop.customer_id}
    )
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": failing.id})
    walk(shop, utc(2025, 4, 28), utc(2025, 5, 1, 2))
    renewal = shop.invoices(sub.id)[1]
    assert (renewal.status, renewal.amount_remaining, renewal.attempt_count) == ("open", 2000, 1)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"

    # Half of it forgiven: the invoice asks 1,000 and is still retried for that.
    half = client.v1.credit_notes.create(params={"invoice": renewal.id, "amount": 1000})
    assert (half.type, half.pre_payment_amount) == ("pre_payment", 1000)
    reduced = client.v1.invoices.retrieve(renewal.id)
    assert (reduced.status, reduced.amount_due, reduced.amount_remaining) == ("open", 1000, 1000)
    # The rest too: nothing is owed any more, the invoice is paid without a charge, and
    # the subscription is active again; no retry charges it later.
    client.v1.credit_notes.create(
        params={"invoice": renewal.id, "amount": 1000, "reason": "order_change"}
    )
    settled = client.v1.invoices.retrieve(renewal.id)
    assert (settled.status, settled.amount_paid, settled.amount_remaining) == ("paid", 0, 0)
    assert settled.pre_payment_credit_notes_amount == 2000
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    shop.advance(utc(2025, 5, 20))
    assert client.v1.invoices.retrieve(renewal.id).attempt_count == 1
    assert shop.events("credit_note.") == ["credit_note.created"] * 2


def test_an_amount_below_the_minimum_charge_is_carried_to_the_next_invoice(
    client: stripe.StripeClient,
) -> None:
    # Stripe's invoice_too_small: 0.30 € is below the 0.50 € minimum charge, so the
    # invoice is paid without a charge and the 0.30 € are owed on the next invoice.
    start = utc(2025, 1, 1)
    shop = open_shop(client, start)
    price = shop.price(30)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": price}]}
    )
    first = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert first.status == "paid"
    assert (first.total, first.amount_due, first.amount_paid) == (30, 0, 0)
    assert first.ending_balance == 30
    assert client.v1.customers.retrieve(shop.customer_id).balance == 30
    ledger = client.v1.customers.balance_transactions.list(shop.customer_id)
    assert [(row.type, row.amount, row.invoice) for row in ledger.data] == [
        ("invoice_too_small", 30, first.id)
    ]
    assert client.v1.charges.list(params={"customer": shop.customer_id}).data == []

    # The next renewal owes 0.30 + 0.30 = 0.60 €: charged, and the balance is cleared.
    shop.advance(utc(2025, 2, 1, 2))
    second = shop.invoices(sub.id)[1]
    assert (second.total, second.starting_balance, second.amount_due) == (30, 30, 60)
    assert second.status == "paid" and second.amount_paid == 60
    assert client.v1.customers.retrieve(shop.customer_id).balance == 0
