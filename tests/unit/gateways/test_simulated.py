"""The simulated gateway: Stripe's test cards, idempotency keys, its books, faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recur.gateways.base import (
    ChargeRequest,
    GatewayScope,
    GatewayUnavailable,
    MethodRef,
    OutcomeUnknown,
    RefundRequest,
)
from recur.gateways.simulated import SimulatedGateway, decide
from recur.gateways.test_cards import card_for_token

SCOPE = GatewayScope("acct_1", False)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[SimulatedGateway]:
    books = SimulatedGateway(str(tmp_path / "books.sqlite3"))
    yield books
    books.close()


def _charge(key: str, token: str = "visa", *, off_session: bool = True) -> ChargeRequest:
    card = card_for_token(f"pm_card_{token}")
    assert card is not None
    return ChargeRequest(
        scope=SCOPE,
        idempotency_key=key,
        amount=2000,
        currency="eur",
        customer="cus_1",
        method=MethodRef(f"pm_{token}", card.behavior),
        off_session=off_session,
        metadata={"invoice": f"in_{key}"},
    )


@pytest.mark.parametrize(
    ("token", "status", "code", "decline_code"),
    [
        ("visa", "succeeded", None, None),
        ("chargeDeclined", "failed", "card_declined", "generic_decline"),
        ("chargeDeclinedInsufficientFunds", "failed", "card_declined", "insufficient_funds"),
        ("chargeDeclinedLostCard", "failed", "card_declined", "lost_card"),
        ("chargeDeclinedStolenCard", "failed", "card_declined", "stolen_card"),
        ("chargeDeclinedExpiredCard", "failed", "expired_card", "expired_card"),
        ("chargeDeclinedProcessingError", "failed", "processing_error", "processing_error"),
        ("chargeCustomerFail", "failed", "card_declined", "generic_decline"),
        ("authenticationRequired", "requires_action", "authentication_required", None),
        ("authenticationRequiredOnSetup", "requires_action", "authentication_required", None),
    ],
)
def test_every_test_card_behaves_as_at_stripe(
    gateway: SimulatedGateway, token: str, status: str, code: str | None, decline_code: str | None
) -> None:
    result = gateway.charge(_charge("k1", token))
    assert result.status == status and result.failure_code == code
    if decline_code is not None:
        assert result.decline_code == decline_code


def test_set_up_for_off_session_use_needs_no_authentication() -> None:
    card = card_for_token("pm_card_authenticationRequiredOnSetup")
    assert card is not None
    assert decide(card.behavior, off_session=True, set_up=True).succeeded
    assert not decide(card.behavior, off_session=False, set_up=True).succeeded
    always = card_for_token("pm_card_authenticationRequired")
    assert always is not None
    assert not decide(always.behavior, off_session=True, set_up=True).succeeded


def test_a_key_charges_once_and_answers_the_same(gateway: SimulatedGateway) -> None:
    first = gateway.charge(_charge("k1"))
    again = gateway.charge(_charge("k1"))
    assert again == first
    assert gateway.totals(SCOPE) == (2000, 0)
    assert gateway.find_charge(SCOPE, "k1") == first
    assert gateway.find_charge(SCOPE, "k2") is None
    assert gateway.find_charge(GatewayScope("acct_2", False), "k1") is None


def test_faults(gateway: SimulatedGateway) -> None:
    gateway.inject_fault(SCOPE, "charge", "timeout")
    with pytest.raises(OutcomeUnknown):
        gateway.charge(_charge("made"))
    assert gateway.find_charge(SCOPE, "made") is not None  # charged: only the answer was lost
    gateway.inject_fault(SCOPE, "charge", "server_error")
    with pytest.raises(OutcomeUnknown):
        gateway.charge(_charge("5xx"))
    assert gateway.find_charge(SCOPE, "5xx") is None
    gateway.inject_fault(SCOPE, "charge", "connection_error", times=2)
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            gateway.charge(_charge("unreachable"))
    assert gateway.charge(_charge("unreachable")).status == "succeeded"
    gateway.inject_fault(SCOPE, "lookup", "timeout")
    with pytest.raises(OutcomeUnknown):
        gateway.find_charge(SCOPE, "made")
    gateway.inject_fault(SCOPE, "charge", "decline:stolen_card")
    assert gateway.charge(_charge("stolen")).decline_code == "stolen_card"
    assert not gateway.has_faults(SCOPE)
    with pytest.raises(ValueError, match="unknown fault"):
        gateway.inject_fault(SCOPE, "refund", "decline:lost_card")


def test_refunds_never_exceed_the_charge(gateway: SimulatedGateway) -> None:
    charge = gateway.charge(_charge("k1"))

    def refund(key: str, amount: int) -> str:
        request = RefundRequest(SCOPE, key, charge.reference, amount, "eur", {"charge": "ch_1"})
        return gateway.refund(request).status

    assert refund("r1", 1500) == "succeeded"
    assert refund("r1", 1500) == "succeeded"  # the same key: the same refund
    assert refund("r2", 501) == "failed"
    assert refund("r3", 500) == "succeeded"
    assert gateway.totals(SCOPE) == (2000, 2000)
    assert gateway.find_refund(SCOPE, "r1") is not None


def test_the_books_list_what_reconciliation_has_not_seen(gateway: SimulatedGateway) -> None:
    made = gateway.charge(_charge("k1"))
    pending = gateway.unswept_charges(before=2**40, limit=10)
    assert [entry.key for entry in pending] == ["k1"]
    assert pending[0].invoice == "in_k1" and pending[0].result == made
    assert gateway.unswept_charges(before=0, limit=10) == []
    gateway.mark_swept("charges", [made.reference])
    assert gateway.unswept_charges(before=2**40, limit=10) == []
    assert gateway.succeeded_charges_by_invoice(SCOPE) == {"in_k1": 1}
