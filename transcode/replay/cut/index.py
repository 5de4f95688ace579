"""A piece's packet index, read with PyAV and no decode: keyframes, presentation order, the
measured frame rate, colour tags and audio, and how far to seek into it."""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import av

from transcode.errors import MediaError
from transcode.replay.cut.annexb import length_size_of, parameter_sets
from transcode.replay.cut.frames import CutRequest, Piece, snap_frame_rate

_SEEK_MIN_S = 1.0
"""Inputs are seeked only when the wanted part starts this far in; short pieces are read whole."""


SEEK_MARGIN_S = 1.0
"""How much earlier than needed inputs without an index are seeked (and audio, which may be
stored ahead of its frames)."""


_LOOKAHEAD_PACKETS = 64
"""Packets read past the range's end, to see the next keyframe and the reordering around it."""


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


_NETWORK_PROTOCOLS = "file,pipe,http,https,tcp,tls,crypto,httpproxy"


# AVColorPrimaries / AVColorTransferCharacteristic / AVColorSpace / AVColorRange numbers that
# PyAV reports, by the names the ffmpeg command line takes.
_PRIMARIES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020"}


_TRANSFERS = {
    1: "bt709",
    6: "smpte170m",
    7: "smpte240m",
    13: "iec61966-2-1",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "smpte2084",
    18: "arib-std-b67",
}


_SPACES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc"}


_RANGES = {1: "tv", 2: "pc"}


@dataclass(frozen=True)
class _Packet:
    pts: int
    key: bool
    """A keyframe the decoder can start on (it may still have leading frames)."""
    discard: bool
    """Read but not shown (before an MP4 edit list's start)."""
    size: int


@dataclass(frozen=True)
class _Audio:
    sample_rate: int
    layout: str
    kbps: int


@dataclass(frozen=True)
class IndexedPiece:
    """What the packets of one piece say, around the range."""

    number: int
    piece: Piece
    url: str
    time_base: Fraction
    first_pts: int
    """The piece's first video frame, at ``piece.clock_start_s`` on the event clock."""
    container_start_s: float
    indexed: bool
    """An MP4 or MOV: seeks land exactly on keyframes."""
    codec: str
    width: int
    height: int
    pix_fmt: str
    profile: str | None
    level: int | None
    colors: tuple[tuple[str, str], ...]
    """ffmpeg colour options (``-color_primaries bt709`` ...) for the encoder."""
    interlaced: bool
    nal_length_size: int | None
    """Bytes of each NAL length in length-prefixed (MP4) H.264; ``None`` for Annex B."""
    parameter_sets: bytes
    """SPS and PPS as Annex B, from the stream's extradata."""
    packets: tuple[_Packet, ...]
    """The video packets read, in decode order."""
    frames: tuple[int, ...]
    """Presentation times of the frames shown, in order."""
    clean: frozenset[int]
    """Frames where a closed GOP starts: nothing decoded after them is shown before them."""
    complete: bool
    """Whether the packets run to the end of the piece."""
    audio: _Audio | None

    def time_s(self, pts: int) -> float:
        return self.piece.clock_start_s + float((pts - self.first_pts) * self.time_base)

    def kbps(self, first: int, last: int, rate: Fraction) -> int:
        """The bitrate the source spends on frames ``first..last``, counting one keyframe more
        when they do not start on one (a re-encoded part must)."""
        wanted = set(self.frames[first : last + 1])
        sizes = {p.pts: p.size for p in self.packets if not p.discard}
        spent = sum(size for pts, size in sizes.items() if pts in wanted)
        if self.frames[first] not in self.clean:
            keys = [p for p in self.packets if p.key and p.pts <= self.frames[first]]
            spent += keys[-1].size if keys else 0
        return round(spent * 8 * rate / (last - first + 1) / 1000)

    def gop(self) -> int | None:
        """The usual distance between keyframes, in frames."""
        keys = [i for i, pts in enumerate(self.frames) if pts in self.clean]
        gaps = [b - a for a, b in itertools.pairwise(keys)]
        return int(statistics.median_low(gaps)) if gaps else None


@dataclass(frozen=True)
class Run:
    """Consecutive frames of one source, copied or re-encoded."""

    source: IndexedPiece
    first: int
    """Index of the first frame in ``source.frames``."""
    last: int
    copy: bool

    @property
    def frames(self) -> int:
        return self.last - self.first + 1


def count_missing_frames(
    selections: Sequence[tuple[IndexedPiece, int, int]], request: CutRequest, rate: Fraction
) -> int:
    times: list[float] = []
    for source, first, last in selections:
        times += [source.time_s(source.frames[i]) for i in range(first, last + 1)]
    missing = max(0, math.floor((times[0] - request.start_s) * rate + 0.5))
    missing += max(0, math.ceil((request.end_s - times[-1]) * rate - 0.5 - 1e-6) - 1)
    for before, after in itertools.pairwise(times):
        missing += max(0, math.floor((after - before) * rate + 0.5) - 1)
    return missing


def as_url(uri: str) -> str:
    """What ffmpeg and PyAV open: URLs as they are, paths with ``file:`` (so no ``:`` in a file
    name reads as a protocol)."""
    return uri if _URL.match(uri) or uri.startswith("file:") else f"file:{uri}"


def protocols_for(runs: Sequence[Run]) -> str:
    if any(_URL.match(run.source.piece.uri) for run in runs):
        return _NETWORK_PROTOCOLS
    return "file,pipe"


def index_piece(number: int, piece: Piece, low_s: float, high_s: float) -> IndexedPiece:
    """Read the video packets of ``piece`` around the event-clock window ``[low_s, high_s)``."""
    url = as_url(piece.uri)
    try:
        with av.open(url, metadata_errors="ignore") as container:
            source = _index_container(number, piece, url, container, low_s, high_s, seek=True)
        if source is None:  # the seek landed past the range's start: read from the start
            with av.open(url, metadata_errors="ignore") as container:
                source = _index_container(number, piece, url, container, low_s, high_s, seek=False)
    except av.FFmpegError as exc:
        reason = str(getattr(exc, "strerror", None) or exc).lower()
        raise MediaError(f"piece {number} ({piece.uri}): not readable media ({reason})") from exc
    if source is None:
        raise MediaError(f"piece {number} ({piece.uri}): its frames cannot be found by time")
    return source


def _index_container(
    number: int,
    piece: Piece,
    url: str,
    container: av.container.InputContainer,
    low_s: float,
    high_s: float,
    *,
    seek: bool,
) -> IndexedPiece | None:
    """The index, or ``None`` when a seek landed after ``low_s``."""
    if not container.streams.video:
        raise MediaError(f"piece {number} ({piece.uri}): no video stream")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    container_start = container.start_time / 1_000_000 if container.start_time is not None else 0.0
    start_pts = stream.start_time
    seeked = False
    if start_pts is not None and seek:
        # Seek only into long pieces; the demuxer lands on a keyframe at or before the target.
        target = start_pts + (low_s - piece.clock_start_s - SEEK_MARGIN_S) / time_base
        if target > start_pts + _SEEK_MIN_S / time_base:
            container.seek(int(target), stream=stream, backward=True, any_frame=False)
            seeked = True
    high_pts = None if start_pts is None else start_pts + (high_s - piece.clock_start_s) / time_base
    packets: list[_Packet] = []
    complete = True
    past_end = 0
    for packet in container.demux(stream):
        if packet.pts is None or not packet.size:
            continue
        packets.append(_Packet(packet.pts, packet.is_keyframe, packet.is_discard, packet.size))
        if past_end:
            past_end += 1
        elif high_pts is not None and packet.is_keyframe and packet.pts >= high_pts:
            past_end = 1
        if past_end > _LOOKAHEAD_PACKETS:
            complete = False
            break
    shown = [p.pts for p in packets if not p.discard]
    if not shown:
        raise MediaError(f"piece {number} ({piece.uri}): no video frames")
    first_s = piece.clock_start_s + float((min(shown) - (start_pts or 0)) * time_base)
    if seeked and first_s > low_s:
        return None
    if start_pts is None or (not seeked and min(shown) != start_pts):
        start_pts = min(shown)
    return IndexedPiece(
        number=number,
        piece=piece,
        url=url,
        time_base=time_base,
        first_pts=start_pts,
        container_start_s=container_start,
        indexed="mp4" in container.format.name or "mov" in container.format.name,
        codec=ctx.name,
        width=ctx.width,
        height=ctx.height,
        pix_fmt=ctx.pix_fmt or "yuv420p",
        profile=ctx.profile,
        level=ctx.level if ctx.level and ctx.level > 0 else None,
        colors=_colors(ctx),
        interlaced=getattr(ctx, "field_order", 0) in {2, 3, 4, 5},
        nal_length_size=length_size_of(bytes(ctx.extradata or b"")),
        parameter_sets=parameter_sets(bytes(ctx.extradata or b"")),
        packets=tuple(packets),
        frames=tuple(sorted(shown)),
        clean=_clean_keyframes(packets),
        complete=complete,
        audio=_audio(container),
    )


def _clean_keyframes(packets: Sequence[_Packet]) -> frozenset[int]:
    """Keyframes that start a closed GOP: every packet decoded before them is shown before them
    and every one decoded after is shown after (no leading frames of an open GOP)."""
    suffix_min = [2**63] * (len(packets) + 1)
    for i in range(len(packets) - 1, -1, -1):
        suffix_min[i] = min(packets[i].pts, suffix_min[i + 1])
    clean: set[int] = set()
    prefix_max = -(2**63)
    for i, packet in enumerate(packets):
        if packet.key and not packet.discard and prefix_max < packet.pts <= suffix_min[i + 1]:
            clean.add(packet.pts)
        prefix_max = max(prefix_max, packet.pts)
    return frozenset(clean)


def measure_rate(source: IndexedPiece) -> Fraction:
    """The frame rate from the frames' timestamps (the usual spacing), snapped to a standard."""
    deltas = [b - a for a, b in itertools.pairwise(source.frames)]
    if not deltas:
        raise MediaError(
            f"piece {source.number} ({source.piece.uri}): too few frames to measure the frame "
            "rate; pass frame_rate"
        )
    usual = statistics.median_low(deltas)
    near = [d for d in deltas if abs(d - usual) <= usual / 10]
    spacing = Fraction(sum(near), len(near)) * source.time_base
    return snap_frame_rate(float(1 / spacing))


def _colors(ctx: object) -> tuple[tuple[str, str], ...]:
    found = []
    for option, attribute, names in [
        ("-color_primaries", "color_primaries", _PRIMARIES),
        ("-color_trc", "color_trc", _TRANSFERS),
        ("-colorspace", "colorspace", _SPACES),
        ("-color_range", "color_range", _RANGES),
    ]:
        name = names.get(int(getattr(ctx, attribute, 0) or 0))
        if name:
            found.append((option, name))
    return tuple(found)


def _audio(container: av.container.InputContainer) -> _Audio | None:
    if not container.streams.audio:
        return None
    ctx = container.streams.audio[0].codec_context
    channels = max(1, ctx.channels or 2)
    layout = ctx.layout.name if ctx.layout is not None else ""
    if not layout or " " in layout:  # "2 channels": an unnamed layout the filters refuse
        layout = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(channels, "stereo")
    kbps = round((ctx.bit_rate or 0) / 1000) or 64 * channels
    return _Audio(sample_rate=ctx.sample_rate or 48000, layout=layout, kbps=min(kbps, 512))


def seek_target(source: IndexedPiece, pts: int, *, early_s: float = 0.0) -> float | None:
    """The raw time to seek to (landing on a keyframe at or before it) before reading frame
    ``pts`` and what it needs; ``None`` when that is too near the start to be worth a seek.

    An MP4 or MOV index lands exactly on the keyframe. Other containers (MPEG-TS) are searched by
    timestamps and may land a few packets off, so they seek a margin earlier.
    """
    keys = [p.pts for p in source.packets if p.key and p.pts <= pts]
    if not keys:
        return None
    margin = 0.0005 if source.indexed else -SEEK_MARGIN_S
    target = float(max(keys) * source.time_base) + margin - early_s
    return target if target - source.container_start_s > _SEEK_MIN_S else None


def seek_seconds(source: IndexedPiece, pts: int, *, early_s: float = 0.0) -> float | None:
    """:func:`seek_target` as ffmpeg's input ``-ss``: counted from the file's start."""
    target = seek_target(source, pts, early_s=early_s)
    return None if target is None else target - source.container_start_s
