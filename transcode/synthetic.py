"""Synthetic camera recordings from ffmpeg's lavfi sources, for the demo, the tests and the
benchmarks: each camera looks different and carries its name and timecode in the picture."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from transcode.errors import FFmpegError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.scene import VirtualCamera, render, smpte


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


def render_scene_camera(
    ffmpeg: str,
    camera: VirtualCamera,
    out: Path,
    *,
    first_frame: int,
    frames: int,
    size: tuple[int, int] = (640, 360),
    rate: Fraction = Fraction(25),
    gop: int = 50,
    timecode_start_s: float = 36000.0,
) -> Path:
    """Render event frames ``first_frame`` .. ``first_frame + frames - 1`` of a camera of the
    virtual match to ``out`` (MP4, H.264 with B-frames and a GOP of ``gop``, AAC sync clicks).

    Every picture carries its event frame number in the machine-readable frame code, and the
    file's SMPTE timecode is the event time of its first frame, so ingest places it on the
    event clock and a test can check which frame of the event any output frame is.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    timecode = smpte(first_frame, rate, timecode_start_s)
    duration_s = float(Fraction(frames) / rate)
    args = [
        *base_args(protocols="file,pipe"),
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", str(rate),
        "-i", "pipe:0",
        "-f", "lavfi", "-i",
        f"sine=frequency=880:sample_rate=48000:beep_factor=6:duration={duration_s}",
        "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2",
        "-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-crf", "23", "-c:a", "aac", "-b:a", "96k", "-shortest",
        "-timecode", timecode, "-movflags", "+faststart", str(out),
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [ffmpeg, *args], stdin=subprocess.PIPE, stderr=log, stdout=subprocess.DEVNULL
        )
        assert proc.stdin is not None
        try:
            for frame in range(first_frame, first_frame + frames):
                proc.stdin.write(render(camera, frame, size, rate, timecode_start_s).tobytes())
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
        if proc.wait(timeout=300) != 0:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-500:]
            raise FFmpegError(f"rendering {camera.name} failed: {tail}", proc.returncode)
    return out
