"""The media package's errors carry no HTTP status; the API and the workers read their class."""

from __future__ import annotations

import pytest

from api.problems import media_status
from infra.core.errors import BadRequest, NotFound, StorageError
from transcode.errors import FFmpegError, FFmpegTimeout, MediaError, ProfileError, TranscodeError
from transcode.ffmpeg import find_ffmpeg, run_ffmpeg, run_ffmpeg_log
from workers.runner import is_input_fault, reason_of


@pytest.mark.parametrize(
    ("exc", "fault"),
    [
        (MediaError("clip.mp4: no video stream"), True),
        (ProfileError("no encoding profile named 'x'"), True),
        (FFmpegError("ffmpeg exited with 1: Invalid data", 1), True),
        (FFmpegTimeout("ffmpeg ran past its 60 s limit", -9), False),
        (BadRequest("bad option"), True),
        (NotFound("asset gone"), True),
        (StorageError("S3 unavailable"), False),
        (ConnectionError("reset"), False),
    ],
)
def test_the_worker_retries_only_what_another_attempt_could_pass(
    exc: BaseException, fault: bool
) -> None:
    assert is_input_fault(exc) is fault


def test_reasons_are_the_detail_line() -> None:
    assert reason_of(FFmpegTimeout("ffmpeg ran past its 5 s limit", -9)) == (
        "ffmpeg ran past its 5 s limit"
    )
    assert reason_of(KeyError("x")) == "KeyError: 'x'"


def test_media_errors_map_to_problem_statuses_most_specific_first() -> None:
    assert media_status(MediaError("x")) == (422, "Unusable media")
    assert media_status(ProfileError("x")) == (400, "Bad encoding profile")
    assert media_status(FFmpegTimeout("x", -9))[0] == 503
    assert media_status(FFmpegError("x", 1))[0] == 500
    assert media_status(TranscodeError("x"))[0] == 500


def test_a_run_past_its_limit_is_a_timeout_and_a_failure_is_not() -> None:
    ffmpeg = find_ffmpeg()
    endless = ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=25", "-f", "null", "-"]
    with pytest.raises(FFmpegTimeout, match="limit"):
        run_ffmpeg(ffmpeg, endless, timeout_s=0.5)
    with pytest.raises(FFmpegTimeout):
        run_ffmpeg_log(ffmpeg, endless, timeout_s=0.5)
    with pytest.raises(FFmpegError) as failed:
        run_ffmpeg(ffmpeg, ["-f", "lavfi", "-i", "nosuchsource", "-f", "null", "-"])
    assert not isinstance(failed.value, FFmpegTimeout)
