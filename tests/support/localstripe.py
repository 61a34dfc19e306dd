"""localstripe for the Stripe gateway's tests, and a proxy in front of it that loses answers.

`localstripe` (PyPI, installed by the dev extra) is a stateful stand-in for Stripe's API:
customers, payment methods (the `pm_card_visa` family), PaymentIntents confirmed off
session, charges, refunds. It is started once per session as a subprocess on a free port
(`--from-scratch`: its store starts empty; it keeps one store for every key).

`FaultProxy` sits between Recur and localstripe, one per test, records every request
(so tests see the parameters and the `Idempotency-Key` Recur sent) and, when told, fails
the next matching request the ways a network does:
- `hang`: the request is swallowed and never answered (nothing was done at Stripe);
- `forward_then_hang`: Stripe does it, then the answer is lost (Recur's read times out);
- `status:<code>`: answered with that status, nothing done (429, 503);
- `forward_then_status:<code>`: done, then answered with that status (a 500 after the fact).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import stripe

from recur import bootstrap
from recur.services.payment_gateways import configure_payments, payment_options

STRIPE_KEY = "sk_test_recurlocalstripe"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    """A TCP port nobody listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Localstripe:
    """A running localstripe and how to reach it."""

    url: str
    process: subprocess.Popen[bytes]

    def http(self) -> httpx.Client:
        """A raw client with a key localstripe accepts."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {STRIPE_KEY}"}, timeout=10
        )

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET a resource from localstripe as JSON."""
        with self.http() as client:
            response = client.get(path, params=params)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def post(self, path: str, **data: Any) -> dict[str, Any]:
        """POST a form to localstripe; the JSON answer."""
        with self.http() as client:
            response = client.post(path, data=data)
        response.raise_for_status()
        body: dict[str, Any] = response.json() if response.content else {}
        return body


def start_localstripe(directory: Path) -> Iterator[Localstripe]:
    """Run localstripe from this environment (the dev extra installs it) until closed."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        message = "localstripe is not installed: `pip install -e '.[dev]'`"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    port = free_port()
    log = (directory / "localstripe.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(
                f"{url}/v1/balance",
                headers={"Authorization": f"Bearer {STRIPE_KEY}"},
                timeout=1,
            ).raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.close()
                raise RuntimeError(
                    f"localstripe did not start: {(directory / 'localstripe.log').read_text()}"
                ) from None
            time.sleep(0.1)
    try:
        yield Localstripe(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@dataclass(frozen=True)
class Recorded:
    """A request that went through the proxy."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """The form-encoded body, flat (`metadata[recur_key]` as one key)."""
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass
class _Fault:
    method: str
    path_prefix: str
    mode: str
    times: int


@dataclass
class FaultProxy:
    """A proxy to `upstream` on a free port; see the module's docstring."""

    upstream: str
    requests: list[Recorded] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where Recur should send its Stripe requests."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, method: str, path_prefix: str, mode: str, *, times: int = 1) -> None:
        """Fail the next `times` requests of `method` whose path starts so."""
        with self._lock:
            self._faults.append(_Fault(method, path_prefix, mode, times))

    def sent(self, method: str, path_prefix: str) -> list[Recorded]:
        """The requests Recur sent that match."""
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def _take(self, method: str, path: str) -> str:
        with self._lock:
            for fault in self._faults:
                if (
                    fault.times > 0
                    and fault.method == method
                    and path.startswith(fault.path_prefix)
                ):
                    fault.times -= 1
                    return fault.mode
        return "pass"

    def start(self) -> FaultProxy:
        """Listen (in a thread)."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                proxy.requests.append(Recorded(self.command, self.path, headers, body))
                mode = proxy._take(self.command, self.path)
                if mode == "hang":
                    proxy._released.wait(60)
                    return
                if mode.startswith("status:"):
                    self._answer(int(mode.split(":")[1]), b'{"error": {"type": "api_error"}}')
                    return
                upstream = httpx.request(
                    self.command,
                    proxy.upstream + self.path,
                    content=body,
                    headers={
                        k: v
                        for k, v in headers.items()
                        if k not in ("host", "content-length", "connection")
                    },
                    timeout=30,
                )
                if mode == "forward_then_hang":
                    proxy._released.wait(60)
                    return
                if mode.startswith("forward_then_status:"):
                    self._answer(int(mode.split(":")[1]), b'{"error": {"type": "api_error"}}')
                    return
                self._answer(upstream.status_code, upstream.content)

            def _answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_DELETE = _handle

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        """Release what hangs and stop listening."""
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def signed_delivery(payload: dict[str, Any], secret: str) -> tuple[bytes, str]:
    """A webhook body and its `Stripe-Signature`, computed as Stripe does: HMAC-SHA256 of
    `<timestamp>.<body>` under the endpoint's secret (docs.stripe.com/webhooks#verify-manually)."""
    body = json.dumps(payload).encode()
    timestamp = int(time.time())
    signature = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return body, f"t={timestamp},v1={signature}"


def stripe_event(event_type: str, obj: dict[str, Any], *, livemode: bool = False) -> dict[str, Any]:
    """An event as Stripe delivers it, about `obj` (as Stripe's API shows it)."""
    return {
        "id": f"evt_{hashlib.sha1(os.urandom(16)).hexdigest()[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": livemode,
        "type": event_type,
        "data": {"object": obj},
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }


def stripe_at(localstripe: Localstripe) -> stripe.StripeClient:
    """The official client pointed at localstripe itself: the merchant's side of Stripe
    (its Dashboard, Stripe.js)."""
    return stripe.StripeClient(
        STRIPE_KEY, base_addresses={"api": localstripe.url}, max_network_retries=0
    )


@contextmanager
def proxied(localstripe: Localstripe) -> Iterator[FaultProxy]:
    """A proxy in front of localstripe for one test (it records what Recur sends)."""
    started = FaultProxy(localstripe.url).start()
    try:
        yield started
    finally:
        started.close()


@contextmanager
def stripe_timeout(container: bootstrap.Container, seconds: float) -> Iterator[None]:
    """Lost answers time out after `seconds` while the block runs."""
    previous = payment_options(container.engine)
    configure_payments(container.engine, replace(previous, stripe_timeout=seconds))
    try:
        yield
    finally:
        configure_payments(container.engine, previous)
