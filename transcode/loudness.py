"""Loudness normalisation to a target (EBU R128 -23 LUFS, ATSC A/85 -24 LKFS) in two passes:
measure the whole programme first, then correct it linearly in the encode, so the mix keeps its
dynamics instead of being pumped by a running compressor."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from transcode.errors import MediaError
from transcode.ffmpeg import base_args, pin_input, run_ffmpeg_log


@dataclass(frozen=True)
class LoudnessMeasurement:
    integrated_lufs: float
    true_peak_dbtp: float
    range_lu: float
    threshold_lufs: float
    offset_lu: float


@dataclass(frozen=True)
class LoudnessTarget:
    integrated_lufs: float
    true_peak_dbtp: float
    range_lu: float = 20.0


def measure_args(source: Path | str, target: LoudnessTarget) -> list[str]:
    """ffmpeg arguments for the first pass: audio only, loudnorm's measurement as JSON."""
    return [
        *base_args(),
        "-loglevel",
        "info",
        "-i",
        str(source),
        "-map",
        "0:a:0",
        "-vn",
        "-af",
        f"loudnorm=I={target.integrated_lufs}:TP={target.true_peak_dbtp}"
        f":LRA={target.range_lu}:print_format=json",
        "-f",
        "null",
        "-",
    ]


def parse_measurement(log: str) -> LoudnessMeasurement:
    """Read loudnorm's JSON summary (the last ``{...}`` block of the log)."""
    end = log.rfind("}")
    start = log.rfind("{", 0, end)
    if start < 0 or end < 0:
        raise MediaError("loudness measurement printed no summary")
    try:
        data = json.loads(log[start : end + 1])
        values = LoudnessMeasurement(
            integrated_lufs=float(data["input_i"]),
            true_peak_dbtp=float(data["input_tp"]),
            range_lu=float(data["input_lra"]),
            threshold_lufs=float(data["input_thresh"]),
            offset_lu=float(data["target_offset"]),
        )
    except (ValueError, KeyError) as exc:
        raise MediaError(f"loudness measurement unreadable: {exc}") from exc
    if not math.isfinite(values.integrated_lufs):
        raise MediaError("the audio is silent: there is no loudness to normalise")
    return values


def measure_loudness(
    ffmpeg: str,
    source: Path | str,
    target: LoudnessTarget,
    *,
    timeout_s: float | None = None,
    protocols: str = "file,pipe",
    demuxer: str | None = None,
) -> LoudnessMeasurement:
    """First pass over the source's first audio stream (a path, or a URL with ``protocols``,
    read with ``demuxer`` when given)."""
    args = pin_input(measure_args(source, target), demuxer, protocols)
    return parse_measurement(run_ffmpeg_log(ffmpeg, args, timeout_s=timeout_s))


def normalise_filter(measured: LoudnessMeasurement, target: LoudnessTarget) -> str:
    """The second pass's filter: loudnorm fed the first pass's figures, in linear mode (one gain
    for the whole programme whenever the true-peak limit allows it)."""
    return (
        f"loudnorm=I={target.integrated_lufs}:TP={target.true_peak_dbtp}:LRA={target.range_lu}"
        f":measured_I={measured.integrated_lufs}:measured_TP={measured.true_peak_dbtp}"
        f":measured_LRA={measured.range_lu}:measured_thresh={measured.threshold_lufs}"
        f":offset={measured.offset_lu}:linear=true"
    )
