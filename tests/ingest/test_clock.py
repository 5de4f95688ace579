from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from ingest.media.clock import (
    ClockSource,
    EventOrigin,
    absolute_reference,
    origin_for,
    place,
    timecode_seconds,
)


def test_non_drop_timecode():
    assert timecode_seconds("10:00:01:12", Fraction(25)) == pytest.approx(36001.48)


def test_drop_frame_timecode_skips_frame_numbers():
    rate = Fraction(30000, 1001)
    # 00:01:00;02 is the first frame of minute one: frame number 1800.
    assert timecode_seconds("00:01:00;02", rate) == pytest.approx(1800 * 1001 / 30000)
    # Every tenth minute keeps its frame numbers: 00:10:00;00 is frame 17982.
    assert timecode_seconds("00:10:00;00", rate) == pytest.approx(17982 * 1001 / 30000)


@pytest.mark.parametrize("bad", ["10:00:00", "25:61:00:00", "10:00:00:30", "abc"])
def test_bad_timecodes_are_refused(bad):
    with pytest.raises(ValueError):
        timecode_seconds(bad, Fraction(25))


def test_timecode_wins_over_creation_time():
    wall = datetime(2026, 8, 9, tzinfo=UTC)
    assert absolute_reference("10:00:00:00", wall, Fraction(25))[0] is ClockSource.TIMECODE
    assert absolute_reference(None, wall, Fraction(25)) == (ClockSource.CREATION_TIME, wall)
    assert absolute_reference("garbage", None, Fraction(25)) == (ClockSource.NONE, None)


def test_feeds_are_placed_relative_to_the_earliest():
    refs = [(ClockSource.TIMECODE, 36000.0), (ClockSource.TIMECODE, 36001.6)]
    origin = origin_for(EventOrigin(), refs)
    assert origin.timecode_s == 36000.0
    assert place(*refs[1], origin, None).start_s == pytest.approx(1.6)
    # An operator's offset shifts an embedded placement.
    assert place(*refs[1], origin, 0.25).start_s == pytest.approx(1.85)


def test_an_existing_origin_is_kept():
    wall = datetime(2026, 8, 9, 19, 30, tzinfo=UTC)
    origin = origin_for(EventOrigin(wall_clock=wall), [(ClockSource.CREATION_TIME, wall)])
    later = wall + timedelta(seconds=3.5)
    placement = place(ClockSource.CREATION_TIME, later, origin, None)
    assert (placement.start_s, placement.source) == (3.5, ClockSource.CREATION_TIME)


def test_offset_then_zero_when_nothing_is_embedded():
    assert place(ClockSource.NONE, None, EventOrigin(), 12.0).source is ClockSource.OFFSET
    assert place(ClockSource.NONE, None, EventOrigin(), None).start_s == 0.0
