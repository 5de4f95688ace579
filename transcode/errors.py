"""The media package's own errors. They carry no HTTP status: the API maps them to problem
documents in one place (``api/problems.py``) and the workers decide from their class whether
another attempt could pass (``workers/runner.py``)."""

from __future__ import annotations


class TranscodeError(Exception):
    """Base of every error the media code raises on purpose; ``detail`` is one line for a person."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MediaError(TranscodeError):
    """Input media that cannot be used: missing, unreadable, truncated, or without video."""


class ProfileError(TranscodeError):
    """An encoding profile that cannot be used, with the reason."""


class FFmpegError(TranscodeError):
    """ffmpeg exited non-zero; ``detail`` holds the last lines it printed."""

    def __init__(self, detail: str, returncode: int) -> None:
        super().__init__(detail)
        self.returncode = returncode


class FFmpegTimeout(FFmpegError):
    """ffmpeg ran past its time limit and was killed: the input is not known to be at fault,
    and a less busy worker may finish it."""
