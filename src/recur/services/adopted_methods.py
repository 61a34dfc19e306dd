"""Payment methods collected by Stripe, adopted into Recur.

Recur refuses card numbers in live mode, so an account on the Stripe gateway charges cards
that Stripe collected: the merchant's page uses Stripe.js or Checkout with the account's
own Stripe keys, and gets a `pm_…` that lives at Stripe. When such an id reaches Recur
where a payment method must exist (`POST /v1/payment_methods/{id}/attach`, a customer's
`payment_method` on create, a PaymentIntent's `payment_method`) and Recur does not know
it, it is *adopted*: retrieved from the account's Stripe account (this mode's key), and
saved as a Recur card with what Stripe shows of it (brand, last4, expiry, funding, country,
Stripe's fingerprint, billing details) — never a number, Recur gets none. Its Recur id is
Stripe's id, so code written for Stripe works unchanged (docs/adr/0006-payments.md), and
it belongs to the Stripe gateway (`gateway=stripe`, `gateway_reference` = the same id):
charged through Stripe only.

Attaching it to a customer attaches it at Stripe too, to the customer's counterpart there
(`gateway_mirror`), before Recur records the attach: a card Stripe refuses is not
attached anywhere. Where a method must already be attached (a default payment method), a
method Recur never saw is adopted only if Stripe holds it attached to that customer's
counterpart (attached at Stripe by a SetupIntent, say); otherwise the usual error.

Errors keep Stripe's shape: an id Stripe does not know either is 404 `resource_missing`
naming the parameter; a card Stripe declines on attach is 402 with Stripe's code; Stripe
unreachable is a 409 `payment_gateway_unavailable` to retry (nothing was recorded).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from recur.domain.clock import to_unix
from recur.domain.errors import CardDeclined, Conflict, InvalidRequest, NotFound
from recur.gateways import test_cards
from recur.gateways.base import GatewayError, MethodDeclined, MethodRef, MethodRefused
from recur.gateways.stripe import StripeGateway
from recur.services import gateway_mirror
from recur.services.billing_settings import billing_settings
from recur.services.payment_gateways import gateway_named, gateway_scope, stripe_gateway
from recur.storage.repositories.base import Record
from recur.storage.repositories.payment_methods import PaymentMethodRepository
from recur.storage.uow import UnitOfWork

GATEWAY: Final = "stripe"
# A Stripe payment method id: `pm_` and letters and digits (test tokens such as
# `pm_card_visa` have underscores: those Recur knows are test cards, the others are not
# looked up). At most Recur's id length.
STRIPE_METHOD_ID: Final = re.compile(r"^pm_[A-Za-z0-9]{1,60}$")
ADDRESS_FIELDS: Final = ("city", "country", "line1", "line2", "postal_code", "state")
REDISPLAY: Final = ("always", "limited", "unspecified")


def _not_found(payment_method_id: str, param: str | None) -> NotFound:
    return NotFound.for_id("PaymentMethod", payment_method_id, param)


def _unreachable(error: GatewayError) -> Conflict:
    # Nothing is recorded: the request is undone and may be sent again (as refunds do).
    return Conflict(
        f"Stripe could not be reached to look up or attach the payment method; retry the "
        f"request. ({error})",
        code="payment_gateway_unavailable",
        retriable=True,
    )


def _stripe_source(uow: UnitOfWork) -> StripeGateway | None:
    """The account's Stripe account for this mode, if the account is on Stripe and has a
    key for this mode."""
    if billing_settings(uow).gateway != GATEWAY:
        return None
    gateway = stripe_gateway(uow)
    return gateway if isinstance(gateway, StripeGateway) else None


def _retrieve(source: StripeGateway, payment_method_id: str) -> dict[str, Any] | None:
    try:
        found = source.payment_method(payment_method_id)
    except GatewayError as error:
        raise _unreachable(error) from error
    if found is None or found.get("id") != payment_method_id:
        return None
    return found


def _billing_details(values: Mapping[str, Any] | None) -> dict[str, Any]:
    values = values or {}
    address = values.get("address") or {}
    return {
        "address": {name: address.get(name) for name in ADDRESS_FIELDS}
        if any(address.get(name) for name in ADDRESS_FIELDS)
        else None,
        "email": values.get("email"),
        "name": values.get("name"),
        "phone": values.get("phone"),
    }


def _fingerprint(card: Mapping[str, Any], payment_method_id: str) -> str:
    """Stripe's fingerprint of the number (equal cards, equal fingerprints, within the
    Stripe account); if Stripe shows none, one of the method's id (it stands for itself)."""
    fingerprint = card.get("fingerprint")
    if isinstance(fingerprint, str) and 0 < len(fingerprint) <= 32:
        return fingerprint
    return hashlib.sha256(f"stripe:{payment_method_id}".encode()).hexdigest()[:16]


def method_row(
    found: Mapping[str, Any], *, customer: str | None, created: int, param: str | None
) -> dict[str, Any]:
    """A Recur payment method's columns from Stripe's object (pure)."""
    payment_method_id = str(found["id"])
    if found.get("type") != "card" or not isinstance(found.get("card"), Mapping):
        raise InvalidRequest(
            f"The PaymentMethod {payment_method_id} is of type {found.get('type')!r}: Recur "
            "charges cards only.",
            param=param,
        )
    card: Mapping[str, Any] = found["card"]
    checks = card.get("checks") or {}
    metadata = found.get("metadata") or {}
    redisplay = found.get("allow_redisplay")
    country = card.get("country")
    return {
        "id": payment_method_id,
        "created": int(found.get("created") or created),
        "type": "card",
        "customer": customer,
        "billing_details": _billing_details(found.get("billing_details")),
        "brand": str(card.get("brand") or "unknown")[:32],
        "last4": str(card.get("last4") or "")[-4:],
        "exp_month": int(card.get("exp_month") or 0),
        "exp_year": int(card.get("exp_year") or 0),
        "funding": str(card.get("funding") or "unknown")[:16],
        "country": country if isinstance(country, str) and len(country) == 2 else None,
        "fingerprint": _fingerprint(card, payment_method_id),
        # Stripe decides what its charges give: the simulated behaviour is never used for
        # a method that lives at Stripe.
        "behavior": test_cards.SUCCEED,
        "checks": {
            name: checks.get(name)
            for name in ("address_line1_check", "address_postal_code_check", "cvc_check")
        },
        "allow_redisplay": redisplay if redisplay in REDISPLAY else "unspecified",
        "detached_at": None,
        "metadata": {str(key): str(value) for key, value in dict(metadata).items()},
        "gateway": GATEWAY,
        "gateway_reference": payment_method_id,
    }


def adopt_payment_method(
    uow: UnitOfWork, payment_method_id: str, now: datetime, *, param: str | None
) -> Record:
    """The payment method Stripe holds under this id, saved in Recur (not attached); 404
    naming `param` if the account is not on Stripe or Stripe does not know it either."""
    source = _stripe_source(uow)
    if source is None or STRIPE_METHOD_ID.match(payment_method_id) is None:
        raise _not_found(payment_method_id, param)
    found = _retrieve(source, payment_method_id)
    if found is None:
        raise _not_found(payment_method_id, param)
    row = method_row(found, customer=None, created=to_unix(now), param=param)
    # A concurrent adoption of the same id loses on the unique id: 409, retried, found.
    return uow.repository(PaymentMethodRepository).insert(row)


def adopt_attached(
    uow: UnitOfWork, payment_method_id: str, customer_id: str, *, param: str | None
) -> Record | None:
    """A method Recur never saw that Stripe holds attached to this customer's counterpart,
    saved in Recur attached to the customer; None if there is no such method."""
    methods = uow.repository(PaymentMethodRepository)
    if STRIPE_METHOD_ID.match(payment_method_id) is None or methods.find(payment_method_id):
        return None
    reference = gateway_mirror.customer_reference(uow, GATEWAY, customer_id)
    source = _stripe_source(uow) if reference else None
    if source is None:
        return None
    found = _retrieve(source, payment_method_id)
    if found is None or found.get("customer") != reference:
        return None
    # Attached at Stripe by the merchant (Stripe announced it): Recur learns of it, no event.
    row = method_row(found, customer=customer_id, created=0, param=param)
    return methods.insert(row)


def attach_at_gateway(
    uow: UnitOfWork, method: Record, customer_id: str, *, param: str | None
) -> None:
    """Attach a method that lives at a gateway keeping customers (a Stripe `pm_…`) to the
    customer's counterpart there, mirrored first if needed; nothing for the others."""
    if not method["gateway"] or not method["gateway_reference"]:
        return
    gateway = gateway_named(uow, method["gateway"])
    if not gateway_mirror.mirrors(gateway):
        return
    try:
        customer_reference = gateway_mirror.mirrored_customer(uow, gateway, customer_id)
        gateway.attach_method(
            gateway_scope(uow),
            customer_reference,
            MethodRef(method["id"], method["behavior"], method["gateway_reference"]),
        )
    except MethodRefused as refused:
        raise InvalidRequest(refused.message, param=param) from refused
    except MethodDeclined as declined:
        raise CardDeclined(
            declined.message, code=declined.failure_code, decline_code=declined.decline_code
        ) from declined
    except GatewayError as error:
        raise _unreachable(error) from error
