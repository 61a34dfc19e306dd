"""`/v1/customers/{customer}/balance_transactions`: the customer balance ledger.

Also the `customer` renderer of events: a change of a customer's balance emits
`customer.updated` (with `previous_attributes.balance`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from recur.api.expand import register_loader
from recur.api.framework import ApiContext, Wire, route
from recur.api.lists import created_filter, list_envelope, page_request
from recur.api.params import (
    Int,
    ListParams,
    Metadata,
    OptStr,
    Params,
    RetrieveParams,
    given_values,
    updated_metadata,
)
from recur.api.routes.customers import customer_object, discount_object
from recur.domain.clock import from_unix
from recur.services import balance_transactions as service
from recur.services.events import register_renderer
from recur.storage.repositories.base import Record


class BalanceTransactionCreateParams(Params):
    """`POST /v1/customers/{customer}/balance_transactions`."""

    amount: Int
    currency: Annotated[str, Field(min_length=1)]
    description: str | None = None
    metadata: Metadata | None = None


class BalanceTransactionUpdateParams(Params):
    """`POST /v1/customers/{customer}/balance_transactions/{transaction}`."""

    description: OptStr = None
    metadata: Metadata | None = None


class BalanceTransactionListParams(ListParams):
    """`GET /v1/customers/{customer}/balance_transactions`."""

    invoice: str | None = None


def balance_transaction_object(record: Mapping[str, Any]) -> Wire:
    """The wire shape of a customer balance transaction."""
    return {
        "id": record["id"],
        "object": "customer_balance_transaction",
        "amount": record["amount"],
        "checkout_session": None,
        "created": record["created"],
        "credit_note": record["credit_note"],
        "currency": record["currency"],
        "customer": record["customer"],
        "customer_account": None,
        "description": record["description"],
        "ending_balance": record["ending_balance"],
        "invoice": record["invoice"],
        "livemode": record["livemode"],
        "metadata": record["metadata"],
        "type": record["type"],
    }


def customer_event_object(view: Mapping[str, Any]) -> Wire:
    """A customer in an event (`services.balance_transactions.customer_view`)."""
    wire = customer_object(view)
    found = view.get("discount_in_force")
    if found is not None and not view["deleted"]:
        entry, coupon = found
        wire["discount"] = discount_object(entry, coupon, from_unix(view["view_at"]), view["id"])
    return wire


@route(
    "POST",
    "/v1/customers/{customer}/balance_transactions",
    BalanceTransactionCreateParams,
    summary="Credit or debit a customer's balance.",
    returns="customer_balance_transaction",
)
def create(ctx: ApiContext, params: BalanceTransactionCreateParams, customer: str) -> Wire:
    values = given_values(params)
    record = service.create_balance_transaction(ctx.uow, customer, values, ctx.now)
    return balance_transaction_object(record)


@route(
    "GET",
    "/v1/customers/{customer}/balance_transactions/{transaction}",
    RetrieveParams,
    summary="Retrieve a customer balance transaction.",
    returns="customer_balance_transaction",
)
def retrieve(ctx: ApiContext, params: RetrieveParams, customer: str, transaction: str) -> Wire:
    return balance_transaction_object(
        service.retrieve_balance_transaction(ctx.uow, customer, transaction)
    )


@route(
    "POST",
    "/v1/customers/{customer}/balance_transactions/{transaction}",
    BalanceTransactionUpdateParams,
    summary="Update a customer balance transaction's description or metadata.",
    returns="customer_balance_transaction",
)
def update(
    ctx: ApiContext, params: BalanceTransactionUpdateParams, customer: str, transaction: str
) -> Wire:
    values = given_values(params)
    if params.given("metadata"):
        current = service.retrieve_balance_transaction(ctx.uow, customer, transaction)
        values["metadata"] = updated_metadata(current["metadata"], params, ctx.raw)
    record = service.update_balance_transaction(ctx.uow, customer, transaction, values)
    return balance_transaction_object(record)


@route(
    "GET",
    "/v1/customers/{customer}/balance_transactions",
    BalanceTransactionListParams,
    summary="List a customer's balance transactions.",
    returns="list",
)
def list_(ctx: ApiContext, params: BalanceTransactionListParams, customer: str) -> Wire:
    page = service.list_balance_transactions(
        ctx.uow,
        customer,
        page_request(params),
        invoice=params.invoice,
        created=created_filter(params),
    )
    return list_envelope(
        f"/v1/customers/{customer}/balance_transactions", page, balance_transaction_object
    )


def _load(ctx: ApiContext, object_id: str) -> Record:
    return service.retrieve_any_balance_transaction(ctx.uow, object_id)


register_loader("cbtxn", lambda ctx, object_id: balance_transaction_object(_load(ctx, object_id)))
register_renderer("customer", customer_event_object)
