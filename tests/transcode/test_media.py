"""The one ffmpeg runner and the prober, on real clips."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from transcode.cmaf import read_init
from transcode.errors import FFmpegError, MediaError
from transcode.ffmpeg import base_args, parse_progress_line, run_ffmpeg
from transcode.ladder import cmaf_args, collect_tracks, plan_from_profile, transcode_ladder
from transcode.packaging import describe_track, join_tracks, write_manifests
from transcode.poster import make_poster, poster_time
from transcode.probe import probe
from transcode.profiles import load_profile
from transcode.qc import run_qc
from transcode.stitch import chunk_offset, plan_chunks, rebase_segment


def test_progress_lines():
    assert parse_progress_line("out_time_us=1500000\n") == ("out_time_us", "1500000")
    assert parse_progress_line("garbage") is None


def test_poster_time_is_inside_the_clip():
    assert poster_time(0) == 0
    assert poster_time(1.0) == 0.5
    assert poster_time(60) == 6.0


def test_probe_reads_timing_and_streams(camera_clip):
    info = probe(camera_clip)
    assert info.video is not None and info.audio is not None
    assert (info.video.width, info.video.height, info.video.frame_rate) == (640, 360, 25)
    assert info.video.frames == 100
    assert info.timecode == "10:00:00:00"
    assert info.creation_time is not None and info.creation_time.year == 2026
    assert info.duration_s == pytest.approx(4.0, abs=0.05)


def test_probe_refuses_bad_input(bad_files):
    for name in ("truncated", "not_media", "missing"):
        with pytest.raises(MediaError):
            probe(bad_files[name])
    assert probe(bad_files["audio_only"]).video is None


def test_probe_catches_a_file_cut_short_after_its_index(camera_clip, tmp_path):
    # faststart puts the index first, so the cut only shows when the end is decoded.
    data = camera_clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(MediaError, match=r"truncated|not readable"):
        probe(cut)


def test_run_ffmpeg_reports_the_reason(ffmpeg, tmp_path):
    with pytest.raises(FFmpegError) as caught:
        run_ffmpeg(
            ffmpeg, [*base_args(), "-i", str(tmp_path / "nope.mp4"), str(tmp_path / "o.mp4")]
        )
    assert "nope.mp4" in caught.value.detail


def encode(ffmpeg, clip, out, profile="broadcast", **seen):
    info = probe(clip)
    plan = plan_from_profile(info, load_profile(profile))
    result = transcode_ladder(ffmpeg, clip, info, out, plan, **seen)
    videos = [describe_track(t) for t in result.videos]
    audio = describe_track(result.audio) if result.audio else None
    for path, text in write_manifests(videos, audio, plan.frame_rate).files.items():
        (out / path).write_text(text)
    return result, videos, audio


def test_cmaf_ladder_plays_through_its_master_and_its_dash_manifest(ffmpeg, camera_clip, tmp_path):
    seen = []
    result, videos, audio = encode(ffmpeg, camera_clip, tmp_path / "hls", on_progress=seen.append)
    assert [v.name for v in videos] == ["360p"] and audio is not None
    assert seen and seen[-1] == 1.0
    master = (tmp_path / "hls" / "master.m3u8").read_text()
    assert "RESOLUTION=640x360" in master and 'CODECS="avc1.' in master and "mp4a.40.2" in master
    assert "FRAME-RATE=25.000" in master and "#EXT-X-I-FRAME-STREAM-INF" in master
    assert len(videos[0].segments) == 2  # 4 s in 2 s GOPs
    assert decoded_frames(ffmpeg, tmp_path / "hls" / "master.m3u8") == 100
    assert decoded_frames(ffmpeg, tmp_path / "hls" / "manifest.mpd") == 100
    assert result.poster is not None and result.poster.read_bytes()[:2] == b"\xff\xd8"


def test_portrait_source_without_audio(ffmpeg, second_clip, tmp_path):
    _, videos, audio = encode(ffmpeg, second_clip, tmp_path / "hls")
    assert [(v.init.width, v.init.height) for v in videos] == [(360, 640)]
    assert audio is None
    assert "mp4a" not in (tmp_path / "hls" / "master.m3u8").read_text()
    assert decoded_frames(ffmpeg, tmp_path / "hls" / "master.m3u8") == 75


def test_audio_only_source_gets_an_audio_ladder(ffmpeg, bad_files, tmp_path):
    _, videos, audio = encode(ffmpeg, bad_files["audio_only"], tmp_path / "hls")
    assert videos == [] and audio is not None and audio.init.codec == "mp4a.40.2"
    assert float(audio.duration) == pytest.approx(2.0, abs=0.05)


def test_chunks_stitch_into_the_same_stream_as_one_encode(ffmpeg, camera_clip, tmp_path):
    """Four GOP-aligned chunks encoded apart, moved onto one timeline without re-encoding:
    the same frames at the same timestamps as a single encode, picture for picture."""
    info = probe(camera_clip)
    plan = replace(plan_from_profile(info, load_profile("broadcast")), gop=25)  # 1 s GOPs
    single = transcode_ladder(ffmpeg, camera_clip, info, tmp_path / "one", plan)
    chunks = plan_chunks(plan.total_frames, plan.gop, plan.frame_rate, 1.0)
    assert [c.frames for c in chunks] == [(0, 25), (25, 50), (50, 75), (75, 100)]
    joined = []
    for chunk in chunks:
        out = tmp_path / f"chunk{chunk.index}"
        run_ffmpeg(ffmpeg, cmaf_args(camera_clip, out, plan, audio=False, frames=chunk.frames))
        [video], _ = collect_tracks(out, plan, audio=False)
        offset = chunk_offset(chunk.first_frame, plan.frame_rate, read_init(video.init).timescale)
        for segment in video.segments:
            segment.write_bytes(rebase_segment(segment.read_bytes(), offset))
        joined.append(video)
    one = describe_track(single.videos[0])
    stitched = join_tracks([describe_track(v) for v in joined])
    assert [s.decode_time for _, s in stitched.segments] == [s.decode_time for _, s in one.segments]
    whole = read_frames(single.videos[0].init, single.videos[0].segments)
    parts = read_frames(joined[0].init, [s for v in joined for s in v.segments])
    assert [pts for pts, _ in parts] == [pts for pts, _ in whole]
    assert len(parts) == 100
    for i in range(1, 99):  # the same picture: closer to its twin than to either neighbour
        twin = np.abs(parts[i][1] - whole[i][1]).mean()
        assert twin < np.abs(parts[i][1] - whole[i - 1][1]).mean(), i
        assert twin < np.abs(parts[i][1] - whole[i + 1][1]).mean(), i


def read_frames(init: Path, segments) -> list:
    import av

    data = init.read_bytes() + b"".join(s.read_bytes() for s in segments)
    path = init.parent / "joined.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        return [
            (f.pts, f.to_ndarray(format="gray").astype(float)) for f in container.decode(video=0)
        ]


def test_poster_is_a_jpeg(ffmpeg, camera_clip, tmp_path):
    out = make_poster(ffmpeg, camera_clip, tmp_path / "poster.jpg", 4.0)
    assert out.read_bytes()[:2] == b"\xff\xd8"


def decoded_frames(ffmpeg: str, playlist: Path | str, *, seconds: float | None = None) -> int:
    """Count decoded video frames with ffmpeg itself (-xerror: a missing segment fails); a live
    playlist needs ``seconds`` to stop."""
    import subprocess

    limit = ["-t", str(seconds)] if seconds else []
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-xerror", "-i", str(playlist), *limit,
         "-map", "0:v:0", "-f", "null", "-"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stderr
    frames = [line for line in out.replace("\r", "\n").splitlines() if line.startswith("frame=")]
    return int(frames[-1].split("=")[1].split()[0])


AWKWARD = {
    # name: (ffmpeg input and encode arguments, expected rung sizes, audio channels or None)
    "ten_bit": (
        ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2",
         "-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-preset", "ultrafast"],
        [(640, 360)], None,
    ),
    "variable_frame_rate": (
        ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2",
         "-vf", "setpts='N/25/TB+if(gt(N,20),0.02*mod(N,3),0)/TB'", "-fps_mode", "vfr",
         "-c:v", "libx264", "-preset", "ultrafast"],
        [(640, 360)], None,
    ),
    "rows_1088": (
        ["-f", "lavfi", "-i", "testsrc2=size=1920x1088:rate=25:duration=2",
         "-c:v", "libx264", "-preset", "ultrafast"],
        [(1920, 1080), (1280, 720), (854, 480), (640, 360)], None,
    ),
    "six_channels": (
        ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2",
         "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:duration=2",
         "-filter_complex", "[1:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]",
         "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac"],
        [(640, 360)], 2,
    ),
    "interlaced": (
        ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=50:duration=2",
         "-vf", "tinterlace=interleave_top,setfield=tff", "-c:v", "libx264",
         "-flags", "+ildct+ilme", "-preset", "ultrafast"],
        [(1280, 720), (854, 480), (640, 360)], None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(AWKWARD))
def test_awkward_sources_get_a_correct_ladder(case, ffmpeg, tmp_path):
    arguments, sizes, channels = AWKWARD[case]
    source = tmp_path / f"{case}.mp4"
    run_ffmpeg(ffmpeg, [*base_args(), *arguments, str(source)])
    info = probe(source)
    _, videos, audio = encode(ffmpeg, source, tmp_path / "ladder")
    assert [(v.init.width, v.init.height) for v in videos] == sizes
    assert all(v.init.codec.startswith("avc1.64") for v in videos)  # 8-bit High, any source
    assert (audio.init.channels if audio else None) == channels
    expected = round(info.duration_s * info.video.frame_rate)
    frames = decoded_frames(ffmpeg, tmp_path / "ladder" / "master.m3u8")
    # A variable-rate source comes out at a constant rate: as many frames as its length holds.
    assert abs(frames - expected) <= (1 if case == "variable_frame_rate" else 0)
    if case == "interlaced":
        assert info.video.interlaced and info.video.frame_rate == 25


def test_a_file_damaged_in_the_middle_still_transcodes_and_qc_fails_it(
    ffmpeg, camera_clip, tmp_path
):
    """ffmpeg conceals damage and carries on, so the ladder is whole; QC's full decode counts
    the damage and fails the recording, so an operator sees it."""
    data = bytearray(camera_clip.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20000] = b"\x00" * 20000
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    info = probe(broken)  # its first and last seconds decode: the damage is in between
    _, videos, _ = encode(ffmpeg, broken, tmp_path / "out")
    assert videos and len(videos[0].segments) == 2
    report = run_qc(ffmpeg, broken, info)
    assert report.decode_errors > 0 and report.verdict == "fail"
    assert any("decoder" in e or "corrupt" in e for e in report.decode_error_examples)
    assert run_qc(ffmpeg, camera_clip, probe(camera_clip)).decode_errors == 0


def test_a_playlist_dressed_as_a_video_is_refused_without_fetching_anything(tmp_path):
    """The container is pinned from the name, never guessed from the content: an HLS playlist
    or a concat script named .mp4 fails to parse as MP4 and nothing it names is opened; a
    playlist under its own name is refused before it is opened at all."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from transcode.probe import demuxer_for

    asked: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    inward = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        playlist = (
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n"
            f"{inward}/segment0.ts\n#EXTINF:2.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
        )
        secret = tmp_path / "secret.txt"
        secret.write_text("not for you\n")
        hostile = {
            "playlist.mp4": playlist,
            "playlist.m3u8": playlist,
            "concat.mp4": f"ffconcat version 1.0\nfile '{secret}'\n",
        }
        for name, text in hostile.items():
            path = tmp_path / name
            path.write_text(text)
            with pytest.raises(MediaError):
                probe(path)
        assert asked == []
    finally:
        server.shutdown()
        server.server_close()
    assert demuxer_for("CAM1.MXF") == "mxf" and demuxer_for("a.m3u8") is None
