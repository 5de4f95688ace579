"""Split-and-stitch: plan GOP-aligned chunks of a long file, and join the chunks' CMAF segments
into one stream without re-encoding.

Every chunk is encoded on its own timeline starting at zero. Joining them is a matter of moving
each segment's decode time (the ``tfdt`` box of its fragment) by where its chunk starts; the
media samples are untouched.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction

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

    Only the ``tfdt`` values change, in place; a 32-bit ``tfdt`` that would overflow is refused.
    """
    out = bytearray(data)
    found = 0
    for moof_start, moof_end in _boxes(out, 0, len(out), b"moof"):
        for traf_start, traf_end in _boxes(out, moof_start + 8, moof_end, b"traf"):
            for start, _end in _boxes(out, traf_start + 8, traf_end, b"tfdt"):
                version = out[start + 8]
                if version == 1:
                    (value,) = struct.unpack_from(">Q", out, start + 12)
                    struct.pack_into(">Q", out, start + 12, value + offset)
                else:
                    (value,) = struct.unpack_from(">I", out, start + 12)
                    if value + offset >= 2**32:
                        raise MediaError("decode time overflows a 32-bit tfdt box")
                    struct.pack_into(">I", out, start + 12, value + offset)
                found += 1
    if not found:
        raise MediaError("not a CMAF media segment: no fragment decode time (tfdt) found")
    return bytes(out)


def _boxes(data: bytearray, start: int, end: int, kind: bytes) -> list[tuple[int, int]]:
    """(start, end) of each box of type ``kind`` directly inside ``data[start:end]``."""
    found = []
    pos = start
    while pos + 8 <= end:
        size, box = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                break
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise MediaError(f"damaged box at byte {pos}")
        if box == kind:
            found.append((pos, pos + size))
        pos += size
    return found
