"""JSON representations of users, accounts and transactions."""

from datetime import timezone

from .money import format_amount


def timestamp(value):
    """RFC 3339 in UTC with a `Z`: 2024-05-01T12:30:00.123456Z."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def user_json(row):
    return {"id": str(row["id"]), "email": row["email"], "created_at": timestamp(row["created_at"])}


def account_json(row):
    return {
        "id": str(row["id"]),
        "owner_id": str(row["owner_id"]),
        "currency": row["currency"],
        "balance": format_amount(row["balance"]),
        "created_at": timestamp(row["created_at"]),
    }


def transaction_json(row):
    counterparty = row["counterparty_account_id"]
    return {
        "id": str(row["id"]),
        "account_id": str(row["account_id"]),
        "type": row["type"],
        "amount": format_amount(row["amount"]),
        "balance_after": format_amount(row["balance_after"]),
        "counterparty_account_id": None if counterparty is None else str(counterparty),
        "created_at": timestamp(row["created_at"]),
    }
