"""Angle cuts: the exact frames asked for, whole GOPs copied untouched, clean joins, clear errors.

Every source frame carries its number in a machine-readable strip (transcode.framecode), so each
test reads the numbers off the decoded clip and compares them with the frames the request names.
"""

import http.server
import re
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from transcode import framecode
from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg, run_ffmpeg_log
from transcode.replay.cut import (
    CutRequest,
    Piece,
    VideoSpec,
    choose_frames,
    cut_angle,
    encode_args,
    naive_cut,
    parameter_sets,
    reorder_depth,
    snap_frame_rate,
    to_annexb,
    with_parameter_sets,
)

NTSC = Fraction(30000, 1001)
CLOCK = 100.0
"""Where the recordings start on the event clock."""
GOP = 25
CAMERA = 5


def render_numbered(ffmpeg, out, *, frames, rate=Fraction(25), gop=GOP, size=(320, 180), extra=()):
    """An H.264 + AAC file whose frame ``n`` shows ``n`` in its frame code, with moving texture
    (so B-frames have work to do), a keyframe every ``gop`` frames and a sine tone."""
    width, height = size
    raw = out.with_suffix(".gray")
    yy, xx = np.mgrid[0:height, 0:width]
    with raw.open("wb") as stream:
        for n in range(frames):
            image = ((xx * 3 + yy * 2 + n * 4) % 256).astype(np.uint8)
            framecode.draw(image, n, CAMERA)
            stream.write(image.tobytes())
    seconds = float(frames / rate)
    args = [*base_args(), "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}"]
    args += ["-framerate", str(rate), "-i", str(raw), "-f", "lavfi"]
    args += ["-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-bf", "3"]
    args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
    args += ["-c:a", "aac", "-b:a", "64k", *extra, str(out)]
    run_ffmpeg(ffmpeg, args)
    raw.unlink()
    return out


def remux(ffmpeg, source, out, *before, after=()):
    run_ffmpeg(ffmpeg, [*base_args(), *before, "-i", str(source), "-c", "copy", *after, str(out)])
    return out


@pytest.fixture(scope="module")
def media(ffmpeg, tmp_path_factory):
    """One 8 s 25 fps recording as an MP4 and as 2 s MPEG-TS segments, plus awkward variants."""
    folder = tmp_path_factory.mktemp("replay-cut")
    mp4 = render_numbered(ffmpeg, folder / "cam.mp4", frames=200)
    remux(ffmpeg, mp4, folder / "seg%03d.ts", after=["-f", "segment", "-segment_time", "2"])
    segments = sorted(folder.glob("seg*.ts"))
    assert len(segments) == 4
    return {
        "mp4": mp4,
        "segments": segments,
        # The container starts before the video (AAC priming) and nowhere near 0.
        "offset": remux(ffmpeg, mp4, folder / "offset.mp4", after=["-output_ts_offset", "10"]),
        # Cut by stream copy mid-GOP: an edit list hides frames 0-12 of the first GOP.
        "edit_list": remux(ffmpeg, mp4, folder / "edit.mp4", "-ss", "0.5"),
        # One long MPEG-TS file: no index, so seeks search by timestamps and may land off.
        "ts": remux(ffmpeg, mp4, folder / "cam.ts"),
    }


@pytest.fixture(scope="module")
def ntsc_clip(ffmpeg, tmp_path_factory):
    folder = tmp_path_factory.mktemp("replay-cut-ntsc")
    return render_numbered(ffmpeg, folder / "ntsc.mp4", frames=90, rate=NTSC, gop=30)


def mp4_pieces(media, key="mp4"):
    return [Piece(str(media[key]), CLOCK, 8.0)]


def ts_pieces(media):
    return [Piece(str(p), CLOCK + 2.0 * i, 2.0) for i, p in enumerate(media["segments"])]


def request(first, end, rate=Fraction(25)):
    """The request for source frames ``first`` up to (not including) ``end``."""
    return CutRequest(CLOCK + float(first / rate), CLOCK + float(end / rate))


def read_clip(path):
    """Decode the whole clip: every frame's code, pts (seconds) and picture, and the audio."""
    codes, times, pictures = [], [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        for frame in container.decode(stream):
            assert not frame.is_corrupt
            picture = frame.to_ndarray(format="gray")
            code = framecode.read(picture)
            codes.append(None if code is None else code.frame)
            times.append(frame.pts * frame.time_base)
            pictures.append(picture)
    with av.open(str(path)) as container:
        audio = None
        if container.streams.audio:
            assert container.streams.audio[0].codec_context.name == "aac"
            audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    return codes, times, pictures, audio


def assert_unbroken_tone(audio, seconds):
    """The sine runs the clip's length with no dropout (a join that lost audio goes silent)."""
    assert len(audio) / 48000 == pytest.approx(seconds, abs=0.03)
    window = 480  # 10 ms
    levels = [np.sqrt(np.mean(audio[i : i + window] ** 2)) for i in range(0, len(audio), window)]
    inner = levels[2:-3]  # the encoder's first and last few milliseconds ramp
    assert min(inner) > 0.5 * np.median(levels), np.argmin(inner)


def assert_decodes_cleanly(ffmpeg, path):
    """ffmpeg decodes every packet of the clip without a complaint (a broken join conceals)."""
    log = run_ffmpeg_log(
        ffmpeg, ["-hide_banner", "-v", "error", "-i", str(path), "-f", "null", "-"]
    )
    assert log.strip() == ""


def assert_exact(ffmpeg, cut, first, end, rate=Fraction(25)):
    """The clip holds source frames ``first`` .. ``end - 1``, each once, in order, every one
    decodable, one frame apart from 0."""
    assert_decodes_cleanly(ffmpeg, cut.path)
    codes, times, _, audio = read_clip(cut.path)
    assert codes == list(range(first, end))
    assert times == [i / rate for i in range(end - first)]
    assert cut.frames == end - first
    assert cut.frame_rate == rate
    assert cut.copied_frames + cut.encoded_frames == cut.frames
    assert (cut.first_source_frame, cut.last_source_frame) == (first, end - 1)
    assert cut.first_time_s == pytest.approx(CLOCK + float(first / rate))
    assert cut.audio
    assert_unbroken_tone(audio, float(cut.frames / rate))


# --- the rule, on numbers ---------------------------------------------------------------------


def test_requests_take_the_frames_from_start_to_before_end():
    times = [i / 25 for i in range(100)]
    rate = Fraction(25)
    assert choose_frames(times, CutRequest(1.0, 2.0), rate) == (25, 49)
    # Up to just under half a frame off still picks the nearest frame, at both ends.
    assert choose_frames(times, CutRequest(1.0 - 0.019, 2.0 + 0.019), rate) == (25, 49)
    assert choose_frames(times, CutRequest(1.0 + 0.019, 2.0 - 0.019), rate) == (25, 49)
    # Past half a frame moves on to the next one.
    assert choose_frames(times, CutRequest(1.0 - 0.021, 2.0 - 0.021), rate) == (24, 48)
    assert choose_frames(times, CutRequest(1.0 + 0.021, 2.0 + 0.021), rate) == (26, 50)
    assert choose_frames(times, CutRequest(1.0, 1.04), rate) == (25, 25)
    assert choose_frames(times, CutRequest(1.0, 1.01), rate) is None
    assert choose_frames(times, CutRequest(50.0, 51.0), rate) is None


def test_frame_rates_come_out_exact():
    assert snap_frame_rate(29.97002997) == NTSC
    assert snap_frame_rate(25.0001) == 25
    assert snap_frame_rate(59.94) == Fraction(60000, 1001)
    assert snap_frame_rate(12.5) == Fraction(25, 2)


# --- the bitstream pieces of the join ----------------------------------------------------------

SPS = bytes([0x67, 0x64, 0x00, 0x1F, 0xAC])
PPS = bytes([0x68, 0xEB, 0xE3])
IDR = bytes([0x65, 0x88, 0x84, 0x00])
AUD = bytes([0x09, 0xF0])
START = b"\x00\x00\x00\x01"


def test_parameter_sets_come_from_avcc_and_annexb_extradata():
    avcc = bytes([1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, len(SPS), *SPS, 1, 0, len(PPS), *PPS])
    assert parameter_sets(avcc) == START + SPS + START + PPS
    assert parameter_sets(START + SPS + b"\x00\x00\x01" + PPS) == START + SPS + START + PPS


def test_length_prefixed_packets_become_annexb_with_parameter_sets_on_keyframes():
    packet = len(IDR).to_bytes(4, "big") + IDR
    annexb = to_annexb(packet, 4)
    assert annexb == START + IDR
    sets = START + SPS + START + PPS
    assert with_parameter_sets(annexb, sets) == sets + START + IDR
    # After an access unit delimiter, and never twice.
    assert with_parameter_sets(START + AUD + START + IDR, sets) == START + AUD + sets + START + IDR
    assert with_parameter_sets(sets + START + IDR, sets) == sets + START + IDR
    with pytest.raises(MediaError):
        to_annexb(packet[:-1], 4)


def test_reorder_depth_counts_how_far_decoding_runs_ahead():
    assert reorder_depth([0, 1, 2, 3]) == 0
    assert reorder_depth([0, 3, 1, 2]) == 1  # I P B B
    assert reorder_depth([0, 4, 2, 1, 3]) == 2  # I P B-ref b b (pyramid)


def test_encoder_arguments_trim_by_the_files_own_timestamps():
    spec = VideoSpec(1920, 1080, "yuv420p", "high", 41, 8000, 100, Fraction(50), ())
    args = encode_args(
        "file:cam.mp4",
        first_s=12.34,
        last_s=13.0,
        frames=34,
        seek_s=12.0,
        spec=spec,
        out=Path("head.ts"),
    )
    assert args[args.index("-ss") + 1] == "12.000000"
    assert "-copyts" in args and "-noaccurate_seek" in args
    assert args[args.index("-vf") + 1].startswith("trim=start=12.330000:end=13.010000,")
    assert args[args.index("-frames:v") + 1] == "34"
    for option, value in [("-c:v", "libx264"), ("-profile:v", "high"), ("-level:v", "4.1")]:
        assert args[args.index(option) + 1] == value
    assert args[args.index("-b:v") + 1] == "8000k"
    assert args[-3:] == ["-f", "mpegts", "head.ts"]


# --- cutting real recordings ------------------------------------------------------------------


def test_a_range_inside_one_gop_is_reencoded(ffmpeg, media, tmp_path):
    cut = cut_angle(ffmpeg, mp4_pieces(media), request(30, 40), tmp_path / "a.mp4")
    assert_exact(ffmpeg, cut, 30, 40)
    assert cut.copied_frames == 0 and cut.encoded_frames == 10
    assert (cut.width, cut.height) == (320, 180)


def test_whole_gops_are_copied_untouched(ffmpeg, media, tmp_path):
    cut = cut_angle(ffmpeg, mp4_pieces(media), request(13, 160), tmp_path / "a.mp4")
    assert_exact(ffmpeg, cut, 13, 160)
    # Frames 25-149 are six whole GOPs; only 12 at the head and 10 at the tail are encoded.
    assert (cut.copied_frames, cut.encoded_frames) == (125, 22)
    _, _, pictures, _ = read_clip(cut.path)
    with av.open(str(media["mp4"])) as source:
        originals = [f.to_ndarray(format="gray") for f in source.decode(video=0)]
    # Copied frames decode to exactly the source's pictures; re-encoded ones look alike.
    for n in range(25, 150):
        assert np.array_equal(pictures[n - 13], originals[n]), n
    for n in [*range(13, 25), *range(150, 160)]:
        assert psnr(pictures[n - 13], originals[n]) > 27, n


def psnr(a, b):
    return 10 * np.log10(255**2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


@pytest.mark.parametrize(
    ("first", "end", "copied"),
    [
        (50, 100, 50),  # exactly two GOPs, from keyframe to keyframe
        (49, 101, 50),  # one frame before a keyframe, one past the last
        (51, 99, 0),  # one frame after a keyframe, one short of the next: no whole GOP
        (50, 99, 25),
        (0, 200, 200),  # the whole recording
    ],
)
def test_ranges_on_and_around_keyframes(ffmpeg, media, tmp_path, first, end, copied):
    cut = cut_angle(ffmpeg, mp4_pieces(media), request(first, end), tmp_path / "a.mp4")
    assert_exact(ffmpeg, cut, first, end)
    assert cut.copied_frames == copied


def test_a_range_across_live_segments(ffmpeg, media, tmp_path):
    pieces = ts_pieces(media)
    # Pieces outside the range are never opened: point them at nothing.
    pieces[0] = Piece("/nonexistent/seg000.ts", CLOCK, 2.0)
    pieces[3] = Piece("/nonexistent/seg003.ts", CLOCK + 6.0, 2.0)
    cut = cut_angle(ffmpeg, pieces, request(62, 137), tmp_path / "a.mp4", frame_rate=Fraction(25))
    assert_exact(ffmpeg, cut, 62, 137)
    assert (cut.copied_frames, cut.encoded_frames) == (50, 25)
    assert cut.missing_frames == 0


def test_segments_and_the_file_give_the_same_frames(ffmpeg, media, tmp_path):
    from_ts = cut_angle(ffmpeg, ts_pieces(media), request(37, 163), tmp_path / "ts.mp4")
    from_mp4 = cut_angle(ffmpeg, mp4_pieces(media), request(37, 163), tmp_path / "mp4.mp4")
    assert_exact(ffmpeg, from_ts, 37, 163)
    assert_exact(ffmpeg, from_mp4, 37, 163)
    assert from_ts.copied_frames == from_mp4.copied_frames == 100


def test_a_long_mpegts_file_is_seeked_into(ffmpeg, media, tmp_path):
    cut = cut_angle(ffmpeg, mp4_pieces(media, "ts"), request(87, 187), tmp_path / "a.mp4")
    assert_exact(ffmpeg, cut, 87, 187)
    assert (cut.copied_frames, cut.encoded_frames) == (75, 25)


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with byte ranges, as object storage does for presigned URLs."""

    def do_GET(self):
        path = Path(self.directory) / self.path.split("?")[0].lstrip("/")
        data = path.read_bytes()
        asked = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if asked:
            first = int(asked[1])
            last = int(asked[2]) if asked[2] else len(data) - 1
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
            data = data[first : last + 1]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def served(media):
    folder = media["mp4"].parent

    def handler(*args):
        return RangeHandler(*args, directory=str(folder))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pieces_behind_presigned_urls(ffmpeg, media, served, tmp_path):
    query = "?X-Amz-Signature=abc&X-Amz-Expires=600"
    pieces = [
        Piece(f"{served}/{p.name}{query}", CLOCK + 2.0 * i, 2.0)
        for i, p in enumerate(media["segments"])
    ]
    cut = cut_angle(ffmpeg, pieces, request(37, 163), tmp_path / "ts.mp4")
    assert_exact(ffmpeg, cut, 37, 163)
    pieces = [Piece(f"{served}/{media['mp4'].name}{query}", CLOCK, 8.0)]
    cut = cut_angle(ffmpeg, pieces, request(87, 187), tmp_path / "mp4.mp4")
    assert_exact(ffmpeg, cut, 87, 187)
    assert cut.copied_frames == 75


def test_a_gap_between_pieces_is_closed_up_and_counted(ffmpeg, media, tmp_path):
    segments = media["segments"]
    pieces = [Piece(str(segments[i]), CLOCK + 2.0 * i, 2.0) for i in (0, 1, 3)]
    cut = cut_angle(ffmpeg, pieces, request(40, 170), tmp_path / "a.mp4")
    assert_decodes_cleanly(ffmpeg, cut.path)
    codes, times, _, _ = read_clip(cut.path)
    assert codes == [*range(40, 100), *range(150, 170)]
    assert times == [Fraction(i, 25) for i in range(80)]
    assert cut.missing_frames == 50
    assert (cut.first_source_frame, cut.last_source_frame) == (40, 169)


def test_ntsc_rate(ffmpeg, ntsc_clip, tmp_path):
    pieces = [Piece(str(ntsc_clip), CLOCK, 3.003)]
    cut = cut_angle(ffmpeg, pieces, request(15, 75, NTSC), tmp_path / "a.mp4")
    assert_exact(ffmpeg, cut, 15, 75, NTSC)
    assert cut.copied_frames == 30
    # Times given in round numbers still land on the nearest frames.
    cut = cut_angle(ffmpeg, pieces, CutRequest(CLOCK + 0.5, CLOCK + 2.5), tmp_path / "b.mp4")
    assert_exact(ffmpeg, cut, 15, 75, NTSC)


def test_a_container_that_starts_before_its_video(ffmpeg, media, tmp_path):
    with av.open(str(media["offset"])) as container:
        video_start = container.streams.video[0].start_time
        assert container.start_time / 1e6 < float(
            video_start * container.streams.video[0].time_base
        )
    cut = cut_angle(ffmpeg, mp4_pieces(media, "offset"), request(20, 90), tmp_path / "a.mp4")
    assert_exact(ffmpeg, cut, 20, 90)


def test_an_edit_list_that_hides_the_first_frames(ffmpeg, media, tmp_path):
    # The file's first shown frame (source frame 12 or 13) is its first frame on the clock, and
    # the hidden frames before it are decoded for it but never shown.
    with av.open(str(media["edit_list"])) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        assert packets[0].is_discard
    with av.open(str(media["edit_list"])) as container:
        shown = framecode.read(next(container.decode(video=0)).to_ndarray(format="gray")).frame
    assert 0 < shown < GOP
    cut = cut_angle(ffmpeg, mp4_pieces(media, "edit_list"), request(0, 50), tmp_path / "a.mp4")
    assert_decodes_cleanly(ffmpeg, cut.path)
    codes, _, _, _ = read_clip(cut.path)
    assert codes == list(range(shown, shown + 50))
    assert (cut.first_source_frame, cut.copied_frames) == (0, 25)


def test_open_gops_are_not_copied_from_their_leading_frames(ffmpeg, tmp_path):
    # Open GOPs: the B-frames just after each I-frame in decode order are shown before it and
    # lean on the GOP before, so a copy may start only where nothing leads.
    source = render_numbered(
        ffmpeg, tmp_path / "open.mp4", frames=100, extra=["-x264-params", "open-gop=1"]
    )
    cut = cut_angle(ffmpeg, [Piece(str(source), CLOCK, 4.0)], request(10, 90), tmp_path / "a.mp4")
    assert_exact(ffmpeg, cut, 10, 90)


def test_naive_cut_reencodes_the_same_frames(ffmpeg, media, tmp_path):
    cut = naive_cut(ffmpeg, mp4_pieces(media), request(13, 110), tmp_path / "a.mp4")
    assert_exact(ffmpeg, cut, 13, 110)
    assert (cut.copied_frames, cut.encoded_frames) == (0, 97)


def test_two_passes_give_the_same_frames(ffmpeg, media, tmp_path):
    pieces = ts_pieces(media)
    cut = cut_angle(ffmpeg, pieces, request(62, 137), tmp_path / "a.mp4", two_pass=True)
    assert_exact(ffmpeg, cut, 62, 137)
    assert (cut.copied_frames, cut.encoded_frames) == (50, 25)


def test_hevc_is_reencoded_whole_as_h264(ffmpeg, tmp_path):
    hevc = render_numbered(
        ffmpeg,
        tmp_path / "hevc.mp4",
        frames=75,
        extra=["-c:v", "libx265", "-x265-params", "log-level=error"],
    )
    with av.open(str(hevc)) as container:
        assert container.streams.video[0].codec_context.name == "hevc"
    progress = []
    cut = cut_angle(
        ffmpeg,
        [Piece(str(hevc), CLOCK, 3.0)],
        request(10, 60),
        tmp_path / "a.mp4",
        on_progress=progress.append,
    )
    assert_exact(ffmpeg, cut, 10, 60)
    assert cut.copied_frames == 0
    assert progress[-1] == 1.0 and progress == sorted(progress)


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (3.0, 3.0, "empty"),
        (3.0, 2.0, "empty"),
        (float("nan"), 2.0, "not a time range"),
        (CLOCK - 5.0, CLOCK - 1.0, "outside the recording"),
        (CLOCK + 9.0, CLOCK + 10.0, "outside the recording"),
        (CLOCK + 4.5, CLOCK + 5.5, "gap"),
    ],
)
def test_bad_ranges_are_refused_before_ffmpeg_runs(media, tmp_path, start, end, message):
    segments = media["segments"]
    pieces = [Piece(str(segments[i]), CLOCK + 2.0 * i, 2.0) for i in (0, 1, 3)]
    # A missing ffmpeg proves nothing ran: the error comes first.
    with pytest.raises(MediaError, match=message):
        cut_angle("/nonexistent/ffmpeg", pieces, CutRequest(start, end), tmp_path / "a.mp4")
    assert not (tmp_path / "a.mp4").exists()


def test_ranges_running_past_the_recording_are_refused(ffmpeg, media, tmp_path):
    pieces = mp4_pieces(media)
    for start, end in [(CLOCK - 1.0, CLOCK + 1.0), (CLOCK + 7.0, CLOCK + 8.5)]:
        with pytest.raises(MediaError, match="runs past the recording"):
            cut_angle("/nonexistent/ffmpeg", pieces, CutRequest(start, end), tmp_path / "a.mp4")
    # Within half a frame of the ends is fine.
    cut = cut_angle(ffmpeg, pieces, CutRequest(CLOCK + 7.0, CLOCK + 8.01), tmp_path / "b.mp4")
    assert_exact(ffmpeg, cut, 175, 200)


def test_unreadable_pieces_are_refused(ffmpeg, tmp_path):
    junk = tmp_path / "junk.ts"
    junk.write_bytes(b"not media at all" * 100)
    with pytest.raises(MediaError, match="piece 0"):
        cut_angle(ffmpeg, [Piece(str(junk), 0.0, 2.0)], CutRequest(0.5, 1.0), tmp_path / "a.mp4")
