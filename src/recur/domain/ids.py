"""Stripe-style object ids and API keys: a prefix and a random base62 suffix."""

from __future__ import annotations

import math
import os
import secrets
import string
import threading
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


# Random bytes below 248 (= 4 × 62) map uniformly onto the 62 characters; the rest are
# dropped (rejection sampling), so every character is uniform. One `translate` call per id:
# ids are drawn for every invoice, line, charge and event of a billing run.
_ACCEPTED: Final = 4 * len(BASE62)
_TO_BASE62: Final = bytes(ord(BASE62[byte % len(BASE62)]) for byte in range(_ACCEPTED)) + bytes(
    256 - _ACCEPTED
)
_REJECTED: Final = bytes(range(_ACCEPTED, 256))


def _random_base62(length: int) -> str:
    drawn = b""
    while len(drawn) < length:
        drawn += secrets.token_bytes(length + 8).translate(_TO_BASE62, _REJECTED)
    return drawn[:length].decode("ascii")


class _IdCharacters:
    """Random base62 characters drawn from the OS a few kilobytes at a time.

    A billing run draws eight ids per renewal; one `urandom` call per id was a visible
    share of it. The buffer is per process (emptied in a forked child, which must never
    hand out its parent's characters) and locked (API threads share it).
    """

    REFILL = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text, self._at = "", 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._text, self._at = "", 0

    def take(self, length: int) -> str:
        with self._lock:
            while len(self._text) - self._at < length:
                drawn = secrets.token_bytes(self.REFILL).translate(_TO_BASE62, _REJECTED)
                self._text = self._text[self._at :] + drawn.decode("ascii")
                self._at = 0
            start = self._at
            self._at += length
            return self._text[start : self._at]


_ID_CHARACTERS: Final = _IdCharacters()


def new_id(prefix: str) -> str:
    """Return a new object id such as `cus_` followed by 24 random base62 characters."""
    # 24 base62 characters carry ~143 bits: collisions are not a practical concern.
    return f"{prefix}_{_ID_CHARACTERS.take(ID_SUFFIX_LENGTH)}"


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
