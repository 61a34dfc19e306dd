"""Payment methods (cards): create from a test card, attach, detach, update, list.

A card number is looked at once, here, to derive what is kept (brand, last4, expiry,
funding, country, a keyed fingerprint, the test behaviour); it is never stored, logged
or echoed in an error. Errors about a card are Stripe `card_error`s (HTTP 402).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.errors import CardDeclined, InvalidRequest, NotFound
from recur.domain.ids import BASE62, new_id
from recur.gateways import test_cards
from recur.gateways.test_cards import CardSpec
from recur.services import adopted_methods, customer_events
from recur.services.balance_transactions import customer_time
from recur.services.events import record_event
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.payment_methods import PaymentMethodRepository
from recur.storage.uow import UnitOfWork

FINGERPRINT_LENGTH = 16
# How far ahead an expiry may lie (Stripe refuses absurd years as invalid_expiry_year).
MAX_EXPIRY_YEARS_AHEAD = 50
# Test tokens (`pm_card_visa`) expire in December, this many years ahead.
TOKEN_EXPIRY_YEARS_AHEAD = 10
ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")


@dataclass(frozen=True, slots=True)
class CardInput:
    """The `card` parameter of a create: a raw test number, or a `tok_…` token."""

    number: str | None = None
    exp_month: str | None = None
    exp_year: str | None = None
    cvc: str | None = None
    token: str | None = None

    def __repr__(self) -> str:
        # Never let a card number reach a log line through a repr.
        return "CardInput(<redacted>)"


def _repo(uow: UnitOfWork) -> PaymentMethodRepository:
    return uow.repository(PaymentMethodRepository)


def card_fingerprint(secret: str, account_id: str, digits: str) -> str:
    """A per-account fingerprint of a card number: equal cards, equal fingerprints.

    Keyed (HMAC-SHA256 under the instance secret and the account), because the few
    billion numbers sharing a known IIN and last4 are easy to enumerate against a plain
    hash; per account, so fingerprints cannot be correlated across merchants.
    """
    key = hmac.new(secret.encode(), f"card-fingerprint:{account_id}".encode(), hashlib.sha256)
    digest = hmac.new(key.digest(), digits.encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest, "big")
    chars = []
    for _ in range(FINGERPRINT_LENGTH):
        value, index = divmod(value, len(BASE62))
        chars.append(BASE62[index])
    return "".join(chars)


def _card_error(message: str, code: str, param: str) -> CardDeclined:
    return CardDeclined(message, code=code, param=param, decline_code=None)


def _parse_month(value: str | None) -> int:
    text = (value or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= 12:
        raise _card_error(
            "Your card's expiration month is invalid.", "invalid_expiry_month", "card[exp_month]"
        )
    return int(text)


def _parse_year(value: str | None) -> int:
    text = (value or "").strip()
    if not text.isdigit() or len(text) not in (2, 4):
        raise _card_error(
            "Your card's expiration year is invalid.", "invalid_expiry_year", "card[exp_year]"
        )
    year = int(text)
    return year + 2000 if year < 100 else year


def _check_expiry(month: int, year: int, now: datetime) -> None:
    if year < now.year or year > now.year + MAX_EXPIRY_YEARS_AHEAD:
        raise _card_error(
            "Your card's expiration year is invalid.", "invalid_expiry_year", "card[exp_year]"
        )
    if year == now.year and month < now.month:
        raise _card_error(
            "Your card's expiration month is invalid.", "invalid_expiry_month", "card[exp_month]"
        )


def _refuse_test_card_in_live_mode(uow: UnitOfWork) -> None:
    if uow.scope.livemode:
        # Stripe's answer when a live request uses a test card.
        raise CardDeclined(
            "Your card was declined. Your request was in live mode, but used a known test card.",
            code="card_declined",
            decline_code="test_mode_live_card",
        )


@dataclass(frozen=True, slots=True)
class _Card:
    spec: CardSpec
    digits: str
    exp_month: int
    exp_year: int
    cvc_given: bool


def _card_from_token(uow: UnitOfWork, token: str, now: datetime, param: str | None) -> _Card:
    card = test_cards.card_for_token(token)
    if card is None:
        raise NotFound.for_id("token", token, param)
    _refuse_test_card_in_live_mode(uow)
    return _Card(card.spec(), card.number, 12, now.year + TOKEN_EXPIRY_YEARS_AHEAD, True)


def _card_from_input(uow: UnitOfWork, card: CardInput, now: datetime) -> _Card:
    if card.token is not None:
        if card.number is not None:
            raise InvalidRequest(
                "You cannot pass both card[token] and card[number].", param="card[token]"
            )
        return _card_from_token(uow, card.token, now, "card[token]")
    if card.number is None:
        raise InvalidRequest("Missing required param: card[number].", param="card[number]")
    digits = test_cards.normalize_number(card.number)
    if digits is None:
        raise _card_error("Your card number is incorrect.", "incorrect_number", "card[number]")
    if card.exp_month is None:
        raise InvalidRequest("Missing required param: card[exp_month].", param="card[exp_month]")
    if card.exp_year is None:
        raise InvalidRequest("Missing required param: card[exp_year].", param="card[exp_year]")
    month, year = _parse_month(card.exp_month), _parse_year(card.exp_year)
    _check_expiry(month, year, now)
    if card.cvc is not None:
        cvc = card.cvc.strip()
        if not cvc.isdigit() or len(cvc) not in (3, 4):
            raise _card_error("Your card's security code is invalid.", "invalid_cvc", "card[cvc]")
    if uow.scope.livemode:
        if test_cards.known_card_for_number(digits) is not None:
            _refuse_test_card_in_live_mode(uow)
        # Real card numbers belong at the payment gateway, never in Recur's database.
        raise InvalidRequest(
            "Card numbers are accepted in test mode only: in live mode, cards are collected "
            "by the payment gateway.",
            param="card[number]",
        )
    return _Card(test_cards.spec_for_number(digits), digits, month, year, card.cvc is not None)


def _billing_details(values: Mapping[str, Any] | None) -> dict[str, Any]:
    values = values or {}
    address = values.get("address")
    return {
        "address": {name: (address or {}).get(name) for name in ADDRESS_FIELDS}
        if address
        else None,
        "email": values.get("email"),
        "name": values.get("name"),
        "phone": values.get("phone"),
    }


def _row(
    uow: UnitOfWork,
    card: _Card,
    now: datetime,
    secret: str,
    *,
    billing_details: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    allow_redisplay: str | None = None,
) -> dict[str, Any]:
    details = _billing_details(billing_details)
    address = details["address"] or {}
    spec = card.spec
    return {
        "id": new_id("pm"),
        "created": to_unix(now),
        "type": "card",
        "customer": None,
        "billing_details": details,
        "brand": spec.brand,
        "last4": spec.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "funding": spec.funding,
        "country": spec.country,
        "fingerprint": card_fingerprint(secret, uow.scope.account_id, card.digits),
        "behavior": spec.behavior,
        # The simulated issuer accepts every CVC and address it is shown.
        "checks": {
            "address_line1_check": "pass" if address.get("line1") else None,
            "address_postal_code_check": "pass" if address.get("postal_code") else None,
            "cvc_check": "pass" if card.cvc_given else None,
        },
        "allow_redisplay": allow_redisplay or "unspecified",
        "detached_at": None,
        "metadata": dict(metadata or {}),
    }


def create_payment_method(
    uow: UnitOfWork,
    card: CardInput,
    now: datetime,
    *,
    secret: str,
    billing_details: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    allow_redisplay: str | None = None,
) -> Record:
    """Create a card payment method from a test card number or a `tok_…` token."""
    row = _row(
        uow,
        _card_from_input(uow, card, now),
        now,
        secret,
        billing_details=billing_details,
        metadata=metadata,
        allow_redisplay=allow_redisplay,
    )
    return _repo(uow).insert(row)


def retrieve_payment_method(
    uow: UnitOfWork, payment_method_id: str, now: datetime, *, secret: str
) -> Record:
    """A payment method; a test id (`pm_card_visa`) gives a fresh, unsaved one."""
    if test_cards.is_payment_method_token(payment_method_id) and not uow.scope.livemode:
        card = _card_from_token(uow, payment_method_id, now, "payment_method")
        row = _row(uow, card, now, secret)
        return {**row, "account_id": uow.scope.account_id, "livemode": uow.scope.livemode}
    return _repo(uow).get(payment_method_id)


def get_payment_method(
    uow: UnitOfWork, payment_method_id: str, *, param: str | None = None
) -> Record:
    """A stored payment method (for other resources)."""
    return _repo(uow).get(payment_method_id, param=param)


def resolve_payment_method(
    uow: UnitOfWork, payment_method_id: str, now: datetime, *, secret: str, param: str | None
) -> Record:
    """A stored payment method, or a new one when given a test id such as `pm_card_visa`."""
    if test_cards.is_payment_method_token(payment_method_id):
        return _repo(uow).insert(
            _row(uow, _card_from_token(uow, payment_method_id, now, param), now, secret)
        )
    record = _repo(uow).find(payment_method_id, for_update=True)
    if record is None:
        # A `pm_…` collected by Stripe, when the account is on Stripe (else 404 naming param).
        record = adopted_methods.adopt_payment_method(uow, payment_method_id, now, param=param)
    return record


def _live_customer(uow: UnitOfWork, customer_id: str, param: str | None) -> Record:
    record = uow.repository(CustomerRepository).get(customer_id, param=param, for_update=True)
    if record["deleted"]:
        raise NotFound.for_id("customer", customer_id, param)
    return record


def attach_payment_method(
    uow: UnitOfWork,
    payment_method_id: str,
    customer_id: str,
    now: datetime,
    *,
    secret: str,
    param: str | None = None,
) -> Record:
    """Attach a payment method (or a new one from a test id) to a customer.

    The card is checked on attach, as Stripe does: the decline test cards fail here
    (402), and only `pm_card_chargeCustomerFail` attaches and declines later.
    """
    customer = _live_customer(uow, customer_id, "customer")
    record = resolve_payment_method(uow, payment_method_id, now, secret=secret, param=param)
    if record["customer"] == customer_id:
        return record
    if record["customer"] is not None:
        raise InvalidRequest(
            "The payment method you provided has already been attached to a customer.",
            param=param,
        )
    if record["detached_at"] is not None:
        raise InvalidRequest(
            "This PaymentMethod was previously used without being attached to a Customer or "
            "was detached from a Customer, and may not be used again.",
            param=param,
        )
    failure = test_cards.attach_decline(record["behavior"])
    if failure is not None:
        raise CardDeclined(failure.message, code=failure.code, decline_code=failure.decline_code)
    # A method that lives at Stripe is attached there first (nothing for the others).
    adopted_methods.attach_at_gateway(uow, record, customer_id, param=param)
    attached = _repo(uow).update(record["id"], {"customer": customer_id})
    at = customer_time(uow, customer, now)
    record_event(uow, "payment_method.attached", "payment_method", attached, at)
    return attached


def detach_payment_method(uow: UnitOfWork, payment_method_id: str, now: datetime) -> Record:
    """Detach a payment method from its customer; it can never be attached again.

    If it was the customer's default payment method for invoices, the default is cleared.
    """
    record = _repo(uow).get(payment_method_id, for_update=True)
    customer_id = record["customer"]
    if customer_id is None:
        raise InvalidRequest(
            "The payment method you provided is not attached to a customer so detachment "
            "is impossible."
        )
    customers = uow.repository(CustomerRepository)
    customer = customers.find(customer_id, for_update=True)
    at = now if customer is None else customer_time(uow, customer, now)
    detached = _repo(uow).update(payment_method_id, {"customer": None, "detached_at": to_unix(now)})
    # Stripe's `payment_method.detached` names the customer in `previous_attributes`.
    record_event(uow, "payment_method.detached", "payment_method", detached, at, previous=record)
    if customer is not None and customer["default_payment_method"] == payment_method_id:
        cleared = customers.update(customer_id, {"default_payment_method": None})
        customer_events.record_customer_updated(uow, customer, cleared, at)
    return detached


def update_payment_method(
    uow: UnitOfWork,
    payment_method_id: str,
    now: datetime,
    *,
    billing_details: Mapping[str, Any] | None = None,
    exp_month: str | None = None,
    exp_year: str | None = None,
    metadata: Mapping[str, str] | None = None,
    allow_redisplay: str | None = None,
) -> Record:
    """Update an attached payment method.

    `billing_details` holds only the fields sent (None unsets; `address` merges field by
    field, and an `address` of None removes it). Stripe only updates attached methods.
    """
    record = _repo(uow).get(payment_method_id, for_update=True)
    if record["customer"] is None:
        raise InvalidRequest(
            "You must save this PaymentMethod to a customer before you can update it."
        )
    changes: dict[str, Any] = {}
    if billing_details is not None:
        changes["billing_details"] = _merged_billing_details(
            record["billing_details"] or _billing_details(None), billing_details
        )
    if exp_month is not None or exp_year is not None:
        month = _parse_month(exp_month) if exp_month is not None else record["exp_month"]
        year = _parse_year(exp_year) if exp_year is not None else record["exp_year"]
        _check_expiry(month, year, now)
        changes["exp_month"], changes["exp_year"] = month, year
    if metadata is not None:
        changes["metadata"] = dict(metadata)
    if allow_redisplay is not None:
        changes["allow_redisplay"] = allow_redisplay
    updated = _repo(uow).update(payment_method_id, changes)
    owner = uow.repository(CustomerRepository).find(record["customer"])
    at = now if owner is None else customer_time(uow, owner, now)
    record_event(uow, "payment_method.updated", "payment_method", updated, at, previous=record)
    return updated


def _merged_billing_details(
    current: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    merged = dict(current)
    for name, value in changes.items():
        if name == "address" and value is not None:
            address = dict(merged.get("address") or dict.fromkeys(ADDRESS_FIELDS))
            address.update(value)
            merged["address"] = address
        else:
            merged[name] = value
    return merged


def find_attached_payment_method(
    uow: UnitOfWork, payment_method_id: str, customer_id: str
) -> Record | None:
    """The payment method if it is attached to this customer, else None."""
    record = _repo(uow).find(payment_method_id)
    if record is None or record["customer"] != customer_id:
        return None
    return record


def retrieve_customer_payment_method(
    uow: UnitOfWork, payment_method_id: str, customer_id: str
) -> Record:
    """A payment method of this customer; one of another customer is not found."""
    record = find_attached_payment_method(uow, payment_method_id, customer_id)
    if record is None:
        raise NotFound.for_id("PaymentMethod", payment_method_id)
    return record


def check_attached(uow: UnitOfWork, payment_method_id: str, customer_id: str, param: str) -> None:
    """Refuse (400 naming `param`) a payment method not attached to this customer."""
    if find_attached_payment_method(uow, payment_method_id, customer_id) is not None:
        return
    # Unless Stripe holds it attached to the customer (services/adopted_methods).
    if adopted_methods.adopt_attached(uow, payment_method_id, customer_id, param=param) is None:
        raise InvalidRequest(
            f"The customer does not have a payment method with the ID {payment_method_id}. "
            "The payment method must be attached to the customer.",
            code="resource_missing",
            param=param,
        )


def list_payment_methods(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    customer: str | None = None,
    type: str | None = None,
    allow_redisplay: str | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of payment methods, newest first (one customer's when `customer` is given)."""
    if customer is not None:
        uow.repository(CustomerRepository).get(customer, param="customer")
    return _repo(uow).list_payment_methods(
        request, customer=customer, type=type, allow_redisplay=allow_redisplay, created=created
    )
