from pathlib import Path

import pytest

from ingest.media.segmenter import (
    ClosedSegment,
    PullOptions,
    needs_mezzanine,
    parse_segment_list,
    protocol_of,
    puller_args,
)


@pytest.mark.parametrize(
    ("url", "protocol"),
    [
        ("srt://10.0.0.5:9000?mode=caller", "srt"),
        ("srt://0.0.0.0:9000?mode=listener", "srt"),
        ("rtmp://cam/live/1", "rtmp"),
        ("rtsp://cam:554/stream", "rtsp"),
        ("https://origin/cam1/index.m3u8", "hls"),
        ("/media/cam1.mp4", "file"),
    ],
)
def test_protocols(url, protocol):
    assert protocol_of(url) == protocol


def test_unknown_protocols_are_refused():
    with pytest.raises(ValueError, match="unsupported source"):
        protocol_of("ftp://cam/file.ts")


def test_copy_puller_cuts_gop_aligned_segments_and_lists_them():
    args = puller_args("srt://10.0.0.5:9000", Path("/spool/s1"), PullOptions())
    assert args[args.index("-protocol_whitelist") + 1] == "srt,udp"
    assert "srt://10.0.0.5:9000?timeout=5000000" in args
    assert args[args.index("-c") + 1] == "copy"
    assert args[args.index("-segment_time") + 1] == "2"
    assert args[args.index("-segment_list") + 1] == "/spool/s1/segments.csv"
    assert args[args.index("-segment_list_type") + 1] == "csv"
    assert "mpegts_flags=+initial_discontinuity" in args
    assert args[-1] == "/spool/s1/%06d.ts"


def test_hls_starts_at_the_live_edge_and_rtsp_over_tcp():
    hls = puller_args("https://o/cam.m3u8", Path("/s"), PullOptions())
    assert hls[hls.index("-live_start_index") + 1] == "-1"
    assert "crypto" in hls[hls.index("-protocol_whitelist") + 1]
    rtsp = puller_args("rtsp://cam/stream", Path("/s"), PullOptions())
    assert rtsp[rtsp.index("-rtsp_transport") + 1] == "tcp"


def test_mezzanine_reencodes_with_forced_keyframes():
    args = puller_args("rtmp://cam/live", Path("/s"), PullOptions(mezzanine=True))
    assert "copy" not in args
    assert args[args.index("-force_key_frames") + 1] == "expr:gte(t,n_forced*2)"


def test_segment_list_parsing_skips_garbage():
    text = "000000.ts,0.000000,2.000000\nbroken line\n000001.ts,2.0,4.02\n000002.ts,x,y\n"
    assert parse_segment_list(text) == [
        ClosedSegment("000000.ts", 0.0, 2.0),
        ClosedSegment("000001.ts", 2.0, 4.02),
    ]
    assert ClosedSegment("a", 2.0, 4.02).duration_s == 2.02


def test_long_gops_call_for_a_mezzanine():
    short = [ClosedSegment(f"{i}.ts", 2.0 * i, 2.0 * i + 2) for i in range(3)]
    long = [ClosedSegment(f"{i}.ts", 10.0 * i, 10.0 * i + 10) for i in range(3)]
    assert not needs_mezzanine(short, 2.0)
    assert needs_mezzanine(long, 2.0)
    assert not needs_mezzanine(long[:1], 2.0)  # one segment is not enough to judge
