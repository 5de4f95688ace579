"""Editor proxies: seekable GOP, exact timing, faststart, and the burnt-in name and timecode."""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.probe import probe
from transcode.proxy import (
    ProxyOptions,
    exact_rate,
    make_proxy,
    normalize_timecode,
    proxy_args,
    proxy_size,
)

NTSC = Fraction(30000, 1001)


def lavfi_clip(ffmpeg, out, video, *, audio=None, seconds=2.0):
    """Render lavfi ``video`` (and ``audio``) to a near-lossless H.264 MP4."""
    args = [*base_args(), "-f", "lavfi", "-i", f"{video}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"{audio}:d={seconds}", "-c:a", "aac", "-ac", "2"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"]
    run_ffmpeg(ffmpeg, [*args, str(out)])
    return out


def top_level_boxes(path):
    data = path.read_bytes()
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif size == 0:
            size = len(data) - pos
        boxes.append(data[pos + 4 : pos + 8].decode("latin-1"))
        pos += size
    return boxes


def keyframe_indices(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        return [i for i, p in enumerate(packets) if p.is_keyframe], len(packets)


def luma_frames(path, count):
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="gray").astype(np.int16))
            if len(frames) == count:
                break
        return frames


def regions(height, width):
    """Where the name box, the timecode box and plain picture are in a proxy frame."""
    return {
        "name": (slice(0, height // 10), slice(0, width // 4)),
        "timecode": (slice(height - height // 10, height), slice(width // 3, 2 * width // 3)),
        "middle": (slice(height // 3, 2 * height // 3), slice(width // 3, 2 * width // 3)),
    }


def differs(a, b, where):
    """Mean luma difference in ``where``."""
    return float(np.abs(a[where] - b[where]).mean())


def text_differs(a, b, where):
    """Share of pixels in ``where`` that are white text in one frame and not in the other (immune
    to the coding noise on the grey around the text)."""
    return float(((a[where] > 160) != (b[where] > 160)).mean())


# -- pure parts ------------------------------------------------------------------------------


def test_proxy_size_is_the_short_side_even_and_never_upscaled():
    assert proxy_size(1920, 1080, 360) == (640, 360)
    assert proxy_size(1080, 1920, 360) == (360, 640)
    assert proxy_size(1440, 1080, 360) == (480, 360)
    assert proxy_size(320, 240, 360) == (320, 240)
    for width, height in [(1279, 719), (853, 481), (1920, 1088)]:
        w, h = proxy_size(width, height, 360)
        assert w % 2 == 0 and h % 2 == 0


def test_start_timecode_keeps_drop_frame_only_where_it_exists():
    assert normalize_timecode(None, Fraction(25)) == "00:00:00:00"
    assert normalize_timecode("10:00:00;00", NTSC) == "10:00:00;00"
    assert normalize_timecode("10:00:00.00", Fraction(60000, 1001)) == "10:00:00;00"
    assert normalize_timecode("10:00:00;00", Fraction(25)) == "10:00:00:00"
    assert normalize_timecode("10:00:00:24", Fraction(25)) == "10:00:00:24"


def test_rates_stored_rounded_run_at_their_exact_ntsc_value():
    assert exact_rate(Fraction(2997, 100)) == NTSC
    assert exact_rate(Fraction(5994, 100)) == Fraction(60000, 1001)
    assert exact_rate(Fraction(30)) == 30 and exact_rate(Fraction(25)) == 25


@pytest.mark.parametrize("bad", ["10:00:00", "1:00:00:00", "10:61:00:00", "10:00:00:25", "x"])
def test_malformed_start_timecode_is_refused(bad):
    with pytest.raises(MediaError):
        normalize_timecode(bad, Fraction(25))


def test_proxy_args_seekable_gop_exact_rate_faststart():
    args = proxy_args(
        Path("in.mp4"),
        Path("out.mp4"),
        width=640,
        height=360,
        frame_rate=NTSC,
        camera="cam1",
        timecode="01:00:00;00",
        interlaced=True,
        has_audio=False,
        options=ProxyOptions(gop_frames=12),
    )
    value = {key: args[i + 1] for i, key in enumerate(args[:-1]) if key.startswith("-")}
    assert (value["-g"], value["-keyint_min"], value["-sc_threshold"]) == ("12", "12", "0")
    assert value["-bf"] == "0" and value["-r"] == "30000/1001"
    assert value["-movflags"] == "+faststart" and value["-profile:v"] == "main"
    graph = value["-vf"]
    assert graph.startswith("bwdif=mode=send_frame:parity=auto:deint=all,fps=30000/1001,")
    assert "timecode=01\\\\:00\\\\:00\\;00:rate=30000/1001" in graph
    assert "0:a:0" not in args and "-c:a" not in args


# -- encodes ---------------------------------------------------------------------------------


def test_proxy_keeps_timing_gop_and_puts_the_index_first(ffmpeg, tmp_path):
    source = lavfi_clip(
        ffmpeg,
        tmp_path / "cam.mp4",
        "testsrc2=size=1280x720:rate=25",
        audio="sine=frequency=440:sample_rate=48000",
        seconds=3,
    )
    info = probe(source)
    progress = []
    result = make_proxy(
        ffmpeg,
        source,
        info,
        tmp_path / "proxy.mp4",
        ProxyOptions(),
        camera="cam1",
        on_progress=progress.append,
    )
    assert (result.width, result.height, result.gop_frames) == (640, 360, 10)
    assert result.frame_rate == Fraction(25)
    assert result.duration_s == pytest.approx(info.duration_s, abs=0.05)
    assert progress[-1] == 1.0

    made = probe(result.path)
    assert made.video is not None and made.audio is not None
    assert made.video.frame_rate == info.video.frame_rate
    assert made.video.frames == info.video.frames == 75
    assert (made.audio.codec, made.audio.channels) == ("aac", 2)
    keyframes, count = keyframe_indices(result.path)
    assert count == 75
    assert keyframes == list(range(0, 75, 10))

    boxes = top_level_boxes(result.path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def test_burn_in_shows_the_name_and_a_running_timecode(ffmpeg, tmp_path):
    source = lavfi_clip(ffmpeg, tmp_path / "grey.mp4", "color=c=gray:size=640x360:rate=25")
    clean = tmp_path / "clean.mp4"
    run_ffmpeg(
        ffmpeg,
        [*base_args(), "-i", str(source), "-c:v", "libx264", "-preset", "ultrafast", str(clean)],
    )
    result = make_proxy(
        ffmpeg,
        source,
        probe(source),
        tmp_path / "proxy.mp4",
        ProxyOptions(),
        camera="Cam 1: O'Brien [50%], end; \\ back",
    )
    proxy = luma_frames(result.path, 6)
    plain = luma_frames(clean, 1)[0]
    where = regions(360, 640)
    # The boxes and their text are there, and nowhere else.
    assert differs(proxy[0], plain, where["name"]) > 20
    assert differs(proxy[0], plain, where["timecode"]) > 20
    assert differs(proxy[0], plain, where["middle"]) < 2
    # The timecode runs; the name stays.
    assert text_differs(proxy[0], proxy[5], where["timecode"]) > 0.003
    assert text_differs(proxy[0], proxy[5], where["name"]) < 0.002


def test_drop_frame_timecode_at_29_97_skips_frame_numbers(ffmpeg, tmp_path):
    """At 29.97 drop-frame, the frame after 00:00:59;29 is 00:01:00;02."""
    source = lavfi_clip(
        ffmpeg, tmp_path / "ntsc.mp4", "color=c=gray:size=640x360:rate=30000/1001", seconds=0.5
    )
    info = probe(source)
    assert info.video is not None and info.video.frame_rate == NTSC

    def timecode_strip(start, index, name):
        result = make_proxy(
            ffmpeg,
            source,
            info,
            tmp_path / name,
            # Plenty of bits, so the same text decodes to the same pixels in every file.
            ProxyOptions(gop_frames=8, video_kbps=8000),
            camera="cam1",
            start_timecode=start,
            interlaced=True,
        )
        assert result.frame_rate == NTSC
        frames = luma_frames(result.path, index + 1)
        return frames[index], result

    after_jump, result = timecode_strip("00:00:59;29", 1, "a.mp4")
    expected, _ = timecode_strip("00:01:00;02", 0, "b.mp4")
    wrong, _ = timecode_strip("00:01:00;03", 0, "c.mp4")
    where = regions(360, 640)["timecode"]
    assert text_differs(after_jump, expected, where) < 0.001
    assert text_differs(after_jump, wrong, where) > 0.002

    made = probe(result.path)
    assert made.video is not None and made.video.frame_rate == NTSC
    assert made.video.frames == info.video.frames == 15
    assert keyframe_indices(result.path)[0] == [0, 8]


def test_portrait_source_without_audio(ffmpeg, tmp_path):
    source = lavfi_clip(ffmpeg, tmp_path / "phone.mp4", "testsrc2=size=720x1280:rate=50", seconds=1)
    info = probe(source)
    assert info.audio is None
    result = make_proxy(
        ffmpeg, source, info, tmp_path / "proxy.mp4", ProxyOptions(), camera="phone"
    )
    assert (result.width, result.height) == (360, 640)
    made = probe(result.path)
    assert made.audio is None
    assert made.video is not None and made.video.frame_rate == 50 and made.video.frames == 50


def test_source_without_video_is_refused(ffmpeg, tmp_path):
    audio = tmp_path / "audio.m4a"
    run_ffmpeg(ffmpeg, [*base_args(), "-f", "lavfi", "-i", "sine=d=1", str(audio)])
    with pytest.raises(MediaError):
        make_proxy(ffmpeg, audio, probe(audio), tmp_path / "p.mp4", ProxyOptions(), camera="x")
