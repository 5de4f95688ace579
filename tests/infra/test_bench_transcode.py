"""The pure parts of the transcode benchmarks: argument parsing, ratios, result shaping and the
settings a benchmark's worker is started with (no stack, no ffmpeg)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest

from infra.core.errors import BadRequest
from infra.core.settings import BrokerSettings, LiveSettings, MediaSettings, Settings
from infra.ops.bench.figures import (
    compare_frames,
    media_playlist_uris,
    parse_counts,
    parse_size,
    quality_row,
    ratio,
    scaling,
)
from infra.ops.bench.media import join_segments
from infra.ops.bench.workers import private_settings, settings_env
from transcode.cmaf import SegmentInfo, TrackInit
from transcode.errors import MediaError
from transcode.ladder import Rung
from transcode.manifests import Track
from transcode.quality import VmafScore


def test_worker_counts_are_sorted_unique_and_always_include_one():
    assert parse_counts("1,2,4") == [1, 2, 4]
    assert parse_counts(" 4, 2 ,2") == [1, 2, 4]
    assert parse_counts("8") == [1, 8]
    assert parse_counts("1,") == [1]


@pytest.mark.parametrize("text", ["0", "1,x", "-2", "2.5", "65"])
def test_bad_worker_counts_are_refused(text):
    with pytest.raises(BadRequest, match="worker counts"):
        parse_counts(text)


def test_sizes_are_parsed_and_must_be_even():
    assert parse_size("1280x720") == (1280, 720)
    assert parse_size(" 1920X1080 ") == (1920, 1080)
    for bad in ("1280", "1281x720", "x720", "32x32", "1280x720x3"):
        with pytest.raises(BadRequest):
            parse_size(bad)


def test_ratio_rounds_and_refuses_a_zero_denominator():
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 3.0, 2) == 0.33
    assert ratio(1.0, 0.0) is None


def test_scaling_measures_every_speedup_against_one_worker_and_the_single_process():
    rows = scaling({1: 60.0, 2: 40.0, 4: 20.0}, {1: 6, 2: 6, 4: 6}, single_s=50.0)
    assert rows == [
        {
            "workers": 1,
            "wall_s": 60.0,
            "speedup_vs_1_worker": 1.0,
            "speedup_vs_single_process": 0.833,
            "parallel_efficiency": 1.0,
            "chunks": 6,
        },
        {
            "workers": 2,
            "wall_s": 40.0,
            "speedup_vs_1_worker": 1.5,
            "speedup_vs_single_process": 1.25,
            "parallel_efficiency": 0.75,
            "chunks": 6,
        },
        {
            "workers": 4,
            "wall_s": 20.0,
            "speedup_vs_1_worker": 3.0,
            "speedup_vs_single_process": 2.5,
            "parallel_efficiency": 0.75,
            "chunks": 6,
        },
    ]


def test_scaling_needs_the_one_worker_reference():
    with pytest.raises(ValueError, match="one-worker"):
        scaling({2: 10.0}, {2: 3}, single_s=12.0)


def times(count, start=0, rate=50):
    return [Fraction(start + i, rate) for i in range(count)]


def test_identical_timelines_are_reported_as_identical():
    result = compare_frames(times(100), times(100))
    assert result["identical_frames_and_timestamps"] is True
    assert result["frames"] == {"stitched": 100, "single_process": 100}
    assert result["stitched_frame_steps_s"] == [0.02]
    assert "first_difference" not in result


def test_a_shifted_frame_is_found():
    stitched = times(100)
    stitched[50] += Fraction(1, 100)
    result = compare_frames(stitched, times(100))
    assert result["identical_frames_and_timestamps"] is False
    assert result["first_difference"] == {
        "frame": 50,
        "stitched_s": 1.01,
        "single_process_s": 1.0,
    }
    assert result["stitched_frame_steps_s"] == [0.01, 0.02, 0.03]


def test_a_missing_frame_at_the_end_is_a_difference():
    result = compare_frames(times(99), times(100))
    assert result["identical_frames_and_timestamps"] is False
    assert result["first_difference"] == {
        "frame": 99,
        "stitched_s": None,
        "single_process_s": 1.98,
    }


PLAYLIST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.000000,
seg_00000.m4s
#EXTINF:1.000000,
seg_00001.m4s
#EXT-X-ENDLIST
"""


def test_a_media_playlist_names_its_init_and_segments_in_order():
    assert media_playlist_uris(PLAYLIST) == ("init.mp4", ["seg_00000.m4s", "seg_00001.m4s"])


def test_a_playlist_without_an_init_segment_is_refused():
    with pytest.raises(MediaError, match="no init segment"):
        media_playlist_uris("#EXTM3U\n#EXTINF:2,\nseg.ts\n")


def test_segments_are_joined_in_order(tmp_path: Path):
    out = join_segments([b"init", b"-one", b"-two"], tmp_path / "joined.mp4")
    assert out.read_bytes() == b"init-one-two"


def embedded() -> Settings:
    return Settings(
        _env_file=None,
        home=Path("/srv/vantage"),
        broker=BrokerSettings(url="redis://:secret@10.0.0.5:6390/0"),
        media=MediaSettings(chunk_seconds=20.0, profiles_dir=Path("/srv/profiles")),
        live=LiveSettings(variants=[720, 480, 360]),
    )


def test_private_settings_move_the_broker_and_results_to_another_database():
    base = embedded()
    private = private_settings(base, db=14, chunk_seconds=8.0)
    assert private.broker.url == "redis://:secret@10.0.0.5:6390/14"
    assert private.broker.result_backend == private.broker.url
    assert private.broker.visibility_timeout_s == base.broker.visibility_timeout_s
    assert private.media.chunk_seconds == 8.0
    assert private.media.profiles_dir == base.media.profiles_dir
    assert (private.storage, private.database_url) == (base.storage, base.database_url)
    assert base.broker.url.endswith("/0") and base.media.chunk_seconds == 20.0  # untouched


def test_private_settings_refuse_a_broker_they_cannot_share():
    base = embedded()
    with pytest.raises(BadRequest, match="already uses Redis database 0"):
        private_settings(base, db=0, chunk_seconds=8.0)
    with pytest.raises(BadRequest, match="longer than 1 s"):
        private_settings(base, db=14, chunk_seconds=1.0)
    rabbit = base.model_copy(update={"broker": BrokerSettings(url="amqp://guest@rabbit//")})
    with pytest.raises(BadRequest, match="needs a Redis broker"):
        private_settings(rabbit, db=14, chunk_seconds=8.0)


def test_a_child_started_with_settings_env_reads_the_same_settings(monkeypatch):
    config = private_settings(embedded(), db=13, chunk_seconds=7.5)
    env = settings_env(config, {"PATH": "/usr/bin", "VANTAGE_BROKER__URL": "redis://elsewhere/0"})
    assert env["PATH"] == "/usr/bin"
    assert env["VANTAGE_BROKER__URL"] == "redis://:secret@10.0.0.5:6390/13"
    assert env["VANTAGE_MEDIA__CHUNK_SECONDS"] == "7.5"
    assert "VANTAGE_MEDIA__FFMPEG" not in env  # None is left to the default
    for name in [n for n in os.environ if n.upper().startswith("VANTAGE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("VANTAGE_"):
            monkeypatch.setenv(name, value)
    assert Settings(_env_file=None) == config


def segment(size: int, duration: int = 2 * 90000) -> SegmentInfo:
    return SegmentInfo(
        decode_time=0,
        duration=duration,
        samples=100,
        size=size,
        keyframe_bytes=(0, 1000),
        starts_with_keyframe=True,
    )


def test_a_quality_row_has_the_rung_its_measured_bits_and_its_vmaf():
    init = TrackInit(
        kind="video",
        codec="avc1.64001f",
        timescale=90000,
        width=1280,
        height=720,
        channels=None,
        sample_rate=None,
        track_id=1,
        default_sample_duration=0,
        default_sample_size=0,
        default_sample_flags=0,
    )
    track = Track(
        "720p",
        "init.mp4",
        init,
        [("seg_00000.m4s", segment(1_000_000)), ("seg_00001.m4s", segment(500_000))],
    )
    score = VmafScore(mean=93.456789, harmonic_mean=93.1, min=88.0, p5=90.25, frames=250)
    row = quality_row(Rung("720p", 1280, 720, 4500, 128), track, score)
    assert row == {
        "name": "720p",
        "size": "1280x720",
        "codec": "h264",
        "codecs": "avc1.64001f",
        "target_kbps": 4500,
        "average_bandwidth_bps": 3_000_000,  # 1.5 MB over 4 s
        "peak_bandwidth_bps": 4_000_000,  # 1 MB over 2 s
        "vmaf": {"mean": 93.457, "harmonic_mean": 93.1, "min": 88.0, "p5": 90.25},
        "frames": 250,
    }
