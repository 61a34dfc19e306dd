"""Coupons and the promotion codes customers type to redeem them."""

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Text, text

from recur.storage.tables.base import ID_LENGTH, Json, object_table

# Ids are merchant-chosen ("SUMMER25") or short random ones; unique per tenant.
coupons = object_table(
    "coupons",
    Column("name", Text, nullable=True),
    # Exact decimal text ("25.5"); never a float. Null for amount_off coupons.
    Column("percent_off", String(16), nullable=True),
    Column("amount_off", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("duration", String(16), nullable=False),
    Column("duration_in_months", Integer, nullable=True),
    Column("max_redemptions", BigInteger, nullable=True),
    Column("redeem_by", BigInteger, nullable=True),
    # Product ids the coupon is restricted to; null means every product.
    Column("applies_to_products", Json, nullable=True),
    Column("times_redeemed", BigInteger, nullable=False, default=0),
    Column("metadata", Json, nullable=False, default=dict),
    # Deleted coupons stay as tombstones: discounts that use them keep working.
    Column("deleted", Boolean, nullable=False, default=False),
)

promotion_codes = object_table(
    "promotion_codes",
    Column("code", String(500), nullable=False),
    # `code` upper-cased: codes are unique among active ones regardless of case.
    Column("code_key", String(500), nullable=False),
    Column("coupon", String(ID_LENGTH), nullable=False),
    Column("customer", String(ID_LENGTH), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("max_redemptions", BigInteger, nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    Column("times_redeemed", BigInteger, nullable=False, default=0),
    Column("first_time_transaction", Boolean, nullable=False, default=False),
    Column("minimum_amount", BigInteger, nullable=True),
    Column("minimum_amount_currency", String(3), nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    Index("ix_promotion_codes_scope_coupon", "account_id", "livemode", "coupon"),
    # The database guarantees what the service checks: one active code per text per tenant.
    Index(
        "uq_promotion_codes_active_code",
        "account_id",
        "livemode",
        "code_key",
        unique=True,
        sqlite_where=text("active"),
        postgresql_where=text("active"),
    ),
)
