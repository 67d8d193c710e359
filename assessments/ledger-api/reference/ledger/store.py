"""SQL for users, accounts and transactions. Every function runs on the caller's cursor,
inside the caller's transaction; ids are canonical UUID strings."""

from psycopg2.extras import Json

from .errors import ApiError, not_found

_ACCOUNT_COLUMNS = "id, owner_id, currency, balance, created_at"
_TRANSACTION_COLUMNS = ("id, account_id, type, amount, balance_after, "
                        "counterparty_account_id, created_at, seq")


# --- users ------------------------------------------------------------------------------

def create_user(cur, email, password_hash):
    """The new user's row, or None when the email is taken (case-insensitively)."""
    cur.execute(
        """INSERT INTO users (email, password_hash) VALUES (%s, %s)
           ON CONFLICT ((lower(email))) DO NOTHING
           RETURNING id, email, created_at""",
        (email, password_hash))
    return cur.fetchone()


def find_user_by_email(cur, email):
    cur.execute("SELECT id, password_hash FROM users WHERE lower(email) = lower(%s)", (email,))
    return cur.fetchone()


def user_exists(cur, user_id):
    cur.execute("SELECT 1 FROM users WHERE id = %s", (user_id,))
    return cur.fetchone() is not None


# --- accounts ---------------------------------------------------------------------------

def create_account(cur, owner_id, currency):
    cur.execute(
        f"INSERT INTO accounts (owner_id, currency) VALUES (%s, %s) RETURNING {_ACCOUNT_COLUMNS}",
        (owner_id, currency))
    return cur.fetchone()


def list_accounts(cur, owner_id):
    cur.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE owner_id = %s ORDER BY created_at, id",
        (owner_id,))
    return cur.fetchall()


def get_owned_account(cur, owner_id, account_id):
    """The account if it exists and belongs to owner_id, else None (the two look alike)."""
    cur.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = %s AND owner_id = %s",
                (account_id, owner_id))
    return cur.fetchone()


# --- money movements --------------------------------------------------------------------

def deposit(cur, owner_id, account_id, amount):
    """Credit an owned account; the transaction row, or a 404 ApiError.

    The UPDATE takes the row lock and adds in one statement, so concurrent deposits and
    transfers on the account serialise on it and none is lost.
    """
    cur.execute(
        """UPDATE accounts SET balance = balance + %s
           WHERE id = %s AND owner_id = %s
           RETURNING balance""",
        (amount, account_id, owner_id))
    row = cur.fetchone()
    if row is None:
        raise not_found("account not found")
    return _insert_transaction(cur, account_id, "deposit", amount, row["balance"], None)


def transfer(cur, owner_id, from_id, to_id, amount):
    """Move money between two accounts; the `transfer_out` row, or an ApiError.

    Both rows are locked in id order, whatever the direction, so two opposite transfers
    cannot deadlock; the funds check runs under the lock.
    """
    cur.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id IN (%s, %s) ORDER BY id FOR UPDATE",
        (from_id, to_id))
    accounts = {str(row["id"]): row for row in cur.fetchall()}
    source, target = accounts.get(from_id), accounts.get(to_id)
    if source is None or str(source["owner_id"]) != owner_id or target is None:
        raise not_found("account not found")
    if source["currency"] != target["currency"]:
        raise ApiError(422, "currency_mismatch", "the two accounts hold different currencies")
    if source["balance"] < amount:
        raise ApiError(422, "insufficient_funds", "the source account's balance is too low")

    source_after = _add_to_balance(cur, from_id, -amount)
    target_after = _add_to_balance(cur, to_id, amount)
    outgoing = _insert_transaction(cur, from_id, "transfer_out", amount, source_after, to_id)
    _insert_transaction(cur, to_id, "transfer_in", amount, target_after, from_id)
    return outgoing


def _add_to_balance(cur, account_id, delta):
    cur.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s RETURNING balance",
                (delta, account_id))
    return cur.fetchone()["balance"]


def _insert_transaction(cur, account_id, kind, amount, balance_after, counterparty_id):
    cur.execute(
        f"""INSERT INTO transactions
              (account_id, type, amount, balance_after, counterparty_account_id)
            VALUES (%s, %s, %s, %s, %s)
            RETURNING {_TRANSACTION_COLUMNS}""",
        (account_id, kind, amount, balance_after, counterparty_id))
    return cur.fetchone()


def list_transactions(cur, account_id, limit, before_seq=None):
    """Up to `limit` + 1 rows, newest first, with seq < before_seq when given.

    The extra row tells the caller whether there is a next page.
    """
    if before_seq is None:
        cur.execute(
            f"""SELECT {_TRANSACTION_COLUMNS} FROM transactions
                WHERE account_id = %s ORDER BY seq DESC LIMIT %s""",
            (account_id, limit + 1))
    else:
        cur.execute(
            f"""SELECT {_TRANSACTION_COLUMNS} FROM transactions
                WHERE account_id = %s AND seq < %s ORDER BY seq DESC LIMIT %s""",
            (account_id, before_seq, limit + 1))
    return cur.fetchall()


# --- idempotency ------------------------------------------------------------------------

def claim_idempotency_key(cur, user_id, key, fingerprint):
    """True when this transaction now owns the key.

    A concurrent claim of the same key waits on the primary key until the owner commits
    (then this returns False and the caller replays) or rolls back (then this claims it).
    """
    cur.execute(
        """INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES (%s, %s, %s)
           ON CONFLICT DO NOTHING""",
        (user_id, key, fingerprint))
    return cur.rowcount == 1


def stored_idempotent_response(cur, user_id, key):
    cur.execute(
        """SELECT fingerprint, status_code, response_body FROM idempotency_keys
           WHERE user_id = %s AND key = %s""",
        (user_id, key))
    return cur.fetchone()


def store_idempotent_response(cur, user_id, key, status, body):
    cur.execute(
        """UPDATE idempotency_keys SET status_code = %s, response_body = %s
           WHERE user_id = %s AND key = %s""",
        (status, Json(body), user_id, key))
