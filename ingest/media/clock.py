"""Placing a recording on the event clock."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

_TIMECODE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


class ClockSource(enum.StrEnum):
    TIMECODE = "timecode"
    CREATION_TIME = "creation_time"
    OFFSET = "offset"
    NONE = "none"


@dataclass(frozen=True)
class Placement:
    """Where a recording starts on the event clock, and what says so."""

    start_s: float
    source: ClockSource


@dataclass(frozen=True)
class EventOrigin:
    """Event-clock zero, in each reference a recording may carry."""

    wall_clock: datetime | None = None
    timecode_s: float | None = None


def timecode_seconds(timecode: str, frame_rate: Fraction) -> float:
    """Seconds since midnight for a SMPTE timecode at ``frame_rate``.

    ``HH:MM:SS:FF`` is non-drop; ``HH:MM:SS;FF`` is drop-frame (29.97/59.94), where frame numbers
    0 and 1 (0-3 at 59.94) are skipped at the start of every minute except each tenth.
    """
    match = _TIMECODE.match(timecode.strip())
    if not match:
        raise ValueError(f"not a SMPTE timecode: {timecode!r}")
    hours, minutes, seconds, sep, frames = match.groups()
    h, m, s, f = int(hours), int(minutes), int(seconds), int(frames)
    nominal = round(frame_rate)
    if nominal <= 0 or f >= nominal or m >= 60 or s >= 60:
        raise ValueError(f"timecode {timecode!r} out of range at {frame_rate} fps")
    if sep == ";":
        drop = 2 * round(nominal / 30)
        total_minutes = 60 * h + m
        frame_number = (
            (3600 * h + 60 * m + s) * nominal + f - drop * (total_minutes - total_minutes // 10)
        )
        return float(Fraction(frame_number) / frame_rate)
    return float(3600 * h + 60 * m + s + Fraction(f, nominal))


def absolute_reference(
    timecode: str | None, creation_time: datetime | None, frame_rate: Fraction
) -> tuple[ClockSource, float | datetime | None]:
    """What in the recording places it in time: its timecode, else its creation time."""
    if timecode:
        try:
            return ClockSource.TIMECODE, timecode_seconds(timecode, frame_rate)
        except ValueError:
            pass
    if creation_time is not None:
        return ClockSource.CREATION_TIME, creation_time
    return ClockSource.NONE, None


def place(
    source: ClockSource,
    reference: float | datetime | None,
    origin: EventOrigin,
    offset_s: float | None,
) -> Placement:
    """Place a recording on the event clock.

    Embedded timecode, then creation time, measured from the event's origin in that reference;
    the operator's ``offset_s`` shifts the result, or is the start when nothing is embedded.
    """
    shift = offset_s or 0.0
    timecode = isinstance(reference, float) and origin.timecode_s is not None
    if source is ClockSource.TIMECODE and timecode:
        assert isinstance(reference, float) and origin.timecode_s is not None
        return Placement(round(reference - origin.timecode_s + shift, 6), source)
    wall = isinstance(reference, datetime) and origin.wall_clock is not None
    if source is ClockSource.CREATION_TIME and wall:
        assert isinstance(reference, datetime) and origin.wall_clock is not None
        delta = (reference - origin.wall_clock).total_seconds()
        return Placement(round(delta + shift, 6), source)
    if offset_s is not None:
        return Placement(offset_s, ClockSource.OFFSET)
    return Placement(0.0, ClockSource.NONE)


def origin_for(
    origin: EventOrigin, references: list[tuple[ClockSource, float | datetime | None]]
) -> EventOrigin:
    """Fill in an event's missing origins from the earliest reference of each kind."""
    timecodes = [r for s, r in references if s is ClockSource.TIMECODE and isinstance(r, float)]
    walls = [r for s, r in references if s is ClockSource.CREATION_TIME and isinstance(r, datetime)]
    return EventOrigin(
        wall_clock=origin.wall_clock or (min(walls) if walls else None),
        timecode_s=origin.timecode_s
        if origin.timecode_s is not None
        else (min(timecodes) if timecodes else None),
    )
