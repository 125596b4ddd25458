"""The agency's settings file: what differs between installations and is not data.

A TOML file, $OVERSIGHT_CONFIG or data/oversight.toml (not committed; data/oversight.example.toml
shows every key). A missing file means the defaults. Sections:

    [freshness]
    warn_after_hours = 26      # every page warns when the latest import is older than this

    [mail]                     # the agency's SMTP relay, for `report --mail-to`
    host = "smtp.mosreg.local"
    port = 25
    sender = "gzhi-reports@mosreg.local"
    starttls = false
    user = ""                  # empty: no login
    password_env = ""          # the name of an environment variable holding the password

Read with tomllib (standard library). Read again when the file changes, so a running app picks an
edit up without a restart.
"""

from __future__ import annotations

import os
import threading
import tomllib
from pathlib import Path

from oversight.paths import ROOT

DEFAULT_CONFIG = ROOT / "data" / "oversight.toml"
DEFAULTS: dict[str, dict] = {
    "freshness": {"warn_after_hours": 26.0},
    "mail": {"host": "localhost", "port": 25, "sender": "oversight@localhost", "starttls": False, "user": "",
             "password_env": ""},
}

_lock = threading.Lock()
_cache: dict[tuple[str, int], dict] = {}


class SettingsError(ValueError):
    """The settings file cannot be read: said with the file's path and TOML's own message."""


def config_path() -> Path:
    return Path(os.environ.get("OVERSIGHT_CONFIG") or DEFAULT_CONFIG)


def load(path: Path | str | None = None) -> dict[str, dict]:
    """Every section, the file's values over the defaults (unknown keys are kept: a later version
    may read them). Raises SettingsError when the file is not valid TOML."""
    path = Path(path) if path is not None else config_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {name: dict(values) for name, values in DEFAULTS.items()}
    with _lock:
        cached = _cache.get((str(path), stamp))
    if cached is None:
        try:
            read = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"{path}: {error}") from None
        cached = {name: dict(values) for name, values in DEFAULTS.items()}
        for name, values in read.items():
            if isinstance(values, dict):
                cached.setdefault(name, {}).update(values)
        with _lock:
            _cache[(str(path), stamp)] = cached
    return {name: dict(values) for name, values in cached.items()}


def section(name: str, path: Path | str | None = None) -> dict:
    """One section of the settings (its defaults when the file has none)."""
    return load(path).get(name, {})
