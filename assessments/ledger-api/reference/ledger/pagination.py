"""Opaque cursors for keyset pagination of an account's transactions.

A cursor names the last row of the page a client has seen: the account it belongs to and
that row's `seq`. The next page is `seq < cursor.seq`, newest first, which stays correct
while new transactions are inserted (they get larger seqs) and costs the same at any depth.
The encoding (URL-safe base64 of a small JSON object) is an implementation detail: clients
must treat cursors as opaque strings.
"""

import base64
import binascii
import json

from .errors import validation_failed

_VERSION = 1
_MAX_SEQ = 2 ** 63 - 1
_MAX_CURSOR_LENGTH = 256


def encode_cursor(account_id, seq):
    raw = json.dumps({"v": _VERSION, "a": account_id, "s": seq}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor, account_id):
    """The seq a cursor points at, or a 422 when it is malformed or not for this account."""
    error = validation_failed("cursor is malformed")
    if not cursor or len(cursor) > _MAX_CURSOR_LENGTH:
        raise error
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        data = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError):  # JSON and Unicode errors are ValueErrors too
        raise error from None
    if not isinstance(data, dict) or data.get("v") != _VERSION or data.get("a") != account_id:
        raise error
    seq = data.get("s")
    # bool is an int subclass: reject true/false explicitly.
    if type(seq) is not int or not 0 < seq <= _MAX_SEQ:
        raise error
    return seq
