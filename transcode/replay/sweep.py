"""The "360" freeze-frame sweep: the action stops at one instant, the picture steps through the
cameras around the field in angular order with in-between views interpolated so the move looks
continuous, then the last camera plays on from that instant.

Frames of the freeze are rendered here with OpenCV and piped to one ffmpeg encode, which also
appends the last camera's clip, so the whole replay is one file from one process.

Over 600 lines on purpose: the camera order, the in-between views and the frame pipe share one
geometry (the cameras' angles and the homographies between neighbours), and splitting them
would pass that geometry across modules without making either half readable alone.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray

from transcode.errors import FFmpegError, MediaError
from transcode.ffmpeg import ProgressCallback, base_args, run_ffmpeg
from transcode.probe import probe
from transcode.replay.compose import (
    AUDIO_RATE,
    ReplayEncoding,
    clip_audio,
    encode_args,
    fit_filters,
    fit_inside,
    frame_count,
    frames_at,
    samples_for,
)

Direction = Literal["clockwise", "counterclockwise"]
Image = NDArray[np.uint8]
ImageT = TypeVar("ImageT", NDArray[np.uint8], NDArray[np.float32])

_FLOW_LONG_SIDE = 640
"""Optical flow is measured at most this wide (or tall): camera-to-camera motion is large and
smooth, so a reduced picture gives the same field many times faster."""
_STEREO = f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo"


@dataclass(frozen=True, eq=False)
class SweepCamera:
    label: str
    angle_deg: float
    """Bearing around the field in degrees, growing counter-clockwise seen from above (as the
    virtual cameras of :mod:`transcode.scene`)."""
    still: Path | Image
    """The camera's frame at the freeze instant: an image file, or a BGR array."""
    clip: Path | None = None
    """The camera's angle clip; only the last camera's is played, after the sweep."""


@dataclass(frozen=True)
class SweepResult:
    path: Path
    frames: int
    frame_rate: Fraction
    order: tuple[str, ...]
    """Camera labels in the order the sweep shows them."""
    width: int
    height: int


# -- order -------------------------------------------------------------------------------------


def order_cameras(
    cameras: Sequence[SweepCamera], direction: Direction, start: str | None = None
) -> list[SweepCamera]:
    """``cameras`` in the order a sweep going ``direction`` meets them, from ``start``.

    Counter-clockwise is growing bearing, clockwise shrinking, both wrapping past 360; angles
    are taken modulo 360 and equal angles keep their given order. Without ``start`` the sweep
    starts on the camera with the smallest bearing. Raises :class:`MediaError` for an unknown
    direction, duplicate labels or an unknown ``start``.
    """
    if direction not in ("clockwise", "counterclockwise"):
        raise MediaError(f"direction must be clockwise or counterclockwise, not {direction!r}")
    labels = [camera.label for camera in cameras]
    if len(set(labels)) != len(labels):
        raise MediaError(f"camera labels must be unique: {labels}")
    if not cameras:
        return []
    sign = 1 if direction == "counterclockwise" else -1
    # A stable sort: cameras at one angle keep their given order either way round.
    by_angle = sorted(cameras, key=lambda camera: sign * (camera.angle_deg % 360))
    if start is None:
        first = min(range(len(by_angle)), key=lambda i: (by_angle[i].angle_deg % 360, i))
    else:
        found = [i for i, camera in enumerate(by_angle) if camera.label == start]
        if not found:
            raise MediaError(f"no camera labelled {start!r} among {labels}")
        first = found[0]
    return by_angle[first:] + by_angle[:first]


def angular_gaps(ordered: Sequence[SweepCamera], direction: Direction) -> list[float]:
    """Degrees turned between each pair of neighbours of ``ordered``, going ``direction``."""
    sign = 1 if direction == "counterclockwise" else -1
    return [
        (sign * (after.angle_deg - before.angle_deg)) % 360
        for before, after in itertools.pairwise(ordered)
    ]


def sweep_steps(gaps: Sequence[float], move_frames: int) -> list[int]:
    """In-between frames for each pair of neighbours, so the move lasts ``move_frames`` with
    every camera's own frame shown once: shared in proportion to the angle turned (a steady
    speed around the field), or evenly when no gap is known.

    Raises :class:`MediaError` when ``move_frames`` cannot show every camera once.
    """
    cameras = len(gaps) + 1
    spare = move_frames - cameras
    if spare < 0:
        raise MediaError(
            f"a sweep over {cameras} cameras needs at least {cameras} frames, not {move_frames}"
        )
    total = sum(gaps)
    weights = [gap / total for gap in gaps] if total > 0 else [1 / len(gaps)] * len(gaps)
    shares = [spare * weight for weight in weights]
    steps = [math.floor(share) for share in shares]
    # Largest remainders get the frames the floors left over.
    order = sorted(range(len(gaps)), key=lambda i: (steps[i] - shares[i], i))
    for i in order[: spare - sum(steps)]:
        steps[i] += 1
    return steps


# -- view interpolation ------------------------------------------------------------------------


def _gray(image: Image) -> Image:
    if image.ndim == 2:
        return image
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def _grid(height: int, width: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Each pixel's own x and y, the maps ``cv2.remap`` starts from."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return xs, ys


def _consistency(
    forward: NDArray[np.float32], backward: NDArray[np.float32]
) -> NDArray[np.float32]:
    """How far to trust ``forward`` at each pixel, 0 to 1: following it and then ``backward``
    should come home; where it does not (occlusions, no texture, a view too different) or leads
    out of the picture, the flow is not believed."""
    height, width = forward.shape[:2]
    xs, ys = _grid(height, width)
    to_x, to_y = xs + forward[..., 0], ys + forward[..., 1]
    back = cv2.remap(backward, to_x, to_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    error = np.linalg.norm(forward + back, axis=2)
    # Half a pixel, and looser for long vectors, whose end lands less precisely.
    tolerance = 0.5 + 0.05 * np.linalg.norm(forward, axis=2)
    confidence = np.exp(-np.square(error / tolerance)).astype(np.float32)
    inside = (to_x >= 0) & (to_x <= width - 1) & (to_y >= 0) & (to_y <= height - 1)
    confidence[~inside] = 0.0
    return np.asarray(cv2.GaussianBlur(confidence, (5, 5), 0), dtype=np.float32)


_MIN_INLIERS = 12
_MIN_PEAK = 0.05


def _global_flow(a: Image, b: Image) -> NDArray[np.float32]:
    """A first guess of where each pixel of ``a`` is in ``b``: the homography most matched
    features agree on (ORB + RANSAC), else the shift phase correlation finds, else none."""
    height, width = a.shape[:2]
    xs, ys = _grid(height, width)
    orb = cv2.ORB.create(nfeatures=1500)
    keys_a, features_a = orb.detectAndCompute(a, None)
    keys_b, features_b = orb.detectAndCompute(b, None)
    if features_a is not None and features_b is not None and len(keys_a) >= _MIN_INLIERS:
        matcher = cv2.BFMatcher.create(cv2.NORM_HAMMING, crossCheck=True)
        matches = matcher.match(features_a, features_b)
        if len(matches) >= _MIN_INLIERS:
            src = np.array([keys_a[m.queryIdx].pt for m in matches], dtype=np.float32)
            dst = np.array([keys_b[m.trainIdx].pt for m in matches], dtype=np.float32)
            homography, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
            if homography is not None and int(np.count_nonzero(inliers)) >= _MIN_INLIERS:
                points = np.dstack([xs, ys]).reshape(-1, 1, 2)
                moved = cv2.perspectiveTransform(points, homography).reshape(height, width, 2)
                flow = np.asarray(moved, dtype=np.float32) - np.dstack([xs, ys])
                if np.isfinite(flow).all() and np.abs(flow).max() < max(height, width):
                    return np.ascontiguousarray(flow, dtype=np.float32)
    (dx, dy), peak = cv2.phaseCorrelate(a.astype(np.float32), b.astype(np.float32))
    flow = np.zeros((height, width, 2), dtype=np.float32)
    if peak >= _MIN_PEAK:
        flow[..., 0], flow[..., 1] = dx, dy
    return flow


def _inverse(flow: NDArray[np.float32]) -> NDArray[np.float32]:
    """The reverse of a smooth first guess, good enough to start the backward search from."""
    return np.ascontiguousarray(-flow)


def _remap(image: ImageT, where: NDArray[np.float32], border: int) -> ImageT:
    """``image`` sampled at ``where`` (x, y per pixel), bilinear; outside is ``border``
    (replicated edge, or zero)."""
    # With (x, y) pairs in the first map OpenCV takes no second one; an empty array is not
    # read as none.
    out = cv2.remap(image, where, None, cv2.INTER_LINEAR, borderMode=border)
    return np.asarray(out, dtype=image.dtype)


class _ViewMorph:
    """The flow both ways between two views, measured once, and frames at any fraction."""

    def __init__(self, a: Image, b: Image) -> None:
        height, width = a.shape[:2]
        scale = min(1.0, _FLOW_LONG_SIDE / max(height, width))
        small = (max(8, round(width * scale)), max(8, round(height * scale)))
        area = cv2.INTER_AREA
        gray_a = np.asarray(cv2.resize(_gray(a), small, interpolation=area), dtype=np.uint8)
        gray_b = np.asarray(cv2.resize(_gray(b), small, interpolation=area), dtype=np.uint8)
        # DIS (coarse-to-fine patch search, many times faster than Farneback) refines a first
        # guess of the whole picture's motion: from zero it loses its way on the large, uniform
        # displacements between two cameras, and a flow array passed in is where it starts.
        dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        guess = _global_flow(gray_a, gray_b)
        ab = np.asarray(dis.calc(gray_a, gray_b, guess), dtype=np.float32)
        ba = np.asarray(dis.calc(gray_b, gray_a, _inverse(guess)), dtype=np.float32)
        # Trust is smooth, so it is carried along the flow at the reduced size, which saves
        # two of the four full-size remaps per frame.
        self._small_ab, self._small_ba = ab, ba
        self._trust_a, self._trust_b = _consistency(ab, ba), _consistency(ba, ab)
        self._small_grid = np.dstack(_grid(small[1], small[0]))
        stretch = np.array([width / small[0], height / small[1]], dtype=np.float32)
        self._full = (width, height)
        linear = cv2.INTER_LINEAR
        self._ab = np.asarray(cv2.resize(ab, self._full, interpolation=linear), np.float32)
        self._ab *= stretch
        self._ba = np.asarray(cv2.resize(ba, self._full, interpolation=linear), np.float32)
        self._ba *= stretch
        self._grid = np.dstack(_grid(height, width))
        self._a, self._b = a, b

    def _trust_at(
        self, trust: NDArray[np.float32], weights: tuple[float, float]
    ) -> NDArray[np.float32]:
        """``trust`` moved to the in-between frame, at full size."""
        flow = cv2.addWeighted(self._small_ab, weights[0], self._small_ba, weights[1], 0.0)
        moved = _remap(trust, self._small_grid + flow, cv2.BORDER_CONSTANT)
        return np.asarray(cv2.resize(moved, self._full, interpolation=cv2.INTER_LINEAR), np.float32)

    def at(self, t: float) -> Image:
        """The view a fraction ``t`` of the way from ``a`` to ``b``."""
        # Flow from the in-between frame back to each view, approximated from the two measured
        # fields at the same pixel (exact for a steady motion, Jiang et al., "Super SloMo").
        back, ahead = (-(1 - t) * t, t * t), ((1 - t) ** 2, -t * (1 - t))
        map_a = self._grid + cv2.addWeighted(self._ab, back[0], self._ba, back[1], 0.0)
        map_b = self._grid + cv2.addWeighted(self._ab, ahead[0], self._ba, ahead[1], 0.0)
        warped_a = _remap(self._a, map_a, cv2.BORDER_REPLICATE)
        warped_b = _remap(self._b, map_b, cv2.BORDER_REPLICATE)
        # Each warped view weighs by its nearness and how far its flow is trusted; what is left
        # goes to a plain cross-dissolve, so an unreliable match fades instead of tearing.
        weight_a = self._trust_at(self._trust_a, back) * np.float32(1 - t)
        weight_b = self._trust_at(self._trust_b, ahead) * np.float32(t)
        warped = cv2.blendLinear(warped_a, warped_b, weight_a, weight_b)
        fade = cv2.addWeighted(self._a, 1 - t, self._b, t, 0.0)
        warped_weight = weight_a + weight_b
        out = cv2.blendLinear(warped, fade, warped_weight, np.float32(1) - warped_weight)
        return np.asarray(out, dtype=np.uint8)


def _check_pair(a: Image, b: Image) -> None:
    if a.shape != b.shape:
        raise MediaError(f"views differ in size: {a.shape} and {b.shape}")
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or min(a.shape[:2]) < 2:
        raise MediaError(f"views must be 8-bit images, not {a.dtype} {a.shape}")


def interpolate_views(a: Image, b: Image, steps: int) -> list[Image]:
    """``steps`` views between neighbouring cameras ``a`` and ``b`` (same size, BGR or gray),
    at fractions 1/(steps+1) ... steps/(steps+1) of the way from ``a`` to ``b``.

    Dense optical flow (DIS) is measured both ways at reduced resolution; each view is warped
    part of the way towards the other (``cv2.remap``) and the two are blended by position.
    Where the two flows disagree (occlusions, a wide baseline) the frame falls back to a
    cross-dissolve. Identical views give copies of the view.
    """
    _check_pair(a, b)
    if steps <= 0:
        return []
    fractions = [k / (steps + 1) for k in range(1, steps + 1)]
    if np.array_equal(a, b):
        return [a.copy() for _ in fractions]
    morph = _ViewMorph(a, b)
    return [morph.at(t) for t in fractions]


# -- rendering ---------------------------------------------------------------------------------


def _load_still(camera: SweepCamera) -> Image:
    if isinstance(camera.still, Path):
        image = cv2.imread(str(camera.still), cv2.IMREAD_COLOR)
        if image is None:
            raise MediaError(f"{camera.label}: {camera.still.name} is not a readable image")
        return np.asarray(image, dtype=np.uint8)
    still = np.asarray(camera.still)
    if still.dtype != np.uint8 or still.ndim not in (2, 3) or min(still.shape[:2]) < 2:
        raise MediaError(f"{camera.label}: the still must be an 8-bit image")
    if still.ndim == 2:
        return np.asarray(cv2.cvtColor(still, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if still.shape[2] == 4:
        return np.ascontiguousarray(still[..., :3])
    if still.shape[2] != 3:
        raise MediaError(f"{camera.label}: the still must be BGR, not {still.shape[2]} channels")
    return still


def fit_still(image: Image, size: tuple[int, int]) -> Image:
    """``image`` scaled to fit ``size`` with its aspect ratio kept, on black: the same geometry
    ffmpeg gives the resumed clip, so the hand-over does not jump."""
    height, width = image.shape[:2]
    fit = fit_inside(width, height, size)
    shrinking = fit.width < width or fit.height < height
    scaled = cv2.resize(
        image,
        (fit.width, fit.height),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC,
    )
    canvas = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    canvas[fit.y : fit.y + fit.height, fit.x : fit.x + fit.width] = scaled
    return canvas


@dataclass(frozen=True)
class _LabelLayout:
    text: str
    box: tuple[int, int, int, int]
    origin: tuple[int, int]
    scale: float
    thickness: int


def _label_layout(size: tuple[int, int], label: str) -> _LabelLayout:
    width, height = size
    box_height = max(12, round(height / 14))
    margin = box_height // 3
    # Hershey fonts are ASCII only; anything else would print as garbage.
    text = "".join(ch if ch.isprintable() and ch.isascii() else "?" for ch in label).strip()
    text = text or "camera"
    scale = box_height / 40
    thickness = max(1, round(box_height / 16))
    text_width = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0]
    room = width - 2 * margin - box_height // 2
    if text_width > room:
        # A name too long for the frame is drawn smaller rather than cut.
        scale *= room / text_width
        text_width = room
    right = margin + text_width + box_height // 2
    return _LabelLayout(
        text=text,
        box=(margin, margin, right, margin + box_height),
        origin=(margin + box_height // 4, margin + box_height - box_height // 4),
        scale=scale,
        thickness=thickness,
    )


def label_box(size: tuple[int, int], label: str) -> tuple[int, int, int, int]:
    """Left, top, right and bottom of the box ``label`` is drawn on in a ``size`` frame."""
    return _label_layout(size, label).box


def draw_label(image: Image, label: str) -> Image:
    """A copy of ``image`` with ``label`` top left, white on a darkened box."""
    out = image.copy()
    height, width = out.shape[:2]
    layout = _label_layout((width, height), label)
    left, top, right, bottom = layout.box
    region = out[top:bottom, left:right]
    region[:] = (region.astype(np.uint16) * 2 // 5).astype(np.uint8)
    cv2.putText(
        out,
        layout.text,
        layout.origin,
        cv2.FONT_HERSHEY_SIMPLEX,
        layout.scale,
        (255, 255, 255),
        layout.thickness,
        cv2.LINE_AA,
    )
    return out


def _sweep_frames(
    stills: Sequence[Image], labels: Sequence[str], hold: int, steps: Sequence[int]
) -> Iterator[Image]:
    """Every frame of the freeze: the hold, then each camera and the views towards the next."""
    shown = [draw_label(still, label) for still, label in zip(stills, labels, strict=True)]
    for _ in range(hold + 1):
        yield shown[0]
    for i, count in enumerate(steps):
        before, after = stills[i], stills[i + 1]
        # The flow is measured once per pair; frames are made one at a time as ffmpeg reads.
        morph = _ViewMorph(before, after) if count and not np.array_equal(before, after) else None
        for k in range(1, count + 1):
            t = k / (count + 1)
            view = morph.at(t) if morph is not None else before
            yield draw_label(view, labels[i] if t < 0.5 else labels[i + 1])
        yield shown[i + 1]


@dataclass(frozen=True)
class ResumePlan:
    """The part of the last camera's clip played after the sweep."""

    clip: Path
    source_size: tuple[int, int]
    start_frame: int
    """The frame after the freeze instant, at the output rate."""
    frames: int
    audio: bool
    video_start_s: float = 0.0


def sweep_args(
    frames_in: Path,
    out: Path,
    *,
    size: tuple[int, int],
    frame_rate: Fraction,
    sweep_frames: int,
    resume: ResumePlan | None,
    encoding: ReplayEncoding,
) -> list[str]:
    """ffmpeg arguments that encode raw BGR frames from ``frames_in`` (a pipe) and, with
    ``resume``, play on from the last camera's clip, trimmed by frame number, in one graph.

    With resume audio the freeze is silent and the clip's sound follows from the same instant.
    """
    rate = f"{frame_rate.numerator}/{frame_rate.denominator}"
    width, height = size
    args = [*base_args(), "-f", "rawvideo", "-pix_fmt", "bgr24", "-video_size"]
    args += [f"{width}x{height}", "-framerate", rate, "-i", str(frames_in)]
    audio = resume is not None and resume.audio
    if resume is None:
        graph = ["[0:v]setsar=1,format=yuv420p[v]"]
    else:
        args += ["-i", str(resume.clip)]
        end = resume.start_frame + resume.frames
        graph = [
            "[0:v]setsar=1,format=yuv420p[s]",
            f"[1:v:0]setpts=PTS-STARTPTS,fps={rate},trim=start_frame={resume.start_frame}"
            f":end_frame={end},setpts=PTS-STARTPTS,{fit_filters(resume.source_size, size)},"
            "format=yuv420p[r]",
        ]
        if audio:
            silence = samples_for(sweep_frames, frame_rate)
            start = samples_for(resume.start_frame, frame_rate)
            length = samples_for(sweep_frames + resume.frames, frame_rate) - silence
            graph += [
                f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=end_sample={silence},{_STEREO}[sa]",
                f"{clip_audio('1:a:0', resume.video_start_s)},apad,"
                f"atrim=start_sample={start}:end_sample={start + length},asetpts=PTS-STARTPTS,"
                f"{_STEREO}[ra]",
                "[s][sa][r][ra]concat=n=2:v=1:a=1[v][a]",
            ]
        else:
            graph.append("[s][r]concat=n=2:v=1:a=0[v]")
    args += ["-filter_complex", ";".join(graph), "-map", "[v]"]
    if audio:
        args += ["-map", "[a]"]
    args += encode_args(frame_rate, encoding, audio)
    args += ["-movflags", "+faststart", "-f", "mp4", str(out)]
    return args


def _write_frames(
    pipe: BinaryIO, frames: Iterable[Image], total: int, on_progress: ProgressCallback | None
) -> None:
    """Write ``frames`` to ``pipe`` and close it; stop quietly if ffmpeg stopped reading."""
    last_report = time.monotonic()
    try:
        for written, frame in enumerate(frames, start=1):
            pipe.write(np.ascontiguousarray(frame).data)
            if on_progress is not None and time.monotonic() - last_report >= 0.5:
                last_report = time.monotonic()
                on_progress(min(written / total, 0.99))
    except BrokenPipeError:
        pass  # ffmpeg is gone; its own error says why
    finally:
        # Closing flushes, which fails the same way when ffmpeg is gone; the file closes anyway.
        with contextlib.suppress(BrokenPipeError):
            pipe.close()


def _open_writer(fifo: Path, encoder: threading.Thread) -> int | None:
    """Open the pipe's writing end once ffmpeg has opened its reading end; ``None`` when the
    encoder ended without opening it."""
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        if not encoder.is_alive():
            return None
        time.sleep(0.01)


def _encode_piped(
    ffmpeg: str,
    build_args: Callable[[Path], list[str]],
    frames: Iterable[Image],
    total: int,
    *,
    timeout_s: float | None,
    on_progress: ProgressCallback | None,
) -> None:
    """Run ffmpeg on a named pipe and write ``frames`` into it from this thread.

    ffmpeg runs in a helper thread (``run_ffmpeg`` keeps its stdin closed, so the frames go
    through a FIFO); progress is counted here, in frames written, so callers see it on their own
    thread. If ffmpeg dies, the write fails, the loop stops and its error is raised.
    """
    failures: list[FFmpegError | OSError] = []
    with tempfile.TemporaryDirectory(prefix="vantage-sweep-") as folder:
        fifo = Path(folder) / "frames.bgr"
        os.mkfifo(fifo)

        def encode() -> None:
            try:
                run_ffmpeg(ffmpeg, build_args(fifo), timeout_s=timeout_s)
            except (FFmpegError, OSError) as exc:
                failures.append(exc)

        encoder = threading.Thread(target=encode, name="sweep-encode", daemon=True)
        encoder.start()
        try:
            descriptor = _open_writer(fifo, encoder)
            if descriptor is not None:
                os.set_blocking(descriptor, True)
                _write_frames(os.fdopen(descriptor, "wb"), frames, total, on_progress)
        finally:
            # A frame that failed to render closed the pipe above: ffmpeg sees the end and stops.
            encoder.join()
    if failures:
        raise failures[0]


def _resume_plan(
    camera: SweepCamera, at_frame: int, frames: int, frame_rate: Fraction
) -> ResumePlan:
    if camera.clip is None:
        raise MediaError(f"{camera.label}: the last camera needs its clip to play on from")
    info = probe(camera.clip, verify=False)
    if info.video is None:
        raise MediaError(f"{camera.label}: {camera.clip.name} has no video stream")
    available = frames_at(info, frame_rate)
    start = at_frame + 1
    if start + frames > available:
        raise MediaError(
            f"{camera.label}: {camera.clip.name} holds {available} frames; playing on "
            f"{frames} after frame {at_frame} needs {start + frames}"
        )
    return ResumePlan(
        clip=camera.clip,
        source_size=info.video.display_size,
        start_frame=start,
        frames=frames,
        audio=info.audio is not None,
        video_start_s=info.video.start_s,
    )


def make_sweep(
    ffmpeg: str,
    cameras: Sequence[SweepCamera],
    out: Path,
    *,
    duration_s: float,
    direction: Direction = "counterclockwise",
    start: str | None = None,
    at_s: float = 0.0,
    hold_s: float = 0.0,
    resume_s: float = 0.0,
    size: tuple[int, int] = (1920, 1080),
    frame_rate: Fraction,
    encoding: ReplayEncoding = ReplayEncoding(),
    timeout_s: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> SweepResult:
    """Freeze at one instant and sweep around the cameras, then play on from the last one.

    The cameras are ordered with :func:`order_cameras`. The picture holds the first camera's
    still for ``hold_s``, then moves through every camera's still for ``duration_s`` with views
    interpolated between neighbours (:func:`interpolate_views`), in-between frames shared in
    proportion to the angle turned; the first frame of the move is the first camera's still and
    its last the last camera's. Stills are fitted to ``size`` and carry the nearest camera's
    label. With ``resume_s``, the last camera's clip plays on for that long from the frame after
    ``at_s`` (the freeze instant, seconds into the clips), untouched by labels; the freeze is
    silent and the clip's sound comes in with it. Frames count ``hold_s + duration_s +
    resume_s`` at ``frame_rate``, each rounded to whole frames. H.264 (yuv420p), AAC when the
    clip has sound, MP4 with the index first. Progress counts frames rendered; ``timeout_s``
    covers the rendering too, as ffmpeg runs alongside it.

    Raises :class:`MediaError` for fewer than two cameras, unreadable stills, a missing or too
    short clip, or times that do not fit, and :class:`FFmpegError` when ffmpeg fails.
    """
    if len(cameras) < 2:
        raise MediaError(f"a sweep needs at least 2 cameras, not {len(cameras)}")
    width, height = size
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise MediaError(f"output size {width}x{height} must be even and at least 16x16")
    if frame_rate <= 0:
        raise MediaError(f"frame rate {frame_rate} must be positive")
    if min(duration_s, hold_s, resume_s, at_s) < 0 or not all(
        math.isfinite(value) for value in (duration_s, hold_s, resume_s, at_s)
    ):
        raise MediaError("sweep times must be finite and not negative")
    ordered = order_cameras(cameras, direction, start)
    hold = frame_count(hold_s, frame_rate)
    move = frame_count(duration_s, frame_rate)
    steps = sweep_steps(angular_gaps(ordered, direction), move)
    resume_frames = frame_count(resume_s, frame_rate)
    resume = (
        _resume_plan(ordered[-1], frame_count(at_s, frame_rate), resume_frames, frame_rate)
        if resume_frames
        else None
    )
    stills = [fit_still(_load_still(camera), size) for camera in ordered]
    labels = [camera.label for camera in ordered]
    sweep_frames = hold + move
    total = sweep_frames + resume_frames
    out.parent.mkdir(parents=True, exist_ok=True)

    def build(fifo: Path) -> list[str]:
        return sweep_args(
            fifo,
            out,
            size=size,
            frame_rate=frame_rate,
            sweep_frames=sweep_frames,
            resume=resume,
            encoding=encoding,
        )

    try:
        _encode_piped(
            ffmpeg,
            build,
            _sweep_frames(stills, labels, hold, steps),
            total,
            timeout_s=timeout_s,
            on_progress=on_progress,
        )
    except BaseException:
        # ffmpeg ends cleanly on a pipe that closed early; never leave that half replay behind.
        out.unlink(missing_ok=True)
        raise
    made = probe(out, verify=False)
    if made.video is None or not made.video.frames:
        raise MediaError(f"{out.name}: the sweep has no video")
    if on_progress is not None:
        on_progress(1.0)
    return SweepResult(
        path=out,
        frames=made.video.frames,
        frame_rate=frame_rate,
        order=tuple(labels),
        width=made.video.width,
        height=made.video.height,
    )
