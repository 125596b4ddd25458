"""Step 3 of an import, reconciling the file with the database: municipalities, organisations,
categories and buildings the file names are matched to the reference (spellings normalised) and the new
ones created with fresh ids (`create_references`); requests already in the database are compared with the
file's (`write_over`: new ones inserted, changed ones updated unless the database already describes a
later moment, identical ones counted)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from oversight import store
from oversight.ingest.check import trim
from oversight.ingest.model import Report, temp_table
from oversight.ingest.profiles import Profile, normalise


def first_free_id(con, table: str, column: str) -> int:
    if table not in store.TABLES or column not in store.table_columns(con, table):
        raise ValueError((table, column))
    return int(con.execute(f"select coalesce(max({column}), 0) + 1 from {table}").fetchone()[0])  # noqa: S608


def organization_kind(name: str) -> str:
    """An organisation's kind guessed from its name (a new organisation from a file)."""
    text = normalise(name)
    if "тсж" in text or "тсн" in text or "жск" in text:
        return "tszh"
    if "администрац" in text or text.startswith("омсу"):
        return "omsu"
    if any(w in text for w in ("водоканал", "теплосет", "энерго", "газ", "ресурс")):
        return "rso"
    if "ук " in f"{text} " or "управляющ" in text or text.startswith("ук"):
        return "uk"
    return "other"


def create_references(con, profile: Profile) -> dict[str, list[str]]:
    """Create the territories, municipalities, organisations, categories and buildings that accepted
    rows name and the database lacks; point the rows at them. Returns the names created."""
    created: dict[str, list[str]] = {}
    if profile.create_municipalities:
        created.update(_create_places(con, profile))
    created["organizations"] = _create_organizations(con)
    created["categories"] = _create_categories(con)
    created["buildings"] = _create_buildings(con)
    return {k: v for k, v in created.items() if v}


def _create_places(con, profile: Profile) -> dict[str, list[str]]:
    pairs = con.execute(
        "select municipality_raw, coalesce(territory_raw, $t) as territory, count(*) as n from checked "
        "where reason is null and municipality_id is null group by all", {"t": profile.territory or "—"}).df()
    if pairs.empty:
        return {}
    # A municipality belongs to the territory most of its rows name.
    pairs = pairs.sort_values(["municipality_raw", "n"], ascending=[True, False]).drop_duplicates("municipality_raw")
    territories = {normalise(r[1]): int(r[0]) for r in con.execute("select territory_id, name_en from territories").fetchall()}
    territories.update({normalise(r[1]): int(r[0]) for r in con.execute("select territory_id, name_ru from territories").fetchall()})
    new_territories, next_t = [], first_free_id(con, "territories", "territory_id")
    for name in sorted(set(pairs["territory"])):
        if normalise(name) not in territories:
            territories[normalise(name)] = next_t
            new_territories.append({"territory_id": next_t, "code": normalise(name)[:32], "name_ru": name, "name_en": name})
            next_t += 1
    if new_territories:
        temp_table(con, "new_territories", pd.DataFrame(new_territories))
        con.execute("insert into territories (territory_id, code, name_ru, name_en) select * from new_territories")
    next_m = first_free_id(con, "municipalities", "municipality_id")
    rows = [{"municipality_id": next_m + i, "name_ru": r.municipality_raw, "name_en": r.municipality_raw,
             "territory_id": territories[normalise(r.territory)]} for i, r in enumerate(pairs.itertuples())]
    temp_table(con, "new_municipalities", pd.DataFrame(rows))
    con.execute("insert into municipalities (municipality_id, name_ru, name_en, territory_id) "
                "select municipality_id, name_ru, name_en, territory_id from new_municipalities")
    con.execute("update checked set municipality_id = n.municipality_id from new_municipalities as n "
                "where checked.reason is null and checked.municipality_id is null and checked.municipality_raw = n.name_ru")
    return {"territories": [t["name_ru"] for t in new_territories], "municipalities": [r["name_ru"] for r in rows]}


def _trimmed_column(values: pd.Series) -> pd.Series:
    """A column of values as written, as the checks would read them (trimmed; blank as missing)."""
    return values.map(lambda v: trim(v) if isinstance(v, str) else None).astype("string")


def _create_organizations(con) -> list[str]:
    temp_table(con, "organization_map", pd.DataFrame({"inn_raw": [], "organization_raw": [], "organization_id": []}).astype(
        {"inn_raw": "string", "organization_raw": "string", "organization_id": "Int64"}))
    # checked keeps INN and organisation as written: trimmed here, over the distinct pairs.
    written = con.execute(
        "select inn_raw, organization_raw, organization_name_raw, municipality_id, count(*) as n from checked "
        "where reason is null and (inn_raw is not null or organization_raw is not null) group by all").df()
    if written.empty:
        return []
    written["inn"], written["code"] = _trimmed_column(written["inn_raw"]), _trimmed_column(written["organization_raw"])
    found = (written[written["inn"].notna() | written["code"].notna()]
             .groupby(["inn", "code", "organization_name_raw", "municipality_id"], dropna=False, as_index=False)["n"].sum())
    if found.empty:
        return []
    existing = con.execute("select organization_id, name, inn, external_id from organizations").df()
    by_inn = {str(i): int(o) for o, i in zip(existing["organization_id"], existing["inn"]) if pd.notna(i)}
    by_code = {normalise(c): int(o) for o, c in zip(existing["organization_id"], existing["external_id"]) if pd.notna(c)}
    by_name = {normalise(n): int(o) for o, n in zip(existing["organization_id"], existing["name"])}
    next_id, new, ids = first_free_id(con, "organizations", "organization_id"), {}, {}
    # One row per (INN, organisation as written): its most frequent full name and municipality (ties
    # broken by name, so the same file always gives the same organisation).
    found["organization_name_raw"] = found["organization_name_raw"].astype("string")
    found["name_key"] = found["organization_name_raw"].fillna(found["code"]).fillna("")
    home = (found.sort_values(["n", "name_key"], ascending=[False, True], kind="stable")
            .drop_duplicates(["inn", "code"])
            .sort_values(["name_key", "inn", "code"], kind="stable", na_position="last"))
    has_names = found["organization_name_raw"].notna().any()
    for row in home.itertuples():
        inn = row.inn if isinstance(row.inn, str) else None
        written_as = row.code if isinstance(row.code, str) else None
        name = row.organization_name_raw if isinstance(row.organization_name_raw, str) else (written_as or f"ИНН {inn}")
        code = written_as if has_names else None  # a code beside a full name (311 agencies, queues)
        key = ("inn", inn) if inn else ("code", normalise(code)) if code else ("name", normalise(name))
        ident = (by_inn.get(inn) if inn else None) or (by_code.get(normalise(code)) if code else None) \
            or (by_name.get(normalise(name)) if not inn else None) or new.get(key, {}).get("organization_id")
        if ident is None:
            ident = next_id
            next_id += 1
            new[key] = {"organization_id": ident, "name": name, "inn": inn, "kind": organization_kind(name),
                        "municipality_id": None if pd.isna(row.municipality_id) else int(row.municipality_id),
                        "external_id": code}
        ids[(inn, written_as)] = ident
    if new:
        temp_table(con, "new_organizations", pd.DataFrame(list(new.values())).astype(
            {"municipality_id": "Int64", "inn": "string", "external_id": "string"}))
        con.execute("insert into organizations (organization_id, name, inn, kind, municipality_id, external_id) "
                    "select organization_id, name, inn, kind, municipality_id, external_id from new_organizations")
    # Joined to the rows when they are written (import_incoming), not written into every row here:
    # every pair as written, with the organisation of the pair it trims to.
    pairs = written[["inn_raw", "organization_raw", "inn", "code"]].drop_duplicates(["inn_raw", "organization_raw"])
    pairs["organization_id"] = [ids.get((i if isinstance(i, str) else None, c if isinstance(c, str) else None))
                                for i, c in zip(pairs["inn"], pairs["code"])]
    temp_table(con, "organization_map", pairs[["inn_raw", "organization_raw", "organization_id"]].astype(
        {"inn_raw": "string", "organization_raw": "string", "organization_id": "Int64"}))
    return [v["name"] for v in new.values()]


def _create_categories(con) -> list[str]:
    # checked keeps categories as written (never blank in an accepted row): trimmed here. Sorted by
    # name: new ids follow the names, so the same file always gives the same ids.
    written = [r[0] for r in con.execute("select distinct category_raw from checked where reason is null").fetchall()]
    values = sorted((trim(v), v) for v in written)
    known = {}
    for ident, ru, en in con.execute("select category_id, name_ru, name_en from categories").fetchall():
        known.setdefault(normalise(ru), int(ident))
        known.setdefault(normalise(en), int(ident))
    next_id, rows, new = first_free_id(con, "categories", "category_id"), [], []
    for name, value in values:
        ident = known.get(normalise(name))
        if ident is None:
            ident = known[normalise(name)] = next_id
            next_id += 1
            new.append({"category_id": ident, "name_ru": name, "name_en": name, "is_emergency": False})
        rows.append({"raw": value, "id": ident})
    if new:
        temp_table(con, "new_categories", pd.DataFrame(new))
        con.execute("insert into categories (category_id, name_ru, name_en, is_emergency) select * from new_categories")
    temp_table(con, "category_map", pd.DataFrame(rows, columns=["raw", "id"]).astype({"raw": "string", "id": "Int64"}))
    return [r["name_ru"] for r in new]


def _create_buildings(con) -> list[str]:
    temp_table(con, "building_map", pd.DataFrame({"municipality_id": [], "raw": [], "id": []}).astype(
        {"municipality_id": "Int64", "raw": "string", "id": "Int64"}))
    # checked keeps addresses as written: counted here per address as written and organisation, then
    # trimmed (an address of spaces only is none) and summed over the spellings of each address.
    counts = con.execute(
        "select c.municipality_id, c.address_raw, m.organization_id, count(*) as n, sum(c.lat) as lat_sum, "
        "count(c.lat) as lat_n, sum(c.lon) as lon_sum, count(c.lon) as lon_n from checked as c "
        "left join organization_map as m on m.inn_raw is not distinct from c.inn_raw "
        "and m.organization_raw is not distinct from c.organization_raw "
        "where c.reason is null and c.address_raw is not null group by all").df()
    counts["address"] = _trimmed_column(counts["address_raw"])
    counts = counts[counts["address"].notna()]
    if counts.empty:
        return []
    places = counts.groupby(["municipality_id", "address"], as_index=False)[["lat_sum", "lat_n", "lon_sum", "lon_n"]].sum()
    # The building's organisation: the one most of its requests name (the smallest id on a tie).
    usual = (counts.dropna(subset=["organization_id"]).groupby(["municipality_id", "address", "organization_id"], as_index=False)["n"]
             .sum().sort_values(["n", "organization_id"], ascending=[False, True]).drop_duplicates(["municipality_id", "address"]))
    found = places.merge(usual[["municipality_id", "address", "organization_id"]], how="left", on=["municipality_id", "address"])
    found["lat"] = (found["lat_sum"] / found["lat_n"]).where(found["lat_n"] > 0)
    found["lon"] = (found["lon_sum"] / found["lon_n"]).where(found["lon_n"] > 0)
    found = found.sort_values(["municipality_id", "address"], kind="stable")
    spellings = counts[["municipality_id", "address", "address_raw"]].drop_duplicates(["municipality_id", "address_raw"])
    known = {(int(m) if pd.notna(m) else None, normalise(a)): int(b) for b, a, m in
             con.execute("select building_id, address, municipality_id from buildings").fetchall()}
    next_id, ids, new = first_free_id(con, "buildings", "building_id"), {}, []
    for row in found.itertuples():
        key = (int(row.municipality_id), normalise(row.address))
        ident = known.get(key)
        if ident is None:
            ident = known[key] = next_id
            next_id += 1
            new.append({"building_id": ident, "address": row.address, "municipality_id": int(row.municipality_id),
                        "organization_id": None if pd.isna(row.organization_id) else int(row.organization_id),
                        "lat": row.lat, "lon": row.lon})
        ids[(row.municipality_id, row.address)] = ident
    if new:
        temp_table(con, "new_buildings", pd.DataFrame(new).astype({"organization_id": "Int64"}))
        con.execute("insert into buildings (building_id, address, municipality_id, organization_id, lat, lon) "
                    "select building_id, address, municipality_id, organization_id, lat, lon from new_buildings")
    rows = pd.DataFrame({"municipality_id": spellings["municipality_id"], "raw": spellings["address_raw"],
                         "id": [ids[k] for k in zip(spellings["municipality_id"], spellings["address"])]})
    temp_table(con, "building_map", rows.astype({"municipality_id": "Int64", "raw": "string", "id": "Int64"}))
    return [r["address"] for r in new]


def write_over(con, report: Report, previous: dt.datetime | None) -> None:
    """Into a database with requests: insert the new ones, update the changed ones (unless the
    database already describes a later moment), count the unchanged ones."""
    newer_export = previous is None or report.as_of >= previous
    counts = con.execute(
        "select count(*) filter (where not existing), count(*) filter (where existing and not same), "
        "count(*) filter (where same) from incoming_compared").fetchone()
    report.inserted, changed, report.unchanged = (int(c or 0) for c in counts)
    # The requests this import writes: oversight.derived recomputes only what they (and the move of as_of) touch.
    written = "not same" if newer_export else "not existing"  # one of two fixed conditions
    con.execute(f"create or replace temp table changed_ids as select ticket_id from incoming_compared where {written}")  # noqa: S608
    if newer_export:
        report.updated = changed
        con.execute("delete from tickets where ticket_id in (select ticket_id from incoming_compared where existing and not same)")
        con.execute("insert into tickets by name select * exclude (existing, same) from incoming_compared where not same")
    else:  # an older export than the data already loaded: new requests only, nothing overwritten
        report.kept_newer = changed
        con.execute("insert into tickets by name select * exclude (existing, same) from incoming_compared where not existing")
    report.loaded = report.inserted + report.updated + report.unchanged + report.kept_newer
