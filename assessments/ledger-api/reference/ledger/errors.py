"""API errors: every 4xx (and 5xx) body is {"error": {"code": ..., "message": ...}}."""


class ApiError(Exception):
    """An error that becomes an HTTP response with the contract's error body."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self):
        return {"error": {"code": self.code, "message": self.message}}


def validation_failed(message):
    return ApiError(422, "validation_failed", message)


def not_found(message="not found"):
    return ApiError(404, "not_found", message)


def unauthorized(message="missing or invalid access token"):
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


def unavailable(message="the database is not reachable yet"):
    return ApiError(503, "unavailable", message, {"Retry-After": "1"})
