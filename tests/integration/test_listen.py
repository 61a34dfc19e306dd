"""`recur listen --forward-to URL`, as a developer runs it against a running server."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import stripe

from recur.domain.clock import utc
from recur.domain.webhooks import new_webhook_secret
from recur.services.accounts import AccountKeys
from tests.support.billing import open_shop
from tests.support.server import LiveServer
from tests.support.webhooks import WAIT, receiving


def _lines(process: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The process's output, line by line, as it comes (until it exits)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                lines.put(line.rstrip("\n"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return lines, thread


def _next_line(lines: queue.Queue[str], what: str) -> str:
    try:
        return lines.get(timeout=WAIT)
    except queue.Empty:
        raise AssertionError(f"timed out waiting for {what}") from None


def test_listen_forwards_the_chosen_events_signed(
    server: LiveServer, client: stripe.StripeClient, account: AccountKeys, tmp_path: Path
) -> None:
    secret = new_webhook_secret()
    recur = Path(sys.executable).parent / "recur"
    with receiving() as receiver:
        process = subprocess.Popen(
            [
                str(recur),
                "listen",
                "--forward-to",
                receiver.url,
                "--events",
                "customer.subscription.created,invoice.paid",
                "--api-key",
                account.test_secret_key,
                "--api-base",
                server.url,
                "--secret",
                secret,
                "--interval",
                "0.05",
            ],
            env={**os.environ, "RECUR_DATA_DIR": str(tmp_path / "var")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines, pump = _lines(process)
        try:
            assert _next_line(lines, "the banner") == (
                f"Ready! Your webhook signing secret is {secret} (^C to quit)"
            )
            # The banner comes once the starting point is read: what follows is streamed.
            shop = open_shop(client, utc(2025, 5, 1))
            price = shop.price(900)
            sub = client.v1.subscriptions.create(
                params={"customer": shop.customer_id, "items": [{"price": price}]}
            )
            received = receiver.wait_for(lambda got: len(got) >= 2, "two forwarded events")
            wanted = {
                e.id: e.type
                for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()
                if e.type in ("customer.subscription.created", "invoice.paid")
            }
            assert len(wanted) == 2
            assert {r.event_id for r in received} == set(wanted)
            for request in received:
                assert request.verify(secret)["data"]["object"]["id"] in (
                    sub.id,
                    sub.latest_invoice,
                )
            printed = [_next_line(lines, "a line per event") for _ in wanted]
            for event_id, event_type in wanted.items():
                (line,) = [p for p in printed if event_id in p]
                assert f"--> {event_type} [{event_id}]" in line
                assert f"<-- [200] POST {receiver.url}" in line
        finally:
            process.terminate()
            process.wait(timeout=30)
            pump.join(timeout=30)
        assert len(receiver.received) == 2  # nothing else, and nothing twice
