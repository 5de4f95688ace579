"""The replay benchmark's figures."""

import pytest

from infra.ops.bench.figures import percentile, summary


def test_percentiles_interpolate_between_samples():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.95) == pytest.approx(8.8)
    assert percentile([2.5], 0.95) == 2.5
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_summary_reports_p50_p95_and_the_spread():
    assert summary([0.9, 1.1, 1.0]) == {"p50_s": 1.0, "p95_s": 1.09, "min_s": 0.9, "max_s": 1.1}
