"""Tax rates."""

from sqlalchemy import Boolean, Column, Index, String, Text

from recur.storage.tables.base import Json, object_table

tax_rates = object_table(
    "tax_rates",
    Column("display_name", Text, nullable=False),
    Column("description", Text, nullable=True),
    # Exact decimal text ("19", "8.875"); never a float. Immutable once created.
    Column("percentage", String(16), nullable=False),
    Column("inclusive", Boolean, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("country", String(2), nullable=True),
    Column("state", String(64), nullable=True),
    Column("jurisdiction", Text, nullable=True),
    Column("tax_type", String(32), nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    Index("ix_tax_rates_scope_active", "account_id", "livemode", "active"),
)
