"""Sprite sheets, the WebVTT thumbnail track, shot cuts and posters, on clips made with lavfi."""

from __future__ import annotations

import re
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from transcode.errors import FFmpegError, MediaError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.probe import probe
from transcode.thumbnails import (
    FrameStats,
    ThumbnailOptions,
    Thumbnails,
    choose_posters,
    find_cuts,
    make_thumbnails,
    thumbnail_args,
    thumbnail_vtt,
)

FPS = Fraction(4)
SIZE = "320x180"
# Three shots of 2 s each that look nothing alike: cuts at 2.0 and 4.0 s.
THREE_SHOTS = (
    f"testsrc2=size={SIZE}:rate=25:duration=2[a];"
    f"smptebars=size={SIZE}:rate=25:duration=2[b];"
    f"mandelbrot=size={SIZE}:rate=25:maxiter=64,trim=duration=2[c];"
    "[a][b][c]concat=n=3:v=1:a=0[v]"
)
# 12 tiles of 0.5 s on sheets of 4 x 2: one full sheet and one half-full.
SPRITE_OPTIONS = ThumbnailOptions(interval_s=0.5, columns=4, rows=2)
CUE = re.compile(
    r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n"
    r"(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)\n"
)


def render(ffmpeg: str, out: Path, graph: str) -> Path:
    """Encode the lavfi ``graph`` (ending in ``[v]``) to a small H.264 file."""
    run_ffmpeg(
        ffmpeg,
        [*base_args(), "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264",
         "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)],
    )  # fmt: skip
    return out


def seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_vtt(text: str) -> list[tuple[float, float, str, tuple[int, int, int, int]]]:
    """Cues as (start, end, sprite, (x, y, w, h)); fails on anything that is not a cue."""
    assert text.startswith("WEBVTT\n\n")
    body = text[len("WEBVTT\n\n") :]
    cues = []
    for block in filter(None, body.split("\n\n")):
        match = CUE.fullmatch(block.strip("\n") + "\n")
        assert match, f"not a thumbnail cue: {block!r}"
        g = match.groups()
        box = (int(g[9]), int(g[10]), int(g[11]), int(g[12]))
        cues.append((seconds(*g[0:4]), seconds(*g[4:8]), g[8], box))
    return cues


@pytest.fixture(scope="module")
def three_shots(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(ffmpeg, tmp_path_factory.mktemp("shots") / "three.mp4", THREE_SHOTS)


@pytest.fixture(scope="module")
def three_shot_thumbnails(
    ffmpeg: str, three_shots: Path, tmp_path_factory: pytest.TempPathFactory
) -> Thumbnails:
    out = tmp_path_factory.mktemp("thumbnails")
    return make_thumbnails(ffmpeg, three_shots, probe(three_shots), out, SPRITE_OPTIONS)


# -- on real clips ---------------------------------------------------------------------------


def test_hard_cuts_are_found_where_they_are(three_shot_thumbnails: Thumbnails) -> None:
    cuts = three_shot_thumbnails.cuts
    assert len(cuts) == 2, cuts
    for found, true in zip(cuts, (2.0, 4.0), strict=True):
        assert abs(found - true) <= 1 / FPS


@pytest.mark.parametrize(
    "graph",
    [
        # a slow zoom into the test pattern
        "testsrc2=size=640x360:rate=25:duration=5,"
        "zoompan=z='1+0.01*on':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s=320x180:fps=25[v]",
        # a pan across a pattern three screens wide
        "testsrc2=size=960x180:rate=25:duration=5,crop=w=320:h=180:x='t*120':y=0[v]",
    ],
    ids=["zoom", "pan"],
)
def test_a_moving_camera_is_one_shot(ffmpeg: str, tmp_path: Path, graph: str) -> None:
    clip = render(ffmpeg, tmp_path / "moving.mp4", graph)
    result = make_thumbnails(ffmpeg, clip, probe(clip), tmp_path / "out", ThumbnailOptions())
    assert result.cuts == ()
    assert len(result.posters) == 1


def test_sprite_sheets_hold_one_tile_per_interval(
    three_shots: Path, three_shot_thumbnails: Thumbnails
) -> None:
    result = three_shot_thumbnails
    tiles = round(probe(three_shots).duration_s / SPRITE_OPTIONS.interval_s)
    assert tiles == 12
    assert [p.name for p in result.sprites] == ["sprite_000.jpg", "sprite_001.jpg"]
    assert result.tile_size == (160, 90)
    sheets = [cv2.imread(str(p)) for p in result.sprites]
    for sheet in sheets:
        assert sheet.shape[:2] == (2 * 90, 4 * 160)
    # The last sheet is partial: its first four tiles are pictures, the rest is padding.
    last = sheets[-1]
    means = [
        last[row * 90 : (row + 1) * 90, column * 160 : (column + 1) * 160].mean()
        for row in (0, 1)
        for column in range(4)
    ]
    assert all(mean > 40 for mean in means[:4]) and all(mean < 5 for mean in means[4:])


def test_the_vtt_track_covers_the_clip_with_boxes_inside_the_sheets(
    three_shots: Path, three_shot_thumbnails: Thumbnails
) -> None:
    result = three_shot_thumbnails
    assert result.vtt.name == "thumbnails.vtt" and result.vtt.parent == result.sprites[0].parent
    cues = parse_vtt(result.vtt.read_text(encoding="utf-8"))
    duration = probe(three_shots).duration_s
    assert len(cues) == 12
    assert cues[0][0] == 0 and cues[-1][1] == pytest.approx(duration, abs=0.001)
    for (_, end, _, _), (start, _, _, _) in pairwise(cues):
        assert start == end  # no gap, no overlap
    sizes = {p.name: cv2.imread(str(p)).shape[:2] for p in result.sprites}
    for start, end, sprite, (x, y, w, h) in cues:
        assert start < end
        height, width = sizes[sprite]
        assert (w, h) == result.tile_size and x + w <= width and y + h <= height
    assert [cue[2] for cue in cues].count("sprite_001.jpg") == 4


def test_one_poster_per_shot_in_time_order(three_shot_thumbnails: Thumbnails) -> None:
    posters = three_shot_thumbnails.posters
    assert [p.path.name for p in posters] == ["poster_00.jpg", "poster_01.jpg", "poster_02.jpg"]
    times = [p.time_s for p in posters]
    assert 0 < times[0] < 2 < times[1] < 4 < times[2] < 6
    for poster in posters:
        image = cv2.imread(str(poster.path))
        assert image.shape[:2] == (180, 320)  # the source is smaller than poster_lines
        assert poster.sharpness > 0


def test_a_black_opening_is_never_the_poster(ffmpeg: str, tmp_path: Path) -> None:
    clip = render(
        ffmpeg,
        tmp_path / "black_open.mp4",
        f"color=black:size={SIZE}:rate=25:duration=1[a];"
        f"testsrc2=size={SIZE}:rate=25:duration=3[b];[a][b]concat=n=2:v=1:a=0[v]",
    )
    progress: list[float] = []
    result = make_thumbnails(
        ffmpeg, clip, probe(clip), tmp_path / "out", ThumbnailOptions(), on_progress=progress.append
    )
    assert progress and progress[-1] == 1.0
    assert len(result.cuts) == 1 and abs(result.cuts[0] - 1.0) <= 1 / FPS
    assert result.posters
    for poster in result.posters:
        assert poster.time_s > 1.0
        assert cv2.imread(str(poster.path)).mean() > 40


def test_audio_only_is_refused(ffmpeg: str, tmp_path: Path) -> None:
    audio = tmp_path / "audio.m4a"
    run_ffmpeg(ffmpeg, [*base_args(), "-f", "lavfi", "-i", "sine=duration=1", str(audio)])
    with pytest.raises(MediaError):
        make_thumbnails(ffmpeg, audio, probe(audio), tmp_path / "out", ThumbnailOptions())


@pytest.mark.timeout(30)
def test_a_failing_ffmpeg_is_an_error_not_a_hang(
    ffmpeg: str, three_shots: Path, tmp_path: Path
) -> None:
    not_media = tmp_path / "notes.mp4"
    not_media.write_text("a production note, not a video\n" * 50)
    with pytest.raises(FFmpegError):
        make_thumbnails(ffmpeg, not_media, probe(three_shots), tmp_path / "out", ThumbnailOptions())


# -- pure parts ------------------------------------------------------------------------------


def test_a_jump_well_above_its_surroundings_is_a_cut() -> None:
    rng = np.random.default_rng(7)
    steady = list(0.05 + 0.02 * rng.random(40))
    steady[19] = 0.8  # between frame 19 and frame 20
    assert find_cuts(steady, FPS) == (20,)


def test_steady_change_is_no_cut_however_large() -> None:
    busy = [0.3, 0.35, 0.28, 0.4, 0.33, 0.3, 0.38, 0.31, 0.29, 0.36] * 3
    assert find_cuts(busy, FPS) == ()
    assert find_cuts([0.1] * 10, FPS) == ()  # nothing to stand out from


def test_a_flash_is_no_cut() -> None:
    distances = [0.02] * 10 + [0.7, 0.7] + [0.02] * 10  # frame 11 is a white flash
    skips = [0.03] * 9 + [0.7, 0.05, 0.7] + [0.03] * 9  # frames 10 and 12 are alike
    assert find_cuts(distances, FPS) == (11,)  # what histograms alone would say
    assert find_cuts(distances, FPS, skip_distances=skips) == ()


def test_of_two_close_cuts_the_larger_is_kept() -> None:
    distances = [0.02] * 10 + [0.5, 0.9] + [0.02] * 10
    assert find_cuts(distances, FPS) == (12,)


def _frame(sharpness: float, *, black: bool = False, flat: bool = False) -> FrameStats:
    return FrameStats(
        sharpness=sharpness,
        mean_luma=5.0 if black else 120.0,
        luma_spread=2.0 if flat else 50.0,
        dark_share=0.99 if black else 0.05,
    )


def test_posters_come_from_the_longest_shots_at_their_sharpest() -> None:
    frames = (
        [_frame(900.0, black=True)] * 4  # 0-3: black, however "sharp"
        + [_frame(s) for s in (10, 20, 90, 30, 40, 50)]  # 4-9: the longest shot
        + [_frame(s) for s in (70, 5, 6, 60)]  # 10-13: its edges are passed over
        + [_frame(500.0, flat=True)] * 3  # 14-16: a slate
        + [_frame(s) for s in (1, 2)]  # 17-18: the shortest shot
    )
    cuts = [4, 10, 14, 17]
    assert choose_posters(frames, cuts, 2) == (6, 12)
    assert choose_posters(frames, cuts, 4) == (6, 12, 18)
    assert choose_posters(frames, [], 4) == (6,)
    assert choose_posters(frames, cuts, 0) == ()


def test_a_clip_without_a_usable_frame_still_has_a_poster() -> None:
    frames = [_frame(1.0, black=True), _frame(3.0, black=True), _frame(2.0, flat=True)]
    assert choose_posters(frames, [], 4) == (1,)


def test_vtt_cues_stop_at_the_tiles_written_and_at_the_duration() -> None:
    vtt = thumbnail_vtt(["a.jpg", "b.jpg"], 160, 90, 2, 2, 2.0, 9.0)
    cues = parse_vtt(vtt)
    assert [(c[0], c[1]) for c in cues] == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 9)]
    assert [c[3] for c in cues][2:] == [(0, 90, 160, 90), (160, 90, 160, 90), (0, 0, 160, 90)]
    assert cues[-1][2] == "b.jpg"
    capped = parse_vtt(thumbnail_vtt(["a.jpg"], 160, 90, 2, 2, 2.0, 10.0, tile_count=3))
    assert [(c[0], c[1]) for c in capped] == [(0, 2), (2, 4), (4, 10)]
    hours = thumbnail_vtt(["a.jpg", "b.jpg"], 16, 9, 1, 1, 3700.0, 3725.5)
    assert "01:01:40.000 --> 01:02:05.500\nb.jpg#xywh=0,0,16,9\n" in hours


def test_one_decode_feeds_sprites_and_the_analysis_pipe() -> None:
    args = thumbnail_args(Path("/media/in%.mp4"), Path("/media/out%"), SPRITE_OPTIONS, (96, 54))
    assert args.count("-i") == 1 and "-protocol_whitelist" in args
    graph = args[args.index("-filter_complex") + 1]
    assert "fps=fps=2:start_time=0" in graph and "tile=4x2" in graph
    assert "fps=fps=4:start_time=0:round=up" in graph and "scale=w=96:h=54" in graph
    assert "/media/out%%/sprite_%03d.jpg" in args
    assert args[-5:] == ["-f", "rawvideo", "-pix_fmt", "bgr24", "frames.fifo"]


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        ThumbnailOptions(interval_s=0)
    with pytest.raises(ValueError):
        ThumbnailOptions(tile_width=161)
