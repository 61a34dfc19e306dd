"""What gateways tell Recur: their webhook events (once each), disputes, and the charges
and refunds they know by their own ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from recur.storage.repositories.base import (
    CreatedFilter,
    ObjectRepository,
    Page,
    PageRequest,
    Record,
)
from recur.storage.tables import charges, disputes, gateway_events, refunds

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork


class GatewayEventRepository:
    """A tenant's received gateway events: the unique event id makes each apply once."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.scope = uow.scope
        self.connection = uow.connection

    def record(
        self,
        *,
        gateway: str,
        event_id: str,
        event_type: str,
        object_reference: str | None,
        received: int,
    ) -> bool:
        """Note an event as received; False if it already was (a repeated delivery).

        In a savepoint, so a duplicate leaves the transaction usable. On PostgreSQL a
        concurrent delivery of the same event waits here for the first one's transaction
        and then finds it.
        """
        row = {
            "account_id": self.scope.account_id,
            "livemode": self.scope.livemode,
            "gateway": gateway,
            "event_id": event_id,
            "type": event_type,
            "object_reference": object_reference,
            "outcome": "received",
            "received": received,
        }
        try:
            with self.connection.begin_nested():
                self.connection.execute(insert(gateway_events), [row])
        except IntegrityError:
            return False
        return True

    def set_outcome(self, gateway: str, event_id: str, outcome: str) -> None:
        """What Recur did with an event."""
        t = gateway_events.c
        self.connection.execute(
            update(gateway_events)
            .where(
                t.account_id == self.scope.account_id,
                t.livemode == self.scope.livemode,
                t.gateway == gateway,
                t.event_id == event_id,
            )
            .values(outcome=outcome)
        )

    def find(self, gateway: str, event_id: str) -> Record | None:
        """A received event's row."""
        t = gateway_events.c
        query = select(gateway_events).where(
            t.account_id == self.scope.account_id,
            t.livemode == self.scope.livemode,
            t.gateway == gateway,
            t.event_id == event_id,
        )
        return self.connection.execute(query).mappings().first()


class UnmatchedGatewayEvents:
    """Unscoped: events about gateway objects Recur had no record of when they came."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.connection = uow.connection

    def older_than(self, outcome: str, received_before: int, limit: int) -> list[Record]:
        """Events left with this outcome, received before then, oldest first."""
        t = gateway_events.c
        query = (
            select(gateway_events)
            .where(t.outcome == outcome, t.received < received_before)
            .order_by(t.received)
            .limit(limit)
        )
        return list(self.connection.execute(query).mappings())

    def set_outcome(self, pk: int, outcome: str) -> None:
        """Record what the sweep did with one."""
        self.connection.execute(
            update(gateway_events).where(gateway_events.c.pk == pk).values(outcome=outcome)
        )


class GatewayChargeRepository(ObjectRepository):
    """A tenant's charges (payment attempts) as the gateways know them."""

    table = charges
    kind = "charge"

    def by_reference(self, gateway: str, references: list[str]) -> Record | None:
        """The attempt a gateway knows by one of these ids (a PaymentIntent, a charge)."""
        c = charges.c
        wanted = [reference for reference in references if reference]
        if not wanted:
            return None
        query = select(charges).where(
            *self._in_scope(), c.gateway == gateway, c.gateway_reference.in_(wanted)
        )
        return self.connection.execute(query.order_by(c.pk).limit(1)).mappings().first()

    def other_attempt_holding(self, invoice_id: str, charge_id: str) -> Record | None:
        """Another attempt of the invoice that succeeded or is still pending."""
        c = charges.c
        query = select(charges).where(
            *self._in_scope(),
            c.invoice == invoice_id,
            c.id != charge_id,
            c.status.in_(("succeeded", "pending")),
        )
        return self.connection.execute(query.limit(1)).mappings().first()


class GatewayRefundRepository(ObjectRepository):
    """A tenant's refunds as the gateways know them."""

    table = refunds
    kind = "refund"

    def by_reference(self, reference: str) -> Record | None:
        """The refund a gateway knows by this id."""
        query = select(refunds).where(*self._in_scope(), refunds.c.gateway_reference == reference)
        return self.connection.execute(query.limit(1)).mappings().first()


class DisputeRepository(ObjectRepository):
    """A tenant's disputes."""

    table = disputes
    kind = "dispute"

    def by_reference(self, gateway: str, reference: str) -> Record | None:
        """The dispute a gateway knows by this id."""
        c = disputes.c
        query = select(disputes).where(
            *self._in_scope(), c.gateway == gateway, c.gateway_reference == reference
        )
        return self.connection.execute(query).mappings().first()

    def list_disputes(
        self,
        request: PageRequest,
        *,
        charge: str | None = None,
        payment_intent: str | None = None,
        created: CreatedFilter | None = None,
    ) -> Page:
        """A page of disputes, optionally only one charge's or one PaymentIntent's."""
        return self.page_matching(
            request, created=created, charge=charge, payment_intent=payment_intent
        )
