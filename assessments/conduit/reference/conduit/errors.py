"""API errors: every 4xx and 5xx body is {"errors": {KEY: ["message", ...]}}."""


class ApiError(Exception):
    """An error that becomes an HTTP response with Conduit's error envelope."""

    def __init__(self, status, key, *messages, headers=None):
        super().__init__(f"{key}: {'; '.join(messages)}")
        self.status = status
        self.key = key
        self.messages = list(messages) or ["is invalid"]
        self.headers = headers or {}

    def body(self):
        return envelope(self.key, *self.messages)


def envelope(key, *messages):
    return {"errors": {key: list(messages)}}


def invalid(field, message):
    """422: a required field is blank or missing, or has the wrong type or size."""
    return ApiError(422, field, message)


def not_found(resource):
    return ApiError(404, resource, "not found")


def unauthorized(message="missing or invalid token"):
    return ApiError(401, "token", message, headers={"WWW-Authenticate": "Token"})


def forbidden(resource):
    return ApiError(403, resource, "forbidden: you are not its author")


def conflict(field):
    return ApiError(409, field, "has already been taken")


def unavailable():
    return ApiError(503, "database", "not reachable yet", headers={"Retry-After": "1"})
