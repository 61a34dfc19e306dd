"""A live Recur server in a background thread, for tests that go through HTTP."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
import stripe
import uvicorn

from recur import bootstrap
from recur.worker.loop import Worker


@dataclass
class LiveServer:
    """A running server and how to reach it."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread
    worker: Worker
    worker_thread: threading.Thread

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
        """Shut the server and its worker down and wait for their threads."""
        self.server.should_exit = True
        self.worker.stop.set()
        self.thread.join(timeout=10)
        self.worker_thread.join(timeout=10)


def start_server(container: bootstrap.Container) -> LiveServer:
    """Serve the container's app on a free loopback port and wait until it answers.

    A background worker runs beside it, as in `recur serve` (embedded mode), with a short
    interval so that tests waiting for it (test clock advances) stay fast.
    """
    app = bootstrap.build_app(container, migrate=False)
    # Port 0: the kernel picks a free port. (Handing uvicorn a pre-bound socket instead
    # leaves Nagle's algorithm on for its connections: 40 ms per keep-alive request.)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    worker = Worker(container.uow_factory, container.clock, interval=0.05)
    worker_thread = threading.Thread(target=worker.run_forever, name="recur-worker", daemon=True)
    worker_thread.start()
    return LiveServer(url, server, thread, worker, worker_thread)
