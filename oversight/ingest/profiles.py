"""Import profiles: how each export format's columns map onto the data contract (issue #10).

A profile is a TOML file in data/import_profiles/ (eds, boston311, nyc311, open311): for every field
of ours, the header names it is recognised by, which fields are required, the date formats, the
words for an open and a closed status, and whether municipalities missing from the database may be
created from the file. Users edit those files to teach the import a new export's headers.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from oversight.paths import ROOT

PROFILES_DIR = ROOT / "data" / "import_profiles"
PROFILE_NAMES = ("eds", "open311", "boston311", "nyc311")
# Every field a profile may map, in the order the staging table holds them (an allow-list: these are
# the only column names the import's SQL ever uses).
FIELDS = ("number", "created", "deadline", "closed", "status", "territory", "municipality", "organization",
          "organization_name", "inn", "address", "category", "source", "returns", "rating", "text", "lat", "lon",
          "export_time")


def normalise(text) -> str:
    """A header or a name as compared: lower case, ё = е, «»"' and spaces collapsed, punctuation at
    the ends dropped."""
    text = str(text or "").replace("\ufeff", "").lower().replace("ё", "е")
    text = re.sub(r"[«»\"'`]", "", text)
    text = re.sub(r"\s+", " ", text).strip(" .,:;-_\t")
    return text


@dataclass(frozen=True)
class Profile:
    key: str
    name: str
    date_formats: tuple[str, ...]
    headers: dict[str, tuple[str, ...]]
    required: frozenset[str]
    open_words: frozenset[str]
    closed_words: frozenset[str]
    create_municipalities: bool
    territory: str | None = None
    default_municipality: str | None = None
    closed_from_updated: bool = False
    strip_offsets: bool = False
    calendar: str = "RU"
    default_source: str = "import"
    notes: dict = field(default_factory=dict)

    def match(self, header: list[str]) -> tuple[dict[str, int], list[str], list[str]]:
        """Map our fields to column positions of a file's header. Returns the mapping, the required
        fields with no column, and the file's columns no field uses (ignored)."""
        positions = {}
        seen = {normalise(h): i for i, h in reversed(list(enumerate(header)))}  # the first of equal headers
        for name, accepted in self.headers.items():
            for candidate in accepted:
                if normalise(candidate) in seen:
                    positions[name] = seen[normalise(candidate)]
                    break
        missing = [f for f in FIELDS if f in self.required and f not in positions]
        used = set(positions.values())
        ignored = [h for i, h in enumerate(header) if i not in used]
        return positions, missing, ignored

    def status_of(self, value) -> str | None:
        """'open', 'closed', or None for a word the profile does not know (an empty status: None too)."""
        word = normalise(value)
        if word in self.open_words:
            return "open"
        if word in self.closed_words:
            return "closed"
        return None


@lru_cache(maxsize=8)
def load(key: str, directory: Path = PROFILES_DIR) -> Profile:
    if key not in PROFILE_NAMES:
        raise ValueError(f"unknown profile {key!r}: one of {', '.join(PROFILE_NAMES)} or auto")
    data = tomllib.loads((directory / f"{key}.toml").read_text(encoding="utf-8"))
    fields = data.get("fields", {})
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"profile {key}: unknown fields {sorted(unknown)} (known: {', '.join(FIELDS)})")
    status = data.get("status", {})
    return Profile(
        key=key,
        name=data.get("name", key),
        date_formats=tuple(data.get("date_formats", ["%Y-%m-%d %H:%M:%S"])),
        headers={name: tuple(spec.get("headers", [])) for name, spec in fields.items()},
        required=frozenset(name for name, spec in fields.items() if spec.get("required")),
        open_words=frozenset(normalise(w) for w in status.get("open", [])),
        closed_words=frozenset(normalise(w) for w in status.get("closed", [])),
        create_municipalities=bool(data.get("create_municipalities", False)),
        territory=data.get("territory"),
        default_municipality=data.get("default_municipality"),
        closed_from_updated=bool(data.get("closed_from_updated", False)),
        strip_offsets=bool(data.get("strip_offsets", False)),
        calendar=str(data.get("calendar", "RU")),
        default_source=data.get("default_source", key),
    )


def detect(header: list[str]) -> Profile:
    """The profile whose required fields a header covers, preferring the one that maps most columns."""
    best, best_score = None, -1
    for key in PROFILE_NAMES:
        profile = load(key)
        positions, missing, _ = profile.match(header)
        if missing:
            continue
        if len(positions) > best_score:
            best, best_score = profile, len(positions)
    if best is None:
        raise ValueError("no import profile recognises this file's columns")
    return best
