"""The test card table: numbers and tokens to card facts and behaviours."""

from __future__ import annotations

import pytest

from recur.gateways import test_cards
from recur.gateways.test_cards import (
    AUTHENTICATION_REQUIRED,
    AUTHENTICATION_REQUIRED_UNLESS_SETUP,
    CUSTOMER_FAIL,
    SUCCEED,
    CardSpec,
)


@pytest.mark.parametrize(
    ("number", "token", "behavior"),
    [
        ("4242424242424242", "visa", SUCCEED),
        ("4000000000000002", "chargeDeclined", "decline:generic_decline"),
        ("4000000000009995", "chargeDeclinedInsufficientFunds", "decline:insufficient_funds"),
        ("4000000000009987", "chargeDeclinedLostCard", "decline:lost_card"),
        ("4000000000009979", "chargeDeclinedStolenCard", "decline:stolen_card"),
        ("4000000000000069", "chargeDeclinedExpiredCard", "decline:expired_card"),
        ("4000000000000119", "chargeDeclinedProcessingError", "decline:processing_error"),
        ("4000000000000341", "chargeCustomerFail", CUSTOMER_FAIL),
        ("4000002760003184", "authenticationRequired", AUTHENTICATION_REQUIRED),
        ("4000002500003155", "authenticationRequiredOnSetup", AUTHENTICATION_REQUIRED_UNLESS_SETUP),
    ],
)
def test_documented_cards_numbers_and_tokens_agree(number: str, token: str, behavior: str) -> None:
    by_number = test_cards.spec_for_number(number)
    assert by_number.behavior == behavior
    assert by_number.last4 == number[-4:]
    for prefix in ("pm_card_", "tok_"):
        card = test_cards.card_for_token(prefix + token)
        assert card is not None and card.number == number
        assert card.spec() == by_number


def test_brands_and_facts_of_well_known_cards() -> None:
    assert test_cards.spec_for_number("4242424242424242") == CardSpec(
        "visa", "4242", "credit", "US", SUCCEED
    )
    assert test_cards.spec_for_number("5555555555554444").brand == "mastercard"
    assert test_cards.spec_for_number("378282246310005") == CardSpec(
        "amex", "0005", "credit", "US", SUCCEED
    )
    assert test_cards.spec_for_number("4000056655665556").funding == "debit"
    assert test_cards.spec_for_number("4000002760003184").country == "DE"


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "visa"),
        ("5425233430109903", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("371449635398431", "amex"),
        ("6011000990139424", "discover"),
        ("6500000000000002", "discover"),
        ("3566111111111113", "jcb"),
        ("30569309025904", "diners"),
        ("36227206271667", "diners"),
        ("6205500000000000004", "unionpay"),
        ("9000000000000000001", "unknown"),
    ],
)
def test_other_valid_numbers_succeed_with_brand_by_iin(number: str, brand: str) -> None:
    assert test_cards.normalize_number(number) == number
    spec = test_cards.spec_for_number(number)
    assert spec.brand == brand
    assert spec.behavior == SUCCEED
    assert spec.last4 == number[-4:]
    assert spec.country is None


def test_normalize_number_accepts_spaces_and_dashes_and_refuses_bad_checksums() -> None:
    assert test_cards.normalize_number("4242 4242 4242 4242") == "4242424242424242"
    assert test_cards.normalize_number("4242-4242-4242-4242") == "4242424242424242"
    assert test_cards.normalize_number("4242424242424241") is None
    assert test_cards.normalize_number("42424242") is None
    assert test_cards.normalize_number("4242x24242424242") is None
    assert test_cards.normalize_number("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢") is None
    assert test_cards.normalize_number("") is None


def test_unknown_tokens() -> None:
    assert test_cards.card_for_token("pm_card_nope") is None
    assert test_cards.card_for_token("tok_nope") is None
    assert test_cards.card_for_token("pm_1234") is None
    assert test_cards.is_payment_method_token("pm_card_visa")
    assert not test_cards.is_payment_method_token("tok_visa")
    assert not test_cards.is_payment_method_token("pm_card_nope")


def test_declines_and_hard_declines() -> None:
    assert test_cards.decline_code_of("decline:lost_card") == "lost_card"
    assert test_cards.decline_code_of(SUCCEED) is None
    assert test_cards.decline_code_of(CUSTOMER_FAIL) is None
    for code in ("lost_card", "stolen_card", "fraudulent", "pickup_card", "restricted_card"):
        assert test_cards.is_hard_decline(code)
    for code in ("generic_decline", "insufficient_funds", "expired_card", "processing_error"):
        assert not test_cards.is_hard_decline(code)


def test_decline_errors_use_stripes_codes_and_messages() -> None:
    insufficient = test_cards.decline_error("insufficient_funds")
    assert (insufficient.code, insufficient.decline_code) == ("card_declined", "insufficient_funds")
    assert insufficient.message == "Your card has insufficient funds."
    assert test_cards.decline_error("expired_card").code == "expired_card"
    assert test_cards.decline_error("processing_error").code == "processing_error"
    assert test_cards.decline_error("something_new").code == "card_declined"


def test_only_decline_cards_fail_on_attach() -> None:
    assert test_cards.attach_decline(SUCCEED) is None
    assert test_cards.attach_decline(CUSTOMER_FAIL) is None
    assert test_cards.attach_decline(AUTHENTICATION_REQUIRED) is None
    failure = test_cards.attach_decline("decline:stolen_card")
    assert failure is not None and failure.decline_code == "stolen_card"


def test_display_brand() -> None:
    assert test_cards.display_brand("visa") == "visa"
    assert test_cards.display_brand("amex") == "american_express"
    assert test_cards.display_brand("unknown") == "other"
