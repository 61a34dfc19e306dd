"""`/v1/events`: every state change, kept 30 days."""

from __future__ import annotations

from recur.api.errors import invalid_param
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import ListParams, RetrieveParams
from recur.services import events as service
from recur.storage.repositories.base import Record

MAX_TYPES = 20  # Stripe's limit on `types[]`


class EventListParams(ListParams):
    """`GET /v1/events` (`type` may end in `.*`; `types[]` up to 20)."""

    type: str | None = None
    types: list[str] | None = None


def event_object(record: Record) -> Wire:
    """The wire shape of an event."""
    return {
        "id": record["id"],
        "object": "event",
        "api_version": record["api_version"],
        "created": record["created"],
        "data": record["data"],
        "livemode": record["livemode"],
        "pending_webhooks": record["pending_webhooks"],
        "request": {"id": record["request_id"], "idempotency_key": record["idempotency_key"]},
        "type": record["type"],
    }


@route("GET", "/v1/events/{event}", RetrieveParams, summary="Retrieve an event.", returns="event")
def retrieve(ctx: ApiContext, params: RetrieveParams, event: str) -> Wire:
    return event_object(service.retrieve_event(ctx.uow, event))


@route("GET", "/v1/events", EventListParams, summary="List events.", returns="list")
def list_(ctx: ApiContext, params: EventListParams) -> Wire:
    if params.type is not None and params.types is not None:
        raise invalid_param("You may only specify one of these parameters: type, types.", "types")
    types = list(params.types or [])
    if len(types) > MAX_TYPES:
        raise invalid_param(f"Invalid types: at most {MAX_TYPES} event types.", "types")
    if params.type:
        types.append(params.type)
    page = service.list_events(
        ctx.uow, page_request(params), types=types or None, created=created_filter(params)
    )
    return list_envelope("/v1/events", page, event_object)
