"""Webhook signatures, checked by the receivers' own libraries; the retry schedule; addresses."""

from __future__ import annotations

import ipaddress
import json
import time

import pytest
import stripe
from standardwebhooks import Webhook, WebhookVerificationError

from recur.domain.errors import InvalidRequest
from recur.domain.webhooks import (
    MAX_ATTEMPTS,
    RETRY_SCHEDULE,
    address_refusal,
    check_event_types,
    literal_address,
    new_webhook_secret,
    numeric_ipv4,
    parse_url,
    retry_delay,
    signature_headers,
)

BODY = json.dumps({"id": "evt_123", "object": "event", "type": "invoice.paid"}).encode()


def _headers(secret: str, timestamp: int, body: bytes = BODY) -> dict[str, str]:
    return signature_headers(secret, "evt_123", timestamp, body)


def test_both_libraries_accept_the_signatures() -> None:
    secret = new_webhook_secret()
    assert secret.startswith("whsec_") and len(secret) == 6 + 32
    headers = _headers(secret, int(time.time()))
    event = stripe.Webhook.construct_event(BODY.decode(), headers["Stripe-Signature"], secret)
    assert event.id == "evt_123"
    assert Webhook(secret).verify(BODY, headers)["type"] == "invoice.paid"
    assert headers["webhook-id"] == "evt_123"


def test_a_tampered_body_a_wrong_secret_and_an_old_timestamp_fail() -> None:
    secret = new_webhook_secret()
    now = int(time.time())
    tampered = BODY.replace(b"invoice.paid", b"invoice.void")
    headers = _headers(secret, now)
    old = _headers(secret, now - 600)
    for body, signed, key in (
        (tampered, headers, secret),
        (BODY, headers, new_webhook_secret()),
        (BODY, old, secret),
    ):
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body.decode(), signed["Stripe-Signature"], key)
        with pytest.raises(WebhookVerificationError):
            Webhook(key).verify(body, signed)


def test_the_schedule_spans_about_three_days_with_bounded_jitter() -> None:
    assert MAX_ATTEMPTS == 11
    assert 3 * 86400 <= sum(RETRY_SCHEDULE) <= 4 * 86400
    for seed in ("we_a:evt_1", "we_b:evt_2", "we_c:evt_3"):
        delays = [retry_delay(n, seed) for n in range(1, MAX_ATTEMPTS)]
        for delay, base in zip(delays, RETRY_SCHEDULE, strict=True):
            assert delay is not None and 0.9 * base - 1 <= delay <= 1.1 * base + 1
        # Reproducible for one delivery, spread across deliveries.
        assert delays == [retry_delay(n, seed) for n in range(1, MAX_ATTEMPTS)]
        assert retry_delay(MAX_ATTEMPTS, seed) is None
    assert len({retry_delay(4, f"we_x:evt_{i}") for i in range(20)}) > 1


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.0.0.5", "10.0.0.5"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ],
)
def test_numeric_hosts_are_read_as_addresses(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


def test_names_are_not_numbers() -> None:
    for host in ("example.com", "1.2.3.4.5", "0x", "08", "1..2", "256.1.1.1", "deadbeef"):
        assert numeric_ipv4(host) is None, host


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "169.254.169.254",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.5",
        "::7f00:1",
        "2002:7f00:1::",
        "64:ff9b::a00:5",
        "224.0.0.1",
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_urls_need_https_in_live_mode() -> None:
    assert parse_url("http://hooks.example.com/x", livemode=False).port == 80
    assert parse_url("https://[::1]:8443/x", livemode=True).host == "::1"
    for url, livemode in (
        ("http://hooks.example.com/x", True),
        ("ftp://hooks.example.com/x", False),
        ("https:///nohost", False),
        ("https://example.com:99999/", False),
        ("https://exa mple.com/", False),
    ):
        with pytest.raises(InvalidRequest) as error:
            parse_url(url, livemode=livemode)
        assert error.value.param == "url"


def test_event_types() -> None:
    assert check_event_types(["invoice.paid", "*"]) == ["*"]
    assert check_event_types(["invoice.paid", "invoice.paid"]) == ["invoice.paid"]
    for bad in ([], ["invoice"], ["Invoice.Paid"], ["invoice.*"]):
        with pytest.raises(InvalidRequest):
            check_event_types(bad)
