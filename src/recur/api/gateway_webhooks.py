"""`POST /gateways/stripe/webhook/{account_id}`: Stripe's webhooks for an account.

Outside `/v1` and without Recur's API key (Stripe signs instead: `Stripe-Signature`,
checked with the account's signing secret for the event's mode). One URL per Recur
account: the account is in the path, so the secret to verify with is known before the
body is trusted, and a merchant registers exactly this URL in their Stripe Dashboard
(`GET /v1/billing/settings` shows it as `stripe.webhook_url`).

Answers: 200 `{"received": true, "outcome": …}` (also for a repeated event, `duplicate`,
and for event types Recur does not use, `ignored`); 400 for a body that is not an event
or a signature that does not verify; 404 for an unknown account or one without a signing
secret in that mode; 409 when a concurrent request was recording the same refund, and 503
when Stripe had to be asked something and could not be — both so that Stripe delivers the
event again later (it retries for three days; docs.stripe.com/webhooks#retries).
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from recur.api.errors import ApiError
from recur.api.framework import Services
from recur.domain.errors import Conflict
from recur.domain.ids import new_id
from recur.gateways.base import GatewayError
from recur.services.stripe_webhooks import Receipt, WebhookRefused, receive_stripe_webhook

log = logging.getLogger("recur.api.gateway_webhooks")

PATH: Final = "/gateways/stripe/webhook/{account_id}"
# Stripe's events are far smaller; a larger body is not one of them.
MAX_BODY: Final = 1 << 20


def _error(status: int, message: str, *, code: str | None = None) -> Response:
    request_id = new_id("req")
    error = ApiError(status, message, code=code, stored=False)
    return JSONResponse(error.body(), status_code=status, headers={"Request-Id": request_id})


def stripe_webhook_url(public_url: str, account_id: str) -> str:
    """The URL to register in the account's Stripe Dashboard."""
    return public_url.rstrip("/") + PATH.format(account_id=account_id)


def gateway_webhook_routes(services: Services) -> list[BaseRoute]:
    """The routes gateways call (no Recur API key)."""

    async def stripe_webhook(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "Request body too large.")
        account_id = str(request.path_params["account_id"])
        signature = request.headers.get("stripe-signature")

        def receive() -> Receipt:
            return receive_stripe_webhook(
                services.uow_factory, account_id, body, signature, services.clock.now()
            )

        try:
            receipt = await run_in_threadpool(receive)
        except WebhookRefused as refused:
            code = "resource_missing" if refused.status == 404 else "webhook_invalid"
            return _error(refused.status, refused.message, code=code)
        except GatewayError as error:
            log.warning("Stripe event for %s postponed: %s", account_id, error)
            return _error(503, "Stripe could not be reached; deliver the event again later.")
        except Conflict as error:
            # A concurrent request was recording the same thing: nothing was applied.
            return _error(409, error.message, code="lock_timeout")
        return JSONResponse(
            {
                "received": True,
                "id": receipt.event_id,
                "type": receipt.event_type,
                "outcome": receipt.outcome,
            }
        )

    return [Route(PATH, stripe_webhook, methods=["POST"])]
