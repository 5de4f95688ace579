"""The entry points: :func:`cut_angle` (smart cut) and :func:`naive_cut` (full re-encode, the
baseline the benchmark compares against)."""

from __future__ import annotations

import bisect
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from transcode.errors import MediaError
from transcode.ffmpeg import ProgressCallback
from transcode.replay.cut.encode import PRESET
from transcode.replay.cut.frames import (
    AngleCut,
    CutRequest,
    Piece,
    check_bounds,
    check_request,
    choose_frames,
    frame_window,
)
from transcode.replay.cut.index import IndexedPiece, count_missing_frames, index_piece, measure_rate
from transcode.replay.cut.render import CutOptions, audio_chunks, can_copy, plan_runs, render_parts


def cut_angle(
    ffmpeg: str,
    pieces: Sequence[Piece],
    request: CutRequest,
    out: Path,
    *,
    frame_rate: Fraction | None = None,
    timeout_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    preset: str = PRESET,
    two_pass: bool = False,
) -> AngleCut:
    """Cut ``request`` from the recording ``pieces`` into the MP4 ``out``, frame-accurately.

    Whole GOPs are stream-copied and only the frames before the first and after the last keyframe
    of the range are re-encoded (see the module docstring). ``frame_rate`` is the recording's rate
    when known, else it is measured from the timestamps. ``timeout_s`` limits each ffmpeg run.
    ``two_pass`` encodes the re-encoded parts in two passes: about 1.7 times the work, for a
    bitrate that matches the source's even on a few frames of a starved (low-bitrate) source,
    where one pass falls short by a quarter. Raises :class:`MediaError` for a range that is
    empty, outside the recording or inside a gap, and for unreadable pieces;
    :class:`FFmpegError` when ffmpeg fails.
    """
    options = CutOptions(preset, two_pass, timeout_s, smart=True)
    return _cut(ffmpeg, pieces, request, out, frame_rate, on_progress, options)


def naive_cut(
    ffmpeg: str,
    pieces: Sequence[Piece],
    request: CutRequest,
    out: Path,
    *,
    frame_rate: Fraction | None = None,
    timeout_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    preset: str = PRESET,
    two_pass: bool = False,
) -> AngleCut:
    """Like :func:`cut_angle`, but every frame of the range is re-encoded (the plain way, for
    comparison): the same frames, encoder settings and join, no stream copy."""
    options = CutOptions(preset, two_pass, timeout_s, smart=False)
    return _cut(ffmpeg, pieces, request, out, frame_rate, on_progress, options)


def _cut(
    ffmpeg: str,
    pieces: Sequence[Piece],
    request: CutRequest,
    out: Path,
    frame_rate: Fraction | None,
    on_progress: ProgressCallback | None,
    options: CutOptions,
) -> AngleCut:
    candidates = check_request(pieces, request)
    rate = frame_rate
    selections: list[tuple[IndexedPiece, int, int]] = []
    previous_end: float | None = None
    for number in candidates:
        if rate is None:
            low, high = request.start_s, request.end_s
        else:
            low, high = frame_window(request, rate)
        source = index_piece(number, pieces[number], low, high)
        if rate is None:
            rate = measure_rate(source)
        check_bounds(pieces, request, rate)
        times = [source.time_s(pts) for pts in source.frames]
        chosen = choose_frames(times, request, rate)
        if chosen is None:
            continue
        first, last = chosen
        if previous_end is not None:
            # Pieces that overlap on the clock: keep time moving forward.
            first = max(first, bisect.bisect_left(times, previous_end))
            if first > last:
                continue
        selections.append((source, first, last))
        previous_end = times[last] + float(1 / rate) / 2
    if rate is None or not selections:
        raise MediaError(
            f"range {request.start_s:g}-{request.end_s:g} s holds no recorded frame "
            "(it falls in a gap between pieces)"
        )
    copy = options.smart and can_copy([s for s, _, _ in selections])
    runs = plan_runs(selections, smart=copy)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".angle-cut-", dir=out.parent) as tmp:
        work = Path(tmp)
        chunks = audio_chunks(selections, pieces, rate)
        clip = render_parts(ffmpeg, runs, chunks, rate, work, on_progress, options)
        clip.replace(out)
    first_source, first_index, _ = selections[0]
    last_source, _, last_index = selections[-1]
    first_time = first_source.time_s(first_source.frames[first_index])
    last_time = last_source.time_s(last_source.frames[last_index])
    frames = sum(run.frames for run in runs)
    origin = pieces[0].clock_start_s
    target = selections[0][0]
    return AngleCut(
        path=out,
        first_time_s=first_time,
        frames=frames,
        frame_rate=rate,
        width=target.width,
        height=target.height,
        copied_frames=sum(run.frames for run in runs if run.copy),
        encoded_frames=sum(run.frames for run in runs if not run.copy),
        first_source_frame=round((first_time - origin) * rate),
        last_source_frame=round((last_time - origin) * rate),
        missing_frames=count_missing_frames(selections, request, rate),
        audio=any(s.audio is not None for s, _, _ in selections),
    )
