"""The Stripe gateway: a real Stripe account moves the money while Recur does the billing.

Built on the official `stripe` package, one `StripeClient` per account key and API base
(`api_base`: Stripe itself, or a stand-in such as `localstripe` in tests). What Recur asks:
- `create_customer`: a Stripe customer mirroring a Recur one (its id in the metadata);
- `attach_method`: a payment method attached to that customer — a Stripe `pm_…` collected
  by Stripe, or in test mode the documented test token of a Recur test card
  (`pm_card_visa`): Recur never holds card numbers, so it cannot send one;
- `charge`: a PaymentIntent created and confirmed in one call, off-session for renewals,
  with the attempt's idempotency key both as Stripe's `Idempotency-Key` and in the
  metadata (`recur_key`), so that it can be found again when the answer was lost;
- `refund`: a refund of that PaymentIntent, likewise keyed;
- `find_charge` / `find_refund`: the charge or refund made under a key, from Stripe's
  lists (see `find_charge` for why lists and not search).

How calls end (docs.stripe.com/error-handling, /error-low-level):
- a PaymentIntent `succeeded` → succeeded; `requires_action`, or a card error
  `authentication_required` (an off-session payment that needs the customer) →
  requires_action; a card error → failed with its `code`, `decline_code` and message;
- the request could not be sent (connection refused, DNS, connect timeout), or Stripe
  refused it without doing anything (429 rate limit, a rejected key) → `GatewayUnavailable`;
- the request may have been carried out (a read timeout or a connection dropped after
  sending, a 5xx, a 409 idempotency conflict, an answer that cannot be read) →
  `OutcomeUnknown`: the attempt stays pending until the reconciler finds it by key.

The SDK's own retries are off (`max_network_retries=0`): Recur's attempts, reconciler and
dunning are the retry machinery, and a stand-in that ignores idempotency keys
(localstripe does) would turn an SDK retry into a second charge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import stripe

# urllib3 comes with `requests`, the HTTP client `stripe` depends on and is given here.
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from recur.gateways.base import (
    ChargeRequest,
    ChargeResult,
    GatewayScope,
    GatewayUnavailable,
    LookupHint,
    MethodDeclined,
    MethodRef,
    MethodRefused,
    OutcomeUnknown,
    RefundRequest,
    RefundResult,
)

# Seconds to connect, and to wait for an answer once the request was sent.
CONNECT_TIMEOUT: Final = 10.0
READ_TIMEOUT: Final = 30.0
# Stripe's own tolerance for a webhook's timestamp (replayed deliveries are refused).
WEBHOOK_TOLERANCE: Final = 300
# A charge is looked for among the customer's charges made this long before the attempt
# was written (clock skew between Recur's database and Stripe).
LOOKUP_SLACK: Final = 600
# Metadata keys Recur writes on Stripe objects.
KEY: Final = "recur_key"
AUTHENTICATION_MESSAGE: Final = "This payment requires authentication by the customer."


class WebhookSignatureInvalid(Exception):
    """A webhook's `Stripe-Signature` does not verify with the signing secret."""


def verify_event(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event a webhook delivers, once its signature verified (else the exception).

    `stripe.Webhook.construct_event` checks the HMAC-SHA256 of `<t>.<payload>` under the
    endpoint's signing secret and the timestamp's age (docs.stripe.com/webhooks#verify-manually).
    """
    try:
        stripe.Webhook.construct_event(payload, signature, secret, tolerance=WEBHOOK_TOLERANCE)
    except stripe.SignatureVerificationError as error:
        raise WebhookSignatureInvalid(str(error.user_message or error)) from error
    except ValueError as error:
        raise WebhookSignatureInvalid("The payload is not a JSON event.") from error
    event = json.loads(payload)
    if not isinstance(event, dict):
        raise WebhookSignatureInvalid("The payload is not a JSON event.")
    return event


# --- pure mappings of Stripe's answers ----------------------------------------------------


def charge_result(intent: Mapping[str, Any]) -> ChargeResult:
    """A PaymentIntent as a charge result; `OutcomeUnknown` while it is still `processing`."""
    status = intent.get("status")
    amount = int(intent.get("amount_received") or intent.get("amount") or 0)
    reference = str(intent["id"])
    if status == "succeeded":
        return ChargeResult("succeeded", reference, amount)
    if status == "requires_action":
        return ChargeResult(
            "requires_action",
            reference,
            int(intent.get("amount") or 0),
            "authentication_required",
            "authentication_required",
            AUTHENTICATION_MESSAGE,
        )
    if status in ("requires_payment_method", "canceled"):
        error = intent.get("last_payment_error") or {}
        code = error.get("code") or ("canceled" if status == "canceled" else "card_declined")
        if code == "authentication_required":
            return ChargeResult(
                "requires_action",
                reference,
                int(intent.get("amount") or 0),
                "authentication_required",
                "authentication_required",
                error.get("message") or AUTHENTICATION_MESSAGE,
            )
        return ChargeResult(
            "failed",
            reference,
            int(intent.get("amount") or 0),
            code,
            error.get("decline_code"),
            error.get("message") or "The payment failed.",
        )
    raise OutcomeUnknown(f"the PaymentIntent {reference} is {status}")


def declined_result(error_body: Mapping[str, Any]) -> ChargeResult:
    """A card error's body (`{"error": {…}}`) as a charge result."""
    error = error_body.get("error") or {}
    intent = error.get("payment_intent") or {}
    reference = str(intent.get("id") or error.get("charge") or "")
    code = str(error.get("code") or "card_declined")
    message = str(error.get("message") or "Your card was declined.")
    if code == "authentication_required":
        return ChargeResult(
            "requires_action",
            reference,
            0,
            "authentication_required",
            "authentication_required",
            message,
        )
    return ChargeResult("failed", reference, 0, code, error.get("decline_code"), message)


def refund_result(refund: Mapping[str, Any]) -> RefundResult:
    """A Stripe refund as a refund result (`pending` counts: Stripe has taken it on)."""
    status = refund.get("status")
    succeeded = status in ("succeeded", "pending", "requires_action", None)
    return RefundResult(
        "succeeded" if succeeded else "failed",
        str(refund["id"]),
        int(refund.get("amount") or 0),
        None if succeeded else str(refund.get("failure_reason") or status),
    )


def _was_sent(error: stripe.APIConnectionError) -> bool:
    """Whether a failed request may have reached Stripe: only a failure to connect (refused,
    unresolvable, connect timeout) proves it did not."""
    cause = error.__cause__
    reason = cause.args[0] if cause is not None and cause.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return not isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too


@contextmanager
def _answer() -> Iterator[None]:
    """Turn the SDK's failures to answer into the protocol's (card and request errors pass)."""
    try:
        yield
    except stripe.APIConnectionError as error:
        if _was_sent(error):
            raise OutcomeUnknown(f"Stripe's answer was lost: {error.user_message}") from error
        raise GatewayUnavailable(f"Stripe could not be reached: {error.user_message}") from error
    except stripe.RateLimitError as error:
        raise GatewayUnavailable("Stripe refused the request: too many requests") from error
    except (stripe.AuthenticationError, stripe.PermissionError) as error:
        raise GatewayUnavailable(
            f"Stripe refused the account's key: {error.user_message}"
        ) from error
    except stripe.IdempotencyError as error:
        raise OutcomeUnknown(f"Stripe's idempotency check failed: {error.user_message}") from error
    except stripe.APIError as error:
        raise OutcomeUnknown(
            f"Stripe answered {error.http_status}: {error.user_message}"
        ) from error


def _body(error: stripe.StripeError) -> Mapping[str, Any]:
    body = error.json_body
    return body if isinstance(body, Mapping) else {}


class StripeGateway:
    """One Stripe account (its secret key) behind the `PaymentGateway` protocol."""

    name = "stripe"
    collects_automatically = True
    # Customers and methods live at Stripe: they are mirrored before they are charged.
    mirrors_objects = True

    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str | None = None,
        timeout: float = READ_TIMEOUT,
    ) -> None:
        http = stripe.RequestsClient(timeout=(min(CONNECT_TIMEOUT, timeout), timeout))
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else {},
            max_network_retries=0,
            http_client=http,
        )

    # --- mirroring ------------------------------------------------------------------------

    def create_customer(self, scope: GatewayScope, customer_id: str) -> str:
        """A Stripe customer for a Recur customer (one per key: a replay gives the same)."""
        with _answer():
            customer = self._client.v1.customers.create(
                params={
                    "metadata": {
                        "recur_customer": customer_id,
                        "recur_account": scope.account_id,
                    }
                },
                options={"idempotency_key": f"{scope.account_id}:{customer_id}:customer"},
            )
        return str(customer.id)

    def attach_method(self, scope: GatewayScope, customer_reference: str, method: MethodRef) -> str:
        """Attach `method.reference` (a Stripe `pm_…`, or a test token such as `pm_card_visa`,
        which Stripe turns into a new method) to the customer; the method's id at Stripe."""
        if not method.reference:
            raise MethodDeclined(
                "processing_error", None, "This payment method cannot be used with Stripe."
            )
        try:
            with _answer():
                attached = self._client.v1.payment_methods.attach(
                    method.reference,
                    params={"customer": customer_reference},
                    options={"idempotency_key": f"{scope.account_id}:{method.id}:attach"},
                )
        except stripe.CardError as error:
            result = declined_result(_body(error))
            raise MethodDeclined(
                result.failure_code or "card_declined",
                result.decline_code,
                result.failure_message or "Your card was declined.",
            ) from error
        except stripe.InvalidRequestError as error:
            raise MethodRefused(
                "processing_error",
                None,
                f"Stripe refused the payment method: {error.user_message}",
            ) from error
        return str(attached.id)

    # --- money --------------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a PaymentIntent once per idempotency key."""
        metadata = {
            KEY: request.idempotency_key,
            "recur_account": request.scope.account_id,
            **{f"recur_{name}": value for name, value in request.metadata.items() if value},
        }
        # Only parameters both Stripe and localstripe accept (see the notes in the ADR).
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency,
            "payment_method": request.method.reference,
            "payment_method_types": ["card"],
            "confirm": True,
            "metadata": metadata,
        }
        if request.customer_reference:
            params["customer"] = request.customer_reference
        if request.off_session:
            params["off_session"] = True
        try:
            with _answer():
                intent = self._client.v1.payment_intents.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": request.idempotency_key},
                )
        except stripe.CardError as error:
            result = declined_result(_body(error))
            return ChargeResult(
                result.status,
                result.reference,
                request.amount,
                result.failure_code,
                result.decline_code,
                result.failure_message,
            )
        except stripe.InvalidRequestError as error:
            # Refused before anything was charged (a method detached at Stripe, …).
            error_body = _body(error).get("error") or {}
            return ChargeResult(
                "failed",
                "",
                request.amount,
                str(error.code or "processing_error"),
                None,
                str(error_body.get("message") or error.user_message or "Stripe refused it."),
            )
        return charge_result(intent.to_dict())

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        """One PaymentIntent per request, in order (Stripe has no batch call)."""
        return [self.charge(request) for request in requests]

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a PaymentIntent (or a `ch_…` charge) once per idempotency key."""
        target = "charge" if request.charge_reference.startswith("ch_") else "payment_intent"
        params: dict[str, Any] = {
            target: request.charge_reference,
            "amount": request.amount,
            "metadata": {
                KEY: request.idempotency_key,
                "recur_account": request.scope.account_id,
                **{f"recur_{name}": value for name, value in request.metadata.items() if value},
            },
        }
        try:
            with _answer():
                refund = self._client.v1.refunds.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": request.idempotency_key},
                )
        except stripe.InvalidRequestError as error:
            return RefundResult("failed", "", request.amount, str(error.code or "unknown"))
        return refund_result(refund.to_dict())

    # --- looking up by key ----------------------------------------------------------------

    def find_charge(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> ChargeResult | None:
        """The PaymentIntent made under a key, from the customer's charges.

        Not Stripe's search (`metadata['recur_key']:…`): search is eventually consistent
        (docs.stripe.com/search#data-freshness), and "not found" would fail an attempt
        whose charge had been made. The customer's charges are a consistent list that
        both Stripe and localstripe serve (localstripe filters neither PaymentIntents by
        customer nor anything by metadata); each charge names its PaymentIntent, whose
        metadata holds the key. A PaymentIntent that never made a charge (one that needs
        authentication) is not found: nothing was charged under it.
        """
        if hint is None or not hint.customer_reference:
            return None  # the customer was never mirrored: nothing was charged through it
        params: dict[str, Any] = {"customer": hint.customer_reference, "limit": 100}
        if hint.since is not None:
            params["created"] = {"gt": hint.since - LOOKUP_SLACK}
        seen: set[str] = set()
        with _answer():
            page = self._client.v1.charges.list(params=params)  # type: ignore[arg-type]
            for charge in page.auto_paging_iter():
                intent_id = charge.to_dict().get("payment_intent")
                if not intent_id or intent_id in seen:
                    continue
                seen.add(intent_id)
                intent = self._client.v1.payment_intents.retrieve(intent_id).to_dict()
                if (intent.get("metadata") or {}).get(KEY) == idempotency_key:
                    return charge_result(intent)
        return None

    def find_refund(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> RefundResult | None:
        """The refund made under a key, among the refunds of the charge it was asked of."""
        if hint is None or not hint.charge_reference:
            return None
        for refund in self.refunds_of(hint.charge_reference):
            if (refund.get("metadata") or {}).get(KEY) == idempotency_key:
                return refund_result(refund)
        return None

    def refunds_of(self, charge_reference: str) -> list[dict[str, Any]]:
        """Every refund of a PaymentIntent (or `ch_…` charge) at Stripe, newest first."""
        target = "charge" if charge_reference.startswith("ch_") else "payment_intent"
        with _answer():
            params: dict[str, Any] = {target: charge_reference, "limit": 100}
            page = self._client.v1.refunds.list(params=params)  # type: ignore[arg-type]
            return [refund.to_dict() for refund in page.auto_paging_iter()]

    def payment_method(self, reference: str) -> dict[str, Any] | None:
        """A payment method as Stripe has it (None: Stripe has no such method)."""
        try:
            with _answer():
                return self._client.v1.payment_methods.retrieve(reference).to_dict()
        except stripe.InvalidRequestError:
            # 404 `resource_missing` (or an id Stripe cannot read): no such method there.
            return None

    def payment_intent(self, reference: str) -> dict[str, Any]:
        """A PaymentIntent as Stripe has it now."""
        with _answer():
            return self._client.v1.payment_intents.retrieve(reference).to_dict()

    def intent_of_charge(self, charge_reference: str) -> str | None:
        """The PaymentIntent a Stripe charge (`ch_…`) belongs to."""
        with _answer():
            charge = self._client.v1.charges.retrieve(charge_reference)
        intent = charge.to_dict().get("payment_intent")
        return str(intent) if intent else None


class UnconfiguredStripe:
    """An account on the Stripe gateway without a key for this mode: nothing can be done,
    and nothing was (every call is `GatewayUnavailable`, so attempts fail as processing
    errors and are retried once a key is set; lookups are asked again later)."""

    name = "stripe"
    collects_automatically = True
    mirrors_objects = True

    def __init__(self, mode: str) -> None:
        self._message = (
            f"No Stripe secret key is configured for {mode} mode (stripe[secret_key] in "
            "/v1/billing/settings)."
        )

    def _refuse(self) -> GatewayUnavailable:
        return GatewayUnavailable(self._message)

    def create_customer(self, scope: GatewayScope, customer_id: str) -> str:
        """Refused: no key."""
        raise self._refuse()

    def attach_method(self, scope: GatewayScope, customer_reference: str, method: MethodRef) -> str:
        """Refused: no key."""
        raise self._refuse()

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Refused: no key."""
        raise self._refuse()

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        """Refused: no key."""
        raise self._refuse()

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refused: no key."""
        raise self._refuse()

    def find_charge(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> ChargeResult | None:
        """Refused: no key (asked again later)."""
        raise self._refuse()

    def find_refund(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> RefundResult | None:
        """Refused: no key (asked again later)."""
        raise self._refuse()
