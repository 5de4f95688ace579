"""Reading an HLS source's own clock while its puller runs: one segment of its playlist, dated
by ``EXT-X-PROGRAM-DATE-TIME``, and the first video timestamp in that segment's bytes.

Every request goes through the pull's origin gate (``ingest.live.gate``), so the clock reader
fetches nothing the puller itself may not; HTTPS passes through the gate's tunnel untouched.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ingest.live.spool import ANCHOR_SEGMENTS, Anchor
from ingest.media.hls_clock import (
    anchor_wall,
    first_timestamps,
    first_variant,
    input_start,
    program_date_times,
)

log = logging.getLogger(__name__)

_PLAYLIST_MAX = 1 << 20
_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class DatedSegment:
    """A segment of the source, the wall-clock time of its first frame, its first video PTS."""

    url: str
    wall: float
    video_pts_s: float


def read_dated_segment(source: str, *, proxy: str, timeout_s: float) -> DatedSegment | None:
    """The newest segment the source dates, or ``None`` when it dates none (or cannot be read
    now: the puller places by arrival then, and says so)."""
    try:
        with httpx.Client(
            proxy=proxy, timeout=timeout_s, follow_redirects=True, trust_env=False
        ) as client:
            url, text = _playlist(client, source)
            variant = first_variant(text, url)
            if variant is not None:
                url, text = _playlist(client, variant)
            stamps = program_date_times(text, url)
            if not stamps:
                return None
            stamp = stamps[-1]
            head = _head(client, stamp.url)
    except (httpx.HTTPError, ValueError) as exc:
        log.info("source clock of %s: %s", source, exc)
        return None
    first = first_timestamps(head)
    if first.video_s is None:
        return None
    return DatedSegment(stamp.url, stamp.wall, first.video_s)


def _playlist(client: httpx.Client, url: str) -> tuple[str, str]:
    with client.stream("GET", url) as answer:
        answer.raise_for_status()
        body = b""
        for chunk in answer.iter_bytes():
            body += chunk
            if len(body) > _PLAYLIST_MAX:
                raise ValueError(f"playlist {url} is over {_PLAYLIST_MAX} bytes")
        return str(answer.url), body.decode("utf-8", errors="replace")


def _head(client: httpx.Client, url: str) -> bytes:
    """The first bytes of a segment (a range request; a server that ignores ranges is read
    only that far)."""
    headers = {"Range": f"bytes=0-{_HEAD_BYTES - 1}"}
    with client.stream("GET", url, headers=headers) as answer:
        answer.raise_for_status()
        head = b""
        for chunk in answer.iter_bytes():
            head += chunk
            if len(head) >= _HEAD_BYTES:
                break
        return head[:_HEAD_BYTES]


PROGRAM_DATE_TIME = "program-date-time"
ARRIVAL = "arrival"
CHECK_EVERY_S = 30.0
"""How often a placed pull's program-date-time is read again and compared."""
JUMP_S = 0.02
"""A program-date-time this far from the stream's own timestamps has jumped (half a frame)."""


class SourceClock:
    """Places one HLS pull on the wall clock by its source's program-date-time, before any of
    its segments is recorded, and keeps comparing the two while it runs.

    The puller asks :meth:`ready` before committing segments: they wait in the spool until the
    input's start is in ffmpeg's log and one dated segment has been read (or ``decide_s`` has
    passed: then they are placed by arrival, as sources without the tag are). A stamp that
    later disagrees with the stream's timestamps (a clock stepped, an encoder restarted) is
    reported in :attr:`note`; nothing recorded moves.
    """

    def __init__(self, source: str, *, proxy: str, timeout_s: float, decide_s: float) -> None:
        self.source, self.proxy, self.timeout_s = source, proxy, timeout_s
        self._deadline = time.monotonic() + decide_s
        self._decided = False
        self._start: float | None = None
        self._wall: float | None = None
        self._next_check = 0.0
        self.note: str | None = None
        self.jumps = 0

    @property
    def placed_by(self) -> str:
        return PROGRAM_DATE_TIME if self._wall is not None else ARRIVAL

    def ready(self, session_dir: Path) -> bool:
        """Whether the session's segments may be recorded now."""
        now = time.monotonic()
        if self._decided:
            if self._wall is not None and now >= self._next_check:
                self._next_check = now + CHECK_EVERY_S
                self._check()
            return True
        self._start = input_start(_read(session_dir / "ffmpeg.log"))
        if self._start is None and now < self._deadline:
            return False
        self._decided = True
        if self._start is None:
            self.note = "placed by arrival: ffmpeg never said where the input starts"
            return True
        dated = read_dated_segment(self.source, proxy=self.proxy, timeout_s=self.timeout_s)
        if dated is None:
            return True  # a source without program-date-time: arrival, as before
        self._wall = anchor_wall(dated.wall, dated.video_pts_s, self._start)
        anchor = Anchor.load(session_dir)
        if anchor.wall is None:
            anchor.wall, anchor.pts = self._wall, 0.0
            anchor.settled, anchor.source = ANCHOR_SEGMENTS, PROGRAM_DATE_TIME
            anchor.save(session_dir)
        self._next_check = time.monotonic() + CHECK_EVERY_S
        return True

    def _check(self) -> None:
        assert self._wall is not None and self._start is not None
        dated = read_dated_segment(self.source, proxy=self.proxy, timeout_s=self.timeout_s)
        if dated is None:
            return
        moved = anchor_wall(dated.wall, dated.video_pts_s, self._start) - self._wall
        if abs(moved) > JUMP_S:
            self.jumps += 1
            self.note = (
                f"program-date-time moved {moved:+.3f} s against the stream's timestamps "
                f"({self.jumps}x); recorded placement kept"
            )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
