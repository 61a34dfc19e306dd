"""Coupons through the official stripe SDK against a live server; redemption limits."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import stripe

from recur import bootstrap
from recur.domain.errors import InvalidRequest, NotFound
from recur.domain.tenancy import Scope
from recur.services import coupons
from recur.services.accounts import AccountKeys


def future(seconds: int = 3600) -> int:
    return int(time.time()) + seconds


def test_create_retrieve_update_delete_percent_coupon(client: stripe.StripeClient) -> None:
    created = client.v1.coupons.create(
        params={
            "percent_off": 25.5,
            "duration": "repeating",
            "duration_in_months": 3,
            "name": "Spring",
            "metadata": {"campaign": "spring"},
            "max_redemptions": 10,
        }
    )
    assert created.object == "coupon"
    assert len(created.id) == 8
    assert created.percent_off == 25.5
    assert created.amount_off is None and created.currency is None
    assert created.duration == "repeating" and created.duration_in_months == 3
    assert created.times_redeemed == 0
    assert created.valid is True
    assert created.livemode is False
    assert "applies_to" not in created.to_dict()

    assert client.v1.coupons.retrieve(created.id).to_dict() == created.to_dict()

    updated = client.v1.coupons.update(
        created.id, params={"name": "Spring sale", "metadata": {"campaign": "", "x": "1"}}
    )
    assert updated.name == "Spring sale"
    assert updated.metadata.to_dict() == {"x": "1"}
    assert updated.percent_off == 25.5

    deleted = client.v1.coupons.delete(created.id)
    assert deleted.to_dict() == {"id": created.id, "object": "coupon", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.coupons.retrieve(created.id)
    assert excinfo.value.http_status == 404
    assert created.id not in [c.id for c in client.v1.coupons.list().data]


def test_amount_off_coupon_with_custom_id(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create(
        params={"id": "WELCOME-10", "amount_off": 1000, "currency": "EUR", "duration": "forever"}
    )
    assert coupon.id == "WELCOME-10"
    assert coupon.amount_off == 1000 and coupon.currency == "eur"
    assert coupon.percent_off is None
    assert coupon.duration == "forever" and coupon.duration_in_months is None
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.coupons.create(params={"id": "WELCOME-10", "amount_off": 1, "currency": "eur"})
    assert excinfo.value.param == "id"
    assert excinfo.value.code == "resource_already_exists"


def test_duration_defaults_to_once(client: stripe.StripeClient) -> None:
    assert client.v1.coupons.create(params={"percent_off": 10}).duration == "once"


def test_applies_to_is_returned_only_when_expanded(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"name": "Desk"})
    coupon = client.v1.coupons.create(
        params={"percent_off": 50, "applies_to": {"products": [product.id]}}
    )
    assert "applies_to" not in coupon.to_dict()
    expanded = client.v1.coupons.retrieve(coupon.id, params={"expand": ["applies_to"]})
    assert expanded.applies_to is not None
    assert expanded.applies_to.products == [product.id]
    listed = client.v1.coupons.list(params={"expand": ["data.applies_to"]})
    assert listed.data[0].applies_to is not None
    assert listed.data[0].applies_to.products == [product.id]
    plain = client.v1.coupons.create(params={"percent_off": 5, "expand": ["applies_to"]})
    assert plain.to_dict()["applies_to"] is None


def test_applies_to_unknown_product_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.coupons.create(
            params={"percent_off": 5, "applies_to": {"products": ["prod_missing"]}}
        )
    assert excinfo.value.http_status == 404
    assert excinfo.value.param == "applies_to[products][0]"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({}, "percent_off"),
        ({"percent_off": 10, "amount_off": 100, "currency": "usd"}, "percent_off"),
        ({"percent_off": 0}, "percent_off"),
        ({"percent_off": 100.5}, "percent_off"),
        ({"percent_off": 10.125}, "percent_off"),
        ({"percent_off": "ten"}, "percent_off"),
        ({"amount_off": 100}, "currency"),
        ({"amount_off": 100, "currency": "zzz"}, "currency"),
        ({"percent_off": 10, "currency": "usd"}, "currency"),
        ({"amount_off": 0, "currency": "usd"}, "amount_off"),
        ({"percent_off": 10, "duration": "repeating"}, "duration_in_months"),
        (
            {"percent_off": 10, "duration": "repeating", "duration_in_months": 0},
            "duration_in_months",
        ),
        ({"percent_off": 10, "duration": "once", "duration_in_months": 3}, "duration_in_months"),
        ({"percent_off": 10, "duration": "weekly"}, "duration"),
        ({"percent_off": 10, "redeem_by": 1_000_000}, "redeem_by"),
        ({"percent_off": 10, "max_redemptions": 0}, "max_redemptions"),
        ({"percent_off": 10, "id": "has space"}, "id"),
        ({"percent_off": 10, "currency_options": {"eur": {"amount_off": 5}}}, "currency_options"),
    ],
)
def test_invalid_create_names_the_param(
    client: stripe.StripeClient, params: dict[str, object], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.coupons.create(params=params)  # type: ignore[arg-type]
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == param
    assert client.v1.coupons.list().data == []


def test_terms_cannot_be_updated(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 10})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.coupons.update(coupon.id, params={"percent_off": 20})  # type: ignore[typeddict-unknown-key]
    assert excinfo.value.param == "percent_off"


def test_list_pages_and_filters_by_created(client: stripe.StripeClient) -> None:
    ids = [client.v1.coupons.create(params={"percent_off": 10 + i}).id for i in range(5)]
    page = client.v1.coupons.list(params={"limit": 2})
    assert [c.id for c in page.data] == ids[::-1][:2]
    assert page.has_more is True
    assert [c.id for c in page.auto_paging_iter()] == ids[::-1]
    created = client.v1.coupons.retrieve(ids[0]).created
    assert len(client.v1.coupons.list(params={"created": {"gte": created}}).data) == 5
    assert client.v1.coupons.list(params={"created": {"lt": created}}).data == []


def test_livemode_isolation(client: stripe.StripeClient, live_client: stripe.StripeClient) -> None:
    test_coupon = client.v1.coupons.create(params={"id": "SAME", "percent_off": 10})
    assert live_client.v1.coupons.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.coupons.retrieve(test_coupon.id)
    assert excinfo.value.http_status == 404
    # The same merchant-chosen id may exist in both modes.
    live_coupon = live_client.v1.coupons.create(params={"id": "SAME", "percent_off": 20})
    assert live_coupon.livemode is True
    assert client.v1.coupons.retrieve("SAME").percent_off == 10


def test_valid_turns_false_when_used_up(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 10, "max_redemptions": 1})
    now = container.clock.now()
    with container.uow_factory(Scope(account.account, False)) as uow:
        coupons.redeem_coupon(uow, coupon.id, now)
    fetched = client.v1.coupons.retrieve(coupon.id)
    assert fetched.times_redeemed == 1
    assert fetched.valid is False


# --- redemption (the service the billing engine calls) ------------------------------------


def test_redeem_refuses_expired_deleted_and_exhausted_coupons(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    scope = Scope(account.account, False)
    soon = client.v1.coupons.create(params={"percent_off": 10, "redeem_by": future(60)})
    gone = client.v1.coupons.create(params={"percent_off": 10})
    client.v1.coupons.delete(gone.id)
    once = client.v1.coupons.create(params={"percent_off": 10, "max_redemptions": 1})
    later = container.clock.now() + timedelta(seconds=120)
    with container.uow_factory(scope) as uow:
        with pytest.raises(InvalidRequest) as expired:
            coupons.redeem_coupon(uow, soon.id, later)
        assert expired.value.param == "coupon"
        assert expired.value.message == "This coupon has expired."
        with pytest.raises(NotFound) as missing:
            coupons.redeem_coupon(uow, gone.id, later)
        assert missing.value.param == "coupon"
        coupons.redeem_coupon(uow, once.id, later)
        with pytest.raises(InvalidRequest) as exhausted:
            coupons.redeem_coupon(uow, once.id, later)
        assert "maximum number of redemptions" in exhausted.value.message
    # A deleted coupon keeps its terms for the discounts that already use it.
    with container.uow_factory(scope, readonly=True) as uow:
        tombstone = coupons.get_coupon_record(uow, gone.id)
        assert tombstone["deleted"] is True
        assert coupons.coupon_terms(tombstone).percent_off == 10


def test_concurrent_redemptions_never_exceed_the_limit(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 10, "max_redemptions": 3})
    scope = Scope(account.account, False)
    now = container.clock.now()
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def redeem() -> None:
        start.wait()
        try:
            with container.uow_factory(scope) as uow:
                coupons.redeem_coupon(uow, coupon.id, now)
            outcome = "ok"
        except InvalidRequest:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 5
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 3
