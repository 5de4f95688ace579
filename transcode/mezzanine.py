"""Broadcast mezzanine on request: XDCAM HD422-style MPEG-2 4:2:2 long GOP at 50 Mb/s CBR with
eight mono 24-bit PCM tracks in MXF OP1a, the file editing systems and playout servers take in."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from transcode.errors import FFmpegError, MediaError
from transcode.ffmpeg import ProgressCallback, base_args, run_ffmpeg
from transcode.probe import MediaInfo
from transcode.proxy import normalize_timecode

VIDEO_KBPS = 50_000
# The VBV buffer XDCAM HD422 encoders declare (bits), inside MPEG-2 422P@HL's 47,185,920 limit.
VBV_BITS = 36_408_333
GOP_FRAMES = 12
B_FRAMES = 2
AUDIO_TRACKS = 8
SAMPLE_RATE = 48_000
_RATE_TOLERANCE = Fraction(1, 100)


@dataclass(frozen=True)
class XdcamFormat:
    """One of the XDCAM HD422 picture formats."""

    width: int
    height: int
    frame_rate: Fraction
    interlaced: bool
    """Top field first; ``frame_rate`` is then half the field rate (1080i50 runs at 25)."""


@dataclass(frozen=True)
class MezzanineResult:
    path: Path
    width: int
    height: int
    frame_rate: Fraction
    video_kbps: int
    """Measured over the video packets written."""
    audio_tracks: int
    interlaced: bool


SUPPORTED_RATES = (Fraction(25), Fraction(30000, 1001), Fraction(50), Fraction(60000, 1001))


def xdcam_format(frame_rate: Fraction, *, interlaced: bool) -> XdcamFormat:
    """The XDCAM HD422 format for a source at ``frame_rate``.

    25 and 29.97 give 1920x1080, interlaced top field first when the source is interlaced and
    progressive (PsF-style) otherwise; 50 and 59.94 give 1280x720 progressive. Any other rate
    raises :class:`MediaError`.
    """
    for rate in SUPPORTED_RATES:
        if abs(frame_rate - rate) < _RATE_TOLERANCE:
            if rate < 40:
                return XdcamFormat(1920, 1080, rate, interlaced)
            return XdcamFormat(1280, 720, rate, False)
    raise MediaError(
        f"XDCAM HD422 takes sources at 25, 29.97, 50 or 59.94 fps, not {float(frame_rate):.3f}"
    )


def _audio_graph(channels: tuple[int, ...], samples: int) -> tuple[list[str], list[str]]:
    """Filter chains and output labels for the eight mono tracks: source channels in order
    (across every audio stream), then silence; each exactly ``samples`` long."""
    fit = f"aresample={SAMPLE_RATE},apad=whole_len={samples},atrim=end_sample={samples}"
    chains: list[str] = []
    labels: list[str] = []
    for index, count in enumerate(channels):
        take = min(count, AUDIO_TRACKS - len(labels))
        if take <= 0:
            break
        first = len(labels)
        names = [f"a{first + n}" for n in range(take)]
        if take == 1:
            chains.append(f"[0:a:{index}]{fit},pan=mono|c0=c0[{names[0]}]")
        else:
            split = "".join(f"[s{first + n}]" for n in range(take))
            chains.append(f"[0:a:{index}]{fit},asplit={take}{split}")
            chains += [f"[s{first + n}]pan=mono|c0=c{n}[{names[n]}]" for n in range(take)]
        labels += names
    silent = AUDIO_TRACKS - len(labels)
    if labels and silent:
        names = [f"a{len(labels) + n}" for n in range(silent)]
        source = f"anullsrc=r={SAMPLE_RATE}:cl=mono,atrim=end_sample={samples}"
        if silent == 1:
            chains.append(f"{source}[{names[0]}]")
        else:
            chains.append(f"{source},asplit={silent}" + "".join(f"[{name}]" for name in names))
        labels += names
    return chains, labels


def xdcam_hd422_args(
    source: Path,
    out: Path,
    fmt: XdcamFormat,
    *,
    audio_channels: tuple[int, ...],
    duration_s: float,
    timecode: str | None,
) -> list[str]:
    """ffmpeg arguments that encode ``source`` as XDCAM HD422 in MXF OP1a.

    ``audio_channels`` holds the channel count of each source audio stream; with none the file
    has no audio. Audio tracks are padded or cut to ``duration_s`` (the video's length), so all
    nine tracks end together.
    """
    w, h = fmt.width, fmt.height
    rate = f"{fmt.frame_rate.numerator}/{fmt.frame_rate.denominator}"
    video = [
        f"fps={rate}",
        # interl=1 scales (and turns 4:2:0 chroma into 4:2:2) field by field.
        f"scale={w}:{h}:force_original_aspect_ratio=decrease:flags=bicubic"
        + (":interl=1" if fmt.interlaced else ""),
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2",
        "setsar=1",
        "format=yuv422p",
        "setfield=tff" if fmt.interlaced else "setfield=prog",
    ]
    samples = round(duration_s * SAMPLE_RATE)
    audio_chains, audio_labels = _audio_graph(audio_channels, samples)
    graph = ";".join(["[0:v:0]" + ",".join(video) + "[v]", *audio_chains])
    args = [*base_args(), "-i", str(source), "-filter_complex", graph, "-map", "[v]"]
    for label in audio_labels:
        args += ["-map", f"[{label}]"]
    flags = "+cgop+ildct+ilme" if fmt.interlaced else "+cgop"
    rate_k = f"{VIDEO_KBPS}k"
    args += [
        "-c:v", "mpeg2video", "-pix_fmt", "yuv422p",
        "-b:v", rate_k, "-minrate", rate_k, "-maxrate", rate_k,
        "-bufsize", str(VBV_BITS), "-rc_init_occupancy", str(VBV_BITS),
        "-rc_max_vbv_use", "1", "-rc_min_vbv_use", "1",
        "-g", str(GOP_FRAMES), "-bf", str(B_FRAMES), "-flags", flags,
        "-mpv_flags", "+strict_gop", "-sc_threshold", "1000000000",
        "-intra_vlc", "1", "-non_linear_quant", "1", "-intra_dc_precision", "2",
        "-qmin", "1", "-qmax", "12", "-lmin", "1*QP2LAMBDA",
        "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
        "-color_range", "tv",
    ]  # fmt: skip
    if audio_labels:
        args += ["-c:a", "pcm_s24le", "-ar", str(SAMPLE_RATE)]
    if timecode:
        args += ["-timecode", timecode]
    standard = "smpte274m" if h == 1080 else "smpte296m"
    args += ["-signal_standard", standard, "-f", "mxf", str(out)]
    return args


def _audio_channels(source: Path) -> tuple[int, ...]:
    """Channel count of every audio stream, in stream order (cameras often record one stream per
    channel)."""
    try:
        with av.open(str(source), metadata_errors="ignore") as container:
            return tuple(stream.codec_context.channels for stream in container.streams.audio)
    except av.FFmpegError as exc:
        raise MediaError(f"{source.name}: not readable media ({exc})") from exc


def make_xdcam_hd422(
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    out: Path,
    *,
    interlaced: bool,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
) -> MezzanineResult:
    """Encode ``source`` as an XDCAM HD422-style MXF OP1a file at ``out``.

    MPEG-2 4:2:2 at 50 Mb/s CBR, 12-frame closed GOPs with 2 B-frames, in the format
    :func:`xdcam_format` picks (``interlaced`` says whether the source is made of fields). Audio
    is eight mono 24-bit 48 kHz tracks: the source's channels first, then silence; a source
    without audio gives a file without audio. The source timecode, when it has one, becomes the
    file's. The file is read back and checked before it is returned.

    Raises :class:`MediaError` for a source without video or at an unsupported frame rate (before
    ffmpeg runs) and :class:`FFmpegError` when ffmpeg fails or writes something else.
    """
    if info.video is None:
        raise MediaError(f"{source.name}: no video stream for a mezzanine")
    try:
        fmt = xdcam_format(info.video.frame_rate, interlaced=interlaced)
    except MediaError as exc:
        raise MediaError(f"{source.name}: {exc.detail}") from exc
    channels = _audio_channels(source) if info.audio is not None else ()
    timecode = None
    # A garbled timecode in the file is dropped: the MXF then starts at 00:00:00:00.
    with suppress(MediaError):
        timecode = normalize_timecode(info.timecode, fmt.frame_rate) if info.timecode else None
    # Audio is fitted to the video's length, so every track of the MXF ends with the picture.
    video = info.video
    duration_s = float(video.frames / video.frame_rate) if video.frames else info.duration_s
    out.parent.mkdir(parents=True, exist_ok=True)
    args = xdcam_hd422_args(
        source, out, fmt, audio_channels=channels, duration_s=duration_s, timecode=timecode
    )
    run_ffmpeg(ffmpeg, args, duration_s=duration_s, on_progress=on_progress, timeout_s=timeout_s)
    return _check(out, fmt, audio_tracks=AUDIO_TRACKS if channels else 0)


def _check(out: Path, fmt: XdcamFormat, *, audio_tracks: int) -> MezzanineResult:
    """Read ``out`` back and refuse it unless it is the XDCAM HD422 file that was asked for."""
    try:
        return _read_back(out, fmt, audio_tracks=audio_tracks)
    except (av.FFmpegError, IndexError) as exc:
        raise FFmpegError(f"{out.name}: not a readable MXF file ({exc})", 0) from exc


def _read_back(out: Path, fmt: XdcamFormat, *, audio_tracks: int) -> MezzanineResult:
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        ctx = video.codec_context
        found = (
            container.format.name,
            ctx.name,
            ctx.pix_fmt,
            (ctx.width, ctx.height),
            Fraction(video.average_rate or 0),
            len(container.streams.audio),
        )
        wanted = (
            "mxf",
            "mpeg2video",
            "yuv422p",
            (fmt.width, fmt.height),
            fmt.frame_rate,
            audio_tracks,
        )
        if found != wanted:
            raise FFmpegError(f"{out.name}: wrote {found}, not the XDCAM HD422 {wanted}", 0)
        bad_audio = [
            stream.index
            for stream in container.streams.audio
            if (stream.codec_context.name, stream.codec_context.channels, stream.sample_rate)
            != ("pcm_s24le", 1, SAMPLE_RATE)
        ]
        if bad_audio:
            raise FFmpegError(f"{out.name}: audio streams {bad_audio} are not mono 24-bit", 0)
        bits = sum(packet.size for packet in container.demux(video)) * 8
        seconds = float((video.duration or 0) * (video.time_base or 0)) or (
            (container.duration or 0) / 1_000_000
        )
    return MezzanineResult(
        path=out,
        width=fmt.width,
        height=fmt.height,
        frame_rate=fmt.frame_rate,
        video_kbps=round(bits / seconds / 1000) if seconds else 0,
        audio_tracks=audio_tracks,
        interlaced=fmt.interlaced,
    )
