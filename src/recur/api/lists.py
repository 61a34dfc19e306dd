"""List parameters to storage page requests, and pages to list envelopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recur.api.errors import invalid_param
from recur.api.params import ListParams
from recur.storage.repositories.base import CreatedFilter, Page, PageRequest, Record


def page_request(params: ListParams) -> PageRequest:
    """The keyset request of a list call (`starting_after` and `ending_before` exclude)."""
    if params.starting_after and params.ending_before:
        raise invalid_param(
            "You may only specify one of these parameters: ending_before, starting_after.",
            "ending_before",
        )
    return PageRequest(params.limit, params.starting_after, params.ending_before)


def created_filter(params: ListParams) -> CreatedFilter | None:
    """The `created` range, if one was given."""
    if params.created is None:
        return None
    c = params.created
    return CreatedFilter(gt=c.gt, gte=c.gte, lt=c.lt, lte=c.lte)


def list_envelope(
    url: str, page: Page, serialize: Callable[[Record], dict[str, Any]]
) -> dict[str, Any]:
    """Stripe's list object; the SDK's auto-pagination needs `url` and every `id`."""
    return {
        "object": "list",
        "url": url,
        "has_more": page.has_more,
        "data": [serialize(record) for record in page.records],
    }
