"""Camera offsets from content, against ground truth."""

import csv
import subprocess
from pathlib import Path

import pytest

from ingest.media.sync import measure_offset
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.scene import match_sound

CALISCOPE = Path(__file__).resolve().parents[3] / "shared" / "media" / "caliscope-4cam"


def clicks(ffmpeg: str, out: Path, start_s: float) -> Path:
    """Audio-only clip whose clicks sit on whole seconds of a clock that reads ``start_s`` at 0."""
    expr = f"if(lt(mod(t+{start_s}\\,1)\\,0.004)\\,0.9*sin(2*PI*3000*t)\\,0)"
    silent_video = ["-f", "lavfi", "-i", "color=gray:size=64x64:rate=25:duration=6"]
    run_ffmpeg(
        ffmpeg,
        [
            *base_args(),
            *silent_video,
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc={expr}:s=48000:d=6",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            str(out),
        ],
    )
    return out


def test_audio_clicks_give_the_offset_to_the_millisecond(ffmpeg, tmp_path):
    reference = clicks(ffmpeg, tmp_path / "ref.mp4", 0.0)
    # This camera started 0.37 s later: at its own t=0 the shared clock already reads 0.37.
    later = clicks(ffmpeg, tmp_path / "late.mp4", 0.37)
    estimate = measure_offset(ffmpeg, reference, later, max_lag_s=0.45)
    assert estimate.method == "audio"
    assert estimate.offset_s == pytest.approx(0.37, abs=0.002)
    assert estimate.confidence > 0.5


def match_clip(ffmpeg: str, out: Path, start_s: float) -> Path:
    """Twelve seconds of the simulated match's sound, its clock reading ``start_s`` at 0."""
    run_ffmpeg(
        ffmpeg,
        [*base_args(), "-f", "lavfi", "-i", f"{match_sound(start_s)}:d=12",
         "-c:a", "aac", "-b:a", "96k", str(out)],
    )  # fmt: skip
    return out


@pytest.mark.parametrize("late_s", [0.0005, 0.4005, 2.1034, -1.2997, -3.0])
def test_the_match_sound_gives_any_offset_with_confidence(ffmpeg, tmp_path, late_s):
    """Offsets between envelope samples and whole seconds apart: each measured to the
    millisecond, and confidently (two recordings of one click rarely fall on the same
    millisecond; clicks a whole second apart must never line up as well as the true lag)."""
    reference = match_clip(ffmpeg, tmp_path / "ref.mp4", 100.0)
    other = match_clip(ffmpeg, tmp_path / "other.mp4", 100.0 + late_s)
    estimate = measure_offset(ffmpeg, reference, other, max_lag_s=4.0)
    assert estimate.method == "audio"
    assert estimate.offset_s == pytest.approx(late_s, abs=0.001)
    assert estimate.confidence > 0.7


def _ground_truth() -> dict[int, dict[int, float]]:
    times: dict[int, dict[int, float]] = {}
    with (CALISCOPE / "timestamps.csv").open() as handle:
        for row in csv.DictReader(handle):
            times.setdefault(int(row["cam_id"]), {})[int(row["sync_index"])] = float(
                row["frame_time"]
            )
    return times


@pytest.mark.skipif(not CALISCOPE.exists(), reason="shared media not beside the checkout")
@pytest.mark.parametrize(("camera", "cut"), [(1, 0), (2, 0), (3, 0), (1, 6), (2, 4), (3, 9)])
def test_motion_offsets_match_the_caliscope_timestamps_within_a_frame(
    ffmpeg, tmp_path, camera, cut
):
    """Real cameras without audio: drop ``cut`` frames from one camera, measure it against cam 0
    and compare with the shared-clock capture times of the first frames kept."""
    times = _ground_truth()
    source = CALISCOPE / f"cam_{camera}.mp4"
    other = source
    if cut:
        other = tmp_path / f"cam_{camera}_cut{cut}.mp4"
        subprocess.run(
            [
                ffmpeg,
                "-nostdin",
                "-loglevel",
                "error",
                "-i",
                str(source),
                "-vf",
                f"select=gte(n\\,{cut}),setpts=PTS-STARTPTS",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                str(other),
            ],
            check=True,
        )
    first = min(times[0])
    truth = times[camera][first + cut] - times[0][first]
    estimate = measure_offset(ffmpeg, CALISCOPE / "cam_0.mp4", other)
    assert estimate.method == "motion"
    assert abs(estimate.offset_s - truth) < 1 / 6  # one frame at 6 fps


def test_sync_ffmpeg_arguments_are_lists_with_a_protocol_whitelist(tmp_path):
    from ingest.media.sync import audio_envelope_args, sync_clip_args

    clip = sync_clip_args(tmp_path / "in.ts", -0.5, 12.0, tmp_path / "out.mkv")
    assert clip[clip.index("-protocol_whitelist") + 1] == "file,pipe"
    assert clip[clip.index("-ss") + 1] == "0.000"  # never before the file's start
    assert clip[clip.index("-t") + 1] == "12.000" and clip[-1] == str(tmp_path / "out.mkv")
    audio = audio_envelope_args(tmp_path / "in.ts")
    assert audio[audio.index("-protocol_whitelist") + 1] == "file,pipe"
    assert audio[-3:] == ["-f", "s16le", "-"]
