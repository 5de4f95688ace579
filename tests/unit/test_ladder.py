from fractions import Fraction
from pathlib import Path

import pytest

from transcode.ladder import LadderOptions, gop_frames, ladder_args, plan_ladder

HEIGHTS = (1080, 720, 480, 360)


def sizes(rungs):
    return [(r.name, r.width, r.height) for r in rungs]


def test_full_hd_source_gets_every_rung():
    rungs = plan_ladder(1920, 1080, Fraction(25), HEIGHTS)
    assert sizes(rungs) == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]


def test_rungs_above_the_source_are_dropped():
    assert [r.name for r in plan_ladder(1280, 720, Fraction(25), HEIGHTS)] == [
        "720p",
        "480p",
        "360p",
    ]


def test_portrait_source_scales_on_its_short_side():
    rungs = plan_ladder(1080, 1920, Fraction(30), HEIGHTS)
    assert sizes(rungs)[0] == ("1080p", 1080, 1920)
    assert sizes(rungs)[1] == ("720p", 720, 1280)


def test_odd_and_1088_row_sources_give_even_dimensions():
    for width, height in [(1279, 719), (1920, 1088), (853, 481)]:
        for rung in plan_ladder(width, height, Fraction(25), HEIGHTS):
            assert rung.width % 2 == 0 and rung.height % 2 == 0


def test_source_below_every_rung_keeps_its_own_size_never_upscaled():
    assert sizes(plan_ladder(320, 241, Fraction(25), HEIGHTS)) == [("240p", 318, 240)]
    assert sizes(plan_ladder(320, 240, Fraction(25), HEIGHTS)) == [("240p", 320, 240)]


def test_high_frame_rates_get_more_bits():
    at_25 = plan_ladder(1280, 720, Fraction(25), HEIGHTS)[0]
    at_50 = plan_ladder(1280, 720, Fraction(50), HEIGHTS)[0]
    assert at_50.video_kbps == at_25.video_kbps * 3 // 2


@pytest.mark.parametrize(
    ("rate", "frames"),
    [(Fraction(25), 50), (Fraction(50), 100), (Fraction(30000, 1001), 60), (Fraction(24), 48)],
)
def test_gop_is_a_whole_number_of_frames_near_two_seconds(rate, frames):
    assert gop_frames(rate, 2.0) == frames


def test_ladder_args_decode_once_and_align_keyframes():
    rungs = plan_ladder(1920, 1080, Fraction(50), HEIGHTS)
    args = ladder_args(
        Path("in.mp4"), Path("out"), rungs, Fraction(50), has_audio=True, options=LadderOptions()
    )
    assert args.count("-i") == 1
    graph = args[args.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]split=4[s0][s1][s2][s3]")
    assert "scale=1280:720" in graph
    assert args[args.index("-force_key_frames") + 1] == "expr:gte(n,n_forced*100)"
    assert args[args.index("-g") + 1] == "100"
    assert args[args.index("-sc_threshold") + 1] == "0"
    assert args[args.index("-hls_time") + 1] == "2"
    assert args[args.index("-var_stream_map") + 1] == (
        "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p v:3,a:3,name:360p"
    )
    assert args.count("0:a:0") == 4
    assert "-nostdin" in args


def test_ladder_args_without_audio_map_no_audio():
    rungs = plan_ladder(640, 360, Fraction(25), HEIGHTS)
    args = ladder_args(
        Path("in.mp4"), Path("out"), rungs, Fraction(25), has_audio=False, options=LadderOptions()
    )
    assert "0:a:0" not in args
    assert "-c:a" not in args
    assert args[args.index("-var_stream_map") + 1] == "v:0,name:360p"
    graph = args[args.index("-filter_complex") + 1]
    assert "split" not in graph


def test_the_poster_comes_from_the_same_decode():
    rungs = plan_ladder(1280, 720, Fraction(25), HEIGHTS)
    args = ladder_args(
        Path("in.mp4"),
        Path("out"),
        rungs,
        Fraction(25),
        has_audio=True,
        options=LadderOptions(),
        poster=(Path("out/poster.jpg"), 1.5),
    )
    graph = args[args.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]split=4[s0][s1][s2][s3]")
    assert "[s3]trim=start=1.500,scale=-2:360,setsar=1[poster]" in graph
    assert args[args.index("[poster]", args.index("-var_stream_map")) + 1 :][:2] == [
        "-frames:v",
        "1",
    ]
    assert args[-1] == "out/poster.jpg"
