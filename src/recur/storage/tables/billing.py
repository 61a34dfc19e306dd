"""Subscriptions, their items, invoices, invoice lines, pending invoice items, charges.

The invariants money depends on are constraints here, not only code:
- one `subscription_cycle` invoice per (subscription, period start): `cycle_period_start`
  is set only on cycle invoices, and NULLs never collide;
- invoice numbers unique per account and mode (assigned at finalization only);
- at most one successful charge per invoice (a partial unique index).
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)

from recur.storage.tables.base import ID_LENGTH, Json, object_table

subscriptions = object_table(
    "subscriptions",
    Column("customer", String(ID_LENGTH), nullable=False),
    Column("status", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("interval_count", Integer, nullable=False),
    Column("collection_method", String(24), nullable=False),
    Column("days_until_due", Integer, nullable=True),
    Column("default_payment_method", String(ID_LENGTH), nullable=True),
    Column("default_tax_rates", Json, nullable=False, default=list),
    Column("description", Text, nullable=True),
    Column("billing_cycle_anchor", BigInteger, nullable=False),
    # {day_of_month, hour, minute, second, month} when the anchor was set by a config:
    # periods then fall on that day (clamped to each month's length).
    Column("billing_cycle_anchor_config", Json, nullable=True),
    Column("start_date", BigInteger, nullable=False),
    Column("current_period_start", BigInteger, nullable=False),
    Column("current_period_end", BigInteger, nullable=False),
    Column("trial_start", BigInteger, nullable=True),
    Column("trial_end", BigInteger, nullable=True),
    Column("trial_settings", Json, nullable=True),
    Column("cancel_at", BigInteger, nullable=True),
    Column("cancel_at_period_end", Boolean, nullable=False, default=False),
    Column("canceled_at", BigInteger, nullable=True),
    Column("ended_at", BigInteger, nullable=True),
    Column("cancellation_details", Json, nullable=True),
    Column("pause_collection", Json, nullable=True),
    # [{id: di_…, coupon, promotion_code, start, end}]
    Column("discounts", Json, nullable=False, default=list),
    Column("latest_invoice", String(ID_LENGTH), nullable=True),
    # A change waiting for its invoice to be paid (`payment_behavior=pending_if_incomplete`):
    # what the wire shows, and the state to apply when the invoice is paid.
    Column("pending_update", Json, nullable=True),
    # Recur extension for the ERP case: "start" (default) | "end" (in arrears) | "before".
    Column("invoice_timing", String(8), nullable=False, default="start"),
    Column("invoice_days_before", Integer, nullable=True),
    # The `proration_behavior` the subscription was created with: a trial that ends before
    # a later anchor bills the partial period up to it as creation would have (free when
    # `none`).
    Column("created_proration_behavior", String(24), nullable=True),
    # Notices already emitted for the current trial/period, so catching up sends each once.
    Column("notices", Json, nullable=False, default=dict),
    Column("test_clock", String(ID_LENGTH), nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    # The earliest moment something must happen; NULL once nothing will (ended).
    Column("next_action_at", BigInteger, nullable=True),
    # The subscription schedule managing it (`sub_sched_…`), its next phase boundary (or
    # its end), and when `subscription_schedule.expiring` is due (NULL once sent): what
    # `advance.due_actions` needs from the schedule (services/schedule_transitions.py).
    Column("schedule", String(ID_LENGTH), nullable=True),
    Column("schedule_phase_at", BigInteger, nullable=True),
    Column("schedule_expiring_at", BigInteger, nullable=True),
    Index("ix_subscriptions_due", "next_action_at"),
    Index("ix_subscriptions_customer", "account_id", "livemode", "customer"),
    Index("ix_subscriptions_test_clock", "test_clock"),
)

subscription_items = object_table(
    "subscription_items",
    Column("subscription", String(ID_LENGTH), nullable=False),
    Column("price", String(ID_LENGTH), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("tax_rates", Json, nullable=False, default=list),
    Column("discounts", Json, nullable=False, default=list),
    Column("metadata", Json, nullable=False, default=dict),
    Column("deleted", Boolean, nullable=False, default=False),
    Index("ix_subscription_items_subscription", "subscription"),
)

invoices = object_table(
    "invoices",
    Column("customer", String(ID_LENGTH), nullable=False),
    Column("subscription", String(ID_LENGTH), nullable=True),
    Column("status", String(16), nullable=False),
    Column("number", String(64), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("billing_reason", String(32), nullable=False),
    Column("collection_method", String(24), nullable=False),
    Column("auto_advance", Boolean, nullable=False),
    Column("automatically_finalizes_at", BigInteger, nullable=True),
    Column("period_start", BigInteger, nullable=False),
    Column("period_end", BigInteger, nullable=False),
    Column("cycle_period_start", BigInteger, nullable=True),
    Column("subtotal", BigInteger, nullable=False, default=0),
    Column("subtotal_excluding_tax", BigInteger, nullable=False, default=0),
    Column("total_discount_amounts", Json, nullable=False, default=list),
    Column("total_taxes", Json, nullable=False, default=list),
    Column("total_excluding_tax", BigInteger, nullable=False, default=0),
    Column("total", BigInteger, nullable=False, default=0),
    Column("starting_balance", BigInteger, nullable=False, default=0),
    Column("ending_balance", BigInteger, nullable=True),
    Column("amount_due", BigInteger, nullable=False, default=0),
    Column("amount_paid", BigInteger, nullable=False, default=0),
    Column("amount_remaining", BigInteger, nullable=False, default=0),
    Column("attempt_count", Integer, nullable=False, default=0),
    Column("attempted", Boolean, nullable=False, default=False),
    Column("next_payment_attempt", BigInteger, nullable=True),
    # Dunning of a charge_automatically invoice whose payment failed (services/collection):
    # {started_at, failures, hard_declined: [pm_…], ends_at, ended}.
    Column("dunning", Json, nullable=True),
    Column("due_date", BigInteger, nullable=True),
    Column("default_payment_method", String(ID_LENGTH), nullable=True),
    Column("discounts", Json, nullable=False, default=list),
    # The discount entries behind `discounts` ({id, coupon, promotion_code, start, end}),
    # so a draft recomputed later applies the very discounts it was created with.
    Column("discount_entries", Json, nullable=False, default=list),
    # Tax rates for lines that have none of their own (`default_tax_rates`).
    Column("default_tax_rates", Json, nullable=False, default=list),
    Column("description", Text, nullable=True),
    Column("footer", Text, nullable=True),
    Column("paid_out_of_band", Boolean, nullable=False, default=False),
    # What issued credit notes took off the amount remaining, and credited after payment.
    Column("pre_payment_credit_notes_amount", BigInteger, nullable=False, default=0),
    Column("post_payment_credit_notes_amount", BigInteger, nullable=False, default=0),
    # {finalized_at, paid_at, voided_at, marked_uncollectible_at}
    Column("status_transitions", Json, nullable=False, default=dict),
    Column("last_finalization_error", Json, nullable=True),
    Column("test_clock", String(ID_LENGTH), nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    UniqueConstraint("account_id", "livemode", "subscription", "cycle_period_start"),
    UniqueConstraint("account_id", "livemode", "number"),
    Index("ix_invoices_customer", "account_id", "livemode", "customer"),
    Index("ix_invoices_subscription", "subscription"),
    Index("ix_invoices_finalizes", "automatically_finalizes_at"),
    # The collection queue: open invoices whose next payment attempt is due.
    Index("ix_invoices_collection", "next_payment_attempt"),
)

invoice_lines = object_table(
    "invoice_lines",
    Column("invoice", String(ID_LENGTH), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # subscription | invoiceitem
    Column("subscription", String(ID_LENGTH), nullable=True),
    Column("subscription_item", String(ID_LENGTH), nullable=True),
    Column("invoice_item", String(ID_LENGTH), nullable=True),
    Column("price", String(ID_LENGTH), nullable=True),
    Column("product", String(ID_LENGTH), nullable=True),
    Column("quantity", BigInteger, nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("amount_excluding_tax", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("description", Text, nullable=True),
    Column("period_start", BigInteger, nullable=False),
    Column("period_end", BigInteger, nullable=False),
    Column("proration", Boolean, nullable=False, default=False),
    Column("discountable", Boolean, nullable=False, default=True),
    Column("discount_amounts", Json, nullable=False, default=list),
    Column("tax_amounts", Json, nullable=False, default=list),
    Column("tax_rates", Json, nullable=False, default=list),
    Column("metadata", Json, nullable=False, default=dict),
    Index("ix_invoice_lines_invoice", "invoice", "position"),
)

invoice_items = object_table(
    "invoice_items",
    Column("customer", String(ID_LENGTH), nullable=False),
    Column("invoice", String(ID_LENGTH), nullable=True),  # NULL while pending
    Column("subscription", String(ID_LENGTH), nullable=True),
    Column("subscription_item", String(ID_LENGTH), nullable=True),
    Column("price", String(ID_LENGTH), nullable=True),
    Column("product", String(ID_LENGTH), nullable=True),
    Column("quantity", BigInteger, nullable=False, default=1),
    Column("unit_amount_decimal", String(40), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("description", Text, nullable=True),
    Column("period_start", BigInteger, nullable=False),
    Column("period_end", BigInteger, nullable=False),
    Column("proration", Boolean, nullable=False, default=False),
    Column("discountable", Boolean, nullable=False, default=True),
    Column("tax_rates", Json, nullable=False, default=list),
    Column("test_clock", String(ID_LENGTH), nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    Index("ix_invoice_items_pending", "account_id", "livemode", "customer", "invoice"),
)

charges = object_table(
    "charges",
    Column("invoice", String(ID_LENGTH), nullable=True),
    Column("customer", String(ID_LENGTH), nullable=True),
    Column("payment_method", String(ID_LENGTH), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # pending (written before the gateway is called; committed so only when the outcome
    # is unknown, until reconciled) | succeeded | failed. A charge row is the payment
    # attempt (docs/adr/0006-payments.md).
    Column("status", String(16), nullable=False),
    Column("failure_code", String(64), nullable=True),
    Column("decline_code", String(64), nullable=True),
    Column("failure_message", Text, nullable=True),
    Column("idempotency_key", String(255), nullable=False),
    Column("payment_intent", String(ID_LENGTH), nullable=True),
    # The gateway that was asked (simulated | stripe) and its id for the charge.
    Column("gateway", String(16), nullable=True),
    Column("gateway_reference", String(255), nullable=True),
    Column("amount_refunded", BigInteger, nullable=False, default=0),
    # A dispute was opened on it at the gateway (the `disputes` table holds it).
    # `false` is a keyword on both backends (SQLite ≥ 3.23), so one migration fits both.
    Column("disputed", Boolean, nullable=False, server_default=text("false")),
    # Wall-clock time of writing (`created` is billing time): when to reconcile a pending one.
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("account_id", "livemode", "idempotency_key"),
    Index(
        "uq_charges_one_success_per_invoice",
        "invoice",
        unique=True,
        sqlite_where=text("status = 'succeeded'"),
        postgresql_where=text("status = 'succeeded'"),
    ),
    # At most one attempt in flight (or of unknown outcome) per invoice and per intent.
    Index(
        "uq_charges_one_pending_per_invoice",
        "invoice",
        unique=True,
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index(
        "uq_charges_one_pending_per_intent",
        "payment_intent",
        unique=True,
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index("ix_charges_pending", "status", "recorded_at"),
    Index("ix_charges_payment_intent", "payment_intent"),
    Index("ix_charges_invoice", "invoice"),
)

events = object_table(
    "events",
    Column("type", String(80), nullable=False),
    Column("api_version", String(40), nullable=True),
    Column("object_id", String(ID_LENGTH), nullable=True),
    # {object: <wire object>, previous_attributes?: {...}}. Plain JSON, not JSONB, on
    # PostgreSQL: events are only ever read whole, and parsing every payload into JSONB
    # cost a billing run ~3× more per event (docs/adr/0004).
    Column("data", JSON, nullable=False),
    Column("request_id", String(ID_LENGTH), nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("pending_webhooks", Integer, nullable=False, default=0),
    # Wall-clock time of writing, for the 30-day retention. `created` is billing time: for
    # a customer on a test clock, the clock's frozen time, which may be years ago.
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_events_scope_type", "account_id", "livemode", "type"),
    Index("ix_events_recorded_at", "recorded_at"),
)
