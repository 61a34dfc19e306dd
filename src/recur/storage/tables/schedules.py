"""Subscription schedules: a subscription's planned phases.

The phases are stored resolved (every phase has its `start_date` and `end_date`, prices
created from `price_data` are ids), so advancing a subscription never re-validates input.
The subscription row carries what time needs from its schedule (`schedule`,
`schedule_phase_at`, `schedule_expiring_at`); a schedule that has not started has no
subscription yet and is found by `status` and `start_date`.
"""

from sqlalchemy import BigInteger, Column, Index, String

from recur.storage.tables.base import ID_LENGTH, Json, object_table

subscription_schedules = object_table(
    "subscription_schedules",
    Column("customer", String(ID_LENGTH), nullable=False),
    # not_started | active | completed | released | canceled
    Column("status", String(16), nullable=False),
    Column("subscription", String(ID_LENGTH), nullable=True),
    Column("released_subscription", String(ID_LENGTH), nullable=True),
    Column("end_behavior", String(16), nullable=False),
    # The first phase's start: when a not_started schedule creates its subscription.
    Column("start_date", BigInteger, nullable=False),
    # [{start_date, end_date, items: [{price, quantity, tax_rates, metadata}], ...}]
    Column("phases", Json, nullable=False, default=list),
    # {start_date, end_date} of the phase in force, while active.
    Column("current_phase", Json, nullable=True),
    # {billing_cycle_anchor, collection_method, default_payment_method, description,
    #  invoice_settings: {days_until_due}}
    Column("default_settings", Json, nullable=False, default=dict),
    Column("canceled_at", BigInteger, nullable=True),
    Column("completed_at", BigInteger, nullable=True),
    Column("released_at", BigInteger, nullable=True),
    Column("test_clock", String(ID_LENGTH), nullable=True),
    Column("metadata", Json, nullable=False, default=dict),
    Index("ix_subscription_schedules_customer", "account_id", "livemode", "customer"),
    Index("ix_subscription_schedules_due", "status", "start_date"),
    Index("ix_subscription_schedules_test_clock", "test_clock"),
)
