"""Payment methods (cards): only what identifies a card, never its number or CVC."""

from sqlalchemy import BigInteger, Column, Index, Integer, String

from recur.storage.tables.base import ID_LENGTH, Json, object_table

payment_methods = object_table(
    "payment_methods",
    Column("type", String(32), nullable=False),
    Column("customer", String(ID_LENGTH), nullable=True),
    Column("billing_details", Json, nullable=False, default=dict),
    Column("brand", String(32), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("exp_month", Integer, nullable=False),
    Column("exp_year", Integer, nullable=False),
    Column("funding", String(16), nullable=False),
    Column("country", String(2), nullable=True),
    # A keyed hash of the number (see services.payment_methods.card_fingerprint).
    Column("fingerprint", String(32), nullable=False),
    # How the simulated gateway treats charges (gateways.test_cards); internal.
    Column("behavior", String(64), nullable=False),
    Column("checks", Json, nullable=False, default=dict),
    Column("allow_redisplay", String(16), nullable=False, default="unspecified"),
    # Set when detached from a customer: Stripe refuses to use such a method again.
    Column("detached_at", BigInteger, nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    # The gateway the method lives at once mirrored there (stripe), and its id there; NULL
    # until then: the account's gateway charges it (docs/adr/0006-payments.md).
    Column("gateway", String(16), nullable=True),
    Column("gateway_reference", String(255), nullable=True),
    Index("ix_payment_methods_customer", "account_id", "livemode", "customer", "pk"),
)
