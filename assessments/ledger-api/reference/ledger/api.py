"""The HTTP endpoints of the contract (blueprint `api`)."""

import functools

from flask import Blueprint, current_app, g, request

from . import idempotency, serializers, store
from .errors import ApiError, not_found, unauthorized, validation_failed
from .http import bearer_token, json_response, read_json_body
from .money import InvalidAmount, parse_amount
from .pagination import decode_cursor, encode_cursor
from .ratelimit import RateLimited
from .security import (burn_password_check, hash_password, issue_token, token_subject,
                       verify_password)
from .validation import (parse_limit, parse_uuid, require_object, require_string, storable,
                         validate_currency, validate_email, validate_idempotency_key,
                         validate_password)

api = Blueprint("api", __name__)


def _db():
    return current_app.extensions["ledger.db"]


def _settings():
    return current_app.extensions["ledger.settings"]


def authenticated(view):
    """Require a valid access token whose subject is an existing user (else 401)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        token = bearer_token()
        subject = token and token_subject(_settings().jwt_secret, token)
        user_id = parse_uuid(subject)
        if user_id is None:
            raise unauthorized()
        with _db().transaction() as cur:
            if not store.user_exists(cur, user_id):
                raise unauthorized()
        g.user_id = user_id
        return view(*args, **kwargs)

    return wrapper


def _amount(body):
    try:
        return parse_amount(body.get("amount"))
    except InvalidAmount as exc:
        raise validation_failed(str(exc)) from None


def _idempotent(process, body):
    """Run a money movement under the request's Idempotency-Key (checked by the caller)."""
    key = request.headers["Idempotency-Key"]
    request_fingerprint = idempotency.fingerprint(request.method, request.path, body)
    with _db().transaction() as cur:
        status, payload, replayed = idempotency.run_once(
            cur, g.user_id, key, request_fingerprint, process)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return json_response(payload, status, headers)


# --- health -----------------------------------------------------------------------------

@api.get("/healthz")
def healthz():
    if _db().check():
        return json_response({"status": "ok"})
    return json_response({"error": {"code": "unavailable", "message": "database not reachable"}},
                         503, {"Retry-After": "1"})


# --- users and tokens -------------------------------------------------------------------

@api.post("/v1/users")
def register():
    body = require_object(read_json_body())
    email = validate_email(require_string(body, "email"))
    password = validate_password(require_string(body, "password"))
    password_hash = hash_password(password)
    with _db().transaction() as cur:
        user = store.create_user(cur, email, password_hash)
    if user is None:
        raise ApiError(409, "email_taken", "an account with this email already exists")
    return json_response(serializers.user_json(user), 201)


@api.post("/v1/auth/token")
def login():
    body = require_object(read_json_body())
    email = require_string(body, "email")
    password = require_string(body, "password")
    limiter = current_app.extensions["ledger.login_limiter"]
    try:
        with limiter.attempt(email.lower()) as record_failure:
            user = None
            if storable(email):  # else it cannot be registered
                with _db().transaction() as cur:
                    user = store.find_user_by_email(cur, email)
            if user is None:
                burn_password_check(password)
            if user is None or not verify_password(password, user["password_hash"]):
                record_failure()
                raise ApiError(401, "invalid_credentials", "wrong email or password")
    except RateLimited as limited:
        raise ApiError(429, "rate_limited", "too many failed attempts for this email; try later",
                       {"Retry-After": str(limited.retry_after)}) from None
    token, expires_in = issue_token(_settings().jwt_secret, str(user["id"]))
    return json_response({"access_token": token, "token_type": "Bearer", "expires_in": expires_in})


# --- accounts ---------------------------------------------------------------------------

@api.post("/v1/accounts")
@authenticated
def open_account():
    body = require_object(read_json_body())
    currency = validate_currency(body.get("currency"))
    with _db().transaction() as cur:
        account = store.create_account(cur, g.user_id, currency)
    return json_response(serializers.account_json(account), 201)


@api.get("/v1/accounts")
@authenticated
def list_accounts():
    with _db().transaction() as cur:
        accounts = store.list_accounts(cur, g.user_id)
    return json_response({"data": [serializers.account_json(a) for a in accounts]})


@api.get("/v1/accounts/<account_id>")
@authenticated
def get_account(account_id):
    account_id = parse_uuid(account_id)
    account = None
    if account_id is not None:
        with _db().transaction() as cur:
            account = store.get_owned_account(cur, g.user_id, account_id)
    if account is None:
        raise not_found("account not found")
    return json_response(serializers.account_json(account))


@api.post("/v1/accounts/<account_id>/deposits")
@authenticated
def deposit(account_id):
    validate_idempotency_key(request.headers.get("Idempotency-Key"))
    body = require_object(read_json_body())
    amount = _amount(body)
    canonical_id = parse_uuid(account_id)

    def process(cur):
        if canonical_id is None:
            raise not_found("account not found")
        row = store.deposit(cur, g.user_id, canonical_id, amount)
        return serializers.transaction_json(row)

    return _idempotent(process, body)


@api.get("/v1/accounts/<account_id>/transactions")
@authenticated
def list_transactions(account_id):
    account_id = parse_uuid(account_id)
    if account_id is None:
        raise not_found("account not found")
    limit = parse_limit(request.args.get("limit"))
    cursor = request.args.get("cursor")
    before_seq = None if cursor is None else decode_cursor(cursor, account_id)
    with _db().transaction() as cur:
        if store.get_owned_account(cur, g.user_id, account_id) is None:
            raise not_found("account not found")
        rows = store.list_transactions(cur, account_id, limit, before_seq)
    page = rows[:limit]
    next_cursor = encode_cursor(account_id, page[-1]["seq"]) if len(rows) > limit else None
    return json_response({"data": [serializers.transaction_json(r) for r in page],
                          "next_cursor": next_cursor})


# --- transfers --------------------------------------------------------------------------

@api.post("/v1/transfers")
@authenticated
def transfer():
    validate_idempotency_key(request.headers.get("Idempotency-Key"))
    body = require_object(read_json_body())
    raw_from = require_string(body, "from_account_id")
    raw_to = require_string(body, "to_account_id")
    amount = _amount(body)
    from_id, to_id = parse_uuid(raw_from), parse_uuid(raw_to)
    if (from_id or raw_from) == (to_id or raw_to):
        raise validation_failed("from_account_id and to_account_id must differ")

    def process(cur):
        if from_id is None or to_id is None:
            raise not_found("account not found")
        row = store.transfer(cur, g.user_id, from_id, to_id, amount)
        return serializers.transaction_json(row)

    return _idempotent(process, body)
