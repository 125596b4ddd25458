"""How fresh the data are: the line every page shows under its title (issue #20).

Two moments describe a database: `dataset.as_of`, the moment the export describes, and
`dataset.loaded_at`, when the latest import finished (every successful import writes the dataset
row; the `imports` table's newest row is the same moment). The data are *stale* when the latest
import is older than `[freshness] warn_after_hours` of the settings file (oversight/settings.py;
default 26 hours: a daily export, with two hours' grace). Older means strictly older: at exactly
the limit the data are still fresh.

Demo data are never stale: a demonstration database is built, not imported into (an import
replaces it), so the age of its build says nothing about the inspectorate's data. Its pages keep the
demo banner, which already says what the data are and the moment they describe.

All times are Moscow time without a time zone, as the data are written (store.moscow_now()). No
Streamlit here: oversight.ui.shell.page_header draws what `note()` decides.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from oversight import settings
from oversight.i18n import fmt_datetime, fmt_number, t

LOG = logging.getLogger(__name__)
DEFAULT_WARN_AFTER_HOURS = float(settings.DEFAULTS["freshness"]["warn_after_hours"])
_told: set[tuple] = set()  # the settings problems already logged (once per file version, not per page run)


def _warn_once(key: tuple, message: str, *args) -> None:
    if key not in _told:
        _told.add(key)
        LOG.warning(message, *args)


def warn_after_hours(path: Path | str | None = None) -> float:
    """The limit from the settings file, in hours. A file that cannot be read (not TOML, not
    readable) or a value that is not a positive number gives the default, and a warning in the
    server's log (once per version of the file): a typo in the settings never breaks a page."""
    where = Path(path) if path is not None else settings.config_path()
    try:
        stamp = where.stat().st_mtime_ns
    except OSError:
        stamp = None
    try:
        value = settings.section("freshness", where).get("warn_after_hours", DEFAULT_WARN_AFTER_HOURS)
    except (settings.SettingsError, OSError) as error:
        _warn_once((str(where), stamp, "unreadable"), "settings file unreadable, warn_after_hours = %s (the default) "
                   "is used: %s", DEFAULT_WARN_AFTER_HOURS, error)
        return DEFAULT_WARN_AFTER_HOURS
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        _warn_once((str(where), stamp, "value"), "%s: [freshness] warn_after_hours = %r is not a positive number of "
                   "hours; %s (the default) is used", where, value, DEFAULT_WARN_AFTER_HOURS)
        return DEFAULT_WARN_AFTER_HOURS
    return float(value)


@dataclass(frozen=True)
class Freshness:
    """The data's moments and what they mean now."""

    as_of: dt.datetime
    loaded_at: dt.datetime | None  # the latest import (None: not recorded)
    now: dt.datetime
    warn_after_hours: float
    is_demo: bool

    @property
    def age(self) -> dt.timedelta | None:
        """How long ago the latest import finished (never negative: a server clock a little behind
        the one that wrote loaded_at reads as "just now")."""
        if self.loaded_at is None:
            return None
        return max(self.now - self.loaded_at, dt.timedelta(0))

    @property
    def stale(self) -> bool:
        """Older than the limit (strictly), or of an unknown age; never for demo data."""
        if self.is_demo:
            return False
        age = self.age
        return age is None or age > dt.timedelta(hours=self.warn_after_hours)


def _moment(value) -> dt.datetime | None:
    """A datetime from what a query returns (a pandas Timestamp, NaT, None or a datetime)."""
    if value is None:
        return None
    try:
        if value != value:  # NaT, NaN
            return None
    except (TypeError, ValueError):
        pass
    to_py = getattr(value, "to_pydatetime", None)
    moment = to_py() if to_py is not None else value
    return moment.replace(tzinfo=None) if isinstance(moment, dt.datetime) else None


def assess(as_of, loaded_at, is_demo: bool, now: dt.datetime | None = None,
           warn_after: float | None = None) -> Freshness:
    """The data's freshness now (Moscow time; default store.moscow_now()) against the limit
    (default: the settings file's)."""
    if now is None:
        from oversight import store

        now = store.moscow_now()
    return Freshness(as_of=_moment(as_of), loaded_at=_moment(loaded_at), now=now,
                     warn_after_hours=warn_after_hours() if warn_after is None else float(warn_after),
                     is_demo=bool(is_demo))


def fmt_age(age: dt.timedelta, lang: str) -> str:
    """'under a minute', '25 min', '27 h', '3 d 4 h' (Russian: 'меньше минуты', '25 мин', '27 ч',
    '3 дн. 4 ч'); hours up to two days, then days."""
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return t("fresh.age.now", lang)
    if minutes < 60:
        return t("fresh.age.minutes", lang, n=minutes)
    hours = minutes // 60
    if hours < 48:
        return t("fresh.age.hours", lang, n=hours)
    return t("fresh.age.days", lang, days=hours // 24, hours=hours % 24)


def fmt_hours(hours: float, lang: str) -> str:
    """The limit as written in the settings: 26 -> '26', 0.5 -> '0,5' (ru)."""
    digits = 0
    while digits < 3 and round(hours, digits) != hours:
        digits += 1
    return fmt_number(hours, lang, digits)


@dataclass(frozen=True)
class Note:
    """What a page says: a caption (fresh) or a warning (stale)."""

    warn: bool
    text: str


def note(fresh: Freshness, lang: str, source: str) -> Note | None:
    """The line under a page's title; None for demo data (the demo banner says it). `source` is put
    in as given: the caller escapes it for Markdown."""
    if fresh.is_demo:
        return None
    as_of = fmt_datetime(fresh.as_of, lang)
    if fresh.loaded_at is None:
        return Note(True, t("fresh.unknown", lang, as_of=as_of, source=source))
    loaded_at, age = fmt_datetime(fresh.loaded_at, lang), fmt_age(fresh.age, lang)
    if fresh.stale:  # one line at 1366 px (the Overview's cards stay above the fold): no source here
        return Note(True, t("fresh.old", lang, age=age, limit=fmt_hours(fresh.warn_after_hours, lang),
                            loaded_at=loaded_at, as_of=as_of))
    return Note(False, t("fresh.line", lang, as_of=as_of, source=source, loaded_at=loaded_at, age=age))
