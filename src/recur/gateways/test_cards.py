"""Stripe's test cards: what each test number or token stands for and how it behaves.

Pure data and functions, no I/O. A card number is looked up here once, when a payment
method is created, and only the resulting `CardSpec` (brand, last4, funding, country,
behaviour) is kept. The simulated gateway reads `behavior` to decide each charge.

Behaviours (plain strings, stored as such):
- `succeed`: every charge succeeds.
- `decline:<decline_code>`: declined (also when attached to a customer: Stripe checks
  the card on attach), e.g. `decline:insufficient_funds`.
- `customer_fail`: attaches fine, every charge declines (`card_declined`).
- `authentication_required`: every payment needs authentication (`requires_action`).
- `authentication_required_unless_setup`: needs authentication unless the card was set
  up for off-session use.
- `dispute:<reason>`: every charge succeeds, then the cardholder disputes it
  (`dispute:fraudulent`, Stripe's 4000000000000259 / `pm_card_createDispute`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SUCCEED: Final = "succeed"
CUSTOMER_FAIL: Final = "customer_fail"
AUTHENTICATION_REQUIRED: Final = "authentication_required"
AUTHENTICATION_REQUIRED_UNLESS_SETUP: Final = "authentication_required_unless_setup"
DECLINE_PREFIX: Final = "decline:"
DISPUTE_PREFIX: Final = "dispute:"

# Declines that retrying the same card cannot cure (Stripe: "do not retry" codes).
HARD_DECLINE_CODES: Final = frozenset(
    {"lost_card", "stolen_card", "fraudulent", "pickup_card", "restricted_card"}
)


def decline(decline_code: str) -> str:
    """The behaviour of a card declined with `decline_code`."""
    return DECLINE_PREFIX + decline_code


def decline_code_of(behavior: str) -> str | None:
    """The decline code of a `decline:*` behaviour, None for the others."""
    if behavior.startswith(DECLINE_PREFIX):
        return behavior[len(DECLINE_PREFIX) :]
    return None


def dispute(reason: str) -> str:
    """The behaviour of a card whose charges succeed and are then disputed for `reason`."""
    return DISPUTE_PREFIX + reason


def dispute_reason_of(behavior: str) -> str | None:
    """The dispute reason of a `dispute:*` behaviour, None for the others."""
    if behavior.startswith(DISPUTE_PREFIX):
        return behavior[len(DISPUTE_PREFIX) :]
    return None


def is_hard_decline(decline_code: str) -> bool:
    """Whether a decline must not be retried on the same payment method."""
    return decline_code in HARD_DECLINE_CODES


@dataclass(frozen=True, slots=True)
class DeclineError:
    """How Stripe reports a decline: error `code`, `decline_code` and message."""

    code: str
    decline_code: str
    message: str


# Stripe's error code and message per decline code (docs.stripe.com/declines/codes and
# /testing#declined-payments): most are `card_declined`; a few have their own code.
_DECLINE_ERRORS: Final = {
    "generic_decline": ("card_declined", "Your card was declined."),
    "insufficient_funds": ("card_declined", "Your card has insufficient funds."),
    "lost_card": ("card_declined", "Your card was declined."),
    "stolen_card": ("card_declined", "Your card was declined."),
    "fraudulent": ("card_declined", "Your card was declined."),
    "expired_card": ("expired_card", "Your card has expired."),
    "incorrect_cvc": ("incorrect_cvc", "Your card's security code is incorrect."),
    "processing_error": (
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}


def decline_error(decline_code: str) -> DeclineError:
    """The Stripe error (code, message) of a decline code."""
    code, message = _DECLINE_ERRORS.get(decline_code, ("card_declined", "Your card was declined."))
    return DeclineError(code, decline_code, message)


def attach_decline(behavior: str) -> DeclineError | None:
    """The error attaching a card with this behaviour gives, or None if it attaches.

    Stripe validates a card when it is attached to a customer, so the decline test cards
    fail there already; `customer_fail` exists precisely to attach and decline later.
    """
    code = decline_code_of(behavior)
    return None if code is None else decline_error(code)


@dataclass(frozen=True, slots=True)
class CardSpec:
    """What is kept of a card: never its number, only these facts and its behaviour."""

    brand: str
    last4: str
    funding: str
    country: str | None
    behavior: str


@dataclass(frozen=True, slots=True)
class DocumentedCard:
    """A documented test card: its number (public, from Stripe's docs) and its facts."""

    number: str
    brand: str
    funding: str
    country: str
    behavior: str

    def spec(self) -> CardSpec:
        """The facts stored for a payment method made from this card."""
        return CardSpec(self.brand, self.number[-4:], self.funding, self.country, self.behavior)


def _card(number: str, brand: str, behavior: str = SUCCEED, **kw: str) -> DocumentedCard:
    return DocumentedCard(
        number, brand, kw.get("funding", "credit"), kw.get("country", "US"), behavior
    )


# docs.stripe.com/testing: name (after `pm_card_` / `tok_`) → card.
_CARDS: Final = {
    "visa": _card("4242424242424242", "visa"),
    "visa_debit": _card("4000056655665556", "visa", funding="debit"),
    "mastercard": _card("5555555555554444", "mastercard"),
    "mastercard_debit": _card("5200828282828210", "mastercard", funding="debit"),
    "mastercard_prepaid": _card("5105105105105100", "mastercard", funding="prepaid"),
    "amex": _card("378282246310005", "amex"),
    "discover": _card("6011111111111117", "discover"),
    "diners": _card("3056930009020004", "diners"),
    "jcb": _card("3566002020360505", "jcb", country="JP"),
    "unionpay": _card("6200000000000005", "unionpay", country="CN"),
    "fr": _card("4000002500000003", "visa", country="FR"),
    "de": _card("4000002760000016", "visa", country="DE"),
    "gb": _card("4000008260000000", "visa", country="GB"),
    "chargeDeclined": _card("4000000000000002", "visa", decline("generic_decline")),
    "chargeDeclinedInsufficientFunds": _card(
        "4000000000009995", "visa", decline("insufficient_funds")
    ),
    "chargeDeclinedLostCard": _card("4000000000009987", "visa", decline("lost_card")),
    "chargeDeclinedStolenCard": _card("4000000000009979", "visa", decline("stolen_card")),
    "chargeDeclinedExpiredCard": _card("4000000000000069", "visa", decline("expired_card")),
    "chargeDeclinedIncorrectCvc": _card("4000000000000127", "visa", decline("incorrect_cvc")),
    "chargeDeclinedProcessingError": _card("4000000000000119", "visa", decline("processing_error")),
    "radarBlock": _card("4100000000000019", "visa", decline("fraudulent")),
    "chargeCustomerFail": _card("4000000000000341", "visa", CUSTOMER_FAIL),
    # docs.stripe.com/testing#disputes: "the charge succeeds, only to be disputed as
    # fraudulent".
    "createDispute": _card("4000000000000259", "visa", dispute("fraudulent")),
    "authenticationRequired": _card(
        "4000002760003184", "visa", AUTHENTICATION_REQUIRED, country="DE"
    ),
    "authenticationRequiredOnSetup": _card(
        "4000002500003155", "visa", AUTHENTICATION_REQUIRED_UNLESS_SETUP, country="FR"
    ),
}

TEST_PM_PREFIX: Final = "pm_card_"
TEST_TOK_PREFIX: Final = "tok_"

_BY_NUMBER: Final = {card.number: card for card in _CARDS.values()}


def card_for_token(token: str) -> DocumentedCard | None:
    """The test card a `pm_card_…` or `tok_…` token stands for, or None."""
    for prefix in (TEST_PM_PREFIX, TEST_TOK_PREFIX):
        if token.startswith(prefix):
            return _CARDS.get(token[len(prefix) :])
    return None


def is_payment_method_token(value: str) -> bool:
    """Whether `value` is a test payment method id such as `pm_card_visa`."""
    return value.startswith(TEST_PM_PREFIX) and value[8:] in _CARDS


def stripe_test_token(brand: str, last4: str, behavior: str) -> str | None:
    """The `pm_card_…` id Stripe's test mode accepts for a card with these facts, or None.

    Recur keeps no card numbers, so a test card is mirrored to Stripe as the documented
    token that behaves the same (docs.stripe.com/testing#cards); a valid number that is
    not a documented one succeeds, as the brand's own token does.
    """
    for name, card in _CARDS.items():
        if card.brand == brand and card.number[-4:] == last4 and card.behavior == behavior:
            return TEST_PM_PREFIX + name
    if behavior == SUCCEED and brand in _CARDS:
        return TEST_PM_PREFIX + brand
    return None


def known_card_for_number(number: str) -> DocumentedCard | None:
    """The documented test card with this number, or None."""
    return _BY_NUMBER.get(number)


def normalize_number(number: str) -> str | None:
    """The digits of a card number (spaces and dashes allowed), or None if malformed."""
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        return None
    return digits if luhn_valid(digits) else None


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every card number satisfies."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str:
    """The card brand from the issuer identification number (IIN) ranges."""
    prefix2 = int(digits[:2])
    prefix3 = int(digits[:3])
    prefix4 = int(digits[:4])
    prefix6 = int(digits[:6])
    if digits[0] == "4":
        return "visa"
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return "mastercard"
    if prefix2 in (34, 37):
        return "amex"
    if prefix4 == 6011 or 644 <= prefix3 <= 649 or prefix2 == 65 or 622126 <= prefix6 <= 622925:
        return "discover"
    if 3528 <= prefix4 <= 3589:
        return "jcb"
    if 300 <= prefix3 <= 305 or prefix2 in (36, 38, 39) or prefix4 == 3095:
        return "diners"
    if prefix2 == 62 or prefix2 == 81:
        return "unionpay"
    return "unknown"


def spec_for_number(digits: str) -> CardSpec:
    """The facts of a valid card number: a documented test card's, or brand by IIN."""
    card = _BY_NUMBER.get(digits)
    if card is not None:
        return card.spec()
    # Any other valid number is a card that works; where it was issued is unknown.
    return CardSpec(brand_of(digits), digits[-4:], "unknown", None, SUCCEED)


# Stripe's `card.display_brand` spells some brands out.
_DISPLAY_BRANDS: Final = {
    "amex": "american_express",
    "diners": "diners_club",
    "unionpay": "union_pay",
    "unknown": "other",
}


def display_brand(brand: str) -> str:
    """Stripe's `display_brand` for a `brand`."""
    return _DISPLAY_BRANDS.get(brand, brand)
