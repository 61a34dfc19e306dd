"""Customers and payment methods mirrored to a gateway that keeps its own (Stripe).

A gateway that holds customers and cards (its `mirrors_objects` is true) charges a method
of a customer it knows. Before the first charge through it, the Recur customer gets its
counterpart there (`customers.gateway_references[gateway]`, created once: the customer row
is locked meanwhile) and the payment method is attached to it; the method then belongs to
that gateway (`payment_methods.gateway`, `gateway_reference`) and is charged through it
from then on, whatever the account's gateway becomes later (a card that lives at Stripe
can only be charged by Stripe). What a test card becomes there is Stripe's documented test
token that behaves the same (`pm_card_visa`): Recur keeps no card numbers.

Mirroring happens when the method is first charged, not when it is attached, so that an
account can switch to Stripe with customers and cards already saved; an attach at Stripe
that fails leaves the attempt failed with Stripe's codes, and nothing is charged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from recur.gateways import test_cards
from recur.gateways.base import (
    GatewayUnavailable,
    LookupHint,
    MethodDeclined,
    MethodRef,
    OutcomeUnknown,
    PaymentGateway,
)
from recur.services.payment_gateways import gateway_scope
from recur.storage.repositories.base import Record
from recur.storage.repositories.customers import CustomerRepository
from recur.storage.repositories.payment_methods import PaymentMethodRepository
from recur.storage.uow import UnitOfWork


def mirrors(gateway: PaymentGateway) -> bool:
    """Whether the gateway keeps customers and methods of its own."""
    return bool(getattr(gateway, "mirrors_objects", False))


def customer_reference(uow: UnitOfWork, gateway_name: str, customer_id: str | None) -> str | None:
    """The customer's id at a gateway, if it was mirrored there."""
    if not customer_id:
        return None
    customer = uow.repository(CustomerRepository).find(customer_id)
    references = (customer or {}).get("gateway_references") or {}
    reference = references.get(gateway_name)
    return str(reference) if reference else None


def mirrored_customer(uow: UnitOfWork, gateway: PaymentGateway, customer_id: str) -> str:
    """The customer's id at the gateway, created there first if it has none (once: the
    customer row is locked meanwhile)."""
    return _mirrored_customer(uow, gateway, customer_id)


def _mirrored_customer(uow: UnitOfWork, gateway: PaymentGateway, customer_id: str) -> str:
    customers = uow.repository(CustomerRepository)
    customer = customers.get(customer_id, for_update=True)
    references = dict(customer["gateway_references"] or {})
    if references.get(gateway.name):
        return str(references[gateway.name])
    reference = gateway.create_customer(gateway_scope(uow), customer_id)
    references[gateway.name] = reference
    customers.update(customer_id, {"gateway_references": references})
    return reference


def _source(method: Mapping[str, Any], gateway_name: str) -> str | None:
    """What to attach at the gateway: the method's id there, or a test card's token."""
    if method.get("gateway") == gateway_name and method.get("gateway_reference"):
        return str(method["gateway_reference"])
    return test_cards.stripe_test_token(method["brand"], method["last4"], method["behavior"])


def prepare_charge(
    uow: UnitOfWork, gateway: PaymentGateway, method: Record, customer_id: str | None
) -> tuple[MethodRef, str | None]:
    """The method (and the customer's reference) as the gateway charges them, mirrored
    first if needed. `GatewayUnavailable` if mirroring got no answer (nothing was charged
    yet), `MethodDeclined` if the gateway refused the card."""
    plain = MethodRef(method["id"], method["behavior"], method["gateway_reference"])
    if not mirrors(gateway):
        return plain, None
    try:
        customer_ref = _mirrored_customer(uow, gateway, customer_id) if customer_id else None
        if method["gateway"] == gateway.name and method["gateway_reference"]:
            return plain, customer_ref
        source = _source(method, gateway.name)
        if customer_ref is None:
            # A payment without a customer: the method is used once, not saved there.
            return MethodRef(method["id"], method["behavior"], source), None
        if source is None:
            raise MethodDeclined(
                "processing_error",
                None,
                "This card cannot be charged through Stripe: it was not collected by Stripe.",
            )
        reference = gateway.attach_method(
            gateway_scope(uow), customer_ref, MethodRef(method["id"], method["behavior"], source)
        )
    except OutcomeUnknown as error:
        # A customer or an attachment may have been made; no money moved.
        raise GatewayUnavailable(str(error)) from error
    uow.repository(PaymentMethodRepository).update(
        method["id"], {"gateway": gateway.name, "gateway_reference": reference}
    )
    return MethodRef(method["id"], method["behavior"], reference), customer_ref


def _unix(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives the stored UTC time without its zone
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def charge_lookup_hint(uow: UnitOfWork, charge: Record) -> LookupHint:
    """What the gateway needs to find an attempt's charge by its key."""
    return LookupHint(
        customer_reference=customer_reference(uow, charge["gateway"] or "", charge["customer"]),
        since=_unix(charge["recorded_at"]),
    )


def refund_lookup_hint(charge: Record) -> LookupHint:
    """What the gateway needs to find a refund of this charge by its key."""
    return LookupHint(charge_reference=charge["gateway_reference"])
