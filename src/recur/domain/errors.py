"""Domain errors with stable codes; only the API layer maps them to HTTP statuses."""

from __future__ import annotations

from typing import Self


class DomainError(Exception):
    """Base of every domain and service error.

    An error normally undoes the request's writes; one whose `keeps_writes` is true
    reports a failure that already happened and must stay recorded (a declined charge).
    """

    keeps_writes = False

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, code={self.code!r}, "
            f"param={self.param!r})"
        )


class InvalidRequest(DomainError):
    """The request is malformed or not allowed in the current state (HTTP 400)."""


class NotFound(DomainError):
    """The referenced object does not exist (HTTP 404)."""

    @classmethod
    def for_id(cls, kind: str, object_id: str, param: str | None = None) -> Self:
        """Build Stripe's `No such customer: 'cus_x'` error for a missing id."""
        return cls(f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


class CardDeclined(DomainError):
    """The payment method was declined (HTTP 402)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = "card_declined",
        param: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message, code=code, param=param)
        self.decline_code = decline_code


class Conflict(DomainError):
    """The request conflicts with the current state of an object (HTTP 409).

    `retriable` conflicts (a concurrent request won a race) tell clients to retry; the
    others (the object is in the wrong state) tell them retrying changes nothing.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        retriable: bool = False,
    ) -> None:
        super().__init__(message, code=code, param=param)
        self.retriable = retriable


class PaymentFailed(CardDeclined):
    """A payment attempt was made and declined: the attempt stays recorded (HTTP 402)."""

    keeps_writes = True
