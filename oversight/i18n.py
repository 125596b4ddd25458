"""Russian and English strings and number formats. The strings live in data/i18n/strings.csv.

Russian is the default. Numbers follow each language's convention: «12 345,6» and «92,5 %» in
Russian, "12,345.6" and "92.5%" in English.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from functools import lru_cache

from oversight.paths import I18N_DIR

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
_NBSP = "\u00a0"  # keeps "12 345" and "92,5 %" from breaking across lines


@lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    with open(I18N_DIR / "strings.csv", encoding="utf-8", newline="") as f:
        return {row["key"]: {"ru": row["ru"], "en": row["en"]} for row in csv.DictReader(f)}


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **values) -> str:
    """The string for `key` in `lang`, with {placeholders} filled. A missing key is a KeyError."""
    text = strings()[key][lang if lang in LANGUAGES else DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_number(value, lang: str = DEFAULT_LANGUAGE, digits: int = 0) -> str:
    """12345.6 -> '12 345,6' (ru) or '12,345.6' (en); None -> '—'."""
    if _missing(value):
        return "—"
    text = f"{value:,.{digits}f}"
    if lang == "ru":
        text = text.replace(",", _NBSP).replace(".", ",")
    return text


def fmt_percent(share, lang: str = DEFAULT_LANGUAGE, digits: int = 1) -> str:
    """0.925 -> '92,5 %' (ru) or '92.5%' (en)."""
    if _missing(share):
        return "—"
    number = fmt_number(share * 100, lang, digits)
    return f"{number}{_NBSP}%" if lang == "ru" else f"{number}%"


def fmt_signed_percent(change, lang: str = DEFAULT_LANGUAGE, digits: int = 1) -> str:
    """A relative change: 0.123 -> '+12,3 %'."""
    if _missing(change):
        return ""
    # ASCII minus: st.metric decides the arrow's direction by a leading "-".
    shown_as_zero = round(abs(change) * 100, digits) == 0  # no "-0 %" for a change that rounds away
    sign = "±" if shown_as_zero else ("+" if change > 0 else "-")
    return sign + fmt_percent(abs(change), lang, digits)


def fmt_points(change, lang: str = DEFAULT_LANGUAGE, digits: int = 1) -> str:
    """A change of a share, in percentage points: 0.012 -> '+1,2 п.п.'."""
    if _missing(change):
        return ""
    shown_as_zero = round(abs(change) * 100, digits) == 0  # no "-0 %" for a change that rounds away
    sign = "±" if shown_as_zero else ("+" if change > 0 else "-")
    return f"{sign}{fmt_number(abs(change) * 100, lang, digits)}{_NBSP}{t('kpi.pp', lang)}"


_MONTHS_RU = ["янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"]


def fmt_date(day: dt.date, lang: str = DEFAULT_LANGUAGE) -> str:
    """31.12.2019 (ru) or 2019-12-31 (en)."""
    return day.strftime("%d.%m.%Y") if lang == "ru" else day.isoformat()


def fmt_datetime(moment: dt.datetime, lang: str = DEFAULT_LANGUAGE) -> str:
    return moment.strftime("%d.%m.%Y %H:%M") if lang == "ru" else moment.strftime("%Y-%m-%d %H:%M")


def name_column(lang: str) -> str:
    """Which name column of a reference table to show: name_ru or name_en."""
    return "name_en" if lang == "en" else "name_ru"
