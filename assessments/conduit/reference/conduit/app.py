"""The Flask application: wiring and error handling (every error is {"errors": {KEY: [...]}})."""

import logging
import sys

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from .api import api
from .config import Settings
from .db import Database
from .errors import ApiError, envelope, invalid, not_found
from .http import MAX_BODY_BYTES, json_response, payload_too_large

log = logging.getLogger(__name__)


def create_app(settings=None, database=None, start_database=True):
    """Build the app. Tests pass their own settings and an unstarted database."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings or Settings.from_env()
    database = database or Database(settings.database_url, max_connections=settings.pool_size)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.url_map.strict_slashes = False
    app.extensions["conduit.settings"] = settings
    app.extensions["conduit.db"] = database
    app.register_blueprint(api)

    @app.before_request
    def refuse_what_postgresql_cannot_take():
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise payload_too_large()
        # PostgreSQL text cannot hold NUL: no slug, username or filter value contains one.
        if "\x00" in request.path:
            raise not_found("path")
        for name, value in request.args.items(multi=True):
            if "\x00" in value:
                raise invalid(name, "must not contain NUL characters")

    @app.errorhandler(ApiError)
    def api_error(error):
        return json_response(error.body(), error.status, error.headers)

    @app.errorhandler(HTTPException)
    def http_error(error):
        headers = {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        key = {404: "path", 405: "method"}.get(error.code, "request")
        return json_response(envelope(key, error.name.lower()), error.code, headers)

    @app.errorhandler(Exception)
    def internal_error(error):
        # Details go to the log only: no trace, SQL or input in the response.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response(envelope("server", "internal error"), 500)

    if start_database:
        database.start()
    return app
