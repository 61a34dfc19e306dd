"""Stripe's dispute test card (4000000000000259, `pm_card_createDispute`) on the simulated
gateway: the charge succeeds, then a dispute is opened, kept in the gateway's books."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recur.gateways.base import ChargeRequest, GatewayScope, MethodRef
from recur.gateways.simulated import SimulatedGateway, decide
from recur.gateways.test_cards import (
    card_for_token,
    dispute_reason_of,
    is_payment_method_token,
    known_card_for_number,
    stripe_test_token,
)

SCOPE = GatewayScope("acct_1", False)
BEHAVIOR = "dispute:fraudulent"


@pytest.fixture
def books(tmp_path: Path) -> Iterator[SimulatedGateway]:
    gateway = SimulatedGateway(str(tmp_path / "books.sqlite3"))
    yield gateway
    gateway.close()


def _request(key: str, behavior: str = BEHAVIOR) -> ChargeRequest:
    return ChargeRequest(
        scope=SCOPE,
        idempotency_key=key,
        amount=2500,
        currency="eur",
        customer="cus_1",
        method=MethodRef("pm_1", behavior),
        off_session=True,
    )


def test_the_card_token_and_number_stand_for_a_disputed_visa() -> None:
    card = card_for_token("pm_card_createDispute")
    assert card is not None and card == known_card_for_number("4000000000000259")
    assert (card.brand, card.spec().last4, card.behavior) == ("visa", "0259", BEHAVIOR)
    assert is_payment_method_token("pm_card_createDispute")
    assert card_for_token("tok_createDispute") == card
    assert dispute_reason_of(BEHAVIOR) == "fraudulent"
    assert dispute_reason_of("succeed") is None
    # Mirrored to Stripe as Stripe's own token, which Stripe disputes the same way.
    assert stripe_test_token("visa", "0259", BEHAVIOR) == "pm_card_createDispute"


def test_the_charge_succeeds_and_is_disputed() -> None:
    outcome = decide(BEHAVIOR, off_session=True)
    assert outcome.succeeded and outcome.status == "succeeded"
    assert outcome.dispute_reason == "fraudulent"
    assert decide("succeed", off_session=True).dispute_reason is None


def test_the_gateway_reports_the_dispute_with_the_charge_and_on_lookup(
    books: SimulatedGateway,
) -> None:
    result = books.charge(_request("inv_1:attempt:1"))
    assert result.status == "succeeded" and result.amount == 2500
    assert result.dispute is not None
    assert result.dispute.reference.startswith("simdp_")
    assert (result.dispute.amount, result.dispute.reason, result.dispute.status) == (
        2500,
        "fraudulent",
        "needs_response",
    )
    # A replay of the key and a lookup by key give the same dispute (the books keep it).
    assert books.charge(_request("inv_1:attempt:1")) == result
    assert books.find_charge(SCOPE, "inv_1:attempt:1") == result
    # Other cards open none.
    plain = books.charge(_request("inv_2:attempt:1", "succeed"))
    assert plain.dispute is None
    assert books.find_charge(SCOPE, "inv_2:attempt:1") == plain
