"""One logging configuration for the API, the workers, the live supervisor and the CLI.

Lines are JSON for machines (``VANTAGE_LOG__FORMAT=json``: one object per line, ready for Loki,
Elasticsearch or CloudWatch) or readable for consoles (the default). Each carries what it was
about (request id, job id, asset id, feed id) from :func:`context`, set where the work starts.
Secrets never reach a line: :func:`redact` runs over every message and exception text, and the
catalog stores a feed's ``state_detail`` through it too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from infra.core.settings import Settings

FIELDS = ("request_id", "job_id", "asset_id", "feed_id")
_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("vantage_log_context")

HIDDEN = "[redacted]"

_SECRETS = [
    # Passwords in URLs: scheme://user:password@host
    (re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(?=@)", re.I), HIDDEN),
    # API keys (vk_<prefix>_<secret>) and bearer credentials
    (re.compile(r"(?P<keep>\bvk_[A-Za-z0-9]+_)[A-Za-z0-9_-]+"), HIDDEN),
    (re.compile(r"(?P<keep>\bBearer\s+)[^\s,;\"']+", re.I), HIDDEN),
    # Query parameters that carry a secret: presigned S3 URLs, media tokens, SRT passphrases
    # and stream ids, passwords and keys in any URL.
    (
        re.compile(
            r"(?P<keep>[?&;](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature|"
            r"awsaccesskeyid|token|passphrase|streamid|password|passwd|pwd|secret|key|auth)=)"
            r"[^&\s\"']+",
            re.I,
        ),
        HIDDEN,
    ),
    # RTMP stream keys: rtmp://host/app/<key>
    (re.compile(r"(?P<keep>\brtmps?://[^/\s]+/[^/\s?]+/)[^\s?\"']+", re.I), HIDDEN),
]


def redact(text: str) -> str:
    """``text`` with every secret Vantage knows the shape of replaced by ``[redacted]``."""
    for pattern, hidden in _SECRETS:
        text = pattern.sub(_keeping(hidden), text)
    return text


def _keeping(hidden: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return match.group("keep") + hidden

    return replace


def redact_or_none(text: str | None) -> str | None:
    return None if text is None else redact(text)


@contextmanager
def context(**ids: str | None) -> Iterator[None]:
    """Attach ``ids`` (request_id, job_id, asset_id, feed_id) to every line logged inside."""
    merged = {**_context.get({}), **{k: v for k, v in ids.items() if v}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, str]:
    return dict(_context.get({}))


class _Enrich(logging.Filter):
    """Redacts the message and adds the context's ids to the record, for either format."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # formatted (and redacted) above
        ids = _context.get({})
        record.vantage_ids = ids
        record.vantage_context = " ".join(f"{k}={v}" for k, v in ids.items())
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "component": self.component,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "vantage_ids", {}),
        }
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__("%(asctime)s %(levelname)-7s " + component + " %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = getattr(record, "vantage_context", "")
        return f"{text} [{extra}]" if extra else text


def configure(settings: Settings, component: str) -> None:
    """Send every logger's lines (Vantage's, Celery's, uvicorn's, the libraries') through one
    handler on stderr in the configured format. Safe to call again (it replaces the handler)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Enrich())
    formatter: logging.Formatter = (
        JsonFormatter(component) if settings.log.format == "json" else ConsoleFormatter(component)
    )
    handler.setFormatter(formatter)
    handler.set_name("vantage")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "vantage"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log.level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery"):
        lib = logging.getLogger(name)
        lib.handlers = []
        lib.propagate = True
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "httpx", "kombu", "amqp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
