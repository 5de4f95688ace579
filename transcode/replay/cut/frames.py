"""Which frames a cut takes: the request, the recording's pieces, the half-frame window and the
checks on a request against the pieces it reads."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from transcode.errors import MediaError

SLACK_S = 0.25
"""How far a piece's real span may differ from its nominal one (a rounded catalog duration)."""


_TIE_S = 1e-9


_NTSC_RATES = tuple(Fraction(n * 1000, 1001) for n in (24, 30, 60, 120))


_STANDARD_RATES = (*_NTSC_RATES, *(Fraction(n) for n in (24, 25, 30, 48, 50, 60, 100, 120)))


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


def check_request(pieces: Sequence[Piece], request: CutRequest) -> list[int]:
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
        if piece.clock_start_s < request.end_s and piece.clock_end_s + SLACK_S > request.start_s
    ]
    if not candidates:
        raise MediaError(
            f"range {request.start_s:g}-{request.end_s:g} s falls in a gap between pieces"
        )
    return candidates


def check_bounds(pieces: Sequence[Piece], request: CutRequest, rate: Fraction) -> None:
    half = float(1 / rate) / 2
    begin, finish = pieces[0].clock_start_s, pieces[-1].clock_end_s
    if request.start_s < begin - half or request.end_s > finish + half:
        raise MediaError(
            f"range {request.start_s:g}-{request.end_s:g} s runs past the recording "
            f"({begin:g}-{finish:g} s on the event clock)"
        )
