"""The request pipeline every endpoint shares, and the table of routes.

A route module declares `@route("POST", "/v1/customers", CustomerCreateParams, ...)`
on a handler `(ctx, params, **path) -> dict`. The pipeline authenticates, decodes the
form or JSON body, validates parameters, applies `Idempotency-Key`, runs the handler in
one unit of work, expands references, and answers JSON with a `Request-Id`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recur.api.errors import ApiError, from_domain, internal_error, invalid_param
from recur.api.forms import decode_form, decode_json
from recur.api.params import Params, parse
from recur.domain.clock import Clock, to_unix
from recur.domain.errors import DomainError
from recur.domain.ids import new_id
from recur.domain.tenancy import Scope
from recur.services.accounts import ApiKey, authenticate
from recur.storage.repositories.idempotency import IdempotencyRepository
from recur.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("recur.api")

Wire = dict[str, Any]
Handler = Callable[..., Wire]

IDEMPOTENCY_KEY_MAX = 255
# An in-flight record older than this belongs to a request whose process died.
IDEMPOTENCY_ABANDONED_AFTER = 600


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint of the API, as listed in the OpenAPI document."""

    method: str
    path: str
    params: type[Params]
    handler: Handler
    summary: str
    returns: str
    publishable: bool = False


ROUTES: list[Route] = []


def route(
    method: str,
    path: str,
    params: type[Params],
    *,
    summary: str,
    returns: str,
    publishable: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a handler for `method path` (path parameters as `{name}`)."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, path, params, handler, summary, returns, publishable))
        return handler

    return register


@dataclass(slots=True)
class Services:
    """What the API needs from the composition root."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    public_url: str
    secret: str
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ApiContext:
    """Everything a handler may use: the tenant, the time, the open unit of work."""

    services: Services
    key: ApiKey
    request_id: str
    now: datetime
    uow: UnitOfWork
    raw: dict[str, Any]
    url_path: str

    @property
    def scope(self) -> Scope:
        """The tenant of this request."""
        return self.key.scope


@dataclass(frozen=True, slots=True)
class Response:
    """What the pipeline answers."""

    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """The parts of an HTTP request the pipeline reads."""

    method: str
    path: str
    query: str
    body: bytes
    content_type: str
    authorization: str | None
    idempotency_key: str | None
    path_params: dict[str, str]


def dumps(document: Any) -> bytes:
    """The JSON encoding of a response body."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def error_response(error: ApiError, request_id: str) -> Response:
    """Render an ApiError."""
    headers = {"Request-Id": request_id, **error.headers}
    return Response(error.status, dumps(error.body(request_id)), headers)


def handle(services: Services, target: Route, request: IncomingRequest) -> Response:
    """Run one request through the whole pipeline (called in a worker thread)."""
    request_id = new_id("req")
    try:
        key = _authenticate(services, request.authorization)
        if key.kind == "publishable" and not target.publishable:
            raise ApiError(
                403,
                "This API call cannot be made with a publishable API key. "
                "Please use a secret API key.",
                type="invalid_request_error",
                code="secret_key_required",
                stored=False,
            )
        if key.kind == "restricted_read" and request.method != "GET":
            raise ApiError(
                403,
                "The provided key does not have the required permissions for this endpoint.",
                code="permission_denied",
                stored=False,
            )
        raw = _decode(request)
        params = parse(target.params, raw)
        idem_key = request.idempotency_key if request.method == "POST" else None
        if idem_key is not None:
            return _idempotent(services, target, request, key, raw, params, idem_key, request_id)
        status, body = _execute(services, target, request, key, raw, params, request_id)
        return Response(status, body, {"Request-Id": request_id})
    except ApiError as error:
        return error_response(error, request_id)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(internal_error(), request_id)


def _authenticate(services: Services, authorization: str | None) -> ApiKey:
    raw_key = _key_from_header(authorization)
    if raw_key is None:
        raise ApiError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            type="authentication_error",
            stored=False,
        )
    with services.uow_factory(None, readonly=True) as uow:
        key = authenticate(uow, raw_key)
    if key is None:
        shown = raw_key[:8] + "*" * 4 + raw_key[-4:] if len(raw_key) > 12 else "****"
        raise ApiError(
            401,
            f"Invalid API Key provided: {shown}",
            type="authentication_error",
            code="api_key_invalid",
            stored=False,
        )
    return key


def _key_from_header(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        import base64
        import binascii

        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, _password = decoded.partition(":")
        return user or None
    return None


def _decode(request: IncomingRequest) -> dict[str, Any]:
    if request.method in ("GET", "DELETE"):
        data = decode_form(request.query)
        if request.body and request.method == "DELETE":
            data.update(_decode_body(request))
        return data
    if request.query:
        # The official SDKs never send POST parameters in the query string; refusing them
        # keeps one source of truth for what a request asked.
        data = decode_form(request.query)
        body = _decode_body(request)
        overlap = set(data) & set(body)
        if overlap:
            name = sorted(overlap)[0]
            raise invalid_param(f"Parameter given twice: {name}", name)
        return {**data, **body}
    return _decode_body(request)


def _decode_body(request: IncomingRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    if request.content_type.split(";")[0].strip().lower() == "application/json":
        return decode_json(request.body)
    try:
        return decode_form(request.body)
    except UnicodeDecodeError as exc:
        raise invalid_param("The request body is not valid UTF-8.", None) from exc


def _execute(
    services: Services,
    target: Route,
    request: IncomingRequest,
    key: ApiKey,
    raw: dict[str, Any],
    params: Params,
    request_id: str,
    on_success: Callable[[UnitOfWork, int, bytes], None] | None = None,
) -> tuple[int, bytes]:
    readonly = request.method == "GET"
    kept_error: ApiError | None = None
    try:
        with services.uow_factory(key.scope, readonly=readonly) as uow:
            ctx = ApiContext(
                services=services,
                key=key,
                request_id=request_id,
                now=services.clock.now(),
                uow=uow,
                raw=raw,
                url_path=request.path,
            )
            try:
                result = target.handler(ctx, params, **request.path_params)
            except DomainError as error:
                if not error.keeps_writes:
                    raise
                # The work before the error stands (a declined payment attempt is kept):
                # commit it together with the error answer stored for idempotency.
                kept = from_domain(error)
                body = dumps(kept.body(request_id))
                if on_success is not None:
                    on_success(uow, kept.status, body)
                kept_error = kept
            else:
                if params.expand:
                    from recur.api.expand import apply_expand

                    apply_expand(ctx, result, params.expand)
                body = dumps(result)
                if on_success is not None:
                    on_success(uow, 200, body)
    except DomainError as error:
        raise from_domain(error) from None
    if kept_error is not None:
        # Already stored with the writes: answering must neither store nor release it.
        kept_error.already_stored = True
        raise kept_error
    return 200, body


def _fingerprint(secret: str, request: IncomingRequest, raw: dict[str, Any]) -> str:
    # Keyed: a request body may carry a card number, and an unkeyed hash of one could be
    # reversed by enumerating the few card numbers that share its known prefix.
    canonical = json.dumps([request.method, request.path, raw], sort_keys=True)
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def _idempotent(
    services: Services,
    target: Route,
    request: IncomingRequest,
    key: ApiKey,
    raw: dict[str, Any],
    params: Params,
    idem_key: str,
    request_id: str,
) -> Response:
    if len(idem_key) > IDEMPOTENCY_KEY_MAX or not idem_key.strip():
        raise invalid_param(
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} characters.", "Idempotency-Key"
        )
    fingerprint = _fingerprint(services.secret, request, raw)
    now = to_unix(services.clock.now())
    with services.uow_factory(key.scope) as uow:
        repo = uow.repository(IdempotencyRepository)
        claimed = repo.claim(idem_key, fingerprint, request.path, now)
        existing = None if claimed else repo.find(idem_key)
        if (
            existing is not None
            and not existing["completed"]
            and existing["created"] < now - IDEMPOTENCY_ABANDONED_AFTER
        ):
            repo.release(idem_key)
            claimed = repo.claim(idem_key, fingerprint, request.path, now)
            existing = None
    if existing is not None:
        _check_fingerprint(existing, fingerprint, idem_key)
        if not existing["completed"]:
            raise _in_flight(idem_key)
        return _replay(existing, idem_key, request_id)
    if not claimed:
        # Lost a race with a concurrent claim of the same key: it is in flight.
        raise _in_flight(idem_key)

    def store(uow: UnitOfWork, status: int, body: bytes) -> None:
        uow.repository(IdempotencyRepository).complete(idem_key, status, body, request_id)

    try:
        status, body = _execute(services, target, request, key, raw, params, request_id, store)
        return Response(status, body, {"Request-Id": request_id, "Idempotency-Key": idem_key})
    except ApiError as error:
        response = error_response(error, request_id)
        if not error.already_stored:
            _finish_failed(services, key, idem_key, error.stored, response, request_id)
        return response
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        response = error_response(internal_error(), request_id)
        _finish_failed(services, key, idem_key, True, response, request_id)
        return response


def _finish_failed(
    services: Services,
    key: ApiKey,
    idem_key: str,
    stored: bool,
    response: Response,
    request_id: str,
) -> None:
    with services.uow_factory(key.scope) as uow:
        repo = uow.repository(IdempotencyRepository)
        if stored:
            repo.complete(idem_key, response.status, response.body, request_id)
        else:
            repo.release(idem_key)


def _check_fingerprint(existing: Any, fingerprint: str, idem_key: str) -> None:
    if existing["fingerprint"] != fingerprint:
        raise ApiError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{idem_key}' if you meant to "
            "execute a different request.",
            type="idempotency_error",
            stored=False,
        )


def _replay(existing: Any, idem_key: str, request_id: str) -> Response:
    headers = {
        "Request-Id": existing["request_id"] or request_id,
        "Idempotent-Replayed": "true",
        "Idempotency-Key": idem_key,
    }
    if existing["response_status"] >= 500:
        headers["Stripe-Should-Retry"] = "false"
    return Response(int(existing["response_status"]), bytes(existing["response_body"]), headers)


def _in_flight(idem_key: str) -> ApiError:
    return ApiError(
        409,
        "There is currently another in-progress request using this Idempotent Key (that "
        "probably means you submitted twice, and the other request is still going through): "
        f"{idem_key}. Please try again later.",
        code="idempotency_key_in_use",
        stored=False,
    )


def list_object(url: str, records: Iterable[Wire], has_more: bool) -> Wire:
    """Stripe's list envelope (the SDK's auto-pagination reads `url` and each `id`)."""
    return {"object": "list", "url": url, "has_more": has_more, "data": list(records)}
