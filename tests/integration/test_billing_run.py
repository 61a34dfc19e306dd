"""The bulk billing run is the one code path through time, only faster.

Two accounts get the same subscriptions (built through the services, as the API builds
them): plain renewals with tax and discounts, a `once` and an `amount_off` coupon, customer
credit (partial and covering the whole invoice), a card that declines, pending invoice
items, a customer with two subscriptions, `send_invoice`, weekly subscriptions several
periods behind, and a yearly one not yet due; on an account that finalizes renewals at once
and on one with the default one-hour delay. One account is billed one subscription at a
time (`advance_subscription`), the other by the bulk run (`services.billing_run`, which
leaves what it does not do to the former). Every row they wrote — subscriptions, invoices,
lines, charges, customers' balances and sequences and their balance transactions, events
with their payloads — must be the same once ids are named by what they stand for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, select

from recur import bootstrap
from recur.config import Settings
from recur.domain.clock import FrozenClock, utc
from recur.domain.tenancy import Scope
from recur.services import (
    accounts,
    billing_run,
    collection_run,
    coupons,
    customer_discounts,
    invoice_items,
    prices,
    products,
    subscriptions,
    tax_rates,
)
from recur.services.collection_run import collect_due_invoices
from recur.storage.migrate import upgrade
from recur.storage.tables import (
    charges,
    customer_balance_transactions,
    events,
    invoice_lines,
    invoices,
    payment_intents,
    payment_methods,
    subscription_items,
)
from recur.storage.tables import (
    coupons as coupons_table,
)
from recur.storage.tables import (
    customers as customers_table,
)
from recur.storage.tables import (
    invoice_items as invoice_items_table,
)
from recur.storage.tables import (
    prices as prices_table,
)
from recur.storage.tables import (
    products as products_table,
)
from recur.storage.tables import (
    subscriptions as subscriptions_table,
)
from recur.storage.tables import (
    tax_rates as tax_rates_table,
)
from recur.storage.uow import UnitOfWork, UnitOfWorkFactory
from recur.worker import loop
from recur.worker.loop import advance_due_subscriptions
from tests.support.seeding import scratch_database, set_finalization_delay

START = utc(2026, 1, 5, 9, 30)
# Long enough for a monthly renewal and five weekly ones to be due, not a yearly one.
NOW = START + timedelta(days=40)


def build_world(uow_factory: UnitOfWorkFactory, account_id: str) -> None:
    """The same catalog, customers and subscriptions in any account, created at START."""
    at = START
    with uow_factory(Scope(account_id, False)) as uow:
        product = products.create_product(uow, {"name": "Desk"}, at)
        monthly = prices.create_price(
            uow,
            {
                "product": product["id"],
                "currency": "eur",
                "unit_amount": 1990,
                "recurring": {"interval": "month"},
            },
            at,
        )
        weekly = prices.create_price(
            uow,
            {
                "product": product["id"],
                "currency": "eur",
                "unit_amount": 725,
                "recurring": {"interval": "week"},
            },
            at,
        )
        yearly = prices.create_price(
            uow,
            {
                "product": product["id"],
                "currency": "eur",
                "unit_amount": 19900,
                "recurring": {"interval": "year"},
            },
            at,
        )
        vat = tax_rates.create_tax_rate(
            uow, {"display_name": "VAT", "percentage": Decimal("20"), "inclusive": False}, at
        )
        included = tax_rates.create_tax_rate(
            uow, {"display_name": "TVA", "percentage": Decimal("5.5"), "inclusive": True}, at
        )
        forever = coupons.create_coupon(
            uow, {"percent_off": Decimal("10"), "duration": "forever"}, at
        )
        once = coupons.create_coupon(
            uow, {"amount_off": 500, "currency": "eur", "duration": "once"}, at
        )
        repeating = coupons.create_coupon(
            uow,
            {"percent_off": Decimal("25"), "duration": "repeating", "duration_in_months": 3},
            at,
        )

        def customer(card: str = "pm_card_visa", **values: Any) -> str:
            record = customer_discounts.create_customer(
                uow,
                {"payment_method": card, "default_payment_method": card, **values},
                at,
                secret="test-secret",
            )
            return str(record["id"])

        def subscribe(customer_id: str, price_id: str, **values: Any) -> None:
            subscriptions.create_subscription(
                uow,
                {"customer": customer_id, "items": [{"price": price_id, "quantity": 2}], **values},
                at,
            )

        subscribe(customer(), monthly["id"], default_tax_rates=[vat["id"]])
        subscribe(
            customer(),
            monthly["id"],
            default_tax_rates=[vat["id"]],
            discounts=[{"coupon": forever["id"]}],
        )
        subscribe(customer(), monthly["id"], discounts=[{"coupon": once["id"]}])
        subscribe(customer(), monthly["id"], discounts=[{"coupon": repeating["id"]}])
        subscribe(customer(balance=-1500), monthly["id"], default_tax_rates=[included["id"]])
        subscribe(customer(coupon=repeating["id"]), monthly["id"])  # the customer's discount
        subscribe(customer(balance=-100000), monthly["id"])
        subscribe(customer("pm_card_chargeCustomerFail"), monthly["id"])
        pending = customer()
        subscribe(pending, monthly["id"])
        invoice_items.create_invoice_item(
            uow, {"customer": pending, "amount": 350, "currency": "eur", "description": "Key"}, at
        )
        both = customer()
        subscribe(both, monthly["id"])
        subscribe(both, weekly["id"], default_tax_rates=[vat["id"]])
        subscribe(customer(), monthly["id"], collection_method="send_invoice", days_until_due=15)
        subscribe(customer(), weekly["id"], discounts=[{"coupon": forever["id"]}])
        subscribe(customer(), yearly["id"])
        for index in range(20):  # a bulk of plain ones
            subscribe(customer(name=f"Plain {index}"), monthly["id"], default_tax_rates=[vat["id"]])


ID = re.compile(r"\b(?:cus|pm|sub|si|in|il|ch|evt|di|prod|price|txr|ii|pi|cbtxn)_[A-Za-z0-9]{8,}\b")
# A PaymentIntent's client secret and its invoice payment's id carry its id.
SECRET = re.compile(r"\b(pi_[A-Za-z0-9]{8,})_secret_[A-Za-z0-9_-]+")
INVOICE_PAYMENT = re.compile(r"\binpay_([A-Za-z0-9]{8,})\b")


def _rows(uow_factory: UnitOfWorkFactory, table: Table, account_id: str) -> list[dict[str, Any]]:
    with uow_factory(None, readonly=True) as uow:
        query = select(table).where(table.c.account_id == account_id).order_by(table.c.pk)
        return [dict(row) for row in uow.connection.execute(query).mappings()]


def snapshot(uow_factory: UnitOfWorkFactory, account_id: str) -> dict[str, Any]:
    """Everything billing wrote for the account, ids replaced by stable names."""
    names: dict[str, str] = {}

    def name(object_id: str, label: str) -> None:
        names.setdefault(object_id, label)

    # Objects created in the same order in both accounts: named by their rank.
    for table in (
        products_table,
        prices_table,
        tax_rates_table,
        coupons_table,
        customers_table,
        payment_methods,
        subscriptions_table,
        subscription_items,
        invoice_items_table,
    ):
        for rank, row in enumerate(_rows(uow_factory, table, account_id)):
            name(row["id"], f"{table.name}#{rank}")
    coupon_ids = [row["id"] for row in _rows(uow_factory, coupons_table, account_id)]
    prefixes = {
        row["invoice_prefix"]: f"{names[row['id']]}/prefix"
        for row in _rows(uow_factory, customers_table, account_id)
    }
    for row in _rows(uow_factory, customers_table, account_id):
        if row["discount"]:
            name(row["discount"]["id"], f"{names[row['id']]}/discount")
    for row in _rows(uow_factory, subscriptions_table, account_id):
        for rank, entry in enumerate(row["discounts"] or []):
            name(entry["id"], f"{names[row['id']]}/discount/{rank}")
    # Billing's objects: named by what they are for.
    invoice_rows = _rows(uow_factory, invoices, account_id)
    for row in invoice_rows:
        owner = names.get(row["subscription"] or "", names[row["customer"]])
        name(row["id"], f"invoice({owner},{row['billing_reason']},{row['period_start']})")
    for row in _rows(uow_factory, invoice_lines, account_id):
        name(row["id"], f"line({names[row['invoice']]},{row['position']})")
    for row in _rows(uow_factory, charges, account_id):
        owner, _, attempt = row["idempotency_key"].partition(":")
        name(row["id"], f"charge({names.get(owner, owner)}:{attempt})")
    # Card fingerprints are keyed by the account: named by their payment method.
    fingerprints = {
        row["fingerprint"]: f"{names[row['id']]}/fingerprint"
        for row in _rows(uow_factory, payment_methods, account_id)
    }
    for row in _rows(uow_factory, payment_intents, account_id):
        name(row["id"], f"intent({names.get(row['invoice'] or '', row['id'])})")
    for row in _rows(uow_factory, customer_balance_transactions, account_id):
        invoice = names.get(row["invoice"] or "", "-")
        label = f"{names[row['customer']]},{row['type']},{invoice},{row['created']}"
        name(row["id"], f"balance_transaction({label})")

    def normalized(value: Any) -> Any:
        text = json.dumps(value, sort_keys=True, default=str)
        text = SECRET.sub(lambda match: f"{match.group(1)}/secret", text)
        text = INVOICE_PAYMENT.sub(lambda match: f"pi_{match.group(1)}/payment", text)
        text = ID.sub(
            lambda match: names.get(match.group(0), f"<unknown id {match.group(0)}>"), text
        )
        for coupon_id in coupon_ids:  # merchant-style ids, without a prefix
            text = text.replace(f'"{coupon_id}"', f'"{names[coupon_id]}"')
        for fingerprint, label in fingerprints.items():  # in charges' card details
            text = text.replace(f'"{fingerprint}"', f'"{label}"')
        for prefix, label in prefixes.items():  # in invoice numbers too
            text = text.replace(prefix, label)
        return json.loads(text)

    # The gateway's own references and the intents' secrets are random per account.
    skip = {"pk", "account_id", "recorded_at", "gateway_reference", "client_secret"}

    def rows(table: Table, *, key: str = "id") -> list[Any]:
        found = [
            normalized({k: v for k, v in row.items() if k not in skip})
            for row in _rows(uow_factory, table, account_id)
        ]
        return sorted(found, key=lambda row: json.dumps(row, sort_keys=True))

    event_rows = [
        normalized({"type": row["type"], "created": row["created"], "data": row["data"]})
        for row in _rows(uow_factory, events, account_id)
    ]
    return {
        "subscriptions": rows(subscriptions_table),
        "customers": rows(customers_table),
        "invoices": rows(invoices),
        "lines": rows(invoice_lines),
        "charges": [
            {k: v for k, v in row.items() if k != "id"} | {"id": "-"} for row in rows(charges)
        ],
        "payment_intents": rows(payment_intents),
        "balance_transactions": rows(customer_balance_transactions),
        # Each subscription's events in the order they happened (subscriptions interleave
        # differently when some are billed in bulk and others one at a time).
        "events": sorted(event_rows, key=lambda e: json.dumps(e, sort_keys=True)),
        "event_order": _per_object_order(event_rows),
    }


def _diff(mine: Any, theirs: Any) -> Any:
    """Where two normalized values differ (for a readable failure)."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        keys = sorted(set(mine) | set(theirs))
        found = {key: _diff(mine.get(key), theirs.get(key)) for key in keys}
        return {key: value for key, value in found.items() if value != {}}
    return {} if mine == theirs else {"bulk": mine, "one_at_a_time": theirs}


def _per_object_order(event_rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for event in event_rows:
        wire = event["data"]["object"]
        owner = wire.get("subscription") or wire["id"]
        order.setdefault(owner, []).append(event["type"])
    # By owner: objects made while billing (charges, intents) appear in billing order.
    return dict(sorted(order.items()))


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UnitOfWorkFactory]:
    """A database of this test's own (the session's has a live server's worker on it)."""
    for url in scratch_database(request.param, tmp_path):
        container = bootstrap.build(Settings(database_url=url, data_dir=tmp_path))
        try:
            upgrade(container.engine)
            yield container.uow_factory
        finally:
            container.engine.dispose()


def billed_accounts(factory: UnitOfWorkFactory, *, bulk: bool) -> dict[int, str]:
    """An account per finalization delay, built and billed up to two hours after NOW."""
    made = {}
    for delay in (0, 3600):
        with factory(None) as uow:
            keys = accounts.create_account(uow, f"Billing run {delay}", START)
        set_finalization_delay(factory, keys.account, delay)
        build_world(factory, keys.account)
        made[delay] = keys.account
    for moment in (NOW, NOW + timedelta(hours=2)):
        clock = FrozenClock(moment)
        for _ in range(100):
            billed = advance_due_subscriptions(factory, clock, batch_size=7, bulk=bulk)
            # Collection charges what the run finalized (services/collection_run.py).
            collected = collect_due_invoices(factory, clock, batch_size=5, bulk=bulk)
            if billed == 0 and collected == 0:
                break
        else:
            raise AssertionError("still due after 100 passes")
    return made


def test_bulk_run_writes_what_one_at_a_time_writes(
    factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_bulk: list[str] = []
    left: list[str] = []

    def spy(uow: UnitOfWork, ids: Sequence[str], now: int) -> list[str]:
        rest = billing_run.advance_batch(uow, ids, now)
        in_bulk.extend(i for i in ids if i not in rest)
        left.extend(rest)
        return rest

    collected_in_bulk: list[str] = []

    def collect_spy(uow: UnitOfWork, ids: Sequence[str], now: int) -> list[str]:
        rest = billing_run.collect_batch(uow, ids, now)
        collected_in_bulk.extend(i for i in ids if i not in rest)
        return rest

    monkeypatch.setattr(loop, "advance_batch", spy)
    monkeypatch.setattr(collection_run, "collect_batch", collect_spy)
    # One at a time first: those accounts are then billed up to NOW + 2 h, so the bulk
    # passes after them find only the twins' subscriptions due.
    slow = {
        delay: snapshot(factory, account)
        for delay, account in billed_accounts(factory, bulk=False).items()
    }
    bulk = {
        delay: snapshot(factory, account)
        for delay, account in billed_accounts(factory, bulk=True).items()
    }
    for delay in (0, 3600):
        for part in slow[delay]:
            for index, (mine, theirs) in enumerate(
                zip(bulk[delay][part], slow[delay][part], strict=True)
            ):
                assert _diff(mine, theirs) == {}, f"{part}[{index}] differ (delay {delay})"
            assert bulk[delay][part] == slow[delay][part], f"{part} differ (delay {delay})"
    # The run did bill: renewals, catch-up and a failure are all there.
    invoices_ = slow[0]["invoices"]
    assert sum(1 for row in invoices_ if row["billing_reason"] == "subscription_cycle") > 20
    assert any(row["status"] == "open" for row in invoices_)  # the declined card
    # Customer credit used by renewals: one ledger row each, the same on both paths.
    applied = [row for row in slow[0]["balance_transactions"] if row["type"] != "initial"]
    assert len(applied) >= 2 and {row["type"] for row in applied} == {"applied_to_invoice"}
    assert re.findall(r"<unknown [a-z]+_", json.dumps(slow)) == []
    # …and the bulk path did most of it, leaving the rest to the general one.
    assert len(in_bulk) > 40
    assert 0 < len(left) < 15
    # Collection charged the renewals, most of them in bulk too.
    paid = [row for row in invoices_ if row["status"] == "paid" and row["amount_paid"] > 0]
    assert len(paid) > 20
    assert len(slow[0]["charges"]) > 20
    assert len(collected_in_bulk) > 20
