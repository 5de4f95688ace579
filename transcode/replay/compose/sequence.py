"""A cut sequence across angles, with an optional slow-motion range (motion-compensated or blended
frames), in one ffmpeg run."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from transcode.errors import MediaError
from transcode.ffmpeg import ProgressCallback, base_args
from transcode.proxy import exact_rate
from transcode.replay.compose.common import (
    AUDIO_RATE,
    STEREO,
    Angle,
    ComposedClip,
    Interpolation,
    ReplayEncoding,
    check_rate,
    check_size,
    clip_audio,
    encode_args,
    encode_clip,
    fit_filters,
    frame_count,
    frames_at,
    probe_video,
    rate_text,
    samples_for,
)

MAX_SLOW_FACTOR = 16


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
    rate = rate_text(frame_rate)
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
    rate = rate_text(frame_rate)
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
                    f"asetpts=PTS-STARTPTS,{STEREO}[a{index}]"
                )
            else:
                graph.append(
                    f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=end_sample={last - first},"
                    f"{STEREO}[a{index}]"
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
    check_size(size)
    check_rate(frame_rate)
    if interpolation not in ("motion", "blend"):
        raise MediaError(f"unknown interpolation {interpolation!r}")
    if not cuts:
        raise MediaError("a sequence needs at least one cut")
    rate = exact_rate(frame_rate)
    infos = {cut.angle.path: probe_video(cut.angle.path) for cut in cuts}
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
    return encode_clip(
        ffmpeg, args, out, rate, frames, timeout_s=timeout_s, on_progress=on_progress
    )
