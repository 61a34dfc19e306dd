"""Card fingerprints: stable per account, different across accounts and secrets."""

from __future__ import annotations

import re

from recur.services.payment_methods import CardInput, card_fingerprint


def test_fingerprint_is_stable_per_account_and_keyed() -> None:
    first = card_fingerprint("secret", "acct_1", "4242424242424242")
    assert re.fullmatch(r"[0-9A-Za-z]{16}", first)
    assert card_fingerprint("secret", "acct_1", "4242424242424242") == first
    assert card_fingerprint("secret", "acct_2", "4242424242424242") != first
    assert card_fingerprint("other", "acct_1", "4242424242424242") != first
    assert card_fingerprint("secret", "acct_1", "5555555555554444") != first


def test_card_input_repr_hides_the_number() -> None:
    card = CardInput(number="4242424242424242", exp_month="12", exp_year="2040", cvc="123")
    assert "4242" not in repr(card)
    assert "123" not in repr(card)
