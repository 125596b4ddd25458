"""The median index against numpy's median on random data, including even counts and empty ranges."""

from __future__ import annotations

import numpy as np
import pytest

from oversight.analysis.medians import MedianIndex


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_index_equals_numpy_median(seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    day = rng.integers(17_000, 17_200, n)
    territory = rng.integers(1, 5, n)
    municipality = rng.integers(1, 62, n)
    resolution = rng.integers(1, 10**6, n) * 1_000_000  # whole seconds in microseconds
    if seed == 2:
        resolution = resolution + rng.integers(0, 999_999, n)  # sub-second precision
    index = MedianIndex(day, {"territory": territory, "municipality": municipality}, resolution)
    for _ in range(200):
        a = int(rng.integers(16_990, 17_210))
        b = a + int(rng.integers(0, 60))
        for grouping, group, mask in [
            ("all", 0, np.ones(n, bool)),
            ("territory", int(rng.integers(1, 5)), None),
            ("municipality", int(rng.integers(1, 62)), None),
        ]:
            if mask is None:
                mask = (territory if grouping == "territory" else municipality) == group
            sel = resolution[mask & (day >= a) & (day < b)]
            got = index.median_hours(grouping, group, a, b)
            if len(sel) == 0:
                assert got is None
            else:
                assert got == pytest.approx(np.median(sel) / 3600e6, rel=1e-12)


def test_unknown_group_and_out_of_range_days_are_empty():
    index = MedianIndex(np.array([10, 11]), {"territory": np.array([1, 1]), "municipality": np.array([3, 3])}, np.array([3_600_000_000, 7_200_000_000]))
    assert index.median_hours("all", 0, 10, 12) == 1.5
    assert index.median_hours("municipality", 99, 10, 12) is None
    assert index.median_hours("all", 0, 100, 200) is None
    assert index.count("territory", 1, 11, 12) == 1
