"""HTTP helpers: JSON responses, bounded JSON request bodies, bearer tokens."""

import json

from flask import Response, request

from .errors import ApiError

MAX_BODY_BYTES = 64 * 1024


def dumps(payload):
    """Deterministic JSON (sorted keys): a replayed response is byte-for-byte the original."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def json_response(payload, status=200, headers=None):
    return Response(dumps(payload), status=status, headers=headers,
                    mimetype="application/json")


def payload_too_large():
    return ApiError(413, "payload_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes")


def read_json_body():
    """The request body parsed as JSON; 413 past 64 KiB, 400 `malformed_json` if not JSON.

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
        raise ApiError(400, "malformed_json", "the request body is not valid JSON") from None
    except RecursionError:
        raise ApiError(400, "malformed_json", "the request body is nested too deeply") from None


def _reject_constant(name):
    # Python's json accepts NaN and Infinity; JSON does not.
    raise ValueError(f"{name} is not JSON")


def bearer_token():
    """The token of an `Authorization: Bearer <token>` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
