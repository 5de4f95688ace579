"""Frame-accurate angle cuts: one camera's recording, one time range of the event clock, one clip.

A recording is an ordered list of :class:`Piece` objects: one for a file recording (its original
MP4 or MOV), many for a live recording (2 s MPEG-TS segments, each starting on a keyframe, back to
back or with gaps). A frame's event-clock time is its piece's ``clock_start_s`` plus its
presentation time after the piece's first video frame.

**Which frames.** :class:`CutRequest` ``(start_s, end_s)`` takes the frames whose event-clock time
lies in ``[start_s - half a frame, end_s - half a frame)``: the first frame is the first one at or
after ``start_s - half a frame``, the last is the last one before ``end_s - half a frame``. So a
request on frame times gives exactly ``(end_s - start_s) * frame rate`` frames, and a time a little
off a frame still picks the nearest one.

**Smart cut.** Only the pieces overlapping the range are read, and only their packets are looked at
(PyAV, no decode) to find the keyframes. Whole GOPs inside the range are stream-copied; the head
(from the first wanted frame to the next keyframe) and the tail (from the last keyframe in the range
to the last wanted frame) are re-encoded with libx264 at the source's profile, level, size, pixel
format, colour tags and frame rate, and at the bitrate the source spends on those very frames (plus
one keyframe, which a re-encoded part must start with). The head and tail run side by side, with
the audio. A range that holds no whole GOP is re-encoded whole. A source that is not H.264 (HEVC,
say) or is interlaced is re-encoded whole, as H.264: only H.264 parts can be joined to H.264
parts, and field coding is not mixed with frame coding.

**The join.** Every part is read as H.264 Annex B with its parameter sets in band (the re-encoded
parts come from ffmpeg as MPEG-TS; copied MP4 packets are rewritten from length-prefixed to start
codes, and each copied keyframe gets its piece's SPS and PPS when it has none), then muxed by PyAV
into one MP4 with ``+faststart``. Each part's frames are given new timestamps in presentation
order, one frame apart from 0; decode timestamps are one frame apart too, shifted by the largest
reordering depth of any part, so they rise strictly across the joins even where the parts' B-frame
layouts differ. Nothing is decoded or re-encoded in the join. The clip is then checked: the
expected number of frames, evenly spaced from 0.

**Audio.** When the pieces have audio, the audio under the chosen frames is re-encoded as AAC by
one ffmpeg run and muxed in: each stretch is trimmed by the file's own timestamps, padded with
silence where a piece has none. Live pieces that continue one stream are read as one input, since
the audio under a segment's last frames is stored in the next segment.

**Gaps.** Frames are what the pieces hold: a range across a gap between pieces gives a clip with
the gap closed up, and :attr:`AngleCut.missing_frames` says how many frame slots the gap held.

**Frame numbers.** :attr:`AngleCut.first_source_frame` and ``last_source_frame`` are frame slots on
the recording's clock, counted from the start of piece 0: ``round((time - pieces[0].clock_start_s)
* frame_rate)``. For back-to-back pieces that is the frame's index in the whole recording; across a
gap it counts the frames the gap would have held. No piece before the range is read to know it.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import statistics
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from transcode.errors import MediaError
from transcode.ffmpeg import ProgressCallback, base_args, run_ffmpeg

PRESET = "veryfast"
"""x264 preset of the re-encoded parts: the head and tail are at most a GOP each."""

_SLACK_S = 0.25
"""How far a piece's real span may differ from its nominal one (a rounded catalog duration)."""
_SEEK_MIN_S = 1.0
"""Inputs are seeked only when the wanted part starts this far in; short pieces are read whole."""
_SEEK_MARGIN_S = 1.0
"""How much earlier than needed inputs without an index are seeked (and audio, which may be
stored ahead of its frames)."""
_LOOKAHEAD_PACKETS = 64
"""Packets read past the range's end, to see the next keyframe and the reordering around it."""
_TIE_S = 1e-9
_MIN_KBPS = 50
_SHORT_PART_S = 5.0
"""Parts shorter than this are encoded without x264's macroblock tree, which starves the last
frames of a short one-pass encode."""
_MAX_PARALLEL = 4
_NTSC_RATES = tuple(Fraction(n * 1000, 1001) for n in (24, 30, 60, 120))
_STANDARD_RATES = (*_NTSC_RATES, *(Fraction(n) for n in (24, 25, 30, 48, 50, 60, 100, 120)))
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_NETWORK_PROTOCOLS = "file,pipe,http,https,tcp,tls,crypto,httpproxy"
_X264_PROFILES = {
    "baseline": "baseline",
    "constrained baseline": "baseline",
    "main": "main",
    "extended": "main",
    "high": "high",
    "high 10": "high10",
    "high 10 intra": "high10",
    "high 4:2:2": "high422",
    "high 4:2:2 intra": "high422",
    "high 4:4:4": "high444",
    "high 4:4:4 predictive": "high444",
    "high 4:4:4 intra": "high444",
}
_X264_PIX_FMTS = {
    "yuv420p",
    "yuv422p",
    "yuv444p",
    "nv12",
    "nv16",
    "nv21",
    "yuv420p10le",
    "yuv422p10le",
    "yuv444p10le",
    "gray",
}
_FULL_RANGE_PIX_FMTS = {"yuvj420p": "yuv420p", "yuvj422p": "yuv422p", "yuvj444p": "yuv444p"}
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
_NAL_SPS, _NAL_PPS, _NAL_AUD = 7, 8, 9
_START_CODE = b"\x00\x00\x00\x01"


@dataclass(frozen=True)
class Piece:
    """One file of a camera's recording, placed on the event clock."""

    uri: str
    """A local path or an http(s) URL (a presigned object-store URL, say)."""
    clock_start_s: float
    """Event-clock time of the piece's first video frame."""
    duration_s: float

    @property
    def clock_end_s(self) -> float:
        return self.clock_start_s + self.duration_s


@dataclass(frozen=True)
class CutRequest:
    """A time range on the event clock; see the module docstring for the frames it picks."""

    start_s: float
    end_s: float


@dataclass(frozen=True)
class AngleCut:
    """The clip cut for one angle: an MP4, H.264 and (when the source has it) AAC."""

    path: Path
    first_time_s: float
    """Event-clock time of the clip's first frame."""
    frames: int
    frame_rate: Fraction
    width: int
    height: int
    copied_frames: int
    """Frames stream-copied from the source, untouched."""
    encoded_frames: int
    """Frames re-encoded (the head and the tail, or the whole range)."""
    first_source_frame: int
    """Frame slot of the first frame on the recording's clock, from the start of piece 0."""
    last_source_frame: int
    missing_frames: int
    """Frame slots of the range with no recorded frame (gaps between pieces), closed up."""
    audio: bool
    """Whether the clip has an AAC track."""


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
class _Source:
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
class _Run:
    """Consecutive frames of one source, copied or re-encoded."""

    source: _Source
    first: int
    """Index of the first frame in ``source.frames``."""
    last: int
    copy: bool

    @property
    def frames(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class VideoSpec:
    """What the re-encoded parts are made as, so they join the copied ones."""

    width: int
    height: int
    pix_fmt: str
    profile: str
    level: int | None
    kbps: int
    gop: int
    frame_rate: Fraction
    colors: tuple[tuple[str, str], ...] = ()


def frame_window(request: CutRequest, frame_rate: Fraction) -> tuple[float, float]:
    """The event-clock window ``[start, end)`` whose frames a request takes.

    Both ends move back by half a frame, so a frame lying exactly on ``start_s`` is the first frame
    and one lying exactly on ``end_s`` is not taken.
    """
    half = float(1 / frame_rate) / 2
    return request.start_s - half - _TIE_S, request.end_s - half - _TIE_S


def choose_frames(
    times: Sequence[float], request: CutRequest, frame_rate: Fraction
) -> tuple[int, int] | None:
    """First and last index (inclusive) of the ``times`` (ascending) that ``request`` takes."""
    low, high = frame_window(request, frame_rate)
    first = bisect.bisect_left(times, low)
    end = bisect.bisect_left(times, high)
    if end <= first:
        return None
    return first, end - 1


def snap_frame_rate(rate: float) -> Fraction:
    """``rate`` as an exact fraction, snapped to a broadcast rate within 0.1 %."""
    for standard in _STANDARD_RATES:
        if abs(rate / float(standard) - 1) < 0.001:
            return standard
    return Fraction(rate).limit_denominator(1001)


def cut_angle(
    ffmpeg: str,
    pieces: Sequence[Piece],
    request: CutRequest,
    out: Path,
    *,
    frame_rate: Fraction | None = None,
    timeout_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    preset: str = PRESET,
    two_pass: bool = False,
) -> AngleCut:
    """Cut ``request`` from the recording ``pieces`` into the MP4 ``out``, frame-accurately.

    Whole GOPs are stream-copied and only the frames before the first and after the last keyframe
    of the range are re-encoded (see the module docstring). ``frame_rate`` is the recording's rate
    when known, else it is measured from the timestamps. ``timeout_s`` limits each ffmpeg run.
    ``two_pass`` encodes the re-encoded parts in two passes: about 1.7 times the work, for a
    bitrate that matches the source's even on a few frames of a starved (low-bitrate) source,
    where one pass falls short by a quarter. Raises :class:`MediaError` for a range that is
    empty, outside the recording or inside a gap, and for unreadable pieces;
    :class:`FFmpegError` when ffmpeg fails.
    """
    options = _Options(preset, two_pass, timeout_s, smart=True)
    return _cut(ffmpeg, pieces, request, out, frame_rate, on_progress, options)


def naive_cut(
    ffmpeg: str,
    pieces: Sequence[Piece],
    request: CutRequest,
    out: Path,
    *,
    frame_rate: Fraction | None = None,
    timeout_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    preset: str = PRESET,
    two_pass: bool = False,
) -> AngleCut:
    """Like :func:`cut_angle`, but every frame of the range is re-encoded (the plain way, for
    comparison): the same frames, encoder settings and join, no stream copy."""
    options = _Options(preset, two_pass, timeout_s, smart=False)
    return _cut(ffmpeg, pieces, request, out, frame_rate, on_progress, options)


@dataclass(frozen=True)
class _Options:
    preset: str
    two_pass: bool
    timeout_s: float | None
    smart: bool


def _cut(
    ffmpeg: str,
    pieces: Sequence[Piece],
    request: CutRequest,
    out: Path,
    frame_rate: Fraction | None,
    on_progress: ProgressCallback | None,
    options: _Options,
) -> AngleCut:
    candidates = _check_request(pieces, request)
    rate = frame_rate
    selections: list[tuple[_Source, int, int]] = []
    previous_end: float | None = None
    for number in candidates:
        if rate is None:
            low, high = request.start_s, request.end_s
        else:
            low, high = frame_window(request, rate)
        source = _index(number, pieces[number], low, high)
        if rate is None:
            rate = _measure_rate(source)
        _check_bounds(pieces, request, rate)
        times = [source.time_s(pts) for pts in source.frames]
        chosen = choose_frames(times, request, rate)
        if chosen is None:
            continue
        first, last = chosen
        if previous_end is not None:
            # Pieces that overlap on the clock: keep time moving forward.
            first = max(first, bisect.bisect_left(times, previous_end))
            if first > last:
                continue
        selections.append((source, first, last))
        previous_end = times[last] + float(1 / rate) / 2
    if rate is None or not selections:
        raise MediaError(
            f"range {request.start_s:g}-{request.end_s:g} s holds no recorded frame "
            "(it falls in a gap between pieces)"
        )
    copy = options.smart and _can_copy([s for s, _, _ in selections])
    runs = _plan_runs(selections, smart=copy)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".angle-cut-", dir=out.parent) as tmp:
        work = Path(tmp)
        chunks = _audio_chunks(selections, pieces, rate)
        clip = _render(ffmpeg, runs, chunks, rate, work, on_progress, options)
        clip.replace(out)
    first_source, first_index, _ = selections[0]
    last_source, _, last_index = selections[-1]
    first_time = first_source.time_s(first_source.frames[first_index])
    last_time = last_source.time_s(last_source.frames[last_index])
    frames = sum(run.frames for run in runs)
    origin = pieces[0].clock_start_s
    target = selections[0][0]
    return AngleCut(
        path=out,
        first_time_s=first_time,
        frames=frames,
        frame_rate=rate,
        width=target.width,
        height=target.height,
        copied_frames=sum(run.frames for run in runs if run.copy),
        encoded_frames=sum(run.frames for run in runs if not run.copy),
        first_source_frame=round((first_time - origin) * rate),
        last_source_frame=round((last_time - origin) * rate),
        missing_frames=_missing_frames(selections, request, rate),
        audio=any(s.audio is not None for s, _, _ in selections),
    )


def _check_request(pieces: Sequence[Piece], request: CutRequest) -> list[int]:
    """Refuse a range that cannot hold a frame; return the numbers of the pieces it overlaps."""
    if not (math.isfinite(request.start_s) and math.isfinite(request.end_s)):
        raise MediaError(f"range {request.start_s}-{request.end_s} s is not a time range")
    if request.end_s <= request.start_s:
        raise MediaError(
            f"range {request.start_s:g}-{request.end_s:g} s is empty or runs backwards"
        )
    if not pieces:
        raise MediaError("the recording has no pieces")
    for number, piece in enumerate(pieces):
        if not piece.duration_s > 0 or not math.isfinite(piece.clock_start_s):
            raise MediaError(f"piece {number} ({piece.uri}) has no duration or no clock time")
        if number and piece.clock_start_s < pieces[number - 1].clock_start_s:
            raise MediaError(f"piece {number} ({piece.uri}) starts before the one before it")
    begin, finish = pieces[0].clock_start_s, pieces[-1].clock_end_s
    if request.end_s <= begin or request.start_s >= finish:
        raise MediaError(
            f"range {request.start_s:g}-{request.end_s:g} s is outside the recording "
            f"({begin:g}-{finish:g} s on the event clock)"
        )
    candidates = [
        number
        for number, piece in enumerate(pieces)
        if piece.clock_start_s < request.end_s and piece.clock_end_s + _SLACK_S > request.start_s
    ]
    if not candidates:
        raise MediaError(
            f"range {request.start_s:g}-{request.end_s:g} s falls in a gap between pieces"
        )
    return candidates


def _check_bounds(pieces: Sequence[Piece], request: CutRequest, rate: Fraction) -> None:
    half = float(1 / rate) / 2
    begin, finish = pieces[0].clock_start_s, pieces[-1].clock_end_s
    if request.start_s < begin - half or request.end_s > finish + half:
        raise MediaError(
            f"range {request.start_s:g}-{request.end_s:g} s runs past the recording "
            f"({begin:g}-{finish:g} s on the event clock)"
        )


def _plan_runs(selections: Sequence[tuple[_Source, int, int]], *, smart: bool) -> list[_Run]:
    """Split each source's chosen frames into copied whole GOPs and re-encoded ends."""
    runs: list[_Run] = []
    for source, first, last in selections:
        cut = _copy_span(source, first, last) if smart else None
        if cut is None:
            runs.append(_Run(source, first, last, copy=False))
            continue
        copy_from, copy_to = cut
        if copy_from > first:
            runs.append(_Run(source, first, copy_from - 1, copy=False))
        runs.append(_Run(source, copy_from, copy_to - 1, copy=True))
        if copy_to <= last:
            runs.append(_Run(source, copy_to, last, copy=False))
    return runs


def _copy_span(source: _Source, first: int, last: int) -> tuple[int, int] | None:
    """``[start, end)`` frame indices of the whole GOPs inside ``first..last``, if any."""
    frames = source.frames
    start = next((i for i in range(first, last + 1) if frames[i] in source.clean), None)
    if start is None:
        return None
    end = None
    if last + 1 == len(frames) and source.complete:
        end = last + 1
    else:
        end = next((i for i in range(last + 1, start, -1) if frames[i] in source.clean), None)
    if end is None or end <= start:
        return None
    return start, end


def _can_copy(sources: Sequence[_Source]) -> bool:
    target = sources[0]
    return all(
        s.codec == "h264"
        and not s.interlaced
        and (s.width, s.height) == (target.width, target.height)
        and s.profile is not None
        and s.profile.lower() in _X264_PROFILES
        and _pix_fmt(s.pix_fmt)[0] in _X264_PIX_FMTS
        for s in sources
    )


def _missing_frames(
    selections: Sequence[tuple[_Source, int, int]], request: CutRequest, rate: Fraction
) -> int:
    times: list[float] = []
    for source, first, last in selections:
        times += [source.time_s(source.frames[i]) for i in range(first, last + 1)]
    missing = max(0, math.floor((times[0] - request.start_s) * rate + 0.5))
    missing += max(0, math.ceil((request.end_s - times[-1]) * rate - 0.5 - 1e-6) - 1)
    for before, after in itertools.pairwise(times):
        missing += max(0, math.floor((after - before) * rate + 0.5) - 1)
    return missing


# --- reading the pieces ---------------------------------------------------------------------


def _url(uri: str) -> str:
    """What ffmpeg and PyAV open: URLs as they are, paths with ``file:`` (so no ``:`` in a file
    name reads as a protocol)."""
    return uri if _URL.match(uri) or uri.startswith("file:") else f"file:{uri}"


def _protocols(runs: Sequence[_Run]) -> str:
    if any(_URL.match(run.source.piece.uri) for run in runs):
        return _NETWORK_PROTOCOLS
    return "file,pipe"


def _index(number: int, piece: Piece, low_s: float, high_s: float) -> _Source:
    """Read the video packets of ``piece`` around the event-clock window ``[low_s, high_s)``."""
    url = _url(piece.uri)
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
) -> _Source | None:
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
        target = start_pts + (low_s - piece.clock_start_s - _SEEK_MARGIN_S) / time_base
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
    return _Source(
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
        nal_length_size=_nal_length_size(bytes(ctx.extradata or b"")),
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


def _measure_rate(source: _Source) -> Fraction:
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


# --- H.264 bitstream ------------------------------------------------------------------------


def _nal_length_size(extradata: bytes) -> int | None:
    """NAL length size of an ``avcC`` record; ``None`` for Annex B extradata (or none)."""
    if len(extradata) >= 7 and extradata[0] == 1:
        return (extradata[4] & 3) + 1
    return None


def parameter_sets(extradata: bytes) -> bytes:
    """The SPS and PPS of H.264 extradata (``avcC`` or Annex B), as Annex B."""
    if _nal_length_size(extradata) is None:
        return b"".join(
            _START_CODE + unit
            for unit in _annexb_units(extradata)
            if unit and unit[0] & 0x1F in (_NAL_SPS, _NAL_PPS)
        )
    units: list[bytes] = []
    pos = 5
    for mask in (0x1F, 0xFF):  # the SPS list, then the PPS list
        if pos >= len(extradata):
            break
        count = extradata[pos] & mask
        pos += 1
        for _ in range(count):
            size = int.from_bytes(extradata[pos : pos + 2], "big")
            units.append(extradata[pos + 2 : pos + 2 + size])
            pos += 2 + size
    return b"".join(_START_CODE + unit for unit in units)


def _annexb_units(data: bytes) -> list[bytes]:
    """The NAL units of Annex B ``data``, without start codes."""
    starts = []
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        starts.append(pos + 3)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    units = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        units.append(data[start:end].rstrip(b"\x00") if i + 1 < len(starts) else data[start:end])
    return units


def to_annexb(data: bytes, nal_length_size: int) -> bytes:
    """Length-prefixed (MP4) H.264 ``data`` with start codes instead of lengths."""
    out = bytearray()
    pos = 0
    while pos + nal_length_size <= len(data):
        size = int.from_bytes(data[pos : pos + nal_length_size], "big")
        pos += nal_length_size
        if size <= 0 or pos + size > len(data):
            raise MediaError("damaged H.264 packet: a NAL unit runs past its packet")
        out += _START_CODE + data[pos : pos + size]
        pos += size
    return bytes(out)


def with_parameter_sets(data: bytes, sets: bytes) -> bytes:
    """Annex B keyframe ``data`` with ``sets`` (SPS and PPS) in front, after any access unit
    delimiter, unless it carries an SPS already."""
    units = _annexb_units(data)
    if not sets or any(unit and unit[0] & 0x1F == _NAL_SPS for unit in units):
        return data
    if units and units[0] and units[0][0] & 0x1F == _NAL_AUD:
        return _START_CODE + units[0] + sets + b"".join(_START_CODE + u for u in units[1:])
    return sets + data


# --- encoding ---------------------------------------------------------------------------------


def _pix_fmt(pix_fmt: str) -> tuple[str, bool]:
    """The pixel format x264 is given, and whether the source was full range (``yuvj``)."""
    if pix_fmt in _FULL_RANGE_PIX_FMTS:
        return _FULL_RANGE_PIX_FMTS[pix_fmt], True
    return pix_fmt, False


def _video_spec(run: _Run, frame_rate: Fraction, *, match: bool) -> VideoSpec:
    """Encoder settings for the frames of ``run``: matched to its source when the parts are
    joined to copied ones, else plain 8-bit 4:2:0 High profile; at its size, and at the bitrate
    the source spends on those frames."""
    source = run.source
    kbps = max(source.kbps(run.first, run.last, frame_rate), _MIN_KBPS)
    gop = source.gop() or max(1, round(frame_rate * 2))
    if not match:
        return VideoSpec(
            width=source.width,
            height=source.height,
            pix_fmt="yuv420p",
            profile="high",
            level=None,
            kbps=kbps,
            gop=gop,
            frame_rate=frame_rate,
            colors=source.colors,
        )
    pix_fmt, full_range = _pix_fmt(source.pix_fmt)
    colors = source.colors
    if full_range and not any(option == "-color_range" for option, _ in colors):
        colors = (*colors, ("-color_range", "pc"))
    return VideoSpec(
        width=source.width,
        height=source.height,
        pix_fmt=pix_fmt,
        profile=_X264_PROFILES[(source.profile or "high").lower()],
        level=source.level,
        kbps=kbps,
        gop=gop,
        frame_rate=frame_rate,
        colors=colors,
    )


def encode_args(
    url: str,
    *,
    first_s: float,
    last_s: float,
    frames: int,
    seek_s: float | None,
    spec: VideoSpec,
    out: Path,
    preset: str = PRESET,
    protocols: str = "file,pipe",
    scale: bool = False,
    two_pass: tuple[int, Path] | None = None,
) -> list[str]:
    """ffmpeg arguments that re-encode the ``frames`` frames shown from ``first_s`` to ``last_s``
    (raw timestamps of ``url``) into the MPEG-TS ``out`` (H.264 with in-band parameter sets).

    Timestamps are kept as they are in the file (``-copyts``), so the trim picks frames by their
    own times; ``seek_s`` (from the file's start) jumps near the first keyframe needed.
    ``two_pass`` is the pass (1 or 2) and the pass log's path prefix.
    """
    half = float(1 / spec.frame_rate) / 2
    args = [*base_args(protocols=protocols), "-copyts"]
    if seek_s is not None:
        args += ["-ss", f"{seek_s:.6f}", "-noaccurate_seek"]
    filters = [f"trim=start={first_s - half:.6f}:end={last_s + half:.6f}", "setpts=PTS-STARTPTS"]
    if scale:
        filters.append(f"scale={spec.width}:{spec.height}")
    args += ["-i", url, "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", ",".join(filters)]
    args += ["-frames:v", str(frames), "-fps_mode", "passthrough"]
    args += ["-c:v", "libx264", "-preset", preset, "-profile:v", spec.profile]
    if spec.level:
        args += ["-level:v", f"{spec.level / 10:.1f}" if spec.level >= 10 else str(spec.level)]
    args += ["-pix_fmt", spec.pix_fmt, "-g", str(spec.gop)]
    args += ["-b:v", f"{spec.kbps}k"]
    for option, value in spec.colors:
        args += [option, value]
    if frames / spec.frame_rate < _SHORT_PART_S:
        args += ["-x264-params", "mbtree=0"]
    if two_pass is not None:
        number, log = two_pass
        args += ["-pass", str(number), "-passlogfile", str(log)]
        if number == 1:
            return [*args, "-f", "null", "-"]
    args += ["-f", "mpegts", str(out)]
    return args


@dataclass(frozen=True)
class AudioChunk:
    """The audio under some frames of one piece: ``duration_s`` from ``first_s`` (raw time)."""

    url: str | None
    """``None`` where the piece has no audio: silence."""
    first_s: float
    duration_s: float
    seek_s: float | None


def audio_args(
    chunks: Sequence[AudioChunk],
    *,
    sample_rate: int,
    layout: str,
    kbps: int,
    out: Path,
    protocols: str = "file,pipe",
) -> list[str]:
    """ffmpeg arguments that encode the audio ``chunks``, joined, into the AAC file ``out``.

    Each chunk keeps its place under its frames: it is trimmed by the file's own timestamps,
    padded with silence where its audio starts late or ends early, and cut to its exact length.
    """
    args = [*base_args(protocols=protocols), "-copyts"]
    graph = []
    inputs = 0
    fmt = f"aformat=sample_fmts=fltp:sample_rates={sample_rate}:channel_layouts={layout}"
    for i, chunk in enumerate(chunks):
        d = f"{chunk.duration_s:.6f}"
        if chunk.url is None:
            graph.append(f"anullsrc=r={sample_rate}:cl={layout},atrim=duration={d},{fmt}[a{i}]")
            continue
        if chunk.seek_s is not None:
            args += ["-ss", f"{chunk.seek_s:.6f}", "-noaccurate_seek"]
        args += ["-i", chunk.url]
        start, end = f"{chunk.first_s:.6f}", f"{chunk.first_s + chunk.duration_s:.6f}"
        graph.append(
            f"[{inputs}:a:0]atrim=start={start}:end={end},asetpts=PTS-{start}/TB,"
            f"aresample=async=1:first_pts=0,{fmt},apad=whole_dur={d},atrim=duration={d}[a{i}]"
        )
        inputs += 1
    labels = "".join(f"[a{i}]" for i in range(len(chunks)))
    graph.append(f"{labels}concat=n={len(chunks)}:v=0:a=1[aout]")
    args += ["-filter_complex", ";".join(graph), "-map", "[aout]"]
    args += ["-c:a", "aac", "-b:a", f"{kbps}k", "-ar", str(sample_rate), "-f", "mp4", str(out)]
    return args


def _seek_target(source: _Source, pts: int, *, early_s: float = 0.0) -> float | None:
    """The raw time to seek to (landing on a keyframe at or before it) before reading frame
    ``pts`` and what it needs; ``None`` when that is too near the start to be worth a seek.

    An MP4 or MOV index lands exactly on the keyframe. Other containers (MPEG-TS) are searched by
    timestamps and may land a few packets off, so they seek a margin earlier.
    """
    keys = [p.pts for p in source.packets if p.key and p.pts <= pts]
    if not keys:
        return None
    margin = 0.0005 if source.indexed else -_SEEK_MARGIN_S
    target = float(max(keys) * source.time_base) + margin - early_s
    return target if target - source.container_start_s > _SEEK_MIN_S else None


def _seek_s(source: _Source, pts: int, *, early_s: float = 0.0) -> float | None:
    """:func:`_seek_target` as ffmpeg's input ``-ss``: counted from the file's start."""
    target = _seek_target(source, pts, early_s=early_s)
    return None if target is None else target - source.container_start_s


# --- rendering and the join -----------------------------------------------------------------


class _Progress:
    """Weighted progress of parts that run side by side, reported as one rising fraction."""

    def __init__(self, callback: ProgressCallback | None, weights: Sequence[float]) -> None:
        self._callback = callback
        self._weights = list(weights)
        self._done = [0.0] * len(weights)
        self._sent = 0.0
        self._lock = threading.Lock()

    def part(self, index: int, low: float = 0.0, high: float = 1.0) -> ProgressCallback | None:
        """A callback for part ``index`` whose 0-1 maps to ``low``-``high`` of that part."""
        if self._callback is None:
            return None

        def report(fraction: float) -> None:
            self.update(index, low + (high - low) * fraction)

        return report

    def update(self, index: int, fraction: float) -> None:
        if self._callback is None:
            return
        with self._lock:
            self._done[index] = max(self._done[index], fraction)
            total = sum(w * d for w, d in zip(self._weights, self._done, strict=True))
            value = min(total / (sum(self._weights) or 1), 1.0)
            if value <= self._sent:
                return
            self._sent = value
            self._callback(value)


def _render(
    ffmpeg: str,
    runs: Sequence[_Run],
    chunks: Sequence[AudioChunk],
    rate: Fraction,
    work: Path,
    on_progress: ProgressCallback | None,
    options: _Options,
) -> Path:
    """Encode the re-encoded runs and the audio side by side, then join everything."""
    protocols = _protocols(runs)
    match = _can_copy([run.source for run in runs])
    target = runs[0].source
    jobs: list[tuple[list[list[str]], float]] = []
    encoded: dict[int, Path] = {}
    for i, run in enumerate(runs):
        if run.copy:
            continue
        path = work / f"part{i:03d}.ts"
        encoded[i] = path
        first_pts, last_pts = run.source.frames[run.first], run.source.frames[run.last]
        spec = _video_spec(run, rate, match=match)
        spec = replace(spec, width=target.width, height=target.height)
        passes = []
        for number in (1, 2) if options.two_pass else (2,):
            passes.append(
                encode_args(
                    run.source.url,
                    first_s=float(first_pts * run.source.time_base),
                    last_s=float(last_pts * run.source.time_base),
                    frames=run.frames,
                    seek_s=_seek_s(run.source, first_pts),
                    spec=spec,
                    out=path,
                    preset=options.preset,
                    protocols=protocols,
                    scale=(run.source.width, run.source.height) != (target.width, target.height),
                    two_pass=(number, work / f"part{i:03d}") if options.two_pass else None,
                )
            )
        jobs.append((passes, float(run.frames / rate)))
    audio_path = work / "audio.m4a"
    audio = [run.source.audio for run in runs if run.source.audio is not None]
    if audio:
        if any((chunk.url or "").startswith("concat:") for chunk in chunks):
            protocols += ",concat"
        args = audio_args(
            chunks,
            sample_rate=audio[0].sample_rate,
            layout=audio[0].layout,
            kbps=audio[0].kbps,
            out=audio_path,
            protocols=protocols,
        )
        jobs.append(([args], float(sum(run.frames for run in runs) / rate)))
    total = sum(run.frames for run in runs)
    weights = [duration * float(rate) for _, duration in jobs]
    if audio:
        weights[-1] = total / 20
    progress = _Progress(on_progress, [*weights, total / 10])
    if jobs:
        with ThreadPoolExecutor(max_workers=min(len(jobs), _MAX_PARALLEL)) as pool:
            futures = [
                pool.submit(_run_all, ffmpeg, argvs, duration, progress, i, options.timeout_s)
                for i, (argvs, duration) in enumerate(jobs)
            ]
            for future in futures:
                future.result()
    clip = work / "clip.mp4"
    parts = [_part(run, encoded.get(i)) for i, run in enumerate(runs)]
    _join(parts, audio_path if audio else None, clip, rate)
    _check_clip(clip, total, rate)
    progress.update(len(jobs), 1.0)
    return clip


def _run_all(
    ffmpeg: str,
    argvs: Sequence[list[str]],
    duration_s: float,
    progress: _Progress,
    index: int,
    timeout_s: float | None,
) -> None:
    """Run ffmpeg once per argv, one after another (the passes of one part)."""
    for number, args in enumerate(argvs):
        report = progress.part(index, number / len(argvs), (number + 1) / len(argvs))
        run_ffmpeg(ffmpeg, args, duration_s=duration_s, on_progress=report, timeout_s=timeout_s)


def _audio_chunks(
    selections: Sequence[tuple[_Source, int, int]], pieces: Sequence[Piece], rate: Fraction
) -> list[AudioChunk]:
    """The audio under the chosen frames: one chunk per stretch of continuous timestamps.

    Live pieces are cut from one stream and share its timestamps, and the audio under a piece's
    last frames is often stored at the start of the next piece (the segmenter cuts at video
    keyframes). So pieces that follow on are read as one stream (ffmpeg's concat protocol), with
    the piece on either side of the range when it follows on too.
    """
    groups: list[list[tuple[_Source, int, int]]] = []
    for selection in selections:
        if groups and _follows_on(groups[-1][-1], selection, rate):
            groups[-1].append(selection)
        else:
            groups.append([selection])
    chunks = []
    for group in groups:
        source, first, _ = group[0]
        end_source, _, last = group[-1]
        duration = float(sum(b - a + 1 for _, a, b in group) / rate)
        if source.audio is None:
            chunks.append(AudioChunk(None, 0.0, duration, None))
            continue
        urls = [s.url for s, _, _ in group]
        if not source.indexed and first == 0:
            urls[:0] = _neighbour(pieces, source, -1)
        if not end_source.indexed and last == len(end_source.frames) - 1 and end_source.complete:
            urls += _neighbour(pieces, end_source, 1)
        first_s = float(source.frames[first] * source.time_base)
        if len(urls) > 1:
            chunks.append(AudioChunk("concat:" + "|".join(urls), first_s, duration, None))
            continue
        # Audio may be stored ahead of its frames: seek a margin earlier than for the video.
        seek = _seek_s(source, source.frames[first], early_s=_SEEK_MARGIN_S)
        chunks.append(AudioChunk(source.url, first_s, duration, seek))
    return chunks


def _follows_on(
    before: tuple[_Source, int, int], after: tuple[_Source, int, int], rate: Fraction
) -> bool:
    """Whether ``after`` is the next piece of one stream, its frames right after ``before``."""
    a, _, a_last = before
    b, b_first, _ = after
    if a.indexed or b.indexed or b.number != a.number + 1 or b_first != 0:
        return False
    if a_last != len(a.frames) - 1 or not a.complete:
        return False
    expected = float(a.frames[-1] * a.time_base + 1 / rate)
    return abs(float(b.frames[0] * b.time_base) - expected) < float(1 / rate) / 2


def _neighbour(pieces: Sequence[Piece], source: _Source, step: int) -> list[str]:
    """The URL of the piece ``step`` away from ``source``, if it continues its stream."""
    number = source.number + step
    if not 0 <= number < len(pieces):
        return []
    piece = pieces[number]
    url = _url(piece.uri)
    try:
        with av.open(url, metadata_errors="ignore") as container:
            stream = container.streams.video[0] if container.streams.video else None
            if stream is None or stream.start_time is None or not stream.time_base:
                return []
            start_s = float(stream.start_time * stream.time_base)
            indexed = "mp4" in container.format.name or "mov" in container.format.name
    except av.FFmpegError:
        return []
    expected = float(source.first_pts * source.time_base) + (
        piece.clock_start_s - source.piece.clock_start_s
    )
    return [url] if not indexed and abs(start_s - expected) < _SLACK_S else []


@dataclass(frozen=True)
class _Part:
    """A run as packets to join: copied from its source, or read from its re-encoded file."""

    url: str
    frames: tuple[int, ...]
    """Presentation times, in order."""
    decode_pts: tuple[int, ...]
    """Presentation times in decode order."""
    nal_length_size: int | None
    parameter_sets: bytes
    seek_pts: int | None


def _part(run: _Run, encoded: Path | None) -> _Part:
    if encoded is None:
        source = run.source
        wanted = set(source.frames[run.first : run.last + 1])
        target = _seek_target(source, source.frames[run.first])
        return _Part(
            url=source.url,
            frames=source.frames[run.first : run.last + 1],
            decode_pts=tuple(p.pts for p in source.packets if not p.discard and p.pts in wanted),
            nal_length_size=source.nal_length_size,
            parameter_sets=source.parameter_sets,
            seek_pts=None if target is None else math.floor(target / source.time_base),
        )
    with av.open(str(encoded)) as container:
        stream = container.streams.video[0]
        order = [p.pts for p in container.demux(stream) if p.pts is not None and p.size]
        extradata = bytes(stream.codec_context.extradata or b"")
    if len(order) != run.frames:
        raise MediaError(
            f"re-encoding {run.frames} frames of piece {run.source.number} "
            f"({run.source.piece.uri}) gave {len(order)}"
        )
    return _Part(
        url=str(encoded),
        frames=tuple(sorted(order)),
        decode_pts=tuple(order),
        nal_length_size=_nal_length_size(extradata),
        parameter_sets=parameter_sets(extradata),
        seek_pts=None,
    )


def reorder_depth(decode_pts: Sequence[int]) -> int:
    """How many frames a decode-order position runs ahead of its presentation position, at most."""
    rank = {pts: i for i, pts in enumerate(sorted(decode_pts))}
    return max((i - rank[pts] for i, pts in enumerate(decode_pts)), default=0)


def _packets(part: _Part) -> Iterator[tuple[bytes, int, bool]]:
    """The part's video packets in decode order: Annex B data, pts and keyframe flag."""
    wanted = set(part.frames)
    left = len(wanted)
    with av.open(part.url, metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        if part.seek_pts is not None:
            container.seek(part.seek_pts, stream=stream, backward=True, any_frame=False)
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size or packet.is_discard:
                continue
            if packet.pts not in wanted:
                continue
            data = bytes(packet)
            if part.nal_length_size is not None:
                data = to_annexb(data, part.nal_length_size)
            if packet.is_keyframe:
                data = with_parameter_sets(data, part.parameter_sets)
            yield data, packet.pts, packet.is_keyframe
            wanted.discard(packet.pts)
            left -= 1
            if not left:
                return
    if left:
        raise MediaError(f"{part.url}: {left} frames of the cut were not found when copying")


def _join(parts: Sequence[_Part], audio: Path | None, out: Path, rate: Fraction) -> None:
    """Mux the parts' video, one after another, and the audio into the MP4 ``out``."""
    tick = Fraction(1, rate.numerator)
    step = rate.denominator  # ticks per frame
    depth = max(reorder_depth(part.decode_pts) for part in parts)
    with av.open(str(out), "w", format="mp4", container_options={"movflags": "+faststart"}) as mux:
        with av.open(parts[0].url, metadata_errors="ignore") as template:
            video = mux.add_stream_from_template(template.streams.video[0])
        if parts[0].parameter_sets:
            video.codec_context.extradata = parts[0].parameter_sets
        video.time_base = tick
        audio_packets: list[av.Packet[Any]] = []
        audio_container = None if audio is None else av.open(str(audio))
        try:
            if audio_container is not None:
                source = audio_container.streams.audio[0]
                audio_stream = mux.add_stream_from_template(source)
                for packet in audio_container.demux(source):
                    if packet.pts is not None and packet.size:
                        packet.stream = audio_stream
                        audio_packets.append(packet)
            _write(mux, video, parts, audio_packets, tick, step, depth)
        finally:
            if audio_container is not None:
                audio_container.close()


def _write(
    mux: av.container.OutputContainer,
    video: av.stream.Stream,
    parts: Sequence[_Part],
    audio_packets: Sequence[av.Packet[Any]],
    tick: Fraction,
    step: int,
    depth: int,
) -> None:
    """Mux every part's packets with new timestamps, the audio interleaved by time."""
    pending = list(reversed(audio_packets))
    offset = 0
    decoded = 0
    for part in parts:
        rank = {pts: i for i, pts in enumerate(part.frames)}
        for data, pts, key in _packets(part):
            packet = av.Packet(data)
            packet.stream = video
            packet.time_base = tick
            packet.pts = (offset + rank[pts]) * step
            packet.dts = (decoded - depth) * step
            packet.duration = step
            packet.is_keyframe = key
            due = float(packet.dts * tick)
            while pending and _seconds(pending[-1]) <= due:
                mux.mux(pending.pop())
            mux.mux(packet)
            decoded += 1
        offset += len(part.frames)
    while pending:
        mux.mux(pending.pop())


def _seconds(packet: av.Packet[Any]) -> float:
    stamp = packet.dts if packet.dts is not None else packet.pts
    return float(stamp * packet.time_base) if stamp is not None else 0.0


def _check_clip(path: Path, frames: int, rate: Fraction) -> None:
    """Refuse a joined clip without exactly ``frames`` frames evenly spaced from 0."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stamps = sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size)
        time_base = Fraction(stream.time_base or 1)
    step = Fraction(1) / rate / time_base
    spacing = {b - a for a, b in itertools.pairwise(stamps)}
    even = all(abs(gap - step) <= 1 for gap in spacing)
    if len(stamps) != frames or not stamps or stamps[0] != 0 or not even:
        raise MediaError(
            f"the joined clip has {len(stamps)} frames at uneven times; expected {frames} "
            f"frames {float(1 / rate):.4f} s apart from 0"
        )
