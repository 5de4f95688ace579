"""The one error hierarchy. Each error carries the HTTP status the API answers with."""

from __future__ import annotations


class VantageError(Exception):
    """Base of every error Vantage raises on purpose."""

    status_code = 500
    title = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(VantageError):
    status_code = 404
    title = "Not found"


class Conflict(VantageError):
    status_code = 409
    title = "Conflict"


class BadRequest(VantageError):
    status_code = 400
    title = "Bad request"


class MediaError(BadRequest):
    """Input media that cannot be used: missing, unreadable, truncated, or without video."""

    status_code = 422
    title = "Unusable media"


class FFmpegError(VantageError):
    """ffmpeg exited non-zero; `detail` holds the last lines it printed."""

    title = "ffmpeg failed"

    def __init__(self, detail: str, returncode: int) -> None:
        super().__init__(detail)
        self.returncode = returncode


class StorageError(VantageError):
    status_code = 503
    title = "Object storage unavailable"


class ChecksumMismatch(StorageError):
    status_code = 500
    title = "Checksum mismatch"


class ServiceUnavailable(VantageError):
    status_code = 503
    title = "Service unavailable"
