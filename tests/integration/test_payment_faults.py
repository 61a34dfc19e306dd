"""Payments that cannot go wrong: the simulated gateway times out, answers 5xx or cannot be
reached at every step, and `recur worker` is killed between the gateway's answer and the
commit. Afterwards, for every invoice: at most one successful charge; Σ charges - Σ refunds
= Σ amount paid; and the gateway's books agree with Recur's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import stripe
from sqlalchemy import func, select

from recur import bootstrap
from recur.config import Settings
from recur.domain.clock import utc
from recur.gateways.base import ChargeRequest, GatewayScope, MethodRef
from recur.gateways.test_cards import SUCCEED
from recur.services.accounts import AccountKeys
from recur.storage.migrate import upgrade
from recur.storage.tables import charges
from recur.storage.uow import UnitOfWorkFactory
from tests.integration.test_worker_crash import (
    kill,
    start_worker,
    stop,
    wait_for,
)
from tests.support.billing import Shop, open_shop
from tests.support.payments import gateway, inject, money_violations, settle_everything
from tests.support.seeding import (
    billing_violations,
    create_seed_account,
    due_count,
    scratch_database,
    seed_due_subscriptions,
)

START = utc(2025, 4, 1)
RENEWAL_CHARGED = utc(2025, 5, 1, 1)


def _renewing(client: stripe.StripeClient) -> tuple[Shop, stripe.Subscription]:
    shop = open_shop(client, START)
    price = shop.price(2000)
    sub = client.v1.subscriptions.create(
        params={"customer": shop.customer_id, "items": [{"price": price}]}
    )
    return shop, sub


def _renewal(shop: Shop, sub: stripe.Subscription) -> stripe.Invoice:
    shop.advance(RENEWAL_CHARGED + timedelta(minutes=30))
    return shop.invoices(sub.id)[1]


def _check(container: bootstrap.Container, account: AccountKeys) -> None:
    settle_everything(container.uow_factory)
    assert money_violations(container.uow_factory, gateway(container), account.account) == []


def test_a_timeout_after_the_charge_blocks_the_invoice_until_reconciled(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    shop, sub = _renewing(client)
    inject(container, account.account, "charge", "timeout")
    renewal = _renewal(shop, sub)
    assert renewal.status == "open" and renewal.attempt_count == 1
    assert renewal.next_payment_attempt is None  # blocked, not retried
    intent = client.v1.payment_intents.retrieve(str(renewal.payment_intent))
    assert intent.status == "processing"
    pending = client.v1.charges.list(params={"payment_intent": intent.id}).data
    assert [c.status for c in pending] == ["pending"]
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"  # not the customer's fault
    with pytest.raises(stripe.InvalidRequestError) as blocked:
        client.v1.invoices.pay(renewal.id)
    assert blocked.value.code == "invoice_payment_intent_processing"
    # The reconciler's lookup fails once too: still pending, asked again on the next pass.
    inject(container, account.account, "lookup", "server_error")
    _check(container, account)
    paid = client.v1.invoices.retrieve(renewal.id)
    assert paid.status == "paid" and paid.amount_paid == 2000  # the gateway had charged
    charges = client.v1.charges.list(params={"payment_intent": intent.id}).data
    assert [c.status for c in charges] == ["succeeded"]
    assert "payment_intent.processing" in shop.events("payment_intent.")


def test_a_5xx_that_charged_nothing_is_reconciled_as_a_failure_and_retried(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    shop, sub = _renewing(client)
    inject(container, account.account, "charge", "server_error")
    renewal = _renewal(shop, sub)
    assert client.v1.payment_intents.retrieve(str(renewal.payment_intent)).status == "processing"
    settle_everything(container.uow_factory)
    failed = client.v1.invoices.retrieve(renewal.id)
    assert failed.status == "open"
    assert failed.next_payment_attempt is not None  # a processing error: retried on schedule
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    shop.advance(RENEWAL_CHARGED + timedelta(days=1, minutes=30))
    assert client.v1.invoices.retrieve(renewal.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    _check(container, account)


def test_an_unreachable_gateway_is_a_failed_attempt_that_charged_nothing(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    shop, sub = _renewing(client)
    inject(container, account.account, "charge", "connection_error")
    renewal = _renewal(shop, sub)
    charges = client.v1.charges.list(params={"payment_intent": renewal.payment_intent}).data  # type: ignore[typeddict-item]
    assert [(c.status, c.failure_code) for c in charges] == [("failed", "processing_error")]
    assert charges[0].outcome is not None
    assert charges[0].outcome.network_status == "not_sent_to_network"
    assert renewal.next_payment_attempt is not None
    # Paying by API while it is down: 402, nothing charged, the attempt kept.
    inject(container, account.account, "charge", "connection_error")
    with pytest.raises(stripe.CardError) as refused:
        client.v1.invoices.pay(renewal.id)
    assert refused.value.code == "processing_error"
    assert client.v1.invoices.pay(renewal.id).status == "paid"
    _check(container, account)


def test_a_late_success_on_a_voided_invoice_is_refunded(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    shop, sub = _renewing(client)
    inject(container, account.account, "charge", "timeout")
    renewal = _renewal(shop, sub)
    client.v1.invoices.void_invoice(renewal.id)
    _check(container, account)
    charge = client.v1.charges.list(params={"payment_intent": renewal.payment_intent}).data[0]  # type: ignore[typeddict-item]
    assert charge.status == "succeeded" and charge.refunded
    assert client.v1.invoices.retrieve(renewal.id).status == "void"


def test_faults_on_a_payment_intent_confirmation(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    inject(container, account.account, "charge", "timeout")
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1234,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert intent.status == "processing"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.confirm(intent.id)
    _check(container, account)
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


# --- killed between the gateway's answer and the commit ------------------------------------

SUBSCRIPTIONS = 1500


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own (the session's has a live server's worker on it)."""
    yield from scratch_database(request.param, tmp_path)


def charge_count(uow_factory: UnitOfWorkFactory) -> int:
    """Charges (attempts) Recur has committed so far (every tenant)."""
    with uow_factory(None, readonly=True) as uow:
        query = select(func.count()).select_from(charges)
        return int(uow.connection.execute(query).scalar_one())


def _ledger_charges(data_dir: Path) -> int:
    """How many charges the simulated gateway made (its own books, read directly)."""
    path = data_dir / "simulated-gateway.sqlite3"
    if not path.exists():
        return 0
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM charges").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["bulk", "one_at_a_time"])
def test_a_worker_killed_after_the_gateway_charged_loses_no_money(
    scratch_url: str, tmp_path: Path, path: str
) -> None:
    data_dir = tmp_path / "var"
    container = bootstrap.build(Settings(database_url=scratch_url, data_dir=data_dir))
    try:
        upgrade(container.engine)
        factory = container.uow_factory
        now = container.clock.now()
        account = create_seed_account(factory, now)
        seeded = seed_due_subscriptions(factory, account, SUBSCRIPTIONS, now)
        if path == "one_at_a_time":
            # Any armed fault keeps the bulk run off this account: each renewal is charged
            # through `advance_subscription`, one gateway call at a time.
            inject(container, account, "refund", "timeout", times=1)
        env = {
            "RECUR_DATABASE_URL": scratch_url,
            "RECUR_DATA_DIR": str(data_dir),
            "RECUR_WORKER_BATCH_SIZE": str(SUBSCRIPTIONS),
            "RECUR_WORKER_INTERVAL": "0.1",
        }
        log = tmp_path / "worker.log"
        process = start_worker(env, log)
        try:
            # The gateway has charged more than Recur has committed: kill now.
            wait_for(
                lambda: _ledger_charges(data_dir) > charge_count(factory) + 5,
                process,
                log,
                "charges made but not committed",
            )
        finally:
            kill(process)
        assert charge_count(factory) < SUBSCRIPTIONS, "killed too late to matter"
        process = start_worker(env, log)
        try:
            wait_for(
                lambda: due_count(factory, container.clock.now()) == 0, process, log, "the run"
            )
        finally:
            stop(process, log, factory, account)
        books = gateway(container)
        # The invoices were committed before collection charged them, so the restarted
        # worker's attempts carry the killed one's idempotency keys: the gateway replays its
        # answers instead of charging again, and no charge is left unrecorded.
        assert _ledger_charges(data_dir) == SUBSCRIPTIONS
        settle_everything(factory)
        assert billing_violations(factory, seeded) == []
        assert money_violations(factory, books, account) == []
    finally:
        container.engine.dispose()


def test_a_charge_recur_never_recorded_is_refunded_by_the_sweep(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    # A step that charged and was then rolled back (a request that failed after the
    # gateway answered, a process killed before its commit) leaves the gateway holding a
    # charge under a key Recur has no successful attempt for.
    shop, _sub = _renewing(client)
    method = client.v1.customers.retrieve(shop.customer_id).invoice_settings
    assert method is not None and method.default_payment_method is not None
    books = gateway(container)
    orphan = books.charge(
        ChargeRequest(
            scope=GatewayScope(account.account, False),
            idempotency_key="in_rolledback:attempt:1",
            amount=1234,
            currency="eur",
            customer=shop.customer_id,
            method=MethodRef(str(method.default_payment_method), SUCCEED),
            off_session=True,
        )
    )
    assert orphan.status == "succeeded"
    assert money_violations(container.uow_factory, books, account.account) != []
    # Once every transaction that could still record it has ended, it is given back.
    _check(container, account)
