"""The arithmetic of benchmark figures (ratios, medians, scaling, frame-by-frame comparisons) and
the parsing of their arguments: pure, unit-tested without media."""

from __future__ import annotations

import itertools
import re
import resource
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from infra.core.errors import BadRequest
from transcode.errors import MediaError
from transcode.ladder import Rung
from transcode.manifests import Track
from transcode.probe import MediaInfo
from transcode.quality import VmafScore

MAX_WORKERS = 64
"""The most worker processes a scaling benchmark starts."""
Say = Callable[[str], None]
"""Where the benchmark says what it is doing, a line at a time."""


def parse_counts(text: str) -> list[int]:
    """Worker process counts from ``"1,2,4"``: ascending, without repeats, and always with 1,
    the reference every speedup is measured against."""
    counts = {1}
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        if not item.isdigit() or not 1 <= int(item) <= MAX_WORKERS:
            raise BadRequest(
                f"worker counts are whole numbers from 1 to {MAX_WORKERS}, "
                f"like 1,2,4 (got {text!r})"
            )
        counts.add(int(item))
    return sorted(counts)


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` as (width, height); both even, as 4:2:0 video needs."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise BadRequest(f"a size is WIDTHxHEIGHT, like 1280x720 (got {text!r})")
    width, height = int(match[1]), int(match[2])
    if not (64 <= width <= 7680 and 64 <= height <= 4320) or width % 2 or height % 2:
        raise BadRequest(f"{text}: width and height must be even, from 64x64 to 7680x4320")
    return width, height


def ratio(numerator: float, denominator: float, digits: int = 3) -> float | None:
    """``numerator / denominator`` rounded, or ``None`` when there is nothing to divide by."""
    if denominator <= 0:
        return None
    return round(numerator / denominator, digits)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def scaling(
    chunked_s: Mapping[int, float], chunks: Mapping[int, int | None], single_s: float
) -> list[dict[str, Any]]:
    """One row per worker count: its wall time, its speedup over one worker (both chunked) and
    over the single-process job, and its parallel efficiency (speedup over one worker / N)."""
    if 1 not in chunked_s:
        raise ValueError("the one-worker run is the reference and must be there")
    reference = chunked_s[1]
    rows = []
    for count in sorted(chunked_s):
        wall = chunked_s[count]
        speedup = ratio(reference, wall)
        rows.append(
            {
                "workers": count,
                "wall_s": round(wall, 3),
                "speedup_vs_1_worker": speedup,
                "speedup_vs_single_process": ratio(single_s, wall),
                "parallel_efficiency": None if speedup is None else round(speedup / count, 3),
                "chunks": chunks.get(count),
            }
        )
    return rows


def compare_frames(stitched: Sequence[Fraction], single: Sequence[Fraction]) -> dict[str, Any]:
    """Whether two renditions show the same frames at the same times (presentation times in
    seconds, in decode output order); where they first differ when they do not."""
    first = next(
        (i for i, (a, b) in enumerate(zip(stitched, single, strict=False)) if a != b), None
    )
    if first is None and len(stitched) != len(single):
        first = min(len(stitched), len(single))
    steps = sorted({round(float(b - a), 6) for a, b in itertools.pairwise(stitched)})
    result: dict[str, Any] = {
        "frames": {"stitched": len(stitched), "single_process": len(single)},
        "identical_frames_and_timestamps": first is None,
        "stitched_frame_steps_s": steps[:5],
    }
    if first is not None:
        result["first_difference"] = {
            "frame": first,
            "stitched_s": float(stitched[first]) if first < len(stitched) else None,
            "single_process_s": float(single[first]) if first < len(single) else None,
        }
    return result


def media_playlist_uris(text: str) -> tuple[str, list[str]]:
    """The init segment and the media segments a CMAF media playlist names, in order."""
    init = None
    segments = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-MAP:"):
            found = re.search(r'URI="([^"]+)"', line)
            init = found[1] if found else None
        elif line and not line.startswith("#"):
            segments.append(line)
    if init is None or not segments:
        raise MediaError("not a CMAF media playlist: no init segment or no media segments")
    return init, segments


def quality_row(rung: Rung, track: Track, score: VmafScore) -> dict[str, Any]:
    """One rung of the quality report: what it is, the bits it takes (video only, measured from
    its segments) and its VMAF against the source."""
    return {
        "name": rung.name,
        "size": f"{track.init.width}x{track.init.height}",
        "codec": rung.codec,
        "codecs": track.init.codec,
        "target_kbps": rung.video_kbps,
        "average_bandwidth_bps": track.average_bandwidth,
        "peak_bandwidth_bps": track.peak_bandwidth,
        "vmaf": {
            "mean": round(score.mean, 3),
            "harmonic_mean": round(score.harmonic_mean, 3),
            "min": round(score.min, 3),
            "p5": round(score.p5, 3),
        },
        "frames": score.frames,
    }


def source_summary(info: MediaInfo) -> dict[str, Any]:
    assert info.video is not None
    width, height = info.video.display_size
    return {
        "path": info.path.name,
        "size": f"{width}x{height}",
        "frame_rate": str(info.video.frame_rate),
        "duration_s": round(info.duration_s, 3),
    }


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), _children_cpu() + _self_cpu()
    action()
    return Timing(time.perf_counter() - wall, _children_cpu() + _self_cpu() - cpu)


def percentile(values: list[float], fraction: float) -> float:
    """Linear-interpolated percentile of ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_s": round(percentile(values, 0.5), 3),
        "p95_s": round(percentile(values, 0.95), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
    }
