"""Placing an HLS source on the wall clock from its own time: ``EXT-X-PROGRAM-DATE-TIME``.

An HLS encoder stamps each segment with the wall-clock time of its first frame (RFC 8216,
4.3.2.6). The puller's ffmpeg reads the source's MPEG-TS timestamps and writes them less the
input's start (``start:`` in its log: the smallest first timestamp of its streams). So with one
segment's stamp, its first video timestamp and the input's start, every recorded frame has a
wall-clock time, whatever the network and the machine did to arrival times::

    wall(t) = PDT(segment) + (t + start - first_video_pts(segment))

where ``t`` is a time in the puller's output. Pure: texts and bytes in, numbers out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

_PTS_WRAP = 2**33 / 90_000
"""MPEG-TS timestamps are 33 bits of a 90 kHz clock: they wrap every 26.5 hours."""
_TS_PACKET = 188
_START = re.compile(r"Duration: [^,]*, start: (-?\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Stamp:
    """A segment of the source and the wall-clock time (epoch seconds) of its first frame."""

    url: str
    wall: float


@dataclass(frozen=True)
class FirstTimestamps:
    """The first presentation timestamps (seconds) of a TS segment's video and audio."""

    video_s: float | None
    audio_s: float | None


def program_date_times(playlist: str, base_url: str) -> list[Stamp]:
    """Every segment of a media playlist with its wall-clock time: a program-date-time tag
    dates the segment after it, and the segments following it are dated by adding their
    durations, until the next tag. Segments before the first tag are left out."""
    stamps: list[Stamp] = []
    wall: float | None = None
    duration = 0.0
    for line in (raw.strip() for raw in playlist.splitlines()):
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            wall = parse_date_time(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            try:
                duration = float(line.split(":", 1)[1].split(",", 1)[0])
            except ValueError:
                duration = 0.0
        elif line.startswith("#EXT-X-DISCONTINUITY") and not line.startswith(
            "#EXT-X-DISCONTINUITY-SEQUENCE"
        ):
            wall = None  # a new timeline: dated again only by its own tag
        elif line and not line.startswith("#"):
            if wall is not None:
                stamps.append(Stamp(urljoin(base_url, line), wall))
                wall += duration
            duration = 0.0
    return stamps


def parse_date_time(text: str) -> float | None:
    """An ISO 8601 date-time with a zone (``2026-08-09T19:30:14.120Z``), as epoch seconds."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # RFC 8216 asks for a zone; a time without one names no instant
    return moment.timestamp()


def first_variant(playlist: str, base_url: str) -> str | None:
    """The first variant of a master playlist (the one the puller maps), or ``None`` for a
    media playlist."""
    lines = [raw.strip() for raw in playlist.splitlines()]
    for index, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF"):
            uri = next((u for u in lines[index + 1 :] if u and not u.startswith("#")), None)
            return urljoin(base_url, uri) if uri else None
    return None


def first_timestamps(head: bytes) -> FirstTimestamps:
    """The first video and audio PTS in the start of an MPEG-TS segment (PES stream ids
    0xE0-0xEF are video, 0xC0-0xDF audio)."""
    video = audio = None
    start = _sync(head)
    for at in range(start, len(head) - _TS_PACKET + 1, _TS_PACKET):
        packet = head[at : at + _TS_PACKET]
        if packet[0] != 0x47 or not packet[1] & 0x40:  # not a packet, or no PES starts here
            continue
        control = (packet[3] >> 4) & 0x3
        offset = 4 + (1 + packet[4] if control & 0x2 else 0)
        payload = packet[offset:] if control & 0x1 else b""
        if len(payload) < 14 or payload[:3] != b"\x00\x00\x01" or not payload[7] & 0x80:
            continue
        stream_id, pts = payload[3], _pts(payload[9:14])
        if 0xE0 <= stream_id <= 0xEF and video is None:
            video = pts
        elif 0xC0 <= stream_id <= 0xDF and audio is None:
            audio = pts
        if video is not None and audio is not None:
            break
    return FirstTimestamps(video, audio)


def input_start(log: str) -> float | None:
    """The input's start (seconds) from an ffmpeg log at ``info`` level."""
    found = _START.search(log)
    return float(found.group(1)) if found else None


def anchor_wall(stamp_wall: float, video_pts_s: float, start_s: float) -> float:
    """The wall-clock time of the puller's output time zero (see the module's formula); the
    difference of two timestamps is taken across a 33-bit wrap."""
    delta = (start_s - video_pts_s) % _PTS_WRAP
    if delta > _PTS_WRAP / 2:
        delta -= _PTS_WRAP
    return stamp_wall + delta


def _pts(field: bytes) -> float:
    value = (
        ((field[0] >> 1) & 0x07) << 30
        | field[1] << 22
        | (field[2] >> 1) << 15
        | field[3] << 7
        | field[4] >> 1
    )
    return value / 90_000


def _sync(head: bytes) -> int:
    """Where the packets start: the first 0x47 followed by another a packet later."""
    for at in range(min(len(head), _TS_PACKET)):
        if head[at] == 0x47 and (at + _TS_PACKET >= len(head) or head[at + _TS_PACKET] == 0x47):
            return at
    return 0
