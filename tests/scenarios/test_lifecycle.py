"""A subscription's life on test clocks: trials, cancellation, incomplete, failures, catch-up."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import stripe

from recur import bootstrap
from recur.domain.clock import to_unix, utc
from recur.domain.tenancy import Scope
from recur.services.accounts import AccountKeys
from recur.services.advance import advance_subscription
from tests.support.billing import Shop, open_shop


def walk(shop: Shop, to: datetime, step: timedelta = timedelta(days=27)) -> None:
    """Move the clock to `to` in steps (a clock advances at most two intervals at once)."""
    now = shop.client.v1.test_helpers.test_clocks.retrieve(shop.clock_id).frozen_time
    current = datetime.fromtimestamp(now, tz=to.tzinfo)
    while current < to:
        current = min(current + step, to)
        shop.advance(current)


def lines(invoice: stripe.Invoice) -> list[tuple[int, int, int, bool]]:
    """Each line as (amount, period start, period end, proration)."""
    return [
        (line.amount, line.period.start, line.period.end, bool(line.proration))
        for line in invoice.lines.data
    ]


def subscribe(shop: Shop, amount: int = 2000, **params: object) -> stripe.Subscription:
    """A subscription of the shop's customer to a new monthly price."""
    body: dict[str, object] = {
        "customer": shop.customer_id,
        "items": [{"price": shop.price(amount)}],
    }
    body.update(params)
    return shop.client.v1.subscriptions.create(params=body)  # type: ignore[arg-type]


# --- trials ---------------------------------------------------------------------------


def test_trial_days_then_first_charge_after_the_finalization_delay(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    sub = subscribe(shop, trial_period_days=14)
    trial_end = to_unix(utc(2025, 1, 15))
    assert sub.status == "trialing"
    assert (sub.trial_start, sub.trial_end) == (to_unix(utc(2025, 1, 1)), trial_end)
    zero = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert zero.status == "paid" and zero.total == 0
    assert lines(zero) == [(0, to_unix(utc(2025, 1, 1)), trial_end, False)]
    # One long step over the notice and the trial end: the notice is sent exactly once.
    shop.advance(utc(2025, 1, 15, 0, 30))
    assert shop.events("customer.subscription.trial_will_end") == [
        "customer.subscription.trial_will_end"
    ]
    notice = client.v1.events.list(params={"type": "customer.subscription.trial_will_end"})
    assert notice.data[0].created == to_unix(utc(2025, 1, 12))
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active"
    draft = shop.invoices(sub.id)[1]
    assert draft.status == "draft" and draft.auto_advance is True
    assert draft.billing_reason == "subscription_cycle"
    assert lines(draft) == [(2000, trial_end, to_unix(utc(2025, 2, 15)), False)]
    shop.advance(utc(2025, 1, 15, 1))
    charged = shop.invoices(sub.id)[1]
    assert charged.status == "paid" and charged.amount_paid == 2000
    assert charged.status_transitions.finalized_at == to_unix(utc(2025, 1, 15, 1))
    walk(shop, utc(2025, 2, 15, 2))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [0, 2000, 2000]
    assert shop.events("customer.subscription.trial_will_end") == [
        "customer.subscription.trial_will_end"
    ]


def test_trial_end_timestamp_and_trial_from_plan(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    sub = subscribe(shop, trial_end=to_unix(utc(2025, 1, 11)))
    assert sub.trial_end == to_unix(utc(2025, 1, 11))
    assert sub.items.data[0].current_period_end == to_unix(utc(2025, 1, 11))
    product = client.v1.products.create(params={"name": "Plan"})
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 900,
            "recurring": {"interval": "month", "trial_period_days": 7},
        }
    )
    planned = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": price.id}],
            "trial_from_plan": True,
        }
    )
    assert planned.status == "trialing" and planned.trial_end == to_unix(utc(2025, 1, 8))
    walk(shop, utc(2025, 1, 11, 2))
    first = shop.invoices(sub.id)
    assert [i.amount_paid for i in first] == [0, 2000]
    assert lines(first[1]) == [(2000, to_unix(utc(2025, 1, 11)), to_unix(utc(2025, 2, 11)), False)]
    second = shop.invoices(planned.id)
    assert [i.amount_paid for i in second] == [0, 900]


def test_trial_shorter_than_the_notice_gets_no_notice(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    subscribe(shop, trial_period_days=2)
    walk(shop, utc(2025, 1, 4))
    assert shop.events("customer.subscription.trial_will_end") == []


@pytest.mark.parametrize(
    ("behavior", "status"),
    [("create_invoice", "past_due"), ("pause", "paused"), ("cancel", "canceled")],
)
def test_trial_end_without_payment_method(
    client: stripe.StripeClient, behavior: str, status: str
) -> None:
    shop = open_shop(client, utc(2025, 1, 1), payment_method=None)
    sub = subscribe(
        shop,
        trial_period_days=7,
        trial_settings={"end_behavior": {"missing_payment_method": behavior}},
    )
    assert sub.status == "trialing"
    walk(shop, utc(2025, 1, 8, 2))
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == status
    invoices = shop.invoices(sub.id)
    if behavior == "create_invoice":
        assert [i.status for i in invoices] == ["paid", "open"]
        assert invoices[1].amount_remaining == 2000
        assert "invoice.payment_failed" in shop.events("invoice.")
    else:
        assert [i.status for i in invoices] == ["paid"]  # only the trial's 0 invoice
    if behavior == "pause":
        assert "customer.subscription.paused" in shop.events("customer.subscription.")
        walk(shop, utc(2025, 3, 8, 2))
        assert len(shop.invoices(sub.id)) == 1  # paused: no periods, no invoices
    if behavior == "cancel":
        assert sub.ended_at == to_unix(utc(2025, 1, 8))
        assert shop.events("customer.subscription.deleted") == ["customer.subscription.deleted"]


def test_trial_end_now_ends_the_trial_and_restarts_the_cycle(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    sub = subscribe(shop, trial_period_days=30)
    shop.advance(utc(2025, 1, 10))
    sub = client.v1.subscriptions.update(sub.id, params={"trial_end": "now"})
    now = to_unix(utc(2025, 1, 10))
    assert sub.status == "active"
    assert sub.trial_end == now
    assert sub.billing_cycle_anchor == now
    assert sub.items.data[0].current_period_start == now
    assert sub.items.data[0].current_period_end == to_unix(utc(2025, 2, 10))
    invoices = shop.invoices(sub.id)
    assert [i.amount_due for i in invoices] == [0, 2000]
    assert lines(invoices[1]) == [(2000, now, to_unix(utc(2025, 2, 10)), False)]
    walk(shop, utc(2025, 3, 10, 2))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [0, 2000, 2000, 2000]
    assert [i.period_start for i in invoices[2:]] == [
        to_unix(utc(2025, 2, 10)),
        to_unix(utc(2025, 3, 10)),
    ]
    # The trial's notice was never due: the trial ended before it.
    assert shop.events("customer.subscription.trial_will_end") == []


# --- cancellation -----------------------------------------------------------------------


def test_cancel_at_period_end_is_reversible_then_ends_the_subscription(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    shop.advance(utc(2025, 4, 10))
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    end = to_unix(utc(2025, 5, 1))
    assert sub.status == "active" and sub.cancel_at_period_end is True
    assert sub.cancel_at == end and sub.canceled_at == to_unix(utc(2025, 4, 10))
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": False})
    assert (sub.cancel_at_period_end, sub.cancel_at, sub.canceled_at) == (False, None, None)
    shop.advance(utc(2025, 4, 20))
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert sub.canceled_at == to_unix(utc(2025, 4, 20))
    walk(shop, utc(2025, 6, 2))
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.ended_at == end
    assert sub.cancellation_details.reason == "cancellation_requested"
    assert [i.billing_reason for i in shop.invoices(sub.id)] == ["subscription_create"]
    assert shop.events("customer.subscription.deleted") == ["customer.subscription.deleted"]


def test_cancel_now_with_prorate_and_invoice_now_credits_the_customer(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    shop.advance(utc(2025, 4, 16))  # half of April's 30 days are unused
    canceled = client.v1.subscriptions.cancel(
        sub.id,
        params={
            "prorate": True,
            "invoice_now": True,
            "cancellation_details": {"comment": "moving", "feedback": "unused"},
        },
    )
    assert canceled.status == "canceled"
    assert canceled.ended_at == to_unix(utc(2025, 4, 16))
    assert canceled.cancellation_details.comment == "moving"
    assert canceled.cancellation_details.feedback == "unused"
    invoices = shop.invoices(sub.id)
    assert len(invoices) == 2
    final = invoices[1]
    assert final.total == -1000 and final.amount_due == 0 and final.status == "paid"
    assert final.ending_balance == -1000
    assert lines(final) == [(-1000, to_unix(utc(2025, 4, 16)), to_unix(utc(2025, 5, 1)), True)]
    assert client.v1.customers.retrieve(shop.customer_id).balance == -1000
    walk(shop, utc(2025, 6, 2))
    assert len(shop.invoices(sub.id)) == 2
    assert shop.events("customer.subscription.deleted") == ["customer.subscription.deleted"]


def test_cancel_now_without_options_bills_nothing_more(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    shop.advance(utc(2025, 4, 16))
    client.v1.subscriptions.cancel(sub.id)
    assert len(shop.invoices(sub.id)) == 1
    assert client.v1.customers.retrieve(shop.customer_id).balance == 0
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.cancel(sub.id)


def test_cancel_at_a_date_prorates_the_last_partial_period(client: stripe.StripeClient) -> None:
    # Dokos' fixed end date: the member leaves at the end of May 15; the May invoice
    # bills May 1 → May 16 (15 of 31 days), then the subscription ends.
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop, 3100)
    cancel_at = to_unix(utc(2025, 5, 16))
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at": cancel_at})
    assert sub.cancel_at == cancel_at and sub.cancel_at_period_end is False
    walk(shop, utc(2025, 6, 2))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [3100, 1500]
    assert lines(invoices[1]) == [(1500, to_unix(utc(2025, 5, 1)), cancel_at, True)]
    assert invoices[1].period_end == cancel_at
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.ended_at == cancel_at
    assert shop.events("customer.subscription.deleted") == ["customer.subscription.deleted"]


def test_cancel_at_in_the_past_is_refused(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.update(sub.id, params={"cancel_at": to_unix(utc(2025, 3, 1))})
    assert raised.value.param == "cancel_at"


# --- incomplete -------------------------------------------------------------------------


def test_incomplete_expires_after_23_hours(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1), payment_method="pm_card_chargeCustomerFail")
    sub = subscribe(shop)
    assert sub.status == "incomplete"
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert first.status == "open" and first.attempt_count == 1
    shop.advance(utc(2025, 4, 1, 22, 59))
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"
    shop.advance(utc(2025, 4, 1, 23))
    expired = client.v1.subscriptions.retrieve(sub.id)
    assert expired.status == "incomplete_expired"
    assert expired.ended_at == to_unix(utc(2025, 4, 1, 23))
    assert client.v1.invoices.retrieve(first.id).status == "void"
    walk(shop, utc(2025, 6, 2))
    assert len(shop.invoices(sub.id)) == 1


def test_incomplete_paid_later_with_a_new_card_becomes_active(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 1), payment_method="pm_card_chargeCustomerFail")
    sub = subscribe(shop)
    shop.advance(utc(2025, 4, 1, 5))
    card = client.v1.payment_methods.attach("pm_card_visa", params={"customer": shop.customer_id})
    paid = client.v1.invoices.pay(
        sub.latest_invoice,
        params={"payment_method": card.id},  # type: ignore[arg-type]
    )
    assert paid.status == "paid" and paid.amount_paid == 2000
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active"
    shop.advance(utc(2025, 4, 2))
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_error_if_incomplete_creates_nothing(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1), payment_method="pm_card_chargeCustomerFail")
    price = shop.price(2000)  # the catalog's own events come before
    before = shop.events()
    with pytest.raises(stripe.CardError) as raised:
        client.v1.subscriptions.create(
            params={
                "customer": shop.customer_id,
                "items": [{"price": price}],
                "payment_behavior": "error_if_incomplete",
            }
        )
    assert raised.value.http_status == 402
    assert client.v1.subscriptions.list(params={"customer": shop.customer_id}).data == []
    assert client.v1.invoices.list(params={"customer": shop.customer_id}).data == []
    assert shop.events() == before


def test_default_incomplete_leaves_the_first_invoice_open(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop, payment_behavior="default_incomplete")
    assert sub.status == "incomplete"
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert first.status == "open" and first.attempt_count == 0
    client.v1.invoices.pay(first.id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


# --- renewal failure, send_invoice --------------------------------------------------------


def test_failed_renewal_makes_the_subscription_past_due_until_paid(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": shop.customer_id}
    )
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": failing.id})
    walk(shop, utc(2025, 5, 1, 2))
    renewal = shop.invoices(sub.id)[1]
    assert renewal.status == "open" and renewal.amount_remaining == 2000
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    assert shop.events("invoice.payment_failed") == ["invoice.payment_failed"]
    card = client.v1.payment_methods.attach("pm_card_visa", params={"customer": shop.customer_id})
    client.v1.invoices.pay(renewal.id, params={"payment_method": card.id})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_send_invoice_is_due_then_past_due(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1), payment_method=None)
    sub = subscribe(shop, collection_method="send_invoice", days_until_due=10)
    assert sub.status == "active" and sub.days_until_due == 10
    first = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert first.status == "open" and first.due_date == to_unix(utc(2025, 4, 11))
    assert first.collection_method == "send_invoice"
    shop.advance(utc(2025, 4, 10, 23))
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    shop.advance(utc(2025, 4, 11, 1))
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    client.v1.invoices.pay(first.id, params={"paid_out_of_band": True})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


# --- pause ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behavior", "status"),
    [("keep_as_draft", "draft"), ("mark_uncollectible", "uncollectible"), ("void", "void")],
)
def test_pause_collection(client: stripe.StripeClient, behavior: str, status: str) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    resumes = to_unix(utc(2025, 5, 15))
    sub = client.v1.subscriptions.update(
        sub.id, params={"pause_collection": {"behavior": behavior, "resumes_at": resumes}}
    )
    assert sub.status == "active"
    assert sub.pause_collection is not None and sub.pause_collection.behavior == behavior
    walk(shop, utc(2025, 6, 1, 2))
    invoices = shop.invoices(sub.id)
    assert [i.status for i in invoices] == ["paid", status, "paid"]
    if behavior == "keep_as_draft":
        assert invoices[1].auto_advance is False
    assert invoices[1].amount_paid == 0
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.pause_collection is None and sub.status == "active"


def test_pause_and_resume_skip_the_missed_periods(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    shop.advance(utc(2025, 4, 10))
    paused = client.v1.subscriptions.pause(sub.id)
    assert paused.status == "paused"
    walk(shop, utc(2025, 6, 10))
    assert len(shop.invoices(sub.id)) == 1
    resumed = client.v1.subscriptions.resume(sub.id, params={"billing_cycle_anchor": "unchanged"})
    assert resumed.status == "active"
    assert resumed.items.data[0].current_period_start == to_unix(utc(2025, 6, 1))
    walk(shop, utc(2025, 7, 1, 2))
    invoices = shop.invoices(sub.id)
    assert [i.period_start for i in invoices] == [
        to_unix(utc(2025, 4, 1)),
        to_unix(utc(2025, 7, 1)),
    ]
    assert shop.events("customer.subscription.resumed") == ["customer.subscription.resumed"]


def test_resume_now_restarts_the_cycle(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    client.v1.subscriptions.pause(sub.id)
    walk(shop, utc(2025, 5, 20))
    resumed = client.v1.subscriptions.resume(sub.id, params={"billing_cycle_anchor": "now"})
    assert resumed.billing_cycle_anchor == to_unix(utc(2025, 5, 20))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [2000, 2000]
    assert lines(invoices[1]) == [
        (2000, to_unix(utc(2025, 5, 20)), to_unix(utc(2025, 6, 20)), False)
    ]


# --- catch-up -------------------------------------------------------------------------------


def _history(shop: Shop, subscription_id: str) -> list[tuple[object, ...]]:
    return [
        (
            i.number.rsplit("-", 1)[1] if i.number else None,  # prefixes differ per customer
            i.status,
            i.amount_paid,
            i.period_start,
            i.period_end,
            tuple(lines(i)),
        )
        for i in shop.invoices(subscription_id)
    ]


@pytest.mark.parametrize("start", [utc(2025, 1, 31, 10), utc(2024, 11, 30, 23)])
def test_one_long_step_equals_many_small_ones(client: stripe.StripeClient, start: datetime) -> None:
    end = start + timedelta(days=59)
    histories = []
    for step in (timedelta(days=59), timedelta(days=1), timedelta(hours=7)):
        shop = open_shop(client, start)
        sub = subscribe(shop, 3100, trial_period_days=3)
        walk(shop, end, step)
        histories.append(_history(shop, sub.id))
    assert histories[0] == histories[1] == histories[2]
    assert len(histories[0]) == 3


def test_three_months_in_one_step_equal_day_by_day(
    client: stripe.StripeClient, container: bootstrap.Container, account: AccountKeys
) -> None:
    # A worker down for three months: one call of the one code path through time catches
    # up (a test clock may move at most two intervals at once, so this calls the engine as
    # the worker does, at the target time) — compared with a clock advanced day by day.
    start, end = utc(2025, 1, 31, 10), utc(2025, 5, 1, 12)
    caught_up = open_shop(client, start)
    late = subscribe(caught_up, 3100, default_tax_rates=[_vat(client)])
    with container.uow_factory(Scope(account.account, False)) as uow:
        done = advance_subscription(uow, late.id, end)
    assert done == 6  # three renewals, three finalizations
    daily = open_shop(client, start)
    sub = subscribe(daily, 3100, default_tax_rates=[_vat(client)])
    walk(daily, end, timedelta(days=1))
    assert _history(caught_up, late.id) == _history(daily, sub.id)
    assert [i.period_end for i in caught_up.invoices(late.id)] == [
        to_unix(utc(2025, 2, 28, 10)),
        to_unix(utc(2025, 3, 31, 10)),
        to_unix(utc(2025, 4, 30, 10)),
        to_unix(utc(2025, 5, 31, 10)),
    ]
    assert all(i.total == 3720 for i in caught_up.invoices(late.id))  # 3100 + 20 % VAT


def _vat(client: stripe.StripeClient) -> str:
    return client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 20, "inclusive": False}
    ).id


# --- invoice timing (Recur extension) ------------------------------------------------------


def test_invoice_timing_end_bills_each_period_in_arrears(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop, 3000, invoice_timing="end")
    assert sub.status == "active" and sub.latest_invoice is None
    assert sub.to_dict()["invoice_timing"] == "end"
    assert shop.invoices(sub.id) == []
    walk(shop, utc(2025, 6, 1, 2))
    invoices = shop.invoices(sub.id)
    assert [i.billing_reason for i in invoices] == ["subscription_cycle"] * 2
    assert [i.amount_paid for i in invoices] == [3000, 3000]
    assert lines(invoices[0]) == [(3000, to_unix(utc(2025, 4, 1)), to_unix(utc(2025, 5, 1)), False)]
    assert lines(invoices[1]) == [(3000, to_unix(utc(2025, 5, 1)), to_unix(utc(2025, 6, 1)), False)]
    assert invoices[0].created == to_unix(utc(2025, 5, 1))
    # Leaving mid-June: the half month used is billed at once, then nothing more.
    client.v1.subscriptions.update(sub.id, params={"cancel_at": to_unix(utc(2025, 6, 16))})
    walk(shop, utc(2025, 8, 1))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [3000, 3000, 1500]
    assert lines(invoices[2]) == [(1500, to_unix(utc(2025, 6, 1)), to_unix(utc(2025, 6, 16)), True)]
    assert invoices[2].status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_invoice_timing_end_cancel_now_bills_the_time_used(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop, 3000, invoice_timing="end")
    shop.advance(utc(2025, 4, 11))
    client.v1.subscriptions.cancel(sub.id, params={"prorate": True})
    invoices = shop.invoices(sub.id)
    assert [(i.status, i.amount_paid) for i in invoices] == [("paid", 1000)]
    assert lines(invoices[0]) == [(1000, to_unix(utc(2025, 4, 1)), to_unix(utc(2025, 4, 11)), True)]


def test_invoice_timing_before_invoices_the_next_period_early(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop, 3000, invoice_timing="before", invoice_days_before=5)
    assert sub.to_dict()["invoice_days_before"] == 5
    walk(shop, utc(2025, 4, 25, 23))
    assert len(shop.invoices(sub.id)) == 1
    shop.advance(utc(2025, 4, 26, 0, 30))
    ahead = shop.invoices(sub.id)[1]
    assert ahead.status == "draft" and ahead.created == to_unix(utc(2025, 4, 26))
    assert lines(ahead) == [(3000, to_unix(utc(2025, 5, 1)), to_unix(utc(2025, 6, 1)), False)]
    walk(shop, utc(2025, 5, 27, 2))
    invoices = shop.invoices(sub.id)
    assert [i.amount_paid for i in invoices] == [3000, 3000, 3000]
    assert [i.period_start for i in invoices] == [
        to_unix(utc(2025, 4, 1)),
        to_unix(utc(2025, 5, 1)),
        to_unix(utc(2025, 6, 1)),
    ]
    assert invoices[2].created == to_unix(utc(2025, 5, 27))
    current = client.v1.subscriptions.retrieve(sub.id)
    assert current.items.data[0].current_period_start == to_unix(utc(2025, 5, 1))


@pytest.mark.parametrize(
    "params",
    [
        {"invoice_timing": "before"},
        {"invoice_timing": "before", "invoice_days_before": 28},
        {"invoice_timing": "end", "invoice_days_before": 3},
        {"invoice_days_before": 3},
    ],
)
def test_invoice_timing_errors_name_the_parameter(
    client: stripe.StripeClient, params: dict[str, object]
) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    with pytest.raises(stripe.InvalidRequestError) as raised:
        subscribe(shop, **params)
    assert raised.value.param == "invoice_days_before"
    assert client.v1.subscriptions.list(params={"customer": shop.customer_id}).data == []


# --- discounts and taxes ---------------------------------------------------------------------


def _coupon(client: stripe.StripeClient, **params: Any) -> str:
    return client.v1.coupons.create(params=params).id  # type: ignore[arg-type]


def test_coupon_durations_are_measured_from_when_the_discount_started(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    once = subscribe(shop, discounts=[{"coupon": _coupon(client, percent_off=10)}])
    repeating = subscribe(
        shop,
        trial_period_days=14,
        discounts=[
            {"coupon": _coupon(client, percent_off=25, duration="repeating", duration_in_months=3)}
        ],
    )
    forever = subscribe(
        shop,
        discounts=[{"coupon": _coupon(client, amount_off=500, currency="eur", duration="forever")}],
    )
    assert len(once.discounts) == 1 and once.discounts[0].startswith("di_")
    walk(shop, utc(2025, 5, 15, 2))
    assert [i.total for i in shop.invoices(once.id)] == [1800, 2000, 2000, 2000, 2000]
    # Started Jan 1 for three months: the Jan 15, Feb 15 and Mar 15 invoices (and the
    # trial's 0 invoice) are discounted; Apr 15 is past the end (Apr 1).
    assert [i.total for i in shop.invoices(repeating.id)] == [0, 1500, 1500, 1500, 2000, 2000]
    assert [i.total for i in shop.invoices(forever.id)] == [1500] * 5
    discounted = shop.invoices(repeating.id)[1]
    assert discounted.subtotal == 2000
    assert [d.amount for d in discounted.total_discount_amounts] == [500]  # type: ignore[union-attr]


def test_promotion_code_redemption_limit(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    coupon = _coupon(client, percent_off=50, duration="forever")
    code = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": coupon},
            "code": "HALF",
            "max_redemptions": 1,
        }
    )
    first = subscribe(shop, discounts=[{"promotion_code": code.id}])
    assert client.v1.invoices.retrieve(first.latest_invoice).total == 1000  # type: ignore[arg-type]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        subscribe(shop, discounts=[{"promotion_code": code.id}])
    assert raised.value.param is not None and "promotion_code" in raised.value.param
    assert len(client.v1.subscriptions.list(params={"customer": shop.customer_id}).data) == 1


def test_coupon_applies_to_its_products_only(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    desk_product = client.v1.products.create(params={"name": "Desk"})
    desk = client.v1.prices.create(
        params={
            "product": desk_product.id,
            "currency": "eur",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
        }
    )
    locker = shop.price(1000, name="Locker")
    coupon = _coupon(
        client, percent_off=50, duration="forever", applies_to={"products": [desk_product.id]}
    )
    sub = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": desk.id}, {"price": locker}],
            "discounts": [{"coupon": coupon}],
        }
    )
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)  # type: ignore[arg-type]
    assert invoice.subtotal == 3000 and invoice.total == 2000
    by_price = {
        line.pricing.price_details.price: [d.amount for d in line.discount_amounts]  # type: ignore[union-attr]
        for line in invoice.lines.data
    }
    assert by_price == {desk.id: [1000], locker: []}


def test_taxes_exclusive_inclusive_and_rounded_per_line(client: stripe.StripeClient) -> None:
    shop = open_shop(client, utc(2025, 1, 1))
    vat = client.v1.tax_rates.create(
        params={"display_name": "VAT", "percentage": 20, "inclusive": False}
    ).id
    included = client.v1.tax_rates.create(
        params={"display_name": "TVA", "percentage": 20, "inclusive": True}
    ).id
    small = client.v1.tax_rates.create(
        params={"display_name": "Sales tax", "percentage": 7.5, "inclusive": False}
    ).id
    exclusive = subscribe(shop, 2000, default_tax_rates=[vat])
    invoice = client.v1.invoices.retrieve(exclusive.latest_invoice)  # type: ignore[arg-type]
    assert (invoice.subtotal, invoice.total) == (2000, 2400)
    assert [t.amount for t in invoice.total_taxes] == [400]  # type: ignore[union-attr]
    inclusive = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": shop.price(1999), "tax_rates": [included]}],
            "default_tax_rates": [vat],  # the item's own rates win
        }
    )
    invoice = client.v1.invoices.retrieve(inclusive.latest_invoice)  # type: ignore[arg-type]
    # 1999 - 1999 / 1.2 = 333.17 → 333, inside the price.
    assert (invoice.total, invoice.total_excluding_tax) == (1999, 1666)
    assert [t.amount for t in invoice.total_taxes] == [333]  # type: ignore[union-attr]
    per_line = client.v1.subscriptions.create(
        params={
            "customer": shop.customer_id,
            "items": [{"price": shop.price(1005)}, {"price": shop.price(1005, name="Locker")}],
            "default_tax_rates": [small],
        }
    )
    invoice = client.v1.invoices.retrieve(per_line.latest_invoice)  # type: ignore[arg-type]
    # 75.375 rounds to 75 on each line: 150, not round(150.75) = 151.
    assert [line.taxes[0].amount for line in invoice.lines.data] == [75, 75]  # type: ignore[index]
    assert invoice.total == 2010 + 150
    walk(shop, utc(2025, 2, 1, 2))
    renewal = shop.invoices(per_line.id)[1]
    assert renewal.total == 2160 and renewal.status == "paid"


def test_cancel_at_inside_the_paid_period_credits_the_time_after_it(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    shop.advance(utc(2025, 4, 10))
    # Moved once: the credit follows the date (only one credit, for the last date).
    client.v1.subscriptions.update(sub.id, params={"cancel_at": to_unix(utc(2025, 4, 20))})
    client.v1.subscriptions.update(sub.id, params={"cancel_at": to_unix(utc(2025, 4, 16))})
    walk(shop, utc(2025, 5, 10))
    invoices = shop.invoices(sub.id)
    assert [i.billing_reason for i in invoices] == ["subscription_create", "subscription_update"]
    final = invoices[1]
    assert final.created == to_unix(utc(2025, 4, 16))
    assert final.total == -1000 and final.amount_due == 0 and final.ending_balance == -1000
    assert lines(final) == [(-1000, to_unix(utc(2025, 4, 16)), to_unix(utc(2025, 5, 1)), True)]
    assert client.v1.customers.retrieve(shop.customer_id).balance == -1000
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


@pytest.mark.parametrize("how", ["cleared", "none"])
def test_cancel_at_without_credit(client: stripe.StripeClient, how: str) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    shop.advance(utc(2025, 4, 10))
    cancel_at = to_unix(utc(2025, 4, 16))
    if how == "cleared":
        client.v1.subscriptions.update(sub.id, params={"cancel_at": cancel_at})
        client.v1.subscriptions.update(sub.id, params={"cancel_at": ""})
    else:
        client.v1.subscriptions.update(
            sub.id, params={"cancel_at": cancel_at, "proration_behavior": "none"}
        )
    walk(shop, utc(2025, 5, 1, 2))
    invoices = shop.invoices(sub.id)
    expected = [2000, 2000] if how == "cleared" else [2000]
    assert [i.total for i in invoices] == expected
    assert client.v1.customers.retrieve(shop.customer_id).balance == 0


def test_a_renewal_draft_left_by_a_cancellation_is_still_finalized(
    client: stripe.StripeClient,
) -> None:
    shop = open_shop(client, utc(2025, 4, 1))
    sub = subscribe(shop)
    walk(shop, utc(2025, 5, 1, 0, 10))
    assert shop.invoices(sub.id)[1].status == "draft"
    client.v1.subscriptions.cancel(sub.id)
    shop.advance(utc(2025, 5, 1, 2))
    renewal = shop.invoices(sub.id)[1]
    assert renewal.status == "paid" and renewal.amount_paid == 2000
