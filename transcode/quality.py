"""VMAF of a rendition against its source, with libvmaf's built-in models."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg

_LOG_NAME = "vmaf.json"


@dataclass(frozen=True)
class VmafScore:
    """VMAF on its 0-100 scale, pooled over the frames scored."""

    mean: float
    harmonic_mean: float
    min: float
    p5: float
    """The 5th percentile of the per-frame scores: how bad the worst stretches look."""
    frames: int
    """Frames scored (every ``n_subsample``-th frame)."""


def vmaf_model(height: int) -> str:
    """The built-in model for a reference ``height`` lines tall: the 4K model (trained for 4K
    viewed at 1.5 times the picture height) from 2160 lines, else the HD one."""
    return "vmaf_4k_v0.6.1" if height >= 2160 else "vmaf_v0.6.1"


def vmaf_args(
    reference: Path,
    distorted: Path,
    *,
    width: int,
    height: int,
    frame_rate: Fraction,
    n_subsample: int,
    threads: int,
    log_name: str = _LOG_NAME,
) -> list[str]:
    """ffmpeg arguments that score ``distorted`` against ``reference`` and write libvmaf's JSON
    log to ``log_name`` in the working directory (a bare name needs no filtergraph escaping)."""
    rate = f"{frame_rate.numerator}/{frame_rate.denominator}"
    # Both start at zero and run at the reference's rate, so libvmaf pairs frame n with frame n;
    # both are scaled (a no-op at the same size) so their size and pixel format match.
    fit = (
        f"setpts=PTS-STARTPTS,fps={rate},scale={width}:{height}:flags=bicubic,setsar=1,"
        "format=yuv420p"
    )
    vmaf = (
        f"libvmaf=model=version={vmaf_model(height)}:log_fmt=json:log_path={log_name}"
        f":n_threads={threads}:n_subsample={n_subsample}:shortest=1"
    )
    graph = f"[0:v:0]{fit}[distorted];[1:v:0]{fit}[reference];[distorted][reference]{vmaf}[out]"
    return [
        *base_args(),
        "-i", str(distorted),
        "-i", str(reference),
        "-filter_complex", graph,
        "-map", "[out]", "-f", "null", "-",
    ]  # fmt: skip


def _percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (as numpy's default does)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def parse_vmaf_log(text: str) -> VmafScore:
    """Read libvmaf's JSON log: the pooled VMAF (mean, harmonic mean, min) and the per-frame
    scores for the 5th percentile. Raises :class:`MediaError` when it holds no scores."""
    try:
        log: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MediaError(f"VMAF log is not JSON ({exc})") from exc
    scores = [
        float(frame["metrics"]["vmaf"])
        for frame in log.get("frames", [])
        if "vmaf" in frame.get("metrics", {})
    ]
    if not scores:
        raise MediaError("VMAF log holds no frame scores (did the inputs decode?)")
    pooled = log.get("pooled_metrics", {}).get("vmaf", {})
    mean = pooled.get("mean", sum(scores) / len(scores))
    # libvmaf's harmonic mean shifts by one so a zero score does not divide by zero.
    harmonic = pooled.get(
        "harmonic_mean", len(scores) / sum(1 / (score + 1) for score in scores) - 1
    )
    return VmafScore(
        mean=float(mean),
        harmonic_mean=float(harmonic),
        min=float(pooled.get("min", min(scores))),
        p5=_percentile(scores, 0.05),
        frames=len(scores),
    )


def vmaf(
    ffmpeg: str,
    reference: Path,
    distorted: Path,
    *,
    width: int,
    height: int,
    frame_rate: Fraction,
    n_subsample: int = 1,
    threads: int = 0,
    timeout_s: float | None = None,
) -> VmafScore:
    """VMAF of ``distorted`` (a rendition) against ``reference`` (its source).

    ``width``, ``height`` and ``frame_rate`` are the reference's: the rendition is scaled up to
    that size with bicubic and both are compared frame by frame from their first frame.
    ``n_subsample`` scores every n-th frame only; ``threads`` 0 uses every core. Raises
    :class:`FFmpegError` when ffmpeg fails and :class:`MediaError` when nothing was scored.
    """
    if n_subsample < 1:
        raise ValueError(f"n_subsample must be 1 or more, not {n_subsample}")
    args = vmaf_args(
        reference.resolve(),
        distorted.resolve(),
        width=width,
        height=height,
        frame_rate=frame_rate,
        n_subsample=n_subsample,
        threads=threads or os.cpu_count() or 1,
    )
    with tempfile.TemporaryDirectory(prefix="vmaf-") as work:
        run_ffmpeg(ffmpeg, args, timeout_s=timeout_s, cwd=Path(work))
        log = Path(work) / _LOG_NAME
        if not log.is_file():
            raise MediaError(f"{distorted.name}: libvmaf wrote no log")
        return parse_vmaf_log(log.read_text())
