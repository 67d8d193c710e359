"""WSGI entry point for gunicorn: `ledger.wsgi:app`."""

from .app import create_app

app = create_app()
