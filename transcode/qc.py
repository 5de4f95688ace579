"""Quality control of a recording: EBU R128 loudness (integrated, range, true peak) and runs of
black, frozen picture and silence, in one decode."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from transcode.ffmpeg import run_ffmpeg_log
from transcode.probe import MediaInfo

BLACK_MIN_S = 0.5
FREEZE_MIN_S = 1.0
SILENCE_MIN_S = 1.0
SILENCE_DB = -50


@dataclass(frozen=True)
class Run:
    start_s: float
    end_s: float


@dataclass(frozen=True)
class QCReport:
    integrated_lufs: float | None = None
    loudness_range_lu: float | None = None
    true_peak_dbtp: float | None = None
    black: list[Run] = field(default_factory=list)
    freeze: list[Run] = field(default_factory=list)
    silence: list[Run] = field(default_factory=list)
    decode_errors: int = 0
    """Damaged packets or pictures the decoders reported (and concealed) over the whole file."""
    decode_error_examples: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``fail`` for damaged media, ``warn`` for black, frozen or silent runs, else ``pass``."""
        if self.decode_errors:
            return "fail"
        if self.black or self.freeze or self.silence:
            return "warn"
        return "pass"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


def qc_args(source: Path, *, has_audio: bool, has_video: bool) -> list[str]:
    """ffmpeg arguments that run every detector once over ``source`` and discard the output."""
    graph, maps = [], []
    if has_audio:
        graph.append(
            "[0:a:0]ebur128=peak=true:framelog=quiet,"
            f"silencedetect=n={SILENCE_DB}dB:d={SILENCE_MIN_S}[aq]"
        )
        maps += ["-map", "[aq]"]
    if has_video:
        graph.append(
            f"[0:v:0]blackdetect=d={BLACK_MIN_S}:pix_th=0.10,"
            f"freezedetect=n=0.003:d={FREEZE_MIN_S}[vq]"
        )
        maps += ["-map", "[vq]"]
    return [
        "-hide_banner", "-nostdin", "-loglevel", "info", "-nostats",
        "-protocol_whitelist", "file,pipe",
        "-i", str(source), "-filter_complex", ";".join(graph), *maps, "-f", "null", "-",
    ]  # fmt: skip


_NUMBER = r"(-?\d+(?:\.\d+)?|-?inf|nan)"


def _value(pattern: str, text: str) -> float | None:
    match = re.search(pattern + r"\s*" + _NUMBER, text)
    if not match or match.group(1) in ("nan", "inf", "-inf"):
        return None
    return float(match.group(1))


def _runs(text: str, start_key: str, end_key: str, duration_s: float) -> list[Run]:
    starts = [float(m) for m in re.findall(start_key + r"\s*" + _NUMBER, text)]
    ends = [float(m) for m in re.findall(end_key + r"\s*" + _NUMBER, text)]
    runs = [Run(round(s, 3), round(e, 3)) for s, e in zip(starts, ends, strict=False)]
    if len(starts) > len(ends):  # still on at the end of the file
        runs.append(Run(round(starts[-1], 3), round(duration_s, 3)))
    return runs


# What ffmpeg logs when a decoder meets damaged data (it conceals it and carries on).
_DECODE_ERRORS = (
    "Error submitting packet to decoder",
    "corrupt decoded frame",
    "error while decoding",
    "concealing",
)


def _decode_errors(log: str) -> list[str]:
    return [
        line.strip()
        for line in log.splitlines()
        if any(marker in line for marker in _DECODE_ERRORS)
    ]


def parse_qc_log(log: str, duration_s: float) -> QCReport:
    """Read the detectors' findings, and the decoders' complaints, out of ffmpeg's log."""
    summary = log[log.rfind("Summary:") :] if "Summary:" in log else ""
    errors = _decode_errors(log)
    return QCReport(
        integrated_lufs=_value(r"\bI:", summary),
        loudness_range_lu=_value(r"\bLRA:", summary),
        true_peak_dbtp=_value(r"\bPeak:", summary),
        black=_runs(log, "black_start:", "black_end:", duration_s),
        freeze=_runs(log, "freeze_start:", "freeze_end:", duration_s),
        silence=_runs(log, "silence_start:", "silence_end:", duration_s),
        decode_errors=len(errors),
        decode_error_examples=[re.sub(r" @ 0x[0-9a-f]+", "", e) for e in errors[:3]],
    )


def run_qc(
    ffmpeg: str, source: Path, info: MediaInfo, *, timeout_s: float | None = None
) -> QCReport:
    """Run QC over ``source`` and return its report."""
    args = qc_args(source, has_audio=info.audio is not None, has_video=info.video is not None)
    return parse_qc_log(run_ffmpeg_log(ffmpeg, args, timeout_s=timeout_s), info.duration_s)
