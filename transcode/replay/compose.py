"""Replays made from angle clips: a labelled mosaic of every angle, and a cut sequence across
angles with an optional slow-motion range.

Angle clips are cut from synchronized cameras for one time range of the event clock, so they
share their start instant, duration and frame rate; frame ``n`` of every clip shows the same
moment. Each function here builds one ffmpeg filter graph and runs it in one process.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from transcode.errors import MediaError
from transcode.ffmpeg import ProgressCallback, base_args, run_ffmpeg
from transcode.probe import MediaInfo, probe
from transcode.proxy import burn_in_filters, exact_rate, filter_value, normalize_timecode

AUDIO_RATE = 48000
"""Every replay's audio is resampled to this rate, so cuts join without a rate change."""
MAX_ANGLES = 9
MAX_SLOW_FACTOR = 16
_STEREO = f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo"

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
class SequenceCut:
    angle: Angle
    start_s: float
    """Seconds from the start of the angle clips (the same instant for every angle)."""
    end_s: float


@dataclass(frozen=True)
class SlowMotion:
    start_s: float
    """Seconds on the edited timeline: the cuts joined end to end at normal speed."""
    end_s: float
    factor: float
    """How many times longer the range plays: 2 turns 1 s of action into 2 s."""


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


@dataclass(frozen=True)
class Grid:
    columns: int
    rows: int
    cell_width: int
    cell_height: int

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left corner of cell ``index`` (row by row, left to right)."""
        row, column = divmod(index, self.columns)
        return column * self.cell_width, row * self.cell_height


@dataclass(frozen=True)
class MosaicPlan:
    sources: tuple[Path, ...]
    labels: tuple[str, ...]
    source_sizes: tuple[tuple[int, int], ...]
    grid: Grid
    size: tuple[int, int]
    frame_rate: Fraction
    frames: int
    timecode: str
    audio: bool
    """Whether the first angle has audio to carry."""
    audio_offset_s: float = 0.0
    """Where the first angle's first video frame sits on its container timeline."""


@dataclass(frozen=True)
class SequencePiece:
    """One stretch of one angle on the output timeline, at normal speed or slowed down."""

    source: Path
    source_size: tuple[int, int]
    start_frame: int
    end_frame: int
    """Exclusive, in frames of the output rate from the start of the angle clip."""
    available_frames: int
    """Frames the angle clip has at the output rate."""
    factor: Fraction
    """1 for normal speed."""
    audio: bool
    video_start_s: float = 0.0
    """Where the clip's first video frame sits on its container timeline."""

    @property
    def output_frames(self) -> int:
        return round((self.end_frame - self.start_frame) * self.factor)


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _rate_text(rate: Fraction) -> str:
    return f"{rate.numerator}/{rate.denominator}"


def _check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise MediaError(f"output size {width}x{height} must be even and at least 16x16")


def _check_rate(frame_rate: Fraction) -> None:
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
    fit_width = min(box_width, _even(round(width * scale)))
    fit_height = min(box_height, _even(round(height * scale)))
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


def grid_for(count: int, size: tuple[int, int], columns: int | None = None) -> Grid:
    """The grid for ``count`` angles in a ``size`` frame: one cell for one angle, 2x2 for 2-4,
    3x3 for 5-9; ``columns`` picks the width instead and the rows follow.

    Raises :class:`MediaError` for no angles, more than nine, or a bad column count.
    """
    if count < 1 or count > MAX_ANGLES:
        raise MediaError(f"a mosaic takes 1 to {MAX_ANGLES} angles, not {count}")
    if columns is None:
        columns = 1 if count == 1 else 2 if count <= 4 else 3
        rows = columns
    else:
        if not 1 <= columns <= MAX_ANGLES:
            raise MediaError(f"a mosaic has 1 to {MAX_ANGLES} columns, not {columns}")
        rows = math.ceil(count / columns)
    width, height = size
    return Grid(columns, rows, _even(width / columns), _even(height / rows))


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


def _probe_video(path: Path) -> MediaInfo:
    info = probe(path, verify=False)
    if info.video is None:
        raise MediaError(f"{path.name}: no video stream")
    return info


def encode_args(frame_rate: Fraction, encoding: ReplayEncoding, audio: bool) -> list[str]:
    """Output options every replay shares: constant-rate H.264 High 4:2:0 with a keyframe every
    ``gop_s``, and stereo 48 kHz AAC when there is audio."""
    gop = str(max(1, round(frame_rate * Fraction(encoding.gop_s))))
    args = [
        "-r", _rate_text(frame_rate), "-fps_mode", "cfr",
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


# -- mosaic ------------------------------------------------------------------------------------


def _timecode_filter(timecode: str, frame_rate: Fraction, size: tuple[int, int]) -> str:
    """The running timecode, bottom centre of the whole mosaic, on a translucent box."""
    font = max(12, round(size[1] / 24))
    return (
        f"drawtext=font=Monospace:timecode={filter_value(timecode)}:rate={_rate_text(frame_rate)}"
        f":fontsize={font}:box=1:boxcolor=black@0.6:boxborderw={max(2, font // 4)}"
        f":fontcolor=white:x=(w-tw)/2:y=h-th-{font // 2}"
    )


def mosaic_args(plan: MosaicPlan, out: Path, encoding: ReplayEncoding) -> list[str]:
    """ffmpeg arguments that stack the plan's angles into one labelled, timecoded picture.

    Each angle is rebased to its first frame, brought to the output rate (``fps``), cut to the
    common length (``trim``), fitted into its cell and labelled; ``xstack`` lays the cells out
    and ``pad`` fills the empty ones with black. Audio comes from the first angle.
    """
    rate = _rate_text(plan.frame_rate)
    cell = (plan.grid.cell_width, plan.grid.cell_height)
    graph: list[str] = []
    args = [*base_args()]
    for index, (source, label, source_size) in enumerate(
        zip(plan.sources, plan.labels, plan.source_sizes, strict=True)
    ):
        args += ["-i", str(source)]
        name = burn_in_filters(label, plan.timecode, plan.frame_rate, *cell)[0]
        graph.append(
            f"[{index}:v:0]setpts=PTS-STARTPTS,fps={rate},trim=end_frame={plan.frames},"
            f"{fit_filters(source_size, cell)},format=yuv420p,{name}[c{index}]"
        )
    count = len(plan.sources)
    width, height = plan.size
    finish = (
        f"pad={width}:{height}:0:0:color=black,"
        f"{_timecode_filter(plan.timecode, plan.frame_rate, plan.size)},format=yuv420p[v]"
    )
    if count == 1:
        graph.append(f"[c0]{finish}")
    else:
        layout = "|".join("{}_{}".format(*plan.grid.origin(index)) for index in range(count))
        cells = "".join(f"[c{index}]" for index in range(count))
        graph.append(f"{cells}xstack=inputs={count}:layout={layout}:fill=black:shortest=1,{finish}")
    if plan.audio:
        samples = samples_for(plan.frames, plan.frame_rate)
        graph.append(
            f"{clip_audio('0:a:0', plan.audio_offset_s)},apad,atrim=end_sample={samples},"
            f"{_STEREO}[a]"
        )
    args += ["-filter_complex", ";".join(graph), "-map", "[v]"]
    if plan.audio:
        args += ["-map", "[a]"]
    args += encode_args(plan.frame_rate, encoding, plan.audio)
    args += ["-movflags", "+faststart", "-f", "mp4", str(out)]
    return args


def mosaic(
    ffmpeg: str,
    angles: Sequence[Angle],
    out: Path,
    *,
    columns: int | None = None,
    size: tuple[int, int] = (1920, 1080),
    frame_rate: Fraction,
    encoding: ReplayEncoding = ReplayEncoding(),
    timeout_s: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> ComposedClip:
    """Every angle side by side in one picture, as a multiviewer shows them.

    One angle fills the frame, 2-4 make a 2x2 grid and 5-9 a 3x3 grid (``columns`` overrides);
    empty cells are black. Each angle is scaled to fit its cell with its aspect ratio kept and
    carries its label top left; one SMPTE timecode runs at the bottom, from the first angle's
    start timecode at the exact ``frame_rate``. The length is the shortest angle's. Audio is the
    first angle's. H.264 (yuv420p) and AAC in MP4 with the index first.

    Raises :class:`MediaError` for no angles, more than nine, unreadable clips or a malformed
    timecode, and :class:`FFmpegError` when ffmpeg fails.
    """
    if not angles or len(angles) > MAX_ANGLES:
        raise MediaError(f"a mosaic takes 1 to {MAX_ANGLES} angles, not {len(angles)}")
    _check_size(size)
    _check_rate(frame_rate)
    grid = grid_for(len(angles), size, columns)
    if grid.columns * grid.rows < len(angles):
        raise MediaError(f"{len(angles)} angles do not fit a {grid.columns}-column grid")
    infos = [_probe_video(angle.path) for angle in angles]
    rate = exact_rate(frame_rate)
    frames = min(frames_at(info, rate) for info in infos)
    if frames < 1:
        raise MediaError("the angle clips hold no whole frame")
    first = angles[0]
    if first.start_timecode is not None:
        timecode = normalize_timecode(first.start_timecode, rate)
    else:
        try:
            timecode = normalize_timecode(infos[0].timecode, rate)
        except MediaError:
            # A garbled tag in the file should not cost the operator the mosaic.
            timecode = normalize_timecode(None, rate)
    plan = MosaicPlan(
        sources=tuple(angle.path for angle in angles),
        labels=tuple(angle.label for angle in angles),
        source_sizes=tuple(info.video.display_size for info in infos if info.video),
        grid=grid,
        size=size,
        frame_rate=rate,
        frames=frames,
        timecode=timecode,
        audio=infos[0].audio is not None,
        audio_offset_s=infos[0].video.start_s if infos[0].video else 0.0,
    )
    return _encode(
        ffmpeg,
        mosaic_args(plan, out, encoding),
        out,
        rate,
        frames,
        timeout_s=timeout_s,
        on_progress=on_progress,
    )


def _encode(
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


# -- sequence ----------------------------------------------------------------------------------


def _slow_factor(slow_motion: SlowMotion) -> Fraction:
    if not math.isfinite(slow_motion.factor):
        raise MediaError(f"slow-motion factor {slow_motion.factor} is not a number")
    factor = Fraction(slow_motion.factor).limit_denominator(100)
    if not 1 < factor <= MAX_SLOW_FACTOR:
        raise MediaError(
            f"slow-motion factor {slow_motion.factor} must be above 1 and at most {MAX_SLOW_FACTOR}"
        )
    return factor


def plan_sequence(
    cuts: Sequence[SequenceCut],
    *,
    frame_rate: Fraction,
    clip_frames: Mapping[Path, int],
    source_sizes: Mapping[Path, tuple[int, int]],
    audio: Mapping[Path, bool],
    video_starts: Mapping[Path, float] | None = None,
    slow_motion: SlowMotion | None = None,
) -> list[SequencePiece]:
    """The pieces the cut list plays, in order, split where slow motion starts and ends.

    Times are rounded to whole frames of ``frame_rate``. Cuts must be non-empty, inside their
    clip (``clip_frames`` at the output rate) and in order: each starts no earlier than the
    previous one ends (a gap is a jump forward; going back in time is refused). The slow-motion
    range must lie on the edited timeline. Raises :class:`MediaError` otherwise.
    """
    if not cuts:
        raise MediaError("a sequence needs at least one cut")
    bounds: list[tuple[int, int]] = []
    previous_end = 0
    for number, cut in enumerate(cuts, start=1):
        where = f"cut {number} ({cut.angle.label} {cut.start_s:g}-{cut.end_s:g} s)"
        if not (math.isfinite(cut.start_s) and math.isfinite(cut.end_s)):
            raise MediaError(f"{where}: times must be finite")
        start, end = frame_count(cut.start_s, frame_rate), frame_count(cut.end_s, frame_rate)
        if start < 0:
            raise MediaError(f"{where}: starts before the clips do")
        if end <= start:
            raise MediaError(f"{where}: holds no frame")
        available = clip_frames[cut.angle.path]
        if end > available:
            raise MediaError(
                f"{where}: ends after its clip "
                f"({float(available / frame_rate):.3f} s, {available} frames)"
            )
        if start < previous_end:
            raise MediaError(f"{where}: starts before the previous cut ends")
        previous_end = end
        bounds.append((start, end))
    program = sum(end - start for start, end in bounds)
    slow_start = slow_end = 0
    factor = Fraction(1)
    if slow_motion is not None:
        factor = _slow_factor(slow_motion)
        if not (math.isfinite(slow_motion.start_s) and math.isfinite(slow_motion.end_s)):
            raise MediaError("slow-motion times must be finite")
        slow_start = frame_count(slow_motion.start_s, frame_rate)
        slow_end = frame_count(slow_motion.end_s, frame_rate)
        if slow_start < 0 or slow_end > program or slow_end <= slow_start:
            raise MediaError(
                f"slow motion {slow_motion.start_s:g}-{slow_motion.end_s:g} s is not a range "
                f"inside the {float(program / frame_rate):.3f} s sequence"
            )
    pieces: list[SequencePiece] = []
    position = 0
    for cut, (start, end) in zip(cuts, bounds, strict=True):
        path = cut.angle.path
        # Edges on this cut's stretch of the program where the speed changes.
        edges = sorted(
            {start, end}
            | {
                start + edge - position
                for edge in (slow_start, slow_end)
                if position < edge < position + end - start
            }
        )
        for low, high in itertools.pairwise(edges):
            slowed = slow_start <= position + low - start < slow_end and factor != 1
            pieces.append(
                SequencePiece(
                    source=path,
                    source_size=source_sizes[path],
                    start_frame=low,
                    end_frame=high,
                    available_frames=clip_frames[path],
                    factor=factor if slowed else Fraction(1),
                    audio=audio[path],
                    video_start_s=(video_starts or {}).get(path, 0.0),
                )
            )
        position += end - start
    return pieces


def _interpolation_filter(kind: Interpolation, frame_rate: Fraction) -> str:
    rate = _rate_text(frame_rate)
    if kind == "motion":
        # Motion-compensated: blocks are moved along their estimated vectors (bidirectional
        # search, overlapped blocks, variable block size), so a ball or a runner is drawn at its
        # in-between position instead of twice, faded. Scene detection is off: a piece never
        # spans a cut, and fast action would otherwise be mistaken for one and blended.
        return (
            f"minterpolate=fps={rate}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:me=epzs"
            ":vsbmc=1:scd=none"
        )
    # Every output frame a weighted mix of its two neighbours, scene detection off.
    return f"framerate=fps={rate}:interp_start=0:interp_end=255:scene=100"


def sequence_args(
    pieces: Sequence[SequencePiece],
    out: Path,
    *,
    size: tuple[int, int],
    frame_rate: Fraction,
    interpolation: Interpolation,
    encoding: ReplayEncoding,
) -> list[str]:
    """ffmpeg arguments that play ``pieces`` one after the other in one filter graph.

    Each piece opens its clip as its own input, so ffmpeg decodes it only while ``concat`` reads
    that piece and memory stays a few frames; it is rebased, brought to the output rate,
    trimmed by frame number and fitted to ``size``. A slowed piece has its timestamps stretched
    and the missing frames interpolated at the output rate; its audio is silence.
    """
    rate = _rate_text(frame_rate)
    with_audio = any(piece.audio for piece in pieces)
    args = [*base_args()]
    graph: list[str] = []
    position = 0
    for index, piece in enumerate(pieces):
        args += ["-i", str(piece.source)]
        length = piece.output_frames
        fit = fit_filters(piece.source_size, size)
        head = f"[{index}:v:0]setpts=PTS-STARTPTS,fps={rate},"
        if piece.factor == 1:
            graph.append(
                f"{head}trim=start_frame={piece.start_frame}:end_frame={piece.end_frame},"
                f"setpts=PTS-STARTPTS,{fit},format=yuv420p[v{index}]"
            )
        else:
            # One frame past the range (the clip's next one, else a copy of the last) gives the
            # interpolation a frame to move towards at the end of the range.
            end = min(piece.end_frame + 1, piece.available_frames)
            factor = piece.factor
            graph.append(
                f"{head}trim=start_frame={piece.start_frame}:end_frame={end},"
                f"setpts=PTS-STARTPTS,{fit},format=yuv420p,tpad=stop_mode=clone:stop=1,"
                f"settb=AVTB,setpts=PTS*{factor.numerator}/{factor.denominator},"
                f"{_interpolation_filter(interpolation, frame_rate)},"
                f"trim=end_frame={length},setpts=PTS-STARTPTS,format=yuv420p[v{index}]"
            )
        if with_audio:
            first = samples_for(position, frame_rate)
            last = samples_for(position + length, frame_rate)
            if piece.audio and piece.factor == 1:
                start = samples_for(piece.start_frame, frame_rate)
                graph.append(
                    f"{clip_audio(f'{index}:a:0', piece.video_start_s)},apad,"
                    f"atrim=start_sample={start}:end_sample={start + last - first},"
                    f"asetpts=PTS-STARTPTS,{_STEREO}[a{index}]"
                )
            else:
                graph.append(
                    f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=end_sample={last - first},"
                    f"{_STEREO}[a{index}]"
                )
        position += length
    streams = "".join(
        f"[v{index}][a{index}]" if with_audio else f"[v{index}]" for index in range(len(pieces))
    )
    graph.append(
        f"{streams}concat=n={len(pieces)}:v=1:a={int(with_audio)}[v]"
        + ("[a]" if with_audio else "")
    )
    args += ["-filter_complex", ";".join(graph), "-map", "[v]"]
    if with_audio:
        args += ["-map", "[a]"]
    args += encode_args(frame_rate, encoding, with_audio)
    args += ["-movflags", "+faststart", "-f", "mp4", str(out)]
    return args


def sequence(
    ffmpeg: str,
    cuts: Sequence[SequenceCut],
    out: Path,
    *,
    slow_motion: SlowMotion | None = None,
    size: tuple[int, int] = (1920, 1080),
    frame_rate: Fraction,
    interpolation: Interpolation = "motion",
    encoding: ReplayEncoding = ReplayEncoding(),
    timeout_s: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> ComposedClip:
    """Play a cut list across angles ("cam3 from 2.0 s, cam1 from 3.5 s, ...") as one clip.

    Cut times are seconds from the start of the angle clips, rounded to frames of
    ``frame_rate``; the cuts are joined with ``trim`` + ``setpts`` + ``concat`` in one filter
    graph, each fitted to ``size``. ``slow_motion`` (times on the edited timeline, before
    slowing) plays ``factor`` times longer with interpolated frames, so the output keeps its
    frame rate: ``interpolation="motion"`` (the default, ``minterpolate``) draws moving players
    where they were in between, at a cost of a few frames a second at 1080p, and only the slowed
    range pays it; ``"blend"`` (``framerate``) is many times faster but ghosts.

    Audio follows the cuts and is silent during slow motion: sound stretched two or four times
    is a drone that no one airs, and the commentator talks over a replay anyway. Without audio
    in any angle the result has none.

    Raises :class:`MediaError` for a bad cut list or slow-motion range and :class:`FFmpegError`
    when ffmpeg fails.
    """
    _check_size(size)
    _check_rate(frame_rate)
    if interpolation not in ("motion", "blend"):
        raise MediaError(f"unknown interpolation {interpolation!r}")
    if not cuts:
        raise MediaError("a sequence needs at least one cut")
    rate = exact_rate(frame_rate)
    infos = {cut.angle.path: _probe_video(cut.angle.path) for cut in cuts}
    pieces = plan_sequence(
        cuts,
        frame_rate=rate,
        clip_frames={path: frames_at(info, rate) for path, info in infos.items()},
        source_sizes={path: info.video.display_size for path, info in infos.items() if info.video},
        audio={path: info.audio is not None for path, info in infos.items()},
        video_starts={path: info.video.start_s for path, info in infos.items() if info.video},
        slow_motion=slow_motion,
    )
    frames = sum(piece.output_frames for piece in pieces)
    args = sequence_args(
        pieces,
        out,
        size=size,
        frame_rate=rate,
        interpolation=interpolation,
        encoding=encoding,
    )
    return _encode(ffmpeg, args, out, rate, frames, timeout_s=timeout_s, on_progress=on_progress)
