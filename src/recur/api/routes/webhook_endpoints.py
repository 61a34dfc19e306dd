"""`/v1/webhook_endpoints`, their attempts (extension), and resending an event (extension)."""

from __future__ import annotations

from typing import Any

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import list_envelope, page_request
from recur.api.params import (
    Bool,
    DeleteParams,
    ListParams,
    Metadata,
    OptStr,
    Params,
    RetrieveParams,
    updated_metadata,
)
from recur.api.routes.events import event_object
from recur.services import webhook_endpoints as service
from recur.services.events import register_renderer
from recur.services.webhook_options import WebhookOptions, webhook_options
from recur.storage.repositories.base import Record


class WebhookEndpointCreateParams(Params):
    """`POST /v1/webhook_endpoints` (Connect's `connect` is not supported)."""

    url: str
    enabled_events: list[str]
    api_version: OptStr = None
    description: OptStr = None
    metadata: Metadata | None = None


class WebhookEndpointUpdateParams(Params):
    """`POST /v1/webhook_endpoints/{webhook_endpoint}`."""

    url: OptStr = None
    enabled_events: list[str] | None = None
    description: OptStr = None
    disabled: Bool | None = None
    metadata: Metadata | None = None


class WebhookAttemptListParams(ListParams):
    """`GET /v1/webhook_endpoints/{webhook_endpoint}/attempts` (extension)."""

    event: str | None = None


class EventRetryParams(Params):
    """`POST /v1/events/{event}/retry` (extension): to one endpoint, or to all subscribed."""

    webhook_endpoint: str | None = None


def webhook_endpoint_object(record: Record, *, with_secret: bool = False) -> Wire:
    """The wire shape of an endpoint; the secret only in the answer to its creation."""
    wire: Wire = {
        "id": record["id"],
        "object": "webhook_endpoint",
        "api_version": record["api_version"],
        "application": None,
        "created": record["created"],
        "description": record["description"],
        # Recur extension: why Recur disabled it ("gone": 410, "failing": 5 days of failures).
        "disabled_reason": record["disabled_reason"],
        "enabled_events": record["enabled_events"],
        "livemode": record["livemode"],
        "metadata": record["metadata"],
        "status": record["status"],
        "url": record["url"],
    }
    if with_secret:
        wire["secret"] = record["secret"]
    return wire


def webhook_attempt_object(record: Record) -> Wire:
    """The wire shape of a delivery attempt (Recur extension)."""
    return {
        "id": record["id"],
        "object": "webhook_attempt",
        "attempt": record["attempt"],
        "created": record["created"],
        "duration_ms": record["duration_ms"],
        "error": record["error"],
        "event": record["event"],
        "event_type": record["event_type"],
        "livemode": record["livemode"],
        "next_retry_at": record["next_retry_at"],
        "response_body": record["response_excerpt"],
        "response_status": record["response_status"],
        "status": record["outcome"],
        "url": record["url"],
        "webhook_endpoint": record["endpoint"],
    }


def _options(ctx: ApiContext) -> WebhookOptions:
    return webhook_options(ctx.services.uow_factory)


@route(
    "POST",
    "/v1/webhook_endpoints",
    WebhookEndpointCreateParams,
    summary="Create a webhook endpoint (its `secret` is shown only in this answer).",
    returns="webhook_endpoint",
)
def create(ctx: ApiContext, params: WebhookEndpointCreateParams) -> Wire:
    values: dict[str, Any] = {
        "url": params.url,
        "enabled_events": params.enabled_events,
        "api_version": params.api_version,
        "description": params.description,
        "metadata": params.metadata or {},
    }
    record = service.create_webhook_endpoint(ctx.uow, values, ctx.now, _options(ctx))
    return webhook_endpoint_object(record, with_secret=True)


@route(
    "GET",
    "/v1/webhook_endpoints/{webhook_endpoint}",
    RetrieveParams,
    summary="Retrieve a webhook endpoint.",
    returns="webhook_endpoint",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, webhook_endpoint: str) -> Wire:
    return webhook_endpoint_object(service.retrieve_webhook_endpoint(ctx.uow, webhook_endpoint))


@route(
    "POST",
    "/v1/webhook_endpoints/{webhook_endpoint}",
    WebhookEndpointUpdateParams,
    summary="Update a webhook endpoint (`disabled=true` stops its deliveries).",
    returns="webhook_endpoint",
)
def update(ctx: ApiContext, params: WebhookEndpointUpdateParams, webhook_endpoint: str) -> Wire:
    current = service.retrieve_webhook_endpoint(ctx.uow, webhook_endpoint)
    changes: dict[str, Any] = {
        name: getattr(params, name)
        for name in ("url", "enabled_events", "description", "disabled")
        if params.given(name)
    }
    if params.given("metadata"):
        changes["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    record = service.update_webhook_endpoint(ctx.uow, webhook_endpoint, changes, _options(ctx))
    return webhook_endpoint_object(record)


@route(
    "DELETE",
    "/v1/webhook_endpoints/{webhook_endpoint}",
    DeleteParams,
    summary="Delete a webhook endpoint, with its delivery history.",
    returns="deleted_webhook_endpoint",
)
def delete(ctx: ApiContext, params: DeleteParams, webhook_endpoint: str) -> Wire:
    record = service.delete_webhook_endpoint(ctx.uow, webhook_endpoint)
    return {"id": record["id"], "object": "webhook_endpoint", "deleted": True}


@route(
    "GET",
    "/v1/webhook_endpoints",
    ListParams,
    summary="List webhook endpoints.",
    returns="list",
)
def list_(ctx: ApiContext, params: ListParams) -> Wire:
    page = service.list_webhook_endpoints(ctx.uow, page_request(params))
    return list_envelope("/v1/webhook_endpoints", page, webhook_endpoint_object)


@route(
    "GET",
    "/v1/webhook_endpoints/{webhook_endpoint}/attempts",
    WebhookAttemptListParams,
    summary="List an endpoint's delivery attempts, newest first (Recur extension).",
    returns="list",
)
def list_attempts(ctx: ApiContext, params: WebhookAttemptListParams, webhook_endpoint: str) -> Wire:
    page = service.list_webhook_attempts(
        ctx.uow, webhook_endpoint, page_request(params), event=params.event
    )
    return list_envelope(
        f"/v1/webhook_endpoints/{webhook_endpoint}/attempts", page, webhook_attempt_object
    )


@route(
    "POST",
    "/v1/events/{event}/retry",
    EventRetryParams,
    summary="Send an event again to its webhook endpoints, now (Recur extension).",
    returns="event",
)
def retry(ctx: ApiContext, params: EventRetryParams, event: str) -> Wire:
    record = service.retry_event(ctx.uow, event, ctx.now, endpoint_id=params.webhook_endpoint)
    return event_object(record)


register_renderer("webhook_endpoint", webhook_endpoint_object)
# The worker delivers events as the API shows them.
register_renderer("event", event_object)
register_loader(
    "we",
    lambda ctx, object_id: webhook_endpoint_object(
        service.retrieve_webhook_endpoint(ctx.uow, object_id)
    ),
)
