"""Test clocks: a frozen time per clock, moved forward on request."""

from sqlalchemy import BigInteger, Column, Index, String, Text

from recur.storage.tables.base import object_table

test_clocks = object_table(
    "test_clocks",
    Column("name", Text, nullable=True),
    Column("frozen_time", BigInteger, nullable=False),
    Column("deletes_after", BigInteger, nullable=False),
    Column("status", String(32), nullable=False),
    # While `advancing`: the frozen_time the worker is moving the clock to.
    Column("target_frozen_time", BigInteger, nullable=True),
    Index("ix_test_clocks_status", "status"),
    # The worker deletes clocks past `deletes_after` (30 days after creation, as at Stripe).
    Index("ix_test_clocks_deletes_after", "deletes_after"),
)
