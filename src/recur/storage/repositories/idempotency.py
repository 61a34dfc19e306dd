"""Stored results of idempotent requests, one per (account, mode, key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from recur.domain.tenancy import Scope
from recur.storage.repositories.base import Record
from recur.storage.tables import idempotency_keys

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork

t = idempotency_keys


class IdempotencyRepository:
    """The database's unique key makes a second concurrent request see the first."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.connection = uow.connection

    @property
    def scope(self) -> Scope:
        """The tenant (purging works without one)."""
        return self.uow.scope

    def _key(self, key: str) -> list[ColumnElement[bool]]:
        s = self.scope
        return [t.c.account_id == s.account_id, t.c.livemode == s.livemode, t.c.key == key]

    def claim(self, key: str, fingerprint: str, path: str, now: int) -> bool:
        """Record that a request with this key started; False when the key already exists."""
        values = {
            "account_id": self.scope.account_id,
            "livemode": self.scope.livemode,
            "key": key,
            "fingerprint": fingerprint,
            "path": path,
            "created": now,
            "completed": False,
        }
        try:
            with self.connection.begin_nested():
                self.connection.execute(insert(t), [values])
        except IntegrityError:
            return False
        return True

    def find(self, key: str) -> Record | None:
        """The stored record for this key."""
        return self.connection.execute(select(t).where(*self._key(key))).mappings().first()

    def complete(self, key: str, status: int, body: bytes, request_id: str) -> None:
        """Store the response that later requests with this key replay."""
        self.connection.execute(
            update(t)
            .where(*self._key(key))
            .values(
                completed=True, response_status=status, response_body=body, request_id=request_id
            )
        )

    def release(self, key: str) -> None:
        """Forget a key whose request must not be stored (409, 429, abandoned)."""
        self.connection.execute(delete(t).where(*self._key(key)))

    def purge_before(self, cutoff: int) -> int:
        """Delete records older than `cutoff` (all tenants); returns how many."""
        result = self.connection.execute(delete(t).where(t.c.created < cutoff))
        return int(result.rowcount or 0)
