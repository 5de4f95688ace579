"""SMPTE timecode: the one place a label becomes a frame number or seconds, and back.

A label counts frames at the *nominal* rate (25, 30, 60 ...). Time is the frame number divided
by the *exact* rate: at 29.97 (30000/1001) a non-drop label runs 3.6 s an hour behind the wall
clock, and drop-frame (``HH:MM:SS;FF``) keeps step by skipping frame numbers 0 and 1 (0 to 3 at
59.94) at the start of every minute but each tenth. Drop-frame exists at 29.97 and 59.94 only:
anywhere else a ``;`` is read as ``:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

DROP_FRAME_RATES = (Fraction(30000, 1001), Fraction(60000, 1001))
_LABEL = re.compile(r"(\d{2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})")


class TimecodeError(ValueError):
    """Not a SMPTE timecode, or one that cannot exist at the rate given."""


@dataclass(frozen=True)
class Timecode:
    hours: int
    minutes: int
    seconds: int
    frames: int
    drop: bool
    """Drop-frame counting (only ever true at 29.97 or 59.94)."""
    rate: Fraction

    @property
    def nominal(self) -> int:
        return round(self.rate)

    @property
    def frame_number(self) -> int:
        """Frames since midnight."""
        counted = (3600 * self.hours + 60 * self.minutes + self.seconds) * self.nominal
        counted += self.frames
        if self.drop:
            minutes = 60 * self.hours + self.minutes
            counted -= _dropped_per_minute(self.nominal) * (minutes - minutes // 10)
        return counted

    @property
    def seconds_since_midnight(self) -> Fraction:
        return Fraction(self.frame_number) / self.rate

    def label(self) -> str:
        sep = ";" if self.drop else ":"
        return f"{self.hours:02d}:{self.minutes:02d}:{self.seconds:02d}{sep}{self.frames:02d}"


def _dropped_per_minute(nominal: int) -> int:
    return 2 * round(nominal / 30)


def is_drop_frame_rate(rate: Fraction) -> bool:
    return rate in DROP_FRAME_RATES


def parse(label: str, rate: Fraction) -> Timecode:
    """``HH:MM:SS:FF`` (``;``, ``.`` or ``,`` before the frames: drop-frame, where it exists)."""
    match = _LABEL.fullmatch(label.strip())
    if not match:
        raise TimecodeError(f"not a SMPTE timecode: {label!r}")
    hours, minutes, seconds, separator, frames = match.groups()
    code = Timecode(
        int(hours), int(minutes), int(seconds), int(frames),
        drop=separator != ":" and is_drop_frame_rate(rate), rate=rate,
    )  # fmt: skip
    if round(rate) <= 0 or code.frames >= code.nominal:
        raise TimecodeError(f"timecode {label!r} has frame {code.frames} at {float(rate):g} fps")
    if code.hours >= 24 or code.minutes >= 60 or code.seconds >= 60:
        raise TimecodeError(f"timecode {label!r} is out of range")
    if (
        code.drop
        and code.seconds == 0
        and code.minutes % 10
        and code.frames < _dropped_per_minute(code.nominal)
    ):
        raise TimecodeError(f"timecode {label!r} names a frame number drop-frame skips")
    return code


def seconds(label: str, rate: Fraction) -> float:
    """Seconds since midnight of the frame ``label`` names at ``rate``."""
    return float(parse(label, rate).seconds_since_midnight)


def from_frame_number(frame_number: int, rate: Fraction, *, drop: bool | None = None) -> str:
    """The label of frame ``frame_number`` since midnight (drop-frame by default where the rate
    has it), wrapping at 24 hours."""
    nominal = round(rate)
    drop = is_drop_frame_rate(rate) if drop is None else drop and is_drop_frame_rate(rate)
    per_day = 24 * 3600 * nominal
    if drop:
        dropped = _dropped_per_minute(nominal)
        per_ten = 10 * 60 * nominal - 9 * dropped
        per_day = 144 * per_ten
        n = frame_number % per_day
        tens, rest = divmod(n, per_ten)
        extra = 0 if rest < dropped else dropped * ((rest - dropped) // (60 * nominal - dropped))
        n += 9 * dropped * tens + extra
    else:
        n = frame_number % per_day
    frames = n % nominal
    total_s = n // nominal
    sep = ";" if drop else ":"
    return f"{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}{sep}{frames:02d}"
