"""Exact median resolution times for any day range, region-wide, per direction or per municipality.

Counts pre-aggregate into daily_counts; medians do not. A median over millions of closed requests
costs DuckDB ~100 ms per period at 10M tickets, and the Overview needs several (this period, the
previous one, every trend bucket, every area). This index answers each in a few milliseconds and
exactly, by keeping the resolution times sorted within each (group, closing day) run:

- key = run_id << SHIFT | resolution, sorted once; run_id = group * n_days + day offset, so the runs
  of one group over a day range are consecutive ids;
- the k-th smallest value over a set of runs is found by binary search on the value, counting
  "<= v" in every run at once with one vectorised np.searchsorted.

The median follows DuckDB's and pandas' definition (mean of the two middle values for an even
count). Resolution is kept in whole seconds when every value is a whole number of seconds, else in
microseconds; if the key would not fit in 63 bits the index refuses (`IndexUnavailable`) and
callers fall back to SQL.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GROUPINGS = ("all", "territory", "municipality", "category", "source")
DAY_ROOM = 92  # days of closings an index can take by updates before it is built again


class IndexUnavailable(Exception):
    """The data do not fit the index (caller computes medians in SQL instead)."""


@dataclass
class _Grouping:
    keys: np.ndarray  # sorted run_id << shift | resolution
    starts: np.ndarray  # starts[r] = first position of run r; len = n_runs + 1
    n_groups: int


class MedianIndex:
    """Sorted resolution times by (group, closing day), for exact medians over day ranges."""

    def __init__(self, closed_day: np.ndarray, groups: dict[str, np.ndarray], resolution_us: np.ndarray):
        """groups: for each grouping name but "all", a non-negative integer group per request."""
        resolution_us = np.asarray(resolution_us, dtype=np.int64)
        if len(resolution_us) and (resolution_us < 0).any():
            raise IndexUnavailable("negative resolution time")
        whole_seconds = not len(resolution_us) or not (resolution_us % 1_000_000).any()
        self.unit_per_hour = 3600.0 if whole_seconds else 3600e6
        values = resolution_us // 1_000_000 if whole_seconds else resolution_us
        days = np.asarray(closed_day, dtype=np.int64)
        # Room for the closings of the next DAY_ROOM days and for times up to twice the longest, so
        # that a daily import can update the index (updated) instead of building it again.
        self.day0 = int(days.min()) if len(days) else 0
        self.n_days = (int(days.max()) - self.day0 + 1 if len(days) else 1) + DAY_ROOM
        self.shift = max(int(values.max()).bit_length() if len(values) else 1, 1) + 1
        offsets = days - self.day0
        self.extra: dict = {}
        self._groupings: dict[str, _Grouping] = {}
        for name, group in [("all", np.zeros(len(values), dtype=np.int64))] + [
            (name, np.asarray(g, dtype=np.int64)) for name, g in groups.items()
        ]:
            n_groups = int(group.max()) + 1 if len(group) else 1
            if math.log2(max(n_groups * self.n_days, 2)) + self.shift > 62:
                raise IndexUnavailable("resolution times too long for the key")
            # One sort per grouping. (Sorting once by day and moving the keys to their groups with
            # a radix sort of the group numbers was measured no faster at 10M: the gathers cost
            # what the sorts save.)
            self._add(name, np.sort(((group * self.n_days + offsets) << self.shift) | values), n_groups)

    def _add(self, name: str, keys: np.ndarray, n_groups: int) -> None:
        """Keep one grouping's sorted keys and where each (group, day) run starts."""
        n_runs = n_groups * self.n_days
        starts = np.searchsorted(keys, np.arange(n_runs + 1, dtype=np.int64) << self.shift)
        self._groupings[name] = _Grouping(keys=keys, starts=starts, n_groups=n_groups)

    def updated(self, removed: dict[str, np.ndarray], added: dict[str, np.ndarray]) -> MedianIndex:
        """A new index: this one without the `removed` rows and with the `added` ones (an import's
        requests as they were and as they are). Each is a dict of arrays: "closed_day",
        "resolution_us" and one per grouping. Raises IndexUnavailable when the change does not fit
        (a day outside the room, a longer time, sub-second times, a removed row not held): the
        caller builds the index afresh."""
        new = MedianIndex.__new__(MedianIndex)
        new.day0, new.n_days, new.shift, new.unit_per_hour = self.day0, self.n_days, self.shift, self.unit_per_hour
        new.extra = dict(self.extra)
        new._groupings = {}
        for name, old in self._groupings.items():
            gone, n_gone = self._keys(name, removed)
            more, n_more = self._keys(name, added)
            # Remove one stored key per removed row (equal keys: the first, second, ... of them).
            at = np.searchsorted(old.keys, gone, side="left") + (np.arange(len(gone)) - np.searchsorted(gone, gone))
            if len(at) and (at.max() >= len(old.keys) or (np.asarray(old.keys[at]) != gone).any()):
                raise IndexUnavailable("a removed row is not in the index")
            kept = np.delete(np.asarray(old.keys), at)
            keys = np.insert(kept, np.searchsorted(kept, more), more)
            new._add(name, keys, max(old.n_groups, n_gone, n_more))
        return new

    def _keys(self, name: str, rows: dict[str, np.ndarray]) -> tuple[np.ndarray, int]:
        """Sorted keys of rows in a grouping's layout, and the number of groups they need."""
        resolution = np.asarray(rows["resolution_us"], dtype=np.int64)
        if self.unit_per_hour == 3600.0:
            if (resolution % 1_000_000).any():
                raise IndexUnavailable("sub-second times in an index of whole seconds")
            resolution = resolution // 1_000_000
        offsets = np.asarray(rows["closed_day"], dtype=np.int64) - self.day0
        group = np.zeros(len(resolution), dtype=np.int64) if name == "all" else np.asarray(rows[name], dtype=np.int64)
        n_groups = int(group.max()) + 1 if len(group) else 1
        if len(resolution) and (
            (resolution < 0).any() or int(resolution.max()).bit_length() > self.shift
            or offsets.min() < 0 or offsets.max() >= self.n_days or group.min() < 0
            or math.log2(max(n_groups * self.n_days, 2)) + self.shift > 62
        ):
            raise IndexUnavailable("the rows do not fit the index's room")
        return np.sort(((group * self.n_days + offsets) << self.shift) | resolution), n_groups

    FORMAT = 2  # of save/load: a saved index of another format is built again

    def save(self, directory: Path) -> None:
        """Write the arrays as .npy files (read back memory-mapped by load) and, last, meta.json
        with the scalars and `extra` (JSON-able: what the caller needs to use the index)."""
        directory = Path(directory)
        directory.mkdir(parents=True)
        for name, g in self._groupings.items():
            np.save(directory / f"{name}.keys.npy", g.keys)
            np.save(directory / f"{name}.starts.npy", g.starts)
        meta = {
            "format": self.FORMAT,
            "day0": self.day0,
            "n_days": self.n_days,
            "shift": self.shift,
            "unit_per_hour": self.unit_per_hour,
            "groupings": {name: g.n_groups for name, g in self._groupings.items()},
            "extra": self.extra,
        }
        (directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> MedianIndex:
        """An index saved by save(), its arrays memory-mapped (read-only, shared by processes)."""
        directory = Path(directory)
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != cls.FORMAT:
            raise ValueError(f"median index format {meta.get('format')}, expected {cls.FORMAT}")
        index = cls.__new__(cls)
        index.day0, index.n_days, index.shift = meta["day0"], meta["n_days"], meta["shift"]
        index.unit_per_hour = meta["unit_per_hour"]
        index.extra = meta["extra"]
        index._groupings = {
            name: _Grouping(
                keys=np.load(directory / f"{name}.keys.npy", mmap_mode="r"),
                starts=np.load(directory / f"{name}.starts.npy", mmap_mode="r"),
                n_groups=n_groups,
            )
            for name, n_groups in meta["groupings"].items()
        }
        return index

    def _runs(self, grouping: str, group: int, day_from: int, day_to: int) -> np.ndarray:
        g = self._groupings[grouping]
        lo = max(day_from - self.day0, 0)
        hi = min(day_to - self.day0, self.n_days)
        if group < 0 or group >= g.n_groups or hi <= lo:
            return np.empty(0, dtype=np.int64)
        base = group * self.n_days
        return np.arange(base + lo, base + hi, dtype=np.int64)

    def count(self, grouping: str, group: int, day_from: int, day_to: int) -> int:
        g = self._groupings[grouping]
        runs = self._runs(grouping, group, day_from, day_to)
        if not len(runs):
            return 0
        return int(g.starts[runs[-1] + 1] - g.starts[runs[0]])

    def _kth(self, g: _Grouping, runs: np.ndarray, k: int) -> int:
        """The k-th smallest value (0-based) over consecutive runs, by binary search on the value.

        The runs are consecutive ids, so their keys form one slice of the sorted array: searching
        in that slice only keeps the work small and in cache.
        """
        first = int(g.starts[runs[0]])
        keys = g.keys[first : int(g.starts[runs[-1] + 1])]
        base = runs << self.shift
        begin = g.starts[runs] - first
        # Bracket the answer by the smallest and largest value present in these runs.
        lo = int((keys[begin] - base).min())
        hi = int((keys[g.starts[runs + 1] - first - 1] - base).max())
        while lo < hi:
            mid = (lo + hi) // 2
            at_most = int((np.searchsorted(keys, base | mid, side="right") - begin).sum())
            if at_most >= k + 1:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def median_hours(self, grouping: str, group: int, day_from: int, day_to: int) -> float | None:
        """Median resolution in hours of requests closed on days [day_from, day_to) (days as
        integers since 1970-01-01) in one group (0 for "all"); None if none were closed."""
        g = self._groupings[grouping]
        runs = self._runs(grouping, group, day_from, day_to)
        n = self.count(grouping, group, day_from, day_to)
        if n == 0:
            return None
        runs = runs[g.starts[runs + 1] > g.starts[runs]]  # only runs with values (for the bracket)
        a = self._kth(g, runs, (n - 1) // 2)
        b = a if n % 2 else self._kth(g, runs, n // 2)
        return (a + b) / 2.0 / self.unit_per_hour
