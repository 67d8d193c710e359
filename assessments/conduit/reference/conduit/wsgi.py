"""WSGI entry point for gunicorn: `conduit.wsgi:app`."""

from .app import create_app

app = create_app()
