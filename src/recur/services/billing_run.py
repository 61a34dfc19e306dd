"""The billing run: a batch of due subscriptions advanced together, written in bulk; and
its counterpart for collection, a batch of due invoices charged together.

`advance_subscription` reads and writes one subscription at a time: ~60 statements per
renewal. Most due subscriptions at a period boundary are routine: an active subscription
renewing (and, once the finalization delay has passed, its draft finalized and queued for
collection). For those, `advance_batch` loads everything the batch needs with one query
per table, performs the same actions in memory with the same functions and in the same
order as `advance_subscription` (`due_actions` decides what is due; the invoice rows,
totals, event payloads and `next_action_at` come from the functions the one-at-a-time path
uses), and writes the batch with one multi-row statement per table.

A subscription that needs anything else — a trial ending, a cancellation, pending invoice
items, a catch-up longer than `MAX_STEPS` — is left to `advance_subscription`, untouched:
the run returns its id. So the batch path is an optimization of the one code path through
time, never a second set of rules; a test runs the same seeded subscriptions through both
and compares every row and event.

Collection (services/collection_run.py) does the same with `collect_batch`: the due
invoices whose charge will succeed on the simulated gateway are charged in one gateway
call and written in bulk, as `collection.collect_invoice` would one by one; the others
(declines, retries, other gateways, faults armed) are left to `collect_invoice`.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from recur.domain.clock import from_unix, to_unix
from recur.domain.ids import new_id
from recur.domain.invoicing import LineDraft, invoice_number
from recur.domain.tax import TaxRateTerms
from recur.gateways import simulated
from recur.gateways.base import ChargeRequest, ChargeResult, GatewayScope, MethodRef
from recur.services import balance_transactions, payment_attempts
from recur.services import invoices as invoice_service
from recur.services.advance import (
    MAX_STEPS,
    Action,
    CatalogLookup,
    build_item_lines,
    due_actions,
    last_period,
)
from recur.services.billing_settings import BillingSettings, billing_settings
from recur.services.coupons import coupon_terms
from recur.services.events import event_row, render
from recur.services.payment_gateways import gateway_scope, simulated_gateway
from recur.services.subscription_status import build_subscription_view
from recur.services.tax_rates import tax_rate_terms
from recur.storage.repositories.base import Record
from recur.storage.repositories.billing_run import BillingRunStore, as_stored
from recur.storage.uow import UnitOfWork

log = logging.getLogger("recur.billing_run")

# The subscription columns a billing run changes (every update row sets all of them).
SUBSCRIPTION_COLUMNS = (
    "current_period_start",
    "current_period_end",
    "latest_invoice",
    "discounts",
    "next_action_at",
)
# The invoice columns finalization and payment change.
INVOICE_COLUMNS = (
    "status",
    "number",
    "starting_balance",
    "ending_balance",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "automatically_finalizes_at",
    "status_transitions",
    "due_date",
    "attempt_count",
    "attempted",
    "next_payment_attempt",
    "auto_advance",
    "paid_out_of_band",
)
CUSTOMER_COLUMNS = ("balance", "next_invoice_sequence")


class NotRoutine(Exception):
    """This subscription needs `advance_subscription` (nothing of it was written)."""


@dataclass
class Loaded:
    """What a batch of one tenant needs, loaded in bulk."""

    account_id: str
    livemode: bool
    settings: BillingSettings
    subscriptions: dict[str, Record]
    items: dict[str, list[Record]]
    open_invoices: dict[str, list[Record]]
    lines: dict[str, list[Record]]
    customers: dict[str, dict[str, Any]]
    with_pending_items: set[str]
    prices: dict[str, Record]
    products: dict[str, Record]
    tax_rates: dict[str, Record]
    coupons: dict[str, Record]
    payment_methods: dict[str, Record]

    def stored(self, kind: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """A new row as a read returns it."""
        return as_stored(kind, row, account_id=self.account_id, livemode=self.livemode)

    def price(self, price_id: str) -> Record:
        return self.prices[price_id]

    def product(self, product_id: str) -> Record:
        return self.products[product_id]

    def tax_rate(self, rate_id: str) -> Record:
        return self.tax_rates[rate_id]

    def tax_terms(self, rate_ids: Sequence[str]) -> tuple[TaxRateTerms, ...]:
        return tuple(tax_rate_terms(self.tax_rates[rate_id]) for rate_id in rate_ids)

    def subscription_view(self, subscription: Mapping[str, Any]) -> dict[str, Any]:
        return build_subscription_view(
            subscription, self.items[subscription["id"]], self.price, self.tax_rate
        )

    def invoice_view(
        self,
        invoice: Mapping[str, Any],
        lines: Sequence[Record],
        payments: Sequence[Record] = (),
    ) -> dict[str, Any]:
        view = dict(invoice)
        view["lines"] = lines
        view["default_tax_rate_records"] = [
            self.tax_rates[rate_id] for rate_id in invoice.get("default_tax_rates") or []
        ]
        view["payments"] = list(payments)
        return view


@dataclass
class Writes:
    """Rows a batch writes, in the order the one-at-a-time path would have written them."""

    invoices: list[dict[str, Any]] = field(default_factory=list)
    invoice_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    payment_intents: list[dict[str, Any]] = field(default_factory=list)
    balance_transactions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class SubscriptionRun:
    """One subscription being advanced in memory; merged into the batch once it succeeds."""

    subscription: dict[str, Any]
    customer: dict[str, Any]
    open_invoices: list[dict[str, Any]]
    lines: dict[str, Sequence[Record]]
    # Every invoice the run created or changed, by id, and which of them are new.
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_invoices: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)
    payment_intents: list[dict[str, Any]] = field(default_factory=list)
    balance_transactions: list[dict[str, Any]] = field(default_factory=list)


def advance_batch(uow: UnitOfWork, subscription_ids: Sequence[str], now_unix: int) -> list[str]:
    """Advance the routine subscriptions among `subscription_ids` (one tenant's, claimed
    by this worker) up to `now_unix`; returns the ids left for `advance_subscription`."""
    with _collector_paused():
        # The batch's objects die when `_advance_batch` returns, before the collector runs.
        return _advance_batch(uow, subscription_ids, now_unix)


def _advance_batch(uow: UnitOfWork, subscription_ids: Sequence[str], now_unix: int) -> list[str]:
    store = BillingRunStore(uow)
    loaded = _load(uow, store, subscription_ids)
    writes = Writes()
    left: list[str] = []
    for subscription_id in subscription_ids:
        subscription = loaded.subscriptions.get(subscription_id)
        if subscription is None:
            continue  # gone since it was claimed
        try:
            run = _advance(loaded, subscription, now_unix)
        except NotRoutine:
            left.append(subscription_id)
            continue
        _merge(loaded, run, writes)
    _write(store, writes)
    return left


def _charge_all(
    uow: UnitOfWork, charge_requests: Sequence[tuple[ChargeRequest, dict[str, Any]]]
) -> None:
    """Send the batch's charges to the simulated gateway in one call, before writing them.

    Each was computed as the test card decides (`simulated.decide`); the gateway's books
    must agree, or the batch is undone and its invoices go the one-at-a-time way (a
    charge the gateway made for it is then an orphan, refunded by the reconciler's sweep).
    """
    if not charge_requests:
        return
    gateway = simulated_gateway(uow.connection.engine)
    results = gateway.charge_many([request for request, _row in charge_requests])
    for (_request, row), result in zip(charge_requests, results, strict=True):
        if result.status != "succeeded":
            raise RuntimeError(f"the gateway answered {result.status} for {row['id']}")
        row["gateway_reference"] = result.reference


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch is computed and written.

    A batch allocates hundreds of thousands of small dicts that all stay alive until it is
    written; every allocation threshold crossed would make the collector walk them again
    (a fifth of the run's time, measured). Reference counting still frees what is
    dropped; cycles, if any, are collected when the batch is done.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# --- loading ------------------------------------------------------------------------------


def _load(uow: UnitOfWork, store: BillingRunStore, subscription_ids: Sequence[str]) -> Loaded:
    subscriptions = store.rows_by_id("subscription", subscription_ids)
    ids = list(subscriptions)
    items = store.items_of(ids)
    open_invoices = store.open_or_draft_of(ids)
    drafts = [invoice["id"] for rows in open_invoices.values() for invoice in rows]
    lines = store.lines_of(drafts)
    customer_ids = [row["customer"] for row in subscriptions.values()]
    # Locked (PostgreSQL) before balances and invoice sequences are read and written.
    customers = store.rows_by_id("customer", customer_ids, for_update=True)
    prices = store.rows_by_id("price", {item["price"] for rows in items.values() for item in rows})
    rate_ids = _collect(
        [row["default_tax_rates"] or [] for row in subscriptions.values()],
        [item["tax_rates"] or [] for rows in items.values() for item in rows],
        [line["tax_rates"] or [] for rows in lines.values() for line in rows],
    )
    coupon_ids = {
        entry["coupon"] for row in subscriptions.values() for entry in row["discounts"] or []
    }
    method_ids = {
        method
        for method in [
            *(row["default_payment_method"] for row in subscriptions.values()),
            *(row["default_payment_method"] for row in customers.values()),
            *(invoice["default_payment_method"] for invoice in _flat(open_invoices)),
        ]
        if method
    }
    return Loaded(
        account_id=uow.scope.account_id,
        livemode=uow.scope.livemode,
        settings=billing_settings(uow),
        subscriptions=subscriptions,
        items=items,
        open_invoices=open_invoices,
        lines=lines,
        customers={key: dict(row) for key, row in customers.items()},
        with_pending_items=store.customers_with_pending_items(customer_ids),
        prices=prices,
        products=store.rows_by_id("product", {price["product"] for price in prices.values()}),
        tax_rates=store.rows_by_id("tax_rate", rate_ids),
        coupons=store.rows_by_id("coupon", coupon_ids),
        payment_methods=store.rows_by_id("payment_method", method_ids),
    )


def _charges_in_batch(uow: UnitOfWork) -> bool:
    settings = billing_settings(uow)
    return settings.gateway == "simulated" and not simulated_gateway(
        uow.connection.engine
    ).has_faults(gateway_scope(uow))


def _collect(*groups: Iterable[Iterable[str]]) -> set[str]:
    return {value for group in groups for values in group for value in values}


def _flat(grouped: Mapping[str, list[Record]]) -> list[Record]:
    return [row for rows in grouped.values() for row in rows]


# --- advancing one subscription in memory -------------------------------------------------


def _advance(loaded: Loaded, subscription: Record, limit: int) -> SubscriptionRun:
    """Perform the due actions of one subscription in memory, as `advance_subscription`."""
    customer = loaded.customers.get(subscription["customer"])
    if customer is None:
        raise NotRoutine
    run = SubscriptionRun(
        subscription=dict(subscription),
        customer=dict(customer),
        open_invoices=[dict(row) for row in loaded.open_invoices.get(subscription["id"], [])],
        lines={key: list(rows) for key, rows in loaded.lines.items()},
    )
    for _ in range(MAX_STEPS):
        actions = due_actions(run.subscription, run.open_invoices, loaded.settings)
        if not actions or actions[0].at > limit:
            run.subscription["next_action_at"] = actions[0].at if actions else None
            return run
        action = actions[0]
        if action.kind == "renew":
            _renew(loaded, run, action)
        elif action.kind == "finalize":
            _finalize(loaded, run, action)
        else:
            raise NotRoutine
    raise NotRoutine


def _routine(loaded: Loaded, run: SubscriptionRun) -> None:
    """Refuse what the batch path does not do (the general path does it)."""
    subscription = run.subscription
    if (
        subscription["status"] != "active"
        or subscription["pause_collection"]
        or subscription["invoice_timing"] != "start"
        or subscription["cancel_at"] is not None
        or subscription.get("pending_update")
        or subscription.get("schedule")
        or subscription["customer"] in loaded.with_pending_items
        # A customer-level discount (inherited by invoices without their own): general path.
        or run.customer.get("discount")
    ):
        raise NotRoutine


def _renew(loaded: Loaded, run: SubscriptionRun, action: Action) -> None:
    """`advance._renew` for an active subscription billed at the start of its periods."""
    _routine(loaded, run)
    before = run.subscription
    at = from_unix(action.at)
    start = from_unix(before["current_period_end"])
    end, factor = last_period(before, start)
    subscription = dict(
        before, current_period_start=to_unix(start), current_period_end=to_unix(end)
    )
    run.subscription = subscription
    updated = event_row(
        "customer.subscription.updated",
        "subscription",
        loaded.subscription_view(subscription),
        at,
        previous=loaded.subscription_view(before),
    )
    if updated is not None:
        run.events.append(updated)
    # `advance._cycle_invoice` → `subscription_invoice` → `invoices.create_invoice`.
    discounts = [dict(entry) for entry in subscription["discounts"] or []]
    delay = loaded.settings.finalization_delay
    request = invoice_service.InvoiceRequest(
        customer=run.customer,
        currency=subscription["currency"],
        billing_reason="subscription_cycle",
        period_start=start,
        period_end=end,
        collection_method=subscription["collection_method"],
        days_until_due=subscription["days_until_due"],
        subscription=subscription["id"],
        cycle_period_start=start,
        discounts=tuple(discounts),
        auto_advance=True,
        finalizes_at=at + timedelta(seconds=delay),
    )
    drafts: list[LineDraft] = build_item_lines(
        subscription,
        loaded.items[subscription["id"]],
        CatalogLookup(price=loaded.price, product=loaded.product, tax_rates=loaded.tax_terms),
        start,
        end,
        factor=factor,
    )
    applied = [
        (entry, coupon_terms(loaded.coupons[entry["coupon"]]))
        for entry in invoice_service.discounts_in_force(request.discounts, at)
    ]
    invoice_id = new_id("in")
    row = invoice_service.new_invoice_row(request, invoice_id, applied, at)
    figures, line_rows = invoice_service.figures_and_lines(
        run.customer, invoice_id, subscription["id"], subscription["currency"], drafts, applied, at
    )
    invoice = loaded.stored("invoice", {**row, **figures})
    lines = [loaded.stored("invoice_line", line) for line in line_rows]
    invoice_service.consume_once_discounts(applied, at)
    run.events.append(_event("invoice.created", loaded.invoice_view(invoice, lines), action.at))
    run.open_invoices.append(invoice)
    run.lines[invoice_id] = lines
    run.invoices[invoice_id] = invoice
    run.new_invoices.add(invoice_id)
    subscription["latest_invoice"] = invoice_id
    subscription["discounts"] = discounts
    if delay == 0:
        _finalize(loaded, run, Action("finalize", action.at, invoice_id))


def _finalize(loaded: Loaded, run: SubscriptionRun, action: Action) -> None:
    """`advance._finalize` → `invoices.finalize_invoice(queue=True)`: open, numbered, its
    PaymentIntent made, its first payment attempt queued for collection (`collect_batch`);
    a zero amount due is paid at once."""
    _routine(loaded, run)
    invoice = next(row for row in run.open_invoices if row["id"] == action.target)
    if invoice["status"] != "draft" or invoice["billing_reason"] != "subscription_cycle":
        raise NotRoutine
    at = from_unix(action.at)
    lines = run.lines[invoice["id"]]
    run.invoices[invoice["id"]] = invoice
    customer = run.customer
    values, ending_balance = invoice_service.finalization(invoice, int(customer["balance"]), at)
    if invoice_service.too_small_to_charge(invoice, values):
        raise NotRoutine  # `invoice_too_small`: the general path
    if ending_balance != customer["balance"]:
        # `balance_transactions.record_applied_to_invoice`: the ledger row and the event.
        after = dict(customer, balance=ending_balance)
        run.balance_transactions.append(
            balance_transactions.applied_to_invoice(customer, invoice, ending_balance, at)
        )
        changed = balance_transactions.balance_changed_event(customer, after, at)
        if changed is not None:
            run.events.append(changed)
    customer["balance"] = ending_balance
    values["number"] = invoice_number(customer["invoice_prefix"], customer["next_invoice_sequence"])
    customer["next_invoice_sequence"] += 1
    invoice.update(values)
    charged = values["amount_due"] != 0 and invoice["collection_method"] == "charge_automatically"
    intents: list[dict[str, Any]] = []
    if charged:
        if loaded.settings.gateway == "manual":
            raise NotRoutine  # paid out of band: the general path
        # `collection.prepare_invoice_intent`: made at finalization, before its event.
        intent = _new_intent(loaded, invoice, at)
        intents.append(intent)
        run.payment_intents.append({k: v for k, v in intent.items() if k != "pk"})
    run.events.append(
        _event("invoice.finalized", loaded.invoice_view(invoice, lines, intents), action.at)
    )
    if values["amount_due"] != 0:
        if charged:
            invoice["next_payment_attempt"] = action.at  # `collection.queue_collection`
        return  # open: collected from the queue, or sent for payment by the customer
    invoice.update(invoice_service.paid_values(invoice, at))
    paid = _event("invoice.paid", loaded.invoice_view(invoice, lines), action.at)
    run.events.append(paid)
    run.open_invoices.remove(invoice)


def _new_intent(loaded: Loaded, invoice: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """`collection.invoice_intent`: a new invoice's PaymentIntent for its amount remaining."""
    return loaded.stored(
        "payment_intent",
        payment_attempts.intent_row(
            amount=int(invoice["amount_remaining"]),
            currency=invoice["currency"],
            at=at,
            customer=invoice["customer"],
            invoice=invoice["id"],
            description=invoice["description"],
            test_clock=invoice["test_clock"],
        ),
    )


def _pay(
    loaded: Loaded,
    invoice: dict[str, Any],
    lines: Sequence[Record],
    method: Record,
    intent: dict[str, Any],
    at: int,
    out: Collection,
) -> None:
    """`collection.attempt_invoice_payment` → `run_attempt` → `mark_paid`, for a charge
    that succeeds: the attempt on the invoice's PaymentIntent, its charge, their events,
    the invoice paid."""
    key = f"{invoice['id']}:attempt:{int(invoice['attempt_count']) + 1}"
    invoice.update(invoice_service.attempted_values(invoice))
    charge = payment_attempts.new_charge_row(
        intent, key=key, method_id=method["id"], at=from_unix(at), gateway="simulated"
    )
    # Succeeded, as the test card decides; the gateway's reference is set once it answered.
    charge.update(
        payment_attempts.settled_charge_values(ChargeResult("succeeded", "", intent["amount"]))
    )
    values = payment_attempts.intent_values_after(charge, "succeeded")
    intent.update(values)
    stored_charge = loaded.stored("charge", charge)
    view = payment_attempts.build_charge_view(stored_charge, method, [])
    out.events.append(_event("charge.succeeded", view, at, kind="charge"))
    out.events.append(_event("payment_intent.succeeded", intent, at, kind="payment_intent"))
    out.charges.append(charge)
    out.intent_updates.append({"pk": intent["pk"], **values})
    request = ChargeRequest(
        scope=GatewayScope(loaded.account_id, loaded.livemode),
        idempotency_key=key,
        amount=int(intent["amount"]),
        currency=intent["currency"],
        customer=intent["customer"],
        method=MethodRef(method["id"], method["behavior"]),
        off_session=True,
        metadata={"invoice": invoice["id"], "payment_intent": intent["id"]},
    )
    out.charge_requests.append((request, charge))
    invoice.update(invoice_service.paid_values(invoice, from_unix(at)))
    wire = render("invoice", loaded.invoice_view(invoice, lines, [intent]))
    paid = _event("invoice.paid", {}, at, wire=wire)
    if invoice["amount_paid"] > 0:
        # The same payload object: encoded once when the batch is written.
        out.events.append(dict(paid, id=new_id("evt"), type="invoice.payment_succeeded"))
    out.events.append(paid)
    out.invoice_updates.append(
        {"pk": invoice["pk"], **{name: invoice[name] for name in INVOICE_COLUMNS}}
    )


# --- collecting a batch of due invoices ---------------------------------------------------


@dataclass
class Collection:
    """What charging a batch of due invoices writes."""

    charges: list[dict[str, Any]] = field(default_factory=list)
    intent_updates: list[dict[str, Any]] = field(default_factory=list)
    invoice_updates: list[dict[str, Any]] = field(default_factory=list)
    charge_requests: list[tuple[ChargeRequest, dict[str, Any]]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def collect_batch(uow: UnitOfWork, invoice_ids: Sequence[str], now_unix: int) -> list[str]:
    """Charge the routine invoices among `invoice_ids` (one tenant's, claimed by this
    worker, due for collection) at `now_unix`; returns the ids left for
    `collection.collect_invoice`.

    Routine: an open invoice whose first or later attempt charges a card that succeeds on
    the simulated gateway (no fault armed), of an active subscription (or none), with its
    PaymentIntent for the amount remaining and no attempt pending. The charges go to the
    gateway in one call; the rows and events are those `collect_invoice` writes.
    """
    if not invoice_ids or not _charges_in_batch(uow):
        return list(invoice_ids)
    with _collector_paused():
        # The batch's objects die when `_collect_batch` returns, before the collector runs.
        return _collect_batch(uow, invoice_ids, now_unix)


def _collect_batch(uow: UnitOfWork, invoice_ids: Sequence[str], now_unix: int) -> list[str]:
    store = BillingRunStore(uow)
    invoices = store.rows_by_id("invoice", invoice_ids)
    ids = list(invoices)
    intents = store.intents_of(ids)
    pending = store.invoices_with_pending_attempts(ids)
    subscriptions = store.rows_by_id(
        "subscription", {row["subscription"] for row in invoices.values() if row["subscription"]}
    )
    customers = store.rows_by_id("customer", {row["customer"] for row in invoices.values()})
    chosen = {
        invoice_id: _method_of(invoice, subscriptions, customers)
        for invoice_id, invoice in invoices.items()
    }
    methods = store.rows_by_id("payment_method", {m for m in chosen.values() if m})
    lines = store.lines_of(ids)
    loaded = Loaded(
        account_id=uow.scope.account_id,
        livemode=uow.scope.livemode,
        settings=billing_settings(uow),
        subscriptions=subscriptions,
        items={},
        open_invoices={},
        lines=lines,
        customers={},
        with_pending_items=set(),
        prices={},
        products={},
        tax_rates=store.rows_by_id(
            "tax_rate",
            {rate for row in invoices.values() for rate in row.get("default_tax_rates") or []},
        ),
        coupons={},
        payment_methods=methods,
    )
    out = Collection()
    left: list[str] = []
    for invoice_id in invoice_ids:
        invoice = invoices.get(invoice_id)
        if invoice is None:
            continue  # gone since it was claimed
        method_id = chosen[invoice_id]
        method = methods.get(method_id) if method_id else None
        intent = _collectable_intent(invoice, intents.get(invoice_id, []))
        subscription = subscriptions.get(invoice["subscription"] or "")
        if (
            method is None
            # A method kept at another gateway (a card saved at Stripe) is charged
            # there, whatever the account's gateway is now: the general path.
            or method.get("gateway") not in (None, "simulated")
            or intent is None
            or invoice_id in pending
            or invoice["status"] != "open"
            or invoice["collection_method"] != "charge_automatically"
            or invoice["dunning"]
            or (invoice["subscription"] and not _active(subscription))
            or not _plain_success(method)
        ):
            left.append(invoice_id)
            continue
        invoice_lines = lines.get(invoice_id, [])
        _pay(loaded, dict(invoice), invoice_lines, method, dict(intent), now_unix, out)
    _charge_all(uow, out.charge_requests)
    store.insert_rows("charge", out.charges)
    store.update_rows("payment_intent", out.intent_updates)
    store.update_rows("invoice", out.invoice_updates)
    store.insert_rows("event", out.events)
    return left


def _method_of(
    invoice: Record, subscriptions: Mapping[str, Record], customers: Mapping[str, Record]
) -> str | None:
    """`invoices.payment_method_for`: the invoice's, its subscription's, its customer's."""
    if invoice["default_payment_method"]:
        return str(invoice["default_payment_method"])
    subscription = subscriptions.get(invoice["subscription"] or "")
    if subscription is not None and subscription["default_payment_method"]:
        return str(subscription["default_payment_method"])
    customer = customers.get(invoice["customer"])
    return None if customer is None else customer["default_payment_method"]


def _collectable_intent(invoice: Record, intents: Sequence[Record]) -> Record | None:
    """`collection.invoice_intent`, when it needs no change: the live intent for the
    amount remaining."""
    live = [row for row in intents if row["status"] != "canceled"]
    if not live:
        return None
    intent = live[-1]
    if intent["amount"] != invoice["amount_remaining"] or intent["status"] == "succeeded":
        return None
    return intent


def _plain_success(method: Record) -> bool:
    """A card whose charge succeeds with nothing more to record (no dispute opened)."""
    decision = simulated.decide(method["behavior"], off_session=True)
    return decision.succeeded and decision.dispute_reason is None


def _active(subscription: Record | None) -> bool:
    """A subscription a paid invoice leaves as it is (`after_invoice_paid` does nothing)."""
    return (
        subscription is not None
        and subscription["status"] == "active"
        and not subscription.get("pending_update")
    )


def _event(
    event_type: str,
    view: Mapping[str, Any],
    at: int,
    *,
    wire: dict[str, Any] | None = None,
    kind: str = "invoice",
) -> dict[str, Any]:
    row = event_row(event_type, kind, view, from_unix(at), wire=wire)
    if row is None:  # only updates can be empty
        raise RuntimeError(f"{event_type} without a payload")
    return row


# --- writing ------------------------------------------------------------------------------


def _merge(loaded: Loaded, run: SubscriptionRun, writes: Writes) -> None:
    """Add a subscription's effects to the batch and make its customer's state current."""
    subscription = run.subscription
    writes.subscriptions.append(
        {"pk": subscription["pk"], **{name: subscription[name] for name in SUBSCRIPTION_COLUMNS}}
    )
    for invoice_id, invoice in run.invoices.items():
        if invoice_id in run.new_invoices:
            writes.invoices.append({k: v for k, v in invoice.items() if k != "pk"})
            writes.lines.extend(
                {k: v for k, v in line.items() if k != "pk"} for line in run.lines[invoice_id]
            )
        else:
            writes.invoice_updates[invoice_id] = {
                "pk": invoice["pk"],
                **{name: invoice[name] for name in INVOICE_COLUMNS},
            }
    writes.payment_intents.extend(run.payment_intents)
    writes.balance_transactions.extend(run.balance_transactions)
    writes.events.extend(run.events)
    customer = run.customer
    before = loaded.customers[customer["id"]]
    if any(customer[name] != before[name] for name in CUSTOMER_COLUMNS):
        writes.customers[customer["id"]] = {
            "pk": customer["pk"],
            **{name: customer[name] for name in CUSTOMER_COLUMNS},
        }
    loaded.customers[customer["id"]] = customer


def _write(store: BillingRunStore, writes: Writes) -> None:
    """One statement per table (the customers' and invoices' updates: one executemany)."""
    store.insert_rows("invoice", writes.invoices)
    store.insert_rows("invoice_line", writes.lines)
    store.update_rows("invoice", list(writes.invoice_updates.values()))
    store.insert_rows("payment_intent", writes.payment_intents)
    store.insert_rows("customer_balance_transaction", writes.balance_transactions)
    store.update_rows("subscription", writes.subscriptions)
    store.update_rows("customer", list(writes.customers.values()))
    store.insert_rows("event", writes.events)
