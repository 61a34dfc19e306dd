"""Events: every state change writes one, in the transaction of the change.

An event carries the object as the API shows it (`data.object`) and, on updates, the
top-level fields that changed (`data.previous_attributes`). Rendering the wire shape is
the API layer's job, so it registers one renderer per kind of object here; bootstrap
imports the API's route modules in every process (API and worker), so they are always
registered before anything is billed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.ids import new_id
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record
from recur.storage.repositories.billing import EventRepository, purge_events_before
from recur.storage.uow import UnitOfWork

Renderer = Callable[[Mapping[str, Any]], dict[str, Any]]
RENDERERS: dict[str, Renderer] = {}

RETENTION = timedelta(days=30)
API_VERSION = "2026-10-28.endive"


def register_renderer(kind: str, renderer: Renderer) -> None:
    """Say how to render a view of `kind` (subscription, invoice, …) on the wire."""
    RENDERERS[kind] = renderer


def render(kind: str, view: Mapping[str, Any]) -> dict[str, Any]:
    """The wire shape of a view."""
    renderer = RENDERERS.get(kind)
    if renderer is None:
        raise RuntimeError(f"no renderer registered for {kind!r}: import recur.api.routes")
    return renderer(view)


def changed_attributes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Stripe's previous_attributes: the old values of what changed, nested objects diffed.

    A key that did not exist before shows as null (`{"metadata": {"plan": null}}` when a
    metadata key was added).
    """
    changes: dict[str, Any] = {}
    # The keys of `before`, then those only `after` has (their old value: null). Dicts are
    # told from other values by the exact type check first (`isinstance` on an ABC is slow).
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if (type(old) is dict or isinstance(old, Mapping)) and (
            type(new) is dict or isinstance(new, Mapping)
        ):
            changes[key] = changed_attributes(old, new)
        else:
            changes[key] = old
    for key, new in after.items():
        if new is not None and key not in before:
            changes[key] = None
    return changes


def record_event(
    uow: UnitOfWork,
    event_type: str,
    kind: str,
    view: Mapping[str, Any],
    at: datetime,
    *,
    previous: Mapping[str, Any] | None = None,
) -> None:
    """Write an event about the object `view` (of `kind`) as it is after the change."""
    row = event_row(event_type, kind, view, at, previous=previous)
    if row is not None:
        uow.repository(EventRepository).insert_many([row])


def event_row(
    event_type: str,
    kind: str,
    view: Mapping[str, Any],
    at: datetime,
    *,
    previous: Mapping[str, Any] | None = None,
    wire: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The event row (pure), or None for an update that changed nothing a client can see.

    `wire` is the rendered `view` when the caller already has it (the billing run renders
    an invoice once for the events that show it in the same state).
    """
    if wire is None:
        wire = render(kind, view)
    data: dict[str, Any] = {"object": wire}
    if previous is not None:
        before = render(kind, previous)
        changes = changed_attributes(before, wire)
        if not changes:
            return None
        data["previous_attributes"] = changes
    return {
        "id": new_id("evt"),
        "created": to_unix(at),
        "type": event_type,
        "api_version": API_VERSION,
        "object_id": wire.get("id"),
        "data": data,
        "pending_webhooks": 0,
    }


def retrieve_event(uow: UnitOfWork, event_id: str) -> Record:
    """One event."""
    return uow.repository(EventRepository).get(event_id)


def list_events(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    types: list[str] | None = None,
    created: CreatedFilter | None = None,
) -> Page:
    """A page of events, newest first."""
    return uow.repository(EventRepository).list_events(request, types=types, created=created)


def purge_old_events(uow: UnitOfWork, now: datetime) -> int:
    """Forget events written more than 30 days ago (every tenant)."""
    return purge_events_before(uow, now - RETENTION)
