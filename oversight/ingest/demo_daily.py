"""A day's ЕДС export for a database (issue #20): what the morning file looks like, for the daily
import's tests, its benchmark and a demonstration of the inbox.

    python -m oversight demo-day --db DB --out FILE [--new 25000] [--changed 5000] [--refused 20]

The export describes the moment `hours` after the database's as_of («Дата выгрузки»). It holds:
- `new` requests created since as_of, each a copy of a random stored request's place, organisation,
  building, category and source, with its deadline as far after the creation as the original's;
  about half of them closed already;
- `changed` stored requests as the exporting system now sees them: open ones closed since as_of (some
  returned for rework once more), and old closed ones with a new rating;
- `refused` rows the import must keep aside (no creation date, a closing before the creation, an
  unknown municipality), numbered after the new ones.
Columns and formats are the ЕДС profile's (data/import_profiles/eds.toml), as bench/bench_import.py
writes them. Random but reproducible (`seed`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

COLUMNS = {
    "ticket_id": "Номер заявки", "created_at": "Дата создания", "due_at": "Срок исполнения",
    "closed_at": "Дата закрытия", "status": "Статус", "municipality": "Муниципальное образование",
    "organization": "Организация", "inn": "ИНН", "address": "Адрес", "category": "Категория",
    "source": "Источник", "returned_count": "Возвраты", "rating": "Оценка", "description": "Текст обращения",
}
_ROWS = """
select t.ticket_id, t.created_at, t.due_at, t.closed_at, m.name_ru as municipality, o.name as organization,
       o.inn, b.address, c.name_ru as category, t.source, t.returned_count, t.rating, t.description
from tickets as t
join municipalities as m on m.municipality_id = t.municipality_id
left join organizations as o on o.organization_id = t.organization_id
left join buildings as b on b.building_id = t.building_id
join categories as c on c.category_id = t.category_id
"""


def _stamp(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%d.%m.%Y %H:%M:%S").astype(object).where(values.notna(), None)


def daily_export(db_path: Path | str, out: Path | str, new: int = 25_000, changed: int = 5_000, refused: int = 20,
                 hours: float = 24.0, seed: int = 0) -> dict:
    """Write the export to `out` (CSV, ';', UTF-8); returns what it holds (counts, the export's moment)."""
    rng = np.random.default_rng(seed)
    with duckdb.connect(str(db_path), read_only=True) as con:
        as_of = con.execute("select max(as_of) from dataset").fetchone()[0]
        total, max_id = con.execute("select count(*), max(ticket_id) from tickets").fetchone()
        # Sample sizes and seeds are integers of this function's own (int() below), not text from input.
        templates = con.execute(f"select * from ({_ROWS}) using sample reservoir({int(max(new + refused, 1))} rows) "
                                f"repeatable ({int(seed)})").df()
        open_rows = con.execute(f"select * from ({_ROWS} where t.closed_at is null) "
                                f"using sample reservoir({int(changed)} rows) repeatable ({int(seed) + 1})").df()
        old_closed = con.execute(f"select * from ({_ROWS} where t.closed_at is not null and t.rating is null) "
                                 f"using sample reservoir({int(changed // 5)} rows) repeatable ({int(seed) + 2})").df()
    exported = as_of + dt.timedelta(hours=hours)
    span_us = int(max(hours, 1.0) * 3600e6)  # an export at as_of itself: requests of the hour before it

    def moments(n: int) -> pd.Series:
        return pd.Series(pd.Timestamp(exported) - pd.to_timedelta(rng.integers(1, span_us, n), unit="us")).dt.floor("s")

    fresh = templates.head(new).copy()
    fresh["ticket_id"] = np.arange(max_id + 1, max_id + 1 + len(fresh))
    deadline = (fresh["due_at"] - fresh["created_at"])
    fresh["created_at"] = moments(len(fresh)).values
    fresh["due_at"] = fresh["created_at"] + deadline
    done = rng.random(len(fresh)) < 0.5
    closing = fresh["created_at"] + (pd.Timestamp(exported) - fresh["created_at"]) * rng.random(len(fresh))
    fresh["closed_at"] = closing.dt.floor("s").where(done)
    fresh["returned_count"] = 0
    fresh["rating"] = pd.Series(rng.integers(1, 6, len(fresh))).where(done & (rng.random(len(fresh)) < 0.3)).values

    closed_now = open_rows.copy()
    start = closed_now["created_at"].clip(lower=pd.Timestamp(as_of))
    closed_now["closed_at"] = (start + (pd.Timestamp(exported) - start) * rng.random(len(start))).dt.floor("s")
    closed_now["returned_count"] = closed_now["returned_count"] + (rng.random(len(closed_now)) < 0.1)
    rated = old_closed.copy()
    rated["rating"] = rng.integers(1, 6, len(rated))

    bad = templates.tail(refused).copy() if refused else templates.head(0).copy()
    bad["ticket_id"] = np.arange(max_id + 1 + len(fresh), max_id + 1 + len(fresh) + len(bad))
    bad["created_at"] = moments(len(bad)).values
    bad["due_at"] = bad["created_at"] + pd.Timedelta(days=1)
    kinds = np.arange(len(bad)) % 3
    bad["closed_at"] = (bad["created_at"] - pd.Timedelta(hours=1)).where(kinds == 1)
    bad["municipality"] = bad["municipality"].where(kinds != 2, "Нет такого округа")
    frame = pd.concat([fresh, closed_now, rated, bad], ignore_index=True)
    text = {column: _stamp(frame[column]) for column in ("created_at", "due_at", "closed_at")}
    frame = frame.assign(**text)
    frame.loc[frame.index[len(frame) - len(bad):][kinds == 0], "created_at"] = None
    frame["status"] = np.where(frame["closed_at"].isna(), "В работе", "Закрыта")
    frame["rating"] = frame["rating"].astype("Int64")
    frame["returned_count"] = frame["returned_count"].astype("Int64")
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = frame[list(COLUMNS)].rename(columns=COLUMNS)
    frame.insert(len(frame.columns), "Дата выгрузки", exported.strftime("%d.%m.%Y %H:%M:%S"))
    frame.to_csv(out, sep=";", index=False, encoding="utf-8")
    return {"rows": len(frame), "new": len(fresh), "closed": len(closed_now), "rated": len(rated), "refused": len(bad),
            "as_of": exported, "previous_as_of": as_of, "stored": int(total)}
