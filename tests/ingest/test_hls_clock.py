"""Program-date-time arithmetic, on playlists and on MPEG-TS bytes ffmpeg really writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.media.hls_clock import (
    anchor_wall,
    first_timestamps,
    first_variant,
    input_start,
    parse_date_time,
    program_date_times,
)
from transcode.ffmpeg import base_args, run_ffmpeg

BASE = "https://cdn.example.com/live/cam1/index.m3u8"
T0 = datetime(2026, 8, 9, 19, 30, 14, 120_000, tzinfo=UTC).timestamp()


def test_a_tag_dates_its_segment_and_durations_date_the_next_ones():
    playlist = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n"
        "#EXTINF:2.000,\nseg_7.ts\n"  # before any tag: undated
        "#EXT-X-PROGRAM-DATE-TIME:2026-08-09T19:30:14.120Z\n#EXTINF:2.000,\nseg_8.ts\n"
        "#EXTINF:1.960,\nseg_9.ts\n#EXTINF:2.000,\n/other/seg_10.ts\n"
    )
    stamps = program_date_times(playlist, BASE)
    assert [s.url for s in stamps] == [
        "https://cdn.example.com/live/cam1/seg_8.ts",
        "https://cdn.example.com/live/cam1/seg_9.ts",
        "https://cdn.example.com/other/seg_10.ts",
    ]
    assert [round(s.wall - T0, 3) for s in stamps] == [0.0, 2.0, 3.96]


def test_a_discontinuity_needs_a_tag_of_its_own():
    playlist = (
        "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-08-09T19:30:14.120Z\n#EXTINF:2,\na.ts\n"
        "#EXT-X-DISCONTINUITY\n#EXTINF:2,\nb.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-08-09T21:00:00+02:00\n#EXTINF:2,\nc.ts\n"
    )
    stamps = {s.url.rsplit("/", 1)[1]: s.wall for s in program_date_times(playlist, BASE)}
    assert set(stamps) == {"a.ts", "c.ts"}
    assert stamps["c.ts"] == datetime(2026, 8, 9, 19, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("text", ["2026-08-09T19:30:14", "yesterday", "2026-13-01T00:00:00Z"])
def test_a_date_time_without_a_zone_or_unreadable_dates_nothing(text):
    assert parse_date_time(text) is None


def test_the_first_variant_of_a_master_is_the_one_read():
    master = (
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=5000000\nhi/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=800000\nlo/index.m3u8\n"
    )
    assert first_variant(master, BASE) == "https://cdn.example.com/live/cam1/hi/index.m3u8"
    assert first_variant("#EXTM3U\n#EXTINF:2,\na.ts\n", BASE) is None


def test_timestamps_are_read_from_the_bytes_ffmpeg_writes(ffmpeg, tmp_path):
    out = tmp_path / "seg.ts"
    run_ffmpeg(
        ffmpeg,
        [
            *base_args(), "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
            "-output_ts_offset", "1000", "-f", "mpegts", str(out),
        ],
        timeout_s=60,
    )  # fmt: skip
    found = first_timestamps(out.read_bytes()[:65536])
    assert found.video_s is not None and found.audio_s is not None
    assert 1000 < found.audio_s <= found.video_s < 1002
    assert first_timestamps(b"\x00" * 4000) == first_timestamps(b"")  # nothing there


def test_the_input_start_comes_from_ffmpegs_log():
    log = (
        "[info] Input #0, hls, from 'http://127.0.0.1/x.m3u8':\n"
        "[info]   Duration: N/A, start: 1001.376778, bitrate: N/A\n"
    )
    assert input_start(log) == 1001.376778
    assert input_start("[error] Connection refused") is None


def test_the_anchor_follows_the_formula_across_a_timestamp_wrap():
    # The segment's first frame (video PTS 1001.4) was captured at T0; the input starts at
    # 1001.376778 (its audio): output time zero is 23.2 ms before that frame.
    assert anchor_wall(T0, 1001.4, 1001.376778) == pytest.approx(T0 - 0.023222)
    wrap = 2**33 / 90_000
    assert anchor_wall(T0, 0.5, wrap - 0.5) == pytest.approx(T0 - 1.0)
