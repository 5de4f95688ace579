"""The ffmpeg capabilities doctor checks, read from real ffmpeg listings."""

from __future__ import annotations

import pytest

from transcode.capabilities import CAPABILITIES, Features, ffmpeg_features, parse_names
from transcode.errors import FFmpegError


def test_the_locked_ffmpeg_has_everything_profiles_and_jobs_use(ffmpeg):
    features = ffmpeg_features(ffmpeg)
    assert features.missing() == ()
    # The lists were really read, not just found empty of what was asked.
    assert len(features.names["encoder"]) > 50
    assert {"xstack", "drawtext", "scale"} <= features.names["filter"]
    assert {"mp4", "mxf", "hls"} <= features.names["muxer"]
    assert {"file", "srt", "https"} <= features.names["protocol"]


def test_a_build_without_some_features_names_what_breaks(ffmpeg):
    full = ffmpeg_features(ffmpeg)
    names = dict(full.names)
    names["encoder"] = names["encoder"] - {"libsvtav1"}
    names["filter"] = names["filter"] - {"drawtext", "minterpolate"}
    missing = {c.name: c.needed_by for c in Features(ffmpeg, names).missing()}
    assert set(missing) == {"libsvtav1", "drawtext", "minterpolate"}
    assert "archive-av1" in missing["libsvtav1"]
    assert "proxies" in missing["drawtext"]
    assert "slow motion" in missing["minterpolate"]


def test_listing_parsers_skip_the_legend():
    encoders = """Encoders:
 V..... = Video
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC (codec h264)
 A....D aac                  AAC (Advanced Audio Coding)
"""
    assert parse_names("encoder", encoders) == {"libx264", "aac"}
    protocols = "Supported file protocols:\nInput:\n  file\n  srt\nOutput:\n  file\n  rtmp\n"
    assert parse_names("protocol", protocols) == {"file", "srt", "rtmp"}


def test_every_capability_says_what_needs_it():
    assert all(
        c.needed_by and c.kind in {"encoder", "filter", "muxer", "protocol"} for c in CAPABILITIES
    )


def test_a_binary_that_does_not_run_is_an_ffmpeg_error(tmp_path):
    with pytest.raises(FFmpegError):
        ffmpeg_features(str(tmp_path / "no-ffmpeg"))
