"""XDCAM HD422 mezzanine: formats, the MPEG-2 and MXF properties read back, eight mono tracks."""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.frame import PictureType

from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.mezzanine import XdcamFormat, make_xdcam_hd422, xdcam_format, xdcam_hd422_args
from transcode.probe import probe
from transcode.synthetic import SyntheticCamera, render_camera

FIELD_ORDER_PROGRESSIVE, FIELD_ORDER_TOP_FIRST = 1, 2  # AVFieldOrder
GOP_START = b"\x00\x00\x01\xb8"
X264 = ("-c:v", "libx264", "-preset", "ultrafast")


def encode(ffmpeg, *args):
    run_ffmpeg(ffmpeg, [*base_args(), *args])


def option(args, key):
    return args[args.index(key) + 1]


def closed_gop_flags(packets):
    """closed_gop of every MPEG-2 GOP header: 25 bits of time code, then the flag."""
    flags = []
    for data in packets:
        at = data.find(GOP_START)
        if at >= 0:
            word = int.from_bytes(data[at + 4 : at + 8], "big")
            flags.append(bool(word >> 6 & 1))
    return flags


def read_back(path):
    """What PyAV sees in an MXF file: format, video, field order, GOPs and audio."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        ctx = video.codec_context
        seen = {
            "format": container.format.name,
            "codec": ctx.name,
            "profile": ctx.profile,
            "pix_fmt": ctx.pix_fmt,
            "size": (ctx.width, ctx.height),
            "rate": Fraction(video.average_rate),
            "field_order": int(ctx.field_order),
            "timecode": container.metadata.get("timecode"),
            "audio": [
                (s.codec_context.name, s.codec_context.channels, s.sample_rate)
                for s in container.streams.audio
            ],
        }
        packets = [bytes(p) for p in container.demux(video) if p.size]
        seen["frames"] = len(packets)
        seen["mbps"] = sum(len(p) for p in packets) * 8 / (len(packets) / seen["rate"]) / 1e6
        seen["closed_gops"] = closed_gop_flags(packets)
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
        seen["interlaced_frames"] = {f.interlaced_frame for f in frames}
        seen["keyframes"] = [i for i, f in enumerate(frames) if f.key_frame]
        seen["b_frames"] = sum(1 for f in frames if f.pict_type == PictureType.B)
    return seen


def audio_rms(path):
    """RMS and length of each audio track, in stream order."""
    result = []
    with av.open(str(path)) as container:
        count = len(container.streams.audio)
    for index in range(count):
        with av.open(str(path)) as container:
            stream = container.streams.audio[index]
            samples = np.concatenate([f.to_ndarray().ravel() for f in container.decode(stream)])
        scaled = samples.astype(np.float64) / 2**31
        result.append((float(np.sqrt(np.mean(scaled**2))), len(samples)))
    return result


# -- pure parts ------------------------------------------------------------------------------


def test_formats_per_rate():
    assert xdcam_format(Fraction(25), interlaced=True) == XdcamFormat(1920, 1080, 25, True)
    assert xdcam_format(Fraction(25), interlaced=False) == XdcamFormat(1920, 1080, 25, False)
    ntsc = xdcam_format(Fraction(30000, 1001), interlaced=True)
    assert ntsc == XdcamFormat(1920, 1080, Fraction(30000, 1001), True)
    # 50 and 59.94 are progressive frame rates: 720p, whatever the caller says.
    assert xdcam_format(Fraction(50), interlaced=True) == XdcamFormat(1280, 720, 50, False)
    high = xdcam_format(Fraction(60000, 1001), interlaced=False)
    assert high == XdcamFormat(1280, 720, Fraction(60000, 1001), False)
    # A rate probed a hair off its nominal value still counts.
    assert xdcam_format(Fraction(2997, 100), interlaced=True).frame_rate == Fraction(30000, 1001)


@pytest.mark.parametrize("rate", [Fraction(24), Fraction(24000, 1001), Fraction(30), Fraction(60)])
def test_other_rates_are_refused_naming_the_supported_ones(rate):
    with pytest.raises(MediaError, match=r"25, 29\.97, 50 or 59\.94"):
        xdcam_format(rate, interlaced=False)


def test_args_interlaced_cbr_long_gop():
    fmt = XdcamFormat(1920, 1080, Fraction(25), True)
    args = xdcam_hd422_args(
        Path("in.mp4"), Path("out.mxf"), fmt, audio_channels=(2,), duration_s=2, timecode=None
    )
    assert option(args, "-c:v") == "mpeg2video" and option(args, "-pix_fmt") == "yuv422p"
    assert [option(args, k) for k in ("-b:v", "-minrate", "-maxrate")] == ["50000k"] * 3
    assert option(args, "-bufsize") == option(args, "-rc_init_occupancy") == "36408333"
    assert (option(args, "-g"), option(args, "-bf")) == ("12", "2")
    assert option(args, "-flags") == "+cgop+ildct+ilme"
    assert option(args, "-intra_vlc") == option(args, "-non_linear_quant") == "1"
    assert option(args, "-f") == "mxf" and option(args, "-c:a") == "pcm_s24le"
    graph = option(args, "-filter_complex")
    assert "interl=1" in graph and "setfield=tff" in graph
    assert graph.count("pan=mono") == 2 and "anullsrc" in graph and "asplit=6" in graph
    assert "atrim=end_sample=96000" in graph
    assert args.count("-map") == 9


def test_args_progressive_and_without_audio():
    fmt = XdcamFormat(1280, 720, Fraction(50), False)
    args = xdcam_hd422_args(
        Path("in.mp4"),
        Path("out.mxf"),
        fmt,
        audio_channels=(),
        duration_s=2,
        timecode="10:00:00:00",
    )
    assert option(args, "-flags") == "+cgop"
    graph = option(args, "-filter_complex")
    assert "setfield=prog" in graph and "interl=1" not in graph and "anullsrc" not in graph
    assert "-c:a" not in args and args.count("-map") == 1
    assert option(args, "-timecode") == "10:00:00:00"


def test_mono_streams_fill_tracks_in_order_up_to_eight():
    fmt = XdcamFormat(1920, 1080, Fraction(25), False)
    args = xdcam_hd422_args(
        Path("in.mxf"), Path("out.mxf"), fmt, audio_channels=(1,) * 10, duration_s=1, timecode=None
    )
    graph = option(args, "-filter_complex")
    assert "[0:a:7]" in graph and "[0:a:8]" not in graph and "anullsrc" not in graph
    assert args.count("-map") == 9


# -- encodes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hd_camera(ffmpeg, tmp_path_factory):
    """2 s of 1080p25 with stereo audio and a 10:00:00:00 timecode."""
    camera = SyntheticCamera(
        name="cam1", index=0, duration_s=2, width=1920, height=1080, preset="ultrafast"
    )
    return render_camera(ffmpeg, camera, tmp_path_factory.mktemp("mezz") / "cam1.mp4")


def test_1080p25_source_as_1080i25(ffmpeg, hd_camera, tmp_path):
    info = probe(hd_camera)
    result = make_xdcam_hd422(ffmpeg, hd_camera, info, tmp_path / "cam1.mxf", interlaced=True)
    assert (result.width, result.height, result.frame_rate) == (1920, 1080, 25)
    assert result.interlaced and result.audio_tracks == 8
    assert result.video_kbps == pytest.approx(50_000, rel=0.03)

    seen = read_back(result.path)
    assert seen["format"] == "mxf"
    assert (seen["codec"], seen["profile"], seen["pix_fmt"]) == ("mpeg2video", "4:2:2", "yuv422p")
    assert (seen["size"], seen["rate"], seen["frames"]) == ((1920, 1080), 25, 50)
    assert seen["field_order"] == FIELD_ORDER_TOP_FIRST
    assert seen["interlaced_frames"] == {True}
    assert seen["keyframes"] == [0, 12, 24, 36, 48]
    assert seen["b_frames"] > 0
    assert seen["closed_gops"] == [True] * 5
    assert seen["mbps"] == pytest.approx(50, rel=0.03)
    assert seen["timecode"] == "10:00:00:00"
    assert seen["audio"] == [("pcm_s24le", 1, 48000)] * 8
    levels = audio_rms(result.path)
    assert all(length == 96000 for _, length in levels)
    # The synthetic camera records one channel: track 1 carries it, the other seven are silent.
    assert info.audio is not None and info.audio.channels == 1
    assert levels[0][0] > 0.01
    assert all(rms == 0 for rms, _ in levels[1:])


def test_1080p25_source_stays_progressive(ffmpeg, tmp_path):
    source = tmp_path / "p25.mp4"
    encode(ffmpeg, "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25:d=1", *X264, str(source))
    result = make_xdcam_hd422(ffmpeg, source, probe(source), tmp_path / "p.mxf", interlaced=False)
    assert not result.interlaced and result.audio_tracks == 0
    seen = read_back(result.path)
    assert (seen["size"], seen["rate"], seen["frames"]) == ((1920, 1080), 25, 25)
    assert seen["field_order"] == FIELD_ORDER_PROGRESSIVE
    assert seen["interlaced_frames"] == {False}
    assert seen["audio"] == []


def test_six_channel_50p_source_gives_720p50_and_eight_mono_tracks(ffmpeg, tmp_path):
    """Each channel at its own level, so the test sees that channel n lands on track n; the
    audio stops half a second before the picture and is padded to its end."""
    source = tmp_path / "surround.mov"
    channels = "|".join(f"{(n + 1) / 10}*sin(2*PI*440*t)" for n in range(6))
    encode(
        ffmpeg,
        *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=50:d=2"),
        *("-f", "lavfi", "-i", f"aevalsrc={channels}:s=48000:d=1.5:c=5.1"),
        *X264,
        *("-c:a", "pcm_s16le", str(source)),
    )
    info = probe(source)
    assert info.audio is not None and info.audio.channels == 6
    result = make_xdcam_hd422(ffmpeg, source, info, tmp_path / "s.mxf", interlaced=True)
    assert (result.width, result.height, result.frame_rate) == (1280, 720, 50)
    assert not result.interlaced and result.audio_tracks == 8
    seen = read_back(result.path)
    assert (seen["size"], seen["rate"], seen["frames"]) == ((1280, 720), 50, 100)
    assert seen["field_order"] == FIELD_ORDER_PROGRESSIVE
    assert seen["audio"] == [("pcm_s24le", 1, 48000)] * 8
    levels = audio_rms(result.path)
    assert all(length == 96000 for _, length in levels)
    # A sine of amplitude a has an RMS of a / sqrt(2); three quarters of the track is signal.
    for n, (rms, _) in enumerate(levels[:6]):
        assert rms == pytest.approx((n + 1) / 10 / np.sqrt(2) * np.sqrt(0.75), rel=0.02)
    assert levels[6][0] == levels[7][0] == 0


def test_unsupported_rate_is_refused_before_ffmpeg_runs(ffmpeg, tmp_path):
    source = tmp_path / "film.mp4"
    encode(ffmpeg, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24:d=0.5", *X264, str(source))
    out = tmp_path / "film.mxf"
    # No ffmpeg at this path: getting that far would raise something else.
    missing = str(tmp_path / "no-ffmpeg")
    with pytest.raises(MediaError, match=r"film\.mp4: .*25, 29\.97, 50 or 59\.94"):
        make_xdcam_hd422(missing, source, probe(source), out, interlaced=False)
    assert not out.exists()
