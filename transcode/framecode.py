"""A machine-readable frame counter burnt into the picture.

A strip of 32 blocks along the bottom edge: 24 bits of frame number, 4 bits of camera index and a
4-bit check. Blocks are placed in fractions of the frame size, so the code survives scaling to any
rung, and each block is large enough to survive lossy encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

BITS = 32
_FRAME_BITS = 24
_CAMERA_BITS = 4
STRIP_FRACTION = 1 / 24
"""Height of the strip as a fraction of the frame height."""


@dataclass(frozen=True)
class FrameCode:
    frame: int
    camera: int


def _check(frame: int, camera: int) -> int:
    value = frame ^ (camera << 20) ^ 0x5A5A5A
    folded = 0
    while value:
        folded ^= value & 0xF
        value >>= 4
    return folded


def bits_for(frame: int, camera: int) -> list[int]:
    if not 0 <= frame < 1 << _FRAME_BITS or not 0 <= camera < 1 << _CAMERA_BITS:
        raise ValueError(f"frame {frame} or camera {camera} out of range")
    word = (frame << 8) | (camera << 4) | _check(frame, camera)
    return [(word >> (BITS - 1 - i)) & 1 for i in range(BITS)]


def draw(image: NDArray[np.uint8], frame: int, camera: int) -> None:
    """Burn the code for ``frame`` of ``camera`` into ``image`` (H x W x 3, in place)."""
    height, width = image.shape[:2]
    top = height - max(8, round(height * STRIP_FRACTION))
    image[top:, :] = 0
    for i, bit in enumerate(bits_for(frame, camera)):
        if bit:
            left, right = round(i * width / BITS), round((i + 1) * width / BITS)
            image[top:, left:right] = 255


def read(image: NDArray[np.uint8]) -> FrameCode | None:
    """Read the code from a decoded frame (gray or BGR); ``None`` when absent or damaged."""
    gray = image if image.ndim == 2 else image.mean(axis=2)
    height, width = gray.shape[:2]
    strip = max(8, round(height * STRIP_FRACTION))
    top = height - strip
    rows = gray[top + strip // 4 : height - strip // 4]
    word = 0
    for i in range(BITS):
        left, right = i * width / BITS, (i + 1) * width / BITS
        inner = rows[:, int(left + (right - left) / 4) : int(right - (right - left) / 4)]
        word = (word << 1) | int(inner.mean() > 128)
    frame, camera, check = word >> 8, (word >> 4) & 0xF, word & 0xF
    if check != _check(frame, camera):
        return None
    return FrameCode(frame=frame, camera=camera)
