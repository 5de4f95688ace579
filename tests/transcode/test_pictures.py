"""One picture decoded from a clip, by its time from the first frame."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from transcode.errors import MediaError
from transcode.ffmpeg import find_ffmpeg
from transcode.pictures import picture_at


@pytest.fixture(scope="module")
def red_then_blue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second of red, then one of blue, at 25 fps."""
    out = tmp_path_factory.mktemp("pictures") / "red-blue.mp4"
    graph = "color=c=red:s=64x64:r=25:d=1[a];color=c=blue:s=64x64:r=25:d=1[b];[a][b]concat=n=2"
    subprocess.run(
        [find_ffmpeg(), "-v", "error", "-filter_complex", graph, "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )
    return out


def test_the_picture_at_a_time_is_that_frame(red_then_blue: Path) -> None:
    red = picture_at(red_then_blue, 0.96)  # frame 24, the last red one
    blue = picture_at(red_then_blue, 1.0)  # frame 25, the first blue one
    assert red.shape == (64, 64, 3) and red.dtype.name == "uint8"
    b, _, r = red[32, 32]
    assert r > 200 and b < 60
    b, _, r = blue[32, 32]
    assert b > 200 and r < 60


def test_times_outside_the_clip_and_unreadable_files_are_media_errors(
    red_then_blue: Path, tmp_path: Path
) -> None:
    with pytest.raises(MediaError, match=r"no picture at 2\.500 s"):
        picture_at(red_then_blue, 2.5)
    with pytest.raises(MediaError, match="before its start"):
        picture_at(red_then_blue, -0.1)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1024)
    with pytest.raises(MediaError, match=r"junk\.mp4"):
        picture_at(junk, 0.0)
