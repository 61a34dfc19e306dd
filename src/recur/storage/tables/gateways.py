"""What payment gateways tell Recur: their webhook events (deduplicated) and disputes.

A gateway's webhook (Stripe's `payment_intent.succeeded`, `charge.refunded`, …) is applied
at most once per tenant: its event id is inserted in `gateway_events` in the transaction
that applies it, and the unique constraint turns a second delivery (a retry, a concurrent
duplicate) into a no-op.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)

from recur.storage.tables.base import ID_LENGTH, Json, Seq, metadata, object_table

gateway_events = Table(
    "gateway_events",
    metadata,
    Column("pk", Seq, primary_key=True, autoincrement=True),
    Column("account_id", String(ID_LENGTH), ForeignKey("accounts.id"), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("gateway", String(16), nullable=False),
    # The gateway's event id (Stripe: evt_…) and type.
    Column("event_id", String(255), nullable=False),
    Column("type", String(80), nullable=False),
    # The gateway object the event is about (a PaymentIntent, a charge, a dispute).
    Column("object_reference", String(255), nullable=True),
    # What Recur did with it: applied | already_settled | ignored | unmatched.
    Column("outcome", String(32), nullable=False),
    # Unix seconds (wall clock) when it was received.
    Column("received", BigInteger, nullable=False),
    UniqueConstraint("account_id", "livemode", "gateway", "event_id"),
    Index("ix_gateway_events_outcome", "outcome", "received"),
)

disputes = object_table(
    "disputes",
    Column("charge", String(ID_LENGTH), nullable=False),
    Column("payment_intent", String(ID_LENGTH), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reason", String(64), nullable=True),
    # As the gateway reports it: warning_needs_response | needs_response | under_review | won
    # | lost | …
    Column("status", String(32), nullable=False),
    Column("gateway", String(16), nullable=False),
    Column("gateway_reference", String(255), nullable=False),
    Column("metadata", Json, nullable=False, default=dict),
    UniqueConstraint("account_id", "livemode", "gateway", "gateway_reference"),
    Index("ix_disputes_charge", "charge"),
)
