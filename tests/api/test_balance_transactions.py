"""The customer balance ledger through the official stripe SDK: manual credits and debits,
and one transaction for every change of a customer's balance."""

from __future__ import annotations

from typing import Any

import pytest
import stripe


def _ledger(client: stripe.StripeClient, customer: str) -> list[tuple[Any, ...]]:
    """(type, amount, ending_balance, invoice) of every transaction, oldest first."""
    found = client.v1.customers.balance_transactions.list(customer, params={"limit": 100})
    return [(t.type, t.amount, t.ending_balance, t.invoice) for t in reversed(found.data)]


def _error(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call()
    return excinfo.value


def test_manual_credit_and_debit(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "Ada"}).id
    credit = client.v1.customers.balance_transactions.create(
        customer,
        params={
            "amount": -1500,
            "currency": "EUR",
            "description": "Goodwill",
            "metadata": {"ticket": "12"},
        },
    )
    assert credit.id.startswith("cbtxn_") and credit.object == "customer_balance_transaction"
    assert (credit.type, credit.amount, credit.ending_balance, credit.currency) == (
        "adjustment",
        -1500,
        -1500,
        "eur",
    )
    assert (credit.customer, credit.invoice, credit.credit_note) == (customer, None, None)
    assert credit.description == "Goodwill" and credit.metadata.to_dict() == {"ticket": "12"}
    after = client.v1.customers.retrieve(customer)
    assert (after.balance, after.currency) == (-1500, "eur")  # the currency is set, as at Stripe

    debit = client.v1.customers.balance_transactions.create(
        customer, params={"amount": 400, "currency": "eur"}
    )
    assert debit.ending_balance == -1100
    assert client.v1.customers.retrieve(customer).balance == -1100
    assert _ledger(client, customer) == [
        ("adjustment", -1500, -1500, None),
        ("adjustment", 400, -1100, None),
    ]
    fetched = client.v1.customers.balance_transactions.retrieve(customer, credit.id)
    assert fetched.to_dict() == credit.to_dict()
    updated = client.v1.customers.balance_transactions.update(
        customer, credit.id, params={"description": "", "metadata": {"ticket": "", "k": "v"}}
    )
    assert updated.description is None and updated.metadata.to_dict() == {"k": "v"}
    assert updated.amount == -1500  # the ledger itself never changes
    updates = client.v1.events.list(params={"type": "customer.updated"}).data
    assert [e.data.previous_attributes.to_dict()["balance"] for e in updates] == [-1500, 0]  # type: ignore[union-attr]
    assert updates[0].data.object["balance"] == -1100


def test_errors_and_other_customers(client: stripe.StripeClient) -> None:
    ada = client.v1.customers.create(params={"name": "Ada"}).id
    bob = client.v1.customers.create(params={"name": "Bob"}).id
    mine = client.v1.customers.balance_transactions.create(
        ada, params={"amount": -100, "currency": "eur"}
    )
    error = _error(lambda: client.v1.customers.balance_transactions.retrieve(bob, mine.id))
    assert error.http_status == 404
    error = _error(
        lambda: client.v1.customers.balance_transactions.update(
            bob, mine.id, params={"description": "x"}
        )
    )
    assert error.http_status == 404
    assert client.v1.customers.balance_transactions.list(bob).data == []
    for params, param in [
        ({"amount": 0, "currency": "eur"}, "amount"),
        ({"amount": 10, "currency": "usd"}, "currency"),  # Ada's balance is in eur
        ({"amount": 10, "currency": "zzz"}, "currency"),
        ({"currency": "eur"}, "amount"),
        ({"amount": "ten", "currency": "eur"}, "amount"),
    ]:
        error = _error(
            lambda params=params: client.v1.customers.balance_transactions.create(
                ada,
                params=params,  # type: ignore[arg-type]
            )
        )
        assert (error.http_status, error.param) == (400, param), params
    error = _error(
        lambda: client.v1.customers.balance_transactions.create(
            "cus_nope", params={"amount": 10, "currency": "eur"}
        )
    )
    assert error.http_status == 404
    assert client.v1.customers.retrieve(ada).balance == -100


def test_every_balance_change_writes_one_transaction(client: stripe.StripeClient) -> None:
    card = "pm_card_visa"
    customer = client.v1.customers.create(
        params={
            "name": "Ada",
            "balance": -3000,
            "payment_method": card,
            "invoice_settings": {"default_payment_method": card},
        }
    ).id
    client.v1.customers.update(customer, params={"balance": -2500})

    def invoice(amount: int) -> stripe.Invoice:
        client.v1.invoice_items.create(
            params={"customer": customer, "currency": "eur", "amount": amount}
        )
        draft = client.v1.invoices.create(
            params={
                "customer": customer,
                "pending_invoice_items_behavior": "include",
                "collection_method": "send_invoice",
                "days_until_due": 30,
            }
        )
        return client.v1.invoices.finalize_invoice(draft.id)

    covered = invoice(1000)  # all from the balance: paid at once
    assert (covered.status, covered.amount_due, covered.ending_balance) == ("paid", 0, -1500)
    partly = invoice(2000)
    assert (partly.amount_due, partly.starting_balance, partly.ending_balance) == (500, -1500, 0)
    voided = client.v1.invoices.void_invoice(partly.id)
    assert voided.status == "void"
    credit = invoice(-700)  # a credit invoice adds to the balance
    assert credit.status == "paid" and credit.ending_balance == -2200
    assert client.v1.customers.retrieve(customer).balance == -2200
    assert _ledger(client, customer) == [
        ("initial", -3000, -3000, None),
        ("adjustment", 500, -2500, None),
        ("applied_to_invoice", 1000, -1500, covered.id),
        ("applied_to_invoice", 1500, 0, partly.id),
        ("unapplied_from_invoice", -1500, -1500, partly.id),
        ("applied_to_invoice", -700, -2200, credit.id),
    ]
    by_invoice = client.v1.customers.balance_transactions.list(
        customer, params={"invoice": partly.id}
    )
    assert [t.type for t in by_invoice.data] == ["unapplied_from_invoice", "applied_to_invoice"]
    expanded = client.v1.credit_notes.create(
        params={"invoice": covered.id, "amount": 300, "credit_amount": 300},
    )
    again = client.v1.credit_notes.retrieve(
        expanded.id, params={"expand": ["customer_balance_transaction"]}
    )
    assert again.customer_balance_transaction.amount == -300  # type: ignore[union-attr]
