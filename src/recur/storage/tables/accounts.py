"""Merchant accounts, their API keys, and stored idempotent responses."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from recur.storage.tables.base import ID_LENGTH, Json, Seq, metadata

accounts = Table(
    "accounts",
    metadata,
    Column("pk", Seq, primary_key=True, autoincrement=True),
    Column("id", String(ID_LENGTH), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("is_demo", Boolean, nullable=False, default=False),
    Column("settings", Json, nullable=False, default=dict),
)

# Secret keys are stored as SHA-256 digests only; they are 190-bit random strings, so a
# fast hash is enough and lets authentication look a key up by its digest.
api_keys = Table(
    "api_keys",
    metadata,
    Column("pk", Seq, primary_key=True, autoincrement=True),
    Column("account_id", String(ID_LENGTH), ForeignKey("accounts.id"), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("kind", String(16), nullable=False),  # secret | publishable | restricted
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("redacted", String(32), nullable=False),  # e.g. sk_test_…a1b2, for error messages
    Column("created", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("pk", Seq, primary_key=True, autoincrement=True),
    Column("account_id", String(ID_LENGTH), ForeignKey("accounts.id"), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("completed", Boolean, nullable=False, default=False),
    Column("response_status", Integer, nullable=True),
    Column("response_body", LargeBinary, nullable=True),
    Column("request_id", String(ID_LENGTH), nullable=True),
    Column("path", Text, nullable=False),
    UniqueConstraint("account_id", "livemode", "key"),
)
