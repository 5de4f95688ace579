"""Synthetic camera recordings from ffmpeg's lavfi sources, for the demo, the tests and the
benchmarks: each camera looks different and carries its name and timecode in the picture."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from transcode.ffmpeg import base_args, run_ffmpeg


@dataclass(frozen=True)
class SyntheticCamera:
    name: str
    index: int
    duration_s: float = 6.0
    width: int = 1280
    height: int = 720
    frame_rate: Fraction = Fraction(25)
    timecode: str | None = "10:00:00:00"
    creation_time: datetime | None = None
    audio: bool = True
    preset: str = "ultrafast"
    bitrate_kbps: int | None = None
    """Fixed video bitrate; ``None`` uses constant quality."""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


def synthetic_camera_args(camera: SyntheticCamera, out: Path) -> list[str]:
    """ffmpeg arguments that render ``camera`` to ``out`` (MP4, H.264 + AAC)."""
    rate = camera.frame_rate
    size = f"{camera.width}x{camera.height}"
    font = max(16, camera.height // 14)
    overlays = [
        f"hue=h={(camera.index * 90) % 360}",
        f"drawbox=x=0:y=0:w=iw:h={font * 2}:color=black@0.6:t=fill",
        f"drawtext=text='{_escape(camera.name)}':fontsize={font}:fontcolor=white"
        f":x={font // 2}:y={font // 2}",
    ]
    if camera.timecode:
        overlays.append(
            f"drawtext=timecode='{_escape(camera.timecode)}':rate={rate}:fontsize={font}"
            f":fontcolor=yellow:x=w-tw-{font // 2}:y={font // 2}"
        )
    args = [
        *base_args(protocols="file"),
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}:duration={camera.duration_s}",
    ]
    if camera.audio:
        freq = 330 + 110 * camera.index
        args += [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={freq}:sample_rate=48000:beep_factor=4:duration={camera.duration_s}",
        ]
    args += ["-vf", ",".join(overlays), "-c:v", "libx264", "-preset", camera.preset]
    args += ["-pix_fmt", "yuv420p", "-g", str(round(rate * 2))]
    if camera.bitrate_kbps:
        args += ["-b:v", f"{camera.bitrate_kbps}k"]
    else:
        args += ["-crf", "20"]
    if camera.audio:
        args += ["-c:a", "aac", "-b:a", "128k", "-shortest"]
    if camera.timecode:
        args += ["-timecode", camera.timecode]
    if camera.creation_time:
        args += ["-metadata", f"creation_time={camera.creation_time.isoformat()}"]
    args += ["-movflags", "+faststart", str(out)]
    return args


def render_camera(ffmpeg: str, camera: SyntheticCamera, out: Path) -> Path:
    """Render ``camera`` to ``out`` and return ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(ffmpeg, synthetic_camera_args(camera, out))
    return out
