"""Money: exact decimal amounts, parsed from and formatted to two-decimal strings.

Amounts never pass through binary floating point: the API takes them as JSON strings,
they become ``decimal.Decimal`` here, travel to PostgreSQL as NUMERIC and come back as
``Decimal`` again.
"""

import re
from decimal import Decimal

# The contract's grammar. ``[0-9]`` rather than ``\d``: ``\d`` also matches non-ASCII digits.
AMOUNT_RE = re.compile(r"[0-9]+(\.[0-9]{1,2})?")

MAX_AMOUNT = Decimal("1000000.00")
CENTS = Decimal("0.01")


class InvalidAmount(ValueError):
    """The value is not an amount the API accepts; the message says why."""


def parse_amount(value):
    """Return the Decimal for an amount string, or raise InvalidAmount.

    Accepts exactly ``^[0-9]+(\\.[0-9]{1,2})?$``, greater than 0, at most 1000000.00.
    """
    if not isinstance(value, str):
        raise InvalidAmount("amount must be a string such as \"12.30\"")
    # fullmatch: `$` in re.match would also accept a trailing newline.
    if AMOUNT_RE.fullmatch(value) is None:
        raise InvalidAmount("amount must look like \"12.30\": digits with at most two decimals")
    amount = Decimal(value)
    if amount <= 0:
        raise InvalidAmount("amount must be greater than 0")
    if amount > MAX_AMOUNT:
        raise InvalidAmount("amount must be at most 1000000.00")
    return amount.quantize(CENTS)


def format_amount(amount):
    """Format a Decimal as a string with exactly two decimals: Decimal("12.3") -> "12.30"."""
    return str(Decimal(amount).quantize(CENTS))
