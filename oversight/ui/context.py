"""What a page knows, computed once per script run: `PageContext` (language, database and its
version, the data's moment, filters, target, the signed-in principal and so his scope), `Source` (the
database and the scope before the filters are known: the sidebar's lookups, the warm-up) and
`AccessContext` (the Access page, which reads grants, not data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from oversight.access import Principal, Scope
from oversight.filters import Filters

DEFAULT_TARGET = 0.95


@dataclass(frozen=True)
class PageContext:
    """What every page needs, computed once per script run by `setup()`."""

    lang: str
    db_path: str
    version: str
    as_of: dt.datetime
    is_demo: bool
    source: str
    filters: Filters
    target: float
    principal: Principal

    @property
    def scope(self) -> Scope:
        return self.principal.scope


@dataclass(frozen=True)
class Source:
    """The database and the scope, before the page's filters are known (the sidebar's lookups)."""

    db_path: str
    version: str
    scope: Scope


@dataclass(frozen=True)
class AccessContext:
    """What the Access page needs: it reads grants and the audit log, not the data."""

    lang: str
    principal: Principal
