"""The worker's webhook jobs: fan events out to deliveries, send what is due, purge.

At least once, after the commit, in any order (ADR 0005):
- `fan_out_events` turns committed events into delivery rows, per endpoint, in bulk;
- `deliver_webhooks` claims due deliveries and leases them in one short transaction,
  sends them with no transaction open, and records the outcomes in another. A worker
  that dies in between leaves its lease to expire: the delivery is due again and is
  sent again (the receiver dedups on `webhook-id`, the event id).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from recur.domain.clock import Clock, to_unix
from recur.domain.ids import new_id
from recur.domain.tenancy import Scope
from recur.domain.webhooks import DISABLE_AFTER_FAILING_FOR, retry_delay, signature_headers
from recur.gateways.webhooks import Outcome, Request, WebhookSender
from recur.services.events import render
from recur.services.webhook_endpoints import disable_webhook_endpoint
from recur.services.webhook_options import webhook_options
from recur.storage.repositories.base import Record
from recur.storage.repositories.webhooks import (
    CANCELED,
    ENABLED,
    FAILED,
    SUCCEEDED,
    WebhookDeliveryRepository,
    WebhookOutbox,
)
from recur.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("recur.webhooks")

# A claimed delivery is this worker's for this long: more than a send's whole deadline
# (15 s) plus recording it, so two workers never send the same delivery at once.
LEASE = 60
# Fan-out bounds per pass: endpoints looked at, and events per endpoint (a backlog of
# 500,000 events is fanned out in slices, each transaction short).
FANOUT_ENDPOINTS = 200
FANOUT_EVENTS = 20_000
HISTORY_RETENTION = timedelta(days=30)
LOST = "the worker sending it stopped before it recorded the answer"
EXPIRED = "the event is past its 30-day retention"
UNRENDERABLE = "the event could not be rendered (an internal error, logged)"

Key = tuple[str, bool, str]


def fan_out_events(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Worker job: deliveries for the events committed since each endpoint's cursor."""
    now = to_unix(clock.now())
    done = 0
    with uow_factory(None) as uow:
        outbox = WebhookOutbox(uow)
        state = outbox.lock_state()
        if state is None:
            return 0  # another worker is fanning out
        settled = _settle(outbox, state)
        for endpoint in outbox.endpoints_behind(settled, FANOUT_ENDPOINTS):
            upto = outbox.range_end(endpoint, settled, FANOUT_EVENTS)
            done += outbox.fan_out(endpoint, upto, now)
    return done


def _settle(outbox: WebhookOutbox, state: Record) -> int:
    """Advance the watermark: the highest `events.pk` no open transaction can still add to.

    SQLite has one writer at a time, so every event it can see is settled. PostgreSQL
    hands out pks before commit: a transaction holding pk 100 may commit after one holding
    101. So the max pk seen at one pass "ages" one pass (a transaction that drew a pk
    just before it has a transaction id by then); then the transactions of this database
    running at that pass are noted, and the pk is settled once they have all ended. An
    idle worker settles in two passes; a long transaction delays webhooks, never loses them.
    """
    settled = int(state["settled_pk"])
    if not outbox.postgresql:
        top = outbox.max_event_pk()
        if top < settled:
            # The purge emptied the events table and SQLite started its pks again at 1.
            outbox.rewind_cursors()
        if top != settled:
            outbox.save_state({"settled_pk": top})
        return top
    top, running = outbox.snapshot()
    aging, waiting, xids = state["aging_pk"], state["waiting_pk"], state["waiting_xids"]
    if waiting is not None and not set(xids or ()) & set(running):
        settled, waiting, xids = max(settled, int(waiting)), None, None
    if waiting is None and aging is not None:
        waiting, xids, aging = aging, running, None
    if aging is None and top > max(settled, waiting or 0):
        aging = top
    values = {"settled_pk": settled, "aging_pk": aging, "waiting_pk": waiting, "waiting_xids": xids}
    if any(state[name] != value for name, value in values.items()):
        outbox.save_state(values)
    return settled


def deliver_webhooks(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Worker job: claim a batch of due deliveries, send them, record the outcomes."""
    options = webhook_options(uow_factory)
    started = to_unix(clock.now())
    lease = new_id("lease")
    with uow_factory(None) as uow:
        outbox = WebhookOutbox(uow)
        claimed = outbox.claim_due(started, options.batch_size, lease, started + LEASE)
        if not claimed:
            return 0
        endpoints = outbox.endpoints_of(_endpoint_key(r) for r in claimed)
        events = outbox.events_of(_event_key(r) for r in claimed)
        outbox.insert_attempts(
            [
                _attempt_row(
                    r,
                    endpoints,
                    int(r["attempts"]),
                    "unknown",
                    r["next_attempt_at"] - LEASE,
                    error=LOST,
                )
                for r in claimed
                if r["lease"] is not None
            ]
        )
    sendable: list[tuple[Record, Record, Request]] = []
    unsendable: list[Record] = []
    for row in claimed:
        endpoint = endpoints.get(_endpoint_key(row))
        event = events.get(_event_key(row))
        if endpoint is None or endpoint["status"] != ENABLED or event is None:
            unsendable.append(row)
            continue
        try:
            body = _body(event)
        except Exception:
            log.exception("rendering event %s for its webhooks failed", event["id"])
            unsendable.append(row)
            continue
        headers = signature_headers(endpoint["secret"], event["id"], started, body)
        sendable.append((row, endpoint, Request(endpoint["url"], body, headers)))
    sender = WebhookSender(
        allow_private=options.allow_private, resolver=options.resolver, timeout=options.timeout
    )
    outcomes = sender.send_all([request for _, _, request in sendable])
    finished = clock.now()
    with uow_factory(None) as uow:
        outbox = WebhookOutbox(uow)
        for row in unsendable:
            _drop(uow, outbox, row, endpoints, events, lease, started)
        _record(uow, outbox, sendable, outcomes, lease, started, finished)
    return len(claimed)


def _record(
    uow: UnitOfWork,
    outbox: WebhookOutbox,
    sent: list[tuple[Record, Record, Request]],
    outcomes: list[Outcome],
    lease: str,
    started: int,
    finished: datetime,
) -> None:
    """The batch's outcomes: the attempts, each delivery's next step, the endpoints' health.

    An endpoint with a success in the batch is healthy; one with only failures is failing
    (and disabled once that has lasted five days); one that answered 410 is disabled.
    """
    at = to_unix(finished)
    attempts: list[dict[str, Any]] = []
    healthy: set[Key] = set()
    failing: set[Key] = set()
    gone: set[Key] = set()
    for (row, endpoint, _), outcome in zip(sent, outcomes, strict=True):
        key = _endpoint_key(row)
        number = int(row["attempts"]) + 1
        succeeded = outcome.status is not None and 200 <= outcome.status < 300
        next_retry: int | None = None
        if succeeded:
            values: dict[str, Any] = {"status": SUCCEEDED, "next_attempt_at": None, "lease": None}
            healthy.add(key)
        else:
            (gone if outcome.status == 410 else failing).add(key)
            delay = None if key in gone else retry_delay(number, f"{key[2]}:{row['event']}")
            if delay is None:
                values = {"status": FAILED, "next_attempt_at": None, "lease": None}
            else:
                next_retry = at + delay
                values = {"next_attempt_at": next_retry, "lease": None}
        # Only while this worker holds the lease: a late answer must not undo a later send.
        held = outbox.settle(row["pk"], lease, values)
        if succeeded and held:
            scoped = uow.for_scope(Scope(key[0], key[1]))
            scoped.repository(WebhookDeliveryRepository).change_pending_webhooks(row["event"], -1)
        attempts.append(
            _attempt_row(
                row,
                {key: endpoint},
                number,
                "succeeded" if succeeded else "failed",
                started,
                outcome=outcome,
                next_retry_at=next_retry if held else None,
            )
        )
    outbox.insert_attempts(attempts)
    for account, livemode, endpoint_id in healthy:
        outbox.mark_healthy(Scope(account, livemode), endpoint_id)
    for account, livemode, endpoint_id in sorted(gone | (failing - healthy)):
        scope = Scope(account, livemode)
        reason = "gone"
        if (account, livemode, endpoint_id) not in gone:
            since = outbox.mark_failing(scope, endpoint_id, at)
            if since is None or at - since < DISABLE_AFTER_FAILING_FOR:
                continue
            reason = "failing"
        disable_webhook_endpoint(uow.for_scope(scope), endpoint_id, reason, finished)


def _drop(
    uow: UnitOfWork,
    outbox: WebhookOutbox,
    row: Record,
    endpoints: Mapping[Key, Record],
    events: Mapping[Key, Record],
    lease: str,
    started: int,
) -> None:
    """A claimed delivery that cannot be sent: its endpoint or its event went away, or the
    event cannot be rendered (a bug, logged: failed rather than retried forever)."""
    endpoint = endpoints.get(_endpoint_key(row))
    if endpoint is None or endpoint["status"] != ENABLED:
        outbox.settle(
            row["pk"], lease, {"status": CANCELED, "next_attempt_at": None, "lease": None}
        )
        return
    error = EXPIRED if _event_key(row) not in events else UNRENDERABLE
    outbox.settle(row["pk"], lease, {"status": FAILED, "next_attempt_at": None, "lease": None})
    number = int(row["attempts"]) + 1
    outbox.insert_attempts([_attempt_row(row, endpoints, number, "failed", started, error=error)])


def _attempt_row(
    row: Record,
    endpoints: Mapping[Key, Record],
    number: int,
    outcome_name: str,
    at: int,
    *,
    outcome: Outcome | None = None,
    error: str | None = None,
    next_retry_at: int | None = None,
) -> dict[str, Any]:
    endpoint = endpoints.get(_endpoint_key(row))
    return {
        "id": new_id("whatt"),
        "account_id": row["account_id"],
        "livemode": bool(row["livemode"]),
        "created": at,
        "endpoint": row["endpoint"],
        "event": row["event"],
        "event_type": row["event_type"],
        "url": endpoint["url"] if endpoint is not None else "",
        "attempt": number,
        "outcome": outcome_name,
        "response_status": outcome.status if outcome else None,
        "error": outcome.error if outcome else error,
        "duration_ms": outcome.duration_ms if outcome else None,
        "response_excerpt": outcome.excerpt if outcome else None,
        "next_retry_at": next_retry_at,
    }


def _body(event: Record) -> bytes:
    """The delivered body: the event as `GET /v1/events/{id}` shows it."""
    wire = render("event", event)
    return json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode()


def _endpoint_key(row: Record) -> Key:
    return (row["account_id"], bool(row["livemode"]), row["endpoint"])


def _event_key(row: Record) -> Key:
    return (row["account_id"], bool(row["livemode"]), row["event"])


def purge_webhook_history(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Worker job: forget finished deliveries and attempts after 30 days, as events are."""
    cutoff = to_unix(clock.now() - HISTORY_RETENTION)
    with uow_factory(None) as uow:
        return WebhookOutbox(uow).purge_before(cutoff)
