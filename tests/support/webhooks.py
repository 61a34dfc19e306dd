"""Webhook receivers for tests: a real HTTP server on loopback, and a canary listener."""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import stripe
from standardwebhooks import Webhook

from recur import bootstrap
from recur.config import Settings
from recur.domain.tenancy import Scope
from recur.services.events import record_event, register_renderer
from recur.services.webhook_delivery import deliver_webhooks, fan_out_events
from recur.storage.migrate import upgrade
from recur.storage.uow import UnitOfWorkFactory
from tests.support.seeding import scratch_database

# Bounded waits for the background worker (never a fixed sleep).
WAIT = 60.0


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def event_id(self) -> str:
        """The Standard Webhooks message id: the event id."""
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> dict[str, Any]:
        """Check both signatures with the receivers' own libraries; the event as a dict."""
        event = stripe.Webhook.construct_event(
            self.body.decode(), self.headers["stripe-signature"], secret
        )
        standard = Webhook(secret).verify(self.body, self.headers)
        assert standard["id"] == event.id == self.event_id
        return dict(standard)

    def verify_signed_at_any_time(self, secret: str) -> None:
        """Check both signatures, whatever their timestamp (tests that move a clock).

        Both libraries refuse a timestamp five minutes away from the real clock: here the
        stripe library's check runs without its tolerance, and the Standard Webhooks one is
        recomputed by that library's own `sign` at the header's timestamp.
        """
        stripe.WebhookSignature.verify_header(
            self.body.decode(), self.headers["stripe-signature"], secret, tolerance=None
        )
        timestamp = datetime.fromtimestamp(int(self.headers["webhook-timestamp"]), UTC)
        expected = Webhook(secret).sign(self.event_id, timestamp, self.body.decode())
        assert self.headers["webhook-signature"] == expected


# What the receiver answers: a status, or one of these behaviours.
HANG = -1  # never answer (until the receiver closes)
HALF = -2  # send "200 OK" and the headers, then never the body
Answer = Callable[[Received], int | tuple[int, dict[str, str]]]


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records requests and answers as told."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.answer: Answer = answer or (lambda _: 200)
        self.received: list[Received] = []
        self.changed = threading.Condition()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                decided = receiver.answer(got)
                status, headers = decided if isinstance(decided, tuple) else (decided, {})
                if status == HALF:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                    self.wfile.flush()
                with receiver.changed:
                    receiver.received.append(got)
                    receiver.changed.notify_all()
                if status in (HANG, HALF):
                    receiver.release.wait(WAIT)
                    self.close_connection = True
                    return
                body = b'{"received": true}'
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # a worker sends a batch of deliveries at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Where to send webhooks."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def wait_for(self, condition: Callable[[list[Received]], bool], what: str) -> list[Received]:
        """Wait (bounded) until the requests received satisfy `condition`."""
        deadline = time.monotonic() + WAIT
        with self.changed:
            while not condition(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}: got {self.received}")
                self.changed.wait(left)
            return list(self.received)

    def close(self) -> None:
        """Stop serving (and let hanging answers go)."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiving(answer: Answer | None = None) -> Iterator[Receiver]:
    """A receiver for the duration of a `with` block."""
    receiver = Receiver(answer)
    try:
        yield receiver
    finally:
        receiver.close()


class Canary:
    """Listening sockets that accept nothing: any connection attempt stays in the backlog.

    No thread and no timing: `connections()` drains the backlog without blocking.
    """

    def __init__(self) -> None:
        self.v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.v4.bind(("127.0.0.1", 0))
        self.port = self.v4.getsockname()[1]
        self.v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        self.v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.v6.bind(("::1", self.port))
        for sock in (self.v4, self.v6):
            sock.listen(16)
            sock.setblocking(False)

    def connections(self) -> int:
        """How many connections reached the canary so far."""
        count = 0
        for sock in (self.v4, self.v6):
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError as error:
                    assert error.errno in (errno.EAGAIN, errno.EWOULDBLOCK), error
                    break
                conn.close()
                count += 1
        return count

    def close(self) -> None:
        """Stop listening."""
        self.v4.close()
        self.v6.close()


# A kind of object only tests use, so that tests can write events without billing anything.
register_renderer("webhook_test_object", lambda view: dict(view))


def record_test_event(
    uow_factory: UnitOfWorkFactory, scope: Scope, event_type: str, at: Any, **fields: Any
) -> None:
    """Write one event (as every change does), about a test object."""
    with uow_factory(scope) as uow:
        record_event(uow, event_type, "webhook_test_object", {"object": "thing", **fields}, at)


def scratch_container(
    backend: str, tmp_path: Any, **settings: Any
) -> Iterator[bootstrap.Container]:
    """A container over a database of the test's own: no server, no background worker."""
    databases = scratch_database(backend, tmp_path)
    url = next(databases)
    container = bootstrap.build(Settings(database_url=url, data_dir=tmp_path / "var", **settings))
    try:
        upgrade(container.engine)
        yield container
    finally:
        container.engine.dispose()
        databases.close()


def run_delivery(uow_factory: UnitOfWorkFactory, clock: Any, *, passes: int = 3) -> int:
    """What worker passes do for webhooks: fan out, then deliver what is due (a few times,
    so the PostgreSQL watermark settles). Returns how many deliveries were attempted."""
    attempted = 0
    for _ in range(passes):
        fan_out_events(uow_factory, clock)
        attempted += deliver_webhooks(uow_factory, clock)
    return attempted
