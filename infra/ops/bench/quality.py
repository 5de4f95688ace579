"""The VMAF (mean, harmonic mean, min, 5th percentile) and measured bandwidth of every rung of a
profile."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from infra.core.errors import BadRequest
from infra.ops.bench.figures import Say, quality_row, source_summary
from infra.ops.bench.media import join_segments
from transcode.ffmpeg import find_ffmpeg
from transcode.ladder import plan_from_profile, transcode_ladder
from transcode.packaging import describe_track
from transcode.probe import probe
from transcode.profiles import Profile, load_profile
from transcode.quality import vmaf


def quality_benchmark(
    source: Path,
    *,
    ffmpeg: str | None = None,
    profile: Profile | None = None,
    subsample: int = 1,
    say: Say = lambda _line: None,
) -> dict[str, Any]:
    """Encode ``source`` with the profile's ladder, then score every video rung with VMAF against
    the source and measure the bits it takes."""
    binary = ffmpeg or find_ffmpeg()
    chosen = profile or load_profile("broadcast")
    if chosen.packaging.segments != "cmaf":
        raise BadRequest(f"bench quality measures CMAF ladders; {chosen.name} packages MPEG-TS")
    info = probe(source)
    assert info.video is not None
    width, height = info.video.display_size
    plan = plan_from_profile(info, chosen)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vantage-quality-") as scratch:
        root = Path(scratch)
        say(f"encoding the {chosen.name} ladder")
        ladder = transcode_ladder(binary, source, info, root / "ladder", plan)
        for rung, output in zip(plan.rungs, ladder.videos, strict=True):
            say(f"scoring {rung.name}")
            rendition = join_segments(
                [p.read_bytes() for p in (output.init, *output.segments)],
                root / f"{rung.name}.mp4",
            )
            score = vmaf(
                binary,
                source,
                rendition,
                width=width,
                height=height,
                frame_rate=info.video.frame_rate,
                n_subsample=subsample,
            )
            rows.append(quality_row(rung, describe_track(output), score))
        audio = describe_track(ladder.audio) if ladder.audio else None
    return {
        "source": source_summary(info),
        "profile": chosen.name,
        "subsample": subsample,
        "rungs": rows,
        "audio": None
        if audio is None
        else {
            "codecs": audio.init.codec,
            "average_bandwidth_bps": audio.average_bandwidth,
            "peak_bandwidth_bps": audio.peak_bandwidth,
        },
    }
