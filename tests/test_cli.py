"""The command line answers exactly what the library answers."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from oversight.analysis import metrics
from oversight.filters import Filters
from oversight.paths import ROOT


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oversight", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_kpis_json_matches_library(small_db, con, as_of):
    out = _cli("kpis", "--db", small_db, "--from", "2019-01-01", "--to", "2019-03-31", "--territory", "2", "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    expected = metrics.kpis(con, Filters(start=dt.date(2019, 1, 1), end=dt.date(2019, 3, 31), territory_id=2), as_of)
    assert list(got) == list(metrics.KPI_KEYS)
    assert got == expected
    assert isinstance(got["created"], int) and isinstance(got["on_time_rate"], float)


def test_kpis_with_municipality_and_organization(small_db, con, as_of):
    out = _cli("kpis", "--db", small_db, "--from", "2018-06-01", "--to", "2018-06-30", "--municipality", "41", "--organization", "5", "--json")
    assert out.returncode == 0, out.stderr
    f = Filters(start=dt.date(2018, 6, 1), end=dt.date(2018, 6, 30), municipality_id=41, organization_id=5)
    assert json.loads(out.stdout) == metrics.kpis(con, f, as_of)


def test_clear_errors(tmp_path):
    out = _cli("kpis", "--db", str(tmp_path / "none.duckdb"), "--from", "2019-01-01", "--to", "2019-01-31", "--json")
    assert out.returncode != 0 and "database not found" in out.stderr
    out = _cli("kpis", "--db", str(tmp_path / "none.duckdb"), "--from", "2019-31-01", "--to", "2019-01-31")
    assert out.returncode != 0 and "not a date" in out.stderr


def test_unknown_filter_values_are_refused(small_db):
    out = _cli("kpis", "--db", small_db, "--from", "2019-01-01", "--to", "2019-01-31", "--territory", "99")
    assert out.returncode != 0 and "--territory 99: not in the data" in out.stderr
    out = _cli("kpis", "--db", small_db, "--from", "2019-01-01", "--to", "2019-01-31", "--source", "foo")
    assert out.returncode != 0 and "--source foo" in out.stderr and "dobrodel" in out.stderr


def test_demo_command_builds_a_database(tmp_path):
    path = tmp_path / "cli.duckdb"
    out = _cli("demo", "--db", str(path), "--tickets", "3000", "--seed", "1")
    assert out.returncode == 0, out.stderr
    assert path.exists() and "[100%]" in out.stderr
