"""What the import's steps share: the report it returns (`Report`), what is known of each file
(`FileInfo`), the error that stops an import with the database unchanged (`ImportError_`), the reasons a
row is refused (`REASONS`), and two small DuckDB helpers. The steps, in order: oversight.ingest.read,
.check, .reconcile, .write; oversight.ingest.importer runs them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from oversight.ingest import csvlines
from oversight.ingest.profiles import Profile

MEMORY_LIMIT = "3GB"  # the import stays under 4 GB (DuckDB spills to disk beyond this)


REJECTS_SAMPLE = 1000  # refused rows kept in the report for the page (all of them are in import_rejects)


REASONS = ("missing:number", "missing:created", "missing:municipality", "missing:category", "bad_date:created",
           "bad_date:deadline", "bad_date:closed", "deadline_before_created", "closed_before_created",
           "future:created", "future:closed", "unknown_status", "closed_without_date", "unknown_municipality",
           "bad_rating", "bad_returns", "duplicate_conflict", "duplicate_exact", "malformed_line",
           "missing_column", "implausible:created", "implausible:deadline", "implausible:closed",
           "implausible:export_time", "bad_encoding")


class ImportError_(RuntimeError):
    """A file or database problem that stops the whole import (the database is left as it was)."""


@dataclass
class FileInfo:
    path: str
    name: str
    kind: str  # csv or xlsx
    encoding: str | None
    delimiter: str | None
    header: list[str]
    profile: Profile
    positions: dict[str, int]
    missing_required: list[str]
    ignored: list[str]
    read_path: str | None = None  # the CSV DuckDB reads (a UTF-8 copy, an Excel sheet written out)
    undecodable: int = 0  # bytes the file's encoding has no character for (their rows are refused)
    set_aside: list = field(default_factory=list)  # (line, text, error) of lines blanked (see set_aside_lines)
    surplus_checked: bool = False  # the rows with a column too many looked for (see surplus_lines)
    line_ends: csvlines.LineBreaks | None = None  # of read_path, counted by swallowing_lines

    @property
    def missing_optional(self) -> list[str]:
        return [f for f in self.profile.headers if f not in self.positions and f not in self.profile.required]


@dataclass
class Report:
    files: list[dict] = field(default_factory=list)
    rows_read: int = 0
    loaded: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_newer: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    as_of: dt.datetime | None = None
    as_of_source: str = ""
    created: dict[str, list[str]] = field(default_factory=dict)
    replaced_demo: bool = False
    import_id: int | None = None
    seconds: float = 0.0
    incremental: bool = False  # the derived tables were brought up to date, not built again (oversight.derived)
    copied: bool = False  # the whole database file was copied (no standby in step with it: oversight.standby)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step of the import proper
    rejects: pd.DataFrame | None = None  # a sample for the page (all of them are in import_rejects)

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "rejects"}
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        out["rejects_sample"] = [] if self.rejects is None else [
            {k: (None if pd.isna(v) else v) for k, v in row.items()} for row in self.rejects.head(50).to_dict("records")]
        return out


def finish_result(con) -> None:
    """Finish the last statement's result: DuckDB will not register a frame or make a relation over it."""
    con.execute("select 1").fetchall()


def temp_table(con, name: str, frame: pd.DataFrame) -> None:
    """A small temp table from a frame (names are ours)."""
    finish_result(con)
    con.register("frame_in", frame)
    con.execute(f"create or replace temp table {name} as select * from frame_in")  # noqa: S608 - fixed names
    con.unregister("frame_in")
