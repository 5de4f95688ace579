"""Measure the offset between two cameras from their content.

Audio: the onset envelopes of the two soundtracks are cross-correlated (sync clicks, whistles,
crowd). Video, where there is no audio: the per-frame motion energy (mean absolute difference of
consecutive small grey frames), on a log scale with its slow trend removed, is
cross-correlated. The peak is refined to sub-sample precision by parabolic interpolation; its
normalised height is the confidence.

Convention: ``offset_s`` is what to add to a moment's time in ``other`` to get its time in
``reference``. A camera that started recording 2 s after the reference shows a moment 2 s
earlier in its own file, so its offset is +2.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from transcode.errors import FFmpegError, FFmpegTimeout, MediaError
from transcode.ffmpeg import base_args, run_ffmpeg_output

_AUDIO_RATE = 8000
_ENVELOPE_RATE = 1000
_ONSET_SPREAD = np.hanning(7)[1:-1]


@dataclass(frozen=True)
class OffsetEstimate:
    offset_s: float
    confidence: float
    """Normalised correlation at the peak, 0 to 1."""
    method: str
    """``audio`` or ``motion``."""
    drift_ppm: float | None = None


@dataclass(frozen=True)
class Signal:
    values: NDArray[np.float64]
    rate: float
    """Samples per second."""
    start: float = 0.0
    """Where the first sample is on the file's timeline (s): a clip's sound may begin a little
    after its time zero, and its pictures too where a cut could only start at a keyframe."""


def motion_energy(path: Path, *, width: int = 160) -> Signal:
    """Per-frame motion energy of the video at ``path``, at its frame rate."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise MediaError(f"{path.name}: cannot open video")
    rate = capture.get(cv2.CAP_PROP_FPS) or 25.0
    energies: list[float] = []
    previous = None
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            height = max(2, round(frame.shape[0] * width / frame.shape[1]))
            small = cv2.cvtColor(cv2.resize(frame, (width, height)), cv2.COLOR_BGR2GRAY)
            grey = small.astype(np.float32)
            energies.append(0.0 if previous is None else float(np.abs(grey - previous).mean()))
            previous = grey
    finally:
        capture.release()
    if len(energies) < 3:
        raise MediaError(f"{path.name}: too few frames to measure motion")
    values = np.asarray(energies, np.float64)
    values[0] = values[1]
    rate = float(rate)
    return Signal(_high_pass(np.log(values + 0.5), rate), rate, stream_start(path, "video"))


def _high_pass(values: NDArray[np.float64], rate: float) -> NDArray[np.float64]:
    """Remove the slow trend (about a second): different viewpoints see different amounts of
    motion, but the same moments of change."""
    taps = max(5, round(rate * 0.8) | 1)
    trend: NDArray[np.float64] = np.convolve(values, np.ones(taps) / taps, mode="same")
    return values - trend


def audio_envelope_args(path: Path) -> list[str]:
    """ffmpeg arguments writing the first audio track of ``path`` to stdout, mono 8 kHz."""
    args = [*base_args(), "-i", str(path), "-vn", "-map", "0:a:0?", "-ac", "1"]
    return [*args, "-ar", str(_AUDIO_RATE), "-f", "s16le", "-"]


def sync_clip_args(source: Path, start_s: float, duration_s: float, out: Path) -> list[str]:
    """ffmpeg arguments cutting ``duration_s`` from ``start_s`` into ``source`` as a clip to
    measure offsets on: fast H.264 (pictures only need to show motion) and PCM audio."""
    args = [*base_args(), "-ss", f"{max(0.0, start_s):.3f}", "-i", str(source)]
    args += ["-t", f"{duration_s:.3f}", "-c:v", "libx264", "-preset", "ultrafast"]
    return [*args, "-c:a", "pcm_s16le", str(out)]


def stream_start(path: Path, kind: str) -> float:
    """Where the first ``kind`` (``audio`` or ``video``) stream of ``path`` starts on the
    file's timeline (s); 0 when the file does not say."""
    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio if kind == "audio" else container.streams.video
            if not streams or streams[0].start_time is None or streams[0].time_base is None:
                return 0.0
            return float(streams[0].start_time * streams[0].time_base)
    except av.FFmpegError:
        return 0.0


def picture_lead(path: Path) -> float:
    """How long after the start of the file at ``path`` its first picture comes (a transport
    stream cut at a keyframe often starts with a little sound from before it); 0 when unknown."""
    try:
        with av.open(str(path)) as container:
            began = container.start_time
            for packet in container.demux(video=0):
                if packet.pts is None or packet.time_base is None or began is None:
                    continue
                return max(0.0, float(packet.pts * packet.time_base) - began / av.time_base)
    except (av.FFmpegError, IndexError):
        pass
    return 0.0


def audio_envelope(ffmpeg: str, path: Path, *, timeout_s: float = 300.0) -> Signal | None:
    """Onset envelope of the first audio track at 1 kHz; ``None`` when there is no audio."""
    try:
        raw = run_ffmpeg_output(ffmpeg, audio_envelope_args(path), timeout_s=timeout_s)
    except FFmpegTimeout:
        raise
    except FFmpegError as exc:
        if "does not contain any stream" in exc.detail:
            return None
        raise MediaError(f"{path.name}: audio not decodable") from exc
    samples = np.frombuffer(raw, np.int16).astype(np.float64)
    if samples.size < _AUDIO_RATE // 2:
        return None
    step = _AUDIO_RATE // _ENVELOPE_RATE
    usable = samples[: samples.size - samples.size % step].reshape(-1, step)
    envelope = np.abs(usable).max(axis=1)
    onset = np.maximum(np.diff(envelope, prepend=envelope[0]), 0.0)
    # Spread each onset over 5 ms: two recordings of one click rarely land on the same
    # envelope sample, and spikes one sample apart barely correlate (the peak's height is the
    # confidence); the parabola through the smoothed peak still finds it to 0.1 ms.
    onset = np.convolve(onset, _ONSET_SPREAD, mode="same")
    return Signal(onset, float(_ENVELOPE_RATE), stream_start(path, "audio"))


def correlate(
    reference: Signal, other: Signal, *, max_lag_s: float, per_overlap: bool = True
) -> tuple[float, float]:
    """Lag (s) that best aligns ``other`` onto ``reference``, and its normalised correlation.

    ``per_overlap`` scores each lag by its correlation per overlapping sample, which suits
    dense signals (motion); sparse ones (clicks) are scored by their total correlation, so a lag
    that lines up only part of the clicks cannot outscore the one that lines up all of them."""
    if reference.rate != other.rate:
        raise ValueError("signals must share a rate")
    a = _normalise(reference.values)
    b = _normalise(other.values)
    full = np.correlate(a, b, mode="full")
    lags = np.arange(-(b.size - 1), a.size)
    max_lag = int(max_lag_s * reference.rate)
    window = np.abs(lags) <= max_lag
    # Normalise by the overlap so short overlaps at the edges do not win.
    overlap = np.minimum(a.size, lags + b.size) - np.maximum(0, lags)
    enough = overlap >= max(3, min(a.size, b.size) // 2)
    scale = np.maximum(overlap, 1) if per_overlap else min(a.size, b.size)
    score = np.where(window & enough, full / scale, -np.inf)
    best = int(np.argmax(score))
    refined = float(lags[best])
    if 0 < best < score.size - 1 and np.isfinite(score[best - 1]) and np.isfinite(score[best + 1]):
        left, centre, right = score[best - 1], score[best], score[best + 1]
        denominator = left - 2 * centre + right
        if denominator < 0:
            refined += 0.5 * (left - right) / denominator
    confidence = float(np.clip(score[best], 0.0, 1.0))
    return float(refined / reference.rate), confidence


def _normalise(values: NDArray[np.float64]) -> NDArray[np.float64]:
    centred: NDArray[np.float64] = values - values.mean()
    spread = float(centred.std())
    return centred / spread if spread > 0 else centred


def measure_offset(
    ffmpeg: str, reference: Path, other: Path, *, max_lag_s: float = 10.0
) -> OffsetEstimate:
    """Offset of ``other`` against ``reference``: by audio when both have sound, else by motion."""
    ref_audio = audio_envelope(ffmpeg, reference)
    other_audio = audio_envelope(ffmpeg, other) if ref_audio is not None else None
    if ref_audio is not None and other_audio is not None:
        lag, confidence = correlate(ref_audio, other_audio, max_lag_s=max_lag_s, per_overlap=False)
        if confidence >= 0.3:
            return OffsetEstimate(lag + ref_audio.start - other_audio.start, confidence, "audio")
    ref_motion, other_motion = motion_energy(reference), motion_energy(other)
    if abs(ref_motion.rate - other_motion.rate) > 0.01:
        other_motion = _resample(other_motion, ref_motion.rate)
    # Motion signals are short and noisy; a lag over a third of the clip is not trustworthy.
    shorter = min(ref_motion.values.size, other_motion.values.size) / ref_motion.rate
    lag, confidence = correlate(ref_motion, other_motion, max_lag_s=min(max_lag_s, shorter * 0.35))
    return OffsetEstimate(lag + ref_motion.start - other_motion.start, confidence, "motion")


def _resample(signal: Signal, rate: float) -> Signal:
    duration = signal.values.size / signal.rate
    times = np.arange(0, duration, 1 / rate)
    source = np.arange(signal.values.size) / signal.rate
    return Signal(np.interp(times, source, signal.values), rate, signal.start)
