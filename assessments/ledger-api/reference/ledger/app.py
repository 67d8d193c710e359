"""The Flask application: wiring, error handling, request-size guard."""

import logging
import sys

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from .api import api
from .config import Settings
from .db import Database
from .errors import ApiError
from .http import MAX_BODY_BYTES, json_response, payload_too_large
from .ratelimit import LoginRateLimiter

log = logging.getLogger(__name__)

# Error codes for the HTTP errors Flask/Werkzeug raise themselves (routing, methods).
_HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def create_app(settings=None, database=None, start_database=True):
    """Build the app. Tests pass their own settings and an unstarted database."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings or Settings.from_env()
    database = database or Database(settings.database_url, max_connections=settings.pool_size)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["ledger.settings"] = settings
    app.extensions["ledger.db"] = database
    app.extensions["ledger.login_limiter"] = LoginRateLimiter(max_failures=5, window=60.0)
    app.register_blueprint(api)

    @app.before_request
    def refuse_oversized_bodies():
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise payload_too_large()

    @app.errorhandler(ApiError)
    def api_error(error):
        return json_response(error.body(), error.status, error.headers)

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = _HTTP_ERROR_CODES.get(error.code) or error.name.lower().replace(" ", "_")
        headers = {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        body = {"error": {"code": code, "message": error.name}}
        return json_response(body, error.code, headers)

    @app.errorhandler(Exception)
    def internal_error(error):
        # Details go to the log only: no trace, SQL or input in the response.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"error": {"code": "internal", "message": "internal error"}}, 500)

    if start_database:
        database.start()
    return app
