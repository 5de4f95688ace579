"""Placing a recording on the event clock."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from transcode import timecode as tc


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
    """Seconds since midnight of the frame a SMPTE timecode names at ``frame_rate``
    (:mod:`transcode.timecode`: frames at the nominal rate, time at the exact one, drop-frame
    at 29.97 and 59.94 only). Raises ``ValueError`` for anything else."""
    return tc.seconds(timecode, frame_rate)


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
