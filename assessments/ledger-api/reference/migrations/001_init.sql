-- 001_init: users, accounts, their transactions, and stored idempotent responses.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    password_hash text NOT NULL,               -- bcrypt, never the password
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are unique case-insensitively; the original spelling is kept for display.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE accounts (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id   uuid NOT NULL REFERENCES users (id),
    currency   text NOT NULL CHECK (currency IN ('EUR', 'USD', 'GBP')),
    balance    numeric(20, 2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_owner_created_idx ON accounts (owner_id, created_at, id);

CREATE TABLE transactions (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Insertion order. Rows of one account are inserted while that account's row is
    -- locked, so per account `seq` order is also commit order: the keyset cursor relies
    -- on it.
    seq                     bigint GENERATED ALWAYS AS IDENTITY,
    account_id              uuid NOT NULL REFERENCES accounts (id),
    type                    text NOT NULL CHECK (type IN ('deposit', 'transfer_in', 'transfer_out')),
    amount                  numeric(20, 2) NOT NULL CHECK (amount > 0),
    balance_after           numeric(20, 2) NOT NULL CHECK (balance_after >= 0),
    counterparty_account_id uuid REFERENCES accounts (id),
    -- clock_timestamp(), not now(): taken at insert time, under the account's lock, so
    -- created_at never decreases along `seq` (now() is the transaction's start time).
    created_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((type = 'deposit') = (counterparty_account_id IS NULL))
);
-- Newest-first pages of one account: an index range scan at any depth.
CREATE INDEX transactions_account_seq_idx ON transactions (account_id, seq DESC);

CREATE TABLE idempotency_keys (
    user_id       uuid NOT NULL REFERENCES users (id),
    key           text NOT NULL,
    fingerprint   text NOT NULL,               -- sha256 of method, path and canonical body
    status_code   smallint,                    -- NULL only inside the claiming transaction
    response_body jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
