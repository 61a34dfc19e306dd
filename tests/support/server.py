"""A live Recur server in a background thread, for tests that go through HTTP."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import httpx
import stripe
import uvicorn

from recur import bootstrap


@dataclass
class LiveServer:
    """A running server and how to reach it."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stripe_client(self, key: str, *, max_network_retries: int = 0) -> stripe.StripeClient:
        """The official SDK configured for this server."""
        return stripe.StripeClient(
            key,
            base_addresses={"api": self.url},
            max_network_retries=max_network_retries,
        )

    def http(self, key: str | None = None) -> httpx.Client:
        """A raw HTTP client (for what the SDK cannot send: malformed bodies, odd headers)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(container: bootstrap.Container) -> LiveServer:
    """Serve the container's app on a free loopback port and wait until it answers."""
    app = bootstrap.build_app(container, migrate=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return LiveServer(url, server, thread)
