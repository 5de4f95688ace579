"""A labelled mosaic of every angle: one grid, every cell the same moment, in one ffmpeg run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from transcode.errors import MediaError
from transcode.ffmpeg import ProgressCallback, base_args
from transcode.proxy import burn_in_filters, exact_rate, normalize_timecode
from transcode.replay.compose.common import (
    MAX_ANGLES,
    STEREO,
    Angle,
    ComposedClip,
    ReplayEncoding,
    check_rate,
    check_size,
    clip_audio,
    encode_args,
    encode_clip,
    fit_filters,
    frames_at,
    probe_video,
    rate_text,
    samples_for,
    timecode_filter,
    to_even,
)


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
    return Grid(columns, rows, to_even(width / columns), to_even(height / rows))


def mosaic_args(plan: MosaicPlan, out: Path, encoding: ReplayEncoding) -> list[str]:
    """ffmpeg arguments that stack the plan's angles into one labelled, timecoded picture.

    Each angle is rebased to its first frame, brought to the output rate (``fps``), cut to the
    common length (``trim``), fitted into its cell and labelled; ``xstack`` lays the cells out
    and ``pad`` fills the empty ones with black. Audio comes from the first angle.
    """
    rate = rate_text(plan.frame_rate)
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
        f"{timecode_filter(plan.timecode, plan.frame_rate, plan.size)},format=yuv420p[v]"
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
            f"{STEREO}[a]"
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
    check_size(size)
    check_rate(frame_rate)
    grid = grid_for(len(angles), size, columns)
    if grid.columns * grid.rows < len(angles):
        raise MediaError(f"{len(angles)} angles do not fit a {grid.columns}-column grid")
    infos = [probe_video(angle.path) for angle in angles]
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
    return encode_clip(
        ffmpeg,
        mosaic_args(plan, out, encoding),
        out,
        rate,
        frames,
        timeout_s=timeout_s,
        on_progress=on_progress,
    )
