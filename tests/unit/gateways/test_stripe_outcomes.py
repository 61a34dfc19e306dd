"""How the Stripe gateway reads Stripe's answers (pure), and which failures mean "not sent"."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
import stripe
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from recur.gateways import test_cards
from recur.gateways.base import ChargeResult, GatewayUnavailable, OutcomeUnknown, RefundResult
from recur.gateways.stripe import (
    WebhookSignatureInvalid,
    _answer,
    charge_result,
    declined_result,
    refund_result,
    verify_event,
)


def test_a_succeeded_intent_is_a_success() -> None:
    intent = {"id": "pi_1", "status": "succeeded", "amount": 1500, "amount_received": 1500}
    assert charge_result(intent) == ChargeResult("succeeded", "pi_1", 1500)


def test_an_intent_that_needs_the_customer_requires_action() -> None:
    for intent in (
        {"id": "pi_2", "status": "requires_action", "amount": 900},
        {
            "id": "pi_2",
            "status": "requires_payment_method",
            "amount": 900,
            "last_payment_error": {"code": "authentication_required", "message": "3DS"},
        },
    ):
        result = charge_result(intent)
        assert (result.status, result.decline_code) == (
            "requires_action",
            "authentication_required",
        )


def test_a_declined_intent_keeps_stripes_codes() -> None:
    intent = {
        "id": "pi_3",
        "status": "requires_payment_method",
        "amount": 900,
        "last_payment_error": {
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        },
    }
    assert charge_result(intent) == ChargeResult(
        "failed",
        "pi_3",
        900,
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    )


@pytest.mark.parametrize("status", ["processing", "requires_confirmation", "requires_capture"])
def test_an_intent_still_on_its_way_is_unknown(status: str) -> None:
    with pytest.raises(OutcomeUnknown):
        charge_result({"id": "pi_4", "status": status, "amount": 1})


def test_card_errors() -> None:
    body = {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "lost_card",
            "message": "Your card was declined.",
            "payment_intent": {"id": "pi_5", "status": "requires_payment_method"},
        }
    }
    result = declined_result(body)
    assert (result.status, result.reference, result.decline_code) == ("failed", "pi_5", "lost_card")
    # localstripe names only the charge, and no decline code.
    local = declined_result({"error": {"code": "card_declined", "charge": "ch_6"}})
    assert (local.reference, local.failure_code, local.decline_code) == (
        "ch_6",
        "card_declined",
        None,
    )
    # Off session, a payment that needs the customer is an error at Stripe.
    needs = declined_result({"error": {"code": "authentication_required", "message": "3DS"}})
    assert needs.status == "requires_action"


def test_refunds_pending_at_stripe_count_as_made() -> None:
    assert refund_result({"id": "re_1", "status": "pending", "amount": 5}) == RefundResult(
        "succeeded", "re_1", 5
    )
    failed = refund_result({"id": "re_2", "status": "failed", "amount": 5, "failure_reason": "x"})
    assert (failed.status, failed.failure_reason) == ("failed", "x")


def _connection_error(reason: Exception) -> stripe.APIConnectionError:
    error = stripe.APIConnectionError("network")
    error.__cause__ = ConnectionError(MaxRetryError(None, "/v1/x", reason))  # type: ignore[arg-type]
    return error


@pytest.mark.parametrize(
    "reason",
    [
        NewConnectionError(None, "refused"),  # type: ignore[arg-type]
        NameResolutionError("stripe.invalid", None, OSError("no such host")),  # type: ignore[arg-type]
    ],
)
def test_a_connection_never_made_means_nothing_was_done(reason: Exception) -> None:
    with pytest.raises(GatewayUnavailable), _answer():
        raise _connection_error(reason)


@pytest.mark.parametrize(
    "reason",
    [
        ReadTimeoutError(None, "/v1/payment_intents", "read timed out"),  # type: ignore[arg-type]
        ProtocolError("Connection aborted.", ConnectionResetError()),
    ],
)
def test_a_request_that_left_may_have_been_done(reason: Exception) -> None:
    with pytest.raises(OutcomeUnknown), _answer():
        raise _connection_error(reason)


def test_status_codes() -> None:
    with pytest.raises(GatewayUnavailable), _answer():
        raise stripe.RateLimitError("slow down", http_status=429)
    with pytest.raises(OutcomeUnknown), _answer():
        raise stripe.APIError("boom", http_status=500)
    with pytest.raises(GatewayUnavailable), _answer():
        raise stripe.AuthenticationError("bad key", http_status=401)


def test_test_cards_become_stripes_test_tokens() -> None:
    visa = test_cards.card_for_token("pm_card_visa")
    assert visa is not None
    spec = visa.spec()
    assert test_cards.stripe_test_token(spec.brand, spec.last4, spec.behavior) == "pm_card_visa"
    fail = test_cards.card_for_token("pm_card_chargeCustomerFail")
    assert fail is not None
    spec = fail.spec()
    assert (
        test_cards.stripe_test_token(spec.brand, spec.last4, spec.behavior)
        == "pm_card_chargeCustomerFail"
    )
    # Another valid number that succeeds is its brand's token; an unknown brand has none.
    assert test_cards.stripe_test_token("mastercard", "0000", test_cards.SUCCEED) == (
        "pm_card_mastercard"
    )
    assert test_cards.stripe_test_token("unknown", "0000", test_cards.SUCCEED) is None


def _signed(payload: bytes, at: int, secret: bytes = b"whsec_s") -> str:
    signature = hmac.new(secret, f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={signature}"


def test_a_webhook_is_verified_as_stripe_signs_it() -> None:
    payload = b'{"id": "evt_1", "object": "event", "type": "x", "data": {"object": {}}}'
    now = int(time.time())
    assert verify_event(payload, _signed(payload, now), "whsec_s")["id"] == "evt_1"
    for header in (
        None,
        f"t={now},v1={'0' * 64}",
        _signed(payload, now, b"whsec_other"),
        _signed(payload, now - 3600),  # too old: a replay
    ):
        with pytest.raises(WebhookSignatureInvalid):
            verify_event(payload, header, "whsec_s")
