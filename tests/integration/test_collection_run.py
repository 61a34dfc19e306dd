"""Collection is decoupled from invoicing: a billing run issues invoices at database speed,
and the collection job charges them at the gateway's pace, tenant by tenant.

The gateway's rate is a token bucket in the database that every worker shares; its clock is
the wall clock (a rate is about the real world), handed in here so the tests never sleep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from recur import bootstrap
from recur.config import Settings
from recur.domain.clock import FrozenClock
from recur.services.collection_run import collect_due_invoices
from recur.services.payment_gateways import PaymentOptions, configure_payments
from recur.storage.migrate import upgrade
from recur.storage.repositories.payments import GatewayRateLimits
from recur.storage.tables import charges, invoices
from recur.worker.loop import advance_due_subscriptions
from tests.support.seeding import (
    billing_violations,
    create_seed_account,
    scratch_database,
    seed_due_subscriptions,
)

WALL = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def container(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[bootstrap.Container]:
    """A database of this test's own (the session's has a live server's worker on it)."""
    for url in scratch_database(request.param, tmp_path):
        built = bootstrap.build(Settings(database_url=url, data_dir=tmp_path))
        try:
            upgrade(built.engine)
            yield built
        finally:
            built.engine.dispose()


def _bill(container: bootstrap.Container, clock: FrozenClock) -> int:
    """Run the billing job alone until nothing is due: invoices issued, none charged."""
    done = 0
    while claimed := advance_due_subscriptions(container.uow_factory, clock, batch_size=50):
        done += claimed
    return done


def _counts(container: bootstrap.Container, account: str) -> tuple[int, int, int]:
    """(successful charges, paid invoices, open invoices queued for collection)."""
    with container.uow_factory(None, readonly=True) as uow:
        run = uow.connection.execute

        def count(table: object, *where: object) -> int:
            return int(run(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]

        return (
            count(charges, charges.c.account_id == account, charges.c.status == "succeeded"),
            count(invoices, invoices.c.account_id == account, invoices.c.status == "paid"),
            count(
                invoices,
                invoices.c.account_id == account,
                invoices.c.status == "open",
                invoices.c.next_payment_attempt.is_not(None),
            ),
        )


def test_the_bucket_refills_at_its_rate_up_to_its_burst(container: bootstrap.Container) -> None:
    def take(wanted: int, wall: float) -> int:
        with container.uow_factory(None) as uow:
            return GatewayRateLimits(uow).take(
                "stripe:acct_x", rate=25.0, burst=25.0, wanted=wanted, wall=wall
            )

    assert take(100, WALL) == 25  # a new bucket starts full
    assert take(100, WALL) == 0
    assert take(100, WALL + 0.2) == 5  # 25/s × 0.2 s
    assert take(3, WALL + 1.2) == 3  # 25 accrued, 3 wanted: 22 kept
    assert take(100, WALL + 1.2) == 22
    assert take(100, WALL + 3600) == 25  # never more than the burst
    # A clock going backwards (another worker's skew) grants nothing extra.
    assert take(100, WALL + 3500) == 0


def test_invoices_are_issued_at_once_and_charged_at_the_gateways_pace(
    container: bootstrap.Container,
) -> None:
    configure_payments(container.engine, PaymentOptions(simulated_rate=10.0))
    now = container.clock.now()
    account = create_seed_account(container.uow_factory, now)
    seeded = seed_due_subscriptions(container.uow_factory, account, 30, now)
    clock = FrozenClock(now)

    assert _bill(container, clock) == 30
    assert _counts(container, account) == (0, 0, 30)  # issued, queued, nothing charged

    def collect(wall: float) -> int:
        return collect_due_invoices(container.uow_factory, clock, wall=lambda: wall)

    assert collect(WALL) == 10  # the burst: one second's worth
    assert collect(WALL) == 0
    assert collect(WALL + 0.5) == 5
    assert _counts(container, account) == (15, 15, 15)
    assert collect(WALL + 60) == 10
    assert collect(WALL + 120) == 5
    assert collect(WALL + 180) == 0  # nothing left
    assert _counts(container, account) == (30, 30, 0)
    assert billing_violations(container.uow_factory, seeded) == []


def test_one_busy_tenant_does_not_hold_back_the_others(container: bootstrap.Container) -> None:
    now = container.clock.now()
    busy = create_seed_account(container.uow_factory, now, "Busy")
    small = create_seed_account(container.uow_factory, now, "Small")
    seed_due_subscriptions(container.uow_factory, busy, 40, now)
    seed_due_subscriptions(container.uow_factory, small, 3, now)
    clock = FrozenClock(now)
    _bill(container, clock)

    # One pass: each tenant gets at most a batch, so the small one is done at once.
    assert collect_due_invoices(container.uow_factory, clock, batch_size=10) == 13
    assert _counts(container, small) == (3, 3, 0)
    assert _counts(container, busy) == (10, 10, 30)
