"""The ASGI application: the `/v1` API from the route table, plus docs endpoints."""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from recur.api import framework
from recur.api.errors import ApiError
from recur.api.framework import ROUTES, IncomingRequest, Services, error_response
from recur.api.gateway_webhooks import gateway_webhook_routes
from recur.api.routes import load_all
from recur.domain.ids import new_id

MAX_BODY = 1 << 20


def _endpoint(services: Services, target: framework.Route) -> Any:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            error = ApiError(413, "Request body too large.", stored=False)
            result = error_response(error, new_id("req"))
        else:
            incoming = IncomingRequest(
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                body=body,
                content_type=request.headers.get("content-type", ""),
                authorization=request.headers.get("authorization"),
                idempotency_key=request.headers.get("idempotency-key"),
                path_params={k: str(v) for k, v in request.path_params.items()},
            )
            result = await run_in_threadpool(framework.handle, services, target, incoming)
        return Response(
            result.body,
            status_code=result.status,
            headers=result.headers,
            media_type="application/json",
        )

    return endpoint


def _starlette_path(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"{\1}", path)


def api_routes(services: Services) -> list[BaseRoute]:
    """Starlette routes for every registered endpoint (grouped by path)."""
    load_all()
    by_path: dict[str, dict[str, framework.Route]] = {}
    for target in ROUTES:
        by_path.setdefault(target.path, {})[target.method] = target
    routes: list[BaseRoute] = []
    for path, methods in by_path.items():
        for method, target in methods.items():
            routes.append(
                Route(_starlette_path(path), _endpoint(services, target), methods=[method])
            )
    return routes


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    message = f"Unrecognized request URL ({request.method}: {request.url.path})."
    if status == 405:
        message = f"Unrecognized request method for {request.url.path}: {request.method}."
    error = ApiError(404 if status in (404, 405) else status, message, stored=False)
    request_id = new_id("req")
    return JSONResponse(
        error.body(request_id), status_code=error.status, headers={"Request-Id": request_id}
    )


def create_app(services: Services, extra_routes: list[BaseRoute] | None = None) -> Starlette:
    """Build the application around the composition root's services."""
    from recur.api.reference import openapi_document, reference_page

    routes = api_routes(services)

    async def openapi(_request: Request) -> Response:
        return JSONResponse(openapi_document(services.public_url))

    async def reference(_request: Request) -> Response:
        return HTMLResponse(reference_page())

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes += [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", reference, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
    ]
    routes += gateway_webhook_routes(services)
    routes += extra_routes or []
    return Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
