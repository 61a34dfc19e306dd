"""Promotion codes through the official stripe SDK; redemption rules and limits."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import stripe

from recur import bootstrap
from recur.domain.errors import Conflict, InvalidRequest, NotFound
from recur.domain.tenancy import Scope
from recur.services import promotion_codes
from recur.services.accounts import AccountKeys
from recur.storage.repositories.promotion_codes import PromotionCodeRepository


def future(seconds: int = 3600) -> int:
    return int(time.time()) + seconds


def coupon_id(client: stripe.StripeClient, **params: object) -> str:
    return client.v1.coupons.create(params={"percent_off": 20, **params}).id  # type: ignore[arg-type]


def test_create_retrieve_update(client: stripe.StripeClient) -> None:
    coupon = coupon_id(client)
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    created = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": coupon},
            "code": "Spring25",
            "customer": customer.id,
            "max_redemptions": 5,
            "expires_at": future(),
            "restrictions": {
                "first_time_transaction": True,
                "minimum_amount": 1000,
                "minimum_amount_currency": "USD",
            },
            "metadata": {"channel": "newsletter"},
        }
    )
    assert created.id.startswith("promo_")
    assert created.object == "promotion_code"
    assert created.code == "Spring25"
    assert created.active is True
    assert created.customer == customer.id
    assert created.times_redeemed == 0
    assert created.promotion.type == "coupon"
    assert created.promotion.coupon == coupon
    wire = created.to_dict()
    assert wire["coupon"]["id"] == coupon and wire["coupon"]["object"] == "coupon"
    assert created.restrictions.first_time_transaction is True
    assert created.restrictions.minimum_amount == 1000
    assert created.restrictions.minimum_amount_currency == "usd"

    assert client.v1.promotion_codes.retrieve(created.id).to_dict() == wire

    updated = client.v1.promotion_codes.update(
        created.id, params={"active": False, "metadata": {"channel": "", "a": "b"}}
    )
    assert updated.active is False
    assert updated.metadata.to_dict() == {"a": "b"}


def test_legacy_top_level_coupon_is_accepted(client: stripe.StripeClient) -> None:
    coupon = coupon_id(client)
    code = client.v1.promotion_codes.create(params={"coupon": coupon})  # type: ignore[typeddict-item]
    assert code.promotion.coupon == coupon
    assert code.to_dict()["coupon"]["id"] == coupon
    # Generated codes: 8 upper-case letters and digits.
    assert len(code.code) == 8 and code.code.isalnum() and code.code.upper() == code.code


def test_expand_coupon_and_promotion_coupon(client: stripe.StripeClient) -> None:
    coupon = coupon_id(client)
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon}, "expand": ["coupon"]}
    )
    assert code.to_dict()["coupon"]["id"] == coupon
    expanded = client.v1.promotion_codes.retrieve(
        code.id, params={"expand": ["promotion.coupon", "customer"]}
    )
    assert expanded.to_dict()["promotion"]["coupon"]["id"] == coupon
    assert expanded.to_dict()["promotion"]["coupon"]["percent_off"] == 20
    listed = client.v1.promotion_codes.list(params={"expand": ["data.promotion.coupon"]})
    assert listed.data[0].to_dict()["promotion"]["coupon"]["object"] == "coupon"


def test_expand_customer(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"name": "Ada"})
    code = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": coupon_id(client)},
            "customer": customer.id,
            "expand": ["customer"],
        }
    )
    assert code.to_dict()["customer"]["name"] == "Ada"


def test_codes_are_unique_among_active_codes_regardless_of_case(
    client: stripe.StripeClient,
) -> None:
    coupon = coupon_id(client)
    first = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon}, "code": "SAVE10"}
    )
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.promotion_codes.create(
            params={"promotion": {"type": "coupon", "coupon": coupon}, "code": "save10"}
        )
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == "code"
    # Once the first is inactive, the text is free again...
    client.v1.promotion_codes.update(first.id, params={"active": False})
    second = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon}, "code": "save10"}
    )
    assert second.active is True
    # ... and the first cannot come back while the second holds it.
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.promotion_codes.update(first.id, params={"active": True})
    assert again.value.param == "active"


def test_a_dead_code_does_not_hold_its_text(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 10})
    client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "OLD"}
    )
    client.v1.coupons.delete(coupon.id)
    replacement = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon_id(client)}, "code": "OLD"}
    )
    assert replacement.active is True
    actives = client.v1.promotion_codes.list(params={"code": "old", "active": True}).data
    assert [c.id for c in actives] == [replacement.id]


def test_list_filters(client: stripe.StripeClient) -> None:
    c1, c2 = coupon_id(client), coupon_id(client)
    customer = client.v1.customers.create()
    a = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": c1}, "code": "AAA"}
    )
    b = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": c2},
            "code": "BBB",
            "customer": customer.id,
        }
    )
    c = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": c2}, "code": "CCC", "active": False}
    )

    def ids(**params: object) -> list[str]:
        return [p.id for p in client.v1.promotion_codes.list(params=params).data]  # type: ignore[arg-type]

    assert ids() == [c.id, b.id, a.id]
    assert ids(coupon=c2) == [c.id, b.id]
    assert ids(customer=customer.id) == [b.id]
    assert ids(code="bbb") == [b.id]
    assert ids(active=True) == [b.id, a.id]
    assert ids(active=False) == [c.id]
    assert ids(created={"gte": a.created}) == [c.id, b.id, a.id]
    assert ids(limit=1, starting_after=b.id) == [a.id]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({}, "promotion[coupon]"),
        ({"promotion": {"type": "coupon", "coupon": "nope"}}, "promotion[coupon]"),
        ({"coupon": "nope"}, "coupon"),
        ({"promotion": {"type": "gift"}}, "promotion[type]"),
        ({"code": "has space"}, "code"),
        ({"code": "x" * 501}, "code"),
        ({"customer": "cus_missing"}, "customer"),
        ({"expires_at": 1_000_000}, "expires_at"),
        ({"max_redemptions": 0}, "max_redemptions"),
        ({"restrictions": {"minimum_amount": 100}}, "restrictions[minimum_amount_currency]"),
        ({"restrictions": {"minimum_amount_currency": "usd"}}, "restrictions[minimum_amount]"),
        (
            {"restrictions": {"minimum_amount": 100, "minimum_amount_currency": "zzz"}},
            "restrictions[minimum_amount_currency]",
        ),
    ],
)
def test_invalid_create_names_the_param(
    client: stripe.StripeClient, params: dict[str, object], param: str
) -> None:
    coupon = coupon_id(client)
    if "promotion" not in params and "coupon" not in params and param != "promotion[coupon]":
        params = {"promotion": {"type": "coupon", "coupon": coupon}, **params}
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.promotion_codes.create(params=params)  # type: ignore[arg-type]
    assert excinfo.value.http_status in (400, 404)
    assert excinfo.value.param == param
    assert client.v1.promotion_codes.list().data == []


def test_expires_at_cannot_outlive_the_coupon(client: stripe.StripeClient) -> None:
    coupon = coupon_id(client, redeem_by=future(600))
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.promotion_codes.create(
            params={"promotion": {"type": "coupon", "coupon": coupon}, "expires_at": future(900)}
        )
    assert excinfo.value.param == "expires_at"


def test_deleted_coupon_cannot_get_new_codes(client: stripe.StripeClient) -> None:
    coupon = coupon_id(client)
    client.v1.coupons.delete(coupon)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon}})
    assert excinfo.value.http_status == 404
    assert excinfo.value.param == "promotion[coupon]"


def test_livemode_isolation(client: stripe.StripeClient, live_client: stripe.StripeClient) -> None:
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon_id(client)}, "code": "TWIN"}
    )
    assert live_client.v1.promotion_codes.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        live_client.v1.promotion_codes.retrieve(code.id)
    assert excinfo.value.http_status == 404
    # A test coupon is invisible in live mode; the code text is free there.
    with pytest.raises(stripe.InvalidRequestError):
        live_client.v1.promotion_codes.create(
            params={"promotion": {"type": "coupon", "coupon": code.promotion.coupon}}  # type: ignore[typeddict-item]
        )
    live_coupon = live_client.v1.coupons.create(params={"percent_off": 5})
    live_code = live_client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": live_coupon.id}, "code": "TWIN"}
    )
    assert live_code.livemode is True


# --- redemption (the service the billing engine calls) ------------------------------------


def test_redeem_counts_code_and_coupon(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    coupon = coupon_id(client)
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon}}
    )
    with container.uow_factory(Scope(account.account, False)) as uow:
        record = promotion_codes.redeem_promotion_code(
            uow, code.id, None, 5000, "usd", container.clock.now(), True
        )
    assert record["times_redeemed"] == 1
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1
    assert client.v1.coupons.retrieve(coupon).times_redeemed == 1


def _refusal(
    container: bootstrap.Container,
    account: AccountKeys,
    code_id: str,
    *,
    customer: str | None = None,
    amount: int = 5000,
    currency: str = "usd",
    first_time: bool = True,
    later: int = 0,
) -> str:
    now = container.clock.now() + timedelta(seconds=later)
    scope = Scope(account.account, False)
    with container.uow_factory(scope) as uow, pytest.raises(InvalidRequest) as excinfo:
        promotion_codes.redeem_promotion_code(
            uow, code_id, customer, amount, currency, now, first_time
        )
    assert excinfo.value.param == "promotion_code"
    return excinfo.value.message


def test_redeem_enforces_restrictions(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    alice = client.v1.customers.create().id
    bob = client.v1.customers.create().id

    def make(**params: object) -> str:
        return client.v1.promotion_codes.create(
            params={"promotion": {"type": "coupon", "coupon": coupon_id(client)}, **params}  # type: ignore[arg-type]
        ).id

    restricted = make(customer=alice)
    assert "restricted to another customer" in _refusal(
        container, account, restricted, customer=bob
    )

    first = make(restrictions={"first_time_transaction": True})
    message = _refusal(container, account, first, first_time=False)
    assert message == (
        "This promotion code cannot be redeemed because the associated customer has prior "
        "transactions."
    )

    minimum = make(restrictions={"minimum_amount": 2000, "minimum_amount_currency": "usd"})
    assert "below its minimum of 20.00 USD" in _refusal(container, account, minimum, amount=1999)
    assert "minimum amount is in USD" in _refusal(container, account, minimum, currency="eur")

    inactive = make(active=False)
    assert "inactive" in _refusal(container, account, inactive)

    expiring = make(expires_at=future(60))
    assert _refusal(container, account, expiring, later=120) == "This promotion code has expired."

    eur_coupon = client.v1.coupons.create(params={"amount_off": 500, "currency": "eur"}).id
    eur_code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": eur_coupon}}
    ).id
    assert "coupon takes an amount off in EUR" in _refusal(container, account, eur_code)

    # Refusals count nothing.
    for code_id in (restricted, first, minimum, inactive, expiring):
        assert client.v1.promotion_codes.retrieve(code_id).times_redeemed == 0

    with container.uow_factory(Scope(account.account, False)) as uow:
        with pytest.raises(NotFound) as missing:
            promotion_codes.redeem_promotion_code(
                uow, "promo_missing", None, 1, "usd", container.clock.now(), True
            )
        assert missing.value.param == "promotion_code"


def test_code_count_is_taken_back_when_the_coupon_refuses(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    coupon = coupon_id(client, max_redemptions=1)
    a = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon}}
    ).id
    b = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon}}
    ).id
    with container.uow_factory(Scope(account.account, False)) as uow:
        promotion_codes.redeem_promotion_code(uow, a, None, 100, "usd", container.clock.now(), True)
    assert "coupon is no longer valid" in _refusal(container, account, b)
    assert client.v1.promotion_codes.retrieve(b).times_redeemed == 0
    # A code whose coupon is used up is no longer active.
    assert client.v1.promotion_codes.retrieve(b).active is False


def test_concurrent_redemptions_never_exceed_the_code_limit(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    coupon = coupon_id(client)
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon}, "max_redemptions": 2}
    )
    scope = Scope(account.account, False)
    now = container.clock.now()
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def redeem() -> None:
        start.wait()
        try:
            with container.uow_factory(scope) as uow:
                promotion_codes.redeem_promotion_code(uow, code.id, None, 100, "usd", now, True)
            outcome = "ok"
        except InvalidRequest:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=redeem) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ok"] * 2 + ["refused"] * 4
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 2
    assert client.v1.coupons.retrieve(coupon).times_redeemed == 2


def test_the_database_refuses_two_active_codes_alike(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    # What the service checks first, the partial unique index guarantees under races: the
    # loser gets a retriable conflict (its retry sees the duplicate and answers 400).
    coupon = coupon_id(client)
    client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon}, "code": "RACE"}
    )
    row = {
        "created": 0,
        "code": "race",
        "code_key": "RACE",
        "coupon": coupon,
        "customer": None,
        "max_redemptions": None,
        "expires_at": None,
        "times_redeemed": 0,
        "first_time_transaction": False,
        "minimum_amount": None,
        "minimum_amount_currency": None,
        "metadata": {},
    }
    scope = Scope(account.account, False)
    with container.uow_factory(scope) as uow, pytest.raises(Conflict) as excinfo:
        uow.repository(PromotionCodeRepository).insert({**row, "id": "promo_dup1", "active": True})
    assert excinfo.value.retriable is True
    with container.uow_factory(scope) as uow:
        uow.repository(PromotionCodeRepository).insert({**row, "id": "promo_dup2", "active": False})
    assert client.v1.promotion_codes.retrieve("promo_dup2").active is False
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.promotion_codes.retrieve("promo_dup1")


def test_expand_promotion_coupon_applies_to(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"name": "Desk"})
    coupon = client.v1.coupons.create(
        params={"id": "DESKS", "percent_off": 15, "applies_to": {"products": [product.id]}}
    )
    code = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": coupon.id},
            "expand": ["promotion.coupon.applies_to"],
        }
    )
    assert code.to_dict()["promotion"]["coupon"]["applies_to"] == {"products": [product.id]}
