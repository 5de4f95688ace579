"""Editor proxies: small H.264 files an editing UI plays and seeks frame by frame, with the camera
name and a running SMPTE timecode burnt into the picture."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from transcode import timecode as tc
from transcode.errors import MediaError
from transcode.ffmpeg import ProgressCallback, base_args, run_ffmpeg
from transcode.probe import MediaInfo, probe
from transcode.timecode import DROP_FRAME_RATES

_NTSC_RATES = (Fraction(24000, 1001), *DROP_FRAME_RATES)

_ZERO_TIMECODE = "00:00:00:00"


@dataclass(frozen=True)
class ProxyOptions:
    lines: int = 360
    """Short side of the picture, so a portrait source is as sharp as a landscape one."""
    # A browser seek decodes from the keyframe before the target. Ten frames a GOP means at most
    # nine extra frames of 360-line H.264 (a few milliseconds) and a small byte range to fetch per
    # seek, where the ladder's 2 s GOP can mean 49 at 25 fps or 119 at 59.94. All-intra would seek
    # faster still but needs three to five times the bits for the same picture.
    gop_frames: int = 10
    video_kbps: int = 1000
    preset: str = "veryfast"
    audio_kbps: int = 128


@dataclass(frozen=True)
class ProxyResult:
    path: Path
    width: int
    height: int
    frame_rate: Fraction
    gop_frames: int
    duration_s: float


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def proxy_size(width: int, height: int, lines: int) -> tuple[int, int]:
    """Proxy width and height for a source shown at ``width`` x ``height``.

    The short side becomes ``lines`` (never upscaled), the long side keeps the aspect ratio, and
    both are even, as 4:2:0 H.264 requires.
    """
    if width <= 0 or height <= 0 or lines <= 0:
        raise ValueError(f"invalid size {width}x{height} or lines {lines}")
    short, long = min(width, height), max(width, height)
    target = min(lines, short)
    scaled_short, scaled_long = _even(target), _even(long * target / short)
    return (scaled_long, scaled_short) if width >= height else (scaled_short, scaled_long)


def normalize_timecode(timecode: str | None, frame_rate: Fraction) -> str:
    """The start timecode to burn in, as ``HH:MM:SS:FF``, or ``HH:MM:SS;FF`` for drop-frame
    (kept at 29.97 and 59.94, read as ``:`` at any other rate, where it has no meaning).
    ``None`` starts at ``00:00:00:00``. Raises :class:`MediaError` for a malformed timecode or a
    frame number past the rate."""
    if timecode is None:
        return _ZERO_TIMECODE
    try:
        return tc.parse(timecode, frame_rate).label()
    except tc.TimecodeError as exc:
        raise MediaError(f"timecode {timecode!r} is not HH:MM:SS:FF at this rate: {exc}") from exc


def filter_value(text: str) -> str:
    """Escape ``text`` as one option value inside a filtergraph.

    Two parsers read it: the graph parser (``\\ ' [ ] , ;``) and then the option parser
    (``\\ ' :``), so the option level is escaped first and the graph level around it.
    """
    option_level = re.sub(r"([\\':])", r"\\\1", text)
    return re.sub(r"([\\'\[\],;])", r"\\\1", option_level)


def exact_rate(rate: Fraction) -> Fraction:
    """``rate``, or the NTSC rate it rounds from: some files store 29.97 as 2997/100, and the
    proxy and its timecode must run at 30000/1001."""
    for ntsc in _NTSC_RATES:
        if abs(rate - ntsc) < Fraction(1, 1000):
            return ntsc
    return rate


def _rate_text(rate: Fraction) -> str:
    return f"{rate.numerator}/{rate.denominator}"


def burn_in_filters(
    camera: str, timecode: str, frame_rate: Fraction, width: int, height: int
) -> list[str]:
    """drawtext filters for the camera name (top left) and the running timecode (bottom centre),
    each on a translucent black box so they read on any picture."""
    font = max(12, round(min(width, height) / 18))
    margin = font // 2
    box = f"box=1:boxcolor=black@0.6:boxborderw={max(2, font // 4)}:fontcolor=white"
    # Control characters would start new lines or render as boxes; the name is one line.
    name = "".join(ch if ch.isprintable() else " " for ch in camera).strip() or "camera"
    return [
        # expansion=none: a % in a camera name is printed, not read as a drawtext function.
        f"drawtext=text={filter_value(name)}:expansion=none:fontsize={font}:{box}"
        f":x={margin}:y={margin}",
        # A monospaced face keeps the box still while the digits change. It stands clear of
        # the bottom 1/24 of the picture, where simulated and test cameras carry their
        # machine-readable frame code, so that code still reads in the editors' player.
        f"drawtext=font=Monospace:timecode={filter_value(timecode)}:rate={_rate_text(frame_rate)}"
        f":fontsize={font}:{box}:x=(w-tw)/2:y=h*23/24-th-{margin}",
    ]


def proxy_args(
    source: Path,
    out: Path,
    *,
    width: int,
    height: int,
    frame_rate: Fraction,
    camera: str,
    timecode: str,
    interlaced: bool,
    has_audio: bool,
    options: ProxyOptions,
) -> list[str]:
    """ffmpeg arguments for the proxy of ``source``: H.264 main profile without B-frames (decode
    order is display order, so no composition offsets a browser could seek wrongly around), a
    keyframe every ``gop_frames`` exactly, AAC stereo, MP4 with the index first."""
    chain = []
    if interlaced:
        # One frame out per frame in, so the frame rate and count stay the source's.
        chain.append("bwdif=mode=send_frame:parity=auto:deint=all")
    # Constant frame rate before the burn-in, so the timecode counts the frames the proxy has.
    chain += [f"fps={_rate_text(frame_rate)}", f"scale={width}:{height}:flags=bicubic", "setsar=1"]
    chain += burn_in_filters(camera, timecode, frame_rate, width, height)
    chain.append("format=yuv420p")
    gop = str(options.gop_frames)
    args = [*base_args(), "-i", str(source), "-map", "0:v:0"]
    if has_audio:
        args += ["-map", "0:a:0"]
    args += [
        "-vf", ",".join(chain),
        "-r", _rate_text(frame_rate), "-fps_mode", "cfr",
        "-c:v", "libx264", "-profile:v", "main", "-preset", options.preset,
        "-pix_fmt", "yuv420p", "-bf", "0",
        "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
        "-b:v", f"{options.video_kbps}k",
        "-maxrate", f"{options.video_kbps * 3 // 2}k",
        "-bufsize", f"{options.video_kbps * 2}k",
    ]  # fmt: skip
    if has_audio:
        args += ["-c:a", "aac", "-b:a", f"{options.audio_kbps}k", "-ac", "2", "-ar", "48000"]
    args += ["-movflags", "+faststart", "-f", "mp4", str(out)]
    return args


def make_proxy(
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    out: Path,
    options: ProxyOptions,
    *,
    camera: str,
    start_timecode: str | None = None,
    interlaced: bool = False,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
) -> ProxyResult:
    """Encode the editor proxy of ``source`` to ``out`` (MP4).

    The picture is scaled to ``options.lines`` on its short side at the source's exact frame rate,
    deinterlaced first when ``interlaced``, and carries ``camera`` and a running timecode from
    ``start_timecode`` (else the source's own timecode, else ``00:00:00:00``). A source without
    audio gives a proxy without audio. Raises :class:`MediaError` for a source without video or a
    malformed start timecode and :class:`FFmpegError` when ffmpeg fails.
    """
    if info.video is None:
        raise MediaError(f"{source.name}: no video stream to make a proxy of")
    rate = exact_rate(info.video.frame_rate)
    if start_timecode is not None:
        timecode = normalize_timecode(start_timecode, rate)
    else:
        try:
            timecode = normalize_timecode(info.timecode, rate)
        except MediaError:
            # A garbled timecode in the file should not cost the editor the proxy.
            timecode = _ZERO_TIMECODE
    width, height = proxy_size(*info.video.display_size, options.lines)
    out.parent.mkdir(parents=True, exist_ok=True)
    args = proxy_args(
        source,
        out,
        width=width,
        height=height,
        frame_rate=rate,
        camera=camera,
        timecode=timecode,
        interlaced=interlaced,
        has_audio=info.audio is not None,
        options=options,
    )
    run_ffmpeg(
        ffmpeg, args, duration_s=info.duration_s, on_progress=on_progress, timeout_s=timeout_s
    )
    made = probe(out, verify=False)
    if made.video is None:
        raise MediaError(f"{out.name}: the proxy has no video")
    return ProxyResult(
        path=out,
        width=made.video.width,
        height=made.video.height,
        frame_rate=rate,
        gop_frames=options.gop_frames,
        duration_s=made.duration_s,
    )
