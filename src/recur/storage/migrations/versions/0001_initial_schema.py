"""initial schema

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_accounts")),
        sa.UniqueConstraint("id", name=op.f("uq_accounts_id")),
    )
    op.create_table(
        "gateway_rate_limits",
        sa.Column("gateway_key", sa.String(length=255), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("gateway_key", name=op.f("pk_gateway_rate_limits")),
    )
    op.create_table(
        "webhook_fanout",
        sa.Column("pk", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("settled_pk", sa.BigInteger(), nullable=False),
        sa.Column("aging_pk", sa.BigInteger(), nullable=True),
        sa.Column("waiting_pk", sa.BigInteger(), nullable=True),
        sa.Column(
            "waiting_xids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_fanout")),
    )
    op.create_table(
        "api_keys",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("redacted", sa.String(length=32), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "charges",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("invoice", sa.String(length=64), nullable=True),
        sa.Column("customer", sa.String(length=64), nullable=True),
        sa.Column("payment_method", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("decline_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("payment_intent", sa.String(length=64), nullable=True),
        sa.Column("gateway", sa.String(length=16), nullable=True),
        sa.Column("gateway_reference", sa.String(length=255), nullable=True),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("disputed", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_charges_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_charges")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_charges_account_id_livemode_id")
        ),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "idempotency_key",
            name=op.f("uq_charges_account_id_livemode_idempotency_key"),
        ),
    )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.create_index("ix_charges_invoice", ["invoice"], unique=False)
        batch_op.create_index("ix_charges_payment_intent", ["payment_intent"], unique=False)
        batch_op.create_index("ix_charges_pending", ["status", "recorded_at"], unique=False)
        batch_op.create_index("ix_charges_scope_pk", ["account_id", "livemode", "pk"], unique=False)
        batch_op.create_index(
            "uq_charges_one_pending_per_intent",
            ["payment_intent"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "uq_charges_one_pending_per_invoice",
            ["invoice"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "uq_charges_one_success_per_invoice",
            ["invoice"],
            unique=True,
            sqlite_where=sa.text("status = 'succeeded'"),
            postgresql_where=sa.text("status = 'succeeded'"),
        )

    op.create_table(
        "coupons",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("percent_off", sa.String(length=16), nullable=True),
        sa.Column("amount_off", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("duration", sa.String(length=16), nullable=False),
        sa.Column("duration_in_months", sa.Integer(), nullable=True),
        sa.Column("max_redemptions", sa.BigInteger(), nullable=True),
        sa.Column("redeem_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "applies_to_products",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("times_redeemed", sa.BigInteger(), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_coupons_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_coupons")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_coupons_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index("ix_coupons_scope_pk", ["account_id", "livemode", "pk"], unique=False)

    op.create_table(
        "credit_note_lines",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("credit_note", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("invoice_line_item", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("unit_amount_decimal", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "discount_amounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tax_amounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tax_rates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_credit_note_lines_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_credit_note_lines")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_credit_note_lines_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("credit_note_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_note_lines_credit_note", ["credit_note", "position"], unique=False
        )
        batch_op.create_index(
            "ix_credit_note_lines_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "credit_notes",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("invoice", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("subtotal_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "discount_amounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "total_taxes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("total_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("pre_payment_amount", sa.BigInteger(), nullable=False),
        sa.Column("post_payment_amount", sa.BigInteger(), nullable=False),
        sa.Column("credit_amount", sa.BigInteger(), nullable=False),
        sa.Column("out_of_band_amount", sa.BigInteger(), nullable=True),
        sa.Column(
            "refunds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("customer_balance_transaction", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("effective_at", sa.BigInteger(), nullable=True),
        sa.Column("voided_at", sa.BigInteger(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_credit_notes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_credit_notes_account_id_livemode_id")
        ),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "number",
            name=op.f("uq_credit_notes_account_id_livemode_number"),
        ),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_notes_customer", ["account_id", "livemode", "customer"], unique=False
        )
        batch_op.create_index(
            "ix_credit_notes_invoice", ["account_id", "livemode", "invoice"], unique=False
        )
        batch_op.create_index(
            "ix_credit_notes_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "customer_balance_transactions",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("ending_balance", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("invoice", sa.String(length=64), nullable=True),
        sa.Column("credit_note", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_customer_balance_transactions_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_customer_balance_transactions")),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "id",
            name=op.f("uq_customer_balance_transactions_account_id_livemode_id"),
        ),
    )
    with op.batch_alter_table("customer_balance_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_balance_transactions_customer",
            ["account_id", "livemode", "customer"],
            unique=False,
        )
        batch_op.create_index(
            "ix_customer_balance_transactions_scope_pk",
            ["account_id", "livemode", "pk"],
            unique=False,
        )

    op.create_table(
        "customers",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("email", sa.String(length=512), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "shipping",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "preferred_locales",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("invoice_prefix", sa.String(length=12), nullable=False),
        sa.Column("next_invoice_sequence", sa.BigInteger(), nullable=False),
        sa.Column("default_payment_method", sa.String(length=64), nullable=True),
        sa.Column(
            "invoice_settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("tax_exempt", sa.String(length=16), nullable=False),
        sa.Column("test_clock", sa.String(length=64), nullable=True),
        sa.Column(
            "discount",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "gateway_references",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_customers_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_customers")),
        sa.UniqueConstraint(
            "account_id", "invoice_prefix", name=op.f("uq_customers_account_id_invoice_prefix")
        ),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_customers_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_email", ["account_id", "livemode", "email"], unique=False
        )
        batch_op.create_index(
            "ix_customers_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )
        batch_op.create_index("ix_customers_test_clock", ["test_clock"], unique=False)

    op.create_table(
        "disputes",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("charge", sa.String(length=64), nullable=False),
        sa.Column("payment_intent", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column("gateway_reference", sa.String(length=255), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_disputes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_disputes")),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "gateway",
            "gateway_reference",
            name=op.f("uq_disputes_account_id_livemode_gateway_gateway_reference"),
        ),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_disputes_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index("ix_disputes_charge", ["charge"], unique=False)
        batch_op.create_index(
            "ix_disputes_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "events",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("api_version", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("pending_webhooks", sa.Integer(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_events_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_events")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_events_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_recorded_at", ["recorded_at"], unique=False)
        batch_op.create_index("ix_events_scope_pk", ["account_id", "livemode", "pk"], unique=False)
        batch_op.create_index(
            "ix_events_scope_type", ["account_id", "livemode", "type"], unique=False
        )

    op.create_table(
        "gateway_events",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("object_reference", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_gateway_events_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_gateway_events")),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "gateway",
            "event_id",
            name=op.f("uq_gateway_events_account_id_livemode_gateway_event_id"),
        ),
    )
    with op.batch_alter_table("gateway_events", schema=None) as batch_op:
        batch_op.create_index("ix_gateway_events_outcome", ["outcome", "received"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_idempotency_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "key",
            name=op.f("uq_idempotency_keys_account_id_livemode_key"),
        ),
    )
    op.create_table(
        "invoice_items",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=False),
        sa.Column("invoice", sa.String(length=64), nullable=True),
        sa.Column("subscription", sa.String(length=64), nullable=True),
        sa.Column("subscription_item", sa.String(length=64), nullable=True),
        sa.Column("price", sa.String(length=64), nullable=True),
        sa.Column("product", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_amount_decimal", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("period_end", sa.BigInteger(), nullable=False),
        sa.Column("proration", sa.Boolean(), nullable=False),
        sa.Column("discountable", sa.Boolean(), nullable=False),
        sa.Column(
            "tax_rates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("test_clock", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_invoice_items_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_invoice_items")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_invoice_items_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("invoice_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoice_items_pending",
            ["account_id", "livemode", "customer", "invoice"],
            unique=False,
        )
        batch_op.create_index(
            "ix_invoice_items_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "invoice_lines",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("invoice", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subscription", sa.String(length=64), nullable=True),
        sa.Column("subscription_item", sa.String(length=64), nullable=True),
        sa.Column("invoice_item", sa.String(length=64), nullable=True),
        sa.Column("price", sa.String(length=64), nullable=True),
        sa.Column("product", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("period_end", sa.BigInteger(), nullable=False),
        sa.Column("proration", sa.Boolean(), nullable=False),
        sa.Column("discountable", sa.Boolean(), nullable=False),
        sa.Column(
            "discount_amounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tax_amounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tax_rates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_invoice_lines_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_invoice_lines_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index("ix_invoice_lines_invoice", ["invoice", "position"], unique=False)
        batch_op.create_index(
            "ix_invoice_lines_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=False),
        sa.Column("subscription", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_reason", sa.String(length=32), nullable=False),
        sa.Column("collection_method", sa.String(length=24), nullable=False),
        sa.Column("auto_advance", sa.Boolean(), nullable=False),
        sa.Column("automatically_finalizes_at", sa.BigInteger(), nullable=True),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("period_end", sa.BigInteger(), nullable=False),
        sa.Column("cycle_period_start", sa.BigInteger(), nullable=True),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("subtotal_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column(
            "total_discount_amounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "total_taxes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("total_excluding_tax", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("starting_balance", sa.BigInteger(), nullable=False),
        sa.Column("ending_balance", sa.BigInteger(), nullable=True),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("amount_remaining", sa.BigInteger(), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("attempted", sa.Boolean(), nullable=False),
        sa.Column("next_payment_attempt", sa.BigInteger(), nullable=True),
        sa.Column(
            "dunning",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("due_date", sa.BigInteger(), nullable=True),
        sa.Column("default_payment_method", sa.String(length=64), nullable=True),
        sa.Column(
            "discounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "discount_entries",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "default_tax_rates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("footer", sa.Text(), nullable=True),
        sa.Column("paid_out_of_band", sa.Boolean(), nullable=False),
        sa.Column("pre_payment_credit_notes_amount", sa.BigInteger(), nullable=False),
        sa.Column("post_payment_credit_notes_amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "status_transitions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "last_finalization_error",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("test_clock", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_invoices_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_invoices_account_id_livemode_id")
        ),
        sa.UniqueConstraint(
            "account_id", "livemode", "number", name=op.f("uq_invoices_account_id_livemode_number")
        ),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "subscription",
            "cycle_period_start",
            name=op.f("uq_invoices_account_id_livemode_subscription_cycle_period_start"),
        ),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index("ix_invoices_collection", ["next_payment_attempt"], unique=False)
        batch_op.create_index(
            "ix_invoices_customer", ["account_id", "livemode", "customer"], unique=False
        )
        batch_op.create_index("ix_invoices_finalizes", ["automatically_finalizes_at"], unique=False)
        batch_op.create_index(
            "ix_invoices_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )
        batch_op.create_index("ix_invoices_subscription", ["subscription"], unique=False)

    op.create_table(
        "payment_intents",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=True),
        sa.Column("invoice", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_received", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("payment_method", sa.String(length=64), nullable=True),
        sa.Column("latest_charge", sa.String(length=64), nullable=True),
        sa.Column(
            "last_payment_error",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("setup_future_usage", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("receipt_email", sa.String(length=255), nullable=True),
        sa.Column("canceled_at", sa.BigInteger(), nullable=True),
        sa.Column("cancellation_reason", sa.String(length=32), nullable=True),
        sa.Column("client_secret", sa.String(length=128), nullable=False),
        sa.Column("test_clock", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payment_intents_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_payment_intents")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_payment_intents_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_intents_customer", ["account_id", "livemode", "customer"], unique=False
        )
        batch_op.create_index("ix_payment_intents_invoice", ["invoice"], unique=False)
        batch_op.create_index(
            "ix_payment_intents_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "payment_methods",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=True),
        sa.Column(
            "billing_details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("funding", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("behavior", sa.String(length=64), nullable=False),
        sa.Column(
            "checks",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("allow_redisplay", sa.String(length=16), nullable=False),
        sa.Column("detached_at", sa.BigInteger(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("gateway", sa.String(length=16), nullable=True),
        sa.Column("gateway_reference", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payment_methods_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_payment_methods")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_payment_methods_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_methods_customer",
            ["account_id", "livemode", "customer", "pk"],
            unique=False,
        )
        batch_op.create_index(
            "ix_payment_methods_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "prices",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("billing_scheme", sa.String(length=16), nullable=False),
        sa.Column("unit_amount_decimal", sa.String(length=40), nullable=True),
        sa.Column("tiers_mode", sa.String(length=16), nullable=True),
        sa.Column(
            "tiers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "transform_quantity",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("recurring_interval", sa.String(length=8), nullable=True),
        sa.Column("recurring_interval_count", sa.BigInteger(), nullable=True),
        sa.Column("recurring_usage_type", sa.String(length=16), nullable=True),
        sa.Column("recurring_trial_period_days", sa.BigInteger(), nullable=True),
        sa.Column("tax_behavior", sa.String(length=16), nullable=False),
        sa.Column("lookup_key", sa.String(length=200), nullable=True),
        sa.Column("nickname", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_prices_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_prices")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_prices_account_id_livemode_id")
        ),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "lookup_key",
            name=op.f("uq_prices_account_id_livemode_lookup_key"),
        ),
    )
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.create_index("ix_prices_scope_pk", ["account_id", "livemode", "pk"], unique=False)
        batch_op.create_index(
            "ix_prices_scope_product", ["account_id", "livemode", "product"], unique=False
        )

    op.create_table(
        "products",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("default_price", sa.String(length=64), nullable=True),
        sa.Column(
            "images",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("tax_code", sa.Text(), nullable=True),
        sa.Column("unit_label", sa.String(length=64), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("shippable", sa.Boolean(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_products_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_products")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_products_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(
            "ix_products_scope_active", ["account_id", "livemode", "active"], unique=False
        )
        batch_op.create_index(
            "ix_products_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "promotion_codes",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=500), nullable=False),
        sa.Column("code_key", sa.String(length=500), nullable=False),
        sa.Column("coupon", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("max_redemptions", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("times_redeemed", sa.BigInteger(), nullable=False),
        sa.Column("first_time_transaction", sa.Boolean(), nullable=False),
        sa.Column("minimum_amount", sa.BigInteger(), nullable=True),
        sa.Column("minimum_amount_currency", sa.String(length=3), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_promotion_codes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_promotion_codes")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_promotion_codes_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("promotion_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_promotion_codes_scope_coupon", ["account_id", "livemode", "coupon"], unique=False
        )
        batch_op.create_index(
            "ix_promotion_codes_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )
        batch_op.create_index(
            "uq_promotion_codes_active_code",
            ["account_id", "livemode", "code_key"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    op.create_table(
        "refunds",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("charge", sa.String(length=64), nullable=False),
        sa.Column("payment_intent", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("failure_reason", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("gateway_reference", sa.String(length=255), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_refunds_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_refunds")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_refunds_account_id_livemode_id")
        ),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "idempotency_key",
            name=op.f("uq_refunds_account_id_livemode_idempotency_key"),
        ),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index("ix_refunds_charge", ["charge"], unique=False)
        batch_op.create_index("ix_refunds_pending", ["status", "recorded_at"], unique=False)
        batch_op.create_index("ix_refunds_scope_pk", ["account_id", "livemode", "pk"], unique=False)

    op.create_table(
        "subscription_items",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("subscription", sa.String(length=64), nullable=False),
        sa.Column("price", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column(
            "tax_rates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "discounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_subscription_items_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_subscription_items")),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "id",
            name=op.f("uq_subscription_items_account_id_livemode_id"),
        ),
    )
    with op.batch_alter_table("subscription_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_items_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )
        batch_op.create_index("ix_subscription_items_subscription", ["subscription"], unique=False)

    op.create_table(
        "subscription_schedules",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("subscription", sa.String(length=64), nullable=True),
        sa.Column("released_subscription", sa.String(length=64), nullable=True),
        sa.Column("end_behavior", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.BigInteger(), nullable=False),
        sa.Column(
            "phases",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "current_phase",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "default_settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("canceled_at", sa.BigInteger(), nullable=True),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.Column("released_at", sa.BigInteger(), nullable=True),
        sa.Column("test_clock", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_subscription_schedules_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_subscription_schedules")),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "id",
            name=op.f("uq_subscription_schedules_account_id_livemode_id"),
        ),
    )
    with op.batch_alter_table("subscription_schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_schedules_customer",
            ["account_id", "livemode", "customer"],
            unique=False,
        )
        batch_op.create_index(
            "ix_subscription_schedules_due", ["status", "start_date"], unique=False
        )
        batch_op.create_index(
            "ix_subscription_schedules_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )
        batch_op.create_index("ix_subscription_schedules_test_clock", ["test_clock"], unique=False)

    op.create_table(
        "subscriptions",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("customer", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("interval_count", sa.Integer(), nullable=False),
        sa.Column("collection_method", sa.String(length=24), nullable=False),
        sa.Column("days_until_due", sa.Integer(), nullable=True),
        sa.Column("default_payment_method", sa.String(length=64), nullable=True),
        sa.Column(
            "default_tax_rates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("billing_cycle_anchor", sa.BigInteger(), nullable=False),
        sa.Column(
            "billing_cycle_anchor_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("start_date", sa.BigInteger(), nullable=False),
        sa.Column("current_period_start", sa.BigInteger(), nullable=False),
        sa.Column("current_period_end", sa.BigInteger(), nullable=False),
        sa.Column("trial_start", sa.BigInteger(), nullable=True),
        sa.Column("trial_end", sa.BigInteger(), nullable=True),
        sa.Column(
            "trial_settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("cancel_at", sa.BigInteger(), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("canceled_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column(
            "cancellation_details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "pause_collection",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "discounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("latest_invoice", sa.String(length=64), nullable=True),
        sa.Column(
            "pending_update",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("invoice_timing", sa.String(length=8), nullable=False),
        sa.Column("invoice_days_before", sa.Integer(), nullable=True),
        sa.Column("created_proration_behavior", sa.String(length=24), nullable=True),
        sa.Column(
            "notices",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("test_clock", sa.String(length=64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("next_action_at", sa.BigInteger(), nullable=True),
        sa.Column("schedule", sa.String(length=64), nullable=True),
        sa.Column("schedule_phase_at", sa.BigInteger(), nullable=True),
        sa.Column("schedule_expiring_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_subscriptions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_subscriptions_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscriptions_customer", ["account_id", "livemode", "customer"], unique=False
        )
        batch_op.create_index("ix_subscriptions_due", ["next_action_at"], unique=False)
        batch_op.create_index(
            "ix_subscriptions_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )
        batch_op.create_index("ix_subscriptions_test_clock", ["test_clock"], unique=False)

    op.create_table(
        "tax_rates",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("percentage", sa.String(length=16), nullable=False),
        sa.Column("inclusive", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.Column("jurisdiction", sa.Text(), nullable=True),
        sa.Column("tax_type", sa.String(length=32), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tax_rates_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_tax_rates")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_tax_rates_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("tax_rates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tax_rates_scope_active", ["account_id", "livemode", "active"], unique=False
        )
        batch_op.create_index(
            "ix_tax_rates_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "test_clocks",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("frozen_time", sa.BigInteger(), nullable=False),
        sa.Column("deletes_after", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("target_frozen_time", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_test_clocks_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_test_clocks")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_test_clocks_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("test_clocks", schema=None) as batch_op:
        batch_op.create_index("ix_test_clocks_deletes_after", ["deletes_after"], unique=False)
        batch_op.create_index(
            "ix_test_clocks_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )
        batch_op.create_index("ix_test_clocks_status", ["status"], unique=False)

    op.create_table(
        "webhook_attempts",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("next_retry_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_webhook_attempts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_attempts")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_webhook_attempts_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_attempts_created", ["created"], unique=False)
        batch_op.create_index(
            "ix_webhook_attempts_endpoint",
            ["account_id", "livemode", "endpoint", "pk"],
            unique=False,
        )
        batch_op.create_index(
            "ix_webhook_attempts_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=True),
        sa.Column("lease", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_webhook_deliveries_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "endpoint",
            "event",
            name=op.f("uq_webhook_deliveries_account_id_livemode_endpoint_event"),
        ),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_created", ["created"], unique=False)
        batch_op.create_index(
            "ix_webhook_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
            postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_webhook_deliveries_event", ["account_id", "livemode", "event"], unique=False
        )

    op.create_table(
        "webhook_endpoints",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "enabled_events",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("api_version", sa.String(length=40), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("disabled_reason", sa.String(length=16), nullable=True),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("events_after", sa.BigInteger(), nullable=False),
        sa.Column("failing_since", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_webhook_endpoints_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_endpoints")),
        sa.UniqueConstraint(
            "account_id", "livemode", "id", name=op.f("uq_webhook_endpoints_account_id_livemode_id")
        ),
    )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_endpoints_scope_pk", ["account_id", "livemode", "pk"], unique=False
        )
        batch_op.create_index("ix_webhook_endpoints_status", ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_endpoints_status")
        batch_op.drop_index("ix_webhook_endpoints_scope_pk")

    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_event")
        batch_op.drop_index(
            "ix_webhook_deliveries_due",
            sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
            postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
        )
        batch_op.drop_index("ix_webhook_deliveries_created")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempts_scope_pk")
        batch_op.drop_index("ix_webhook_attempts_endpoint")
        batch_op.drop_index("ix_webhook_attempts_created")

    op.drop_table("webhook_attempts")
    with op.batch_alter_table("test_clocks", schema=None) as batch_op:
        batch_op.drop_index("ix_test_clocks_status")
        batch_op.drop_index("ix_test_clocks_scope_pk")
        batch_op.drop_index("ix_test_clocks_deletes_after")

    op.drop_table("test_clocks")
    with op.batch_alter_table("tax_rates", schema=None) as batch_op:
        batch_op.drop_index("ix_tax_rates_scope_pk")
        batch_op.drop_index("ix_tax_rates_scope_active")

    op.drop_table("tax_rates")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_test_clock")
        batch_op.drop_index("ix_subscriptions_scope_pk")
        batch_op.drop_index("ix_subscriptions_due")
        batch_op.drop_index("ix_subscriptions_customer")

    op.drop_table("subscriptions")
    with op.batch_alter_table("subscription_schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_schedules_test_clock")
        batch_op.drop_index("ix_subscription_schedules_scope_pk")
        batch_op.drop_index("ix_subscription_schedules_due")
        batch_op.drop_index("ix_subscription_schedules_customer")

    op.drop_table("subscription_schedules")
    with op.batch_alter_table("subscription_items", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_items_subscription")
        batch_op.drop_index("ix_subscription_items_scope_pk")

    op.drop_table("subscription_items")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_scope_pk")
        batch_op.drop_index("ix_refunds_pending")
        batch_op.drop_index("ix_refunds_charge")

    op.drop_table("refunds")
    with op.batch_alter_table("promotion_codes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_promotion_codes_active_code",
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )
        batch_op.drop_index("ix_promotion_codes_scope_pk")
        batch_op.drop_index("ix_promotion_codes_scope_coupon")

    op.drop_table("promotion_codes")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_scope_pk")
        batch_op.drop_index("ix_products_scope_active")

    op.drop_table("products")
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.drop_index("ix_prices_scope_product")
        batch_op.drop_index("ix_prices_scope_pk")

    op.drop_table("prices")
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_methods_scope_pk")
        batch_op.drop_index("ix_payment_methods_customer")

    op.drop_table("payment_methods")
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_intents_scope_pk")
        batch_op.drop_index("ix_payment_intents_invoice")
        batch_op.drop_index("ix_payment_intents_customer")

    op.drop_table("payment_intents")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_subscription")
        batch_op.drop_index("ix_invoices_scope_pk")
        batch_op.drop_index("ix_invoices_finalizes")
        batch_op.drop_index("ix_invoices_customer")
        batch_op.drop_index("ix_invoices_collection")

    op.drop_table("invoices")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_lines_scope_pk")
        batch_op.drop_index("ix_invoice_lines_invoice")

    op.drop_table("invoice_lines")
    with op.batch_alter_table("invoice_items", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_items_scope_pk")
        batch_op.drop_index("ix_invoice_items_pending")

    op.drop_table("invoice_items")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("gateway_events", schema=None) as batch_op:
        batch_op.drop_index("ix_gateway_events_outcome")

    op.drop_table("gateway_events")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_scope_type")
        batch_op.drop_index("ix_events_scope_pk")
        batch_op.drop_index("ix_events_recorded_at")

    op.drop_table("events")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index("ix_disputes_scope_pk")
        batch_op.drop_index("ix_disputes_charge")

    op.drop_table("disputes")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_test_clock")
        batch_op.drop_index("ix_customers_scope_pk")
        batch_op.drop_index("ix_customers_email")

    op.drop_table("customers")
    with op.batch_alter_table("customer_balance_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_balance_transactions_scope_pk")
        batch_op.drop_index("ix_customer_balance_transactions_customer")

    op.drop_table("customer_balance_transactions")
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_notes_scope_pk")
        batch_op.drop_index("ix_credit_notes_invoice")
        batch_op.drop_index("ix_credit_notes_customer")

    op.drop_table("credit_notes")
    with op.batch_alter_table("credit_note_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_note_lines_scope_pk")
        batch_op.drop_index("ix_credit_note_lines_credit_note")

    op.drop_table("credit_note_lines")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index("ix_coupons_scope_pk")

    op.drop_table("coupons")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_charges_one_success_per_invoice",
            sqlite_where=sa.text("status = 'succeeded'"),
            postgresql_where=sa.text("status = 'succeeded'"),
        )
        batch_op.drop_index(
            "uq_charges_one_pending_per_invoice",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(
            "uq_charges_one_pending_per_intent",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index("ix_charges_scope_pk")
        batch_op.drop_index("ix_charges_pending")
        batch_op.drop_index("ix_charges_payment_intent")
        batch_op.drop_index("ix_charges_invoice")

    op.drop_table("charges")
    op.drop_table("api_keys")
    op.drop_table("webhook_fanout")
    op.drop_table("gateway_rate_limits")
    op.drop_table("accounts")
