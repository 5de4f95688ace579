"""Request budgets, shared by every API process.

Each API key has a budget of ``api.rate_per_minute`` requests a minute, with bursts of at most a
sixth of it in any ten seconds (never fewer than ten). Playback with a media token draws on a
budget of its own, per token (``api.media_rate_per_minute``): a player fetches a playlist and a
segment every few seconds, so ten viewers of one broadcaster's key never stall each other, nor
that key's API calls. Stills (posters, scrubbing thumbnails) are media too: a search page shows
two dozen posters, and an editor searching five times in ten seconds must not spend the key's
burst on pictures. Their routes are marked with :func:`stills`; called with a key, they draw on
a media budget of that key's own, apart from its API calls.

When the broker is Redis, the counts live there (``limits``' sliding-window counters), so a
fleet of API processes grants a key its budget once, not once per process; otherwise they are
kept in this process. A budget store that cannot be reached lets requests through (and says so
in the log): the rate limit protects the API, it must not take it down.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import Request
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from infra.core.settings import Settings

log = logging.getLogger(__name__)

Budget = Literal["api", "media"]
_WARN_EVERY_S = 60.0
_STILLS: set[Callable[..., Any]] = set()
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def stills(endpoint: Endpoint) -> Endpoint:
    """Mark a route that serves stills of a recording: its requests draw on the media budget
    (put it below the route's decorator)."""
    _STILLS.add(endpoint)
    return endpoint


def budget_of(request: Request) -> Budget:
    """The budget a routed request draws on."""
    route = request.scope.get("route")
    return "media" if getattr(route, "endpoint", None) in _STILLS else "api"


def shared_store_uri(settings: Settings) -> str:
    """Where the counts live: the broker when it is Redis, else this process's memory."""
    url = settings.broker.url
    return url if url.startswith(("redis://", "rediss://")) else "memory://"


class RequestBudgets:
    """The API's budgets; one per app, safe to share between threads."""

    def __init__(self, settings: Settings) -> None:
        per_minute = settings.api.rate_per_minute
        burst = max(10, per_minute // 6)
        self._items: dict[Budget, tuple[RateLimitItem, ...]] = {
            "api": (RateLimitItemPerMinute(per_minute), RateLimitItemPerSecond(burst, 10)),
            "media": (RateLimitItemPerMinute(settings.api.media_rate_per_minute),),
        }
        self.shared = shared_store_uri(settings) != "memory://"
        """True when the counts are shared through Redis by every API process."""
        uri = shared_store_uri(settings)
        # Short timeouts: a budget store that does not answer must not hold requests up.
        options = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5} if self.shared else {}
        self._limiter = SlidingWindowCounterRateLimiter(storage_from_string(uri, **options))
        # Staging and production may share one broker: their budgets stay apart.
        self._scope = f"vantage.{settings.broker.namespace or 'default'}"
        self._warned_at = 0.0

    def take(self, budget: Budget, identity: str) -> float:
        """Spend one request of ``identity``'s ``budget``: 0 when it may go ahead, else the
        seconds until it may."""
        try:
            wait = 0.0
            for item in self._items[budget]:
                if not self._limiter.hit(item, self._scope, budget, identity):
                    reset = self._limiter.get_window_stats(item, self._scope, budget, identity)
                    wait = max(wait, reset.reset_time - time.time(), 1.0)
            return wait
        except Exception as exc:  # noqa: BLE001 - an unreachable store must not refuse requests
            now = time.monotonic()
            if now - self._warned_at > _WARN_EVERY_S:
                self._warned_at = now
                log.warning("request budgets unavailable, not enforced: %s", exc)
            return 0.0


def token_identity(token: str) -> str:
    """A media token's budget identity: a digest, so the counts never hold a usable token."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]
