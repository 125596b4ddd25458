"""Strings: both languages complete, no English left in the Russian UI, number formats."""

from __future__ import annotations

import re

from oversight.i18n import fmt_number, fmt_percent, fmt_points, fmt_signed_percent, strings

# Latin words allowed in Russian strings (proper names and formats).
ALLOWED_LATIN = {"Excel", "data", "OpenStreetMap", "ODbL", "PNG", "CSV", "PowerPoint", "Chrome", "Chromium", "Debian",
                 "Open", "GeoReport", "UTF", "Windows", "OpenID", "Connect"}  # names, a licence, formats (Open311, UTF-8, Windows-1251), the folder data/


def test_every_key_has_both_languages():
    for key, pair in strings().items():
        assert pair["ru"].strip() and pair["en"].strip(), key


def test_russian_strings_have_no_english_words():
    for key, pair in strings().items():
        text = re.sub(r"%?\{[^}]*\}", "", pair["ru"])  # placeholders: {name}, plotly's %{customdata[0]}
        text = re.sub(r"<[^>]+>", "", text)  # HTML tags of plotly hover templates
        text = re.sub(r"`[^`]*`", "", text)  # a command to type, shown as code
        words = set(re.findall(r"[A-Za-z]{2,}", text))
        assert words <= ALLOWED_LATIN, (key, words)


def test_placeholders_agree_between_languages():
    for key, pair in strings().items():
        assert set(re.findall(r"(?<!%)\{(\w+)\}", pair["ru"])) == set(re.findall(r"(?<!%)\{(\w+)\}", pair["en"])), key


def test_number_formats():
    assert fmt_number(1234567.891, "ru", 1) == "1\u00a0234\u00a0567,9"
    assert fmt_number(1234567.891, "en", 1) == "1,234,567.9"
    assert fmt_percent(0.9251, "ru") == "92,5\u00a0%"
    assert fmt_percent(0.9251, "en") == "92.5%"
    assert fmt_percent(None) == "—"
    assert fmt_signed_percent(-0.1, "en") == "-10.0%"
    assert fmt_points(0.012, "ru") == "+1,2\u00a0п.п."


def test_every_used_key_exists():
    """Keys referenced literally in the code exist in the strings file."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    used = set()
    for path in list((root / "oversight").rglob("*.py")) + list((root / "app_pages").glob("*.py")) + [root / "dashboard.py"]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", path.read_text(encoding="utf-8")))
    assert used, "no keys found: the pattern is broken"
    assert used <= set(strings()), used - set(strings())


def test_the_strings_file_has_three_fields_on_every_line():
    """A comma in an unquoted Russian text (99,8 %) would shift the columns silently."""
    import csv

    from oversight.paths import I18N_DIR

    with open(I18N_DIR / "strings.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert all(len(row) == 3 for row in rows), [row[0] for row in rows if len(row) != 3]


def test_every_key_is_defined_once():
    import collections
    import csv

    from oversight.paths import I18N_DIR

    with open(I18N_DIR / "strings.csv", encoding="utf-8", newline="") as handle:
        keys = collections.Counter(row[0] for row in csv.reader(handle))
    assert [k for k, n in keys.items() if n > 1] == []


def test_missed_deadlines_and_open_overdue_requests_are_named_apart():
    """«Просрочено» named two measures (#19): the open requests past their deadline, and the deadlines
    missed in a period (closed late or not closed). In Russian the first is «просрочено/просрочены»,
    the second «нарушено/нарушен срок»: a string about one never uses the other's word."""
    import csv

    from oversight.paths import I18N_DIR

    with open(I18N_DIR / "strings.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    about_missed = [(key, ru) for key, ru, _ in rows
                    if "missed" in key or key.startswith("examples.") and ("share" in key or "funnel" == key.split(".")[-1])]
    mixed = [key for key, ru in about_missed if "просроч" in ru.lower()]
    mixed += [key for key, ru, _ in rows if "overdue" in key and "missed" not in key and "наруш" in ru.lower()]
    assert mixed == []


def test_every_data_problem_is_said_in_words():
    """The Data page lists what a broken database breaks (#18): in the user's language, not as the
    query's own codes."""
    import re as regex

    from oversight import store
    from oversight.paths import QUERIES_DIR

    codes = set(regex.findall(r"select '([a-z_]+)'", (QUERIES_DIR / "data_problems.sql").read_text(encoding="utf-8")))
    codes |= set(regex.findall(r"'((?:implausible|future):[a-z_]+|[a-z_]+_before_created)'",
                               (QUERIES_DIR / "_invariants.sql").read_text(encoding="utf-8")))
    assert len(codes) >= 10, codes
    for code in codes:
        for lang in ("ru", "en"):
            text = store.problem_text(code, lang)
            assert text and "." not in text.split()[0] and code not in text, (code, lang, text)
