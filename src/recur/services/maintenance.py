"""Housekeeping the worker does on every pass."""

from __future__ import annotations

from datetime import datetime, timedelta

from recur.domain.clock import to_unix
from recur.storage.repositories.idempotency import IdempotencyRepository
from recur.storage.uow import UnitOfWork

# Stripe replays a key's result for at least 24 hours; Recur keeps it for 48.
IDEMPOTENCY_RETENTION = timedelta(hours=48)


def purge_idempotency_keys(uow: UnitOfWork, now: datetime) -> int:
    """Forget idempotent results older than the retention period (all tenants)."""
    return uow.repository(IdempotencyRepository).purge_before(to_unix(now - IDEMPOTENCY_RETENTION))
