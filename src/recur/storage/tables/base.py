"""The shared MetaData and the columns every Stripe-shaped object table has."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")

# A 64-bit surrogate key: INTEGER PRIMARY KEY (rowid) on SQLite, BIGINT identity elsewhere.
Seq = BigInteger().with_variant(Integer(), "sqlite")

ID_LENGTH = 64


def object_table(name: str, *columns: Any, **kwargs: Any) -> Table:
    """A table of API objects: surrogate `pk` (list order), public `id`, tenancy, `created`.

    `pk` orders lists (newest first) and makes keyset pagination stable under concurrent
    inserts; `created` is unix seconds, as on the wire. Every object belongs to one
    account and one mode, and every query filters on both.
    """
    return Table(
        name,
        metadata,
        Column("pk", Seq, primary_key=True, autoincrement=True),
        Column("id", String(ID_LENGTH), nullable=False),
        Column("account_id", String(ID_LENGTH), ForeignKey("accounts.id"), nullable=False),
        Column("livemode", Boolean, nullable=False),
        Column("created", BigInteger, nullable=False),
        *columns,
        # Unique per tenant, not globally: merchants choose some ids (products, coupons),
        # and a global constraint would reveal another tenant's ids.
        UniqueConstraint("account_id", "livemode", "id"),
        Index(f"ix_{name}_scope_pk", "account_id", "livemode", "pk"),
        **kwargs,
    )
