"""Accounts and API keys (not tenant-scoped: they define the tenants)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from recur.storage.repositories.base import Record
from recur.storage.tables import accounts, api_keys

if TYPE_CHECKING:
    from recur.storage.uow import UnitOfWork


class AccountRepository:
    """Merchant accounts and the digests of their keys."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.connection = uow.connection

    def insert_account(self, values: Mapping[str, Any]) -> None:
        """Store a new account."""
        self.connection.execute(insert(accounts), [dict(values)])

    def insert_key(self, values: Mapping[str, Any]) -> None:
        """Store a key digest."""
        self.connection.execute(insert(api_keys), [dict(values)])

    def find_account(self, account_id: str) -> Record | None:
        """One account by id."""
        query = select(accounts).where(accounts.c.id == account_id)
        return self.connection.execute(query).mappings().first()

    def find_demo_account(self) -> Record | None:
        """The account `make run` created for a first look, if any."""
        query = select(accounts).where(accounts.c.is_demo.is_(True)).order_by(accounts.c.pk)
        return self.connection.execute(query.limit(1)).mappings().first()

    def find_key(self, key_hash: str) -> Record | None:
        """An active key by digest, with its account's id."""
        query = select(api_keys).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)
        )
        return self.connection.execute(query).mappings().first()

    def revoke_keys(self, account_id: str, livemode: bool, kind: str, at: int) -> None:
        """Revoke every active key of one kind (used when rolling keys)."""
        self.connection.execute(
            update(api_keys)
            .where(
                api_keys.c.account_id == account_id,
                api_keys.c.livemode == livemode,
                api_keys.c.kind == kind,
                api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )

    def update_settings(self, account_id: str, settings: Mapping[str, Any]) -> None:
        """Replace an account's settings document."""
        self.connection.execute(
            update(accounts).where(accounts.c.id == account_id).values(settings=dict(settings))
        )
