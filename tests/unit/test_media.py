"""The one ffmpeg runner and the prober, on real clips."""

from pathlib import Path

import pytest

from infra.errors import FFmpegError, MediaError
from transcode.ffmpeg import base_args, parse_progress_line, run_ffmpeg
from transcode.ladder import LadderOptions, transcode_ladder
from transcode.poster import make_poster, poster_time
from transcode.probe import probe


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


def test_ladder_decodes_with_every_frame(ffmpeg, camera_clip, tmp_path):
    seen = []
    result = transcode_ladder(
        ffmpeg,
        camera_clip,
        probe(camera_clip),
        tmp_path / "hls",
        LadderOptions(),
        on_progress=seen.append,
    )
    assert [r.rung.name for r in result.renditions] == ["360p"]
    assert seen and seen[-1] == 1.0
    master = result.master.read_text()
    assert "RESOLUTION=640x360" in master and 'CODECS="avc1.' in master
    rendition = result.renditions[0]
    assert len(rendition.segments) == 2  # 4 s in 2 s GOPs
    assert decoded_frames(ffmpeg, rendition.playlist) == 100


def test_portrait_source_without_audio(ffmpeg, second_clip, tmp_path):
    result = transcode_ladder(
        ffmpeg, second_clip, probe(second_clip), tmp_path / "hls", LadderOptions()
    )
    assert [(r.rung.width, r.rung.height) for r in result.renditions] == [(360, 640)]
    assert "mp4a" not in result.master.read_text()
    assert decoded_frames(ffmpeg, result.renditions[0].playlist) == 75


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
