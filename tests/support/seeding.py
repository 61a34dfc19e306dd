"""Seeding at scale: N subscriptions due now, written in bulk (the benchmark, the crash tests).

The catalog (a product, a monthly price, an exclusive tax rate, a forever coupon) and one
template customer with a succeeding card are made through the services, so their rows are
exactly what the API writes; the N customers, cards, subscriptions and items are copies of
those rows with fresh ids, inserted in chunks of 5,000 with one driver call each (COPY on
PostgreSQL): 100,000 take about 20 s on the 2-core box. Every subscription
is `active` with a period that ended a minute ago, so the next worker pass renews it: an
invoice with a line, tax and a discount, finalized and charged at once when the account's
finalization delay is 0 (`set_finalization_delay`).
"""

from __future__ import annotations

import itertools
import os
import random
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Table, create_engine, func, select, text
from sqlalchemy.engine import make_url

from recur import bootstrap
from recur.config import Settings
from recur.domain.clock import Clock, to_unix
from recur.domain.ids import BASE62, ID_SUFFIX_LENGTH
from recur.domain.periods import add_intervals
from recur.domain.tenancy import Scope
from recur.services import accounts, coupons, customers, prices, products, tax_rates
from recur.services.collection_run import COLLECTION_BATCH, collect_due_invoices
from recur.storage.bulk import insert_rows
from recur.storage.db import normalize_url
from recur.storage.repositories.accounts import AccountRepository
from recur.storage.repositories.payment_methods import PaymentMethodRepository
from recur.storage.tables import (
    charges,
    events,
    invoice_lines,
    invoices,
    payment_methods,
    subscription_items,
    subscriptions,
)
from recur.storage.tables import (
    customers as customers_table,
)
from recur.storage.uow import UnitOfWorkFactory
from recur.worker.loop import advance_due_subscriptions

# The card fingerprint is keyed by the server secret; seeded cards need only be consistent.
SEED_SECRET = "seed-secret"
UNIT_AMOUNT = 1990
QUANTITY = 2
CHUNK = 5000
# Every renewal of a seeded subscription: 2 × 19.90, 10 % off (3.98), then 20 % VAT on
# the discounted 35.82 (716.4 → 716): 42.98.
RENEWAL_TOTAL = 4298
# `drain` gives up after this many passes (a bug that keeps work due must not hang a run).
MAX_PASSES = 1_000_000


@dataclass(frozen=True)
class Seeded:
    """What was seeded: the account (test mode) and the due subscriptions."""

    account_id: str
    subscription_ids: list[str]
    period_end: int
    price_id: str
    tax_rate_id: str
    coupon_id: str


def create_seed_account(uow_factory: UnitOfWorkFactory, now: datetime, name: str = "Seed") -> str:
    """A new merchant account whose renewals are finalized and charged at once."""
    with uow_factory(None) as uow:
        keys = accounts.create_account(uow, name, now)
    set_finalization_delay(uow_factory, keys.account, 0)
    return keys.account


def set_finalization_delay(uow_factory: UnitOfWorkFactory, account_id: str, seconds: int) -> None:
    """Set the account's `billing.finalization_delay` (0: drafts finalize at the boundary)."""
    with uow_factory(None) as uow:
        repo = uow.repository(AccountRepository)
        account = repo.find_account(account_id)
        if account is None:
            raise LookupError(account_id)
        settings = dict(account["settings"] or {})
        settings["billing"] = dict(settings.get("billing") or {}, finalization_delay=seconds)
        repo.update_settings(account_id, settings)


def _id_maker(prefix: str) -> Iterator[str]:
    # `new_id` draws from `secrets` one character at a time (~25 µs an id); seeded ids need
    # only be unique: 14 random base62 characters for the run, then a 10-digit counter.
    run = "".join(random.choices(BASE62, k=ID_SUFFIX_LENGTH - 10))
    for number in itertools.count():
        yield f"{prefix}_{run}{number:010d}"


def bulk_insert(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows (all with the same keys) in one driver call: COPY on PostgreSQL."""
    insert_rows(connection, table, rows)


def seed_due_subscriptions(
    uow_factory: UnitOfWorkFactory,
    account_id: str,
    count: int,
    now: datetime,
    *,
    chunk: int = CHUNK,
) -> Seeded:
    """Write `count` active monthly subscriptions of the account (test mode), all due now."""
    scope = Scope(account_id, False)
    period_end = now - timedelta(minutes=1)
    period_start = add_intervals(period_end, "month", 1, -1)
    start, end = to_unix(period_start), to_unix(period_end)
    with uow_factory(scope) as uow:
        product = products.create_product(uow, {"name": "Desk"}, period_start)
        price = prices.create_price(
            uow,
            {
                "product": product["id"],
                "currency": "eur",
                "unit_amount": UNIT_AMOUNT,
                "recurring": {"interval": "month"},
            },
            period_start,
        )
        rate = tax_rates.create_tax_rate(
            uow,
            {"display_name": "VAT", "percentage": Decimal("20"), "inclusive": False},
            period_start,
        )
        coupon = coupons.create_coupon(
            uow, {"percent_off": Decimal("10"), "duration": "forever"}, period_start
        )
        template = customers.create_customer(
            uow,
            {
                "name": "Template",
                "payment_method": "pm_card_visa",
                "default_payment_method": "pm_card_visa",
            },
            period_start,
            secret=SEED_SECRET,
        )
        card = uow.repository(PaymentMethodRepository).get(template["default_payment_method"])
    customer_template = {k: v for k, v in template.items() if k != "pk"}
    card_template = {k: v for k, v in card.items() if k != "pk"}
    customer_ids = _id_maker("cus")
    card_ids = _id_maker("pm")
    subscription_ids = _id_maker("sub")
    item_ids = _id_maker("si")
    discount_ids = _id_maker("di")
    # Shared by every row (encoded once by `bulk_insert`).
    no_metadata: dict[str, str] = {}
    no_ids: list[str] = []
    tax_rate_ids = [rate["id"]]
    seeded: list[str] = []
    with uow_factory(scope) as uow:
        taken = uow.connection.execute(
            select(func.count())
            .select_from(customers_table)
            .where(customers_table.c.account_id == account_id)
        ).scalar_one()
        for first in range(0, count, chunk):
            size = min(chunk, count - first)
            customer_rows, card_rows, subscription_rows, item_rows = [], [], [], []
            for index in range(first, first + size):
                customer_id, card_id = next(customer_ids), next(card_ids)
                subscription_id = next(subscription_ids)
                customer_rows.append(
                    dict(
                        customer_template,
                        id=customer_id,
                        name=f"Customer {index}",
                        # Unique per account: "S" and the customer's number in base 36.
                        invoice_prefix=f"S{_base36(taken + index):0>7}",
                        default_payment_method=card_id,
                    )
                )
                card_rows.append(dict(card_template, id=card_id, customer=customer_id))
                subscription_rows.append(
                    {
                        "id": subscription_id,
                        "account_id": account_id,
                        "livemode": False,
                        "created": start,
                        "customer": customer_id,
                        "status": "active",
                        "currency": "eur",
                        "interval": "month",
                        "interval_count": 1,
                        "collection_method": "charge_automatically",
                        "days_until_due": None,
                        "default_payment_method": None,
                        "default_tax_rates": tax_rate_ids,
                        "description": None,
                        "billing_cycle_anchor": end,
                        "start_date": start,
                        "current_period_start": start,
                        "current_period_end": end,
                        "trial_start": None,
                        "trial_end": None,
                        "trial_settings": None,
                        "cancel_at": None,
                        "cancel_at_period_end": False,
                        "canceled_at": None,
                        "ended_at": None,
                        "cancellation_details": None,
                        "pause_collection": None,
                        "discounts": [
                            {
                                "id": next(discount_ids),
                                "coupon": coupon["id"],
                                "promotion_code": None,
                                "start": start,
                                "end": None,
                            }
                        ],
                        "latest_invoice": None,
                        "invoice_timing": "start",
                        "invoice_days_before": None,
                        "notices": no_metadata,
                        "test_clock": None,
                        "metadata": no_metadata,
                        "next_action_at": end,
                    }
                )
                item_rows.append(
                    {
                        "id": next(item_ids),
                        "account_id": account_id,
                        "livemode": False,
                        "created": start,
                        "subscription": subscription_id,
                        "price": price["id"],
                        "quantity": QUANTITY,
                        "tax_rates": no_ids,
                        "discounts": no_ids,
                        "metadata": no_metadata,
                        "deleted": False,
                    }
                )
                seeded.append(subscription_id)
            connection = uow.connection
            bulk_insert(connection, customers_table, customer_rows)
            bulk_insert(connection, payment_methods, card_rows)
            bulk_insert(connection, subscriptions, subscription_rows)
            bulk_insert(connection, subscription_items, item_rows)
    return Seeded(account_id, seeded, end, price["id"], rate["id"], coupon["id"])


def _base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def written_counts(uow_factory: UnitOfWorkFactory, account_id: str) -> dict[str, int]:
    """How many invoices, lines, charges and events the account has (test mode)."""
    counts = {}
    with uow_factory(None, readonly=True) as uow:
        for name, table in (
            ("invoices", invoices),
            ("lines", invoice_lines),
            ("charges", charges),
            ("events", events),
        ):
            counts[name] = int(
                uow.connection.execute(
                    select(func.count()).select_from(table).where(table.c.account_id == account_id)
                ).scalar_one()
            )
    return counts


def due_count(uow_factory: UnitOfWorkFactory, now: datetime) -> int:
    """How much work real time has made due at `now` (every tenant, off test clocks):
    subscriptions due for an action, and invoices due for a payment attempt."""
    c = subscriptions.c
    i = invoices.c
    with uow_factory(None, readonly=True) as uow:
        run = uow.connection.execute
        due_subscriptions = run(
            select(func.count())
            .select_from(subscriptions)
            .where(
                c.next_action_at.is_not(None),
                c.next_action_at <= to_unix(now),
                c.test_clock.is_(None),
            )
        ).scalar_one()
        due_collections = run(
            select(func.count())
            .select_from(invoices)
            .where(
                i.next_payment_attempt.is_not(None),
                i.next_payment_attempt <= to_unix(now),
                i.status == "open",
                i.test_clock.is_(None),
            )
        ).scalar_one()
        return int(due_subscriptions) + int(due_collections)


# --- scratch databases, draining and checking

PG_URL = os.environ.get("RECUR_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def scratch_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on `backend` (a PostgreSQL one is dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("set RECUR_TEST_DATABASE_URL to run PostgreSQL tests")
    admin_url = make_url(normalize_url(PG_URL))
    name = f"recur_scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drain(uow_factory: UnitOfWorkFactory, clock: Clock, *, batch_size: int | None = None) -> int:
    """Run the worker's billing and collection jobs until neither finds anything to claim;
    returns how many subscriptions the billing job advanced."""
    done = 0
    for _ in range(MAX_PASSES):
        claimed = advance_due_subscriptions(uow_factory, clock, batch_size=batch_size)
        collected = collect_due_invoices(
            uow_factory, clock, batch_size=batch_size or COLLECTION_BATCH
        )
        if claimed == 0 and collected == 0:
            return done
        done += claimed
    raise RuntimeError(f"still claiming work after {MAX_PASSES} passes")


def drain_process(url: str, batch_size: int, start: Any, results: Any) -> None:
    """A worker process (multiprocessing): its own engine, the billing job until done.

    Puts `(pid, claimed, started, finished)` on `results`, times as wall-clock seconds so
    that the parent can measure the span of several processes.
    """
    settings = Settings(database_url=url, data_dir=Path(tempfile.gettempdir()))
    container = bootstrap.build(settings)
    try:
        start.wait(timeout=120)
        started = time.time()
        claimed = drain(container.uow_factory, container.clock, batch_size=batch_size)
        results.put((os.getpid(), claimed, started, time.time()))
    finally:
        container.engine.dispose()


def billing_violations(uow_factory: UnitOfWorkFactory, seeded: Seeded) -> list[str]:
    """Every way the seeded run was not billed exactly once (empty when it was).

    Each subscription has one invoice, the cycle invoice of the period that started at the
    seeded boundary, paid for the renewal's total by exactly one successful charge and no
    other; invoice numbers of each customer run from 0001 without gaps; each invoice's
    events were written once each; every subscription moved on to its next period.
    """
    problems: list[str] = []
    account = seeded.account_id
    with uow_factory(None, readonly=True) as uow:
        connection = uow.connection
        invoice_rows = list(
            connection.execute(select(invoices).where(invoices.c.account_id == account)).mappings()
        )
        charge_rows = list(
            connection.execute(select(charges).where(charges.c.account_id == account)).mappings()
        )
        subscription_rows = {
            row["id"]: row
            for row in connection.execute(
                select(subscriptions).where(subscriptions.c.account_id == account)
            ).mappings()
        }
        customer_rows = {
            row["id"]: row
            for row in connection.execute(
                select(customers_table).where(customers_table.c.account_id == account)
            ).mappings()
        }
        event_rows = list(
            connection.execute(
                select(events.c.type, events.c.object_id).where(events.c.account_id == account)
            )
        )
    by_subscription: dict[str, list[Any]] = defaultdict(list)
    for invoice in invoice_rows:
        by_subscription[invoice["subscription"]].append(invoice)
    for subscription_id in seeded.subscription_ids:
        found = by_subscription.get(subscription_id, [])
        if len(found) != 1:
            problems.append(f"{subscription_id}: {len(found)} invoices")
            continue
        invoice = found[0]
        if invoice["cycle_period_start"] != seeded.period_end:
            problems.append(f"{invoice['id']}: cycle_period_start {invoice['cycle_period_start']}")
        if invoice["status"] != "paid" or invoice["amount_paid"] != RENEWAL_TOTAL:
            problems.append(f"{invoice['id']}: {invoice['status']}, paid {invoice['amount_paid']}")
        subscription = subscription_rows[subscription_id]
        if subscription["current_period_start"] != seeded.period_end:
            problems.append(f"{subscription_id}: still in the seeded period")
        if (subscription["next_action_at"] or 0) <= seeded.period_end:
            problems.append(f"{subscription_id}: still due ({subscription['next_action_at']})")
    charges_of: dict[str, list[Any]] = defaultdict(list)
    for charge in charge_rows:
        charges_of[charge["invoice"]].append(charge)
    for invoice in invoice_rows:
        made = charges_of.get(invoice["id"], [])
        succeeded = [charge for charge in made if charge["status"] == "succeeded"]
        if invoice["status"] == "paid" and (len(made), len(succeeded)) != (1, 1):
            problems.append(f"{invoice['id']}: {len(made)} charges, {len(succeeded)} succeeded")
        if any(charge["amount"] != invoice["amount_paid"] for charge in succeeded):
            problems.append(f"{invoice['id']}: charged amount differs from amount paid")
    numbers: dict[str, list[str]] = defaultdict(list)
    for invoice in invoice_rows:
        if invoice["number"] is not None:
            numbers[invoice["customer"]].append(invoice["number"])
    for customer_id, taken in numbers.items():
        prefix = customer_rows[customer_id]["invoice_prefix"]
        expected = [f"{prefix}-{n:04d}" for n in range(1, len(taken) + 1)]
        if sorted(taken) != expected:
            problems.append(f"{customer_id}: invoice numbers {sorted(taken)}")
        if customer_rows[customer_id]["next_invoice_sequence"] != len(taken) + 1:
            problems.append(f"{customer_id}: next_invoice_sequence out of step")
    invoice_events = Counter(
        (kind, object_id) for kind, object_id in event_rows if kind.startswith("invoice.")
    )
    problems.extend(
        f"{object_id}: {kind} written {times} times"
        for (kind, object_id), times in invoice_events.items()
        if times > 1
    )
    for invoice in invoice_rows:
        for kind in ("invoice.created", "invoice.finalized", "invoice.paid"):
            if invoice_events[(kind, invoice["id"])] != 1:
                problems.append(f"{invoice['id']}: no {kind} event")
    return problems
