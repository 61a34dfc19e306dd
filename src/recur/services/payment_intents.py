"""PaymentIntents: create, confirm, retrieve, list, cancel; charges: retrieve, list.

An intent made through the API charges through the same attempts as invoices do
(services/payment_attempts.py). Confirming an invoice's intent pays the invoice (what the
hosted invoice page does once the customer is there); it cannot be canceled directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from recur.domain.errors import InvalidRequest, PaymentFailed
from recur.domain.money import is_valid_currency
from recur.services import payment_attempts
from recur.services.customers import get_live_customer
from recur.services.payment_methods import resolve_payment_method
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import InvoiceRepository
from recur.storage.repositories.payment_methods import PaymentMethodRepository
from recur.storage.repositories.payments import AttemptRepository, PaymentIntentRepository
from recur.storage.uow import UnitOfWork

CONFIRMABLE: Final = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE: Final = CONFIRMABLE
CANCELLATION_REASONS: Final = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


def _intents(uow: UnitOfWork) -> PaymentIntentRepository:
    return uow.repository(PaymentIntentRepository)


def _method_for(
    uow: UnitOfWork,
    method_id: str,
    customer_id: str | None,
    now: datetime,
    *,
    secret: str,
) -> str:
    """A payment method usable by the intent: the customer's, or one attached to nobody."""
    method = resolve_payment_method(uow, method_id, now, secret=secret, param="payment_method")
    if method["customer"] not in (None, customer_id):
        raise InvalidRequest(
            f"The payment method {method['id']} belongs to another customer.",
            param="payment_method",
        )
    if method["customer"] is None and method["detached_at"] is not None:
        raise InvalidRequest(
            "This PaymentMethod was previously used without being attached to a Customer or "
            "was detached from a Customer, and may not be used again.",
            param="payment_method",
        )
    return str(method["id"])


def create_payment_intent(
    uow: UnitOfWork, values: Mapping[str, Any], now: datetime, *, secret: str
) -> Record:
    """`POST /v1/payment_intents` (and confirm at once with `confirm=true`)."""
    amount = int(values["amount"])
    if amount <= 0:
        raise InvalidRequest("This value must be greater than or equal to 1.", param="amount")
    currency = str(values["currency"]).lower()
    if not is_valid_currency(currency):
        raise InvalidRequest(f"Invalid currency: {currency}.", param="currency")
    if values.get("capture_method") == "manual":
        raise InvalidRequest(
            "Recur captures payments at once: capture_method=manual is not supported.",
            param="capture_method",
        )
    if values.get("off_session") is not None and not values.get("confirm"):
        raise InvalidRequest(
            "off_session can only be given with confirm=true.", param="off_session"
        )
    customer = None
    if values.get("customer"):
        customer = get_live_customer(uow, values["customer"], param="customer")
    customer_id = None if customer is None else str(customer["id"])
    at = payment_attempts.customer_time(uow, customer_id, now)
    method_id = None
    if values.get("payment_method"):
        method_id = _method_for(uow, values["payment_method"], customer_id, now, secret=secret)
    row = payment_attempts.intent_row(
        amount=amount,
        currency=currency,
        at=at,
        customer=customer_id,
        payment_method=method_id,
        description=values.get("description"),
        metadata=values.get("metadata"),
        setup_future_usage=values.get("setup_future_usage"),
        receipt_email=values.get("receipt_email"),
        test_clock=None if customer is None else customer["test_clock"],
    )
    intent = payment_attempts.create_intent(uow, row, at, event=True)
    if values.get("confirm"):
        return confirm_payment_intent(
            uow,
            intent["id"],
            {"off_session": values.get("off_session")},
            now,
            secret=secret,
        )
    return intent


def confirm_payment_intent(
    uow: UnitOfWork, intent_id: str, values: Mapping[str, Any], now: datetime, *, secret: str
) -> Record:
    """`POST /v1/payment_intents/{id}/confirm`: one attempt with the intent's method.

    A decline answers 402 (the attempt stays recorded, the intent `requires_payment_method`);
    authentication leaves it `requires_action`; a lost answer leaves it `processing`.
    """
    intent = _intents(uow).get(intent_id, for_update=True)
    if intent["status"] not in CONFIRMABLE:
        raise InvalidRequest(
            f"You cannot confirm this PaymentIntent because it has a status of {intent['status']}.",
            code="payment_intent_unexpected_state",
        )
    if payment_attempts.pending_attempt(uow, intent) is not None:
        raise InvalidRequest(
            "A payment of this PaymentIntent is being confirmed with the payment gateway.",
            code="payment_intent_unexpected_state",
        )
    at = payment_attempts.customer_time(uow, intent["customer"], now)
    method_id = intent["payment_method"]
    if values.get("payment_method"):
        method_id = _method_for(
            uow, values["payment_method"], intent["customer"], now, secret=secret
        )
    if not method_id:
        raise InvalidRequest(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "Update it with a payment_method, or confirm with one.",
            param="payment_method",
            code="payment_intent_unexpected_state",
        )
    if intent["invoice"]:
        return _pay_invoice_intent(uow, intent, method_id, at)
    attempt_number = uow.repository(AttemptRepository).count_for_intent(intent_id) + 1
    key = f"{intent['id']}:attempt:{attempt_number}"
    result = payment_attempts.run_attempt(
        uow, intent, method_id, at, key=key, off_session=bool(values.get("off_session"))
    )
    if result.status == "failed" and result.charge is not None:
        raise PaymentFailed(
            result.charge["failure_message"] or "Your card was declined.",
            code=result.charge["failure_code"] or "card_declined",
            decline_code=result.charge["decline_code"],
        )
    if result.status == "succeeded":
        _save_for_future_use(uow, result.intent)
    return result.intent


def _save_for_future_use(uow: UnitOfWork, intent: Record) -> None:
    """`setup_future_usage`: a successful payment attaches its method to the customer."""
    if not intent["setup_future_usage"] or not intent["customer"]:
        return
    methods = uow.repository(PaymentMethodRepository)
    method = methods.get(intent["payment_method"])
    if method["customer"] is None:
        methods.update(method["id"], {"customer": intent["customer"]})


def _pay_invoice_intent(uow: UnitOfWork, intent: Record, method_id: str, at: datetime) -> Record:
    """Confirming an invoice's intent is paying the invoice with that method."""
    # Imported here: collection builds on invoices, which build on this module's neighbours.
    from recur.services import collection

    invoice = uow.repository(InvoiceRepository).get(intent["invoice"], for_update=True)
    if invoice["status"] not in ("open", "uncollectible"):
        raise InvalidRequest(
            f"This PaymentIntent's invoice is {invoice['status']}: it cannot be paid.",
            code="payment_intent_unexpected_state",
        )
    collected = collection.attempt_invoice_payment(
        uow, invoice, at, payment_method=method_id, off_session=False
    )
    if invoice["subscription"]:
        from recur.services import advance

        advance.schedule(uow, invoice["subscription"])
    current = _intents(uow).get(intent["id"])
    if collected.status == "failed" and collected.failure is not None:
        raise PaymentFailed(
            collected.failure.get("failure_message") or "Your card was declined.",
            code=collected.failure.get("failure_code") or "card_declined",
            decline_code=collected.failure.get("decline_code"),
        )
    return current


def cancel_payment_intent(
    uow: UnitOfWork, intent_id: str, reason: str | None, now: datetime
) -> Record:
    """`POST /v1/payment_intents/{id}/cancel`."""
    intent = _intents(uow).get(intent_id, for_update=True)
    if intent["invoice"]:
        raise InvalidRequest(
            "You cannot cancel this PaymentIntent because it was created by an invoice: void "
            "the invoice instead.",
            code="payment_intent_unexpected_state",
        )
    if intent["status"] not in CANCELABLE:
        raise InvalidRequest(
            f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
            code="payment_intent_unexpected_state",
        )
    at = payment_attempts.customer_time(uow, intent["customer"], now)
    return payment_attempts.cancel_intent(uow, intent, at, reason=reason)


def retrieve_payment_intent(uow: UnitOfWork, intent_id: str) -> Record:
    """One intent of this tenant."""
    return _intents(uow).get(intent_id)


def list_payment_intents(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    customer: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of intents, newest first."""
    return _intents(uow).list_intents(request, customer=customer, created=created)


def retrieve_charge(uow: UnitOfWork, charge_id: str) -> Record:
    """One charge (payment attempt) of this tenant."""
    return uow.repository(AttemptRepository).get(charge_id)


def list_charges(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    customer: str | None = None,
    payment_intent: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of charges, newest first."""
    return uow.repository(AttemptRepository).list_charges(
        request, customer=customer, payment_intent=payment_intent, created=created
    )
