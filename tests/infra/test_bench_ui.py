"""``vantage bench ui`` on the real stack, in Chromium: it measures what it says (figures in
range, frames read back from the pictures), without timing anything against a limit."""

from __future__ import annotations

import pytest

from infra.ops.bench.ui import ui_benchmark
from infra.ops.cli.progress import wait_for_jobs

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_the_benchmark_times_an_editor_in_the_browser(embedded, worker, api_url, browser):
    result = ui_benchmark(embedded, repeat=2, play_s=2.0, wait=wait_for_jobs, browser=browser)
    first = result["search_to_first_frame_all_angles"]
    assert 0 < first["min_s"] <= first["p50_s"] <= first["p95_s"] <= first["max_s"]
    playing, stepped = (
        result["sync_error_frames_while_playing"],
        result["sync_error_frames_after_steps"],
    )
    assert playing["samples"] >= 5 and playing["read"] >= 1
    # Paused frame steps show exactly one instant on every angle: read from the pictures.
    assert stepped == {"samples": 10, "read": 10, "p50": 0.0, "max": 0}
    assert result["order_to_playing_s"] > 0
    assert result["goals"] == {"first_frame_p95_s": 1.5, "sync_error_max_frames": 1}
    assert set(result["met"]) == {"first_frame_p95_s", "sync_while_playing", "sync_after_steps"}
