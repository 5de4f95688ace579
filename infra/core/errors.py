"""The application's error hierarchy. Each error carries the HTTP status the API answers with.

The media code has its own family (``transcode/errors.py``), without HTTP statuses."""

from __future__ import annotations


class VantageError(Exception):
    """Base of every error Vantage raises on purpose."""

    status_code = 500
    title = "Internal error"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        """More members of the problem document (``available_from``, ``retry_after_s`` ...)."""


class NotFound(VantageError):
    status_code = 404
    title = "Not found"


class Unauthorized(VantageError):
    """No credentials, or credentials that are not (or no longer) valid."""

    status_code = 401
    title = "Unauthorized"


class Forbidden(VantageError):
    """Known caller, but this use is not allowed: a scope it lacks, an embargo, a quota."""

    status_code = 403
    title = "Forbidden"


class TooManyRequests(VantageError):
    status_code = 429
    title = "Too many requests"


class PayloadTooLarge(VantageError):
    status_code = 413
    title = "Request too large"


class Conflict(VantageError):
    status_code = 409
    title = "Conflict"


class BadRequest(VantageError):
    status_code = 400
    title = "Bad request"


class StorageError(VantageError):
    status_code = 503
    title = "Object storage unavailable"


class ChecksumMismatch(StorageError):
    status_code = 500
    title = "Checksum mismatch"


class ServiceUnavailable(VantageError):
    status_code = 503
    title = "Service unavailable"
