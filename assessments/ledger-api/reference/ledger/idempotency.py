"""Idempotent processing of money-moving requests (`Idempotency-Key`).

Design: the key is claimed with `INSERT ... ON CONFLICT DO NOTHING` in the same database
transaction that moves the money and stores the response. So either all three happen or
none does, and a concurrent duplicate blocks on the key's primary key until the first
request commits, then replays its stored response. Requests refused before processing
(400, 401, 422 for the body) never reach this module and leave the key unused; processed
outcomes (201, 404, 422 `insufficient_funds`/`currency_mismatch`) are stored and replayed.
"""

import hashlib
import json

from . import store
from .errors import ApiError


def fingerprint(method, path, body):
    """What makes two requests "the same": method, path and the body as canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    material = f"{method}\n{path}\n{canonical}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()


def run_once(cur, user_id, key, request_fingerprint, process):
    """Run `process(cur)` at most once per (user, key); returns (status, body, replayed).

    `process` returns the 201 body, or raises an ApiError: that error is the request's
    processed outcome, stored and replayed like a success. Its partial writes, if any, are
    undone by a savepoint while the key's claim stays.
    """
    if not store.claim_idempotency_key(cur, user_id, key, request_fingerprint):
        stored = store.stored_idempotent_response(cur, user_id, key)
        if stored["fingerprint"] != request_fingerprint:
            raise ApiError(409, "idempotency_conflict",
                           "this Idempotency-Key was already used for a different request")
        return stored["status_code"], stored["response_body"], True

    cur.execute("SAVEPOINT process")
    try:
        status, body = 201, process(cur)
    except ApiError as outcome:
        cur.execute("ROLLBACK TO SAVEPOINT process")
        status, body = outcome.status, outcome.body()
    store.store_idempotent_response(cur, user_id, key, status, body)
    return status, body, False
