"""The simulated gateway: charges behave as Stripe's test cards do, with no network.

A payment method carries its test card's behaviour (`recur.gateways.test_cards`); `decide`
says, purely, what a charge on it gives. `SimulatedGateway` is the outside world Recur
talks to: it keeps its own ledger of the charges and refunds it made — in a SQLite file of
its own, committed at once, so that what it did survives whatever happens to Recur's
transaction (a rollback, a killed process), exactly as a real gateway's books would. It
answers repeated requests by idempotency key with the first result, as Stripe does.

Fault injection (for tests): `inject_fault` arms, for one account and mode, a fault on the
next N calls of an operation (`charge`, `refund`, `lookup`):
- `timeout`: the operation is carried out, then the answer is lost (`OutcomeUnknown`);
- `connection_error`: the request never arrives (`GatewayUnavailable`), nothing is done;
- `server_error`: a 5xx; nothing is done, but the caller cannot know (`OutcomeUnknown`);
- `decline:<decline_code>` (charges): the issuer declines this one charge so, whatever the
  card (a card reported lost or stolen since it was attached: Stripe's decline test cards
  already fail when attached, so a later hard decline can only be injected).

A card whose behaviour is `dispute:<reason>` (`pm_card_createDispute`) is charged, then its
cardholder disputes the charge: the gateway opens a dispute in its books (`disputes`) and
reports it with the charge's result (`ChargeResult.dispute`), to the caller and to any later
lookup by key, as Stripe reports its own by a `charge.dispute.created` webhook.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Final, Literal

from recur.domain.clock import SystemClock, to_unix
from recur.gateways.base import (
    ChargeRequest,
    ChargeResult,
    DisputeReport,
    GatewayScope,
    GatewayUnavailable,
    LookupHint,
    MethodRef,
    OutcomeUnknown,
    RefundRequest,
    RefundResult,
)
from recur.gateways.test_cards import (
    AUTHENTICATION_REQUIRED,
    AUTHENTICATION_REQUIRED_UNLESS_SETUP,
    CUSTOMER_FAIL,
    decline_code_of,
    decline_error,
    dispute_reason_of,
)

Operation = Literal["charge", "refund", "lookup"]
FaultKind = str  # timeout | connection_error | server_error | decline:<decline_code>
FAULT_KINDS: Final = ("timeout", "connection_error", "server_error")


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What a charge attempt on a test card gives (pure)."""

    succeeded: bool
    failure_code: str | None = None
    decline_code: str | None = None
    failure_message: str | None = None
    requires_action: bool = False
    # Succeeds, then the cardholder disputes it for this reason (Stripe's `reason`).
    dispute_reason: str | None = None

    @property
    def status(self) -> Literal["succeeded", "failed", "requires_action"]:
        """The charge's status at the gateway."""
        if self.succeeded:
            return "succeeded"
        return "requires_action" if self.requires_action else "failed"


AUTHENTICATION_OUTCOME: Final = ChargeOutcome(
    succeeded=False,
    failure_code="authentication_required",
    decline_code="authentication_required",
    failure_message="This payment requires authentication by the customer.",
    requires_action=True,
)


def decide(behavior: str, *, off_session: bool, set_up: bool = False) -> ChargeOutcome:
    """What a charge on a card with this test behaviour gives (amounts never change it).

    `authentication_required` cards always need the customer; the
    `authentication_required_unless_setup` card (4000002500003155) needs them unless the
    card was set up for off-session use and the payment is off-session (docs.stripe.com/
    testing#authentication-and-setup).
    """
    if behavior == AUTHENTICATION_REQUIRED or (
        behavior == AUTHENTICATION_REQUIRED_UNLESS_SETUP and not (off_session and set_up)
    ):
        return AUTHENTICATION_OUTCOME
    code = decline_code_of(behavior)
    if behavior == CUSTOMER_FAIL:
        code = "generic_decline"
    if code is not None:
        error = decline_error(code)
        return ChargeOutcome(False, error.code, error.decline_code, error.message)
    return ChargeOutcome(succeeded=True, dispute_reason=dispute_reason_of(behavior))


# Kept for callers that only need the outcome of a test card.
charge = decide


_SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    account_id TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    key TEXT NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    failure_code TEXT,
    decline_code TEXT,
    failure_message TEXT,
    customer TEXT,
    payment_method TEXT,
    invoice TEXT,
    created INTEGER NOT NULL,
    swept INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, livemode, key)
);
CREATE INDEX IF NOT EXISTS charges_unswept ON charges (swept, created);
CREATE TABLE IF NOT EXISTS refunds (
    account_id TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    key TEXT NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    charge_reference TEXT NOT NULL,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,
    failure_reason TEXT,
    recur_charge TEXT,
    created INTEGER NOT NULL,
    swept INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, livemode, key)
);
CREATE INDEX IF NOT EXISTS refunds_unswept ON refunds (swept, created);
CREATE INDEX IF NOT EXISTS refunds_charge ON refunds (charge_reference);
CREATE TABLE IF NOT EXISTS disputes (
    reference TEXT PRIMARY KEY,
    charge_reference TEXT NOT NULL UNIQUE,
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    operation TEXT NOT NULL,
    kind TEXT NOT NULL,
    remaining INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class LedgerCharge:
    """A charge in the simulated gateway's books."""

    scope: GatewayScope
    key: str
    result: ChargeResult
    invoice: str | None
    created: int


@dataclass(frozen=True, slots=True)
class LedgerRefund:
    """A refund in the simulated gateway's books."""

    scope: GatewayScope
    key: str
    result: RefundResult
    charge_reference: str
    recur_charge: str | None
    created: int


class SimulatedGateway:
    """Stripe's test cards behind the `PaymentGateway` protocol, with durable books."""

    name = "simulated"

    def __init__(self, path: str | None = None) -> None:
        # None: an in-memory ledger for this process (unit tests, scripts).
        if path is None:
            target, uri = (
                f"file:recur-simulated-{secrets.token_hex(8)}?mode=memory&cache=shared",
                True,
            )
        else:
            target, uri = path, False
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(
            target, uri=uri, timeout=60, isolation_level=None, check_same_thread=False
        )
        with self._lock:
            if path is not None:
                self._connection.execute("PRAGMA journal_mode=WAL")
                self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.executescript(_SCHEMA)
        self._clock = SystemClock()

    def close(self) -> None:
        """Close the ledger's connection."""
        with self._lock:
            self._connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _now(self) -> int:
        return to_unix(self._clock.now())

    # --- fault injection --------------------------------------------------------------

    def inject_fault(
        self, scope: GatewayScope, operation: Operation, kind: FaultKind, *, times: int = 1
    ) -> None:
        """Make the next `times` calls of `operation` for this account and mode fail so."""
        if kind not in FAULT_KINDS and not (operation == "charge" and decline_code_of(kind)):
            raise ValueError(f"unknown fault {kind!r}")
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO faults (account_id, livemode, operation, kind, remaining) "
                "VALUES (?, ?, ?, ?, ?)",
                (scope.account_id, int(scope.livemode), operation, kind, times),
            )

    def clear_faults(self, scope: GatewayScope) -> None:
        """Disarm every fault of this account and mode."""
        with self._transaction() as connection:
            connection.execute(
                "DELETE FROM faults WHERE account_id = ? AND livemode = ?",
                (scope.account_id, int(scope.livemode)),
            )

    def has_faults(self, scope: GatewayScope) -> bool:
        """Whether any fault is armed for this account and mode."""
        with self._lock:
            row = self._connection.execute(
                "SELECT 1 FROM faults WHERE account_id = ? AND livemode = ? AND remaining > 0 "
                "LIMIT 1",
                (scope.account_id, int(scope.livemode)),
            ).fetchone()
        return row is not None

    def _take_fault(
        self, connection: sqlite3.Connection, scope: GatewayScope, operation: Operation
    ) -> str | None:
        row = connection.execute(
            "SELECT seq, kind FROM faults WHERE account_id = ? AND livemode = ? "
            "AND operation = ? AND remaining > 0 ORDER BY seq LIMIT 1",
            (scope.account_id, int(scope.livemode), operation),
        ).fetchone()
        if row is None:
            return None
        connection.execute("UPDATE faults SET remaining = remaining - 1 WHERE seq = ?", (row[0],))
        return str(row[1])

    # --- the protocol -----------------------------------------------------------------

    def create_customer(self, scope: GatewayScope, customer_id: str) -> str:
        """The simulated gateway keeps no customers: the reference is Recur's id."""
        return f"sim_{customer_id}"

    def attach_method(self, scope: GatewayScope, customer_reference: str, method: MethodRef) -> str:
        """Test cards need no mirroring: the reference is Recur's id."""
        return f"sim_{method.id}"

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge a test card once per idempotency key (a repeat gets the first result)."""
        return self.charge_many([request])[0]

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        """Charge in one ledger transaction (a fault applies to one request at a time)."""
        results: list[ChargeResult] = []
        lost: OutcomeUnknown | GatewayUnavailable | None = None
        with self._transaction() as connection:
            now = self._now()
            for request in requests:
                fault = self._take_fault(connection, request.scope, "charge")
                if fault == "connection_error":
                    lost = GatewayUnavailable("the simulated gateway could not be reached")
                    break
                if fault == "server_error":
                    lost = OutcomeUnknown("the simulated gateway answered 500")
                    break
                result = self._stored_charge(connection, request.scope, request.idempotency_key)
                if result is None:
                    result = self._new_charge(connection, request, now, fault)
                if fault == "timeout":
                    lost = OutcomeUnknown("the simulated gateway timed out")
                    break
                results.append(result)
        if lost is not None:
            raise lost
        return results

    def _new_charge(
        self,
        connection: sqlite3.Connection,
        request: ChargeRequest,
        now: int,
        fault: str | None = None,
    ) -> ChargeResult:
        behavior = fault if fault and decline_code_of(fault) else request.method.behavior
        outcome = decide(behavior, off_session=request.off_session)
        result = ChargeResult(
            status=outcome.status,
            reference=f"simch_{secrets.token_hex(10)}",
            amount=request.amount,
            failure_code=outcome.failure_code,
            decline_code=outcome.decline_code,
            failure_message=outcome.failure_message,
        )
        if outcome.succeeded and outcome.dispute_reason is not None:
            result = replace(
                result,
                dispute=DisputeReport(
                    f"simdp_{secrets.token_hex(10)}", request.amount, outcome.dispute_reason
                ),
            )
        connection.execute(
            "INSERT INTO charges (account_id, livemode, key, reference, amount, currency, "
            "status, failure_code, decline_code, failure_message, customer, payment_method, "
            "invoice, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request.scope.account_id,
                int(request.scope.livemode),
                request.idempotency_key,
                result.reference,
                request.amount,
                request.currency,
                result.status,
                result.failure_code,
                result.decline_code,
                result.failure_message,
                request.customer,
                request.method.id,
                request.metadata.get("invoice"),
                now,
            ),
        )
        if result.dispute is not None:
            connection.execute(
                "INSERT INTO disputes (reference, charge_reference, amount, reason, status, "
                "created) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    result.dispute.reference,
                    result.reference,
                    result.dispute.amount,
                    result.dispute.reason,
                    result.dispute.status,
                    now,
                ),
            )
        return result

    def _stored_charge(
        self, connection: sqlite3.Connection, scope: GatewayScope, key: str
    ) -> ChargeResult | None:
        row = connection.execute(
            "SELECT c.status, c.reference, c.amount, c.failure_code, c.decline_code, "
            "c.failure_message, d.reference, d.amount, d.reason, d.status "
            "FROM charges c LEFT JOIN disputes d ON d.charge_reference = c.reference "
            "WHERE c.account_id = ? AND c.livemode = ? AND c.key = ?",
            (scope.account_id, int(scope.livemode), key),
        ).fetchone()
        if row is None:
            return None
        dispute = None if row[6] is None else DisputeReport(row[6], row[7], row[8], row[9])
        return ChargeResult(row[0], row[1], row[2], row[3], row[4], row[5], dispute)

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund part of a charge once per idempotency key, never beyond what it took."""
        lost: OutcomeUnknown | GatewayUnavailable | None = None
        result: RefundResult | None = None
        with self._transaction() as connection:
            fault = self._take_fault(connection, request.scope, "refund")
            if fault == "connection_error":
                lost = GatewayUnavailable("the simulated gateway could not be reached")
            elif fault == "server_error":
                lost = OutcomeUnknown("the simulated gateway answered 500")
            else:
                result = self._stored_refund(connection, request.scope, request.idempotency_key)
                if result is None:
                    result = self._new_refund(connection, request)
                if fault == "timeout":
                    lost = OutcomeUnknown("the simulated gateway timed out")
        if lost is not None or result is None:
            raise lost or OutcomeUnknown("no answer")
        return result

    def _new_refund(self, connection: sqlite3.Connection, request: RefundRequest) -> RefundResult:
        charged = connection.execute(
            "SELECT amount FROM charges WHERE reference = ? AND status = 'succeeded' "
            "AND account_id = ? AND livemode = ?",
            (request.charge_reference, request.scope.account_id, int(request.scope.livemode)),
        ).fetchone()
        refunded = connection.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE charge_reference = ? "
            "AND status = 'succeeded'",
            (request.charge_reference,),
        ).fetchone()[0]
        status: Literal["succeeded", "failed"] = "succeeded"
        reason = None
        if charged is None or refunded + request.amount > charged[0]:
            status, reason = "failed", "charge_for_pending_refund_disputed"
        result = RefundResult(status, f"simre_{secrets.token_hex(10)}", request.amount, reason)
        connection.execute(
            "INSERT INTO refunds (account_id, livemode, key, reference, charge_reference, "
            "amount, status, failure_reason, recur_charge, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request.scope.account_id,
                int(request.scope.livemode),
                request.idempotency_key,
                result.reference,
                request.charge_reference,
                request.amount,
                status,
                reason,
                request.metadata.get("charge"),
                self._now(),
            ),
        )
        return result

    def _stored_refund(
        self, connection: sqlite3.Connection, scope: GatewayScope, key: str
    ) -> RefundResult | None:
        row = connection.execute(
            "SELECT status, reference, amount, failure_reason FROM refunds "
            "WHERE account_id = ? AND livemode = ? AND key = ?",
            (scope.account_id, int(scope.livemode), key),
        ).fetchone()
        return None if row is None else RefundResult(row[0], row[1], row[2], row[3])

    def find_charge(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> ChargeResult | None:
        """The charge made under a key (None: never made)."""
        with self._transaction() as connection:
            fault = self._take_fault(connection, scope, "lookup")
            found = self._stored_charge(connection, scope, idempotency_key)
        _raise_lookup_fault(fault)
        return found

    def find_refund(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> RefundResult | None:
        """The refund made under a key (None: never made)."""
        with self._transaction() as connection:
            fault = self._take_fault(connection, scope, "lookup")
            found = self._stored_refund(connection, scope, idempotency_key)
        _raise_lookup_fault(fault)
        return found

    # --- the books, for reconciliation and tests -----------------------------------------

    def unswept_charges(self, before: int, limit: int) -> list[LedgerCharge]:
        """Charges made before `before` (unix) that reconciliation has not checked yet."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT account_id, livemode, key, status, reference, amount, failure_code, "
                "decline_code, failure_message, invoice, created FROM charges "
                "WHERE swept = 0 AND created < ? ORDER BY created LIMIT ?",
                (before, limit),
            ).fetchall()
        return [
            LedgerCharge(
                GatewayScope(row[0], bool(row[1])),
                row[2],
                ChargeResult(row[3], row[4], row[5], row[6], row[7], row[8]),
                row[9],
                row[10],
            )
            for row in rows
        ]

    def unswept_refunds(self, before: int, limit: int) -> list[LedgerRefund]:
        """Refunds made before `before` (unix) that reconciliation has not checked yet."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT account_id, livemode, key, status, reference, amount, failure_reason, "
                "charge_reference, recur_charge, created FROM refunds "
                "WHERE swept = 0 AND created < ? ORDER BY created LIMIT ?",
                (before, limit),
            ).fetchall()
        return [
            LedgerRefund(
                GatewayScope(row[0], bool(row[1])),
                row[2],
                RefundResult(row[3], row[4], row[5], row[6]),
                row[7],
                row[8],
                row[9],
            )
            for row in rows
        ]

    def mark_swept(self, table: Literal["charges", "refunds"], references: Sequence[str]) -> None:
        """Record that reconciliation checked these entries."""
        if not references:
            return
        with self._transaction() as connection:
            connection.executemany(
                f"UPDATE {table} SET swept = 1 WHERE reference = ?",  # noqa: S608 (fixed names)
                [(reference,) for reference in references],
            )

    def totals(self, scope: GatewayScope) -> tuple[int, int]:
        """(Σ succeeded charges, Σ succeeded refunds) of an account and mode."""
        with self._lock:
            charged = self._connection.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM charges WHERE account_id = ? "
                "AND livemode = ? AND status = 'succeeded'",
                (scope.account_id, int(scope.livemode)),
            ).fetchone()[0]
            refunded = self._connection.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE account_id = ? "
                "AND livemode = ? AND status = 'succeeded'",
                (scope.account_id, int(scope.livemode)),
            ).fetchone()[0]
        return int(charged), int(refunded)

    def succeeded_charges_by_invoice(self, scope: GatewayScope) -> dict[str, int]:
        """How many successful charges the gateway made per invoice (metadata)."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT invoice, COUNT(*) FROM charges WHERE account_id = ? AND livemode = ? "
                "AND status = 'succeeded' AND invoice IS NOT NULL GROUP BY invoice",
                (scope.account_id, int(scope.livemode)),
            ).fetchall()
        return {row[0]: int(row[1]) for row in rows}


def _raise_lookup_fault(fault: str | None) -> None:
    """A lookup answered with a fault (taken, and committed, before raising)."""
    if fault == "connection_error":
        raise GatewayUnavailable("the simulated gateway could not be reached")
    if fault is not None:
        raise OutcomeUnknown(f"the simulated gateway lookup failed ({fault})")
