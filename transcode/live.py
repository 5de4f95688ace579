"""Live renditions: each landed segment re-encoded to a few rungs, timestamps kept, so the
rendition segments play back to back as one stream."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.ladder import Rung, plan_ladder
from transcode.probe import MediaInfo


@dataclass(frozen=True)
class LiveRendition:
    rung: Rung
    path: Path


def live_segment_args(
    source: Path, outputs: list[LiveRendition], *, has_audio: bool, preset: str
) -> list[str]:
    """One decode, one x264 encoder per rung; ``-copyts`` keeps the source's timeline so
    consecutive segments join without a jump."""
    n = len(outputs)
    if n == 1:
        graph = f"[0:v:0]scale={outputs[0].rung.width}:{outputs[0].rung.height},setsar=1[v0]"
    else:
        parts = ["[0:v:0]split=" + str(n) + "".join(f"[s{i}]" for i in range(n))]
        parts += [
            f"[s{i}]scale={o.rung.width}:{o.rung.height},setsar=1,format=yuv420p[v{i}]"
            for i, o in enumerate(outputs)
        ]
        graph = ";".join(parts)
    args = [*base_args(), "-copyts", "-i", str(source), "-filter_complex", graph]
    for i, out in enumerate(outputs):
        args += ["-map", f"[v{i}]"]
        if has_audio:
            args += ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{out.rung.audio_kbps}k"]
        args += [
            "-c:v", "libx264", "-preset", preset, "-b:v", f"{out.rung.video_kbps}k",
            "-maxrate", f"{out.rung.video_kbps * 107 // 100}k",
            "-bufsize", f"{out.rung.video_kbps}k", "-pix_fmt", "yuv420p",
            "-muxdelay", "0", "-muxpreload", "0",
            "-mpegts_flags", "+initial_discontinuity", "-f", "mpegts", str(out.path),
        ]  # fmt: skip
    return args


def transcode_live_segment(
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    out_dir: Path,
    heights: tuple[int, ...],
    *,
    preset: str = "veryfast",
) -> list[LiveRendition]:
    """Encode one live segment to every rung of ``heights`` that fits the source."""
    if info.video is None:
        raise MediaError(f"{source.name}: no video in live segment")
    width, height = info.video.display_size
    rungs = plan_ladder(width, height, info.video.frame_rate, heights)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = [LiveRendition(rung, out_dir / f"{rung.name}.ts") for rung in rungs]
    run_ffmpeg(
        ffmpeg,
        live_segment_args(source, outputs, has_audio=info.audio is not None, preset=preset),
    )
    return outputs
