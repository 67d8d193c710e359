"""Password hashing (bcrypt) and tokens (JWT, HS256, signed with JWT_SECRET, with expiry)."""

import time

import bcrypt
import jwt

BCRYPT_COST = 10
TOKEN_TTL_SECONDS = 24 * 3600
JWT_ALGORITHM = "HS256"
# bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
MAX_PASSWORD_BYTES = 72


def hash_password(password):
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=BCRYPT_COST)).decode("ascii")


def verify_password(password, password_hash):
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


# A valid hash of a password nobody has: logging in with an unknown email costs a bcrypt
# check too, so response times do not tell which emails are registered.
_DUMMY_HASH = hash_password("not a password of anyone")


def burn_password_check(password):
    verify_password(password, _DUMMY_HASH)


def issue_token(secret, user_id, username, now=None):
    issued_at = int(time.time() if now is None else now)
    claims = {"sub": str(user_id), "username": username, "iat": issued_at,
              "exp": issued_at + TOKEN_TTL_SECONDS}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def token_user_id(secret, token):
    """The user id (`sub`) of a valid token, or None.

    Valid means: signed HS256 with our secret (the algorithm list is fixed, so `alg: none`
    and algorithm confusion are refused), `exp` present and in the future, `sub` an id.
    Whether the user still exists is the caller's check.
    """
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM],
                            options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError:
        return None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.isdigit() or len(subject) > 18:
        return None
    return int(subject)
