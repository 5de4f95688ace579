"""ABR ladder: plan the rungs from a profile, and build the one ffmpeg command that decodes once
and encodes every rung (or a GOP-aligned span of frames of every rung, for chunked encoding).

CMAF output is one folder per rendition (``720p/init.mp4``, ``720p/seg_00000.m4s``, ...) and an
``audio/`` folder: audio is encoded once, on its own, and shared by every rung. The manifests
(HLS, I-frame playlists, DASH) are written afterwards from the segments themselves, see
:mod:`transcode.packaging`. Legacy MPEG-TS output is a classic HLS ladder with audio in each rung.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from transcode.errors import MediaError
from transcode.ffmpeg import ProgressCallback, base_args, run_ffmpeg
from transcode.poster import poster_time
from transcode.probe import MediaInfo
from transcode.profiles import Profile, RungSpec

# Video bitrates (kb/s) for H.264 at 25/30 fps, for callers that name only heights (live rungs).
_BITRATES = {2160: 16000, 1440: 9000, 1080: 5000, 720: 3000, 540: 2000, 480: 1400, 360: 800}
_AUDIO_KBPS = 128
POSTER_LINES = 360
AUDIO_FOLDER = "audio"
INIT_NAME = "init.mp4"
SEGMENT_PATTERN = "seg_%05d.m4s"

_ENCODERS = {"h264": "libx264", "hevc": "libx265", "av1": "libsvtav1"}
_X26X_PRESETS = {
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
}  # fmt: skip


@dataclass(frozen=True)
class Rung:
    """One rendition of the ladder. ``name`` is the short side in lines, e.g. ``720p``."""

    name: str
    width: int
    height: int
    video_kbps: int
    audio_kbps: int
    codec: str = "h264"

    @property
    def bandwidth(self) -> int:
        return (self.video_kbps + self.audio_kbps) * 1000


@dataclass(frozen=True)
class AudioPlan:
    kbps: int
    channels: int
    filters: str | None
    """Extra audio filters (loudness normalisation) before the resample to 48 kHz."""


@dataclass(frozen=True)
class LadderPlan:
    """Everything the encode needs, decided before ffmpeg runs."""

    rungs: tuple[Rung, ...]
    frame_rate: Fraction
    gop: int
    """Frames per GOP; every segment is exactly one GOP (the last may be shorter)."""
    preset: str
    deinterlace: bool
    audio: AudioPlan | None
    segments: str
    """``cmaf`` or ``ts``."""
    total_frames: int
    crop: tuple[int, int] | None = None
    """Picture to keep (top-left aligned) before scaling: 1920x1088 sources carry eight rows of
    encoder padding under a 1080-line picture."""
    video_start_s: float = 0.0
    """How far into the container's timeline the first video frame is (input seeks count from
    the container's start, so a chunk's seek adds this)."""

    @property
    def segment_s(self) -> Fraction:
        return Fraction(self.gop) / self.frame_rate


@dataclass(frozen=True)
class TrackOutput:
    """One encoded track on disk: its folder, header and media segments in order."""

    name: str
    folder: Path
    init: Path
    """The CMAF init segment; for a legacy TS rung, its media playlist."""
    segments: tuple[Path, ...]


@dataclass(frozen=True)
class LadderResult:
    root: Path
    plan: LadderPlan
    videos: tuple[TrackOutput, ...]
    audio: TrackOutput | None
    poster: Path | None
    """A JPEG frame from a tenth of the way in, taken from the same decode."""


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def plan_rungs(
    width: int,
    height: int,
    frame_rate: Fraction,
    specs: tuple[RungSpec, ...],
    *,
    high_frame_rate_factor: float = 1.5,
    audio_kbps: int = _AUDIO_KBPS,
) -> list[Rung]:
    """Choose the rungs for a source of ``width`` x ``height`` (display size).

    A rung's number is the short side, so a portrait 1080x1920 source gets a 1080p rung of
    1080x1920. Rungs above the source are dropped, never upscaled; a source smaller than every
    rung gets one rung at its own (even-rounded) size with the smallest rung's bitrate.
    Dimensions are even, as 4:2:0 video requires.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid source size {width}x{height}")
    portrait = height > width
    short, long = (width, height) if portrait else (height, width)
    wanted = [spec for spec in specs if spec.lines <= short]
    if not wanted:
        smallest = min(specs, key=lambda s: s.lines)
        wanted = [RungSpec(lines=_even(short), kbps=smallest.kbps, codec=smallest.codec)]
    rungs = []
    for spec in sorted(wanted, key=lambda s: s.lines, reverse=True):
        scaled_long = _even(long * spec.lines / short)
        scaled_short = _even(spec.lines)
        w, h = (scaled_short, scaled_long) if portrait else (scaled_long, scaled_short)
        kbps = spec.kbps
        if frame_rate > 31:
            kbps = round(kbps * high_frame_rate_factor)
        rungs.append(Rung(f"{spec.lines}p", w, h, kbps, audio_kbps, spec.codec))
    return rungs


def plan_ladder(
    width: int, height: int, frame_rate: Fraction, heights: tuple[int, ...]
) -> list[Rung]:
    """Rungs for the given heights with the default H.264 bitrates (see :func:`plan_rungs`)."""
    specs = tuple(RungSpec(lines=h, kbps=_bitrate_for(h), codec="h264") for h in heights)
    return plan_rungs(width, height, frame_rate, specs)


def _bitrate_for(lines: int) -> int:
    for candidate in sorted(_BITRATES):
        if lines <= candidate:
            return _BITRATES[candidate]
    return _BITRATES[max(_BITRATES)]


def gop_frames(frame_rate: Fraction, gop_seconds: float) -> int:
    """Frames per GOP: a whole number of frames closest to ``gop_seconds``."""
    return max(1, math.floor(frame_rate * Fraction(gop_seconds) + Fraction(1, 2)))


def total_frames(info: MediaInfo) -> int:
    """Frames the constant-rate output will have."""
    if info.video is None:
        return 0
    return max(1, round(info.duration_s * info.video.frame_rate))


def plan_from_profile(
    info: MediaInfo, profile: Profile, *, loudness_filter: str | None = None
) -> LadderPlan:
    """The ladder for ``info`` under ``profile``. Raises :class:`MediaError` for a source with
    neither video nor audio. A source with audio only gets an audio-only ladder."""
    audio = None
    if info.audio is not None:
        audio = AudioPlan(
            kbps=profile.audio.kbps,
            channels=min(profile.audio.channels, max(1, info.audio.channels)),
            filters=loudness_filter,
        )
    if info.video is None:
        if audio is None:
            raise MediaError(f"{info.path.name}: no video or audio stream to transcode")
        return LadderPlan((), Fraction(25), 1, profile.video.preset, False, audio, "cmaf", 0)
    width, height = info.video.display_size
    crop = _padding_crop(width, height)
    if crop:
        width, height = crop
    rate = info.video.frame_rate
    rungs = plan_rungs(
        width,
        height,
        rate,
        profile.video.rungs,
        high_frame_rate_factor=profile.video.high_frame_rate_factor,
        audio_kbps=profile.audio.kbps if audio else 0,
    )
    return LadderPlan(
        rungs=tuple(rungs),
        frame_rate=rate,
        gop=gop_frames(rate, profile.video.gop_seconds),
        preset=profile.video.preset,
        deinterlace=info.video.interlaced,
        audio=audio,
        segments=profile.packaging.segments,
        total_frames=total_frames(info),
        crop=crop,
        video_start_s=info.video.start_s - info.start_s,
    )


def _padding_crop(width: int, height: int) -> tuple[int, int] | None:
    """1088 coded rows of a 1080-line picture (and the portrait equivalent) lose the padding."""
    if (width, height) == (1920, 1088):
        return 1920, 1080
    if (width, height) == (1088, 1920):
        return 1080, 1920
    return None


def _scale(rung: Rung) -> str:
    return f"scale={rung.width}:{rung.height}:flags=bicubic,setsar=1,format=yuv420p"


def _video_graph(plan: LadderPlan, poster: tuple[Path, float] | None) -> list[str]:
    n = len(plan.rungs)
    head = "[0:v:0]" + ("bwdif=mode=send_frame:deint=all," if plan.deinterlace else "")
    if plan.crop:
        head += f"crop={plan.crop[0]}:{plan.crop[1]}:0:0,"
    branches = n + (1 if poster else 0)
    if branches == 1:
        return [f"{head}{_scale(plan.rungs[0])}[v0]"]
    graph = [head + "split=" + str(branches) + "".join(f"[s{i}]" for i in range(branches))]
    graph += [f"[s{i}]{_scale(rung)}[v{i}]" for i, rung in enumerate(plan.rungs)]
    if poster:
        graph.append(f"[s{n}]trim=start={poster[1]:.3f},scale=-2:{POSTER_LINES},setsar=1[poster]")
    return graph


def _video_codec_args(i: int, rung: Rung, plan: LadderPlan) -> list[str]:
    """Encoder arguments for output video stream ``i``: the rung's codec and bitrate, and a
    keyframe on every ``gop`` frames and nowhere else, so segments line up across rungs."""
    gop = plan.gop
    spec = f":v:{i}"
    args = [
        "-c" + spec, _ENCODERS[rung.codec], "-b" + spec, f"{rung.video_kbps}k",
        "-g" + spec, str(gop), "-force_key_frames" + spec, f"expr:gte(n,n_forced*{gop})",
    ]  # fmt: skip
    preset = plan.preset if plan.preset in _X26X_PRESETS else "veryfast"
    capped = [
        "-maxrate" + spec, f"{rung.video_kbps * 107 // 100}k",
        "-bufsize" + spec, f"{rung.video_kbps * 3 // 2}k",
    ]  # fmt: skip
    if rung.codec == "h264":
        args += ["-preset" + spec, preset, "-profile" + spec, "high", *capped]
        args += ["-keyint_min" + spec, str(gop), "-sc_threshold" + spec, "0"]
    elif rung.codec == "hevc":
        args += ["-preset" + spec, preset, "-tag" + spec, "hvc1", *capped]
        args += [
            "-x265-params" + spec,
            f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:log-level=error",
        ]
    else:  # av1
        speed = plan.preset if plan.preset.isdigit() else "10"
        args += ["-preset" + spec, speed, "-svtav1-params" + spec, f"keyint={gop}:scd=0"]
    return args


def _audio_args(plan: LadderPlan, stream: str) -> list[str]:
    assert plan.audio is not None
    audio = plan.audio
    return [
        "-c" + stream, "aac", "-b" + stream, f"{audio.kbps}k",
        "-ac" + stream, str(audio.channels), "-ar" + stream, "48000",
    ]  # fmt: skip


def cmaf_args(
    source: Path | str,
    out_dir: Path,
    plan: LadderPlan,
    *,
    video: bool = True,
    audio: bool = True,
    frames: tuple[int, int] | None = None,
    poster: tuple[Path, float] | None = None,
) -> list[str]:
    """ffmpeg arguments for the CMAF ladder in one process: one decode, a ``split`` per rung,
    one encoder per rung, audio encoded once as its own track. ``source`` is a path or a URL.

    With ``frames`` = (first, end) only that GOP-aligned span of video is encoded (a chunk of a
    split-and-stitch encode): the input is seeked to just before ``first``, exactly
    ``end - first`` frames are written per rung, and segment numbers continue from
    ``first / gop``. Each chunk's timeline starts at zero; the stitch moves it into place by
    rewriting each segment's decode time (see :mod:`transcode.stitch`).
    """
    video = video and bool(plan.rungs)
    audio = audio and plan.audio is not None
    if not (video or audio):
        raise ValueError("nothing to encode")
    if frames is not None and (frames[0] % plan.gop or frames[1] <= frames[0]):
        raise ValueError(f"chunk {frames} does not start on a GOP boundary")
    args = base_args()
    first_segment = 0
    if frames is not None:
        first_segment = frames[0] // plan.gop
        start = Fraction(frames[0]) / plan.frame_rate
        if frames[0]:
            # Input seek to just before the first wanted frame: ffmpeg decodes from the keyframe
            # before it and drops everything earlier, so the chunk starts exactly there. Any
            # further back and the constant-rate output would repeat the first frame.
            margin = min(Fraction(1, 1000), Fraction(1, 4) / plan.frame_rate)
            seek = plan.video_start_s + float(start - margin)
            args += ["-ss", f"{seek:.6f}"]
    args += ["-i", str(source)]
    graph: list[str] = []
    streams: list[str] = []
    n = 0
    if video:
        graph += _video_graph(plan, poster)
    if audio and plan.audio and plan.audio.filters:
        graph.append(f"[0:a:0]{plan.audio.filters},aresample=48000[aout]")
    if graph:
        args += ["-filter_complex", ";".join(graph)]
    if video:
        for i, rung in enumerate(plan.rungs):
            args += ["-map", f"[v{i}]", *_video_codec_args(i, rung, plan)]
            if frames is not None:
                args += [f"-frames:v:{i}", str(frames[1] - frames[0])]
            streams.append(f"v:{i},name:{rung.name}")
            n += 1
        args += ["-r", str(plan.frame_rate), "-fps_mode", "cfr"]
    if audio:
        args += ["-map", "[aout]" if plan.audio and plan.audio.filters else "0:a:0"]
        args += _audio_args(plan, ":a:0")
        streams.append(f"a:0,name:{AUDIO_FOLDER}")
    args += [
        "-f", "hls",
        "-hls_time", f"{float(plan.segment_s):.6g}",
        "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4",
        "-hls_fmp4_init_filename", INIT_NAME,
        "-start_number", str(first_segment),
        "-hls_segment_filename", str(out_dir / "%v" / SEGMENT_PATTERN),
        "-var_stream_map", " ".join(streams),
        str(out_dir / "%v" / "ffmpeg.m3u8"),
    ]  # fmt: skip
    if poster and video:
        args += ["-map", "[poster]", "-frames:v", "1", "-q:v", "3", "-update", "1", str(poster[0])]
    return args


def ts_args(
    source: Path, out_dir: Path, plan: LadderPlan, *, poster: tuple[Path, float] | None = None
) -> list[str]:
    """ffmpeg arguments for the legacy ladder: MPEG-TS HLS, audio muxed into every rung, with a
    master playlist written by ffmpeg."""
    if not plan.rungs:
        raise MediaError("a legacy TS ladder needs video")
    has_audio = plan.audio is not None
    args = [
        *base_args(),
        "-i",
        str(source),
        "-filter_complex",
        ";".join(_video_graph(plan, poster)),
    ]
    for i, rung in enumerate(plan.rungs):
        args += ["-map", f"[v{i}]", *_video_codec_args(i, rung, plan)]
        if has_audio:
            args += ["-map", "0:a:0", *_audio_args(plan, f":a:{i}")]
    args += ["-r", str(plan.frame_rate), "-fps_mode", "cfr"]
    stream_map = " ".join(
        (f"v:{i},a:{i}" if has_audio else f"v:{i}") + f",name:{rung.name}"
        for i, rung in enumerate(plan.rungs)
    )
    args += [
        "-f", "hls",
        "-hls_time", f"{float(plan.segment_s):.6g}",
        "-hls_playlist_type", "vod",
        "-hls_segment_type", "mpegts",
        "-hls_flags", "independent_segments",
        "-master_pl_name", "master.m3u8",
        "-hls_segment_filename", str(out_dir / "%v" / "seg_%05d.ts"),
        "-var_stream_map", stream_map,
        str(out_dir / "%v" / "index.m3u8"),
    ]  # fmt: skip
    if poster:
        args += ["-map", "[poster]", "-frames:v", "1", "-q:v", "3", "-update", "1", str(poster[0])]
    return args


def collect_tracks(
    out_dir: Path, plan: LadderPlan, *, video: bool = True, audio: bool = True
) -> tuple[tuple[TrackOutput, ...], TrackOutput | None]:
    """The CMAF tracks ffmpeg left under ``out_dir``, with its own playlists removed (the
    manifests are written from the segments) and each init segment named ``init.mp4``."""
    names = [r.name for r in plan.rungs] if video else []
    if audio and plan.audio is not None:
        names.append(AUDIO_FOLDER)
    tracks = []
    for name in names:
        folder = out_dir / name
        for stray in folder.glob("ffmpeg*.m3u8"):
            stray.unlink()
        inits = sorted(folder.glob("init*.mp4"))
        if not inits:
            raise MediaError(f"the encoder wrote no init segment for {name}")
        init = folder / INIT_NAME
        if inits[0] != init:
            inits[0].replace(init)
        tracks.append(TrackOutput(name, folder, init, tuple(sorted(folder.glob("seg_*.m4s")))))
    audio_track = tracks.pop() if audio and plan.audio is not None else None
    return tuple(tracks), audio_track


def transcode_ladder(
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    out_dir: Path,
    plan: LadderPlan,
    *,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
) -> LadderResult:
    """Encode ``source`` into the ladder ``plan`` under ``out_dir`` in one ffmpeg process.

    CMAF: one folder per rung and ``audio/``, no manifests yet. TS: ffmpeg's classic HLS ladder
    with ``master.m3u8``. Raises :class:`FFmpegError` when ffmpeg fails.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    poster_path = out_dir / "poster.jpg"
    poster = (poster_path, poster_time(info.duration_s)) if plan.rungs else None
    if plan.segments == "ts":
        args = ts_args(source, out_dir, plan, poster=poster)
    else:
        args = cmaf_args(source, out_dir, plan, poster=poster)
    run_ffmpeg(
        ffmpeg, args, duration_s=info.duration_s, on_progress=on_progress, timeout_s=timeout_s
    )
    if plan.segments == "ts":
        videos = tuple(
            TrackOutput(
                r.name,
                out_dir / r.name,
                out_dir / r.name / "index.m3u8",
                tuple(sorted((out_dir / r.name).glob("seg_*.ts"))),
            )
            for r in plan.rungs
        )
        audio = None
    else:
        videos, audio = collect_tracks(out_dir, plan)
    return LadderResult(
        root=out_dir,
        plan=plan,
        videos=videos,
        audio=audio,
        poster=poster_path if poster_path.is_file() else None,
    )
