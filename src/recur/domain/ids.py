"""Stripe-style object ids and API keys: a prefix and a random base62 suffix."""

from __future__ import annotations

import math
import secrets
import string
from typing import Final

BASE62: Final = string.digits + string.ascii_letters
ID_SUFFIX_LENGTH: Final = 24

# Prefixes that contain an underscore themselves; longest first so `sub_sched_` wins over `sub_`.
_COMPOUND_PREFIXES: Final = (
    "sub_sched",
    "sk_test",
    "sk_live",
    "pk_test",
    "pk_live",
    "rk_test",
    "rk_live",
)


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str) -> str:
    """Return a new object id such as `cus_` followed by 24 random base62 characters."""
    # 24 base62 characters carry ~143 bits: collisions are not a practical concern.
    return f"{prefix}_{_random_base62(ID_SUFFIX_LENGTH)}"


def new_secret(prefix: str, nbytes: int = 24) -> str:
    """Return a new secret such as an API key (`sk_test_…`) with `nbytes` of randomness."""
    length = math.ceil(nbytes * 8 / math.log2(len(BASE62)))
    separator = "" if prefix.endswith("_") else "_"
    return f"{prefix}{separator}{_random_base62(length)}"


def prefix_of(object_id: str) -> str:
    """Return the type prefix of an id: `cus` for `cus_abc`, `sub_sched` for `sub_sched_abc`."""
    for prefix in _COMPOUND_PREFIXES:
        if object_id.startswith(prefix + "_"):
            return prefix
    head, separator, _ = object_id.partition("_")
    if not separator or not head:
        raise ValueError(f"not a prefixed id: {object_id!r}")
    return head
