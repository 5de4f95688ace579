"""Benchmarks, always as ratios measured side by side in one run on the same input."""

from __future__ import annotations

import statistics
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from infra.ops.bench.figures import Timing, timed
from transcode.ffmpeg import find_ffmpeg
from transcode.ladder import cmaf_args, plan_from_profile, transcode_ladder
from transcode.packaging import describe_track, write_manifests
from transcode.poster import poster_time
from transcode.probe import probe
from transcode.profiles import Profile, load_profile


def ladder_benchmark(
    source: Path,
    *,
    ffmpeg: str | None = None,
    profile: Profile | None = None,
    repeat: int = 1,
    task: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Our ladder (encode, then manifests from the segments) against the plain ffmpeg command
    with the same arguments, and against one ffmpeg process per rung."""
    binary = ffmpeg or find_ffmpeg()
    info = probe(source)
    assert info.video is not None
    chosen = profile or load_profile("broadcast")
    plan = plan_from_profile(info, chosen)
    width, height = info.video.display_size
    runs: dict[str, list[Timing]] = {"plain": [], "ours": [], "per_rung": []}
    if task:
        runs["task"] = []
    with tempfile.TemporaryDirectory(prefix="vantage-bench-") as scratch:
        root = Path(scratch)

        def plain() -> None:
            out = root / "plain"
            poster = (out / "poster.jpg", poster_time(info.duration_s))
            out.mkdir(parents=True, exist_ok=True)
            subprocess.run([binary, *cmaf_args(source, out, plan, poster=poster)], check=True)

        def ours() -> None:
            ladder = transcode_ladder(
                binary, source, probe(source), root / "ours", plan, on_progress=lambda _f: None
            )
            write_manifests(
                [describe_track(t) for t in ladder.videos],
                describe_track(ladder.audio) if ladder.audio else None,
                plan.frame_rate,
            )

        def per_rung() -> None:
            for rung in plan.rungs:
                out = root / "naive" / rung.name
                out.mkdir(parents=True, exist_ok=True)
                single = replace(plan, rungs=(rung,))
                subprocess.run([binary, *cmaf_args(source, out, single)], check=True)

        for _ in range(repeat):
            runs["plain"].append(timed(plain))
            runs["ours"].append(timed(ours))
            runs["per_rung"].append(timed(per_rung))
            if task:
                runs["task"].append(timed(task))

    def median(name: str, field: str) -> float:
        return float(statistics.median(getattr(t, field) for t in runs[name]))

    result: dict[str, Any] = {
        "source": {
            "path": source.name,
            "size": f"{width}x{height}",
            "frame_rate": str(info.video.frame_rate),
            "duration_s": info.duration_s,
        },
        "profile": chosen.name,
        "rungs": [r.name for r in plan.rungs],
        "preset": plan.preset,
        "repeat": repeat,
        "wall_s": {name: round(median(name, "wall_s"), 3) for name in runs},
        "cpu_s": {name: round(median(name, "cpu_s"), 3) for name in runs},
    }
    plain_wall, ours_wall = median("plain", "wall_s"), median("ours", "wall_s")
    result["overhead_vs_plain_ffmpeg"] = round(ours_wall / plain_wall - 1, 4)
    result["speedup_vs_process_per_rung"] = round(median("per_rung", "wall_s") / ours_wall, 3)
    result["cpu_ratio_process_per_rung_vs_ours"] = round(
        median("per_rung", "cpu_s") / median("ours", "cpu_s"), 3
    )
    if task:
        result["task_overhead_vs_plain_ffmpeg"] = round(
            median("task", "wall_s") / plain_wall - 1, 4
        )
    return result
