"""One timecode helper for every place a label becomes time: frames at the nominal rate, time at
the exact rate, drop-frame at 29.97 and 59.94 only."""

from __future__ import annotations

from fractions import Fraction

import pytest

from transcode import timecode as tc

NTSC, NTSC60 = Fraction(30000, 1001), Fraction(60000, 1001)


@pytest.mark.parametrize(
    "rate", [Fraction(24), Fraction(25), Fraction(30), Fraction(50), NTSC, NTSC60]
)
def test_every_label_of_a_day_round_trips(rate):
    nominal = round(rate)
    per_day = 24 * 3600 * nominal
    if tc.is_drop_frame_rate(rate):
        per_day = 144 * (10 * 60 * nominal - 9 * 2 * round(nominal / 30))
    for n in [*range(0, 5000), *range(per_day - 5000, per_day), *range(17_900, 18_100)]:
        label = tc.from_frame_number(n, rate)
        assert tc.parse(label, rate).frame_number == n, (n, label)
    # Midnight wraps.
    assert tc.from_frame_number(per_day, rate).startswith("00:00:00")


def test_drop_frame_skips_two_numbers_a_minute_but_each_tenth():
    assert tc.from_frame_number(1799, NTSC) == "00:00:59;29"
    assert tc.from_frame_number(1800, NTSC) == "00:01:00;02"
    assert tc.from_frame_number(17982, NTSC) == "00:10:00;00"
    assert tc.parse("00:01:00;02", NTSC).frame_number == 1800
    assert tc.from_frame_number(3600, NTSC60) == "00:01:00;04"
    # A drop-frame hour is an hour of wall clock (to within a frame or so); non-drop is not.
    assert tc.seconds("01:00:00;00", NTSC) == pytest.approx(3600.0, abs=0.01)
    assert tc.seconds("01:00:00:00", NTSC) == pytest.approx(3603.6)
    # Labels drop-frame never uses do not exist.
    with pytest.raises(tc.TimecodeError, match="skips"):
        tc.parse("00:01:00;00", NTSC)


def test_drop_frame_exists_at_2997_and_5994_only():
    assert tc.parse("10:00:00;00", NTSC).drop and tc.parse("10:00:00.00", NTSC60).drop
    for rate in (Fraction(25), Fraction(30), Fraction(50), Fraction(24000, 1001)):
        code = tc.parse("10:00:00;00", rate)
        assert not code.drop and code.label() == "10:00:00:00"
        assert code.frame_number == 36000 * round(rate)


def test_non_drop_counts_frames_and_divides_by_the_exact_rate():
    assert tc.seconds("10:00:01:12", Fraction(25)) == pytest.approx(36001.48)
    assert tc.seconds("00:00:01:00", NTSC) == pytest.approx(30 * 1001 / 30000)
    assert tc.seconds("00:00:01:00", Fraction(24000, 1001)) == pytest.approx(24 * 1001 / 24000)


@pytest.mark.parametrize("bad", ["10:00:00", "1:00:00:00", "24:00:00:00", "10:61:00:00",
                                 "10:00:00:25", "x", ""])  # fmt: skip
def test_bad_labels_are_refused(bad):
    with pytest.raises(tc.TimecodeError):
        tc.parse(bad, Fraction(25))
