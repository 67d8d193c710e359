"""Field rules for request bodies and query parameters; every breach is a 422."""

from .errors import invalid
from .security import MAX_PASSWORD_BYTES

MAX_LIMIT = 1000
MAX_OFFSET = 10**9


def text(obj, field, *, required, max_len, allow_blank=False):
    """A string field: absent → None (422 if required); wrong type, blank or too long → 422."""
    if field not in obj or (obj[field] is None and not required):
        if required:
            raise invalid(field, "can't be blank")
        return None
    value = obj[field]
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    if "\x00" in value:
        raise invalid(field, "must not contain NUL characters")
    if not allow_blank and not value.strip():
        raise invalid(field, "can't be blank")
    if len(value) > max_len:
        raise invalid(field, f"is too long (at most {max_len} characters)")
    return value


def username(obj, *, required):
    value = text(obj, "username", required=required, max_len=64)
    if value is not None:
        value = value.strip()
        if "/" in value or any(ch.isspace() for ch in value):
            raise invalid("username", "must not contain spaces or slashes")
    return value


def email(obj, *, required):
    value = text(obj, "email", required=required, max_len=254)
    if value is not None:
        value = value.strip()
        local, at, domain = value.rpartition("@")
        if not at or not local or not domain or any(ch.isspace() for ch in value):
            raise invalid("email", "is invalid")
    return value


def password(obj, *, required):
    value = text(obj, "password", required=required, max_len=MAX_PASSWORD_BYTES)
    if value is not None:
        if len(value) < 8:
            raise invalid("password", "is too short (at least 8 characters)")
        if len(value.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
            raise invalid("password", f"is too long (at most {MAX_PASSWORD_BYTES} bytes)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid("password", "is not valid text") from None
    return value


def optional_profile_text(obj, field, max_len):
    """bio and image: a string or null (null or "" clears it)."""
    if field not in obj or obj[field] is None:
        return None
    value = text(obj, field, required=False, max_len=max_len, allow_blank=True)
    return value


def tag_list(obj):
    """tagList: absent or null → None; otherwise a list of non-blank strings, deduplicated."""
    if obj.get("tagList") is None:
        return None
    tags = obj["tagList"]
    if not isinstance(tags, list) or len(tags) > 50:
        raise invalid("tagList", "must be a list of at most 50 strings")
    seen = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 64 or "\x00" in tag:
            raise invalid("tagList", "must hold non-blank strings of at most 64 characters")
        tag = tag.strip()
        if tag not in seen:
            seen.append(tag)
    return seen


def non_negative_int(args, name, default, maximum):
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise invalid(name, "must be a non-negative integer")
    return min(int(raw), maximum)


def page(args):
    """(limit, offset) of a list request: defaults 20 and 0; limit capped at MAX_LIMIT."""
    return (non_negative_int(args, "limit", 20, MAX_LIMIT),
            non_negative_int(args, "offset", 0, MAX_OFFSET))
