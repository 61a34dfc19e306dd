"""`/v1/test_helpers/test_clocks`."""

from __future__ import annotations

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import DeleteParams, ListParams, OptStr, Params, RetrieveParams, Timestamp
from recur.domain.clock import from_unix
from recur.services import test_clocks as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record

OBJECT = "test_helpers.test_clock"
URL = "/v1/test_helpers/test_clocks"


class TestClockCreateParams(Params):
    """`POST /v1/test_helpers/test_clocks`."""

    frozen_time: Timestamp
    name: OptStr = None


class TestClockAdvanceParams(Params):
    """`POST /v1/test_helpers/test_clocks/{test_clock}/advance`."""

    frozen_time: Timestamp


class TestClockListParams(ListParams):
    """`GET /v1/test_helpers/test_clocks` (Stripe has no `created` filter here)."""


def test_clock_object(record: Record) -> Wire:
    """The wire shape of a test clock."""
    advancing = record["status"] == service.ADVANCING
    return {
        "id": record["id"],
        "object": OBJECT,
        "created": record["created"],
        "deletes_after": record["deletes_after"],
        "frozen_time": record["frozen_time"],
        "livemode": record["livemode"],
        "name": record["name"],
        "status": record["status"],
        "status_details": (
            {"advancing": {"target_frozen_time": record["target_frozen_time"]}} if advancing else {}
        ),
    }


@route("POST", URL, TestClockCreateParams, summary="Create a test clock.", returns=OBJECT)
def create(ctx: ApiContext, params: TestClockCreateParams) -> Wire:
    record = service.create_test_clock(ctx.uow, from_unix(params.frozen_time), params.name, ctx.now)
    return test_clock_object(record)


@route(
    "GET", URL + "/{test_clock}", RetrieveParams, summary="Retrieve a test clock.", returns=OBJECT
)
def retrieve(ctx: ApiContext, params: RetrieveParams, test_clock: str) -> Wire:
    return test_clock_object(service.retrieve_test_clock(ctx.uow, test_clock))


@route("GET", URL, TestClockListParams, summary="List test clocks.", returns="list")
def list_(ctx: ApiContext, params: TestClockListParams) -> Wire:
    page = service.list_test_clocks(ctx.uow, page_request(params), created_filter(params))
    return list_envelope(URL, page, test_clock_object)


@route(
    "DELETE",
    URL + "/{test_clock}",
    DeleteParams,
    summary="Delete a test clock and the customers attached to it.",
    returns="deleted_" + OBJECT,
)
def delete(ctx: ApiContext, params: DeleteParams, test_clock: str) -> Wire:
    record = service.delete_test_clock(ctx.uow, test_clock)
    return {"id": record["id"], "object": OBJECT, "deleted": True}


@route(
    "POST",
    URL + "/{test_clock}/advance",
    TestClockAdvanceParams,
    summary="Start advancing a test clock to a later frozen_time.",
    returns=OBJECT,
)
def advance(ctx: ApiContext, params: TestClockAdvanceParams, test_clock: str) -> Wire:
    record = service.advance_test_clock(ctx.uow, test_clock, from_unix(params.frozen_time))
    return test_clock_object(record)


register_loader(
    "clock",
    lambda ctx, object_id: test_clock_object(service.retrieve_test_clock(ctx.uow, object_id)),
)
register_renderer("test_clock", test_clock_object)
