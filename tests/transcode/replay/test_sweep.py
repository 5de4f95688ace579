"""The 360 freeze-frame sweep: camera order, view interpolation, and the encoded replay."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.probe import probe
from transcode.replay.compose import ReplayEncoding
from transcode.replay.sweep import (
    SweepCamera,
    angular_gaps,
    draw_label,
    interpolate_views,
    label_box,
    make_sweep,
    order_cameras,
    sweep_steps,
)

RATE = Fraction(25)
SIZE = (320, 180)
FAST = ReplayEncoding(preset="ultrafast", crf=12)
AT_S = 0.8  # the freeze instant, frame 20 of the clips
# Four cameras around the field, listed out of order; the clips of cam-c and cam-d, last in
# one direction or the other, move every frame.
CAMERAS = [
    ("cam-c", 190.0, "testsrc2=size=320x180:rate=25"),
    ("cam-a", 10.0, "smptebars=size=320x180:rate=25"),
    ("cam-d", 280.0, "testsrc2=size=320x180:rate=25,hflip,negate"),
    ("cam-b", 100.0, "testsrc=size=320x180:rate=25"),
]


def texture(height, width, seed=7):
    """A smooth random picture with detail at every position, as optical flow wants."""
    rng = np.random.default_rng(seed)
    base = rng.random((height // 6, width // 6, 3)).astype(np.float32)
    image = cv2.GaussianBlur(
        cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC), (0, 0), 1.5
    )
    image = (image - image.min()) / (image.max() - image.min()) * 255
    return image.astype(np.uint8)


def mad(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def camera(label, angle):
    return SweepCamera(label, angle, np.zeros((4, 4, 3), np.uint8))


def labels(cameras):
    return [c.label for c in cameras]


def unlabelled(image, label="cam-0"):
    """``image`` without the corner where ``label`` is drawn."""
    _, _, right, bottom = label_box((image.shape[1], image.shape[0]), label)
    keep = np.ones(image.shape[:2], bool)
    keep[: bottom + 2, : right + 2] = False
    return image[keep]


@pytest.fixture(scope="module")
def clips(ffmpeg, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    made = {}
    for label, _, video in CAMERAS:
        out = folder / f"{label}.mp4"
        args = [*base_args(), "-f", "lavfi", "-t", "2", "-i", video]
        args += ["-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000:duration=2"]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"]
        args += ["-c:a", "aac", str(out)]
        run_ffmpeg(ffmpeg, args)
        with av.open(str(out)) as container:
            made[label] = (out, [f.to_ndarray(format="bgr24") for f in container.decode(video=0)])
    return made


@pytest.fixture(scope="module")
def cameras(clips):
    return [
        SweepCamera(label, angle, clips[label][1][20], clips[label][0])
        for label, angle, _ in CAMERAS
    ]


# -- order -------------------------------------------------------------------------------------


def test_cameras_are_ordered_by_angle_both_ways_wrapping_around():
    ring = [camera("c", 190), camera("a", 10), camera("d", 280), camera("b", 100)]
    assert labels(order_cameras(ring, "counterclockwise")) == ["a", "b", "c", "d"]
    assert labels(order_cameras(ring, "clockwise")) == ["a", "d", "c", "b"]
    assert labels(order_cameras(ring, "counterclockwise", "c")) == ["c", "d", "a", "b"]
    assert labels(order_cameras(ring, "clockwise", "c")) == ["c", "b", "a", "d"]
    # Bearings are taken modulo 360: -90 is 270, 370 is 10.
    wrapped = [camera("x", -90), camera("y", 370), camera("z", 180)]
    assert labels(order_cameras(wrapped, "counterclockwise")) == ["y", "z", "x"]
    assert angular_gaps(order_cameras(ring, "clockwise", "c"), "clockwise") == [90, 90, 90]
    assert angular_gaps(order_cameras(wrapped, "counterclockwise"), "counterclockwise") == [
        170,
        90,
    ]


def test_bad_orders_are_refused():
    ring = [camera("a", 0), camera("b", 90)]
    with pytest.raises(MediaError):
        order_cameras(ring, "clockwise", "nope")
    with pytest.raises(MediaError):
        order_cameras(ring, "sideways")  # type: ignore[arg-type]
    with pytest.raises(MediaError):
        order_cameras([camera("a", 0), camera("a", 90)], "clockwise")


def test_in_between_frames_follow_the_angle_turned():
    assert sweep_steps([90, 90, 90], 26) == [8, 7, 7]
    assert sweep_steps([30, 60], 12) == [3, 6]
    assert sweep_steps([0, 0], 7) == [2, 2]
    assert sum(sweep_steps([10, 200, 45, 45], 101)) == 96
    assert sweep_steps([90], 2) == [0]
    with pytest.raises(MediaError):
        sweep_steps([90, 90], 2)


# -- view interpolation ------------------------------------------------------------------------


def test_interpolated_views_follow_a_shift_better_than_a_cross_fade():
    wide = texture(200, 400)
    shift = 24
    a = wide[10:190, 40:360]
    b = wide[10:190, 40 - shift : 360 - shift]  # the picture moved right by 24 px
    views = interpolate_views(a, b, 3)
    assert len(views) == 3 and all(v.shape == a.shape and v.dtype == np.uint8 for v in views)
    inner = (slice(20, 160), slice(40, 280))
    for k, view in enumerate(views, start=1):
        moved = round(shift * k / 4)
        truth = wide[10:190, 40 - moved : 360 - moved]
        fade = cv2.addWeighted(a, 1 - k / 4, b, k / 4, 0)
        assert mad(view[inner], truth[inner]) < 3
        assert mad(view[inner], truth[inner]) < mad(fade[inner], truth[inner]) / 5


def test_interpolated_views_start_near_a_and_end_near_b():
    wide = texture(200, 400, seed=3)
    a, b = wide[10:190, 30:350], wide[10:190, 10:330]
    views = interpolate_views(a, b, 9)
    assert len(views) == 9
    assert mad(views[0], a) < mad(views[0], b) / 3
    assert mad(views[-1], b) < mad(views[-1], a) / 3
    assert mad(views[0], a) < mad(views[4], a) < mad(views[-1], a)


def test_identical_views_give_identical_frames():
    image = texture(90, 160, seed=5)
    views = interpolate_views(image, image.copy(), 4)
    assert len(views) == 4 and all(np.array_equal(view, image) for view in views)
    assert interpolate_views(image, image, 0) == []
    with pytest.raises(MediaError):
        interpolate_views(image, image[:80], 2)


# -- the replay --------------------------------------------------------------------------------


def frames_of(path):
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


@pytest.mark.parametrize(
    ("direction", "order"),
    [
        ("counterclockwise", ("cam-a", "cam-b", "cam-c", "cam-d")),
        ("clockwise", ("cam-b", "cam-a", "cam-d", "cam-c")),
    ],
)
def test_sweep_freezes_moves_round_and_plays_on(ffmpeg, tmp_path, clips, cameras, direction, order):
    start = order[0]
    progress = []
    result = make_sweep(
        ffmpeg,
        cameras,
        tmp_path / "sweep.mp4",
        duration_s=1.0,
        direction=direction,
        start=start,
        at_s=AT_S,
        hold_s=0.2,
        resume_s=0.4,
        size=SIZE,
        frame_rate=RATE,
        encoding=FAST,
        on_progress=progress.append,
    )
    assert result.order == order
    hold, move, resume = 5, 25, 10
    assert result.frames == hold + move + resume
    assert (result.width, result.height, result.frame_rate) == (320, 180, RATE)
    assert progress[-1] == 1.0
    made = probe(result.path)
    assert made.video is not None and made.video.frames == 40 and made.audio is not None

    frames = frames_of(result.path)
    first, last = clips[order[0]][1][20], clips[order[-1]][1][20]
    # Held on the first camera's still, labelled with its name.
    for frame in frames[: hold + 1]:
        assert mad(unlabelled(frame, order[0]), unlabelled(first, order[0])) < 3
    left, top, right, bottom = label_box(SIZE, order[0])
    assert mad(frames[0][top:bottom, left:right], first[top:bottom, left:right]) > 10
    # The sweep ends on the last camera's still.
    end = hold + move - 1
    assert mad(unlabelled(frames[end], order[-1]), unlabelled(last, order[-1])) < 3
    # Every camera's still is shown on its way round, in order.
    shown = [
        min(range(len(frames)), key=lambda i, s=clips[label][1][20]: mad(frames[i], s))
        for label in order
    ]
    assert shown == sorted(shown) and shown[0] <= hold and shown[-1] == end
    # It plays on from the frame after the freeze instant.
    played = clips[order[-1]][1]
    for offset in range(resume):
        assert mad(frames[end + 1 + offset], played[21 + offset]) < 3
    assert mad(frames[end + 1], played[21]) < mad(frames[end + 1], played[20])


def test_sweep_without_resume_needs_no_clip(ffmpeg, tmp_path):
    stills = [texture(180, 320, seed=s) for s in range(3)]
    cameras = [SweepCamera(f"cam{i}", 120.0 * i, still) for i, still in enumerate(stills)]
    result = make_sweep(
        ffmpeg,
        cameras,
        tmp_path / "sweep.mp4",
        duration_s=0.4,
        size=(160, 90),
        frame_rate=RATE,
        encoding=FAST,
    )
    assert result.frames == 10 and (result.width, result.height) == (160, 90)
    assert result.order == ("cam0", "cam1", "cam2")
    assert probe(result.path).audio is None


def test_bad_sweeps_are_refused(ffmpeg, tmp_path, cameras):
    out = tmp_path / "sweep.mp4"
    common = {"duration_s": 1.0, "size": SIZE, "frame_rate": RATE}
    with pytest.raises(MediaError):
        make_sweep(ffmpeg, cameras[:1], out, **common)
    with pytest.raises(MediaError):  # the last camera has no clip to play on from
        no_clip = [SweepCamera(c.label, c.angle_deg, c.still) for c in cameras]
        make_sweep(ffmpeg, no_clip, out, resume_s=0.4, **common)
    with pytest.raises(MediaError):  # its clip ends before the resume does
        make_sweep(ffmpeg, cameras, out, at_s=1.5, resume_s=1.0, **common)
    with pytest.raises(MediaError):  # fewer frames than cameras
        make_sweep(ffmpeg, cameras, out, duration_s=0.1, size=SIZE, frame_rate=RATE)
    with pytest.raises(MediaError):
        make_sweep(ffmpeg, cameras, out, hold_s=-1, **common)
    with pytest.raises(MediaError):
        broken = [*cameras[:3], SweepCamera("cam-x", 300, tmp_path / "missing.png")]
        make_sweep(ffmpeg, broken, out, **common)
    assert not out.exists()


def test_label_is_drawn_without_touching_the_picture():
    image = np.full((180, 320, 3), 128, np.uint8)
    name = "cam-7 ünïcode"
    labelled = draw_label(image, name)
    left, top, right, bottom = label_box((320, 180), name)
    assert right - left > label_box((320, 180), "c")[2] - label_box((320, 180), "c")[0]
    assert mad(labelled[top:bottom, left:right], image[top:bottom, left:right]) > 20
    assert np.array_equal(unlabelled(labelled, name), unlabelled(image, name))
    # A name longer than the frame is wide is drawn smaller, inside the frame.
    assert label_box((320, 180), "x" * 200)[2] < 320
    assert np.array_equal(image, np.full((180, 320, 3), 128, np.uint8))
