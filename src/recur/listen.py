"""`recur listen`: stream an account's events to a local URL as they happen.

Like `stripe listen --forward-to`, for merchants developing their integration: it reads
`GET /v1/events` of any Recur server with an API key (so it works against a remote
server too), signs each event as webhooks are signed (both schemes, with a secret it
prints), POSTs it to the local URL and prints one line: time, type, id, answer.

Events are read in the server's order (its `pk`); an event committed a little after a
newer one (concurrent transactions) is still caught: the cursor only moves past events
seen for `SETTLE` seconds, and what was already forwarded is remembered until then.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from recur.domain.clock import SystemClock, to_unix
from recur.domain.webhooks import signature_headers

SETTLE = 5.0
PAGE = 100
TIMEOUT = 15.0


@dataclass
class Listener:
    """Polls the events API and forwards each new event (of `types`, if given)."""

    api_base: str
    api_key: str
    forward_to: str
    secret: str
    types: list[str] | None = None
    interval: float = 1.0
    say: Callable[[str], None] = print
    stop: threading.Event = field(default_factory=threading.Event)
    _cursor: str | None = None
    _first_seen: dict[str, float] = field(default_factory=dict)

    def run(self, ready: Callable[[], None] = lambda: None) -> None:
        """Forward events until `stop` is set (or the process is interrupted).

        `ready` is called once the starting point is known: every event written after
        that call is forwarded.
        """
        with (
            httpx.Client(
                base_url=self.api_base,
                headers={"Authorization": f"Bearer {self.api_key}"},
                timeout=TIMEOUT,
            ) as api,
            httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as local,
        ):
            self._cursor = self._newest(api)
            ready()
            while not self.stop.is_set():
                if self.poll(api, local) == 0:
                    self.stop.wait(self.interval)

    def poll(self, api: httpx.Client, local: httpx.Client) -> int:
        """Forward what is new since the cursor; returns how many events were forwarded."""
        fresh = self._after_cursor(api)
        now = time.monotonic()
        forwarded = 0
        for event in fresh:
            if event["id"] not in self._first_seen:
                self._first_seen[event["id"]] = now
                self._forward(local, event)
                forwarded += 1
        # Move the cursor past the oldest events that have been visible for a while.
        for event in fresh:
            if now - self._first_seen[event["id"]] < SETTLE:
                break
            self._cursor = event["id"]
            del self._first_seen[event["id"]]
        return forwarded

    def _params(self, **more: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": PAGE, **more}
        if self.types:
            params["types[]"] = self.types
        return params

    def _newest(self, api: httpx.Client) -> str | None:
        data = self._get(api, self._params(limit=1))["data"]
        return str(data[0]["id"]) if data else None

    def _after_cursor(self, api: httpx.Client) -> list[dict[str, Any]]:
        """Every event after the cursor, oldest first."""
        events: list[dict[str, Any]] = []
        if self._cursor is None:  # nothing existed at start: every event is new
            after: str | None = None
            while True:
                more = {"starting_after": after} if after else {}
                page = self._get(api, self._params(**more))
                events.extend(page["data"])
                if not page["has_more"] or not page["data"]:
                    return list(reversed(events))
                after = page["data"][-1]["id"]
        before = self._cursor
        while True:
            page = self._get(api, self._params(ending_before=before))
            events.extend(reversed(page["data"]))  # a page is newest first
            if not page["has_more"] or not page["data"]:
                return events
            before = page["data"][0]["id"]

    def _get(self, api: httpx.Client, params: dict[str, Any]) -> dict[str, Any]:
        response = api.get("/v1/events", params=params)
        if response.status_code != 200:
            raise ListenError(f"GET /v1/events answered {response.status_code}: {response.text}")
        document: dict[str, Any] = response.json()
        return document

    def _forward(self, local: httpx.Client, event: dict[str, Any]) -> None:
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        at = SystemClock().now()
        headers = signature_headers(self.secret, event["id"], to_unix(at), body)
        headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            answer = str(local.post(self.forward_to, content=body, headers=headers).status_code)
        except httpx.HTTPError as error:
            answer = f"ERROR {type(error).__name__}: {error}"
        self.say(
            f"{at:%Y-%m-%d %H:%M:%S}  --> {event['type']} [{event['id']}]  "
            f"<-- [{answer}] POST {self.forward_to}"
        )


class ListenError(Exception):
    """The events API could not be read (bad key, server down)."""
