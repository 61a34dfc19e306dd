"""The catalog: products and their prices."""

from sqlalchemy import BigInteger, Boolean, Column, Index, String, Text, UniqueConstraint

from recur.storage.tables.base import ID_LENGTH, Json, object_table

products = object_table(
    "products",
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("default_price", String(ID_LENGTH), nullable=True),
    Column("images", Json, nullable=False, default=list),
    Column("tax_code", Text, nullable=True),
    Column("unit_label", String(64), nullable=True),
    Column("url", Text, nullable=True),
    Column("shippable", Boolean, nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    Column("updated", BigInteger, nullable=False),
    Index("ix_products_scope_active", "account_id", "livemode", "active"),
)

prices = object_table(
    "prices",
    Column("product", String(ID_LENGTH), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("currency", String(3), nullable=False),
    Column("type", String(16), nullable=False),
    Column("billing_scheme", String(16), nullable=False),
    # Exact decimal text in minor units ("1000", "0.25"); never a float. Null when tiered.
    Column("unit_amount_decimal", String(40), nullable=True),
    Column("tiers_mode", String(16), nullable=True),
    # [{up_to: int | null, unit_amount_decimal: str | null, flat_amount_decimal: str | null}]
    Column("tiers", Json, nullable=True),
    # {divide_by: int, round: "up" | "down"}
    Column("transform_quantity", Json, nullable=True),
    # The recurring part lives in columns: lists filter on it and billing reads it per row.
    Column("recurring_interval", String(8), nullable=True),
    Column("recurring_interval_count", BigInteger, nullable=True),
    Column("recurring_usage_type", String(16), nullable=True),
    Column("recurring_trial_period_days", BigInteger, nullable=True),
    Column("tax_behavior", String(16), nullable=False, default="unspecified"),
    Column("lookup_key", String(200), nullable=True),
    Column("nickname", Text, nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    # Null lookup keys never collide (NULLs are distinct on SQLite and PostgreSQL).
    UniqueConstraint("account_id", "livemode", "lookup_key"),
    Index("ix_prices_scope_product", "account_id", "livemode", "product"),
)
