"""Synthetic ЕДС data with a planted, documented story, deterministic for a seed.

Every later page is judged on these data, so they are built to look like the real thing: volumes in
proportion to population, organisations of varied quality (a few chronically poor, a few excellent),
seasonal categories, fewer and worse-handled requests on weekends and holidays of the Russian
production calendar, deadlines in working days on that calendar, returns for rework and ratings.

The planted story (also written to the `demo_story` table, so tests and docs read it from the data):
1. Region-wide, the probability of missing a deadline drops sharply from 1 January 2019 (the
   e-interaction agreement and the autumn seminars), so missed deadlines per day fall by about half
   from Q4 2018 to Q1 2019.
2. Seminars in Serpukhov and in Krasnoarmeysk (spring 2019, an `events` row each) cut the probability
   of missing a deadline by a further 30 % for requests created there after the seminar.
3. Krasnoarmeysk merged into Pushkinsky okrug: its requests are recorded under Krasnoarmeysk before
   `merged_on` and under Pushkinsky okrug after it; its buildings carry `former_municipality_id`.
4. A handful of organisations are chronically poor (late three to four times as often as usual, more
   returns for rework), a handful excellent.
5. New Year holidays: fewer requests, handled late far more often.

Everything is vectorised with numpy, and requests are drawn and written in parts of a million
(`generate_parts`): ten million take about 80 s within 4 GB (bench/bench_demo_build.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from oversight import reference
from oversight.workcalendar import add_working_days, day_table

Progress = Callable[[float, str], None]

DEMO_SEED = 2019
DEMO_TICKETS = 1_000_000
DEMO_START = dt.date(2018, 1, 1)
DEMO_END = dt.date(2019, 12, 31)
DEMO_AS_OF = dt.datetime(2020, 1, 1)

# Story parameters, written to demo_story.
IMPROVEMENT_FROM = dt.date(2019, 1, 1)
IMPROVEMENT_FACTOR = 0.42  # multiplies the chance of missing a deadline from IMPROVEMENT_FROM on
SEMINAR_FACTOR = 0.70  # a further multiplier in the two seminar municipalities after their seminar
SEMINARS = {  # municipality name_ru -> seminar date
    "городской округ Серпухов": dt.date(2019, 3, 14),
    "городской округ Красноармейск": dt.date(2019, 4, 18),
}
KRASNOARMEYSK = "городской округ Красноармейск"
N_POOR = 6
N_EXCELLENT = 6
POOR_FACTOR = 3.5
EXCELLENT_FACTOR = 0.15
BASE_LATE_PROBABILITY = 0.11
DEMO_MISSING_POPULATION = 30_000

SOURCES = np.array(["eds", "dobrodel", "phone"])

# Seasonal profile (January..December) of each category group: heating in October, roof leaks in the
# spring thaw, icicles and snow in winter, mowing in summer, hot-water outages in summer maintenance.
_SEASON = {
    "heating": [1.4, 1.2, 1.0, 0.7, 0.3, 0.1, 0.05, 0.1, 0.6, 2.2, 1.6, 1.5],
    "roof": [0.6, 0.8, 1.8, 2.2, 1.1, 0.9, 0.9, 0.8, 0.8, 0.8, 0.7, 0.6],
    "yard": [1.5, 1.4, 1.0, 0.8, 0.9, 1.0, 1.0, 0.9, 0.8, 0.8, 1.0, 1.4],
    "water": [1.0, 0.9, 0.9, 0.9, 1.1, 1.4, 1.3, 1.2, 1.0, 0.9, 0.9, 1.0],
    "waste": [0.9, 0.9, 1.0, 1.1, 1.2, 1.1, 1.1, 1.1, 1.0, 0.9, 0.9, 1.0],
}
_CATEGORY_SEASON = {  # per-category overrides of the group profile
    5: [0.6, 0.6, 0.6, 0.7, 1.6, 2.4, 2.2, 1.6, 0.8, 0.6, 0.6, 0.6],  # no hot water: summer outages
    13: [2.0, 2.2, 1.6, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.6, 1.6],  # icicles
    14: [2.8, 2.6, 1.4, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.9, 2.4],  # snow clearing
    34: [0.0, 0.0, 0.2, 0.8, 2.0, 2.4, 2.4, 2.0, 1.2, 0.5, 0.1, 0.0],  # pruning and mowing
    10: [0.6, 0.7, 1.9, 2.3, 1.2, 0.9, 0.9, 0.8, 0.8, 0.8, 0.6, 0.6],  # basement flooding in the thaw
}
# Share of all requests by category id (normalised below); the common ones first.
_CATEGORY_SHARE = {
    1: 1.5, 2: 6.0, 3: 2.0, 4: 2.0, 5: 4.0, 6: 2.0, 7: 2.0, 8: 3.0, 9: 4.0, 10: 1.5,
    11: 3.5, 12: 1.5, 13: 1.5, 14: 4.0, 15: 5.0, 16: 5.0, 17: 4.0, 18: 3.0, 19: 4.0, 20: 0.6,
    21: 2.0, 22: 4.0, 23: 1.5, 24: 0.5, 25: 3.0, 26: 2.0, 27: 1.5, 28: 1.5, 29: 1.0, 30: 1.0,
    31: 1.5, 32: 1.0, 33: 1.5, 34: 2.0, 35: 2.0, 36: 3.0, 37: 2.0, 38: 3.0, 39: 3.0, 40: 0.6,
}
# Categories handled by a resource supplier or the administration instead of the building's manager.
_RSO_GROUPS = {"power", "gas"}
_OMSU_CATEGORIES = {34, 35}

_STREETS = [
    "Ленина", "Советская", "Мира", "Центральная", "Садовая", "Школьная", "Молодёжная", "Лесная",
    "Первомайская", "Гагарина", "Пушкина", "Комсомольская", "Набережная", "Заводская", "Юбилейная",
    "Октябрьская", "Победы", "Полевая", "Строителей", "Южная", "Северная", "Парковая", "Рабочая",
    "Спортивная", "Горького", "Чехова", "Московская", "Калинина", "Лермонтова", "Кирова",
]
_UK_WORDS = [
    "Комфорт", "Уют", "Жилсервис", "Домовой", "Партнёр", "Стандарт", "Гарант", "Наш дом", "Альянс",
    "Мой дом", "Сервис-Плюс", "Управдом", "Жилкомфорт", "Эталон", "Прогресс", "Надёжный дом",
    "Горизонт", "Содружество", "Приоритет", "Квартал", "ДомЖилСервис", "Восход-Сервис", "Уютный двор",
]


@dataclass(frozen=True)
class DemoSpec:
    """What to generate. The defaults are the dashboard's built-in demo."""

    tickets: int = DEMO_TICKETS
    seed: int = DEMO_SEED
    organizations: int = 1500
    start: dt.date = DEMO_START
    end: dt.date = DEMO_END
    as_of: dt.datetime = DEMO_AS_OF


@dataclass
class DemoData:
    """The generated tables, ready to load (column names follow the data contract)."""

    territories: pd.DataFrame
    municipalities: pd.DataFrame
    organizations: pd.DataFrame
    buildings: pd.DataFrame
    categories: pd.DataFrame
    tickets: pd.DataFrame
    ticket_returns: pd.DataFrame
    events: pd.DataFrame
    dataset: pd.DataFrame
    demo_story: pd.DataFrame


def _inn(rng: np.random.Generator, n: int) -> list[str]:
    """INN-like ten-digit ids of legal entities in region 50 with a valid check digit."""
    digits = np.concatenate(
        [np.tile([5, 0], (n, 1)), rng.integers(0, 10, size=(n, 7))], axis=1
    )
    weights = np.array([2, 4, 10, 3, 5, 9, 4, 6, 8])
    check = (digits @ weights) % 11 % 10
    full = np.concatenate([digits, check[:, None]], axis=1)
    return ["".join(map(str, row)) for row in full]


def _areas(municipalities: pd.DataFrame) -> pd.DataFrame:
    """Areas that generate requests: every current municipality, plus Krasnoarmeysk's territory.

    Pushkinsky okrug's population figure includes Krasnoarmeysk, so the Krasnoarmeysk area is carved
    out of it to keep volumes in proportion to population.
    """
    current = municipalities[municipalities["successor_id"].isna()].copy()
    current["area_municipality_id"] = current["municipality_id"]
    current["former_municipality_id"] = pd.NA
    historical = municipalities[municipalities["name_ru"] == KRASNOARMEYSK].copy()
    successor = int(historical["successor_id"].iloc[0])
    kr_pop = int(historical["population"].iloc[0])
    current.loc[current["municipality_id"] == successor, "population"] -= kr_pop
    historical["area_municipality_id"] = historical["municipality_id"]
    historical["former_municipality_id"] = historical["municipality_id"]
    historical["municipality_id"] = successor  # today's municipality of the area
    areas = pd.concat([current, historical], ignore_index=True)
    # Four okrugs have no published figure in the reference (see data/reference/SOURCE.md); the demo
    # gives them a typical small-okrug weight so they still receive requests.
    weight = areas["population"].astype(float).fillna(DEMO_MISSING_POPULATION)
    areas["weight"] = weight / weight.sum()
    return areas.reset_index(drop=True)


def _organizations(rng, areas: pd.DataFrame, total: int) -> pd.DataFrame:
    rows = []
    for area in areas.itertuples():
        n = max(5, int(round(total * area.weight)))
        n_rso = max(1, int(round(0.08 * n)))
        n_tszh = int(round(0.15 * n))
        n_uk = n - 1 - n_rso - n_tszh
        place = area.center_ru
        kinds = ["omsu"] + ["rso"] * n_rso + ["tszh"] * n_tszh + ["uk"] * n_uk
        for i, kind in enumerate(kinds):
            if kind == "omsu":
                name = f"Администрация ({area.name_ru})"
            elif kind == "rso":
                name = f"АО «{place}{['водоканал', 'теплосеть', 'электросеть'][i % 3]}»"
            elif kind == "tszh":
                name = f"ТСЖ «{_STREETS[rng.integers(len(_STREETS))]}, {rng.integers(1, 90)}»"
            else:
                name = f"ООО «УК {_UK_WORDS[rng.integers(len(_UK_WORDS))]}» ({place})"
            rows.append((name, kind, area.municipality_id, area.area_municipality_id))
    orgs = pd.DataFrame(rows, columns=["name", "kind", "municipality_id", "area_municipality_id"])
    # Names must be unique to be searchable: number the repeats like real registers do ("-2").
    dup = orgs.groupby("name").cumcount()
    orgs.loc[dup > 0, "name"] = orgs.loc[dup > 0, "name"] + " №" + (dup[dup > 0] + 1).astype(str)
    orgs.insert(0, "organization_id", np.arange(1, len(orgs) + 1))
    orgs["inn"] = _inn(rng, len(orgs))
    # Latent quality: a multiplier of the chance to miss a deadline.
    orgs["late_factor"] = rng.lognormal(0.0, 0.45, len(orgs))
    return orgs


def _buildings(rng, areas: pd.DataFrame, orgs: pd.DataFrame) -> pd.DataFrame:
    managers = orgs[orgs["kind"].isin(["uk", "tszh"])]
    per_org = np.where(
        managers["kind"] == "uk",
        np.clip(rng.lognormal(3.0, 0.7, len(managers)).round(), 3, 250),
        rng.integers(1, 3, len(managers)),
    ).astype(int)
    org_ids = np.repeat(managers["organization_id"].to_numpy(), per_org)
    area_ids = np.repeat(managers["area_municipality_id"].to_numpy(), per_org)
    n = len(org_ids)
    area_by_id = areas.set_index("area_municipality_id")
    streets = rng.integers(0, len(_STREETS), n)
    houses = rng.integers(1, 120, n)
    places = area_by_id.loc[area_ids, "center_ru"].to_numpy()
    addresses = [f"{p}, ул. {_STREETS[s]}, д. {h}" for p, s, h in zip(places, streets, houses)]
    b = pd.DataFrame(
        {
            "building_id": np.arange(1, n + 1),
            "address": addresses,
            "municipality_id": area_by_id.loc[area_ids, "municipality_id"].to_numpy().astype(int),
            "organization_id": org_ids,
            "apartments": np.clip(rng.lognormal(4.3, 0.7, n).round(), 8, 900).astype(int),
            "lat": area_by_id.loc[area_ids, "lat"].to_numpy() + rng.normal(0, 0.04, n),
            "lon": area_by_id.loc[area_ids, "lon"].to_numpy() + rng.normal(0, 0.07, n),
            "former_municipality_id": area_by_id.loc[area_ids, "former_municipality_id"].to_numpy(),
            "area_municipality_id": area_ids,
        }
    )
    # A house number repeated on the same street is the same address: keep addresses unique.
    dup = b.groupby("address").cumcount()
    b.loc[dup > 0, "address"] = b.loc[dup > 0, "address"] + " корп. " + (dup[dup > 0] + 1).astype(str)
    return b


def _category_month_matrix(cats: pd.DataFrame) -> np.ndarray:
    """P[month, category index]: share of each category among requests of a month."""
    shares = np.array([_CATEGORY_SHARE[c] for c in cats["category_id"]], float)
    season = np.array(
        [
            _CATEGORY_SEASON.get(cid, _SEASON.get(group, [1.0] * 12))
            for cid, group in zip(cats["category_id"], cats["group_code"])
        ],
        float,
    ).T  # 12 x categories
    return season * shares


def _weighted_pick(rng, weights: np.ndarray, n: int) -> np.ndarray:
    cdf = np.cumsum(weights, dtype=float)
    return np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")


_PHRASES = np.array([
    "Прошу принять меры.", "Проблема повторяется.", "Обращаюсь повторно, ничего не сделано.",
    "Просьба устранить в кратчайшие сроки.", "Жильцы подъезда жалуются.", "Прошу сообщить сроки устранения.",
    "Ситуация сохраняется третий день.", "Управляющая компания на звонки не отвечает.", "",
], dtype=object)
_SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов", "Волков"]
_FIRST = [("Александр", "Мария"), ("Сергей", "Елена"), ("Андрей", "Ольга"), ("Дмитрий", "Наталья"), ("Алексей", "Татьяна")]
_PATRONYMIC = [("Иванович", "Ивановна"), ("Петрович", "Петровна"), ("Сергеевич", "Сергеевна"), ("Николаевич", "Николаевна")]


def _descriptions(rng, category_names: np.ndarray) -> np.ndarray:
    """Request texts as residents write them: the problem, a remark, and in some of them the kind of
    personal data the app must never show (a name, a phone number, a flat, an e-mail)."""
    n = len(category_names)
    phrase = rng.integers(0, len(_PHRASES), n)
    kind = rng.choice(5, n, p=[0.62, 0.22, 0.09, 0.05, 0.02])  # none, flat, name+phone, phone, e-mail
    picks = rng.integers(0, 10_000_000, (n, 4))
    suffix = np.full(n, "", dtype=object)
    for i in np.flatnonzero(kind):
        a, b, c, d = picks[i]
        female = a % 2
        if kind[i] == 1:
            suffix[i] = f" Кв. {1 + b % 300}."
        elif kind[i] == 2:
            surname = _SURNAMES[b % 10] + ("а" if female else "")
            suffix[i] = (f" Заявитель: {surname} {_FIRST[c % 5][female]} {_PATRONYMIC[d % 4][female]},"
                         f" тел. +7 (9{b % 100:02d}) {c % 1000:03d}-{d % 100:02d}-{a % 100:02d}.")
        elif kind[i] == 3:
            suffix[i] = f" Звонить {_FIRST[c % 5][female]} по номеру 8-9{b % 100:02d}-{c % 1000:03d}-{d % 100:02d}-{a % 100:02d}."
        else:
            suffix[i] = f" Ответ прошу на {_SURNAMES[b % 10].lower()}{c % 100}@mail.ru."
    # Each text made once, whole: the column-wise version kept three copies of 10M texts alive at
    # once (the text, its rstrip, the text with its suffix: +4 GB of the 10M demo's peak), and a
    # fixed-width array of the phrases besides. The same texts, from the same draws.
    phrases = _PHRASES.tolist()
    texts = np.empty(n, dtype=object)
    texts[:] = [(f"{name}. {phrases[j]}").rstrip() + tail for name, j, tail in zip(category_names, phrase, suffix)]
    return texts


def _returns(rng, tickets: pd.DataFrame, as_of: np.datetime64) -> pd.DataFrame:
    """When each return for rework happened: spread over the request's life (creation to closing,
    or to as_of while open), in order, as many as returned_count says."""
    counts = tickets["returned_count"].to_numpy()
    idx = np.repeat(np.flatnonzero(counts), counts[counts > 0])
    nth = np.concatenate([np.arange(k) for k in counts[counts > 0]]) if len(idx) else np.array([], dtype=np.int64)
    created = tickets["created_at"].to_numpy()[idx]
    end = tickets["closed_at"].to_numpy()[idx]
    end = np.where(np.isnat(end), as_of.astype(end.dtype) - np.timedelta64(1, "s"), end)
    life = (end - created).astype(np.int64)
    share = (nth + rng.uniform(0.3, 0.9, len(idx))) / counts[idx]
    returned_at = created + (life * share).astype(np.int64).astype(created.dtype.str.replace("M8", "m8"))
    return pd.DataFrame({"ticket_id": tickets["ticket_id"].to_numpy()[idx], "returned_at": returned_at.astype("datetime64[s]").astype("datetime64[us]")})


@dataclass
class _World:
    """What every chunk of requests is drawn from: the organisations, buildings and days."""

    spec: DemoSpec
    municipalities: pd.DataFrame
    cats: pd.DataFrame
    areas: pd.DataFrame
    orgs: pd.DataFrame
    buildings: pd.DataFrame
    poor_idx: np.ndarray
    excellent_idx: np.ndarray
    days: np.ndarray
    working: np.ndarray
    holiday: np.ndarray
    months: np.ndarray
    new_year: np.ndarray
    cat_month: np.ndarray
    per_day: np.ndarray


# Requests generated and written at a time: the 10M demo in ten parts (it peaked at 9.1 GB generated
# whole). Up to this many the data are one part, exactly as they were generated whole before.
CHUNK_TICKETS = 1_000_000


def _chunks(per_day: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Day ranges [lo, hi) of at most `limit` requests each (a day is never split; a busier day than
    the limit is a part of its own)."""
    out, lo, count = [], 0, 0
    for day, k in enumerate(per_day):
        if count and count + k > limit:
            out.append((lo, day))
            lo, count = day, 0
        count += int(k)
    out.append((lo, len(per_day)))
    return out


def _world(spec: DemoSpec, rng, say: Progress) -> _World:
    """Organisations, buildings, days and the number of requests per day."""
    municipalities = reference.municipalities()
    cats = reference.categories()

    say(0.02, "organisations")
    areas = _areas(municipalities)
    orgs = _organizations(rng, areas, spec.organizations)
    poor_pool = orgs.index[orgs["kind"] == "uk"].to_numpy()
    planted = rng.choice(poor_pool, N_POOR + N_EXCELLENT, replace=False)
    poor_idx, excellent_idx = planted[:N_POOR], planted[N_POOR:]
    orgs.loc[poor_idx, "late_factor"] = POOR_FACTOR
    orgs.loc[excellent_idx, "late_factor"] = EXCELLENT_FACTOR
    buildings = _buildings(rng, areas, orgs)
    # Planted organisations need enough buildings to be clearly visible, not lost in noise.
    for idx in planted:
        org_id = orgs.at[idx, "organization_id"]
        if (buildings["organization_id"] == org_id).sum() < 30:
            same_area = buildings.index[
                buildings["area_municipality_id"] == orgs.at[idx, "area_municipality_id"]
            ]
            take = rng.choice(same_area, min(30, len(same_area)), replace=False)
            buildings.loc[take, "organization_id"] = org_id

    say(0.08, "days")
    days, working, holiday = day_table(spec.start, spec.end)
    months = days.astype("datetime64[M]").astype(int) % 12
    weekday = (days.astype(int) + 3) % 7  # 0 = Monday
    new_year = (days.astype("datetime64[M]").astype(int) % 12 == 0) & (
        (days - days.astype("datetime64[M]")).astype(int) < 8
    )
    day_factor = np.where(working, 1.0, np.where(weekday == 6, 0.5, 0.6))
    day_factor = np.where(holiday, 0.45, day_factor)
    cat_month = _category_month_matrix(cats)
    day_weight = day_factor * cat_month.sum(axis=1)[months]
    per_day = rng.multinomial(spec.tickets, day_weight / day_weight.sum())

    return _World(spec, municipalities, cats, areas, orgs, buildings, poor_idx, excellent_idx, days, working,
                  holiday, months, new_year, cat_month, per_day)


def _ticket_chunk(w: _World, day_lo: int, day_hi: int, first_id: int, rng, extra, period, say: Progress
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The requests created on days day_lo..day_hi-1 (numbered from first_id) and their returns for
    rework. `period` is the (first, last) creation moment the share of Dobrodel grows over, None to take
    this chunk's own (one chunk: the whole data)."""
    spec, days, working, holiday, months, new_year = w.spec, w.days, w.working, w.holiday, w.months, w.new_year
    cats, areas, buildings, orgs, municipalities, cat_month = w.cats, w.areas, w.buildings, w.orgs, w.municipalities, w.cat_month
    day_idx = np.repeat(np.arange(day_lo, day_hi), w.per_day[day_lo:day_hi])
    n = len(day_idx)
    hour_weights = np.array(
        [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3.5, 6, 8, 9, 9, 8.5, 8, 8, 7.5, 7, 7, 6.5, 5.5, 4.5, 3.5, 2.5, 1.5]
    )
    seconds = _weighted_pick(rng, hour_weights, n) * 3600 + rng.integers(0, 3600, n)
    created = days[day_idx].astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    # Nothing is created at or after the moment the data describe.
    before_as_of = created < np.datetime64(spec.as_of, "s")
    day_idx, created = day_idx[before_as_of], created[before_as_of]
    n = len(day_idx)
    created_month = months[day_idx]

    say(0.18, "requests")
    cat_idx = np.empty(n, dtype=np.int64)
    for m in range(12):
        mask = created_month == m
        cat_idx[mask] = _weighted_pick(rng, cat_month[m], int(mask.sum()))
    cat_ids = cats["category_id"].to_numpy()[cat_idx]

    area_weight = areas.set_index("area_municipality_id")["weight"]
    b_area = buildings["area_municipality_id"].to_numpy()
    area_apartments = buildings.groupby("area_municipality_id")["apartments"].transform("sum").to_numpy()
    b_weight = area_weight.loc[b_area].to_numpy() * buildings["apartments"].to_numpy() / area_apartments
    b_idx = _weighted_pick(rng, b_weight, n)
    building_ids = buildings["building_id"].to_numpy()[b_idx]
    ticket_area = b_area[b_idx]
    org_ids = buildings["organization_id"].to_numpy()[b_idx].copy()

    # Requests about power and gas go to a resource supplier, yard works to the administration.
    groups = cats["group_code"].to_numpy()[cat_idx]
    orgs_by_area_kind = orgs.groupby(["area_municipality_id", "kind"])["organization_id"].apply(np.array)
    for area_id in areas["area_municipality_id"]:
        in_area = ticket_area == area_id
        rso_mask = in_area & np.isin(groups, list(_RSO_GROUPS))
        rso_ids = orgs_by_area_kind[(area_id, "rso")]
        org_ids[rso_mask] = rso_ids[rng.integers(0, len(rso_ids), int(rso_mask.sum()))]
        omsu_mask = in_area & np.isin(cat_ids, list(_OMSU_CATEGORIES))
        org_ids[omsu_mask] = orgs_by_area_kind[(area_id, "omsu")][0]

    say(0.3, "deadlines")
    hours = cats["normative_hours"].to_numpy(dtype=float, na_value=np.nan)[cat_idx]
    workdays = cats["normative_workdays"].to_numpy(dtype=float, na_value=np.nan)[cat_idx]
    due = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    by_hours = ~np.isnan(hours)
    due[by_hours] = created[by_hours] + (hours[by_hours] * 3600).astype("timedelta64[s]")
    by_days = ~np.isnan(workdays)
    due[by_days] = add_working_days(created[by_days], workdays[by_days].astype(np.int64))
    has_due = by_hours | by_days

    say(0.45, "quality")
    org_factor = orgs.set_index("organization_id")["late_factor"].loc[org_ids].to_numpy()
    returned = rng.poisson(0.05 * org_factor**0.8)
    returned = np.minimum(returned, 6)
    late_p = BASE_LATE_PROBABILITY * org_factor
    late_p *= np.where(working[day_idx], 1.0, 1.6)
    late_p *= np.where(holiday[day_idx], 1.5, 1.0)
    late_p *= np.where(new_year[day_idx], 1.6, 1.0)
    late_p *= np.where(returned > 0, 1.8, 1.0)
    late_p *= np.where(created >= np.datetime64(IMPROVEMENT_FROM), IMPROVEMENT_FACTOR, 1.0)
    name_to_id = dict(zip(municipalities["name_ru"], municipalities["municipality_id"]))
    for name, seminar in SEMINARS.items():
        treated = (ticket_area == name_to_id[name]) & (created >= np.datetime64(seminar))
        late_p[treated] *= SEMINAR_FACTOR
    late = rng.random(n) < np.minimum(late_p, 0.95)

    say(0.55, "closing")
    span = np.where(has_due, (due - created).astype(np.int64), 3 * 86400).astype(float)
    on_time_close = created + (span * rng.beta(2.0, 2.5, n)).astype("timedelta64[s]")
    overrun = span * rng.exponential(0.6, n) + rng.exponential(12 * 3600, n)
    overrun = np.where(rng.random(n) < 0.03, overrun * 10, overrun)
    late_close = due + (overrun + 60).astype("timedelta64[s]")
    closed = np.where(late & has_due, late_close, on_time_close)
    # Requests with no deadline simply take a few days.
    no_due_close = created + rng.exponential(3 * 86400, n).astype("timedelta64[s]")
    closed = np.where(has_due, closed, no_due_close)
    closed = np.maximum(closed, created + np.timedelta64(300, "s"))
    # A few late requests get stuck for months (so a worse organisation or period has more of
    # them); whatever would close after as_of is still open.
    stuck = late & has_due & (rng.random(n) < 0.03)
    stuck_close = np.maximum(closed, created) + rng.exponential(30 * 86400, n).astype("timedelta64[s]")
    closed = np.where(stuck, stuck_close, closed)
    as_of = np.datetime64(spec.as_of, "s")
    closed = np.where(closed >= as_of, np.datetime64("NaT"), closed)
    is_closed = ~np.isnat(closed)

    say(0.65, "sources")
    lo, hi = period if period is not None else (created.min(), created.max())
    progress_in_time = (created - lo).astype(np.int64) / max(1, (hi - lo).astype(np.int64))
    u = rng.random(n)
    dobrodel_share = 0.22 + 0.18 * progress_in_time
    source_idx = np.where(u < dobrodel_share, 1, np.where(u < dobrodel_share + 0.15, 2, 0))
    actually_late = is_closed & has_due & (closed > due)
    mean_rating = 4.4 - 1.4 * actually_late - 0.6 * np.minimum(returned, 2)
    rating = np.clip(np.rint(rng.normal(mean_rating, 0.8)), 1, 5).astype(np.int64)
    rated = is_closed & (rng.random(n) < 0.55)

    kr = municipalities.loc[municipalities["name_ru"] == KRASNOARMEYSK].iloc[0]
    area_to_current = areas.set_index("area_municipality_id")["municipality_id"]
    recorded_municipality = area_to_current.loc[ticket_area].to_numpy().astype(np.int64)
    before_merger = (ticket_area == kr["municipality_id"]) & (created < np.datetime64(kr["merged_on"], "s"))
    recorded_municipality[before_merger] = kr["municipality_id"]

    say(0.75, "assembling")
    tickets = pd.DataFrame(
        {
            "ticket_id": np.arange(first_id, first_id + n, dtype=np.int64),
            "source": SOURCES[source_idx],
            "created_at": created.astype("datetime64[us]"),
            "due_at": due.astype("datetime64[us]"),
            "closed_at": closed.astype("datetime64[us]"),
            "status": np.where(is_closed, "closed", "open"),
            "category_id": cat_ids.astype(np.int32),
            "municipality_id": recorded_municipality.astype(np.int32),
            "organization_id": org_ids.astype(np.int32),
            "building_id": building_ids.astype(np.int32),
            "returned_count": returned.astype(np.int32),
            "rating": pd.arrays.IntegerArray(rating.astype(np.int8), mask=~rated),
        }
    )

    say(0.77, "texts")
    # A separate random stream (`extra`): adding these did not change any of the numbers drawn above.
    tickets["description"] = _descriptions(extra, cats["name_ru"].to_numpy()[cat_idx])
    ticket_returns = _returns(extra, tickets, as_of)
    return tickets, ticket_returns


def _tables(w: _World, n: int) -> dict[str, pd.DataFrame]:
    """Every table but the requests and their returns: reference, events, the story (which says how
    many requests there are, `n`), the dataset row."""
    spec, orgs, municipalities, cats, poor_idx, excellent_idx = w.spec, w.orgs, w.municipalities, w.cats, w.poor_idx, w.excellent_idx
    territories = reference.territories()
    name_to_id = dict(zip(municipalities["name_ru"], municipalities["municipality_id"]))
    kr = municipalities.loc[municipalities["name_ru"] == KRASNOARMEYSK].iloc[0]
    seminar_ids = {name: name_to_id[name] for name in SEMINARS}
    poor_ids = orgs.loc[poor_idx, "organization_id"].tolist()
    events = pd.DataFrame(
        [
            (dt.date(2018, 11, 22), "seminar", "Семинар для УК: соглашение об электронном взаимодействии в ЕДС", None, None),
            (dt.date(2018, 12, 20), "order", "Приказ о ежедневном контроле сроков по заявкам ЕДС", None, None),
            (SEMINARS["городской округ Серпухов"], "seminar", "Семинар в г.о. Серпухов: работа с заявками в ЕДС", seminar_ids["городской округ Серпухов"], None),
            (SEMINARS[KRASNOARMEYSK], "seminar", "Семинар в г.о. Красноармейск: работа с заявками в ЕДС", seminar_ids[KRASNOARMEYSK], None),
            (dt.date(2019, 6, 5), "inspection", "Внеплановая проверка управляющей организации", None, poor_ids[0]),
            (dt.date(2019, 9, 12), "inspection", "Внеплановая проверка управляющей организации", None, poor_ids[1]),
            (dt.date(2019, 10, 24), "fine", "Штраф по итогам проверки", None, poor_ids[0]),
        ],
        columns=["event_date", "kind", "title", "municipality_id", "organization_id"],
    )
    events.insert(0, "event_id", np.arange(1, len(events) + 1))
    events["municipality_id"] = events["municipality_id"].astype("Int64")
    events["organization_id"] = events["organization_id"].astype("Int64")
    events["event_date"] = pd.to_datetime(events["event_date"])

    story = pd.DataFrame(
        [
            ("improvement_from", IMPROVEMENT_FROM.isoformat(), "from this day the chance of missing a deadline is multiplied by improvement_factor region-wide"),
            ("improvement_factor", str(IMPROVEMENT_FACTOR), "so missed deadlines per day fall by about half from Q4 2018 to Q1 2019"),
            ("seminar_municipality_ids", ",".join(str(seminar_ids[k]) for k in SEMINARS), "Serpukhov and Krasnoarmeysk"),
            ("seminar_dates", ",".join(d.isoformat() for d in SEMINARS.values()), "in the same order"),
            ("seminar_factor", str(SEMINAR_FACTOR), "further multiplier of the chance of missing a deadline after the seminar"),
            ("krasnoarmeysk_id", str(int(kr["municipality_id"])), "recorded under its own id before merged_on"),
            ("krasnoarmeysk_successor_id", str(int(kr["successor_id"])), "Pushkinsky okrug"),
            ("krasnoarmeysk_merged_on", pd.Timestamp(kr["merged_on"]).date().isoformat(), "merger date used"),
            ("poor_organization_ids", ",".join(map(str, poor_ids)), f"late {POOR_FACTOR}x as often as usual"),
            ("excellent_organization_ids", ",".join(map(str, orgs.loc[excellent_idx, "organization_id"])), f"late {EXCELLENT_FACTOR}x as often as usual"),
            ("seed", str(spec.seed), "generator seed"),
            ("tickets", str(n), "number of tickets generated"),
        ],
        columns=["key", "value", "note"],
    )

    muni_out = municipalities[
        ["municipality_id", "name_ru", "name_en", "territory_id", "population", "successor_id", "merged_on", "lat", "lon"]
    ].copy()
    dataset = pd.DataFrame(
        {
            "as_of": [pd.Timestamp(spec.as_of)],
            "source": ["demo"],
            "is_demo": [True],
            "loaded_at": [pd.Timestamp.now(tz="Europe/Moscow").tz_localize(None).floor("s")],
        }
    )
    return dict(
        territories=territories[["territory_id", "code", "name_ru", "name_en"]],
        municipalities=muni_out,
        organizations=orgs[["organization_id", "name", "inn", "kind", "municipality_id"]],
        buildings=w.buildings.drop(columns=["area_municipality_id"]),
        categories=cats,
        events=events,
        dataset=dataset,
        demo_story=story,
    )




def generate_parts(spec: DemoSpec = DemoSpec(), progress: Progress | None = None,
                   chunk_tickets: int | None = None) -> Iterator[dict[str, pd.DataFrame]]:
    """The demo tables for `spec` (deterministic for spec.seed and chunk_tickets), in parts: each part
    is {"tickets", "ticket_returns"} for a run of days, and the last one every other table. A writer
    appends them one by one, so that only one part is in memory (oversight.store.write_database).

    Up to chunk_tickets requests are one part, drawn from the one random stream as they always were.
    More are drawn part by part, each part from a stream of its own, so the same spec gives the same
    data whatever the machine; the Dobrodel share grows over the whole period rather than each part's."""
    say = progress or (lambda fraction, message: None)
    rng = np.random.default_rng(spec.seed)
    w = _world(spec, rng, say)
    parts = _chunks(w.per_day, chunk_tickets or CHUNK_TICKETS)
    whole = len(parts) == 1
    period = None if whole else (w.days[0].astype("datetime64[s]"),
                               min(np.datetime64(spec.as_of, "s"), (w.days[-1] + 1).astype("datetime64[s]")))
    first_id = 1
    for k, (lo, hi) in enumerate(parts):
        chunk_rng = rng if k == 0 else np.random.default_rng([spec.seed, 2, k])
        extra = np.random.default_rng([spec.seed, 1] if k == 0 else [spec.seed, 1, k])

        def say_part(fraction, message, k=k):  # the parts share 0.1..0.8 of the progress bar
            say(0.1 + 0.7 * (k + fraction) / len(parts), message)

        tickets, returns = _ticket_chunk(w, lo, hi, first_id, chunk_rng, extra, period, say_part)
        first_id += len(tickets)
        yield {"tickets": tickets, "ticket_returns": returns}
        del tickets, returns
    say(0.8, "tables_ready")
    yield _tables(w, first_id - 1)


def generate(spec: DemoSpec = DemoSpec(), progress: Progress | None = None,
             chunk_tickets: int | None = None) -> DemoData:
    """The demo tables for `spec` whole (tests; the database is written part by part)."""
    tables: dict[str, list[pd.DataFrame]] = {}
    for part in generate_parts(spec, progress, chunk_tickets):
        for name, frame in part.items():
            tables.setdefault(name, []).append(frame)
    return DemoData(**{name: frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
                       for name, frames in tables.items()})


def build_demo_database(path, spec: DemoSpec = DemoSpec(), progress: Progress | None = None) -> None:
    """Generate the demo data and write it as a complete DuckDB database at `path` (atomically)."""
    from oversight.store import write_database

    say = progress or (lambda fraction, message: None)

    def parts():
        for part in generate_parts(spec, progress):
            if "tickets" not in part:  # the last part: every other table, then the derived tables
                say(0.85, "writing")
            yield part
            del part  # not kept alive while the next part is drawn

    write_database(path, parts())
    say(1.0, "done")
