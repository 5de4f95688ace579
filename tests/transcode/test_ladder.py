"""Ladder planning and the ffmpeg arguments, as lists (no ffmpeg needed)."""

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from transcode.errors import MediaError
from transcode.ladder import (
    AudioPlan,
    LadderPlan,
    cmaf_args,
    gop_frames,
    plan_from_profile,
    plan_ladder,
    ts_args,
)
from transcode.probe import AudioStream, MediaInfo, VideoStream
from transcode.profiles import load_profile

HEIGHTS = (1080, 720, 480, 360)


def sizes(rungs):
    return [(r.name, r.width, r.height) for r in rungs]


def info(width=1920, height=1080, rate=Fraction(25), *, audio=2, video=True, interlaced=False):
    return MediaInfo(
        path=Path("in.mp4"),
        container="mov,mp4",
        size_bytes=1,
        duration_s=10.0,
        video=VideoStream("h264", width, height, rate, "yuv420p", 0, None, interlaced)
        if video
        else None,
        audio=AudioStream("aac", audio, 48000) if audio else None,
        timecode=None,
        creation_time=None,
    )


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


def test_the_profile_decides_codecs_bitrates_and_gop():
    plan = plan_from_profile(info(rate=Fraction(60000, 1001)), load_profile("efficient"))
    assert [(r.name, r.codec) for r in plan.rungs] == [
        ("1080p", "hevc"),
        ("720p", "hevc"),
        ("360p", "h264"),
    ]
    assert plan.rungs[0].video_kbps == 4500  # 3000 at 59.94 fps: half as much again
    assert plan.frame_rate == Fraction(60000, 1001)  # kept exact, never 59.94 as a float
    assert plan.gop == 120
    assert plan.segment_s == Fraction(120 * 1001, 60000)


def test_audio_only_sources_get_an_audio_only_ladder_and_nothing_at_all_is_refused():
    plan = plan_from_profile(info(video=False), load_profile("broadcast"))
    assert plan.rungs == () and plan.audio is not None
    args = cmaf_args(Path("in.m4a"), Path("out"), plan)
    assert "-filter_complex" not in args and args[args.index("-var_stream_map") + 1] == (
        "a:0,name:audio"
    )
    with pytest.raises(MediaError, match="no video or audio"):
        plan_from_profile(info(video=False, audio=0), load_profile("broadcast"))


def test_six_channels_are_mixed_down_to_the_profiles_stereo():
    plan = plan_from_profile(info(audio=6), load_profile("broadcast"))
    assert plan.audio == AudioPlan(kbps=128, channels=2, filters=None)
    args = cmaf_args(Path("in.mp4"), Path("out"), plan)
    assert args[args.index("-ac:a:0") + 1] == "2"


def test_cmaf_args_decode_once_align_keyframes_and_encode_audio_once():
    plan = plan_from_profile(info(rate=Fraction(50)), load_profile("broadcast"))
    args = cmaf_args(Path("in.mp4"), Path("out"), plan, poster=(Path("out/poster.jpg"), 1.5))
    assert args.count("-i") == 1
    graph = args[args.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]split=5[s0][s1][s2][s3][s4]")
    assert "[s4]trim=start=1.500,scale=-2:360,setsar=1[poster]" in graph
    for i in range(4):
        assert args[args.index(f"-force_key_frames:v:{i}") + 1] == "expr:gte(n,n_forced*100)"
        assert args[args.index(f"-g:v:{i}") + 1] == "100"
        assert args[args.index(f"-sc_threshold:v:{i}") + 1] == "0"
    assert args.count("0:a:0") == 1  # one audio encode shared by every rung
    assert args[args.index("-hls_segment_type") + 1] == "fmp4"
    assert args[args.index("-var_stream_map") + 1] == (
        "v:0,name:1080p v:1,name:720p v:2,name:480p v:3,name:360p a:0,name:audio"
    )
    assert args[args.index("-r") + 1] == "50"
    assert "-nostdin" in args


def test_interlaced_sources_are_deinterlaced_before_scaling():
    plan = plan_from_profile(info(interlaced=True), load_profile("broadcast"))
    graph = cmaf_args(Path("in.mp4"), Path("out"), plan)
    assert (
        "[0:v:0]bwdif=mode=send_frame:deint=all,split=4"
        in graph[graph.index("-filter_complex") + 1]
    )


def test_loudness_normalisation_goes_into_the_audio_chain():
    plan = plan_from_profile(info(), load_profile("broadcast"), loudness_filter="loudnorm=I=-23")
    args = cmaf_args(Path("in.mp4"), Path("out"), plan)
    assert "[0:a:0]loudnorm=I=-23,aresample=48000[aout]" in args[args.index("-filter_complex") + 1]
    assert "[aout]" in args


def test_hevc_and_av1_rungs_get_their_own_encoders_and_keyframe_rules():
    plan = plan_from_profile(info(), load_profile("efficient"))
    args = cmaf_args(Path("in.mp4"), Path("out"), plan)
    assert args[args.index("-c:v:0") + 1] == "libx265"
    assert args[args.index("-tag:v:0") + 1] == "hvc1"
    assert "keyint=50:min-keyint=50:scenecut=0" in args[args.index("-x265-params:v:0") + 1]
    assert args[args.index("-c:v:2") + 1] == "libx264"
    av1 = plan_from_profile(info(), load_profile("archive-av1"))
    args = cmaf_args(Path("in.mp4"), Path("out"), av1)
    assert args[args.index("-c:v:0") + 1] == "libsvtav1"
    assert args[args.index("-preset:v:0") + 1] == "10"


def test_a_chunk_seeks_to_its_first_frame_and_writes_exactly_its_frames():
    plan = plan_from_profile(info(), load_profile("broadcast"))
    plan = replace(plan, video_start_s=0.02)
    args = cmaf_args(Path("in.mp4"), Path("out"), plan, audio=False, frames=(100, 200))
    seek = float(args[args.index("-ss") + 1])
    assert 4.02 - 0.002 < seek < 4.02  # just before frame 100, on the video's own timeline
    assert args[args.index("-frames:v:0") + 1] == "100"
    assert args[args.index("-start_number") + 1] == "2"  # frame 100 / 50 frames per segment
    assert "0:a:0" not in args
    with pytest.raises(ValueError, match="GOP boundary"):
        cmaf_args(Path("in.mp4"), Path("out"), plan, frames=(75, 200))


def test_legacy_ts_ladder_muxes_audio_into_every_rung():
    plan = plan_from_profile(info(), load_profile("legacy-ts"))
    assert plan.segments == "ts"
    args = ts_args(Path("in.mp4"), Path("out"), plan)
    assert args[args.index("-hls_segment_type") + 1] == "mpegts"
    assert args.count("0:a:0") == 4
    assert args[args.index("-var_stream_map") + 1].startswith("v:0,a:0,name:1080p")


def test_plan_dataclass_round_trips_for_chunk_tasks():
    from workers.ladder.chunked import plan_from_dict, plan_to_dict

    plan = plan_from_profile(info(rate=Fraction(30000, 1001)), load_profile("efficient"))
    assert plan_from_dict(plan_to_dict(plan)) == plan
    assert isinstance(plan, LadderPlan)
