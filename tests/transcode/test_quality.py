"""VMAF: the log parser on a literal sample, and scores that rank real renditions."""

import json
from fractions import Fraction
from pathlib import Path

import pytest

from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.quality import VmafScore, parse_vmaf_log, vmaf, vmaf_args, vmaf_model

# The shape libvmaf 3 writes with log_fmt=json, cut down to five frames and two features.
SAMPLE_LOG = """
{
  "version": "3.0.0",
  "fps": 48.21,
  "frames": [
    {"frameNum": 0, "metrics": {"integer_adm2": 0.98, "vmaf": 90.0}},
    {"frameNum": 1, "metrics": {"integer_adm2": 0.97, "vmaf": 80.0}},
    {"frameNum": 2, "metrics": {"integer_adm2": 0.99, "vmaf": 95.0}},
    {"frameNum": 3, "metrics": {"integer_adm2": 0.96, "vmaf": 60.0}},
    {"frameNum": 4, "metrics": {"integer_adm2": 0.99, "vmaf": 100.0}}
  ],
  "pooled_metrics": {
    "integer_adm2": {"min": 0.96, "max": 0.99, "mean": 0.978, "harmonic_mean": 0.977},
    "vmaf": {"min": 60.0, "max": 100.0, "mean": 85.0, "harmonic_mean": 82.5}
  },
  "aggregate_metrics": {}
}
"""


def test_parse_vmaf_log_reads_pooled_scores_and_the_5th_percentile():
    score = parse_vmaf_log(SAMPLE_LOG)
    # Sorted: 60, 80, 90, 95, 100; the 5th percentile sits a fifth of the way from 60 to 80.
    assert score == VmafScore(mean=85.0, harmonic_mean=82.5, min=60.0, p5=64.0, frames=5)


def test_parse_vmaf_log_without_pooled_metrics_computes_them():
    log = json.loads(SAMPLE_LOG)
    del log["pooled_metrics"]
    score = parse_vmaf_log(json.dumps(log))
    assert score.mean == pytest.approx(85.0)
    assert score.min == 60.0 and score.p5 == pytest.approx(64.0) and score.frames == 5
    expected = 5 / sum(1 / (s + 1) for s in (90, 80, 95, 60, 100)) - 1
    assert score.harmonic_mean == pytest.approx(expected)


@pytest.mark.parametrize("text", ['{"frames": []}', "not json", '{"version": "3.0.0"}'])
def test_parse_vmaf_log_without_scores_is_refused(text):
    with pytest.raises(MediaError):
        parse_vmaf_log(text)


def test_vmaf_args_scale_both_to_the_reference_and_sync_their_start():
    args = vmaf_args(
        Path("ref.mp4"),
        Path("rung.mp4"),
        width=1920,
        height=1080,
        frame_rate=Fraction(30000, 1001),
        n_subsample=2,
        threads=4,
    )
    # libvmaf takes the distorted picture first and the reference second.
    assert args[args.index("-i") + 1] == "rung.mp4"
    assert args[-5:] == ["-map", "[out]", "-f", "null", "-"]
    graph = args[args.index("-filter_complex") + 1]
    assert graph.count("setpts=PTS-STARTPTS") == 2
    assert graph.count("scale=1920:1080:flags=bicubic") == 2
    assert graph.count("fps=30000/1001") == 2
    assert "model=version=vmaf_v0.6.1:log_fmt=json:log_path=vmaf.json" in graph
    assert ":n_threads=4:n_subsample=2" in graph
    assert vmaf_model(2160) == "vmaf_4k_v0.6.1" and vmaf_model(1080) == "vmaf_v0.6.1"


@pytest.fixture(scope="module")
def clips(ffmpeg, tmp_path_factory):
    """A near-lossless 640x360 source and two rungs of it: a good 640x360 and a starved 320x180."""
    folder = tmp_path_factory.mktemp("vmaf")
    source = folder / "source.mp4"
    lavfi = ("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:d=2")
    lossless = ("-c:v", "libx264", "-preset", "ultrafast", "-qp", "0")
    run_ffmpeg(ffmpeg, [*base_args(), *lavfi, *lossless, str(source)])
    rungs = {}
    for name, size, kbps in [("good", "640x360", 2000), ("starved", "320x180", 40)]:
        rungs[name] = folder / f"{name}.mp4"
        encoder = ("-c:v", "libx264", "-preset", "veryfast", "-b:v", f"{kbps}k")
        run_ffmpeg(
            ffmpeg, [*base_args(), "-i", str(source), "-s", size, *encoder, str(rungs[name])]
        )
    return source, rungs


def score(ffmpeg, source, rung, **options):
    return vmaf(ffmpeg, source, rung, width=640, height=360, frame_rate=Fraction(25), **options)


def test_identical_input_scores_near_the_top(ffmpeg, clips):
    source, _ = clips
    result = score(ffmpeg, source, source)
    assert result.mean > 95 and result.p5 > 95
    assert result.frames == 50


def test_a_good_rung_scores_well_above_a_starved_one(ffmpeg, clips):
    source, rungs = clips
    good = score(ffmpeg, source, rungs["good"])
    starved = score(ffmpeg, source, rungs["starved"], n_subsample=5, threads=1)
    assert good.mean > 80
    assert starved.mean < good.mean - 20
    assert starved.min <= starved.p5 <= starved.mean
    assert (good.frames, starved.frames) == (50, 10)
