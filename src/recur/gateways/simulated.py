"""The simulated gateway: charges behave as Stripe's test cards do, with no network.

A payment method carries its test card's behaviour (`recur.gateways.test_cards`); a charge
succeeds or fails accordingly. The payments issue puts this behind the `PaymentGateway`
protocol with fault injection; billing only needs the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from recur.gateways.test_cards import (
    AUTHENTICATION_REQUIRED,
    AUTHENTICATION_REQUIRED_UNLESS_SETUP,
    CUSTOMER_FAIL,
    decline_code_of,
    decline_error,
)


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What a charge attempt gave."""

    succeeded: bool
    failure_code: str | None = None
    decline_code: str | None = None
    failure_message: str | None = None
    requires_action: bool = False


def charge(behavior: str, *, off_session: bool) -> ChargeOutcome:
    """Charge a card with this test behaviour (amounts never change a test card's answer)."""
    if behavior == AUTHENTICATION_REQUIRED or (
        behavior == AUTHENTICATION_REQUIRED_UNLESS_SETUP and off_session
    ):
        return ChargeOutcome(
            succeeded=False,
            failure_code="authentication_required",
            decline_code="authentication_required",
            failure_message="This payment requires authentication by the customer.",
            requires_action=True,
        )
    code = decline_code_of(behavior)
    if behavior == CUSTOMER_FAIL:
        code = "generic_decline"
    if code is not None:
        error = decline_error(code)
        return ChargeOutcome(False, error.code, error.decline_code, error.message)
    return ChargeOutcome(succeeded=True)
