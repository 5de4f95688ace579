import re
import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import av
import pytest

from tests.conformance import check_master_playlist, check_media_playlist, check_mpd
from tests.transcode.test_cmaf import CLIP_S, FPS, VIDEO, encode_ladder
from transcode.cmaf import SegmentInfo, TrackInit, read_init, read_segment
from transcode.errors import MediaError
from transcode.manifests import Track, dash_mpd, hls_iframe_playlist, hls_master, hls_media_playlist

NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}
NTSC = Fraction(30000, 1001)


def video_init(width: int, height: int, codec: str = "avc1.64001f") -> TrackInit:
    return TrackInit(
        kind="video",
        codec=codec,
        timescale=30000,
        width=width,
        height=height,
        channels=None,
        sample_rate=None,
        track_id=1,
        default_sample_duration=0,
        default_sample_size=0,
        default_sample_flags=0,
    )


AUDIO_INIT = TrackInit(
    kind="audio",
    codec="mp4a.40.2",
    timescale=48000,
    width=None,
    height=None,
    channels=2,
    sample_rate=48000,
    track_id=1,
    default_sample_duration=0,
    default_sample_size=0,
    default_sample_flags=0,
)


def track(
    name: str, init: TrackInit, durations: list[int], sizes: list[int], start: int = 0
) -> Track:
    segments = []
    decode_time = start
    for number, (duration, size) in enumerate(zip(durations, sizes, strict=True)):
        info = SegmentInfo(
            decode_time=decode_time,
            duration=duration,
            samples=60,
            size=size,
            keyframe_bytes=(76, size // 10),
            starts_with_keyframe=True,
        )
        segments.append((f"seg_{number:05d}.m4s", info))
        decode_time += duration
    return Track(name=name, init_uri="init.mp4", init=init, segments=segments)


# 29.97 fps: two 2.002 s GOPs of 60 frames and a 1.001 s tail of 30.
NTSC_TICKS = [60060, 60060, 30030]
HIGH = track(
    "720p", video_init(1280, 720, "avc1.64001f"), NTSC_TICKS, [500_500, 1_001_000, 200_200]
)
LOW = track("360p", video_init(640, 360, "avc1.64001e"), NTSC_TICKS, [100_100, 150_150, 50_050])
AUDIO = track("audio", AUDIO_INIT, [96256, 96256, 48256], [32_000, 32_000, 16_000])
RATES = {"720p": NTSC, "360p": NTSC}


def attributes(line: str) -> dict[str, str]:
    """An HLS attribute list, quotes removed (so commas inside CODECS stay)."""
    _, _, rest = line.partition(":")
    return {
        key: value.strip('"') for key, value in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', rest)
    }


def tagged(text: str, tag: str) -> list[tuple[dict[str, str], str]]:
    """Every ``tag`` line's attributes with the line after it."""
    lines = text.splitlines()
    return [
        (attributes(line), lines[i + 1] if i + 1 < len(lines) else "")
        for i, line in enumerate(lines)
        if line.startswith(tag + ":")
    ]


# -- bandwidth -----------------------------------------------------------------------------------


def test_bandwidth_is_bits_per_second_of_the_segments():
    # 1_001_000 bytes in 2.002 s is the densest segment: 4 Mb/s.
    assert HIGH.peak_bandwidth == 4_000_000
    assert HIGH.average_bandwidth == (500_500 + 1_001_000 + 200_200) * 8 * 30000 // 150150
    assert HIGH.duration == Fraction(150150, 30000)
    assert HIGH.iframe_peak_bandwidth == 400_000


# -- HLS -----------------------------------------------------------------------------------------


def test_media_playlist_is_a_vod_playlist_with_exact_durations():
    assert hls_media_playlist(HIGH) == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:7\n"
        "#EXT-X-TARGETDURATION:3\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-MAP:URI="init.mp4"\n'
        "#EXTINF:2.002000,\n"
        "seg_00000.m4s\n"
        "#EXTINF:2.002000,\n"
        "seg_00001.m4s\n"
        "#EXTINF:1.001000,\n"
        "seg_00002.m4s\n"
        "#EXT-X-ENDLIST\n"
    )


def test_audio_durations_are_not_rounded_to_the_nominal_two_seconds():
    text = hls_media_playlist(AUDIO)
    assert text.count("#EXTINF:2.005333,") == 2
    assert "#EXTINF:1.005333," in text
    assert "#EXT-X-TARGETDURATION:3" in text


def test_iframe_playlist_points_at_the_keyframe_of_each_segment():
    text = hls_iframe_playlist(LOW)
    lines = text.splitlines()
    assert "#EXT-X-I-FRAMES-ONLY" in lines and '#EXT-X-MAP:URI="init.mp4"' in lines
    assert lines[-1] == "#EXT-X-ENDLIST"
    entries = [i for i, line in enumerate(lines) if line.startswith("#EXT-X-BYTERANGE")]
    assert [lines[i] for i in entries] == [
        "#EXT-X-BYTERANGE:10010@76",
        "#EXT-X-BYTERANGE:15015@76",
        "#EXT-X-BYTERANGE:5005@76",
    ]
    assert [lines[i - 1] for i in entries] == ["#EXTINF:2.002000,"] * 2 + ["#EXTINF:1.001000,"]
    assert [lines[i + 1] for i in entries] == [f"seg_{n:05d}.m4s" for n in range(3)]


def test_iframe_playlist_refuses_segments_without_a_keyframe_and_audio():
    uri, first = LOW.segments[0]
    open_gop = SegmentInfo(**{**first.__dict__, "starts_with_keyframe": False})
    broken = Track(LOW.name, LOW.init_uri, LOW.init, [(uri, open_gop), *LOW.segments[1:]])
    with pytest.raises(MediaError, match="keyframe"):
        hls_iframe_playlist(broken)
    adaptation = ET.fromstring(dash_mpd([broken], None, RATES)).find(".//d:AdaptationSet", NS)
    assert adaptation is not None and "startWithSAP" not in adaptation.attrib
    with pytest.raises(ValueError, match="audio"):
        hls_iframe_playlist(AUDIO)


def test_master_lists_renditions_highest_first_with_their_audio():
    text = hls_master([LOW, HIGH], AUDIO, RATES)
    assert text.startswith("#EXTM3U\n#EXT-X-VERSION:7\n")
    (media, _), *_ = tagged(text, "#EXT-X-MEDIA")
    assert media == {
        "TYPE": "AUDIO",
        "GROUP-ID": "audio",
        "NAME": "audio",
        "DEFAULT": "YES",
        "AUTOSELECT": "YES",
        "CHANNELS": "2",
        "URI": "audio/index.m3u8",
    }
    streams = tagged(text, "#EXT-X-STREAM-INF")
    assert [uri for _, uri in streams] == ["720p/index.m3u8", "360p/index.m3u8"]
    top, _ = streams[0]
    assert top == {
        "BANDWIDTH": str(HIGH.peak_bandwidth + AUDIO.peak_bandwidth),
        "AVERAGE-BANDWIDTH": str(HIGH.average_bandwidth + AUDIO.average_bandwidth),
        "CODECS": "avc1.64001f,mp4a.40.2",
        "RESOLUTION": "1280x720",
        "FRAME-RATE": "29.970",
        "AUDIO": "audio",
    }
    iframes = [attrs for attrs, _ in tagged(text, "#EXT-X-I-FRAME-STREAM-INF")]
    assert [attrs["URI"] for attrs in iframes] == ["720p/iframes.m3u8", "360p/iframes.m3u8"]
    assert iframes[1]["BANDWIDTH"] == str(LOW.iframe_peak_bandwidth)
    assert (iframes[1]["CODECS"], iframes[1]["RESOLUTION"]) == ("avc1.64001e", "640x360")


def test_master_without_audio_has_no_audio_group():
    text = hls_master([HIGH], None, {"720p": Fraction(50)})
    (attrs, _), *_ = tagged(text, "#EXT-X-STREAM-INF")
    assert "AUDIO" not in attrs and "#EXT-X-MEDIA:" not in text
    assert (attrs["CODECS"], attrs["FRAME-RATE"]) == ("avc1.64001f", "50.000")


def test_audio_only_ladder_streams_the_audio_rendition():
    text = hls_master([], AUDIO, {})
    streams = tagged(text, "#EXT-X-STREAM-INF")
    assert streams == [
        (
            {
                "BANDWIDTH": str(AUDIO.peak_bandwidth),
                "AVERAGE-BANDWIDTH": str(AUDIO.average_bandwidth),
                "CODECS": "mp4a.40.2",
            },
            "audio/index.m3u8",
        )
    ]
    assert "#EXT-X-I-FRAME-STREAM-INF" not in text


def test_master_needs_every_frame_rate_and_the_right_kinds():
    with pytest.raises(ValueError, match="360p"):
        hls_master([HIGH, LOW], AUDIO, {"720p": NTSC})
    with pytest.raises(ValueError, match="not audio"):
        hls_master([HIGH], LOW, RATES)
    with pytest.raises(ValueError, match="at least one"):
        hls_master([], None, {})


def test_uris_that_would_break_a_playlist_are_refused():
    with pytest.raises(ValueError, match="playlist"):
        Track('a"b', "init.mp4", AUDIO_INIT, AUDIO.segments)
    with pytest.raises(ValueError, match="no segments"):
        Track("audio", "init.mp4", AUDIO_INIT, [])


# -- DASH ----------------------------------------------------------------------------------------


def timeline_ticks(template: ET.Element) -> list[tuple[int, int]]:
    """``(start, duration)`` of every segment a SegmentTimeline describes."""
    segments: list[tuple[int, int]] = []
    for entry in template.iterfind("d:SegmentTimeline/d:S", NS):
        start = int(entry.get("t", segments[-1][0] + segments[-1][1] if segments else 0))
        for _ in range(int(entry.get("r", "0")) + 1):
            segments.append((start, int(entry.attrib["d"])))
            start += int(entry.attrib["d"])
    return segments


def test_mpd_describes_both_adaptation_sets():
    root = ET.fromstring(dash_mpd([LOW, HIGH], AUDIO, RATES))
    assert root.tag == "{urn:mpeg:dash:schema:mpd:2011}MPD"
    assert root.get("type") == "static"
    assert root.get("profiles") == "urn:mpeg:dash:profile:isoff-live:2011"
    assert (
        root.get("mediaPresentationDuration") == "PT5.016S"
    )  # the audio, 240768 ticks, is the longest
    video, audio = root.findall("d:Period/d:AdaptationSet", NS)
    assert (video.get("mimeType"), video.get("segmentAlignment")) == ("video/mp4", "true")
    assert video.get("startWithSAP") == "1"
    high = video.find("d:Representation", NS)
    assert high is not None
    assert high.attrib == {
        "id": "720p",
        "bandwidth": str(HIGH.peak_bandwidth),
        "codecs": "avc1.64001f",
        "width": "1280",
        "height": "720",
        "frameRate": "30000/1001",
    }
    template = high.find("d:SegmentTemplate", NS)
    assert template is not None
    assert template.get("media") == "720p/seg_$Number%05d$.m4s"
    assert template.get("initialization") == "720p/init.mp4"
    assert (template.get("startNumber"), template.get("timescale")) == ("0", "30000")
    entries = [entry.attrib for entry in template.iterfind("d:SegmentTimeline/d:S", NS)]
    assert entries == [{"t": "0", "d": "60060", "r": "1"}, {"d": "30030"}]
    assert audio.get("mimeType") == "audio/mp4"
    sound = audio.find("d:Representation", NS)
    assert sound is not None and sound.get("audioSamplingRate") == "48000"
    channels = sound.find("d:AudioChannelConfiguration", NS)
    assert channels is not None and channels.get("value") == "2"


def test_timeline_keeps_gaps_and_a_late_start():
    late = track("360p", video_init(640, 360), [60060, 60060], [1000, 1000], start=900_000)
    _, second = late.segments[1]
    gap = SegmentInfo(**{**second.__dict__, "decode_time": second.decode_time + 3003})
    late = Track(late.name, late.init_uri, late.init, [late.segments[0], ("seg_00001.m4s", gap)])
    root = ET.fromstring(dash_mpd([late], None, {"360p": Fraction(25)}))
    template = root.find(".//d:SegmentTemplate", NS)
    assert template is not None
    assert template.get("presentationTimeOffset") == "900000"
    assert timeline_ticks(template) == [(900_000, 60060), (963_063, 60060)]
    representation = root.find(".//d:Representation", NS)
    assert representation is not None and representation.get("frameRate") == "25"


@pytest.mark.parametrize(
    ("names", "media", "start"),
    [
        (["seg_00007.m4s", "seg_00008.m4s"], "v/seg_$Number%05d$.m4s", "7"),
        (["part9.mp4", "part10.mp4"], "v/part$Number$.mp4", "9"),
        (["c$1.m4s", "c$2.m4s"], "v/c$$$Number$.m4s", "1"),
    ],
)
def test_segment_names_become_a_number_template(names, media, start):
    info = AUDIO.segments[0][1]
    audio = Track("v", "init.mp4", AUDIO_INIT, [(name, info) for name in names])
    template = ET.fromstring(dash_mpd([], audio, {})).find(".//d:SegmentTemplate", NS)
    assert template is not None
    assert (template.get("media"), template.get("startNumber")) == (media, start)


@pytest.mark.parametrize(
    "names", [["seg_1.m4s", "seg_3.m4s"], ["a_1.m4s", "b_2.m4s"], ["seg_09.m4s", "seg_010.m4s"]]
)
def test_segment_names_that_no_template_matches_are_refused(names):
    info = AUDIO.segments[0][1]
    audio = Track("v", "init.mp4", AUDIO_INIT, [(name, info) for name in names])
    with pytest.raises(ValueError, match="segment"):
        dash_mpd([], audio, {})


def test_long_durations_read_in_hours_and_minutes():
    long = track("audio", AUDIO_INIT, [48000 * 3723 + 24000], [1000])
    root = ET.fromstring(dash_mpd([], long, {}))
    assert root.get("mediaPresentationDuration") == "PT1H2M3.5S"


# -- a real ladder -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test ladder with the playlists and the MPD written next to its renditions."""
    folder = encode_ladder(ffmpeg, tmp_path_factory.mktemp("manifests") / "ladder")
    tracks = {}
    for name in (*VIDEO, "audio"):
        init = read_init(folder / name / "init.mp4")
        paths = sorted((folder / name).glob("seg_*.m4s"))
        segments = [(path.name, read_segment(path, init)) for path in paths]
        tracks[name] = Track(name, "init.mp4", init, segments)
        (folder / name / "index.m3u8").write_text(hls_media_playlist(tracks[name]))
    videos = [tracks[name] for name in VIDEO]
    for video in videos:
        (folder / video.name / "iframes.m3u8").write_text(hls_iframe_playlist(video))
    rates = {name: Fraction(FPS) for name in VIDEO}
    (folder / "main.m3u8").write_text(hls_master(videos, tracks["audio"], rates))
    (folder / "main.mpd").write_text(dash_mpd(videos, tracks["audio"], rates))
    return folder


def test_hls_ladder_plays_every_frame(published):
    with av.open(str(published / "main.m3u8")) as container:
        assert len(container.streams.audio) == 1
        video = max(container.streams.video, key=lambda stream: stream.codec_context.width)
        assert video.codec_context.width == 640
        frames = sum(1 for _ in container.decode(video))
    assert frames == CLIP_S * FPS


def test_mpd_timeline_adds_up_to_each_rendition(published):
    root = ET.fromstring((published / "main.mpd").read_text())
    for representation in root.iterfind(".//d:Representation", NS):
        template = representation.find("d:SegmentTemplate", NS)
        assert template is not None
        segments = timeline_ticks(template)
        folder = published / str(representation.get("id"))
        assert len(segments) == len(list(folder.glob("seg_*.m4s")))
        seconds = Fraction(sum(d for _, d in segments), int(template.attrib["timescale"]))
        if representation.get("id") in VIDEO:
            assert seconds == CLIP_S
        else:
            assert CLIP_S <= seconds <= CLIP_S + Fraction(1024, 48000)


FIRST_VIDEO_FRAMES = ["-map", "0:v:0", "-f", "framecrc", "-"]


def test_mpd_plays_every_frame_in_ffmpeg(ffmpeg, published):
    demuxers = subprocess.run([ffmpeg, "-hide_banner", "-demuxers"], capture_output=True, text=True)
    if not re.search(r"^\s*D\S*\s+dash\s", demuxers.stdout, re.MULTILINE):
        pytest.skip("this ffmpeg has no DASH demuxer (built without libxml2)")
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-i", "main.mpd", *FIRST_VIDEO_FRAMES],
        cwd=published,
        capture_output=True,
        text=True,
        check=True,
    )
    frames = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert len(frames) == CLIP_S * FPS


def test_every_playlist_and_the_mpd_read_back_to_the_letter(published):
    # Read back by parsers that are not Vantage's own, against RFC 8216 and ISO/IEC 23009-1.
    master = check_master_playlist((published / "main.m3u8").read_text())
    assert len(master.playlists) == len(VIDEO) and len(master.iframe_playlists) == len(VIDEO)
    for name in (*VIDEO, "audio"):
        media = check_media_playlist((published / name / "index.m3u8").read_text())
        assert media.is_endlist and media.playlist_type == "vod"
        assert sum(s.duration for s in media.segments) >= CLIP_S
    for name in VIDEO:
        iframes = check_media_playlist((published / name / "iframes.m3u8").read_text())
        assert iframes.is_i_frames_only and all(s.byterange for s in iframes.segments)
    mpd = check_mpd((published / "main.mpd").read_text())
    assert len(mpd.periods[0].adaptation_sets) == 2
