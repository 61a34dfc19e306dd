"""Webhook endpoints: create, retrieve, update, delete, list; their attempts; resending.

An endpoint's URL is checked when it is set (and again at every delivery, since DNS can
change): https in live mode, and — unless the installation allows it for development —
no loopback, private, link-local or otherwise internal address, after DNS resolution.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.errors import InvalidRequest
from recur.domain.ids import new_id
from recur.domain.webhooks import (
    check_api_version,
    check_event_types,
    new_webhook_secret,
    parse_url,
)
from recur.gateways.webhooks import TargetError, resolve_target
from recur.services.events import record_event
from recur.services.webhook_options import WebhookOptions
from recur.storage.repositories.base import Page, PageRequest, Record
from recur.storage.repositories.billing import EventRepository
from recur.storage.repositories.webhooks import (
    ENABLED,
    SUCCEEDED,
    WebhookAttemptRepository,
    WebhookDeliveryRepository,
    WebhookEndpointRepository,
    WebhookOutbox,
)
from recur.storage.uow import UnitOfWork

DISABLED = "disabled"
DISABLED_EVENT = "webhook_endpoint.disabled"
MAX_DESCRIPTION = 5000


def _repo(uow: UnitOfWork) -> WebhookEndpointRepository:
    return uow.repository(WebhookEndpointRepository)


def check_url(url: str, *, livemode: bool, options: WebhookOptions) -> str:
    """Refuse a URL webhooks may not be sent to (shape, scheme, resolved addresses)."""
    target = parse_url(url, livemode=livemode)
    try:
        resolve_target(target, allow_private=options.allow_private, resolver=options.resolver)
    except TargetError as error:
        raise InvalidRequest(f"Invalid URL: {error.message}.", param="url") from None
    return url


def _check_description(values: dict[str, Any]) -> None:
    description = values.get("description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise InvalidRequest(
            f"Invalid description: at most {MAX_DESCRIPTION} characters.", param="description"
        )


def create_webhook_endpoint(
    uow: UnitOfWork, values: Mapping[str, Any], now: datetime, options: WebhookOptions
) -> Record:
    """Create an endpoint; it receives the events written from now on."""
    fields = dict(values)
    _check_description(fields)
    row: dict[str, Any] = {
        "id": new_id("we"),
        "created": to_unix(now),
        "url": check_url(fields["url"], livemode=uow.scope.livemode, options=options),
        "enabled_events": check_event_types(list(fields["enabled_events"])),
        "api_version": check_api_version(fields["api_version"])
        if fields.get("api_version")
        else None,
        "description": fields.get("description"),
        "metadata": fields.get("metadata") or {},
        "status": ENABLED,
        "disabled_reason": None,
        "secret": new_webhook_secret(),
        "events_after": WebhookOutbox(uow).max_event_pk(),
        "failing_since": None,
    }
    return _repo(uow).insert(row)


def retrieve_webhook_endpoint(uow: UnitOfWork, endpoint_id: str) -> Record:
    """One endpoint."""
    return _repo(uow).get(endpoint_id)


def update_webhook_endpoint(
    uow: UnitOfWork, endpoint_id: str, changes: Mapping[str, Any], options: WebhookOptions
) -> Record:
    """Change an endpoint; `disabled` stops (or resumes) its deliveries."""
    current = _repo(uow).get(endpoint_id, for_update=True)
    values: dict[str, Any] = {}
    if "url" in changes:
        if changes["url"] is None:
            raise InvalidRequest("url cannot be unset.", param="url")
        values["url"] = check_url(changes["url"], livemode=uow.scope.livemode, options=options)
    if "enabled_events" in changes:
        values["enabled_events"] = check_event_types(list(changes["enabled_events"] or []))
    if "description" in changes:
        _check_description(dict(changes))
        values["description"] = changes["description"]
    if "metadata" in changes:
        values["metadata"] = changes["metadata"]
    disabled = changes.get("disabled")
    if disabled is True and current["status"] == ENABLED:
        values.update(status=DISABLED, disabled_reason=None)
        uow.repository(WebhookDeliveryRepository).cancel_pending(endpoint_id)
    elif disabled is False and current["status"] != ENABLED:
        # Stripe does not send what happened while an endpoint was disabled: the cursor
        # moves to now, and the failure streak starts afresh.
        values.update(
            status=ENABLED,
            disabled_reason=None,
            failing_since=None,
            events_after=WebhookOutbox(uow).max_event_pk(),
        )
    return _repo(uow).update(endpoint_id, values)


def delete_webhook_endpoint(uow: UnitOfWork, endpoint_id: str) -> Record:
    """Delete an endpoint with its deliveries and attempts; returns it as it was."""
    record = _repo(uow).get(endpoint_id, for_update=True)
    _repo(uow).delete_with_history(endpoint_id)
    return record


def list_webhook_endpoints(uow: UnitOfWork, request: PageRequest) -> Page:
    """A page of endpoints, newest first."""
    return _repo(uow).list_endpoints(request)


def list_webhook_attempts(
    uow: UnitOfWork, endpoint_id: str, request: PageRequest, *, event: str | None = None
) -> Page:
    """A page of an endpoint's delivery attempts, newest first."""
    _repo(uow).get(endpoint_id)
    return uow.repository(WebhookAttemptRepository).list_attempts(request, endpoint_id, event)


def disable_webhook_endpoint(uow: UnitOfWork, endpoint_id: str, reason: str, at: datetime) -> None:
    """Recur disables an endpoint (410 Gone, or failing for 5 days), with an event."""
    before = _repo(uow).find(endpoint_id, for_update=True)
    if before is None or before["status"] != ENABLED:
        return
    after = _repo(uow).update(endpoint_id, {"status": DISABLED, "disabled_reason": reason})
    uow.repository(WebhookDeliveryRepository).cancel_pending(endpoint_id)
    record_event(uow, DISABLED_EVENT, "webhook_endpoint", after, at, previous=before)


def retry_event(
    uow: UnitOfWork, event_id: str, now: datetime, *, endpoint_id: str | None = None
) -> Record:
    """Send an event again, now, to every enabled endpoint subscribed to it (or to one).

    A delivery being sent at this moment is left alone (never two sends at once); one
    that ended (delivered, failed, canceled) starts again with a fresh retry schedule.
    """
    event = uow.repository(EventRepository).get(event_id)
    if endpoint_id is not None:
        endpoint = _repo(uow).get(endpoint_id, param="webhook_endpoint")
        if endpoint["status"] != ENABLED:
            raise InvalidRequest(
                f"The webhook endpoint {endpoint_id} is disabled; enable it first.",
                param="webhook_endpoint",
            )
        targets = [endpoint]
    else:
        targets = _repo(uow).enabled_for(event["type"])
        if not targets:
            raise InvalidRequest(
                f"No enabled webhook endpoint receives {event['type']} events.",
                param="webhook_endpoint",
            )
    deliveries = uow.repository(WebhookDeliveryRepository)
    at = to_unix(now)
    for endpoint in targets:
        subscribed = (
            "*" in endpoint["enabled_events"] or event["type"] in endpoint["enabled_events"]
        )
        if subscribed and event["pk"] > endpoint["events_after"]:
            continue  # not fanned out yet: the worker is about to send it anyway
        delivery = deliveries.find(endpoint["id"], event_id)
        if delivery is None:
            deliveries.insert_pending(endpoint["id"], event_id, event["type"], at)
            deliveries.change_pending_webhooks(event_id, +1)
            continue
        if delivery["lease"] is not None and (delivery["next_attempt_at"] or 0) > at:
            continue  # a worker is sending it right now
        if delivery["status"] == SUCCEEDED:
            deliveries.change_pending_webhooks(event_id, +1)
        deliveries.restart(delivery["pk"], at)
    return uow.repository(EventRepository).get(event_id)
