"""Password hashing (bcrypt) and access tokens (JWT, HS256)."""

import base64
import hashlib
import time

import bcrypt
import jwt

BCRYPT_COST = 10
TOKEN_TTL_SECONDS = 3600
JWT_ALGORITHM = "HS256"


def _prehash(password):
    """SHA-256, base64-encoded, of the password's UTF-8 bytes.

    bcrypt looks at the first 72 bytes only and stops at a NUL byte; a 128-character
    password can be 512 bytes. Pre-hashing gives bcrypt 44 NUL-free bytes that depend on
    the whole password. ("surrogatepass": JSON may carry lone surrogates; they are code
    points of the password like any other.)
    """
    digest = hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest()
    return base64.b64encode(digest)


def hash_password(password):
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=BCRYPT_COST)).decode("ascii")


def verify_password(password, password_hash):
    return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))


# A valid hash of a password nobody has, so that logging in as an unknown email costs a
# bcrypt check too and response times do not reveal which emails are registered.
_DUMMY_HASH = hash_password("not a password of anyone")


def burn_password_check(password):
    verify_password(password, _DUMMY_HASH)


def issue_token(secret, user_id, now=None):
    """A signed access token for the user; returns (token, lifetime in seconds)."""
    issued_at = int(time.time() if now is None else now)
    claims = {"sub": user_id, "iat": issued_at, "exp": issued_at + TOKEN_TTL_SECONDS}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), TOKEN_TTL_SECONDS


def token_subject(secret, token):
    """The `sub` of a valid token, or None.

    Valid means: signed HS256 with our secret (the algorithm list is fixed, so `alg: none`
    and algorithm confusion are refused), with `exp` in the future and a `sub` present.
    Whether the subject still exists is the caller's check.
    """
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM],
                            options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None
