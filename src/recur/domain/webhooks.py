"""Webhooks, the pure part: secrets, the two signatures, the retry schedule, address rules.

One secret (`whsec_` + 32 base62 characters) serves both signature schemes, each deriving
its HMAC key the way its receivers' libraries do:
- `Stripe-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256 keyed with the whole secret string
  over `"<t>.<body>"` (stripe's `Webhook.construct_event`);
- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`):
  HMAC-SHA256 keyed with the base64 decoding of what follows `whsec_`, over
  `"<id>.<t>.<body>"` (the `standardwebhooks` package). Base62 characters are base64
  characters, and 32 of them decode to 24 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import string
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from recur.domain.errors import InvalidRequest

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_LENGTH: Final = 32  # a multiple of 4: the Standard Webhooks key is its base64 decoding
_BASE62: Final = string.digits + string.ascii_letters

# Seconds between an attempt and the next: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h,
# 20 h, 24 h — eleven attempts over about three and a half days (Stripe: "up to three days").
RETRY_SCHEDULE: Final = (5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 72000, 86400)
MAX_ATTEMPTS: Final = len(RETRY_SCHEDULE) + 1
# Each delay is spread by up to ±10 %, so that the retries of many deliveries that failed
# together (a receiver down for an hour) do not all come back in the same second.
JITTER: Final = 0.10
# A receiver that failed every attempt for this long is disabled.
DISABLE_AFTER_FAILING_FOR: Final = 5 * 24 * 3600

MAX_URL_LENGTH: Final = 5000  # Stripe's limit on `url`
_EVENT_TYPE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z_]+)?$")
NAT64_PREFIX: Final = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def new_webhook_secret() -> str:
    """A new endpoint secret, valid for both signature schemes."""
    return SECRET_PREFIX + "".join(secrets.choice(_BASE62) for _ in range(SECRET_LENGTH))


def stripe_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Stripe-Signature` header value."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks `webhook-signature` header value."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header that signs a delivery; `webhook-id` (the event id) is the dedup key."""
    return {
        "Stripe-Signature": stripe_signature(secret, timestamp, body),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, event_id, timestamp, body),
    }


def retry_delay(attempt: int, seed: str) -> int | None:
    """Seconds from failed attempt number `attempt` (1-based) to the next, or None: give up.

    The jitter is drawn from `seed` (the delivery) and the attempt number, so a schedule is
    reproducible: the delay a failed attempt reports is the one the worker keeps to.
    """
    if attempt < 1 or attempt > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempt - 1]
    draw = int.from_bytes(hashlib.sha256(f"{seed}:{attempt}".encode()).digest()[:8], "big")
    spread = (draw / 2**64 * 2 - 1) * JITTER  # uniform in [-JITTER, JITTER)
    return max(1, round(base * (1 + spread)))


def check_event_types(types: list[str], param: str = "enabled_events") -> list[str]:
    """`enabled_events`: `*` or event type names (Stripe's, and Recur's own)."""
    if not types:
        raise InvalidRequest(f"Invalid {param}: at least one event type is required.", param=param)
    for index, name in enumerate(types):
        if name != "*" and not _EVENT_TYPE.match(name):
            raise InvalidRequest(
                f"Invalid {param}[{index}]: {name!r} is not an event type.",
                param=f"{param}[{index}]",
            )
    return ["*"] if "*" in types else list(dict.fromkeys(types))


def check_api_version(version: str) -> str:
    """An API version name such as `2025-09-30.clover`."""
    if not _API_VERSION.match(version):
        raise InvalidRequest(f"Invalid api_version: {version}", param="api_version")
    return version


@dataclass(frozen=True, slots=True)
class Target:
    """Where a webhook URL points: what must be resolved and checked before connecting."""

    scheme: str
    host: str  # lower-case; an IPv6 literal without brackets
    port: int


def parse_url(url: str, *, livemode: bool) -> Target:
    """Check a webhook URL's shape: https in live mode, http allowed in test mode."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRequest(
            f"Invalid URL: must be at most {MAX_URL_LENGTH} characters.", param="url"
        )
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidRequest("Invalid URL: it contains whitespace.", param="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidRequest(f"Invalid URL: {url}", param="url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(
            f"Invalid URL: {url}. URLs must begin with https:// (or http:// in test mode) "
            "and name a host.",
            param="url",
        )
    if livemode and scheme != "https":
        raise InvalidRequest(
            "Invalid URL: live mode webhook endpoints must use https://.", param="url"
        )
    return Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80))


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of a host written as a number, as `inet_aton` (and so curl) reads it.

    `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` all mean 127.0.0.1: a host
    check that only knew dotted quads would let them through.
    """
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:], 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10) if part.isascii() and part.isdigit() else -1)
        except ValueError:
            return None
        if values[-1] < 0:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (5 - len(values)) + last
    return ipaddress.IPv4Address(number)


def literal_address(host: str) -> Address | None:
    """The address a host names without any DNS (IP literals and numeric forms)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return numeric_ipv4(host)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (mapped, compatible, 6to4, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX or int(address) >> 32 == 0:  # 64:ff9b::/96, ::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: Address) -> str | None:
    """Why a webhook may not be sent to `address` (None: it is a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and int(address) > 1:  # `::` and `::1` are refused below
            reason = address_refusal(embedded)
            return None if reason is None else f"{reason} (as {address})"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_private:
        return f"{address} is a private address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return f"{address} is not a unicast address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None
