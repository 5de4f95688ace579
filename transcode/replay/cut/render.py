"""The parts of a cut (copied GOPs, re-encoded head and tail, audio), planned from the index and
run side by side on a few threads with one progress."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av

from transcode.ffmpeg import ProgressCallback, run_ffmpeg
from transcode.replay.cut.encode import (
    X264_PIX_FMTS,
    X264_PROFILES,
    AudioChunk,
    audio_args,
    encode_args,
    video_spec,
    x264_pix_fmt,
)
from transcode.replay.cut.frames import SLACK_S, Piece
from transcode.replay.cut.index import (
    SEEK_MARGIN_S,
    IndexedPiece,
    Run,
    as_url,
    protocols_for,
    seek_seconds,
)
from transcode.replay.cut.join import check_clip, join_parts, part_of

_MAX_PARALLEL = 4


@dataclass(frozen=True)
class CutOptions:
    preset: str
    two_pass: bool
    timeout_s: float | None
    smart: bool


def plan_runs(selections: Sequence[tuple[IndexedPiece, int, int]], *, smart: bool) -> list[Run]:
    """Split each source's chosen frames into copied whole GOPs and re-encoded ends."""
    runs: list[Run] = []
    for source, first, last in selections:
        cut = _copy_span(source, first, last) if smart else None
        if cut is None:
            runs.append(Run(source, first, last, copy=False))
            continue
        copy_from, copy_to = cut
        if copy_from > first:
            runs.append(Run(source, first, copy_from - 1, copy=False))
        runs.append(Run(source, copy_from, copy_to - 1, copy=True))
        if copy_to <= last:
            runs.append(Run(source, copy_to, last, copy=False))
    return runs


def _copy_span(source: IndexedPiece, first: int, last: int) -> tuple[int, int] | None:
    """``[start, end)`` frame indices of the whole GOPs inside ``first..last``, if any."""
    frames = source.frames
    start = next((i for i in range(first, last + 1) if frames[i] in source.clean), None)
    if start is None:
        return None
    end = None
    if last + 1 == len(frames) and source.complete:
        end = last + 1
    else:
        end = next((i for i in range(last + 1, start, -1) if frames[i] in source.clean), None)
    if end is None or end <= start:
        return None
    return start, end


def can_copy(sources: Sequence[IndexedPiece]) -> bool:
    target = sources[0]
    return all(
        s.codec == "h264"
        and not s.interlaced
        and (s.width, s.height) == (target.width, target.height)
        and s.profile is not None
        and s.profile.lower() in X264_PROFILES
        and x264_pix_fmt(s.pix_fmt)[0] in X264_PIX_FMTS
        for s in sources
    )


class _Progress:
    """Weighted progress of parts that run side by side, reported as one rising fraction."""

    def __init__(self, callback: ProgressCallback | None, weights: Sequence[float]) -> None:
        self._callback = callback
        self._weights = list(weights)
        self._done = [0.0] * len(weights)
        self._sent = 0.0
        self._lock = threading.Lock()

    def part(self, index: int, low: float = 0.0, high: float = 1.0) -> ProgressCallback | None:
        """A callback for part ``index`` whose 0-1 maps to ``low``-``high`` of that part."""
        if self._callback is None:
            return None

        def report(fraction: float) -> None:
            self.update(index, low + (high - low) * fraction)

        return report

    def update(self, index: int, fraction: float) -> None:
        if self._callback is None:
            return
        with self._lock:
            self._done[index] = max(self._done[index], fraction)
            total = sum(w * d for w, d in zip(self._weights, self._done, strict=True))
            value = min(total / (sum(self._weights) or 1), 1.0)
            if value <= self._sent:
                return
            self._sent = value
            self._callback(value)


def render_parts(
    ffmpeg: str,
    runs: Sequence[Run],
    chunks: Sequence[AudioChunk],
    rate: Fraction,
    work: Path,
    on_progress: ProgressCallback | None,
    options: CutOptions,
) -> Path:
    """Encode the re-encoded runs and the audio side by side, then join everything."""
    protocols = protocols_for(runs)
    match = can_copy([run.source for run in runs])
    target = runs[0].source
    jobs: list[tuple[list[list[str]], float]] = []
    encoded: dict[int, Path] = {}
    for i, run in enumerate(runs):
        if run.copy:
            continue
        path = work / f"part{i:03d}.ts"
        encoded[i] = path
        first_pts, last_pts = run.source.frames[run.first], run.source.frames[run.last]
        spec = video_spec(run, rate, match=match)
        spec = replace(spec, width=target.width, height=target.height)
        passes = []
        for number in (1, 2) if options.two_pass else (2,):
            passes.append(
                encode_args(
                    run.source.url,
                    first_s=float(first_pts * run.source.time_base),
                    last_s=float(last_pts * run.source.time_base),
                    frames=run.frames,
                    seek_s=seek_seconds(run.source, first_pts),
                    spec=spec,
                    out=path,
                    preset=options.preset,
                    protocols=protocols,
                    scale=(run.source.width, run.source.height) != (target.width, target.height),
                    two_pass=(number, work / f"part{i:03d}") if options.two_pass else None,
                )
            )
        jobs.append((passes, float(run.frames / rate)))
    audio_path = work / "audio.m4a"
    audio = [run.source.audio for run in runs if run.source.audio is not None]
    if audio:
        if any((chunk.url or "").startswith("concat:") for chunk in chunks):
            protocols += ",concat"
        args = audio_args(
            chunks,
            sample_rate=audio[0].sample_rate,
            layout=audio[0].layout,
            kbps=audio[0].kbps,
            out=audio_path,
            protocols=protocols,
        )
        jobs.append(([args], float(sum(run.frames for run in runs) / rate)))
    total = sum(run.frames for run in runs)
    weights = [duration * float(rate) for _, duration in jobs]
    if audio:
        weights[-1] = total / 20
    progress = _Progress(on_progress, [*weights, total / 10])
    if jobs:
        with ThreadPoolExecutor(max_workers=min(len(jobs), _MAX_PARALLEL)) as pool:
            futures = [
                pool.submit(_run_all, ffmpeg, argvs, duration, progress, i, options.timeout_s)
                for i, (argvs, duration) in enumerate(jobs)
            ]
            for future in futures:
                future.result()
    clip = work / "clip.mp4"
    parts = [part_of(run, encoded.get(i)) for i, run in enumerate(runs)]
    join_parts(parts, audio_path if audio else None, clip, rate)
    check_clip(clip, total, rate)
    progress.update(len(jobs), 1.0)
    return clip


def _run_all(
    ffmpeg: str,
    argvs: Sequence[list[str]],
    duration_s: float,
    progress: _Progress,
    index: int,
    timeout_s: float | None,
) -> None:
    """Run ffmpeg once per argv, one after another (the passes of one part)."""
    for number, args in enumerate(argvs):
        report = progress.part(index, number / len(argvs), (number + 1) / len(argvs))
        run_ffmpeg(ffmpeg, args, duration_s=duration_s, on_progress=report, timeout_s=timeout_s)


def audio_chunks(
    selections: Sequence[tuple[IndexedPiece, int, int]], pieces: Sequence[Piece], rate: Fraction
) -> list[AudioChunk]:
    """The audio under the chosen frames: one chunk per stretch of continuous timestamps.

    Live pieces are cut from one stream and share its timestamps, and the audio under a piece's
    last frames is often stored at the start of the next piece (the segmenter cuts at video
    keyframes). So pieces that follow on are read as one stream (ffmpeg's concat protocol), with
    the piece on either side of the range when it follows on too.
    """
    groups: list[list[tuple[IndexedPiece, int, int]]] = []
    for selection in selections:
        if groups and _follows_on(groups[-1][-1], selection, rate):
            groups[-1].append(selection)
        else:
            groups.append([selection])
    chunks = []
    for group in groups:
        source, first, _ = group[0]
        end_source, _, last = group[-1]
        duration = float(sum(b - a + 1 for _, a, b in group) / rate)
        if source.audio is None:
            chunks.append(AudioChunk(None, 0.0, duration, None))
            continue
        urls = [s.url for s, _, _ in group]
        if not source.indexed and first == 0:
            urls[:0] = _neighbour(pieces, source, -1)
        if not end_source.indexed and last == len(end_source.frames) - 1 and end_source.complete:
            urls += _neighbour(pieces, end_source, 1)
        first_s = float(source.frames[first] * source.time_base)
        if len(urls) > 1:
            chunks.append(AudioChunk("concat:" + "|".join(urls), first_s, duration, None))
            continue
        # Audio may be stored ahead of its frames: seek a margin earlier than for the video.
        seek = seek_seconds(source, source.frames[first], early_s=SEEK_MARGIN_S)
        chunks.append(AudioChunk(source.url, first_s, duration, seek))
    return chunks


def _follows_on(
    before: tuple[IndexedPiece, int, int], after: tuple[IndexedPiece, int, int], rate: Fraction
) -> bool:
    """Whether ``after`` is the next piece of one stream, its frames right after ``before``."""
    a, _, a_last = before
    b, b_first, _ = after
    if a.indexed or b.indexed or b.number != a.number + 1 or b_first != 0:
        return False
    if a_last != len(a.frames) - 1 or not a.complete:
        return False
    expected = float(a.frames[-1] * a.time_base + 1 / rate)
    return abs(float(b.frames[0] * b.time_base) - expected) < float(1 / rate) / 2


def _neighbour(pieces: Sequence[Piece], source: IndexedPiece, step: int) -> list[str]:
    """The URL of the piece ``step`` away from ``source``, if it continues its stream."""
    number = source.number + step
    if not 0 <= number < len(pieces):
        return []
    piece = pieces[number]
    url = as_url(piece.uri)
    try:
        with av.open(url, metadata_errors="ignore") as container:
            stream = container.streams.video[0] if container.streams.video else None
            if stream is None or stream.start_time is None or not stream.time_base:
                return []
            start_s = float(stream.start_time * stream.time_base)
            indexed = "mp4" in container.format.name or "mov" in container.format.name
    except av.FFmpegError:
        return []
    expected = float(source.first_pts * source.time_base) + (
        piece.clock_start_s - source.piece.clock_start_s
    )
    return [url] if not indexed and abs(start_s - expected) < SLACK_S else []
