"""Unit tests of the ledger service; they need no database: `python3 -m unittest`."""
