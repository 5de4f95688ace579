"""A synthetic match seen by virtual cameras around the field of play.

One world (a pitch with moving players and a ball, in metres) is projected through a pinhole
camera model for each camera on a ring around the pitch, so neighbouring cameras show the same
instant from genuinely different viewpoints. Every frame carries the camera's name, the event
timecode and a machine-readable frame code (:mod:`transcode.framecode`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np
from numpy.typing import NDArray

from transcode import framecode, timecode

PITCH_LENGTH, PITCH_WIDTH = 105.0, 68.0
_PLAYERS = 10
_TEAM_COLOURS = ((40, 40, 220), (220, 200, 40))  # BGR: red, light blue


@dataclass(frozen=True)
class VirtualCamera:
    name: str
    index: int
    azimuth_deg: float
    """Bearing around the pitch centre, 0 = behind the east goal, counter-clockwise."""
    distance_m: float = 80.0
    height_m: float = 25.0
    focal: float = 1.1
    """Focal length as a fraction of the image width."""


def camera_ring(count: int) -> list[VirtualCamera]:
    """``count`` cameras evenly around the pitch, named cam1..camN, in angular order."""
    return [
        VirtualCamera(name=f"cam{i + 1}", index=i, azimuth_deg=360.0 * i / count)
        for i in range(count)
    ]


def world_at(t: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Player positions (N x 3) and the ball (3,) at world time ``t`` seconds; deterministic."""
    players = np.zeros((_PLAYERS, 3))
    for k in range(_PLAYERS):
        phase = k * 1.7
        players[k, 0] = math.sin(0.23 * t + phase) * (PITCH_LENGTH * 0.38)
        players[k, 1] = math.cos(0.31 * t + phase * 1.3) * (PITCH_WIDTH * 0.38)
    ball = np.array(
        [
            math.sin(0.9 * t) * PITCH_LENGTH * 0.4,
            math.sin(1.3 * t + 0.5) * PITCH_WIDTH * 0.35,
            abs(math.sin(2.1 * t)) * 6.0 + 0.2,
        ]
    )
    return players, ball


def _pose(camera: VirtualCamera) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Rotation (world->camera) and position of ``camera``, looking at the centre spot."""
    a = math.radians(camera.azimuth_deg)
    position = np.array(
        [math.cos(a) * camera.distance_m, math.sin(a) * camera.distance_m, camera.height_m]
    )
    forward = -position / np.linalg.norm(position)
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward]), position


def project(
    camera: VirtualCamera, points: NDArray[np.float64], size: tuple[int, int]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pixel coordinates (N x 2) and depths (N,) of world ``points`` (N x 3)."""
    rotation, position = _pose(camera)
    local = (points - position) @ rotation.T
    width, height = size
    f = camera.focal * width
    depth = local[:, 2]
    safe = np.where(depth > 0.1, depth, 0.1)
    pixels = np.stack(
        [local[:, 0] / safe * f + width / 2, local[:, 1] / safe * f + height / 2], axis=1
    )
    return pixels, depth


def _pitch_lines() -> list[NDArray[np.float64]]:
    hl, hw = PITCH_LENGTH / 2, PITCH_WIDTH / 2
    outline = np.array([[-hl, -hw, 0], [hl, -hw, 0], [hl, hw, 0], [-hl, hw, 0], [-hl, -hw, 0]])
    halfway = np.array([[0, -hw, 0], [0, hw, 0]])
    circle = np.array(
        [[9.15 * math.cos(a), 9.15 * math.sin(a), 0] for a in np.linspace(0, 2 * math.pi, 40)]
    )
    boxes = [
        np.array(
            [
                [s * hl, -20.15, 0],
                [s * (hl - 16.5), -20.15, 0],
                [s * (hl - 16.5), 20.15, 0],
                [s * hl, 20.15, 0],
            ]
        )
        for s in (-1, 1)
    ]
    return [outline, halfway, circle, *boxes]


_LINES = _pitch_lines()


def match_sound(start_s: float) -> str:
    """An ffmpeg ``aevalsrc`` source of the match's sound when its clock reads ``start_s`` at the
    source's first sample: one 4 ms click in every second of match time, at a pseudo-random
    moment of its first 0.6 s and at its own loudness. Clicks on whole seconds would line up
    just as well one or two seconds off; these line up only at the true offset."""
    w = f"(t+{start_s:.6f})"
    second = f"floor({w})"
    at = f"0.6*mod(sin({second}*78.233)*43758.5453\\,1)"
    level = f"(0.1+0.8*mod(sin({second}*12.9898)*43758.5453\\,1))"
    into = f"(mod({w}\\,1)-{at})"
    click = f"if(between({into}\\,0\\,0.004)\\,{level}*sin(2*PI*2500*t)\\,0)"
    return f"aevalsrc={click}:s=48000:c=mono"


def smpte(frame: int, rate: Fraction, start_s: float = 0.0) -> str:
    """The non-drop label of event frame ``frame`` when frame 0 is at ``start_s`` of the day."""
    return timecode.from_frame_number(round(start_s * round(rate)) + frame, rate, drop=False)


def render(
    camera: VirtualCamera,
    frame: int,
    size: tuple[int, int],
    rate: Fraction,
    timecode_start_s: float = 36000.0,
) -> NDArray[np.uint8]:
    """The picture ``camera`` sees at event frame ``frame`` (BGR, ``size`` = width, height)."""
    width, height = size
    t = float(Fraction(frame) / rate)
    image = np.empty((height, width, 3), np.uint8)
    horizon = height // 3
    image[:horizon] = (150, 110, 70)
    stripes = (np.arange(height - horizon) // max(1, height // 18)) % 2
    image[horizon:] = np.where(stripes[:, None, None] == 0, (40, 125, 45), (50, 140, 55))
    scale = width / 1280
    for line in _LINES:
        pixels, depth = project(camera, line, size)
        if (depth > 1).all():
            cv2.polylines(
                image,
                [pixels.astype(np.int32)],
                False,
                (235, 235, 235),
                max(1, round(2 * scale)),
                cv2.LINE_AA,
            )
    players, ball = world_at(t)
    lifted = players + np.array([0.0, 0.0, 0.9])  # aim at the chest, not the feet
    bodies = np.vstack([lifted, ball])
    pixels, depth = project(camera, bodies, size)
    f = camera.focal * width
    for k in np.argsort(-depth):
        if depth[k] <= 1:
            continue
        x, y = int(pixels[k, 0]), int(pixels[k, 1])
        if k == _PLAYERS:
            radius = max(2, int(0.35 * f / depth[k]))
            cv2.circle(image, (x, y), radius, (255, 255, 255), -1, cv2.LINE_AA)
            continue
        radius = max(3, int(0.8 * f / depth[k]))
        colour = _TEAM_COLOURS[k % 2]
        cv2.ellipse(image, (x, y), (radius, radius * 2), 0, 0, 360, colour, -1, cv2.LINE_AA)
        cv2.putText(
            image,
            str(k + 1),
            (x - radius // 2, y + radius // 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            radius / 25,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    band = max(24, height // 14)
    image[:band] = (image[:band] * 0.35).astype(np.uint8)
    text_scale = band / 40
    cv2.putText(
        image,
        camera.name,
        (band // 3, int(band * 0.75)),
        cv2.FONT_HERSHEY_SIMPLEX,
        text_scale,
        (255, 255, 255),
        max(1, round(2 * scale)),
        cv2.LINE_AA,
    )
    code = smpte(frame, rate, timecode_start_s)
    (tw, _), _ = cv2.getTextSize(code, cv2.FONT_HERSHEY_SIMPLEX, text_scale, 2)
    cv2.putText(
        image,
        code,
        (width - tw - band // 3, int(band * 0.75)),
        cv2.FONT_HERSHEY_SIMPLEX,
        text_scale,
        (0, 230, 255),
        max(1, round(2 * scale)),
        cv2.LINE_AA,
    )
    framecode.draw(image, frame, camera.index)
    return image
