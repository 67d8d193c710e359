"""Validation of request fields: exactly the rules of the contract, nothing more."""

import re
import uuid

from .errors import ApiError, validation_failed

CURRENCIES = ("EUR", "USD", "GBP")
MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100

# 1 to 64 printable ASCII characters (0x20-0x7E).
IDEMPOTENCY_KEY_RE = re.compile(r"[\x20-\x7e]{1,64}")
LIMIT_RE = re.compile(r"[0-9]{1,9}")


def require_object(body):
    if not isinstance(body, dict):
        raise validation_failed("the body must be a JSON object")
    return body


def require_string(body, field):
    value = body.get(field)
    if not isinstance(value, str):
        raise validation_failed(f"{field} is required and must be a string")
    return value


def validate_email(email):
    """One '@' with a non-empty part on each side, at most 254 characters."""
    if len(email) > MAX_EMAIL_LENGTH:
        raise validation_failed(f"email must be at most {MAX_EMAIL_LENGTH} characters")
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain:
        raise validation_failed("email must contain one '@' with text on each side")
    # Not a rule of the contract but of storage: PostgreSQL text holds neither NUL nor
    # lone surrogates, and such an address could never be used anyway.
    if not storable(email):
        raise validation_failed("email contains characters that are not allowed")
    return email


def validate_password(password):
    """8 to 128 characters, counted as Unicode code points (Python's len)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise validation_failed(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")
    return password


def validate_currency(currency):
    if currency not in CURRENCIES:
        raise validation_failed("currency must be one of " + ", ".join(CURRENCIES))
    return currency


def parse_uuid(value):
    """The canonical form of a UUID string, or None when it is not one.

    Ids in paths and bodies are opaque to clients; a malformed one is treated like an
    unknown one (404), so callers decide what None means.
    """
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def validate_idempotency_key(value):
    if value is None or IDEMPOTENCY_KEY_RE.fullmatch(value) is None:
        raise ApiError(400, "idempotency_key_required",
                       "an Idempotency-Key header of 1 to 64 printable ASCII characters is required")
    return value


def parse_limit(raw):
    """The page size from the `limit` query parameter: 1..100, default 50."""
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if LIMIT_RE.fullmatch(raw) is None or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise validation_failed(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def storable(text):
    """Whether PostgreSQL can store the string: no NUL, no lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
