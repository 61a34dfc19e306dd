"""Events of the catalog, customers, discounts, payment methods, invoice items and test
clocks, through the official stripe SDK: each call writes exactly its events, with
`data.object` as the API shows it and, on updates, `previous_attributes` holding only what
changed (an update that changes nothing writes none, a refused request writes none)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import stripe

from recur import bootstrap
from recur.domain.clock import from_unix
from recur.domain.tenancy import Scope
from recur.services import accounts
from recur.services import test_clocks as clock_service
from tests.support.clocks import wait_for_clock_ready

JAN_2025 = 1_735_689_600
DAY = 86_400


class EventLog:
    """The account's events, read as they come: `new()` answers those written since the
    last call, oldest first."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self.seen: set[str] = {event.id for event in self._all()}

    def _all(self) -> list[stripe.Event]:
        found = self.client.v1.events.list(params={"limit": 100}).auto_paging_iter()
        return list(reversed(list(found)))

    def new(self) -> list[stripe.Event]:
        fresh = [event for event in self._all() if event.id not in self.seen]
        self.seen.update(event.id for event in fresh)
        return fresh

    def types(self) -> list[str]:
        return [event.type for event in self.new()]

    def one(self, event_type: str) -> stripe.Event:
        """The only new event, which must be of `event_type`."""
        fresh = self.new()
        assert [event.type for event in fresh] == [event_type]
        return fresh[0]


def _obj(event: stripe.Event) -> dict[str, Any]:
    found: dict[str, Any] = event.data.to_dict()["object"]
    return found


def _previous(event: stripe.Event) -> dict[str, Any]:
    found: dict[str, Any] = event.data.to_dict()["previous_attributes"]
    return found


def _refused(log: EventLog, call: Callable[[], object]) -> stripe.StripeError:
    """A request that fails, and writes no event."""
    with pytest.raises(stripe.StripeError) as raised:
        call()
    assert log.new() == []
    return raised.value


def _post(client: stripe.StripeClient, path: str, params: dict[str, Any]) -> dict[str, Any]:
    """A raw POST (for parameters the SDK's types no longer list, such as `coupon`)."""
    response = client.raw_request("post", path, **params)
    body: dict[str, Any] = client.deserialize(response, api_mode="V1").to_dict()
    return body


# --- customers ------------------------------------------------------------------------


def test_customer_create_update_delete(client: stripe.StripeClient) -> None:
    log = EventLog(client)
    customer = client.v1.customers.create(
        params={"name": "Ada", "balance": -500, "metadata": {"desk": "7"}}
    )
    created = log.one("customer.created")
    assert _obj(created)["id"] == customer.id and _obj(created)["object"] == "customer"
    assert _obj(created)["balance"] == -500 and _obj(created)["metadata"] == {"desk": "7"}
    assert "previous_attributes" not in created.data.to_dict()
    assert _obj(created) == customer.to_dict()  # the API's own rendering

    # A balance set by the update: ONE customer.updated (balance among its previous
    # attributes) and the `adjustment` row of the ledger, without an event of its own.
    updated = client.v1.customers.update(
        customer.id, params={"name": "Ada L.", "balance": 1000, "metadata": {"floor": "2"}}
    )
    event = log.one("customer.updated")
    assert _previous(event) == {"name": "Ada", "balance": -500, "metadata": {"floor": None}}
    assert _obj(event) == updated.to_dict()
    ledger = client.v1.customers.balance_transactions.list(customer.id).data
    assert [(t.type, t.amount, t.ending_balance) for t in ledger] == [
        ("adjustment", 1500, 1000),
        ("initial", -500, -500),
    ]

    # The same values again change nothing: no event (Stripe: "Occurs whenever any
    # property of a customer changes").
    client.v1.customers.update(customer.id, params={"name": "Ada L.", "balance": 1000})
    assert log.new() == []
    _refused(log, lambda: client.v1.customers.update(customer.id, params={"invoice_prefix": "x"}))

    client.v1.customers.delete(customer.id)
    deleted = log.one("customer.deleted")
    # The customer as it was, not the tombstone the DELETE answers.
    assert _obj(deleted)["id"] == customer.id and _obj(deleted)["name"] == "Ada L."
    assert "deleted" not in _obj(deleted)
    _refused(log, lambda: client.v1.customers.delete(customer.id))


def test_customer_with_a_payment_method_and_on_a_test_clock(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": JAN_2025})
    log = EventLog(client)
    customer = client.v1.customers.create(
        params={
            "name": "Ada",
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    attached, created = log.new()
    assert (attached.type, created.type) == ("payment_method.attached", "customer.created")
    method = customer.invoice_settings.default_payment_method  # type: ignore[union-attr]
    assert _obj(attached)["id"] == method and _obj(attached)["customer"] == customer.id
    assert _obj(created)["invoice_settings"]["default_payment_method"] == method
    # Dated by the customer's present: its test clock's frozen time.
    assert attached.created == created.created == JAN_2025

    # A declined card attaches nothing: the whole create is undone, events included.
    _refused(
        log,
        lambda: client.v1.customers.create(
            params={"name": "Bob", "payment_method": "pm_card_chargeDeclined"}
        ),
    )


# --- customer discounts ---------------------------------------------------------------


def test_customer_discount_events(client: stripe.StripeClient) -> None:
    tenth = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    fifth = client.v1.coupons.create(params={"percent_off": 20, "duration": "forever"})
    log = EventLog(client)
    customer = _post(client, "/v1/customers", {"name": "Ada", "coupon": tenth.id})
    created, discounted = log.new()
    assert (created.type, discounted.type) == ("customer.created", "customer.discount.created")
    assert _obj(created)["discount"]["coupon"]["id"] == tenth.id
    discount = _obj(discounted)
    assert discount["object"] == "discount" and discount["customer"] == customer["id"]
    assert discount["coupon"]["id"] == tenth.id and discount["id"] == customer["discount"]["id"]

    # Switching coupons: customer.discount.updated only (a sub-resource's event does not
    # trigger the parent's customer.updated).
    switched = _post(client, f"/v1/customers/{customer['id']}", {"coupon": fifth.id})
    event = log.one("customer.discount.updated")
    assert _obj(event)["coupon"]["id"] == fifth.id
    assert _obj(event)["id"] == switched["discount"]["id"]
    assert _previous(event)["coupon"]["id"] == tenth.id
    assert _previous(event)["id"] == discount["id"]

    # With another change in the same call: one customer.updated, without the discount
    # among its previous attributes, then the discount's own event.
    _post(client, f"/v1/customers/{customer['id']}", {"name": "Ada L.", "coupon": tenth.id})
    updated, replaced = log.new()
    assert (updated.type, replaced.type) == ("customer.updated", "customer.discount.updated")
    assert _previous(updated) == {"name": "Ada"}
    assert _obj(updated)["discount"]["coupon"]["id"] == tenth.id

    # An unknown coupon refuses the whole update, name included.
    _refused(
        log,
        lambda: _post(client, f"/v1/customers/{customer['id']}", {"name": "X", "coupon": "nope"}),
    )
    assert client.v1.customers.retrieve(customer["id"]).name == "Ada L."

    # An empty coupon removes the discount (as at Stripe), as the DELETE does.
    _post(client, f"/v1/customers/{customer['id']}", {"coupon": ""})
    removed = log.one("customer.discount.deleted")
    assert _obj(removed)["coupon"]["id"] == tenth.id and "deleted" not in _obj(removed)
    assert client.v1.customers.retrieve(customer["id"]).discount is None
    _post(client, f"/v1/customers/{customer['id']}", {"coupon": ""})  # nothing to remove
    assert log.new() == []

    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": fifth.id}, "code": "SPRING"}
    )
    log.one("promotion_code.created")
    _post(client, f"/v1/customers/{customer['id']}", {"promotion_code": code.id})
    added = log.one("customer.discount.created")
    assert _obj(added)["promotion_code"] == code.id
    client.v1.customers.delete_discount(customer["id"])
    assert _obj(log.one("customer.discount.deleted"))["promotion_code"] == code.id
    _refused(log, lambda: client.v1.customers.delete_discount(customer["id"]))


def test_a_subscription_discount_is_no_customer_discount(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    price = client.v1.prices.create(
        params={
            "currency": "eur",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Desk"},
        }
    )
    customer = client.v1.customers.create(
        params={
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    log = EventLog(client)
    client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "discounts": [{"coupon": coupon.id}],
        }
    )
    types = log.types()
    assert "customer.subscription.created" in types
    assert not [t for t in types if t.startswith("customer.discount.")]


# --- products and prices --------------------------------------------------------------


def test_product_events(client: stripe.StripeClient) -> None:
    log = EventLog(client)
    product = client.v1.products.create(params={"name": "Desk", "metadata": {"a": "1"}})
    created = log.one("product.created")
    assert _obj(created) == product.to_dict()

    updated = client.v1.products.update(product.id, params={"name": "Hot desk"})
    event = log.one("product.updated")
    assert _obj(event) == updated.to_dict()
    assert _previous(event)["name"] == "Desk"
    assert set(_previous(event)) <= {"name", "updated"}  # `updated` moves with the clock
    client.v1.products.update(product.id, params={"name": "Hot desk", "metadata": {"a": "1"}})
    assert log.new() == []  # nothing changed, not even `updated`
    assert client.v1.products.retrieve(product.id).updated == updated.updated

    client.v1.products.delete(product.id)
    deleted = log.one("product.deleted")
    assert _obj(deleted)["id"] == product.id and _obj(deleted)["name"] == "Hot desk"

    # A default price: the price, then the product as the call left it.
    with_price = client.v1.products.create(
        params={"name": "Office", "default_price_data": {"currency": "eur", "unit_amount": 900}}
    )
    price_event, product_event = log.new()
    assert (price_event.type, product_event.type) == ("price.created", "product.created")
    assert _obj(price_event)["id"] == with_price.default_price
    assert _obj(product_event)["default_price"] == with_price.default_price
    _refused(log, lambda: client.v1.products.delete(with_price.id))  # it has a price
    _refused(log, lambda: client.v1.products.create(params={"name": "x", "id": "bad id!"}))


def test_price_events(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"name": "Desk"})
    log = EventLog(client)
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
            "lookup_key": "desk",
        }
    )
    created = log.one("price.created")
    assert _obj(created) == price.to_dict()

    updated = client.v1.prices.update(
        price.id, params={"nickname": "Monthly", "metadata": {"k": "v"}}
    )
    event = log.one("price.updated")
    assert _previous(event) == {"nickname": None, "metadata": {"k": None}}
    assert _obj(event) == updated.to_dict()
    client.v1.prices.update(price.id, params={"nickname": "Monthly"})
    assert log.new() == []

    # Taking a lookup key from another price updates both.
    other = client.v1.prices.create(
        params={"product": product.id, "currency": "eur", "unit_amount": 2500}
    )
    log.one("price.created")
    client.v1.prices.update(other.id, params={"lookup_key": "desk", "transfer_lookup_key": True})
    released, taken = log.new()
    assert (released.type, taken.type) == ("price.updated", "price.updated")
    assert _obj(released)["id"] == price.id and _previous(released) == {"lookup_key": "desk"}
    assert _obj(taken)["id"] == other.id and _previous(taken) == {"lookup_key": None}

    # Inline product data: the product, then its price.
    client.v1.prices.create(
        params={"currency": "eur", "unit_amount": 100, "product_data": {"name": "Locker"}}
    )
    assert log.types() == ["product.created", "price.created"]
    _refused(
        log,
        lambda: client.v1.prices.create(
            params={"product": product.id, "currency": "eur", "unit_amount": -1}
        ),
    )
    _refused(
        log,
        lambda: client.v1.prices.update(price.id, params={"lookup_key": "desk"}),  # taken
    )


# --- coupons, promotion codes, tax rates ----------------------------------------------


def test_coupon_events(client: stripe.StripeClient) -> None:
    log = EventLog(client)
    coupon = client.v1.coupons.create(
        params={"id": "SPRING", "percent_off": 25, "duration": "once", "name": "Spring"}
    )
    created = log.one("coupon.created")
    assert _obj(created) == coupon.to_dict()
    updated = client.v1.coupons.update(coupon.id, params={"name": "Spring sale"})
    event = log.one("coupon.updated")
    assert _previous(event) == {"name": "Spring"} and _obj(event) == updated.to_dict()
    client.v1.coupons.update(coupon.id, params={"name": "Spring sale"})
    assert log.new() == []
    client.v1.coupons.delete(coupon.id)
    deleted = log.one("coupon.deleted")
    assert _obj(deleted)["id"] == "SPRING" and _obj(deleted)["name"] == "Spring sale"
    _refused(log, lambda: client.v1.coupons.delete(coupon.id))
    _refused(log, lambda: client.v1.coupons.create(params={"percent_off": 150}))


def test_promotion_code_events(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    log = EventLog(client)
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "WELCOME"}
    )
    created = log.one("promotion_code.created")
    assert _obj(created) == code.to_dict()
    assert _obj(created)["coupon"]["id"] == coupon.id
    client.v1.promotion_codes.update(code.id, params={"active": False})
    event = log.one("promotion_code.updated")
    assert _previous(event) == {"active": True} and _obj(event)["active"] is False
    client.v1.promotion_codes.update(code.id, params={"active": False})
    assert log.new() == []
    client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "WELCOME"}
    )
    log.one("promotion_code.created")
    # Its text is taken again: reactivating the first code is refused.
    _refused(log, lambda: client.v1.promotion_codes.update(code.id, params={"active": True}))


def test_tax_rate_events(client: stripe.StripeClient) -> None:
    log = EventLog(client)
    rate = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 20, "inclusive": False}
    )
    created = log.one("tax_rate.created")
    assert _obj(created) == rate.to_dict()
    updated = client.v1.tax_rates.update(rate.id, params={"active": False, "country": "fr"})
    event = log.one("tax_rate.updated")
    assert _previous(event) == {"active": True, "country": None}
    assert _obj(event) == updated.to_dict()
    client.v1.tax_rates.update(rate.id, params={"active": False})
    assert log.new() == []
    _refused(log, lambda: client.v1.tax_rates.update(rate.id, params={"country": "FRA"}))


# --- payment methods and invoice items ------------------------------------------------


def test_payment_method_events(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "Ada"})
    log = EventLog(client)
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    attached = log.one("payment_method.attached")
    assert _obj(attached) == method.to_dict() and _obj(attached)["customer"] == customer.id

    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": method.id}}
    )
    event = log.one("customer.updated")
    assert _previous(event) == {"invoice_settings": {"default_payment_method": None}}

    updated = client.v1.payment_methods.update(
        method.id, params={"billing_details": {"name": "Ada L."}, "metadata": {"k": "v"}}
    )
    event = log.one("payment_method.updated")
    assert _previous(event) == {"billing_details": {"name": None}, "metadata": {"k": None}}
    assert _obj(event) == updated.to_dict()

    # Detaching the default one also clears the customer's default: its customer.updated.
    client.v1.payment_methods.detach(method.id)
    detached, customer_updated = log.new()
    assert (detached.type, customer_updated.type) == (
        "payment_method.detached",
        "customer.updated",
    )
    assert _obj(detached)["customer"] is None
    assert _previous(detached) == {"customer": customer.id}  # Stripe names the customer here
    assert _previous(customer_updated) == {
        "invoice_settings": {"default_payment_method": method.id}
    }
    _refused(log, lambda: client.v1.payment_methods.detach(method.id))
    _refused(
        log,
        lambda: client.v1.payment_methods.attach(
            "pm_card_chargeDeclined", params={"customer": customer.id}
        ),
    )


def test_invoice_item_update_event(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "Ada"})
    item = client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 500, "currency": "eur", "description": "Key"}
    )
    log = EventLog(client)
    updated = client.v1.invoice_items.update(
        item.id, params={"amount": 700, "description": "Two keys"}
    )
    event = log.one("invoiceitem.updated")
    assert _obj(event)["id"] == item.id and _obj(event)["amount"] == 700
    assert _previous(event)["amount"] == 500
    assert _previous(event)["description"] == "Key"
    assert _obj(event) == updated.to_dict()
    client.v1.invoice_items.update(item.id, params={"description": "Two keys"})
    assert log.new() == []
    _refused(log, lambda: client.v1.invoice_items.update(item.id, params={"currency": "usd"}))


# --- test clocks ----------------------------------------------------------------------


def test_test_clock_events(client: stripe.StripeClient) -> None:
    log = EventLog(client)
    clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": JAN_2025, "name": "Q1"}
    )
    created = log.one("test_helpers.test_clock.created")
    assert _obj(created) == clock.to_dict() and created.created == JAN_2025

    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": JAN_2025 + DAY})
    wait_for_clock_ready(client, clock.id)
    advancing, ready = log.new()
    assert advancing.type == "test_helpers.test_clock.advancing"
    assert _obj(advancing)["status"] == "advancing"
    assert _obj(advancing)["status_details"]["advancing"]["target_frozen_time"] == JAN_2025 + DAY
    assert ready.type == "test_helpers.test_clock.ready"
    assert _obj(ready)["status"] == "ready" and _obj(ready)["frozen_time"] == JAN_2025 + DAY
    assert ready.created == JAN_2025 + DAY  # the clock's own time
    _refused(
        log,
        lambda: client.v1.test_helpers.test_clocks.advance(
            clock.id, params={"frozen_time": JAN_2025}
        ),
    )

    customer = client.v1.customers.create(params={"test_clock": clock.id})
    log.one("customer.created")
    client.v1.test_helpers.test_clocks.delete(clock.id)
    gone, deleted = log.new()
    assert (gone.type, deleted.type) == ("customer.deleted", "test_helpers.test_clock.deleted")
    assert _obj(gone)["id"] == customer.id and _obj(deleted)["id"] == clock.id


def test_a_failed_advance_emits_internal_failure(
    client: stripe.StripeClient, container: bootstrap.Container, account: accounts.AccountKeys
) -> None:
    log = EventLog(client)
    with container.uow_factory(Scope(account.account, livemode=False)) as uow:
        # One transaction: the worker never sees this clock advancing.
        now = container.clock.now()
        clock = clock_service.create_test_clock(uow, from_unix(JAN_2025), None, now)
        clock_service.advance_test_clock(uow, clock["id"], from_unix(JAN_2025 + DAY))
        clock_service.fail_advance(uow, clock["id"])
    assert log.types() == [
        "test_helpers.test_clock.created",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.internal_failure",
    ]


# --- modes and tenants ----------------------------------------------------------------


def test_events_stay_in_their_mode_and_account(
    client: stripe.StripeClient,
    live_client: stripe.StripeClient,
    container: bootstrap.Container,
    server: Any,
) -> None:
    live_log, test_log = EventLog(live_client), EventLog(client)
    live_product = live_client.v1.products.create(params={"name": "Live desk"})
    event = live_log.one("product.created")
    assert event.livemode is True and _obj(event)["livemode"] is True
    assert test_log.new() == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.retrieve(event.id)
    with container.uow_factory(None) as uow:
        other = accounts.create_account(uow, "Other", container.clock.now())
    intruder = server.stripe_client(other.test_secret_key)
    assert intruder.v1.events.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        intruder.v1.events.retrieve(event.id)
    assert excinfo.value.http_status == 404
    assert live_product.livemode is True
