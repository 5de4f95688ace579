"""The feed and recording state machines: every move in the tables, and the ones they refuse."""

from __future__ import annotations

import itertools

import pytest

from catalog import states
from catalog.models import Asset, AssetStatus, Feed, FeedState
from infra.core.errors import Conflict


def feed(state: FeedState = FeedState.IDLE, *, enabled: bool = False) -> Feed:
    return Feed(name="cam1", state=state, enabled=enabled, state_detail=None)


def asset(status: AssetStatus, *, size_bytes: int = 0) -> Asset:
    return Asset(filename="cam1.mp4", status=status, size_bytes=size_bytes, error=None)


@pytest.mark.parametrize(("start", "end"), list(itertools.product(FeedState, FeedState)))
def test_a_feed_moves_only_along_the_table(start: FeedState, end: FeedState) -> None:
    row = feed(start)
    if start is end or end in states.FEED_MOVES[start]:
        states.report_feed(row, end, "seen")
        assert row.state is end and row.state_detail == "seen"
    else:
        with pytest.raises(states.IllegalMove, match=f"from {start} to {end}"):
            states.report_feed(row, end)
        assert row.state is start


def test_start_and_stop_are_no_ops_when_already_applied() -> None:
    row = feed(FeedState.STOPPED)
    assert states.start_feed(row) is True
    assert (row.enabled, row.state, row.state_detail) == (
        True,
        FeedState.CONNECTING,
        "start requested",
    )
    states.report_feed(row, FeedState.LIVE)
    assert states.start_feed(row) is False  # an enabled, live feed stays live
    assert row.state is FeedState.LIVE
    assert states.stop_feed(row) is True and row.enabled is False
    assert states.stop_feed(row) is False


def test_a_failed_feed_is_disabled_until_an_operator_starts_it() -> None:
    row = feed(FeedState.CONNECTING, enabled=True)
    assert states.report_feed(row, FeedState.FAILED, "never connected") is True
    assert row.enabled is False
    assert states.report_feed(row, FeedState.FAILED, "never connected") is False
    with pytest.raises(Conflict):  # an illegal move is a 409 in the API
        states.report_feed(row, FeedState.LIVE)


@pytest.mark.parametrize(("start", "end"), list(itertools.product(AssetStatus, AssetStatus)))
def test_a_recording_moves_only_along_the_table(start: AssetStatus, end: AssetStatus) -> None:
    row = asset(start)
    allowed = start is end or end in states.ASSET_MOVES[start]
    if allowed:
        states._move_asset(row, end)
        assert row.status is end
    else:
        with pytest.raises(states.IllegalMove):
            states._move_asset(row, end)
        assert row.status is start


def test_recording_verbs() -> None:
    ready = asset(AssetStatus.READY)
    assert states.begin_processing(ready) is False and ready.status is AssetStatus.READY
    assert states.publish_asset(ready) is False  # not the first time: no second webhook

    fresh = asset(AssetStatus.INGESTING)
    assert states.begin_processing(fresh) is True and fresh.status is AssetStatus.PROCESSING
    assert states.fail_asset(fresh, "no video stream") is True
    assert (fresh.status, fresh.error) == (AssetStatus.FAILED, "no video stream")
    assert states.begin_processing(fresh) is True  # a retry
    assert states.publish_asset(fresh) is True and fresh.error is None

    live = asset(AssetStatus.RECORDING, size_bytes=0)
    assert states.end_recording(live) is True and live.status is AssetStatus.FAILED
    live.size_bytes = 1_000
    assert states.start_recording(live) is True
    assert states.end_recording(live) is True and live.status is AssetStatus.READY
