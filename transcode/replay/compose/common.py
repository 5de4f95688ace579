"""What the mosaic, the sequence and the sweep share: angle clips and the composed result, fitting
a picture into a box, frame counts, the audio under a clip, the burnt-in timecode and the
encoding arguments."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from transcode.errors import MediaError
from transcode.ffmpeg import ProgressCallback, run_ffmpeg
from transcode.probe import MediaInfo, probe
from transcode.proxy import filter_value

AUDIO_RATE = 48000
"""Every replay's audio is resampled to this rate, so cuts join without a rate change."""


MAX_ANGLES = 9


STEREO = f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo"


Interpolation = Literal["motion", "blend"]
"""How slow-motion frames are made: ``motion`` (motion-compensated, ffmpeg ``minterpolate``) or
``blend`` (a weighted mix of the two nearest frames, ffmpeg ``framerate``; much faster, ghosts
on fast movement)."""


@dataclass(frozen=True)
class Angle:
    path: Path
    label: str
    """The camera's name as the audience or the operator knows it, burnt into the mosaic."""
    start_timecode: str | None = None
    """SMPTE timecode of the clip's first frame; ``None`` reads the file's own, else 00:00:00:00."""


@dataclass(frozen=True)
class ComposedClip:
    path: Path
    width: int
    height: int
    frame_rate: Fraction
    frames: int
    duration_s: float


@dataclass(frozen=True)
class ReplayEncoding:
    preset: str = "veryfast"
    crf: int = 18
    gop_s: float = 1.0
    """A keyframe every second keeps an editor's seek into a replay cheap."""
    audio_kbps: int = 192


@dataclass(frozen=True)
class Fit:
    """Where a picture lands inside a box when scaled to fit with its aspect ratio kept."""

    width: int
    height: int
    x: int
    y: int


def to_even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def rate_text(rate: Fraction) -> str:
    return f"{rate.numerator}/{rate.denominator}"


def check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise MediaError(f"output size {width}x{height} must be even and at least 16x16")


def check_rate(frame_rate: Fraction) -> None:
    if frame_rate <= 0:
        raise MediaError(f"frame rate {frame_rate} must be positive")


def fit_inside(width: int, height: int, box: tuple[int, int]) -> Fit:
    """Scale ``width`` x ``height`` to fit ``box`` with its aspect ratio kept, centred.

    Sizes and offsets are even, as 4:2:0 needs; the rest of the box is padding.
    """
    if width <= 0 or height <= 0:
        raise MediaError(f"picture size {width}x{height} is not usable")
    box_width, box_height = box
    scale = min(box_width / width, box_height / height)
    fit_width = min(box_width, to_even(round(width * scale)))
    fit_height = min(box_height, to_even(round(height * scale)))
    x = (box_width - fit_width) // 4 * 2
    y = (box_height - fit_height) // 4 * 2
    return Fit(fit_width, fit_height, x, y)


def fit_filters(source_size: tuple[int, int], box: tuple[int, int]) -> str:
    """scale + pad filters that put a ``source_size`` picture into ``box`` on black."""
    fit = fit_inside(*source_size, box)
    return (
        f"scale={fit.width}:{fit.height}:flags=bicubic,"
        f"pad={box[0]}:{box[1]}:{fit.x}:{fit.y}:color=black,setsar=1"
    )


def frame_count(seconds: float, rate: Fraction) -> int:
    """The frame at ``seconds``, halves rounded up (``round`` would send 12.5 down and 37.5
    up, and a one-second range at 25 fps would hold 26 frames)."""
    return math.floor(Fraction(seconds) * rate + Fraction(1, 2))


def frames_at(info: MediaInfo, rate: Fraction) -> int:
    """Frames the clip's video gives at ``rate`` (the fps filter drops or repeats frames)."""
    video = info.video
    if video is None:
        raise MediaError(f"{info.path.name}: no video stream")
    if video.frames:
        seconds = Fraction(video.frames) / video.frame_rate
    else:
        seconds = Fraction(info.duration_s)
    return math.floor(seconds * rate + Fraction(1, 1000))


def probe_video(path: Path) -> MediaInfo:
    info = probe(path, verify=False)
    if info.video is None:
        raise MediaError(f"{path.name}: no video stream")
    return info


def encode_args(frame_rate: Fraction, encoding: ReplayEncoding, audio: bool) -> list[str]:
    """Output options every replay shares: constant-rate H.264 High 4:2:0 with a keyframe every
    ``gop_s``, and stereo 48 kHz AAC when there is audio."""
    gop = str(max(1, round(frame_rate * Fraction(encoding.gop_s))))
    args = [
        "-r", rate_text(frame_rate), "-fps_mode", "cfr",
        "-c:v", "libx264", "-preset", encoding.preset, "-crf", str(encoding.crf),
        "-profile:v", "high", "-pix_fmt", "yuv420p", "-g", gop,
    ]  # fmt: skip
    if audio:
        args += ["-c:a", "aac", "-b:a", f"{encoding.audio_kbps}k", "-ac", "2"]
        args += ["-ar", str(AUDIO_RATE)]
    return args


def samples_for(frames: int, rate: Fraction) -> int:
    """Audio samples that last exactly as long as ``frames`` video frames."""
    return round(Fraction(frames) * AUDIO_RATE / rate)


def clip_audio(stream: str, video_start_s: float) -> str:
    """Audio of ``stream`` on the same zero as its video, resampled, first sample at 0."""
    chain = [f"[{stream}]"]
    if video_start_s:
        # The video is rebased to its first frame; move the audio by the same amount.
        chain.append(f"asetpts=PTS-{video_start_s:.6f}/TB,")
    # first_pts=0 pads a late start with silence and drops encoder-delay samples before zero.
    chain.append(f"aresample={AUDIO_RATE}:async=1:first_pts=0")
    return "".join(chain)


def timecode_filter(timecode: str, frame_rate: Fraction, size: tuple[int, int]) -> str:
    """The running timecode, bottom centre of the whole mosaic, on a translucent box."""
    font = max(12, round(size[1] / 24))
    return (
        f"drawtext=font=Monospace:timecode={filter_value(timecode)}:rate={rate_text(frame_rate)}"
        f":fontsize={font}:box=1:boxcolor=black@0.6:boxborderw={max(2, font // 4)}"
        f":fontcolor=white:x=(w-tw)/2:y=h-th-{font // 2}"
    )


def encode_clip(
    ffmpeg: str,
    args: list[str],
    out: Path,
    rate: Fraction,
    frames: int,
    *,
    timeout_s: float | None,
    on_progress: ProgressCallback | None,
) -> ComposedClip:
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(
        ffmpeg,
        args,
        duration_s=float(frames / rate),
        on_progress=on_progress,
        timeout_s=timeout_s,
    )
    made = probe(out, verify=False)
    if made.video is None:
        raise MediaError(f"{out.name}: the replay has no video")
    return ComposedClip(
        path=out,
        width=made.video.width,
        height=made.video.height,
        frame_rate=rate,
        frames=made.video.frames or frames_at(made, rate),
        duration_s=made.duration_s,
    )
