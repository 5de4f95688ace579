"""Split-and-stitch: plan GOP-aligned chunks of a long file, and join the chunks' CMAF segments
into one stream without re-encoding.

Every chunk is encoded on its own timeline starting at zero. Joining them is a matter of moving
each segment's decode time (the ``tfdt`` box of its fragment) by where its chunk starts; the
media samples are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from transcode.cmaf import decode_time_fields
from transcode.errors import MediaError


@dataclass(frozen=True)
class Chunk:
    index: int
    first_frame: int
    end_frame: int
    """One past the last frame."""

    @property
    def frames(self) -> tuple[int, int]:
        return self.first_frame, self.end_frame


def plan_chunks(total_frames: int, gop: int, frame_rate: Fraction, chunk_s: float) -> list[Chunk]:
    """Chunks of about ``chunk_s`` seconds, each a whole number of GOPs (so a whole number of
    segments); a short tail is merged into the chunk before it rather than left on its own."""
    if total_frames <= 0 or gop <= 0:
        raise ValueError("nothing to split")
    gops_per_chunk = max(1, round(Fraction(chunk_s) * frame_rate / gop))
    size = gops_per_chunk * gop
    starts = list(range(0, total_frames, size))
    if len(starts) > 1 and total_frames - starts[-1] < size // 2:
        starts.pop()
    ends = [*starts[1:], total_frames]
    return [Chunk(i, a, b) for i, (a, b) in enumerate(zip(starts, ends, strict=True))]


def chunk_offset(first_frame: int, frame_rate: Fraction, timescale: int) -> int:
    """Where a chunk starts, in its track's timescale. Raises when that is not a whole tick."""
    ticks = Fraction(first_frame) / frame_rate * timescale
    if ticks.denominator != 1:
        raise MediaError(f"frame {first_frame} does not fall on a tick of timescale {timescale}")
    return int(ticks)


def rebase_segment(data: bytes, offset: int) -> bytes:
    """The media segment ``data`` with every fragment's decode time moved by ``offset`` ticks.

    Only the ``tfdt`` values change, in place (found by :mod:`transcode.cmaf`'s box reader); a
    32-bit ``tfdt`` that would overflow is refused.
    """
    out = bytearray(data)
    for position, width in decode_time_fields(data):
        value = int.from_bytes(out[position : position + width], "big") + offset
        if value >= 2 ** (8 * width):
            raise MediaError(f"decode time overflows a {8 * width}-bit tfdt box")
        if value < 0:
            raise MediaError("decode time would fall before zero")
        out[position : position + width] = value.to_bytes(width, "big")
    return bytes(out)
