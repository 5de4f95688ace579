from fractions import Fraction

import cv2
import numpy as np
import pytest

from transcode import framecode
from transcode.scene import camera_ring, render, smpte


def test_round_trip_at_any_size():
    for size in [(1920, 1080), (640, 360), (426, 240)]:
        image = np.full((size[1], size[0], 3), 90, np.uint8)
        framecode.draw(image, 123_456, 7)
        assert framecode.read(image) == framecode.FrameCode(123_456, 7)


def test_survives_scaling_and_jpeg():
    image = render(camera_ring(4)[2], 4321, (1280, 720), Fraction(25))
    small = cv2.resize(image, (426, 240), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 40])
    assert ok
    assert framecode.read(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)) == framecode.FrameCode(4321, 2)


def test_damage_is_detected_not_misread():
    image = np.zeros((360, 640, 3), np.uint8)
    framecode.draw(image, 1000, 1)
    image[-10:, 100:140] = 255 - image[-10:, 100:140]  # flip a block
    assert framecode.read(image) is None
    assert framecode.read(np.zeros((360, 640, 3), np.uint8)) is None


@pytest.mark.parametrize("bad", [(-1, 0), (1 << 24, 0), (0, 16)])
def test_out_of_range_is_refused(bad):
    with pytest.raises(ValueError):
        framecode.bits_for(*bad)


def test_cameras_around_the_pitch_see_different_pictures():
    ring = camera_ring(4)
    pictures = [render(c, 100, (320, 180), Fraction(25)) for c in ring]
    for a in range(4):
        for b in range(a + 1, 4):
            assert np.abs(pictures[a].astype(int) - pictures[b].astype(int)).mean() > 3
    # The world moves: the same camera differs a second later.
    later = render(ring[0], 125, (320, 180), Fraction(25))
    assert np.abs(later.astype(int) - pictures[0].astype(int)).mean() > 0.5


def test_smpte_counts_frames():
    assert smpte(0, Fraction(25), 36000) == "10:00:00:00"
    assert smpte(26, Fraction(25), 36000) == "10:00:01:01"
