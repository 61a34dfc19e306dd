"""Every table, on one MetaData. Each group of resources has its own module."""

from recur.storage.tables.accounts import accounts, api_keys, idempotency_keys
from recur.storage.tables.base import metadata
from recur.storage.tables.customers import customers

__all__ = [
    "accounts",
    "api_keys",
    "customers",
    "idempotency_keys",
    "metadata",
]
