"""Collecting invoices: one payment attempt at a time, dunning, recovery.

`attempt_invoice_payment` charges an open invoice's amount remaining through its
PaymentIntent (services/payment_attempts.py: the attempt row is written before the gateway
is called). What the outcome does to the invoice is `apply_outcome`, which the reconciler
also uses when it learns the outcome of an attempt whose answer was lost.

Collection is decoupled from invoicing. When time finalizes an invoice (a renewal, a due
draft), it is not charged there: `queue_collection` sets its `next_payment_attempt` to
now, and the collection queue — open invoices whose `next_payment_attempt` has come — is
worked by `collect_invoice`: in production by the worker's collection job
(services/collection_run.py, at each gateway's rate), on a test clock by the clock's
advance, in time order with everything else. Requests that pay now (a subscription's
creation, `pay`, `finalize`, a new payment method) attempt at once, as Stripe's do.

Dunning (the account's billing settings): a failed payment of an automatically collected
invoice leaves it `open` (its subscription `past_due`), and schedules retries at the
configured days after the first failed attempt (`next_payment_attempt`, the same queue).
Hard declines (lost, stolen, fraudulent, pickup, restricted cards) and payments that need
the customer's authentication are not retried: a subscription invoice then waits until
the end of the retry window (`end_dunning`, an action of its subscription) for a new
payment method or the customer. After the last failure, the settings decide: cancel the
subscription, mark it `unpaid`, or leave it `past_due`; and leave the invoice `open` or
mark it `uncollectible`. A one-off invoice (no subscription) with `auto_advance` is
retried on the same schedule; its dunning ends when no retry is left.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recur.domain.clock import to_unix
from recur.domain.errors import InvalidRequest
from recur.gateways.test_cards import is_hard_decline
from recur.services import payment_attempts, subscription_status
from recur.services.billing_settings import BillingSettings, billing_settings
from recur.services.events import record_event
from recur.services.payment_attempts import AttemptResult
from recur.services.payment_gateways import collects_automatically
from recur.storage.repositories.base import Record
from recur.storage.repositories.billing import InvoiceRepository, SubscriptionRepository
from recur.storage.repositories.payments import AttemptRepository, PaymentIntentRepository
from recur.storage.uow import UnitOfWork

NO_PAYMENT_METHOD = {
    "failure_code": "invoice_no_customer_payment_method",
    "decline_code": None,
    "failure_message": "The customer has no default payment method to charge.",
}


@dataclass(frozen=True, slots=True)
class Collected:
    """An invoice after a collection attempt, and how the attempt ended.

    `status`: succeeded | failed | requires_action | unknown, or `not_attempted` (the
    account is paid out of band, or an attempt is already pending).
    """

    invoice: Record
    status: str
    failure: Mapping[str, Any] | None = None


def _invoices(uow: UnitOfWork) -> InvoiceRepository:
    return uow.repository(InvoiceRepository)


def invoice_intent(uow: UnitOfWork, invoice: Record, at: datetime) -> Record:
    """The invoice's PaymentIntent for its amount remaining (created on the first attempt)."""
    repo = uow.repository(PaymentIntentRepository)
    intents = [row for row in repo.of_invoice(invoice["id"]) if row["status"] != "canceled"]
    amount = int(invoice["amount_remaining"])
    if intents:
        intent = intents[-1]
        if intent["amount"] != amount and intent["status"] != "succeeded":
            intent = repo.update(intent["id"], {"amount": amount})
        return intent
    row = payment_attempts.intent_row(
        amount=amount,
        currency=invoice["currency"],
        at=at,
        customer=invoice["customer"],
        invoice=invoice["id"],
        description=invoice["description"],
        test_clock=invoice["test_clock"],
    )
    # Created and confirmed in one step: its outcome's events say what happened.
    return payment_attempts.create_intent(uow, row, at, event=False)


def prepare_invoice_intent(uow: UnitOfWork, invoice: Record, at: datetime) -> Record | None:
    """At finalization: the PaymentIntent that will collect the invoice (none when the
    account is paid out of band)."""
    if not collects_automatically(uow):
        return None
    return invoice_intent(uow, invoice, at)


def check_payable(uow: UnitOfWork, invoice: Record) -> None:
    """Refuse a payment request that cannot be attempted now (`POST …/pay`)."""
    if not collects_automatically(uow):
        raise InvalidRequest(
            "This account is paid out of band (payment_gateway=manual): record the payment "
            "with paid_out_of_band=true.",
            param="paid_out_of_band",
        )
    if uow.repository(AttemptRepository).pending_for_invoice(invoice["id"]) is not None:
        raise InvalidRequest(
            "A payment of this invoice is being confirmed with the payment gateway; its "
            "outcome will be recorded shortly.",
            code="invoice_payment_intent_processing",
        )


def attempt_invoice_payment(
    uow: UnitOfWork,
    invoice: Record,
    at: datetime,
    *,
    payment_method: str | None = None,
    off_session: bool = True,
) -> Collected:
    """Charge an open invoice's amount remaining once; record the attempt and its outcome."""
    # Imported here: invoices builds on this module.
    from recur.services.invoices import attempted_values, payment_method_for

    settings = billing_settings(uow)
    if not collects_automatically(uow, settings):
        return Collected(invoice, "not_attempted")  # paid out of band, when the merchant says
    if uow.repository(AttemptRepository).pending_for_invoice(invoice["id"]) is not None:
        return Collected(invoice, "not_attempted")  # the reconciler settles that one first
    method_id = payment_method or payment_method_for(uow, invoice)
    intent = invoice_intent(uow, invoice, at)
    attempt_number = int(invoice["attempt_count"]) + 1
    invoice = _invoices(uow).update(invoice["id"], attempted_values(invoice))
    if method_id is None:
        return _failed(uow, invoice, None, NO_PAYMENT_METHOD, at, settings)
    result = payment_attempts.run_attempt(
        uow,
        intent,
        method_id,
        at,
        # One key per attempt on the invoice: a replayed step reuses it, never charging twice.
        key=f"{invoice['id']}:attempt:{attempt_number}",
        off_session=off_session,
        settings=settings,
    )
    return apply_outcome(uow, invoice, result, at, settings)


def apply_outcome(
    uow: UnitOfWork,
    invoice: Record,
    result: AttemptResult,
    at: datetime,
    settings: BillingSettings | None = None,
) -> Collected:
    """What an attempt's outcome does to its invoice (inline, or once reconciled)."""
    # Imported here: invoices builds on this module.
    from recur.services.invoices import mark_paid

    settings = settings or billing_settings(uow)
    charge = result.charge
    if result.status == "unknown":
        dunning = invoice["dunning"]
        if dunning:
            # No end of dunning while the outcome is unknown: the reconciler decides first.
            invoice = _invoices(uow).update(
                invoice["id"], {"dunning": {**dunning, "blocked": True}}
            )
        return Collected(invoice, "unknown")
    if invoice["dunning"] and invoice["dunning"].get("blocked"):
        invoice = _invoices(uow).update(
            invoice["id"], {"dunning": {**invoice["dunning"], "blocked": False}}
        )
    if result.status == "succeeded":
        if invoice["status"] not in ("open", "uncollectible"):
            # The invoice was closed (voided, paid otherwise) while the outcome was unknown:
            # the money goes back at once.
            from recur.services.refunds import create_refund

            if charge is not None:
                create_refund(
                    uow,
                    charge=charge["id"],
                    amount=None,
                    at=at,
                    reason="duplicate",
                    disputed_ok=True,
                )
            return Collected(invoice, "succeeded")
        return Collected(mark_paid(uow, invoice, at), "succeeded")
    if invoice["status"] != "open" or charge is None:
        return Collected(invoice, result.status)
    failure = {name: charge[name] for name in ("failure_code", "decline_code", "failure_message")}
    collected = _failed(uow, invoice, charge, failure, at, settings)
    return Collected(collected.invoice, result.status, failure)


def _failed(
    uow: UnitOfWork,
    invoice: Record,
    charge: Record | None,
    failure: Mapping[str, Any],
    at: datetime,
    settings: BillingSettings,
) -> Collected:
    """A failed attempt: events, the next retry (or none), the subscription's status."""
    requires_action = failure.get("decline_code") == "authentication_required"
    invoice = _schedule_retries(uow, invoice, charge, failure, at, settings)
    view = _view(uow, invoice)
    record_event(uow, "invoice.payment_failed", "invoice", view, at)
    if requires_action:
        record_event(uow, "invoice.payment_action_required", "invoice", view, at)
    subscription_status.after_payment_failed(uow, invoice, at)
    dunning = invoice["dunning"] or {}
    if (
        dunning
        and invoice["next_payment_attempt"] is None
        and (dunning["ends_at"] <= to_unix(at) or not invoice["subscription"])
    ):
        # No retry left: the window ends now (a one-off invoice has no subscription to
        # keep past_due while the customer may still pay).
        invoice = end_dunning(uow, invoice["id"], at)
    if invoice["subscription"]:
        # Imported here: advance builds on this module. The retry is one of its actions.
        from recur.services import advance

        advance.schedule(uow, invoice["subscription"])
    return Collected(invoice, "requires_action" if requires_action else "failed", failure)


def _view(uow: UnitOfWork, invoice: Record) -> dict[str, Any]:
    from recur.services.invoices import invoice_view

    return invoice_view(uow, invoice)


def _in_dunning(uow: UnitOfWork, invoice: Record) -> bool:
    """Whether a failed payment of this invoice is retried by the account's schedule."""
    if invoice["collection_method"] != "charge_automatically":
        return False
    if not invoice["subscription"]:
        # A one-off invoice is retried if it advances by itself (Stripe's Smart Retries
        # apply to every automatically collected invoice with auto_advance).
        return bool(invoice["auto_advance"])
    if invoice["billing_reason"] == "subscription_create":
        return False  # an incomplete subscription's first invoice expires instead
    subscription = uow.repository(SubscriptionRepository).find(invoice["subscription"])
    if subscription is None:
        return False
    return not subscription_status.is_pending_update_invoice(subscription, invoice["id"])


def next_dunning(
    dunning: Mapping[str, Any] | None,
    at: int,
    settings: BillingSettings,
    *,
    retry: bool,
    hard_declined_method: str | None = None,
) -> tuple[dict[str, Any], int | None]:
    """The dunning state after a failed attempt at `at`, and the next retry (pure).

    Retries fall at the configured days after the first failed attempt; the next one is
    the first of them still to come (so an extra attempt — a manual one, a new payment
    method — does not shift the schedule). Without retries (hard decline, authentication),
    the window still ends at the last of those days: `ends_at`.
    """
    state = dict(dunning or {})
    started = int(state.get("started_at") or at)
    hard = list(state.get("hard_declined") or [])
    if hard_declined_method and hard_declined_method not in hard:
        hard.append(hard_declined_method)
    days = settings.retry_days
    state.update(
        started_at=started,
        failures=int(state.get("failures") or 0) + 1,
        hard_declined=hard,
        ends_at=started + (days[-1] * 86400 if days else 0),
        blocked=False,
        ended=False,
    )
    later = [started + day * 86400 for day in days if started + day * 86400 > at]
    return state, (later[0] if retry and later else None)


def _schedule_retries(
    uow: UnitOfWork,
    invoice: Record,
    charge: Record | None,
    failure: Mapping[str, Any],
    at: datetime,
    settings: BillingSettings,
) -> Record:
    if not _in_dunning(uow, invoice):
        return invoice
    decline_code = failure.get("decline_code")
    hard = bool(decline_code and is_hard_decline(str(decline_code)))
    # Stripe does not retry hard declines, payments that need the customer, nor invoices
    # with no payment method (docs.stripe.com/billing/revenue-recovery/smart-retries): a
    # new payment method retries at once (`retry_open_invoices`).
    retry = (
        not hard
        and decline_code != "authentication_required"
        and failure.get("failure_code") != NO_PAYMENT_METHOD["failure_code"]
    )
    state, next_attempt = next_dunning(
        invoice["dunning"],
        to_unix(at),
        settings,
        retry=retry,
        hard_declined_method=charge["payment_method"] if hard and charge is not None else None,
    )
    return _invoices(uow).update(
        invoice["id"], {"dunning": state, "next_payment_attempt": next_attempt}
    )


# Set while time (not a request) moves invoices: the worker's passes and a test clock's
# advance. Finalizations made then queue their charge instead of making it.
_TIME_MOVES: ContextVar[bool] = ContextVar("recur_time_moves", default=False)


@contextmanager
def collected_later() -> Iterator[None]:
    """Within this block, invoices that time finalizes are queued for collection."""
    token = _TIME_MOVES.set(True)
    try:
        yield
    finally:
        _TIME_MOVES.reset(token)


def collects_later() -> bool:
    """Whether a finalization now should queue its charge (`collected_later`)."""
    return _TIME_MOVES.get()


def queue_collection(uow: UnitOfWork, invoice: Record, at: datetime) -> Record:
    """A finalized invoice that time collects: its first attempt is due now, in the queue."""
    if not collects_automatically(uow):
        return invoice  # paid out of band, when the merchant says
    return _invoices(uow).update(invoice["id"], {"next_payment_attempt": to_unix(at)})


def collect_invoice(uow: UnitOfWork, invoice_id: str, at: datetime) -> Collected | None:
    """A queued attempt (the first one, or a retry) whose time came: charge the invoice.

    None if the invoice no longer needs it (paid, voided since it was queued).
    """
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    if invoice["status"] != "open" or invoice["collection_method"] != "charge_automatically":
        _invoices(uow).update(invoice_id, {"next_payment_attempt": None})
        return None
    held = _held_by_subscription(uow, invoice, at)
    if held is not None:
        _invoices(uow).update(invoice_id, held)
        return None
    collected = attempt_invoice_payment(uow, invoice, at)
    if collected.status == "not_attempted":
        # Paid out of band now, or an attempt pending: no retry until that changes.
        _invoices(uow).update(invoice_id, {"next_payment_attempt": None})
    return collected


# A paused subscription's queued attempt is looked at again this much later.
PAUSED_RECHECK = 86400


def _held_by_subscription(uow: UnitOfWork, invoice: Record, at: datetime) -> dict[str, Any] | None:
    """What to do instead of an attempt the invoice's subscription rules out (None: go on).

    - Ended (canceled, incomplete_expired): Stripe stops automatic collection of the
      invoices finalized before the cancellation (`auto_advance=false`); the ones the
      cancellation itself finalized (a final invoice) are collected.
    - `unpaid`: its invoices are not attempted.
    - `paused`: no attempt while paused; looked at again a day later.
    """
    if not invoice["subscription"]:
        return None
    subscription = uow.repository(SubscriptionRepository).find(invoice["subscription"])
    if subscription is None:
        return None
    status = subscription["status"]
    if status in ("canceled", "incomplete_expired"):
        finalized = (invoice["status_transitions"] or {}).get("finalized_at")
        ended = subscription["ended_at"]
        if finalized is None or ended is None or int(finalized) < int(ended):
            return {"auto_advance": False, "next_payment_attempt": None}
        return None
    if status == "unpaid":
        return {"next_payment_attempt": None}
    if status == "paused":
        return {"next_payment_attempt": to_unix(at) + PAUSED_RECHECK}
    return None


def end_dunning(uow: UnitOfWork, invoice_id: str, at: datetime) -> Record:
    """The last retry failed (or none could be made): the settings' final actions."""
    invoice = _invoices(uow).get(invoice_id, for_update=True)
    dunning = dict(invoice["dunning"] or {})
    if invoice["status"] != "open" or dunning.get("ended"):
        return invoice
    invoice = _invoices(uow).update(
        invoice_id, {"dunning": {**dunning, "ended": True}, "next_payment_attempt": None}
    )
    settings = billing_settings(uow)
    if settings.invoice_after_retries == "uncollectible":
        from recur.services.invoices import mark_uncollectible

        invoice = mark_uncollectible(uow, invoice_id, at)
    if not invoice["subscription"]:
        return invoice
    subscription = uow.repository(SubscriptionRepository).find(
        invoice["subscription"], for_update=True
    )
    if subscription is None or subscription["status"] != "past_due":
        return invoice
    if settings.subscription_after_retries == "cancel":
        # Imported here: advance builds on this module.
        from recur.services.advance import end_subscription

        end_subscription(uow, subscription, at, reason="payment_failed")
    elif settings.subscription_after_retries == "unpaid":
        subscription_status.update_subscription_record(uow, subscription, {"status": "unpaid"}, at)
    return invoice


def end_dunning_action(uow: UnitOfWork, invoice_id: str, at: datetime) -> None:
    """The `end_dunning` action: the retry window of an invoice that was not retried ended."""
    end_dunning(uow, invoice_id, at)


def retry_open_invoices(
    uow: UnitOfWork, customer_id: str, at: datetime, *, subscription_id: str | None = None
) -> None:
    """A new default payment method: retry at once the open invoices of the customer's
    past_due and unpaid subscriptions (or of that one subscription)."""
    if not collects_automatically(uow):
        return
    subscriptions = uow.repository(SubscriptionRepository)
    ids = [subscription_id] if subscription_id else subscriptions.live_ids_of_customer(customer_id)
    for sub_id in ids:
        subscription = subscriptions.find(sub_id)
        if subscription is None or subscription["status"] not in ("past_due", "unpaid"):
            continue
        for invoice in _invoices(uow).open_or_draft_of(sub_id):
            if invoice["status"] == "open" and invoice["collection_method"] == (
                "charge_automatically"
            ):
                attempt_invoice_payment(uow, invoice, at)


def cancel_invoice_intents(uow: UnitOfWork, invoice: Record, at: datetime, *, reason: str) -> None:
    """The invoice no longer needs paying (voided, paid out of band): cancel its intents."""
    for intent in uow.repository(PaymentIntentRepository).of_invoice(invoice["id"]):
        if intent["status"] not in ("succeeded", "canceled", "processing"):
            payment_attempts.cancel_intent(uow, intent, at, reason=reason)
