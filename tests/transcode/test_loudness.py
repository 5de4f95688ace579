"""Loudness normalisation: the first pass's figures, and a ladder that lands on its target."""

import pytest

from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.ladder import plan_from_profile, transcode_ladder
from transcode.loudness import (
    LoudnessTarget,
    measure_loudness,
    normalise_filter,
    parse_measurement,
)
from transcode.packaging import describe_track
from transcode.probe import probe
from transcode.profiles import load_profile
from transcode.qc import run_qc

SUMMARY = """[Parsed_loudnorm_0 @ 0x1]
{
	"input_i" : "-47.85",
	"input_tp" : "-44.06",
	"input_lra" : "0.00",
	"input_thresh" : "-57.85",
	"output_i" : "-22.95",
	"output_tp" : "-19.23",
	"output_lra" : "0.00",
	"output_thresh" : "-32.95",
	"normalization_type" : "dynamic",
	"target_offset" : "-0.05"
}
"""


def test_the_first_pass_summary_is_read():
    measured = parse_measurement(SUMMARY)
    assert (measured.integrated_lufs, measured.true_peak_dbtp, measured.offset_lu) == (
        -47.85,
        -44.06,
        -0.05,
    )
    chain = normalise_filter(measured, LoudnessTarget(-23, -1))
    assert "measured_I=-47.85" in chain and "linear=true" in chain and "I=-23" in chain


def test_silence_has_no_loudness_to_normalise():
    with pytest.raises(MediaError, match="silent"):
        parse_measurement(SUMMARY.replace('"-47.85"', '"-inf"'))
    with pytest.raises(MediaError, match="no summary"):
        parse_measurement("nothing here")


def test_a_quiet_programme_comes_out_at_the_target(ffmpeg, tmp_path):
    source = tmp_path / "quiet.mp4"
    run_ffmpeg(
        ffmpeg,
        [*base_args(), "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6",
         "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:duration=6,volume=0.02",
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(source)],
    )  # fmt: skip
    info = probe(source)
    target = LoudnessTarget(-23.0, -1.0)
    measured = measure_loudness(ffmpeg, source, target)
    assert measured.integrated_lufs < -35
    plan = plan_from_profile(
        info, load_profile("broadcast"), loudness_filter=normalise_filter(measured, target)
    )
    result = transcode_ladder(ffmpeg, source, info, tmp_path / "out", plan)
    assert result.audio is not None
    joined = tmp_path / "audio.mp4"
    joined.write_bytes(
        result.audio.init.read_bytes() + b"".join(p.read_bytes() for p in result.audio.segments)
    )
    assert describe_track(result.audio).init.sample_rate == 48000
    report = run_qc(ffmpeg, joined, probe(joined))
    assert report.integrated_lufs == pytest.approx(-23.0, abs=1.0)
    assert report.true_peak_dbtp is not None and report.true_peak_dbtp <= -0.5
