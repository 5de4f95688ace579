"""The ffmpeg arguments of the re-encoded parts: x264 at the source's profile, level, size, pixel
format, colour tags, rate and bitrate, and the AAC audio under the chosen frames."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from transcode.ffmpeg import base_args
from transcode.replay.cut.index import Run

PRESET = "veryfast"
"""x264 preset of the re-encoded parts: the head and tail are at most a GOP each."""


_MIN_KBPS = 50


_SHORT_PART_S = 5.0
"""Parts shorter than this are encoded without x264's macroblock tree, which starves the last
frames of a short one-pass encode."""


X264_PROFILES = {
    "baseline": "baseline",
    "constrained baseline": "baseline",
    "main": "main",
    "extended": "main",
    "high": "high",
    "high 10": "high10",
    "high 10 intra": "high10",
    "high 4:2:2": "high422",
    "high 4:2:2 intra": "high422",
    "high 4:4:4": "high444",
    "high 4:4:4 predictive": "high444",
    "high 4:4:4 intra": "high444",
}


X264_PIX_FMTS = {
    "yuv420p",
    "yuv422p",
    "yuv444p",
    "nv12",
    "nv16",
    "nv21",
    "yuv420p10le",
    "yuv422p10le",
    "yuv444p10le",
    "gray",
}


_FULL_RANGE_PIX_FMTS = {"yuvj420p": "yuv420p", "yuvj422p": "yuv422p", "yuvj444p": "yuv444p"}


@dataclass(frozen=True)
class VideoSpec:
    """What the re-encoded parts are made as, so they join the copied ones."""

    width: int
    height: int
    pix_fmt: str
    profile: str
    level: int | None
    kbps: int
    gop: int
    frame_rate: Fraction
    colors: tuple[tuple[str, str], ...] = ()


def x264_pix_fmt(pix_fmt: str) -> tuple[str, bool]:
    """The pixel format x264 is given, and whether the source was full range (``yuvj``)."""
    if pix_fmt in _FULL_RANGE_PIX_FMTS:
        return _FULL_RANGE_PIX_FMTS[pix_fmt], True
    return pix_fmt, False


def video_spec(run: Run, frame_rate: Fraction, *, match: bool) -> VideoSpec:
    """Encoder settings for the frames of ``run``: matched to its source when the parts are
    joined to copied ones, else plain 8-bit 4:2:0 High profile; at its size, and at the bitrate
    the source spends on those frames."""
    source = run.source
    kbps = max(source.kbps(run.first, run.last, frame_rate), _MIN_KBPS)
    gop = source.gop() or max(1, round(frame_rate * 2))
    if not match:
        return VideoSpec(
            width=source.width,
            height=source.height,
            pix_fmt="yuv420p",
            profile="high",
            level=None,
            kbps=kbps,
            gop=gop,
            frame_rate=frame_rate,
            colors=source.colors,
        )
    pix_fmt, full_range = x264_pix_fmt(source.pix_fmt)
    colors = source.colors
    if full_range and not any(option == "-color_range" for option, _ in colors):
        colors = (*colors, ("-color_range", "pc"))
    return VideoSpec(
        width=source.width,
        height=source.height,
        pix_fmt=pix_fmt,
        profile=X264_PROFILES[(source.profile or "high").lower()],
        level=source.level,
        kbps=kbps,
        gop=gop,
        frame_rate=frame_rate,
        colors=colors,
    )


def encode_args(
    url: str,
    *,
    first_s: float,
    last_s: float,
    frames: int,
    seek_s: float | None,
    spec: VideoSpec,
    out: Path,
    preset: str = PRESET,
    protocols: str = "file,pipe",
    scale: bool = False,
    two_pass: tuple[int, Path] | None = None,
) -> list[str]:
    """ffmpeg arguments that re-encode the ``frames`` frames shown from ``first_s`` to ``last_s``
    (raw timestamps of ``url``) into the MPEG-TS ``out`` (H.264 with in-band parameter sets).

    Timestamps are kept as they are in the file (``-copyts``), so the trim picks frames by their
    own times; ``seek_s`` (from the file's start) jumps near the first keyframe needed.
    ``two_pass`` is the pass (1 or 2) and the pass log's path prefix.
    """
    half = float(1 / spec.frame_rate) / 2
    args = [*base_args(protocols=protocols), "-copyts"]
    if seek_s is not None:
        args += ["-ss", f"{seek_s:.6f}", "-noaccurate_seek"]
    filters = [f"trim=start={first_s - half:.6f}:end={last_s + half:.6f}", "setpts=PTS-STARTPTS"]
    if scale:
        filters.append(f"scale={spec.width}:{spec.height}")
    args += ["-i", url, "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", ",".join(filters)]
    args += ["-frames:v", str(frames), "-fps_mode", "passthrough"]
    args += ["-c:v", "libx264", "-preset", preset, "-profile:v", spec.profile]
    if spec.level:
        args += ["-level:v", f"{spec.level / 10:.1f}" if spec.level >= 10 else str(spec.level)]
    args += ["-pix_fmt", spec.pix_fmt, "-g", str(spec.gop)]
    args += ["-b:v", f"{spec.kbps}k"]
    for option, value in spec.colors:
        args += [option, value]
    if frames / spec.frame_rate < _SHORT_PART_S:
        args += ["-x264-params", "mbtree=0"]
    if two_pass is not None:
        number, log = two_pass
        args += ["-pass", str(number), "-passlogfile", str(log)]
        if number == 1:
            return [*args, "-f", "null", "-"]
    args += ["-f", "mpegts", str(out)]
    return args


@dataclass(frozen=True)
class AudioChunk:
    """The audio under some frames of one piece: ``duration_s`` from ``first_s`` (raw time)."""

    url: str | None
    """``None`` where the piece has no audio: silence."""
    first_s: float
    duration_s: float
    seek_s: float | None


def audio_args(
    chunks: Sequence[AudioChunk],
    *,
    sample_rate: int,
    layout: str,
    kbps: int,
    out: Path,
    protocols: str = "file,pipe",
) -> list[str]:
    """ffmpeg arguments that encode the audio ``chunks``, joined, into the AAC file ``out``.

    Each chunk keeps its place under its frames: it is trimmed by the file's own timestamps,
    padded with silence where its audio starts late or ends early, and cut to its exact length.
    """
    args = [*base_args(protocols=protocols), "-copyts"]
    graph = []
    inputs = 0
    fmt = f"aformat=sample_fmts=fltp:sample_rates={sample_rate}:channel_layouts={layout}"
    for i, chunk in enumerate(chunks):
        d = f"{chunk.duration_s:.6f}"
        if chunk.url is None:
            graph.append(f"anullsrc=r={sample_rate}:cl={layout},atrim=duration={d},{fmt}[a{i}]")
            continue
        if chunk.seek_s is not None:
            args += ["-ss", f"{chunk.seek_s:.6f}", "-noaccurate_seek"]
        args += ["-i", chunk.url]
        start, end = f"{chunk.first_s:.6f}", f"{chunk.first_s + chunk.duration_s:.6f}"
        graph.append(
            f"[{inputs}:a:0]atrim=start={start}:end={end},asetpts=PTS-{start}/TB,"
            f"aresample=async=1:first_pts=0,{fmt},apad=whole_dur={d},atrim=duration={d}[a{i}]"
        )
        inputs += 1
    labels = "".join(f"[a{i}]" for i in range(len(chunks)))
    graph.append(f"{labels}concat=n={len(chunks)}:v=0:a=1[aout]")
    args += ["-filter_complex", ";".join(graph), "-map", "[aout]"]
    args += ["-c:a", "aac", "-b:a", f"{kbps}k", "-ar", str(sample_rate), "-f", "mp4", str(out)]
    return args
