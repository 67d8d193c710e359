"""HTTP helpers: JSON responses, bounded JSON request bodies, the Authorization header."""

import json

from flask import Response, request

from .errors import ApiError, invalid

MAX_BODY_BYTES = 256 * 1024


def json_response(payload, status=200, headers=None):
    return Response(json.dumps(payload, separators=(",", ":")), status=status, headers=headers,
                    mimetype="application/json")


def payload_too_large():
    return ApiError(413, "body", f"is limited to {MAX_BODY_BYTES} bytes")


def read_json_body():
    """The request body parsed as JSON; 413 past the limit, 422 if it is not JSON.

    The Content-Type is not insisted on: a JSON body is parsed whatever it is labelled.
    """
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise payload_too_large()
    # Chunked bodies have no Content-Length: read one byte past the limit to detect them.
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise payload_too_large()
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise invalid("body", "is not valid JSON") from None
    except RecursionError:
        raise invalid("body", "is nested too deeply") from None


def wrapped(body, key):
    """The object under `key` of a request body such as {"user": {...}}; 422 otherwise."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise invalid(key, f'the body must be {{"{key}": {{...}}}}')
    return body[key]


def _reject_constant(name):
    # Python's json accepts NaN and Infinity; JSON does not.
    raise ValueError(f"{name} is not JSON")


def auth_token():
    """The token of `Authorization: Token <jwt>` (or `Bearer <jwt>`); None without a header.

    A header of another form yields "" (present but unusable: 401 where auth is required).
    """
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in ("token", "bearer") or not token:
        return ""
    return token
