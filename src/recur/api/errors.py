"""Stripe-shaped errors: `{"error": {"type", "code", "message", "param"}}` and a status."""

from __future__ import annotations

from typing import Any

from recur.domain.errors import CardDeclined, Conflict, DomainError, InvalidRequest, NotFound


class ApiError(Exception):
    """An error answered to the client as Stripe would.

    `stored` says whether an idempotent request that failed this way keeps its result:
    Stripe stores results once the endpoint started executing, but not for requests that
    failed validation, conflicted with a concurrent one, or were rate limited.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        headers: dict[str, str] | None = None,
        stored: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.headers = headers or {}
        self.stored = stored
        # Set when the pipeline committed this error's response with the request's writes.
        self.already_stored = False
        self.extra = extra or {}

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        """The JSON document sent to the client."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        if request_id is not None:
            error["request_log_url"] = None
        error.update(self.extra)
        return {"error": error}


def invalid_param(message: str, param: str | None, *, code: str | None = None) -> ApiError:
    """A 400 for bad input, before any work was done (never stored for idempotency)."""
    return ApiError(400, message, param=param, code=code or "parameter_invalid", stored=False)


def from_domain(error: DomainError) -> ApiError:
    """Map a domain error to its HTTP status and Stripe error type."""
    if isinstance(error, NotFound):
        return ApiError(
            404, error.message, code=error.code or "resource_missing", param=error.param
        )
    if isinstance(error, CardDeclined):
        return ApiError(
            402,
            error.message,
            type="card_error",
            code=error.code,
            param=error.param,
            decline_code=error.decline_code,
        )
    if isinstance(error, Conflict):
        return ApiError(
            409,
            error.message,
            code=error.code,
            param=error.param,
            headers={"Stripe-Should-Retry": "true" if error.retriable else "false"},
            stored=False,
        )
    if isinstance(error, InvalidRequest):
        return ApiError(400, error.message, code=error.code, param=error.param)
    return ApiError(400, error.message, code=error.code, param=error.param)


def internal_error() -> ApiError:
    """A 500 that reveals nothing of the failure to the client."""
    return ApiError(
        500,
        "An unexpected error occurred on Recur's side. It has been logged.",
        type="api_error",
    )
