from pathlib import Path

from transcode.errors import FFmpegError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.probe import probe
from transcode.qc import QCReport, Run, parse_qc_log, qc_args, run_qc

LOG = """
[Parsed_freezedetect_3 @ 0x1] lavfi.freezedetect.freeze_start: 0
[Parsed_blackdetect_2 @ 0x2] black_start:0 black_end:1.52 black_duration:1.52
[Parsed_freezedetect_3 @ 0x1] lavfi.freezedetect.freeze_duration: 1.52
[Parsed_freezedetect_3 @ 0x1] lavfi.freezedetect.freeze_end: 1.52
[Parsed_silencedetect_1 @ 0x3] silence_start: 2.007625
[Parsed_silencedetect_1 @ 0x3] silence_end: 3.520021 | silence_duration: 1.512396
[Parsed_silencedetect_1 @ 0x3] silence_start: 9.5
[Parsed_ebur128_0 @ 0x4] Summary:

  Integrated loudness:
    I:         -21.5 LUFS
    Threshold: -31.6 LUFS

  Loudness range:
    LRA:         1.1 LU

  True peak:
    Peak:      -16.6 dBFS
"""


def test_the_log_is_read_into_a_report():
    assert parse_qc_log(LOG, 10.0) == QCReport(
        integrated_lufs=-21.5,
        loudness_range_lu=1.1,
        true_peak_dbtp=-16.6,
        black=[Run(0.0, 1.52)],
        freeze=[Run(0.0, 1.52)],
        silence=[Run(2.008, 3.52), Run(9.5, 10.0)],  # silent to the end
    )


def test_silent_measurements_are_none():
    report = parse_qc_log("Summary:\n I: -inf LUFS\n LRA: nan LU\n", 5.0)
    assert report.integrated_lufs is None and report.loudness_range_lu is None


def test_args_skip_what_the_file_lacks():
    video_only = qc_args(Path("a.mp4"), has_audio=False, has_video=True)
    assert "ebur128" not in " ".join(video_only) and "[vq]" in video_only
    assert "-protocol_whitelist" in video_only


def test_qc_finds_black_silence_and_loudness(ffmpeg, tmp_path):
    clip = tmp_path / "qc.mp4"
    run_ffmpeg(
        ffmpeg,
        [*base_args(), "-f", "lavfi", "-i", "color=black:size=320x180:rate=25:duration=1.5",
         "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3",
         "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=4.5",
         "-filter_complex",
         "[0:v][1:v]concat=n=2:v=1:a=0[v];[2:a]volume=enable='between(t,2,3.5)':volume=0[a]",
         "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
         str(clip)],
    )  # fmt: skip
    report = run_qc(ffmpeg, clip, probe(clip))
    assert report.black and report.black[0].start_s == 0 and 1.4 <= report.black[0].end_s <= 1.6
    assert report.silence and 1.9 <= report.silence[0].start_s <= 2.1
    assert report.integrated_lufs is not None and -30 < report.integrated_lufs < -15
    assert report.true_peak_dbtp is not None and report.true_peak_dbtp < 0


def test_unreadable_input_is_an_error(ffmpeg, bad_files):
    import pytest

    with pytest.raises(FFmpegError):
        run_qc(ffmpeg, bad_files["not_media"], probe(bad_files["audio_only"]))
