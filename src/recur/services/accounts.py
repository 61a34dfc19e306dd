"""Merchant accounts and API keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from recur.domain.clock import to_unix
from recur.domain.errors import NotFound
from recur.domain.ids import new_id, new_secret
from recur.domain.tenancy import Scope
from recur.storage.repositories.accounts import AccountRepository
from recur.storage.uow import UnitOfWork

KEY_PREFIXES = {
    ("secret", False): "sk_test_",
    ("secret", True): "sk_live_",
    ("publishable", False): "pk_test_",
    ("publishable", True): "pk_live_",
    ("restricted", False): "rk_test_",
    ("restricted", True): "rk_live_",
    ("restricted_read", False): "rk_test_",
    ("restricted_read", True): "rk_live_",
}


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An authenticated key: whose it is, which mode, what it may do."""

    scope: Scope
    kind: str  # secret | publishable | restricted | restricted_read


@dataclass(frozen=True, slots=True)
class AccountKeys:
    """A new account's keys, shown once (only their digests are stored)."""

    account: str
    name: str
    test_secret_key: str
    test_publishable_key: str
    live_secret_key: str
    live_publishable_key: str


def hash_key(raw_key: str) -> str:
    """The digest under which a key is stored and looked up."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _redact(raw_key: str) -> str:
    return raw_key[:8] + "…" + raw_key[-4:]


def issue_key(uow: UnitOfWork, account_id: str, *, livemode: bool, kind: str, now: datetime) -> str:
    """Create a key of `kind` for the account and return it (the only time it is visible)."""
    raw_key = new_secret(KEY_PREFIXES[(kind, livemode)].rstrip("_"))
    uow.repository(AccountRepository).insert_key(
        {
            "account_id": account_id,
            "livemode": livemode,
            "kind": kind,
            "key_hash": hash_key(raw_key),
            "redacted": _redact(raw_key),
            "created": to_unix(now),
        }
    )
    return raw_key


def create_account(
    uow: UnitOfWork, name: str, now: datetime, *, is_demo: bool = False
) -> AccountKeys:
    """Create a merchant account with test and live secret and publishable keys."""
    account_id = new_id("acct")
    uow.repository(AccountRepository).insert_account(
        {
            "id": account_id,
            "name": name,
            "created": to_unix(now),
            "is_demo": is_demo,
            "settings": {},
        }
    )

    def key(livemode: bool, kind: str) -> str:
        return issue_key(uow, account_id, livemode=livemode, kind=kind, now=now)

    return AccountKeys(
        account=account_id,
        name=name,
        test_secret_key=key(False, "secret"),
        test_publishable_key=key(False, "publishable"),
        live_secret_key=key(True, "secret"),
        live_publishable_key=key(True, "publishable"),
    )


def issue_restricted_key(
    uow: UnitOfWork, account_id: str, *, livemode: bool, read_only: bool, now: datetime
) -> str:
    """A restricted key (`rk_…`): full access, or read-only (GET requests only)."""
    if uow.repository(AccountRepository).find_account(account_id) is None:
        raise NotFound.for_id("account", account_id, "account")
    kind = "restricted_read" if read_only else "restricted"
    return issue_key(uow, account_id, livemode=livemode, kind=kind, now=now)


def authenticate(uow: UnitOfWork, raw_key: str) -> ApiKey | None:
    """The key's tenant and kind, or None for an unknown or revoked key."""
    if not raw_key.startswith(("sk_", "pk_", "rk_")) or len(raw_key) > 256:
        return None
    row = uow.repository(AccountRepository).find_key(hash_key(raw_key))
    if row is None:
        return None
    return ApiKey(Scope(row["account_id"], bool(row["livemode"])), row["kind"])


def find_demo_account(uow: UnitOfWork) -> str | None:
    """The id of the demo account, if one was created."""
    row = uow.repository(AccountRepository).find_demo_account()
    return None if row is None else str(row["id"])
