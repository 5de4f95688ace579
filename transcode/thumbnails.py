"""Scrubbing thumbnails and posters of a recording, from one decode.

One ffmpeg run splits the picture two ways: sprite sheets (a grid of small tiles, one tile every
``interval_s``) for the player's scrub bar, described by a WebVTT thumbnail track; and a small raw
frame stream that Python reads from a pipe, frame by frame, to find the shot cuts (HSV histograms
of consecutive frames) and to measure how sharp and how usable each frame is. Posters are then
taken from the longest shots, each at its sharpest usable moment, with one cheap seek per poster.
"""

from __future__ import annotations

import errno
import math
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from numpy.typing import NDArray

from transcode.errors import FFmpegError, MediaError
from transcode.ffmpeg import ProgressCallback, base_args, run_ffmpeg
from transcode.probe import MediaInfo

VTT_NAME = "thumbnails.vtt"
SPRITE_PATTERN = "sprite_%03d.jpg"
POSTER_PATTERN = "poster_{:02d}.jpg"

_ANALYSIS_WIDTH = 96
_HISTOGRAM_BINS = [16, 4, 4]  # hue, saturation, value
_HISTOGRAM_RANGES = [0, 180, 0, 256, 0, 256]
_DARK_LEVEL = 32
"""Luma (0-255) under which a pixel counts as black."""
_BLACK_SHARE = 0.9
"""A frame this much black is a black frame, even with a small ident or clock on it."""
_FLAT_SPREAD = 8.0
"""Luma standard deviation under which a frame is a flat field (slate, colour, fade)."""
_FLASH_SHARE = 0.5
"""A jump is a flash, not a cut, when the frames either side of it are this much closer."""
_SPRITE_QUALITY = 5
_POSTER_QUALITY = 2
# Files in the private work folder, named relative to it (ffmpeg runs there), so no path of the
# machine has to be escaped inside the filter graph.
_FRAMES_PIPE = "frames.fifo"
_TILE_LOG = "tiles.txt"


@dataclass(frozen=True)
class ThumbnailOptions:
    interval_s: float = 2.0
    """Seconds of programme per sprite tile."""
    tile_width: int = 160
    columns: int = 10
    rows: int = 10
    analysis_fps: float = 4.0
    """Frames per second looked at for cuts and posters."""
    max_posters: int = 4
    poster_lines: int = 720
    """Poster height; smaller sources keep their own height."""

    def __post_init__(self) -> None:
        if self.interval_s <= 0 or self.analysis_fps <= 0:
            raise ValueError("interval_s and analysis_fps must be positive")
        if self.tile_width < 16 or self.tile_width % 2:
            raise ValueError("tile_width must be even and at least 16")
        if self.columns < 1 or self.rows < 1 or self.max_posters < 0:
            raise ValueError("columns and rows must be at least 1, max_posters not negative")
        if self.poster_lines < 16 or self.poster_lines % 2:
            raise ValueError("poster_lines must be even and at least 16")


@dataclass(frozen=True)
class Poster:
    path: Path
    time_s: float
    sharpness: float
    """Variance of the Laplacian of the analysis frame; comparable within one recording only."""


@dataclass(frozen=True)
class Thumbnails:
    sprites: tuple[Path, ...]
    vtt: Path
    tile_size: tuple[int, int]
    """Width and height of one tile in the sprite sheets."""
    cuts: tuple[float, ...]
    """Seconds at which a new shot starts, to within one analysis frame."""
    posters: tuple[Poster, ...]
    """In time order."""


@dataclass(frozen=True)
class FrameStats:
    """What the poster choice knows of one analysis frame."""

    sharpness: float
    """Variance of the Laplacian of the luma: higher is sharper."""
    mean_luma: float
    luma_spread: float
    """Standard deviation of the luma, 0-255."""
    dark_share: float
    """Share of pixels darker than the black level."""

    @property
    def black(self) -> bool:
        return self.dark_share >= _BLACK_SHARE

    @property
    def flat(self) -> bool:
        return self.luma_spread < _FLAT_SPREAD

    @property
    def usable(self) -> bool:
        return not self.black and not self.flat


@dataclass(frozen=True)
class _Analysis:
    distances: list[float]
    """Histogram distance between frame k and frame k + 1."""
    skip_distances: list[float]
    """Histogram distance between frame k and frame k + 2."""
    frames: list[FrameStats]


def make_thumbnails(
    ffmpeg: str,
    source: Path,
    info: MediaInfo,
    out_dir: Path,
    options: ThumbnailOptions,
    *,
    timeout_s: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> Thumbnails:
    """Write sprite sheets, ``thumbnails.vtt`` and posters of ``source`` into ``out_dir``.

    The source is decoded once: sprite sheets are written by ffmpeg while the cuts and the frame
    measurements come from a small raw stream read through a named pipe. Each poster is then
    extracted at full quality by a short seek. ``timeout_s`` bounds each ffmpeg run;
    ``on_progress`` follows the decode, which is nearly all of the work. Raises
    :class:`MediaError` for a source without video and :class:`FFmpegError` when ffmpeg fails.
    """
    if info.video is None:
        raise MediaError(f"{source.name}: no video stream to take thumbnails from")
    source = source.resolve()
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    analysis_size = _analysis_size(info.video.display_size)
    args = thumbnail_args(source, out_dir, options, analysis_size)
    with tempfile.TemporaryDirectory(prefix="vantage-thumbnails-") as work_name:
        work = Path(work_name)
        os.mkfifo(work / _FRAMES_PIPE)
        analysis = _run_and_analyse(
            ffmpeg, args, work, analysis_size, timeout_s, on_progress, info.duration_s
        )
        tile_count = _count_lines(work / _TILE_LOG, prefix="frame:")
    if tile_count == 0 or not analysis.frames:
        raise MediaError(f"{source.name}: no decodable video frame")

    per_sheet = options.columns * options.rows
    sprites = tuple(
        out_dir / (SPRITE_PATTERN % sheet) for sheet in range(math.ceil(tile_count / per_sheet))
    )
    tile_size = _tile_size(sprites[0], options)
    fps = _fraction(options.analysis_fps)
    duration_s = info.duration_s if info.duration_s > 0 else tile_count * options.interval_s
    vtt = out_dir / VTT_NAME
    vtt.write_text(
        thumbnail_vtt(
            [sprite.name for sprite in sprites],
            *tile_size,
            options.columns,
            options.rows,
            options.interval_s,
            duration_s,
            tile_count=tile_count,
        ),
        encoding="utf-8",
    )

    cut_frames = find_cuts(analysis.distances, fps, skip_distances=analysis.skip_distances)
    chosen = choose_posters(analysis.frames, cut_frames, options.max_posters)
    lines = min(options.poster_lines, info.video.display_size[1] // 2 * 2)
    frame_period = 1 / info.video.frame_rate if info.video.frame_rate > 0 else Fraction(0)
    posters = []
    for number, index in enumerate(chosen):
        at = index / fps
        out = out_dir / POSTER_PATTERN.format(number)
        # The analysis frame at ``at`` is the last source frame at or before it; ``-ss`` gives
        # the first frame at or after the seek point, so seek to just after the frame before.
        seek_s = max(0.0, float(at - frame_period) + 0.0005)
        run_ffmpeg(ffmpeg, poster_frame_args(source, out, seek_s, lines), timeout_s=timeout_s)
        if not out.is_file():
            raise FFmpegError(f"ffmpeg wrote no poster at {float(at):.3f} s", 0)
        posters.append(Poster(out, round(float(at), 3), round(analysis.frames[index].sharpness, 2)))

    return Thumbnails(
        sprites=sprites,
        vtt=vtt,
        tile_size=tile_size,
        cuts=tuple(round(float(frame / fps), 3) for frame in cut_frames),
        posters=tuple(posters),
    )


def thumbnail_args(
    source: Path, out_dir: Path, options: ThumbnailOptions, analysis_size: tuple[int, int]
) -> list[str]:
    """ffmpeg arguments for the one decode: sprite sheets into ``out_dir``, and the raw BGR
    analysis frames (``analysis_size``) into the named pipe of the work folder ffmpeg runs in.

    Every sprite tile is also logged to the work folder, so its count is known exactly.
    """
    tile_rate = 1 / _fraction(options.interval_s)
    width = options.tile_width
    analysis_w, analysis_h = analysis_size
    graph = ";".join(
        [
            "[0:v:0]split=2[sprite_in][analysis_in]",
            # ``round=near`` (the default) shows in each tile the middle of its cue.
            f"[sprite_in]fps=fps={tile_rate}:start_time=0,"
            "metadata=mode=add:key=vantage_tile:value=1,"
            f"metadata=mode=print:file={_TILE_LOG},"
            f"scale=w={width}:h=trunc({width}/dar/2)*2,setsar=1,"
            f"tile={options.columns}x{options.rows}[sprites]",
            # ``round=up`` makes frame n the last source frame at or before n / fps.
            f"[analysis_in]fps=fps={_fraction(options.analysis_fps)}:start_time=0:round=up,"
            f"scale=w={analysis_w}:h={analysis_h}:flags=area,format=bgr24[analysis]",
        ]
    )
    sprite_pattern = f"{str(out_dir).replace('%', '%%')}/{SPRITE_PATTERN}"  # ffmpeg expands %
    return [
        *base_args(),
        "-i", str(source),
        "-filter_complex", graph,
        "-map", "[sprites]", "-fps_mode", "passthrough",
        "-c:v", "mjpeg", "-q:v", str(_SPRITE_QUALITY), "-start_number", "0",
        "-f", "image2", sprite_pattern,
        "-map", "[analysis]", "-fps_mode", "passthrough",
        "-f", "rawvideo", "-pix_fmt", "bgr24", _FRAMES_PIPE,
    ]  # fmt: skip


def poster_frame_args(source: Path, out: Path, at_s: float, lines: int) -> list[str]:
    """ffmpeg arguments for one JPEG frame of ``source`` at ``at_s`` seconds, ``lines`` tall,
    square pixels, deinterlaced when the frame is interlaced."""
    return [
        *base_args(),
        "-ss", f"{at_s:.6f}",
        "-i", str(source),
        "-map", "0:v:0",
        "-frames:v", "1",
        "-vf", f"bwdif=mode=send_frame:deint=interlaced,"
        f"scale=w=trunc({lines}*dar/2)*2:h={lines},setsar=1",
        "-q:v", str(_POSTER_QUALITY),
        str(out),
    ]  # fmt: skip


def thumbnail_vtt(
    sprite_uris: Sequence[str],
    tile_w: int,
    tile_h: int,
    columns: int,
    rows: int,
    interval_s: float,
    duration_s: float,
    *,
    tile_count: int | None = None,
) -> str:
    """A WebVTT thumbnail track: one cue per tile, pointing into its sprite sheet by ``#xywh``.

    Tiles run left to right, then top to bottom, sheet after sheet; tile ``k`` covers
    ``k * interval_s`` to the next tile, and the last cue ends at ``duration_s``. ``tile_count``
    (the tiles actually written) caps the cues, as the last sheet may be partly empty.
    """
    per_sheet = columns * rows
    tiles = min(len(sprite_uris) * per_sheet, math.ceil(duration_s / interval_s - 1e-9))
    if tile_count is not None:
        tiles = min(tiles, tile_count)
    end_ms = round(duration_s * 1000)
    lines = ["WEBVTT", ""]
    for k in range(tiles):
        start = round(k * interval_s * 1000)
        if start >= end_ms:
            break
        stop = end_ms if k == tiles - 1 else min(round((k + 1) * interval_s * 1000), end_ms)
        sheet, place = divmod(k, per_sheet)
        row, column = divmod(place, columns)
        lines += [
            f"{_vtt_time(start)} --> {_vtt_time(stop)}",
            f"{sprite_uris[sheet]}#xywh={column * tile_w},{row * tile_h},{tile_w},{tile_h}",
            "",
        ]
    return "\n".join(lines)


def find_cuts(
    distances: Sequence[float],
    fps: Fraction,
    *,
    skip_distances: Sequence[float] | None = None,
    min_distance: float = 0.25,
    ratio: float = 3.0,
    window_s: float = 2.0,
    min_shot_s: float = 0.5,
) -> tuple[int, ...]:
    """Frames that start a new shot, from histogram distances between consecutive frames.

    ``distances[k]`` compares frame ``k`` with frame ``k + 1`` (0 = same, 1 = nothing in
    common). A cut is a jump of at least ``min_distance`` that is also ``ratio`` times the
    median jump around it (``window_s`` either side), so steady change from a pan, a zoom or
    fast play stays one shot however busy it is. ``skip_distances[k]`` compares frame ``k`` with
    frame ``k + 2``: when the frames either side of a jump are alike, the jump was a flash. Of
    two cuts closer than ``min_shot_s`` the larger jump is kept.
    """
    values = np.asarray(distances, dtype=np.float64)
    window = max(2, round(window_s * fps))
    min_gap = max(1, round(min_shot_s * fps))
    cuts: list[int] = []
    for k, jump in enumerate(values):
        if jump < min_distance:
            continue
        around = np.concatenate((values[max(0, k - window) : k], values[k + 1 : k + 1 + window]))
        level = float(np.median(around)) if around.size else 0.0
        if jump < ratio * level:
            continue
        if skip_distances is not None and _is_flash(k, float(jump), skip_distances):
            continue
        if cuts and k + 1 - cuts[-1] < min_gap:
            if jump > values[cuts[-1] - 1]:
                cuts[-1] = k + 1
            continue
        cuts.append(k + 1)
    return tuple(cuts)


def _is_flash(k: int, jump: float, skip_distances: Sequence[float]) -> bool:
    """Whether the jump after frame ``k`` is the start or the end of a one-frame flash."""
    bridges = [skip_distances[i] for i in (k - 1, k) if 0 <= i < len(skip_distances)]
    return any(bridge < _FLASH_SHARE * jump for bridge in bridges)


def choose_posters(
    frames: Sequence[FrameStats], cuts: Sequence[int], max_posters: int
) -> tuple[int, ...]:
    """Indices of the poster frames, in time order: the sharpest usable frame of each of the
    longest shots, at most ``max_posters`` of them.

    ``cuts`` are the frames that start a new shot. A shot's first and last frames are passed
    over when it has others (they may hold the neighbouring shot); a shot with no usable frame
    (black, flat) gives none. Only when no frame of the whole clip is usable is the sharpest of
    them all taken, so there is always a poster.
    """
    count = len(frames)
    if count == 0 or max_posters == 0:
        return ()
    bounds = [0, *sorted({cut for cut in cuts if 0 < cut < count}), count]
    shots = sorted(pairwise(bounds), key=lambda shot: (shot[0] - shot[1], shot[0]))
    chosen: list[int] = []
    for start, end in shots:
        if len(chosen) == max_posters:
            break
        inner = range(start + 1, end - 1) if end - start >= 3 else range(start, end)
        usable = [i for i in inner if frames[i].usable] or [
            i for i in range(start, end) if frames[i].usable
        ]
        if usable:
            chosen.append(max(usable, key=lambda i: frames[i].sharpness))
    if not chosen:
        chosen.append(max(range(count), key=lambda i: (frames[i].sharpness, frames[i].mean_luma)))
    return tuple(sorted(chosen))


def measure_frame(frame: NDArray[np.uint8]) -> FrameStats:
    """Sharpness, brightness and contrast of one BGR frame."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    mean, spread = cv2.meanStdDev(gray)
    return FrameStats(
        sharpness=float(cv2.Laplacian(gray, cv2.CV_64F).var()),
        mean_luma=float(mean[0][0]),
        luma_spread=float(spread[0][0]),
        dark_share=float(np.count_nonzero(gray < _DARK_LEVEL)) / gray.size,
    )


def hsv_histogram(frame: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The normalised hue-saturation-value histogram of one BGR frame."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)
    histogram = cv2.calcHist([hsv], [0, 1, 2], None, _HISTOGRAM_BINS, _HISTOGRAM_RANGES)
    total = float(histogram.sum())
    return np.asarray(histogram / total if total else histogram, dtype=np.float32)


def histogram_distance(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Bhattacharyya distance of two histograms: 0 alike, 1 nothing in common."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def _run_and_analyse(
    ffmpeg: str,
    args: list[str],
    work: Path,
    analysis_size: tuple[int, int],
    timeout_s: float | None,
    on_progress: ProgressCallback | None,
    duration_s: float,
) -> _Analysis:
    """Run ffmpeg in ``work`` on a worker thread while reading its analysis frames here."""
    reader_done = threading.Event()
    pipe = work / _FRAMES_PIPE

    def write() -> None:
        try:
            run_ffmpeg(
                ffmpeg,
                args,
                duration_s=duration_s,
                on_progress=on_progress,
                timeout_s=timeout_s,
                cwd=work,
            )
        finally:
            _release_reader(pipe, reader_done)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="thumbnails") as pool:
        writer = pool.submit(write)
        try:
            # Opening blocks until ffmpeg opens the other end (or _release_reader does).
            with pipe.open("rb") as stream:
                analysis = _analyse(_read_frames(stream, analysis_size))
        finally:
            reader_done.set()
        writer.result()
    return analysis


def _release_reader(pipe: Path, reader_done: threading.Event) -> None:
    """Open and close the pipe's writing end once, so that a reader still waiting to open it
    (ffmpeg failed before opening its output) wakes up and sees the end of the stream."""
    while not reader_done.is_set():
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: no reader has the pipe open yet
                raise
            reader_done.wait(0.01)
            continue
        os.close(fd)
        return


def _read_frames(stream: BinaryIO, size: tuple[int, int]) -> Iterator[NDArray[np.uint8]]:
    width, height = size
    frame_bytes = width * height * 3
    while True:
        raw = stream.read(frame_bytes)
        if len(raw) < frame_bytes:
            return
        yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)


def _analyse(frames: Iterator[NDArray[np.uint8]]) -> _Analysis:
    """Histogram distances and measurements of every frame, holding two histograms at a time."""
    distances: list[float] = []
    skip_distances: list[float] = []
    stats: list[FrameStats] = []
    before: NDArray[np.float32] | None = None
    previous: NDArray[np.float32] | None = None
    for frame in frames:
        histogram = hsv_histogram(frame)
        if previous is not None:
            distances.append(histogram_distance(previous, histogram))
        if before is not None:
            skip_distances.append(histogram_distance(before, histogram))
        before, previous = previous, histogram
        stats.append(measure_frame(frame))
    return _Analysis(distances, skip_distances, stats)


def _analysis_size(display_size: tuple[int, int]) -> tuple[int, int]:
    width, height = display_size
    scaled = round(_ANALYSIS_WIDTH * height / width / 2) * 2 if width > 0 else 0
    return _ANALYSIS_WIDTH, max(2, scaled)


def _tile_size(sheet: Path, options: ThumbnailOptions) -> tuple[int, int]:
    """One tile's size, read from a sheet: the tile filter always writes whole grids."""
    image = cv2.imread(str(sheet), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FFmpegError(f"ffmpeg wrote no readable sprite sheet {sheet.name}", 0)
    height, width = image.shape[:2]
    return int(width) // options.columns, int(height) // options.rows


def _count_lines(path: Path, *, prefix: str) -> int:
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8") as log:
        return sum(1 for line in log if line.startswith(prefix))


def _fraction(value: float) -> Fraction:
    """A rate or a duration as an exact fraction (``2.0`` -> 2, ``0.4`` -> 2/5)."""
    return Fraction(str(value)).limit_denominator(1_000_000)


def _vtt_time(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
