"""Payment intents and refunds (charges, the payment attempts, live in `billing`).

The invariants money depends on are constraints: a refund's idempotency key is unique per
tenant, and (on `charges`) at most one attempt is pending per invoice and per intent.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

from recur.storage.tables.base import ID_LENGTH, Json, metadata, object_table

payment_intents = object_table(
    "payment_intents",
    Column("customer", String(ID_LENGTH), nullable=True),
    # The invoice this intent collects (Stripe creates one per finalized invoice).
    Column("invoice", String(ID_LENGTH), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("amount_received", BigInteger, nullable=False, default=0),
    Column("currency", String(3), nullable=False),
    # requires_payment_method | requires_confirmation | requires_action | processing
    # | succeeded | canceled
    Column("status", String(32), nullable=False),
    Column("payment_method", String(ID_LENGTH), nullable=True),
    Column("latest_charge", String(ID_LENGTH), nullable=True),
    Column("last_payment_error", Json, nullable=True),
    Column("setup_future_usage", String(16), nullable=True),
    Column("description", Text, nullable=True),
    Column("receipt_email", String(255), nullable=True),
    Column("canceled_at", BigInteger, nullable=True),
    Column("cancellation_reason", String(32), nullable=True),
    Column("client_secret", String(128), nullable=False),
    Column("test_clock", String(ID_LENGTH), nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    Index("ix_payment_intents_invoice", "invoice"),
    Index("ix_payment_intents_customer", "account_id", "livemode", "customer"),
)

refunds = object_table(
    "refunds",
    Column("charge", String(ID_LENGTH), nullable=False),
    Column("payment_intent", String(ID_LENGTH), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # pending (outcome unknown, until reconciled) | succeeded | failed
    Column("status", String(16), nullable=False),
    Column("reason", String(32), nullable=True),
    Column("failure_reason", String(64), nullable=True),
    Column("idempotency_key", String(255), nullable=False),
    Column("gateway_reference", String(255), nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("account_id", "livemode", "idempotency_key"),
    Index("ix_refunds_charge", "charge"),
    Index("ix_refunds_pending", "status", "recorded_at"),
)

# A token bucket per gateway key (a Stripe account, the simulated gateway): collection
# takes tokens before it calls the gateway, so every worker process together stays within
# the gateway's rate. Wall-clock seconds: a rate is about the real world, not test clocks.
gateway_rate_limits = Table(
    "gateway_rate_limits",
    metadata,
    Column("gateway_key", String(255), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("refilled_at", Float, nullable=False),
)
