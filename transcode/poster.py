"""Poster thumbnails."""

from __future__ import annotations

from pathlib import Path

from transcode.ffmpeg import base_args, run_ffmpeg


def poster_time(duration_s: float) -> float:
    """Where to take the poster: a tenth of the way in, past any opening black, inside the clip."""
    if duration_s <= 0:
        return 0.0
    return round(min(max(duration_s * 0.1, 1.0), duration_s / 2), 3)


def poster_args(source: Path, out: Path, at_s: float, height: int = 360) -> list[str]:
    """ffmpeg arguments for one JPEG frame at ``at_s`` seconds, ``height`` lines tall."""
    return [
        *base_args(),
        "-ss",
        f"{at_s:.3f}",
        "-i",
        str(source),
        "-frames:v",
        "1",
        "-vf",
        f"scale=-2:{height},setsar=1",
        "-q:v",
        "3",
        str(out),
    ]


def make_poster(ffmpeg: str, source: Path, out: Path, duration_s: float) -> Path:
    """Write a poster JPEG of ``source`` to ``out`` and return ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(ffmpeg, poster_args(source, out, poster_time(duration_s)))
    return out
