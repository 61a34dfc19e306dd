"""Money: integer minor units per currency, exact intermediates and the one rounding rule."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Final

from recur.domain.errors import InvalidRequest

# fmt: off
# Stripe's lists of currencies whose minor unit is not the cent.
ZERO_DECIMAL_CURRENCIES: Final = frozenset(
    {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf"
    }
)
THREE_DECIMAL_CURRENCIES: Final = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# Active ISO 4217 codes (funds and precious-metal codes left out: nobody bills in them).
ISO_CURRENCIES: Final = frozenset(
    {
        "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt",
        "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "btn", "bwp", "byn", "bzd", "cad",
        "cdf", "chf", "clp", "cny", "cop", "crc", "cuc", "cup", "cve", "czk", "djf", "dkk", "dop",
        "dzd", "egp", "ern", "etb", "eur", "fjd", "fkp", "gbp", "gel", "ghs", "gip", "gmd", "gnf",
        "gtq", "gyd", "hkd", "hnl", "hrk", "htg", "huf", "idr", "ils", "inr", "iqd", "irr", "isk",
        "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "kpw", "krw", "kwd", "kyd", "kzt", "lak",
        "lbp", "lkr", "lrd", "lsl", "lyd", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop", "mru",
        "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "omr",
        "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar",
        "sbd", "scr", "sdg", "sek", "sgd", "shp", "sle", "sll", "sos", "srd", "ssp", "stn", "svc",
        "syp", "szl", "thb", "tjs", "tmt", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx",
        "usd", "uyu", "uzs", "ved", "ves", "vnd", "vuv", "wst", "xaf", "xcd", "xcg", "xof", "xpf",
        "yer", "zar", "zmw", "zwg", "zwl"
    }
)
# fmt: on

CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    code: 0 if code in ZERO_DECIMAL_CURRENCIES else 3 if code in THREE_DECIMAL_CURRENCIES else 2
    for code in ISO_CURRENCIES
}

# Stripe's `unit_amount_decimal`: at most 12 decimal places, no sign, no exponent.
_DECIMAL_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,12})?|\.[0-9]{1,12}")


# The smallest amount a card charge may be, in minor units (Stripe's "minimum charge
# amounts", docs.stripe.com/currencies#minimum-and-maximum-charge-amounts); an invoice due
# less is not charged: its amount goes to the customer's balance (`invoice_too_small`).
MINIMUM_CHARGE: Final[dict[str, int]] = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50,
    "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200,
    "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip


def minimum_charge(currency: str) -> int:
    """The smallest chargeable amount in `currency` (50 minor units where none is listed)."""
    return MINIMUM_CHARGE.get(currency.lower(), 50)


def currency_exponent(currency: str) -> int:
    """Return how many decimal places the currency's minor unit has (JPY 0, EUR 2, KWD 3)."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def is_valid_currency(currency: str) -> bool:
    """Tell whether `currency` is a known three-letter lowercase ISO 4217 code."""
    return currency in ISO_CURRENCIES


@lru_cache(maxsize=4096)
def decimal_to_fraction(value: Decimal) -> Fraction:
    """Convert a finite Decimal to the exactly equal Fraction (cached: a billing run
    converts the same few percentages for every line)."""
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    return Fraction(value)


def round_half_up(value: Fraction | Decimal | int) -> int:
    """Round an exact amount to an integer, halves away from zero (2.5 → 3, -2.5 → -3)."""
    if type(value) is Fraction:  # the common case, checked first
        return round_ratio_half_up(value.numerator, value.denominator)
    # bool is an int subclass but never an amount; float is inexact by construction.
    if isinstance(value, bool) or not isinstance(value, Fraction | Decimal | int):
        raise TypeError(f"round_half_up needs an exact number, got {type(value).__name__}")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        value = decimal_to_fraction(value)
    return round_ratio_half_up(value.numerator, value.denominator)


def round_ratio_half_up(numerator: int, denominator: int) -> int:
    """`round_half_up(Fraction(numerator, denominator))` without making the Fraction (the
    rule is the same for any multiple of the pair: no gcd needed); `denominator` > 0."""
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


@lru_cache(maxsize=4096)
def percent_ratio(percent: Decimal) -> tuple[int, int]:
    """`percent` / 100 as (numerator, denominator), lowest terms, denominator > 0."""
    share = decimal_to_fraction(percent) / 100
    return share.numerator, share.denominator


def format_amount(amount: int, currency: str) -> str:
    """Format minor units for people: `format_amount(123456, "usd") == "1,234.56 USD"`."""
    exponent = currency_exponent(currency)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**exponent)
    text = f"{major:,}"
    if exponent:
        text += f".{minor:0{exponent}d}"
    return f"{sign}{text} {currency.upper()}"


def parse_decimal_amount(text: str) -> Decimal:
    """Parse a non-negative decimal string with at most 12 decimals; raises InvalidRequest."""
    # param stays None: the caller knows which field (`unit_amount_decimal`, ...) it parsed.
    if not _DECIMAL_AMOUNT.fullmatch(text):
        raise InvalidRequest(
            f"Invalid decimal: {text} (expected a non-negative number with at most 12 decimal "
            "places)"
        )
    return Decimal(text)
