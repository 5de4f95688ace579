"""Multi-angle mosaics and cut sequences, on angle clips made with lavfi and numpy."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from transcode import framecode
from transcode.errors import MediaError
from transcode.ffmpeg import base_args, run_ffmpeg
from transcode.probe import probe
from transcode.replay.compose import (
    Angle,
    ReplayEncoding,
    SequenceCut,
    SlowMotion,
    fit_inside,
    grid_for,
    mosaic,
    mosaic_args,
    plan_sequence,
    sequence,
)

RATE = Fraction(25)
FAST = ReplayEncoding(preset="ultrafast", crf=12)
MOSAIC = (384, 216)
# Five angles that look nothing alike; the third is 4:3, so its cell is padded left and right.
SOURCES = [
    ("cam1", "testsrc2=size=320x180:rate=25", 300),
    ("cam2", "smptebars=size=320x180:rate=25", 500),
    ("cam3", "mandelbrot=size=240x180:rate=25:maxiter=64", 700),
    ("cam4", "rgbtestsrc=size=320x180:rate=25", 900),
    ("cam5", "color=c=orange:size=320x180:rate=25", 1100),
]
SEQ_SIZE = (320, 180)
SEQ_COLOURS = [(200, 60, 40), (40, 180, 60), (50, 60, 200)]  # BGR: blue, green, red
SEQ_TONES = [440, 880, 1320]


def lavfi_angle(ffmpeg, out, video, tone, seconds=2):
    """Render lavfi ``video`` with a sine of ``tone`` Hz as a near-lossless angle clip."""
    args = [*base_args(), "-f", "lavfi", "-t", str(seconds), "-i", video]
    args += ["-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-timecode", "10:00:00:00", str(out)]
    run_ffmpeg(ffmpeg, args)
    return out


def coded_angle(ffmpeg, folder, camera, seconds=3):
    """An angle clip of one colour whose frames carry (frame, camera) in a frame code strip."""
    width, height = SEQ_SIZE
    raw = folder / f"cam{camera}.bgr"
    with raw.open("wb") as handle:
        for frame in range(int(seconds * RATE)):
            image = np.empty((height, width, 3), np.uint8)
            image[:] = SEQ_COLOURS[camera]
            framecode.draw(image, frame, camera)
            handle.write(image.tobytes())
    out = folder / f"cam{camera}.mp4"
    args = [*base_args(), "-f", "rawvideo", "-pix_fmt", "bgr24", "-video_size"]
    args += [f"{width}x{height}", "-framerate", "25", "-i", str(raw), "-f", "lavfi", "-i"]
    args += [f"sine=frequency={SEQ_TONES[camera]}:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "192k", str(out)]
    run_ffmpeg(ffmpeg, args)
    raw.unlink()
    return out


def video_frames(path):
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def audio_samples(path):
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray() for frame in container.decode(audio=0)]
    mono = np.concatenate(chunks, axis=1)
    return mono.mean(axis=0) if mono.ndim == 2 else mono


def dominant_hz(samples, rate=48000):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(spectrum.argmax())])


def fitted(image, box):
    """``image`` fitted into ``box`` the way the mosaic should do it, on black."""
    fit = fit_inside(image.shape[1], image.shape[0], box)
    canvas = np.zeros((box[1], box[0], 3), np.uint8)
    scaled = cv2.resize(image, (fit.width, fit.height), interpolation=cv2.INTER_AREA)
    canvas[fit.y : fit.y + fit.height, fit.x : fit.x + fit.width] = scaled
    return canvas


def mad(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def centre(image):
    """The middle half of a cell: clear of its label (top left) and of the timecode (bottom)."""
    height, width = image.shape[:2]
    return image[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]


@pytest.fixture(scope="module")
def angles(ffmpeg, tmp_path_factory):
    folder = tmp_path_factory.mktemp("angles")
    return [
        Angle(lavfi_angle(ffmpeg, folder / f"{label}.mp4", video, tone), label)
        for label, video, tone in SOURCES
    ]


@pytest.fixture(scope="module")
def source_frames(angles):
    return {angle.label: video_frames(angle.path) for angle in angles}


@pytest.fixture(scope="module")
def coded(ffmpeg, tmp_path_factory):
    folder = tmp_path_factory.mktemp("coded")
    return [Angle(coded_angle(ffmpeg, folder, camera), f"cam{camera}") for camera in range(3)]


# -- pure parts --------------------------------------------------------------------------------


def test_grids_by_angle_count():
    assert grid_for(1, (1920, 1080)).columns == 1
    for count in (2, 3, 4):
        grid = grid_for(count, (1920, 1080))
        assert (grid.columns, grid.rows, grid.cell_width, grid.cell_height) == (2, 2, 960, 540)
    for count in range(5, 10):
        grid = grid_for(count, (1920, 1080))
        assert (grid.columns, grid.rows, grid.cell_width, grid.cell_height) == (3, 3, 640, 360)
    assert grid_for(5, (1920, 1080)).origin(4) == (640, 360)
    assert (grid_for(3, (1920, 1080), columns=3).rows, grid_for(9, MOSAIC).cell_width) == (1, 128)
    for count in (0, 10):
        with pytest.raises(MediaError):
            grid_for(count, (1920, 1080))


def test_fit_keeps_the_aspect_ratio_centred_on_even_numbers():
    assert fit_inside(1920, 1080, (960, 540)) == fit_inside(1920, 1080, (960, 540))
    fit = fit_inside(1440, 1080, (960, 540))
    assert (fit.width, fit.height, fit.x, fit.y) == (720, 540, 120, 0)
    fit = fit_inside(1080, 1920, (640, 360))
    assert fit.height == 360 and fit.width % 2 == 0 and fit.x == (640 - fit.width) // 4 * 2
    fit = fit_inside(2048, 858, (640, 360))
    assert fit.width == 640 and fit.y > 0


@pytest.mark.parametrize("count", [0, 10])
def test_mosaic_refuses_no_angles_or_more_than_nine(ffmpeg, tmp_path, count):
    angles = [Angle(tmp_path / f"cam{i}.mp4", f"cam{i}") for i in range(count)]
    with pytest.raises(MediaError):
        mosaic(ffmpeg, angles, tmp_path / "out.mp4", frame_rate=RATE)
    assert not (tmp_path / "out.mp4").exists()


# -- mosaic ------------------------------------------------------------------------------------


def check_cells(frame, grid, labels, frames_by_label, index):
    """Each cell shows its own angle's frame ``index``, scaled to fit, and no other."""
    cell = (grid.cell_width, grid.cell_height)
    for number, label in enumerate(labels):
        x, y = grid.origin(number)
        shown = frame[y : y + cell[1], x : x + cell[0]]
        distances = {
            other: mad(centre(shown), centre(fitted(sources[index], cell)))
            for other, sources in frames_by_label.items()
        }
        assert min(distances, key=distances.__getitem__) == label, distances
        assert distances[label] < 15, distances


def test_mosaic_of_four_puts_each_angle_in_its_quadrant(ffmpeg, tmp_path, angles, source_frames):
    four = angles[:4]
    progress = []
    result = mosaic(
        ffmpeg,
        four,
        tmp_path / "mosaic4.mp4",
        size=MOSAIC,
        frame_rate=RATE,
        encoding=FAST,
        on_progress=progress.append,
    )
    assert (result.width, result.height, result.frame_rate, result.frames) == (384, 216, RATE, 50)
    assert result.duration_s == pytest.approx(2.0, abs=0.05)
    assert progress[-1] == 1.0
    made = probe(result.path)
    assert made.video is not None and made.video.frame_rate == RATE and made.video.frames == 50
    assert made.audio is not None and made.audio.channels == 2

    frames = video_frames(result.path)
    grid = grid_for(4, MOSAIC)
    labels = [angle.label for angle in four]
    sources = {label: source_frames[label] for label in labels}
    for index in (0, 25, 49):  # the same instant in every cell, to the last frame
        check_cells(frames[index], grid, labels, sources, index)

    # cam3 is 4:3: fitted to 144x108 in its 192x108 cell, with black bars either side.
    x, y = grid.origin(2)
    assert frames[0][y + 30 : y + 80, x : x + 20].max() < 24
    assert frames[0][y + 30 : y + 80, x + 172 : x + 192].max() < 24

    # The labels and the timecode are burnt in: those regions differ from a plain grid.
    plain = np.zeros_like(frames[10])
    for number, label in enumerate(labels):
        x, y = grid.origin(number)
        plain[y : y + 108, x : x + 192] = fitted(sources[label][10], (192, 108))
    for number in range(4):
        x, y = grid.origin(number)
        assert (
            mad(frames[10][y + 2 : y + 16, x + 2 : x + 40], plain[y + 2 : y + 16, x + 2 : x + 40])
            > 25
        )
        assert (
            mad(
                centre(frames[10][y : y + 108, x : x + 192]),
                centre(plain[y : y + 108, x : x + 192]),
            )
            < 8
        )
    timecode = (slice(216 - 14, 216 - 4), slice(192 - 40, 192 + 40))
    assert mad(frames[10][timecode], plain[timecode]) > 25


def test_mosaic_of_five_is_a_three_by_three_grid_with_black_cells(
    ffmpeg, tmp_path, angles, source_frames
):
    result = mosaic(
        ffmpeg, angles, tmp_path / "mosaic5.mp4", size=MOSAIC, frame_rate=RATE, encoding=FAST
    )
    assert (result.width, result.height, result.frames) == (384, 216, 50)
    frames = video_frames(result.path)
    grid = grid_for(5, MOSAIC)
    assert (grid.columns, grid.rows) == (3, 3)
    check_cells(frames[30], grid, [a.label for a in angles], source_frames, 30)
    for empty in (5, 6, 8):
        x, y = grid.origin(empty)
        assert frames[30][y : y + 72, x : x + 128].max() < 24
    # The bottom centre cell is black but for the running timecode.
    x, y = grid.origin(7)
    assert frames[30][y : y + 40, x : x + 128].max() < 24
    assert frames[30][y + 40 : y + 72, x : x + 128].max() > 200


def test_mosaic_timecode_runs_from_the_first_angles_start(ffmpeg, tmp_path):
    still = [
        Angle(lavfi_angle(ffmpeg, tmp_path / f"{c}.mp4", f"color=c={c}:s=320x180:r=25", 440, 1), c)
        for c in ("gray", "navy")
    ]
    first = Angle(still[0].path, "gray", start_timecode="01:02:03:04")
    args = mosaic_args_for(first, still[1])
    assert "timecode=01\\\\:02\\\\:03\\\\:04:rate=25/1" in args
    result = mosaic(
        ffmpeg, [first, still[1]], tmp_path / "tc.mp4", size=MOSAIC, frame_rate=RATE, encoding=FAST
    )
    frames = video_frames(result.path)
    bottom = (slice(216 - 16, 216), slice(0, 384))
    rest = (slice(20, 190), slice(0, 384))
    # Nothing moves but the digits.
    assert mad(frames[0][rest], frames[1][rest]) < 1
    changes = [mad(frames[i][bottom], frames[i + 1][bottom]) for i in range(10)]
    assert min(changes) > 0.3, changes


def mosaic_args_for(*angles):
    from transcode.replay.compose import MosaicPlan

    plan = MosaicPlan(
        sources=tuple(a.path for a in angles),
        labels=tuple(a.label for a in angles),
        source_sizes=((320, 180),) * len(angles),
        grid=grid_for(len(angles), MOSAIC),
        size=MOSAIC,
        frame_rate=RATE,
        frames=25,
        timecode=angles[0].start_timecode or "00:00:00:00",
        audio=True,
    )
    args = mosaic_args(plan, Path("out.mp4"), FAST)
    assert args.count("-filter_complex") == 1 and "xstack=inputs=2" in " ".join(args)
    assert args[args.index("-movflags") + 1] == "+faststart"
    return args[args.index("-filter_complex") + 1]


# -- sequence ----------------------------------------------------------------------------------


def read_codes(frames):
    codes = []
    for frame in frames:
        code = framecode.read(frame)
        codes.append((code.camera, code.frame) if code else None)
    return codes


def test_sequence_of_three_cuts_plays_each_angle_frame_accurately(ffmpeg, tmp_path, coded):
    cam0, cam1, cam2 = coded
    cuts = [SequenceCut(cam2, 0.0, 1.0), SequenceCut(cam0, 1.0, 1.8), SequenceCut(cam1, 1.8, 3.0)]
    result = sequence(
        ffmpeg, cuts, tmp_path / "seq.mp4", size=SEQ_SIZE, frame_rate=RATE, encoding=FAST
    )
    assert (result.frames, result.width, result.height) == (75, 320, 180)
    expected = [(2, n) for n in range(25)] + [(0, n) for n in range(25, 45)]
    expected += [(1, n) for n in range(45, 75)]
    assert read_codes(video_frames(result.path)) == expected

    # The sound follows the cuts: each part has its angle's tone.
    samples = audio_samples(result.path)
    assert len(samples) == pytest.approx(3 * 48000, abs=1024)
    for (start, end), tone in zip(
        [(0, 1.0), (1.0, 1.8), (1.8, 3.0)], [1320, 440, 880], strict=True
    ):
        part = samples[int((start + 0.1) * 48000) : int((end - 0.1) * 48000)]
        assert dominant_hz(part) == pytest.approx(tone, abs=5)


@pytest.mark.parametrize("interpolation", ["motion", "blend"])
def test_slow_motion_of_one_second_at_2x_adds_one_second(ffmpeg, tmp_path, coded, interpolation):
    cam0, cam1, cam2 = coded
    cuts = [SequenceCut(cam2, 0.0, 1.0), SequenceCut(cam0, 1.0, 1.8), SequenceCut(cam1, 1.8, 3.0)]
    # 0.5-1.5 s of the edit: the end of cam2 and the start of cam0, slowed to 2 s.
    result = sequence(
        ffmpeg,
        cuts,
        tmp_path / "slow.mp4",
        slow_motion=SlowMotion(0.5, 1.5, 2),
        size=SEQ_SIZE,
        frame_rate=RATE,
        interpolation=interpolation,
        encoding=FAST,
    )
    assert result.frames == 75 + 25
    assert result.frame_rate == RATE and result.duration_s == pytest.approx(4.0, abs=0.05)
    frames = video_frames(result.path)
    codes = read_codes(frames)
    # Before and after the slow range every frame is where it should be.
    assert codes[:13] == [(2, n) for n in range(13)]
    assert codes[63:] == [(0, n) for n in range(38, 45)] + [(1, n) for n in range(45, 75)]
    # The slowed range (frames 13-37 of the edit) shows cam2 for 24 frames, then cam0 for 26.
    colours = [frame[20:150].reshape(-1, 3).mean(axis=0) for frame in frames[13:63]]
    nearest = [
        int(np.argmin([np.abs(colour - np.array(ref)).sum() for ref in SEQ_COLOURS]))
        for colour in colours
    ]
    assert nearest == [2] * 24 + [0] * 26
    # Slow motion plays silent; the sound around it is untouched.
    samples = audio_samples(result.path)
    assert len(samples) == pytest.approx(4 * 48000, abs=1024)
    assert np.abs(samples[int(0.6 * 48000) : int(2.4 * 48000)]).max() < 1e-3
    assert dominant_hz(samples[int(0.05 * 48000) : int(0.45 * 48000)]) == pytest.approx(1320, abs=5)


def test_bad_cut_lists_are_refused(ffmpeg, tmp_path, coded):
    cam0, cam1, _ = coded
    frames = {cam0.path: 75, cam1.path: 75}
    plan = {
        "frame_rate": RATE,
        "clip_frames": frames,
        "source_sizes": dict.fromkeys(frames, SEQ_SIZE),
        "audio": dict.fromkeys(frames, True),
    }
    bad = [
        [],
        [SequenceCut(cam0, 1.0, 1.0)],  # empty
        [SequenceCut(cam0, 1.0, 1.01)],  # shorter than a frame
        [SequenceCut(cam0, 1.2, 0.8)],  # backwards
        [SequenceCut(cam0, -0.2, 1.0)],  # before the clips
        [SequenceCut(cam0, 2.0, 3.2)],  # past the clip's end
        [SequenceCut(cam0, 0.0, 1.0), SequenceCut(cam1, 0.8, 2.0)],  # overlaps the previous
        [SequenceCut(cam0, 1.0, 2.0), SequenceCut(cam1, 0.0, 0.5)],  # out of order
        [SequenceCut(cam0, float("nan"), 1.0)],
    ]
    for cuts in bad:
        with pytest.raises(MediaError):
            plan_sequence(cuts, **plan)
    good = [SequenceCut(cam0, 0.0, 1.0), SequenceCut(cam1, 1.5, 2.0)]  # a jump forward is fine
    assert [p.output_frames for p in plan_sequence(good, **plan)] == [25, 12]
    for slow in (SlowMotion(1.0, 1.6, 2), SlowMotion(0.5, 0.5, 2), SlowMotion(0.2, 0.6, 1)):
        with pytest.raises(MediaError):
            plan_sequence(good, slow_motion=slow, **plan)
    pieces = plan_sequence(good, slow_motion=SlowMotion(0.8, 1.2, 2.5), **plan)
    assert [(p.start_frame, p.end_frame, p.factor) for p in pieces] == [
        (0, 20, 1),
        (20, 25, Fraction(5, 2)),
        (38, 43, Fraction(5, 2)),
        (43, 50, 1),
    ]
    with pytest.raises(MediaError):
        sequence(
            ffmpeg,
            [SequenceCut(cam0, 0.0, 1.0), SequenceCut(cam1, 0.5, 2.0)],
            tmp_path / "bad.mp4",
            size=SEQ_SIZE,
            frame_rate=RATE,
        )
    assert not (tmp_path / "bad.mp4").exists()
