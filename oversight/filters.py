"""The shared filter state: one object, its SQL parameters, and its round trip through the URL.

Every page reads the same `Filters`; the sidebar writes it to `st.query_params` so that a copied
link opens the same view. Parsing a URL never trusts it: unknown keys are ignored, malformed values
are dropped with a message, and every value reaches SQL only as a bound parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace

# URL key -> Filters field. Short keys keep shared links readable.
URL_KEYS = {
    "from": "start",
    "to": "end",
    "dir": "territory_id",
    "mun": "municipality_id",
    "org": "organization_id",
    "cat": "category_id",
    "src": "source",
}
ID_FIELDS = ("territory_id", "municipality_id", "organization_id", "category_id")
PERIOD_PRESETS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Filters:
    """Period [start, end] (whole days, inclusive) and the scope. None means "all"."""

    start: dt.date
    end: dt.date
    territory_id: int | None = None
    municipality_id: int | None = None
    organization_id: int | None = None
    category_id: int | None = None
    source: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The same scope over the period of equal length just before this one."""
        return replace(self, start=self.start - dt.timedelta(days=self.days), end=self.start - dt.timedelta(days=1))

    def params(self, as_of: dt.datetime) -> dict:
        """Bound parameters for queries: $start, $stop (exclusive), $as_of and the scope ids."""
        return {
            "start": dt.datetime.combine(self.start, dt.time()),
            "stop": dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time()),
            "as_of": as_of,
            "territory_id": self.territory_id,
            "municipality_id": self.municipality_id,
            "organization_id": self.organization_id,
            "category_id": self.category_id,
            "source": self.source,
            "building_id": None,  # a building is the drill-down's own step (oversight.analysis.drill)
        }

    def to_query_params(self) -> dict[str, str]:
        """The URL form: only what differs from "all", dates as ISO."""
        out = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for key, name in URL_KEYS.items():
            value = getattr(self, name)
            if name in ("start", "end") or value is None:
                continue
            out[key] = str(value)
        return out

    @classmethod
    def from_query_params(cls, query: dict, default: Filters) -> tuple[Filters, list[str]]:
        """Filters from URL parameters, falling back to `default`; also the problems found.

        Problems are messages keyed for i18n: ("bad_value", key, value). Bad values are dropped, not
        guessed at.
        """
        values = {f.name: getattr(default, f.name) for f in fields(cls)}
        problems: list[tuple[str, str, str]] = []
        for key, name in URL_KEYS.items():
            raw = query.get(key)
            if isinstance(raw, list):
                raw = raw[-1] if raw else None
            if raw is None or raw == "":
                continue
            try:
                values[name] = _parse(name, str(raw))
            except ValueError:
                problems.append(("bad_value", key, str(raw)[:60]))
        result = cls(**values)
        if result.end < result.start:
            problems.append(("bad_period", "to", result.end.isoformat()))
            result = replace(result, start=default.start, end=default.end)
        return result, problems


def ascii_digits(text) -> bool:
    """Whether `text` is only 0-9. str.isdigit() also accepts '²' and other Unicode digits, which
    int() then refuses: every id or number read from a link or a file is checked with this."""
    text = str(text)
    return text.isascii() and text.isdigit()


def _parse(name: str, raw: str):
    if name in ("start", "end"):
        return dt.date.fromisoformat(raw)
    if name in ID_FIELDS:
        if not ascii_digits(raw) or len(raw) > 9:
            raise ValueError(raw)
        return int(raw)
    if name == "source":
        if len(raw) > 40 or not raw.replace("_", "").replace("-", "").isalnum():
            raise ValueError(raw)
        return raw
    raise ValueError(name)


def preset_period(preset: str, as_of: dt.datetime) -> tuple[dt.date, dt.date]:
    """The last full month, quarter or year before `as_of`."""
    # The last whole day before as_of: the day of as_of itself is never complete.
    last_day = as_of.date() - dt.timedelta(days=1)
    if preset == "month":
        end = last_day.replace(day=1) - dt.timedelta(days=1) if not _is_month_end(last_day) else last_day
        return end.replace(day=1), end
    if preset == "quarter":
        q_end = _quarter_end(last_day)
        if q_end != last_day:
            q_end = _quarter_end(dt.date(last_day.year, 3 * ((last_day.month - 1) // 3) + 1, 1) - dt.timedelta(days=1))
        start = dt.date(q_end.year, q_end.month - 2, 1)
        return start, q_end
    if preset == "year":
        end = last_day if (last_day.month, last_day.day) == (12, 31) else dt.date(last_day.year - 1, 12, 31)
        return dt.date(end.year, 1, 1), end
    raise ValueError(preset)


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def _quarter_end(day: dt.date) -> dt.date:
    month = 3 * ((day.month - 1) // 3) + 3
    next_first = dt.date(day.year + (month == 12), month % 12 + 1, 1)
    return next_first - dt.timedelta(days=1)


def default_filters(as_of: dt.datetime) -> Filters:
    """The view a first visit opens: the last full quarter, whole region."""
    start, end = preset_period("quarter", as_of)
    return Filters(start=start, end=end)
