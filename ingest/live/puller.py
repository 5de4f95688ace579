"""One feed's puller: runs ffmpeg against the source, records segments as they close,
reconnects with backoff, and keeps the feed's state honest."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from catalog import access, services, states
from catalog.models import FeedState, utcnow
from infra.core.database import session_scope
from infra.core.queue import send_webhooks_after_commit
from ingest.live.gate import OriginGate, allowed_origins
from ingest.live.source_clock import SourceClock
from ingest.live.spool import Anchor, Committed, LiveRuntime, commit_ready, drain
from ingest.media.segmenter import (
    LIST_NAME,
    ClosedSegment,
    PullOptions,
    needs_mezzanine,
    parse_segment_list,
    protocol_of,
    puller_args,
)

log = logging.getLogger(__name__)

_TICK_S = 0.2
_PROBLEM = re.compile(r"\[(?:warning|error|fatal|panic)\]\s*")
_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})


def new_session_name() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")


class FeedPuller(threading.Thread):
    """Pulls one feed until :meth:`stop` is called or the source never answers."""

    def __init__(self, feed_id: str, runtime: LiveRuntime) -> None:
        super().__init__(name=f"puller-{feed_id[:8]}", daemon=True)
        self.feed_id = feed_id
        self.runtime = runtime
        self._stop_requested = threading.Event()
        self._stop_reason = "stopped by operator"
        self._last_state: tuple[FeedState, str | None] | None = None

    def stop(self, reason: str = "stopped by operator") -> None:
        self._stop_reason = reason
        self._stop_requested.set()

    # -- state ---------------------------------------------------------------------------------

    def _set_state(self, state: FeedState, detail: str | None = None) -> None:
        if self._last_state == (state, detail):
            return
        self._last_state = (state, detail)
        log.info("feed %s: %s %s", self.feed_id[:8], state.value, detail or "")
        deliveries: list[str] = []
        with session_scope(self.runtime.sessions) as session:
            feed = services.get_feed(self.feed_id, session=session)
            went_live = state is FeedState.LIVE and feed.state is not FeedState.LIVE
            states.report_feed(feed, state, detail)
            asset = services.live_asset(feed, session=session)
            if state is FeedState.LIVE:
                states.start_recording(asset)
            if went_live:
                session.flush()
                payload = {
                    "feed_id": feed.id,
                    "event_id": feed.event_id,
                    "feed": feed.name,
                    "asset_id": asset.id,
                }
                deliveries = access.notify_in_rights(
                    "feed.live", payload, session=session, now=utcnow(), asset_id=asset.id
                )
            elif state in (FeedState.STOPPED, FeedState.FAILED):
                states.end_recording(asset)
                services.index_asset(asset, session=session)
            send_webhooks_after_commit(session, self.runtime.settings, deliveries)

    def _feed(self) -> tuple[str, bool]:
        with session_scope(self.runtime.sessions) as session:
            feed = services.get_feed(self.feed_id, session=session)
            return feed.source or "", feed.mezzanine

    def _set_mezzanine(self) -> None:
        with session_scope(self.runtime.sessions) as session:
            feed = services.get_feed(self.feed_id, session=session)
            feed.mezzanine = True

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        live = self.runtime.settings.live
        failures, backoff, reason = 0, 1.0, "feed started"
        ever_live = False
        feed_dir = self.runtime.settings.spool_dir / self.feed_id
        drain(self.runtime, self.feed_id)
        while not self._stop_requested.is_set():
            if not self._spool_has_room(feed_dir):
                reason = "spool disk full"
                continue
            source, mezzanine = self._feed()
            session_dir = feed_dir / new_session_name()
            session_dir.mkdir(parents=True, exist_ok=True)
            Anchor(reason=reason).save(session_dir)
            options = PullOptions(
                segment_s=live.segment_s, mezzanine=mezzanine, timeout_s=live.timeout_s
            )
            self._set_state(
                FeedState.CONNECTING, f"connecting to {source} (attempt {failures + 1})"
            )
            got_any, why, closed = self._pull(source, session_dir, options)
            if self._stop_requested.is_set():
                break
            if not mezzanine and needs_mezzanine(closed, live.segment_s):
                self._set_mezzanine()
                reason = "switched to a mezzanine re-encode: the source's GOP is too long"
                continue
            if got_any:
                ever_live, failures, backoff = True, 0, 1.0
                reason = f"source dropped: {why}"
            else:
                failures += 1
            # A camera that was on air is retried for as long as the operator wants it; one
            # that never answered is given up on, so a typo in a URL does not spin forever.
            if not ever_live and failures >= live.give_up_after:
                self._set_state(
                    FeedState.FAILED, f"never connected after {failures} attempts: {why}"
                )
                break
            self._set_state(FeedState.CONNECTING, f"{why}; reconnecting in {backoff:.0f} s")
            self._stop_requested.wait(backoff)
            backoff = min(backoff * 2, live.reconnect_max_s)
        if self._stop_requested.is_set():
            self._set_state(FeedState.STOPPED, self._stop_reason)
        drain(self.runtime, self.feed_id)

    def _spool_has_room(self, feed_dir: Path) -> bool:
        """Refuse to pull onto a nearly full spool: say so, drain what is there, wait."""
        feed_dir.mkdir(parents=True, exist_ok=True)
        free_mb = shutil.disk_usage(feed_dir).free // (1024 * 1024)
        needed = self.runtime.settings.live.min_free_spool_mb
        if free_mb >= needed:
            return True
        self._set_state(
            FeedState.STALLED, f"spool disk full: {free_mb} MB free, {needed} MB needed"
        )
        drain(self.runtime, self.feed_id)
        self._stop_requested.wait(2.0)
        return False

    def _pull(
        self, source: str, session_dir: Path, options: PullOptions
    ) -> tuple[bool, str, list[ClosedSegment]]:
        """Run one ffmpeg connection: whether it delivered any segment, why it ended, and the
        segments it closed."""
        with contextlib.ExitStack() as stack:
            gate = None
            if protocol_of(source) == "hls":
                live = self.runtime.settings.live
                allowed = allowed_origins(source, live.hls_origins)
                gate = stack.enter_context(OriginGate(allowed, timeout_s=live.timeout_s))
                options = replace(options, http_proxy=gate.url)
            clock = None
            if gate is not None and live.source_clock:
                clock = SourceClock(
                    source,
                    proxy=gate.url,
                    timeout_s=live.timeout_s,
                    decide_s=live.timeout_s + 4 * live.segment_s,
                )
            got_any, why, closed = self._run_ffmpeg(source, session_dir, options, clock)
            refused = gate.summary() if gate else None
        if refused:
            why = refused if not got_any else f"{why}; {refused}"
        return got_any, why, closed

    def _run_ffmpeg(
        self,
        source: str,
        session_dir: Path,
        options: PullOptions,
        clock: SourceClock | None = None,
    ) -> tuple[bool, str, list[ClosedSegment]]:
        live = self.runtime.settings.live
        argv = [self.runtime.ffmpeg, *puller_args(source, session_dir, options)]
        stderr = (session_dir / "ffmpeg.log").open("wb")
        # No proxy settings of this process reach ffmpeg: ``no_proxy`` would let a playlist
        # naming a listed host past the origin gate.
        env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARIABLES}
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, env=env
        )
        stderr.close()
        got_any, last_progress, started = False, time.monotonic(), time.monotonic()
        format_note: str | None = None
        give_up = max(live.timeout_s * 2, live.segment_s * 4, 10.0)
        try:
            while True:
                # Segments wait in the spool until the source's clock has placed the session.
                if clock is None or clock.ready(session_dir):
                    done = commit_ready(self.runtime, self.feed_id, session_dir, final=False)
                else:
                    done = Committed(0)
                now = time.monotonic()
                if done.count:
                    got_any, last_progress = True, now
                if done.storage_problem:
                    self._set_state(
                        FeedState.LIVE, f"storage unavailable, spooling: {done.storage_problem}"
                    )
                elif done.format_change:
                    format_note = done.format_change
                    self._set_state(FeedState.LIVE, format_note)
                elif done.count:
                    detail = (
                        format_note
                        or (clock.note if clock else None)
                        or (
                            "mezzanine re-encode (source GOP too long)"
                            if options.mezzanine
                            else None
                        )
                    )
                    self._set_state(FeedState.LIVE, detail)
                if proc.poll() is not None or self._stop_requested.is_set():
                    break
                silent = now - (last_progress if got_any else started)
                if got_any and silent > live.stall_after_s:
                    self._set_state(FeedState.STALLED, f"no segment for {silent:.0f} s")
                if silent > give_up:
                    proc.kill()
                    break
                time.sleep(_TICK_S)
        finally:
            _finish(proc)
        why = _last_error(session_dir / "ffmpeg.log") or f"ffmpeg exited ({proc.returncode})"
        closed = parse_segment_list(_read(session_dir / LIST_NAME))
        if clock is not None:
            clock.ready(session_dir)  # decided now, if it was not: the rest is recorded below
        # The puller is gone: what it left (including a half-written last segment) is recorded.
        done = commit_ready(self.runtime, self.feed_id, session_dir, final=True)
        if done.storage_problem:
            log.warning(
                "feed %s: segments left in the spool: %s", self.feed_id[:8], done.storage_problem
            )
        return got_any or done.count > 0, why, closed


def _finish(proc: subprocess.Popen[bytes]) -> None:
    """Ask ffmpeg to close its current segment (SIGINT), then insist."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _last_error(log_path: Path) -> str | None:
    """ffmpeg's last warning or error (every line carries its level), without the tag."""
    lines = [line.strip() for line in _read(log_path).splitlines() if line.strip()]
    for line in reversed(lines):
        found = _PROBLEM.search(line)
        if found:
            return line[found.end() :][:300] or None
    return None
