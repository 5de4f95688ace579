"""ABR ladder: plan the rungs, build one ffmpeg command that decodes once and encodes every rung,
and package the result as HLS with a master playlist."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from infra.errors import MediaError
from transcode.ffmpeg import ProgressCallback, base_args, run_ffmpeg
from transcode.poster import poster_time
from transcode.probe import MediaInfo

# Video bitrates (kb/s) for H.264 at 25/30 fps; frame rates above 30 get half as much again.
_BITRATES = {
    2160: 16000,
    1440: 9000,
    1080: 5000,
    720: 3000,
    540: 2000,
    480: 1400,
    360: 800,
    240: 400,
}
_AUDIO_KBPS = 128
POSTER_LINES = 360


@dataclass(frozen=True)
class Rung:
    """One rendition of the ladder. ``name`` is the short side in lines, e.g. ``720p``."""

    name: str
    width: int
    height: int
    video_kbps: int
    audio_kbps: int

    @property
    def bandwidth(self) -> int:
        return (self.video_kbps + self.audio_kbps) * 1000


@dataclass(frozen=True)
class LadderOptions:
    preset: str = "veryfast"
    gop_seconds: float = 2.0
    heights: tuple[int, ...] = (1080, 720, 480, 360)


@dataclass(frozen=True)
class RenditionOutput:
    rung: Rung
    playlist: Path
    segments: tuple[Path, ...]


@dataclass(frozen=True)
class LadderResult:
    master: Path
    renditions: tuple[RenditionOutput, ...]
    poster: Path | None
    """A JPEG frame from a tenth of the way in, taken from the same decode."""


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def plan_ladder(
    width: int, height: int, frame_rate: Fraction, heights: tuple[int, ...]
) -> list[Rung]:
    """Choose the rungs for a source of ``width`` x ``height`` (display size).

    A rung's number is the short side, so a portrait 1080x1920 source gets a 1080p rung of
    1080x1920. Rungs above the source are dropped; a source smaller than every rung gets one rung
    at its own (even-rounded) size. Dimensions are even, as 4:2:0 H.264 requires.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid source size {width}x{height}")
    portrait = height > width
    short, long = (width, height) if portrait else (height, width)
    wanted = sorted({h for h in heights if h <= short}, reverse=True)
    if not wanted:
        wanted = [_even(short)]
    high_rate = frame_rate > 31
    rungs = []
    for lines in wanted:
        scaled_long = _even(long * lines / short)
        scaled_short = _even(lines)
        w, h = (scaled_short, scaled_long) if portrait else (scaled_long, scaled_short)
        kbps = _bitrate_for(lines)
        if high_rate:
            kbps = kbps * 3 // 2
        rungs.append(Rung(f"{lines}p", w, h, kbps, _AUDIO_KBPS))
    return rungs


def _bitrate_for(lines: int) -> int:
    known = sorted(_BITRATES)
    for candidate in known:
        if lines <= candidate:
            return _BITRATES[candidate]
    return _BITRATES[known[-1]]


def gop_frames(frame_rate: Fraction, gop_seconds: float) -> int:
    """Frames per GOP: a whole number of frames closest to ``gop_seconds``."""
    return max(1, math.floor(frame_rate * Fraction(gop_seconds) + Fraction(1, 2)))


def ladder_args(
    source: Path,
    out_dir: Path,
    rungs: list[Rung],
    frame_rate: Fraction,
    *,
    has_audio: bool,
    options: LadderOptions,
    poster: tuple[Path, float] | None = None,
) -> list[str]:
    """ffmpeg arguments for the whole ladder in one process: one decode, a ``split`` per rung, one
    x264 encoder per rung with identical forced keyframes every ``gop_seconds`` (so segment
    boundaries line up across rungs), packaged as HLS (MPEG-TS segments) with a master playlist.
    With ``poster`` (path, seconds) one more branch of the split writes a 360-line JPEG."""
    n = len(rungs)
    gop = gop_frames(frame_rate, options.gop_seconds)
    # Segments are cut on the forced keyframes, so every segment is exactly one GOP long.
    segment_s = float(Fraction(gop) / frame_rate)
    labels = [f"v{i}" for i in range(n)]
    branches = n + (1 if poster else 0)
    if branches == 1:
        graph = [f"[0:v:0]{_scale(rungs[0])}[v0]"]
    else:
        graph = ["[0:v:0]split=" + str(branches) + "".join(f"[s{i}]" for i in range(branches))]
        graph += [f"[s{i}]{_scale(rung)}[v{i}]" for i, rung in enumerate(rungs)]
    if poster:
        graph.append(f"[s{n}]trim=start={poster[1]:.3f},scale=-2:{POSTER_LINES},setsar=1[poster]")
    args = [*base_args(), "-i", str(source), "-filter_complex", ";".join(graph)]
    for i, rung in enumerate(rungs):
        args += ["-map", f"[{labels[i]}]"]
        if has_audio:
            args += ["-map", "0:a:0"]
        maxrate = rung.video_kbps * 107 // 100
        args += [
            f"-c:v:{i}",
            "libx264",
            f"-b:v:{i}",
            f"{rung.video_kbps}k",
            f"-maxrate:v:{i}",
            f"{maxrate}k",
            f"-bufsize:v:{i}",
            f"{rung.video_kbps * 3 // 2}k",
        ]
    args += [
        "-preset",
        options.preset,
        "-profile:v",
        "high",
        "-r",
        str(frame_rate),
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-force_key_frames",
        f"expr:gte(n,n_forced*{gop})",
    ]
    if has_audio:
        args += ["-c:a", "aac", "-b:a", f"{_AUDIO_KBPS}k", "-ac", "2", "-ar", "48000"]
    stream_map = " ".join(
        (f"v:{i},a:{i}" if has_audio else f"v:{i}") + f",name:{rung.name}"
        for i, rung in enumerate(rungs)
    )
    args += [
        "-f",
        "hls",
        "-hls_time",
        f"{segment_s:.6g}",
        "-hls_playlist_type",
        "vod",
        "-hls_segment_type",
        "mpegts",
        "-hls_flags",
        "independent_segments",
        "-master_pl_name",
        "master.m3u8",
        "-hls_segment_filename",
        str(out_dir / "%v" / "seg_%05d.ts"),
        "-var_stream_map",
        stream_map,
        str(out_dir / "%v" / "index.m3u8"),
    ]
    if poster:
        args += ["-map", "[poster]", "-frames:v", "1", "-q:v", "3", "-update", "1", str(poster[0])]
    return args


def _scale(rung: Rung) -> str:
    return f"scale={rung.width}:{rung.height}:flags=bicubic,setsar=1,format=yuv420p"


def transcode_ladder(
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    out_dir: Path,
    options: LadderOptions,
    *,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
) -> LadderResult:
    """Encode ``source`` into an HLS ladder under ``out_dir``.

    ``out_dir`` receives ``master.m3u8`` and one folder per rung (``720p/index.m3u8`` and its
    ``seg_NNNNN.ts`` segments). Raises :class:`MediaError` for a source without video and
    :class:`FFmpegError` when ffmpeg fails.
    """
    if info.video is None:
        raise MediaError(f"{source.name}: no video stream to transcode")
    width, height = info.video.display_size
    rungs = plan_ladder(width, height, info.video.frame_rate, options.heights)
    out_dir.mkdir(parents=True, exist_ok=True)
    poster = out_dir / "poster.jpg"
    args = ladder_args(
        source,
        out_dir,
        rungs,
        info.video.frame_rate,
        has_audio=info.audio is not None,
        options=options,
        poster=(poster, poster_time(info.duration_s)),
    )
    run_ffmpeg(
        ffmpeg, args, duration_s=info.duration_s, on_progress=on_progress, timeout_s=timeout_s
    )
    renditions = tuple(
        RenditionOutput(
            rung=rung,
            playlist=out_dir / rung.name / "index.m3u8",
            segments=tuple(sorted((out_dir / rung.name).glob("seg_*.ts"))),
        )
        for rung in rungs
    )
    return LadderResult(
        master=out_dir / "master.m3u8",
        renditions=renditions,
        poster=poster if poster.is_file() else None,
    )
