"""Webhook endpoints, their deliveries and attempts, and the fan-out watermark.

Events are fanned out to deliveries by set-based statements (ADR 0005): each endpoint
keeps a cursor on `events.pk`, and a worker inserts the deliveries of every event past it
in one `INSERT … SELECT`. A tenant without endpoints costs nothing per event.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from recur.storage.tables.base import ID_LENGTH, Json, Seq, metadata, object_table

webhook_endpoints = object_table(
    "webhook_endpoints",
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("enabled_events", Json, nullable=False, default=list),
    Column("api_version", String(40), nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    Column("status", String(16), nullable=False),  # enabled | disabled
    # Why Recur disabled it (Recur extension): "gone" (410) or "failing" (5 days); NULL
    # when enabled or disabled by the merchant.
    Column("disabled_reason", String(16), nullable=True),
    # Kept to sign every delivery; shown once, at creation, as at Stripe.
    Column("secret", String(64), nullable=False),
    # Fan-out cursor: the deliveries of this tenant's events up to this `events.pk` exist.
    Column("events_after", BigInteger, nullable=False, default=0),
    # Unix time of the first failure since the last success (NULL: not failing).
    Column("failing_since", BigInteger, nullable=True),
    Index("ix_webhook_endpoints_status", "status"),
)

# One row per (endpoint, event): the state of getting that event to that endpoint.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("pk", Seq, primary_key=True, autoincrement=True),
    Column("account_id", String(ID_LENGTH), ForeignKey("accounts.id"), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("endpoint", String(ID_LENGTH), nullable=False),
    Column("event", String(ID_LENGTH), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # pending | succeeded | failed | canceled
    Column("attempts", Integer, nullable=False, default=0),
    # When a worker may (next) take it. While a worker sends it, the end of its lease: a
    # worker that dies mid-send leaves `lease` set and the row due again when it expires.
    Column("next_attempt_at", BigInteger, nullable=True),
    Column("lease", String(ID_LENGTH), nullable=True),
    UniqueConstraint("account_id", "livemode", "endpoint", "event"),
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("next_attempt_at IS NOT NULL"),
        postgresql_where=text("next_attempt_at IS NOT NULL"),
    ),
    Index("ix_webhook_deliveries_event", "account_id", "livemode", "event"),
    Index("ix_webhook_deliveries_created", "created"),
)

# Every attempt, as the merchant sees it in `GET /v1/webhook_endpoints/{id}/attempts`.
webhook_attempts = object_table(
    "webhook_attempts",
    Column("endpoint", String(ID_LENGTH), nullable=False),
    Column("event", String(ID_LENGTH), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("url", Text, nullable=False),
    Column("attempt", Integer, nullable=False),  # 1-based, within its delivery
    Column("outcome", String(16), nullable=False),  # succeeded | failed | unknown
    Column("response_status", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=True),
    Column("response_excerpt", Text, nullable=True),
    Column("next_retry_at", BigInteger, nullable=True),
    Index("ix_webhook_attempts_endpoint", "account_id", "livemode", "endpoint", "pk"),
    Index("ix_webhook_attempts_created", "created"),
)

# One row (pk = 1): how far the events table is settled, i.e. no transaction still open
# can commit an event at or below `settled_pk` (ADR 0005, "The watermark").
webhook_fanout = Table(
    "webhook_fanout",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=False),
    Column("settled_pk", BigInteger, nullable=False, default=0),
    # PostgreSQL: the max pk seen one pass ago; then that pk with the transactions (ids)
    # that were running a pass later, which must all end before it is settled.
    Column("aging_pk", BigInteger, nullable=True),
    Column("waiting_pk", BigInteger, nullable=True),
    Column("waiting_xids", Json, nullable=True),
)
