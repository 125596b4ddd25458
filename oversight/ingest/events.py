"""The events register (seminars, inspections, orders, fines, other): reading a user's CSV or Excel
file, checking every row with a reason for each one refused, and saving the register.

Nothing is lost: rows read = rows accepted + rows refused, and a refused row keeps its line number,
its raw values and the reason. Municipalities match by id or by name (any case, ё = е, with or
without «городской округ»); organisations by id or by INN; kinds by code or by their Russian or
English name.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd

from oversight import store
from oversight.filters import ascii_digits
from oversight.i18n import t

KINDS = ("seminar", "inspection", "order", "fine", "other")
COLUMNS = ("event_id", "event_date", "kind", "title", "municipality_id", "organization_id")
# Header names a file may use for each column (lower case).
HEADERS = {
    "event_date": ("event_date", "date", "дата", "дата события"),
    "kind": ("kind", "type", "вид", "тип", "вид события"),
    "title": ("title", "name", "название", "наименование", "описание"),
    "municipality": ("municipality_id", "municipality", "муниципалитет", "муниципальное образование", "мо", "го"),
    "organization": ("organization_id", "organization", "inn", "инн", "организация"),
}


def _norm(text) -> str:
    words = str(text).lower().replace("ё", "е").replace("г.о.", " ").replace("городской округ", " ").split()
    return " ".join(words)


def read_file(data: bytes, filename: str) -> pd.DataFrame:
    """A CSV (UTF-8 or Windows-1251, comma or semicolon) or Excel file as text columns, the file's
    own headers mapped to ours. Raises ValueError with a plain message if it cannot be read."""
    name = filename.lower()
    try:
        if name.endswith((".xlsx", ".xlsm")):
            frame = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")  # the engine named: pandas 4 changes its default
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("cp1251")
            frame = pd.read_csv(io.StringIO(text), dtype=str, sep=None, engine="python")
    except Exception as error:  # any parser failure: say what, keep the app running
        raise ValueError(f"{filename}: {error}") from error
    mapping = {}
    for column in frame.columns:
        key = str(column).strip().lower()
        for ours, names in HEADERS.items():
            if key in names and ours not in mapping.values():
                mapping[column] = ours
    frame = frame.rename(columns=mapping)
    missing = [c for c in ("event_date", "kind", "title") if c not in frame.columns]
    if missing:
        raise ValueError(f"{filename}: no column for {', '.join(missing)} (found: {', '.join(map(str, frame.columns))})")
    return frame


def validate(frame: pd.DataFrame, municipalities: pd.DataFrame, organizations: pd.DataFrame,
             first_day: dt.date, last_day: dt.date, lang: str = "ru") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into accepted events (COLUMNS; event_id kept where the row had one, else empty) and
    refused rows (line, the raw values, reason). `municipalities` has municipality_id, name_ru, name_en; `organizations`
    organization_id, inn."""
    by_mun_name = {}
    for row in municipalities.itertuples():
        for label in (row.name_ru, row.name_en):
            by_mun_name[_norm(label)] = int(row.municipality_id)
    mun_ids = set(municipalities["municipality_id"].astype(int))
    org_ids = set(organizations["organization_id"].astype(int))
    by_inn = {str(inn): int(oid) for oid, inn in zip(organizations["organization_id"], organizations["inn"]) if pd.notna(inn)}
    kind_names = {k: k for k in KINDS}
    for kind in KINDS:
        for language in ("ru", "en"):
            kind_names[t(f"event.{kind}", language).lower()] = kind
    good, bad = [], []
    for index, row in enumerate(frame.to_dict("records")):
        line = index + 2  # the header is line 1
        raw = {k: ("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)) for k, v in row.items()}
        reason = None
        text = raw.get("event_date", "").strip()
        iso = len(text) >= 10 and text[4] == "-"  # 2019-03-14 (…): year first; else 14.03.2019
        day = pd.to_datetime(text, dayfirst=not iso, errors="coerce")
        if pd.isna(day):
            reason = t("events.bad.date", lang, value=raw.get("event_date", ""))
        elif not first_day <= day.date() <= last_day:
            reason = t("events.bad.date_range", lang, value=day.date().isoformat(), first=first_day.isoformat(),
                       last=last_day.isoformat())
        kind = kind_names.get(raw.get("kind", "").strip().lower())
        if reason is None and kind is None:
            reason = t("events.bad.kind", lang, value=raw.get("kind", ""), known=", ".join(KINDS))
        title = raw.get("title", "").strip()
        if reason is None and not title:
            reason = t("events.bad.title", lang)
        municipality = None
        mun_raw = raw.get("municipality", "").strip()
        if reason is None and mun_raw:
            if ascii_digits(mun_raw) and int(mun_raw) in mun_ids:
                municipality = int(mun_raw)
            else:
                municipality = by_mun_name.get(_norm(mun_raw))
            if municipality is None:
                reason = t("events.bad.municipality", lang, value=mun_raw)
        organization = None
        org_raw = raw.get("organization", "").strip()
        if reason is None and org_raw:
            organization = by_inn.get(org_raw) or (int(org_raw) if ascii_digits(org_raw) and int(org_raw) in org_ids else None)
            if organization is None:
                reason = t("events.bad.organization", lang, value=org_raw)
        if reason is not None:
            bad.append({"line": line, **raw, "reason": reason})
        else:
            event_id = raw.get("event_id", "")
            good.append({"event_id": int(float(event_id)) if ascii_digits(event_id.replace(".", "", 1)) else None,
                         "event_date": day.normalize(), "kind": kind, "title": title,
                         "municipality_id": municipality, "organization_id": organization})
    accepted = pd.DataFrame(good, columns=list(COLUMNS))
    accepted["event_id"] = accepted["event_id"].astype("Int64")
    accepted["municipality_id"] = accepted["municipality_id"].astype("Int64")
    accepted["organization_id"] = accepted["organization_id"].astype("Int64")
    refused = pd.DataFrame(bad)
    return accepted, refused


def numbered(events: pd.DataFrame) -> pd.DataFrame:
    """Events with an id for every row: rows without one get the next free ids."""
    out = events.copy()
    missing = out["event_id"].isna()
    start = int(out["event_id"].max()) + 1 if out["event_id"].notna().any() else 1
    out.loc[missing, "event_id"] = range(start, start + int(missing.sum()))
    out["event_id"] = out["event_id"].astype("int64")
    return out


def with_new(register: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The register with new events appended under fresh ids; an event already there (same date,
    kind, title and place) is not added twice."""
    key = ["event_date", "kind", "title", "municipality_id", "organization_id"]

    def keys(frame):
        return frame[key].assign(event_date=pd.to_datetime(frame["event_date"]).dt.date).astype("string").fillna("").agg("|".join, axis=1)

    fresh = new[~keys(new).isin(set(keys(register)))].drop_duplicates(key)
    start = int(register["event_id"].max()) + 1 if len(register) else 1
    fresh = fresh.assign(event_id=range(start, start + len(fresh)))
    out = pd.concat([register[list(COLUMNS)], fresh[list(COLUMNS)]], ignore_index=True)
    out["event_date"] = pd.to_datetime(out["event_date"])
    out["municipality_id"] = out["municipality_id"].astype("Int64")
    out["organization_id"] = out["organization_id"].astype("Int64")
    return out


def save(path, register: pd.DataFrame) -> None:
    """Write the whole register to the database (one transaction)."""
    store.replace_events(path, register)
