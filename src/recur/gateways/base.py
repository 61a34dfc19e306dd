"""The `PaymentGateway` protocol: what billing asks of whoever moves the money.

Recur does the billing; a gateway moves money: the simulated one (Stripe's test cards, no
network), Stripe itself, or nobody (`manual`: the merchant is paid out of band). Every
money-moving call carries an idempotency key that Recur derives from the payment attempt
it wrote first, so a repeated call never moves money twice, and an answer that got lost
(a timeout) can be asked for again by that key.

A call ends in one of three ways:
- a result (`ChargeResult`, `RefundResult`): succeeded, failed (declined), or for charges
  `requires_action` (the customer must authenticate);
- `GatewayUnavailable`: the request never reached the gateway, nothing happened;
- `OutcomeUnknown`: the request may have been carried out (a timeout, a 5xx); the caller
  records the attempt as pending and asks again later by its key.

Attaching a method may also end in `MethodDeclined` (a gateway that checks cards when
they are saved, as Stripe does): nothing was charged, the attempt fails with its codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

ChargeStatus = Literal["succeeded", "failed", "requires_action"]
RefundStatus = Literal["succeeded", "failed"]


class GatewayError(Exception):
    """A gateway call did not give an answer."""


class GatewayUnavailable(GatewayError):
    """The gateway could not be reached: the request was not carried out."""


class OutcomeUnknown(GatewayError):
    """The request may or may not have been carried out (a timeout, a 5xx answer)."""


class MethodDeclined(Exception):
    """The gateway refused to take the payment method (a card checked when attached):
    nothing was charged; `failure_code`, `decline_code`, `message` as for a decline."""

    def __init__(self, failure_code: str, decline_code: str | None, message: str) -> None:
        super().__init__(message)
        self.failure_code = failure_code
        self.decline_code = decline_code
        self.message = message


class MethodRefused(MethodDeclined):
    """The gateway refused the request about the method without a card decline (Stripe's
    `invalid_request_error`: attached to another customer, no such method)."""


@dataclass(frozen=True, slots=True)
class GatewayScope:
    """Whose money: the Recur account and mode the call is made for."""

    account_id: str
    livemode: bool


@dataclass(frozen=True, slots=True)
class MethodRef:
    """A payment method as the gateway needs it.

    `behavior` is the simulated gateway's test-card behaviour; `reference` the method's id
    at a real gateway (None until mirrored).
    """

    id: str
    behavior: str
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """Charge `amount` to a payment method, once per `idempotency_key`."""

    scope: GatewayScope
    idempotency_key: str
    amount: int
    currency: str
    customer: str | None
    method: MethodRef
    off_session: bool
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The customer's id at the gateway (None: the gateway keeps no customers).
    customer_reference: str | None = None


@dataclass(frozen=True, slots=True)
class LookupHint:
    """What narrows a search by idempotency key at a gateway that cannot look a key up
    directly (Stripe: its objects are listed per customer or per charge, and searched by
    metadata): the customer's and the charge's ids there, and a unix time the call was
    made after. Gateways that keep keys (the simulated one) ignore it."""

    customer_reference: str | None = None
    charge_reference: str | None = None
    since: int | None = None


@dataclass(frozen=True, slots=True)
class DisputeReport:
    """A dispute the gateway opened on a charge it made (the cardholder contested it with
    their bank): its id there, the amount contested, Stripe's `reason` and `status`."""

    reference: str
    amount: int
    reason: str
    status: str = "needs_response"


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What the gateway did with a charge request (`dispute`: a dispute the gateway reports
    with the charge; Stripe reports its own later, by webhook)."""

    status: ChargeStatus
    reference: str
    amount: int
    failure_code: str | None = None
    decline_code: str | None = None
    failure_message: str | None = None
    dispute: DisputeReport | None = None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """Give back `amount` of a charge the gateway made, once per `idempotency_key`."""

    scope: GatewayScope
    idempotency_key: str
    charge_reference: str
    amount: int
    currency: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundResult:
    """What the gateway did with a refund request."""

    status: RefundStatus
    reference: str
    amount: int
    failure_reason: str | None = None


class PaymentGateway(Protocol):
    """Create customer references, attach methods, charge, refund, look up by key."""

    name: str

    def create_customer(self, scope: GatewayScope, customer_id: str) -> str:
        """The gateway's reference for a Recur customer (created if needed)."""
        ...

    def attach_method(self, scope: GatewayScope, customer_reference: str, method: MethodRef) -> str:
        """Attach a payment method to the gateway's customer; its reference there."""
        ...

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge off-session (or on-session) once per idempotency key."""
        ...

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        """Several charges at once (the billing run's batch), in order."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a charge once per idempotency key."""
        ...

    def find_charge(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> ChargeResult | None:
        """The charge made under this key, or None if none was made."""
        ...

    def find_refund(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> RefundResult | None:
        """The refund made under this key, or None if none was made."""
        ...
