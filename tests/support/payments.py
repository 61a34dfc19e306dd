"""Payments in tests: the simulated gateway's faults and books, reconciliation, invariants."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

import stripe
from sqlalchemy import select

from recur import bootstrap
from recur.domain.clock import FrozenClock, SystemClock
from recur.gateways.base import GatewayScope
from recur.gateways.simulated import SimulatedGateway
from recur.services.payment_gateways import simulated_gateway
from recur.services.reconciliation import reconcile_payments, sweep_gateway_books
from recur.storage.tables import charges, invoices, refunds
from recur.storage.uow import UnitOfWorkFactory


def gateway(container: bootstrap.Container) -> SimulatedGateway:
    """The simulated gateway of the container's installation."""
    return simulated_gateway(container.engine)


def inject(
    container: bootstrap.Container,
    account_id: str,
    operation: str,
    kind: str,
    *,
    times: int = 1,
    livemode: bool = False,
) -> None:
    """Arm a fault (or a forced decline) on the account's next calls of `operation`."""
    gateway(container).inject_fault(
        GatewayScope(account_id, livemode),
        operation,  # type: ignore[arg-type]
        kind,
        times=times,
    )


def settle_everything(uow_factory: UnitOfWorkFactory, *, hours: int = 2) -> None:
    """Run the reconciler and the sweep as if `hours` had passed (no waiting): a few passes
    (a lookup that fails is asked again on the next one), then until nothing is left."""
    later = FrozenClock(SystemClock().now() + timedelta(hours=hours))
    for job in (reconcile_payments, sweep_gateway_books):
        idle = 0
        for _ in range(100):
            idle = idle + 1 if job(uow_factory, later) == 0 else 0
            if idle == 3:
                break


def money_violations(
    uow_factory: UnitOfWorkFactory,
    books: SimulatedGateway,
    account_id: str,
    *,
    livemode: bool = False,
    customer_refunds: bool = False,
) -> list[str]:
    """Every way the account's money does not add up (empty when it does).

    - at most one successful charge per invoice, in Recur and at the gateway;
    - each invoice paid by a charge was paid by one charge of its amount paid; an invoice
      not paid so kept no charge (a late success was refunded);
    - without refunds asked by the merchant (`customer_refunds`): Σ charges - Σ refunds
      = Σ amount paid by charges;
    - the gateway's books agree: Σ charged - Σ refunded there = the same in Recur;
    - no attempt or refund is left pending.
    """
    problems: list[str] = []
    with uow_factory(None, readonly=True) as uow:
        connection = uow.connection
        charge_rows = list(
            connection.execute(
                select(charges).where(
                    charges.c.account_id == account_id, charges.c.livemode == livemode
                )
            ).mappings()
        )
        invoice_rows = list(
            connection.execute(
                select(invoices).where(
                    invoices.c.account_id == account_id, invoices.c.livemode == livemode
                )
            ).mappings()
        )
        refund_rows = list(
            connection.execute(
                select(refunds).where(
                    refunds.c.account_id == account_id, refunds.c.livemode == livemode
                )
            ).mappings()
        )
    succeeded: dict[str, int] = defaultdict(int)
    for row in charge_rows:
        if row["status"] == "pending":
            problems.append(f"{row['id']} still pending")
        if row["status"] == "succeeded" and row["invoice"]:
            succeeded[row["invoice"]] += 1
    problems.extend(
        f"{invoice}: {n} successful charges" for invoice, n in succeeded.items() if n > 1
    )
    scope = GatewayScope(account_id, livemode)
    for invoice, n in books.succeeded_charges_by_invoice(scope).items():
        # An orphan (its invoice rolled back) was refunded: it counts against the books only.
        if n > 1:
            problems.append(f"{invoice}: the gateway charged {n} times")
    problems.extend(
        f"{row['id']} still pending" for row in refund_rows if row["status"] == "pending"
    )
    refunded_of: dict[str, int] = defaultdict(int)
    for row in refund_rows:
        if row["status"] == "succeeded":
            refunded_of[row["charge"]] += int(row["amount"])
    for invoice in invoice_rows:
        taken = [
            row
            for row in charge_rows
            if row["invoice"] == invoice["id"] and row["status"] == "succeeded"
        ]
        if (
            invoice["status"] == "paid"
            and not invoice["paid_out_of_band"]
            and invoice["amount_paid"]
        ):
            if [row["amount"] for row in taken] != [invoice["amount_paid"]]:
                problems.append(f"{invoice['id']}: paid {invoice['amount_paid']} by {taken}")
        elif any(refunded_of[row["id"]] != row["amount"] for row in taken):
            problems.append(f"{invoice['id']} ({invoice['status']}) kept a charge")
    charged = sum(int(row["amount"]) for row in charge_rows if row["status"] == "succeeded")
    refunded = sum(refunded_of.values())
    paid_by_charges = sum(
        int(row["amount_paid"])
        for row in invoice_rows
        if row["status"] == "paid" and not row["paid_out_of_band"]
    )
    standalone = sum(
        int(row["amount"])
        for row in charge_rows
        if row["status"] == "succeeded" and not row["invoice"]
    )
    if not customer_refunds and charged - standalone - refunded != paid_by_charges:
        problems.append(
            f"Σ charges {charged - standalone} - Σ refunds {refunded} != Σ paid {paid_by_charges}"
        )
    gateway_charged, gateway_refunded = books.totals(scope)
    if gateway_charged - gateway_refunded != charged - refunded:
        problems.append(
            f"the gateway holds {gateway_charged} - {gateway_refunded}, "
            f"Recur {charged} - {refunded}"
        )
    return problems


def billing_settings(client: stripe.StripeClient, **params: Any) -> dict[str, Any]:
    """`POST /v1/billing/settings` with `params` (GET without); the settings as a dict."""
    method = "post" if params else "get"
    response = client.raw_request(method, "/v1/billing/settings", **params)
    body: dict[str, Any] = json.loads(response.body)
    if response.code != 200:
        raise AssertionError(f"billing settings: {response.code} {body}")
    return body
