"""ledger: a small money-ledger web service (users, accounts, deposits, transfers)."""

__version__ = "1.0.0"
