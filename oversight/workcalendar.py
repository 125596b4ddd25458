"""The Russian production calendar (производственный календарь) and working-day deadlines.

`holidays.RU` knows the public holidays, the transferred days off and the transferred working
Saturdays, offline. Deadlines given in working days are computed on that calendar, vectorised so
the demo generator can compute ten million of them in well under a second.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
import numpy as np

_EPOCH = np.datetime64("1970-01-01", "D")


@lru_cache(maxsize=8)
def _calendar(first_year: int, last_year: int, country: str = "RU") -> holidays.HolidayBase:
    """The public holidays (and, for Russia, the transferred days off and working Saturdays) of a
    country; RU unless the data come from elsewhere (an imported city's 311 data)."""
    return holidays.country_holidays(country, years=range(first_year, last_year + 1))


def is_working_day(day: dt.date) -> bool:
    """True for a working day of the Russian production calendar."""
    return _calendar(day.year, day.year).is_working_day(day)


@lru_cache(maxsize=8)
def day_table(first: dt.date, last: dt.date, country: str = "RU") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days first..last (datetime64[D]) with a working-day flag and a holiday flag for each."""
    cal = _calendar(first.year, last.year, country)
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
    as_dates = days.astype(dt.date)
    working = np.fromiter((cal.is_working_day(d) for d in as_dates), bool, len(days))
    holiday = np.fromiter((d in cal for d in as_dates), bool, len(days))
    return days, working, holiday


def add_working_days(created: np.ndarray, n_days: np.ndarray) -> np.ndarray:
    """Deadline `n_days` working days after each creation moment (datetime64 arrays).

    Counting starts on the next working day after the day of creation, and the deadline falls at
    the same time of day as the creation: a request made on Friday 15:00 with 1 working day is due
    on Monday 15:00 (or Tuesday if Monday is a holiday). A request made on a day off counts the
    first working day after it as day 1.
    """
    created = created.astype("datetime64[s]")
    created_day = created.astype("datetime64[D]")
    first = created_day.min().astype(dt.date)
    last = created_day.max().astype(dt.date) + dt.timedelta(days=int(n_days.max()) * 2 + 30)
    days, working, _ = day_table(dt.date(first.year, 1, 1), dt.date(last.year, 12, 31))
    workdays = days[working]
    # Index of the first working day strictly after the creation day.
    k = np.searchsorted(workdays, created_day, side="right")
    due_day = workdays[k + n_days.astype(np.int64) - 1]
    time_of_day = created - created_day.astype("datetime64[s]")
    return due_day.astype("datetime64[s]") + time_of_day
