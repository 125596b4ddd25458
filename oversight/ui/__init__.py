"""Shared Streamlit pieces: first-run demo build, language, the filter sidebar, KPI cards, tables.

With ui/drill_page.py, ui/compare_page.py and ui/examples_page.py, the only modules of the library that import streamlit. Pages call `context()` to get everything
they need (language, connection, data facts, filters) and the render helpers below.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import pickle
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from oversight import access, leftovers, store
from oversight.access import Principal, Scope
from oversight.analysis import backlog, compare, compliance, drill, heatmap, metrics
from oversight.filters import PERIOD_PRESETS, URL_KEYS, Filters, ascii_digits, default_filters, preset_period
from oversight.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    fmt_date,
    fmt_datetime,
    fmt_number,
    fmt_percent,
    fmt_points,
    fmt_signed_percent,
    name_column,
    t,
)
from oversight.ingest.demo import build_demo_database
from oversight.output import presentation, tables
from oversight.output.presentation import md_code, md_text
from oversight.paths import database_path

DEFAULT_TARGET = 0.95
_build_lock = threading.Lock()


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


# ---------------------------------------------------------------- data access (cached)


@st.cache_resource(show_spinner=False, max_entries=4, validate=store.is_open)
def _connection(path: str, version: str):
    return store.connect_raw(path)


def connection(ctx) -> store.ScopedConnection:
    """The database under the session's scope: the only connection a page gets."""
    return store.scoped(_connection(ctx.db_path, ctx.version), ctx.scope)


# Library functions a page may ask for through `cached`: an allow-list, not a lookup by string.
_CACHED_FUNCTIONS = {
    "kpis": metrics.kpis,
    "kpi_comparison": metrics.kpi_comparison,
    "kpi_trend": metrics.kpi_trend,
    "kpis_by_area": metrics.kpis_by_area,
    "backlog.series": backlog.series,
    "backlog.comparison": backlog.comparison,
    "backlog.ageing": backlog.ageing,
    "backlog.by_area": backlog.by_area,
    "backlog.events": backlog.events,
    "heatmap.map_values": heatmap.map_values,
    "heatmap.matrix": heatmap.matrix,
    "drill.children": drill.children,
    "drill.requests": drill.requests,
    "drill.scope_kpis": drill.scope_kpis,
    "drill.building_trend": drill.building_trend,
    "drill.organization_card": drill.organization_card,
    "compare.compare": compare.compare,
    "compare.interrupted_series": compare.interrupted_series,
    "presentation.material": presentation.material,
    "compliance.watchlist": compliance.watchlist,
    "compliance.weekends": compliance.weekends,
    "benchmarks": metrics.benchmarks,
}


# The scope is part of every cache key: a result computed for one user's scope is never handed to a
# user whose scope differs (two users with the same scope share it, as they see the same rows).
@st.cache_data(show_spinner=False, max_entries=1024)
def _cached(function: str, db_path: str, version: str, scope: Scope, filters: Filters, as_of: dt.datetime, extra: tuple):
    con = store.scoped(_connection(db_path, version), scope)
    return _CACHED_FUNCTIONS[function](con, filters, as_of, *extra)


def cached(function: str, ctx: PageContext, *extra, filters: Filters | None = None):
    """Result of a metrics function for the page's filters, cached on (query, params, scope, data version)."""
    return _cached(function, ctx.db_path, ctx.version, ctx.scope, filters or ctx.filters, ctx.as_of, tuple(extra))


def cached_for(source: Source, function: str, filters: Filters, as_of: dt.datetime, *extra):
    """`cached` before any page runs (the server's warm-up): the same cache entry a page with this
    source's scope, these filters and these arguments asks for."""
    return _cached(function, source.db_path, source.version, source.scope, filters, as_of, tuple(extra))


@st.cache_data(show_spinner=False)
def _query(name: str, db_path: str, version: str, scope: Scope, params: tuple = ()) -> pd.DataFrame:
    return store.run(store.scoped(_connection(db_path, version), scope), name, **dict(params))


def query(name: str, ctx, **params) -> pd.DataFrame:
    """A cached run of queries/<name>.sql under the session's scope (small lookups: filter options,
    dataset facts). `ctx` is the PageContext (or, before it exists, the session's Source)."""
    return _query(name, ctx.db_path, ctx.version, ctx.scope, tuple(sorted(params.items())))


# Building a plotly figure costs 10–60 ms of Python (the Backlog page's five: about 0.1 s), and every
# session that opened a page built the same figures again from the same cached results: with 20
# sessions on one core that was about half of the server's CPU (bench/bench_load.py). `shared` builds
# a figure (or a table made for display) once per distinct input and hands the same object, read-only,
# to every session. The key is a digest of everything the builder receives (its frames' contents
# included), so another data version, scope, filter, language or target gets its own result, and no
# session can get one made of rows it may not see: the rows are part of the key.
@st.cache_resource(show_spinner=False, max_entries=256)
def _shared(digest: bytes, _builder, _args: tuple, _kwargs: dict):
    return _builder(*_args, **_kwargs)


def shared(builder, *args, **kwargs):
    """`builder(*args, **kwargs)`, built once for the same inputs and shared by every session. The
    builder must be a pure function of its arguments, and the result treated as read-only
    (st.plotly_chart and st.dataframe copy what they show; a caller that would change it copies it)."""
    try:
        payload = pickle.dumps((builder.__module__, builder.__qualname__, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):  # an input that cannot be pickled: not shared
        return builder(*args, **kwargs)
    return _shared(hashlib.blake2b(payload, digest_size=20).digest(), builder, args, kwargs)


figure = shared  # a charts.* figure: ui.figure(charts.backlog_lines, base, ...)


# ---------------------------------------------------------------- first run


@st.cache_resource(show_spinner=False)
def _clean_leftovers(folder: str) -> int:
    """Once per server process: what killed imports, previews and builds left beside the database."""
    return len(leftovers.clean(folder))


def warm_up() -> dict[str, float]:
    """At server start, before the first visitor (serve.py's lifespan): what every first visit would
    otherwise wait for, done once. Opens the database (the same cached connection pages get), checks
    its invariants (cached as `setup` asks for them), starts loading the median index in the
    background (read from its file beside the database in 0.2 s at 10M, or built there when missing:
    the start never waits for a build), loads the map's boundaries and the directions' outlines
    (geopandas), and computes what the first page a visitor sees asks for: the data facts, the sidebar's
    choices (in Russian, the default) and the Overview's results for the default filters, under the
    whole region's scope (the local user's and leadership's; the same cache keys the pages use, so a
    first visit finds them). Nothing when there is no database yet: the first visit builds the
    demo with its progress bar. Returns seconds per step, for the server's log and the benchmark."""
    import time

    steps: dict[str, float] = {}
    path = database_path()
    if not path.exists():
        return steps

    def step(name, work):
        started = time.perf_counter()
        result = work()
        steps[name] = time.perf_counter() - started
        return result

    version = step("version", lambda: store.data_version(path))
    raw = step("connection", lambda: _connection(str(path), version))
    step("invariants", lambda: _file_problems(str(path), version))
    # The local user's and leadership's scope; a head of a direction gets his own index at his first visit.
    step("median_index", lambda: metrics.start_median_index(store.scoped(raw, access.EVERYTHING)))
    step("map", lambda: (heatmap.boundaries(), heatmap.direction_outlines(), heatmap.map_geojson(url_root())))
    whole = Source(str(path), version, access.EVERYTHING)

    def overview():
        info = query("dataset_info", whole)
        query("data_range", whole)
        _sidebar_choices(whole.db_path, whole.version, whole.scope, DEFAULT_LANGUAGE)
        as_of = pd.Timestamp(info.iloc[0]["as_of"]).to_pydatetime()  # as setup() reads it
        filters = default_filters(as_of)
        for function in OVERVIEW_RESULTS:
            _cached(function, whole.db_path, whole.version, whole.scope, filters, as_of, ())

    step("overview", overview)
    return steps


# What app_pages/overview.py asks ui.cached for with the default filters (warm_up computes them at start).
OVERVIEW_RESULTS = ("kpi_comparison", "kpi_trend", "kpis_by_area", "benchmarks")


def warm_up_pages() -> dict[str, float]:
    """At start, after warm_up (serve.py): the default results of the pages with
    queries of their own that a first visit at 10M waited for once the Overview's were ready (Backlog
    0.3 s, Map, Compliance, Before/after 0.3 s, the examples' fair comparisons 1.6 s), under the whole
    region's scope and with the same cache keys the pages use. Returns seconds per page."""
    import time

    from oversight.ui import compare_page, compliance_page, examples_page

    steps: dict[str, float] = {}
    path = database_path()
    if not path.exists():
        return steps
    whole = Source(str(path), store.data_version(path), access.EVERYTHING)
    as_of = pd.Timestamp(query("dataset_info", whole).iloc[0]["as_of"]).to_pydatetime()  # as setup() reads it
    filters = default_filters(as_of)

    def backlog_page():
        freq = backlog.DEFAULT_FREQ
        for function, extra in (("backlog.series", (freq,)), ("backlog.events", ()),
                                ("backlog.comparison", (freq, backlog.default_comparison(filters))),
                                ("backlog.ageing", (freq,)), ("backlog.by_area", (freq, backlog.DEFAULT_LEVEL))):
            cached_for(whole, function, filters, as_of, *extra)

    def map_page():
        cached_for(whole, "heatmap.map_values", filters, as_of, heatmap.DEFAULT_METRIC)
        cached_for(whole, "heatmap.matrix", filters, as_of, heatmap.DEFAULT_MATRIX_FREQ, heatmap.DEFAULT_METRIC)

    for name, work in (("backlog", backlog_page), ("map", map_page),
                       ("compliance", lambda: compliance_page.warm(whole, filters, as_of)),
                       ("compare", lambda: compare_page.warm(whole, filters, as_of)),
                       ("examples", lambda: examples_page.warm(whole, filters, as_of))):
        started = time.perf_counter()
        work()
        steps[name] = time.perf_counter() - started
    return steps

# Libraries the pages import only when a function needs them (an Excel download, a statistic, a deck):
# at a fresh server's first page they were most of its time (openpyxl alone 0.9 s of a 1.2 s run).
LAZY_LIBRARIES = ("openpyxl", "statsmodels.api", "statsmodels.stats.proportion", "scipy.stats", "docx", "fpdf",
                  "pptx", "PIL.Image", "plotly.io", "plotly.subplots", "shapely", "geopandas",
                  # Imported by Streamlit and pandas at their first use: a styled table (DataFrame.style
                  # compiles its jinja2 templates, 0.3 s) and the page icon (Streamlit's emoji list).
                  "pandas.io.formats.style", "streamlit.emojis")


def import_everything() -> float:
    """Import every module of the library and the libraries its functions import lazily (serve.py, at
    start, before the server answers: a visitor never waits for an import). Returns the seconds taken."""
    import importlib
    import pkgutil
    import time

    import oversight

    started = time.perf_counter()
    for module in pkgutil.walk_packages(oversight.__path__, "oversight."):
        if module.name != "oversight.__main__" and not module.name.startswith("oversight.cli"):
            importlib.import_module(module.name)
    for name in LAZY_LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional one missing: its page says so when used
            pass
    _streamlit_use_check()
    _plotly_classes()
    return time.perf_counter() - started


def _plotly_classes() -> None:
    """plotly imports each trace type's class and the validators of its properties at their first use
    (0.1 s for the five the charts use): done here, with one small figure of each."""
    import plotly.graph_objects as go

    for trace in (go.Bar(x=[1], y=[1], marker=dict(color="red"), text=["1"]),
                  go.Scatter(x=[1], y=[1], mode="lines+markers", line=dict(dash="dot"), fill="tozeroy",
                             error_x=dict(array=[1]), customdata=[[1]], hovertemplate="%{y}"),
                  go.Heatmap(z=[[1]], colorscale="Reds", colorbar=dict(title="1")),
                  go.Choropleth(locations=["1"], z=[1], geojson={"type": "FeatureCollection", "features": []}),
                  go.Scattergeo(lon=[37.6], lat=[55.7], mode="lines")):
        go.Figure(trace).update_layout(legend=dict(orientation="h"), margin=dict(t=1), hoverlabel=dict(font_size=1))


def _streamlit_use_check() -> None:
    """Streamlit checks once per process, at the first element any script draws, whether it runs in a
    Python REPL: inspect.stack(), which reads the source of every frame of the page's deep stack (0.1–0.3
    s of the first visit after a start, py-spy). Done here instead, from a shallow stack. (A private
    function: test_warmup fails if a Streamlit upgrade renames it.)"""
    from streamlit import delta_generator

    check = getattr(delta_generator, "_maybe_print_use_warning", None)
    if check is not None:
        check()


def ensure_database(lang: str) -> Path:
    """Return the database path, building the demo database first if there is none yet.

    Shows a progress bar while building (about half a minute for a million requests). A lock
    keeps two browser sessions of the same server from building it twice.
    """
    path = database_path()
    _clean_leftovers(str(path.parent))
    if path.exists():
        return path
    with _build_lock:
        if path.exists():
            return path
        note = st.empty()
        note.info(t("build.title", lang))
        bar = st.empty()
        bar.progress(0.0, text=t("build.step", lang, message="…"))

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=t("build.step", lang, message=t(f"build.step.{message}", lang)))

        try:
            build_demo_database(path, progress=progress)
        except Exception as error:  # a user-facing failure: say what and how to fix it
            st.error(t("build.failed", lang, error=md_text(error)))
            st.stop()
        note.empty()
        bar.empty()
        st.toast(t("build.done", lang))
    return path


# ---------------------------------------------------------------- language and sidebar


def _lang_from_url() -> str:
    lang = st.query_params.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def language_switch() -> str:
    """The RU/EN switch at the top of the sidebar; its value also lives in the URL."""
    if "lang" not in st.session_state:
        st.session_state["lang"] = _lang_from_url()
    st.sidebar.segmented_control(
        t("lang.label", st.session_state["lang"] or DEFAULT_LANGUAGE),
        options=list(LANGUAGES),
        format_func=str.upper,
        key="lang",
        label_visibility="collapsed",
        on_change=_keep_a_language,
    )
    lang = st.session_state["lang"] or DEFAULT_LANGUAGE
    if st.session_state.get("_last_lang", lang) != lang:
        _relabel_choices()
    st.session_state["_last_lang"] = lang
    return lang


def localise_streamlit(lang: str) -> None:
    """Streamlit's own texts in Russian where it has no setting for them: the file uploader's button
    and size note, and the «Stop» button of a long run. Streamlit has no localisation; the texts are
    replaced by CSS (the elements' test ids are Streamlit's stable hooks, and the button keeps
    working). The ⋮ menu is switched off in .streamlit/config.toml (client.toolbarMode); the date
    picker's month names and first weekday follow the browser's language. README, "What stays
    English"."""
    # Every page: less empty space above the title (Streamlit keeps 6rem for a header that, with
    # the ⋮ menu off, holds only the sidebar's arrow), so that the Overview's cards and chart fit above
    # the fold at 1366×768.
    st.html("<style>[data-testid=\"stMainBlockContainer\"] {padding-top: 2.5rem}</style>")
    if lang == "en":
        return
    button, limit, stop = (t(k, lang).replace('"', "") for k in ("st.upload_button", "st.upload_limit", "st.stop"))
    st.html(f"""<style>
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p {{font-size: 0}}
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p::after {{content: "{button}"; font-size: 0.875rem}}
[data-testid="stFileUploaderDropzoneInstructions"] span {{font-size: 0}}
[data-testid="stFileUploaderDropzoneInstructions"] span::after {{content: "{limit}"; font-size: 0.875rem}}
[data-testid="stStatusWidget"] button {{font-size: 0}}
[data-testid="stStatusWidget"] button::after {{content: "{stop}"; font-size: 0.875rem}}
</style>""")


# Keyed widgets that show their values through a format_func in the interface language (filters,
# page controls, the Before/after and Access pickers). A keyed widget keeps its identity when its
# labels change, and the browser then keeps showing the label it had: after RU → EN the direction
# box still said «Север». Setting the value again from the session state makes Streamlit send it
# anew, drawn with the new language's labels.
RELABELLED = ("flt_", "pg_", "cmp_", "grant_", "revoke_choice", "data_profile", "audit_action")


def _relabel_choices() -> None:
    """After a language switch: every choice widget's value sent again (see RELABELLED). Runs before
    any of them is drawn (the language switch is the first widget of a run)."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(RELABELLED):
            try:
                st.session_state[key] = st.session_state[key]
            except StreamlitAPIException:  # a button or an uploader: its value cannot be set, nor needs to be
                pass


def _keep_a_language() -> None:
    """Clicking the selected language deselects it; keep the previous one instead."""
    if st.session_state.get("lang") not in LANGUAGES:
        st.session_state["lang"] = st.session_state.get("_last_lang", DEFAULT_LANGUAGE)


def _validate_ids(filters: Filters, options: dict[str, pd.DataFrame]) -> tuple[Filters, list]:
    """Drop ids from a shared link that do not exist in the data, saying which."""
    problems = []
    checks = {
        "territory_id": ("dir", options["territories"]["territory_id"]),
        "municipality_id": ("mun", options["municipalities"]["municipality_id"]),
        "organization_id": ("org", options["organizations"]["organization_id"]),
        "category_id": ("cat", options["categories"]["category_id"]),
        "source": ("src", options["sources"]["source"]),
    }
    values = {}
    for field, (key, valid) in checks.items():
        value = getattr(filters, field)
        if value is not None and value not in set(valid.tolist()):
            problems.append(("unknown_id", key, str(value)))
            value = None
        values[field] = value
    return Filters(start=filters.start, end=filters.end, **values), problems


def _filter_options(source: Source) -> dict[str, pd.DataFrame]:
    return {
        "territories": query("filter_territories", source),
        "municipalities": query("filter_municipalities", source),
        "organizations": query("filter_organizations", source),
        "categories": query("filter_categories", source),
        "sources": query("filter_sources", source),
    }


# The sidebar's choices for a database version, scope and language: ids in order and their labels
# (an organisation's with its INN), grouped the way the selectboxes narrow them. Worked out once and
# shared by every session (read-only): building the labels of a few thousand organisations on every
# script run was a fifth of the server's CPU with 20 sessions (bench/bench_load.py).
@st.cache_resource(show_spinner=False, max_entries=32)
def _sidebar_choices(db_path: str, version: str, scope: Scope, lang: str) -> dict:
    options = _filter_options(Source(db_path, version, scope))
    name = name_column(lang)
    terr, mun, org, cat = (options[k] for k in ("territories", "municipalities", "organizations", "categories"))
    sources = options["sources"]["source"].tolist()
    inn = "ИНН" if lang == "ru" else "INN"
    by_territory: dict = {None: mun["municipality_id"].tolist()}
    for territory_id, group in mun.groupby("territory_id", sort=False):
        by_territory[territory_id] = group["municipality_id"].tolist()
    orgs_by_territory: dict = {None: org["organization_id"].tolist()}
    for territory_id, group in org.groupby("territory_id", sort=False):
        orgs_by_territory[territory_id] = group["organization_id"].tolist()
    orgs_by_municipality = {m: group["organization_id"].tolist() for m, group in org.groupby("municipality_id", sort=False)}
    return {
        "options": options,
        "territories": terr["territory_id"].tolist(),
        "municipalities": by_territory,
        "organizations_by_territory": orgs_by_territory,
        "organizations_by_municipality": orgs_by_municipality,
        "categories": cat["category_id"].tolist(),
        "sources": sources,
        "names": {
            "territory": dict(zip(terr["territory_id"], terr[name])),
            "municipality": dict(zip(mun["municipality_id"], mun[name])),
            "organization": {r.organization_id: f"{r.name} ({inn} {r.inn})" for r in org.itertuples()},
            "category": dict(zip(cat["category_id"], cat[name])),
            "source": {s: source_label(s, lang) for s in sources},
        },
    }


def _init_filter_state(as_of: dt.datetime, options, first_day: dt.date, last_day: dt.date, principal: Principal) -> None:
    """On a session's first run, take the filters from the URL (a shared link) into widget state."""
    if st.session_state.get("_filters_initialised"):
        return
    parsed, problems = Filters.from_query_params(st.query_params.to_dict(), default_filters(as_of))
    parsed, unknown = _validate_ids(parsed, options)
    if unknown and not principal.scope.is_everything:
        # Ids this user cannot see (they may not exist at all: that is not said either).
        access.audit(principal.user, "refused", target=", ".join(f"{k}={v}" for _, k, v in unknown),
                     detail={"scope": principal.scope.key, "url": st.query_params.to_dict()})
        unknown = [("no_access", key, value) for _, key, value in unknown]
    clamped = replace(parsed, start=min(max(parsed.start, first_day), last_day), end=min(max(parsed.end, first_day), last_day))
    if (clamped.start, clamped.end) != (parsed.start, parsed.end):
        problems.append(("out_of_range", f"{fmt_date(first_day)} – {fmt_date(last_day)}", f"{parsed.start} – {parsed.end}"))
        parsed = clamped
    st.session_state["_filter_problems"] = problems + unknown
    st.session_state["flt_period"] = (parsed.start, parsed.end)
    for field in ("territory_id", "municipality_id", "organization_id", "category_id", "source"):
        value = getattr(parsed, field)
        st.session_state[f"flt_{field}"] = ALL if value is None else value
    try:
        target = float(st.query_params.get("target", DEFAULT_TARGET * 100))
        target = round(target) if math.isfinite(target) else round(DEFAULT_TARGET * 100)  # ?target=inf, nan
    except (ValueError, OverflowError):
        target = round(DEFAULT_TARGET * 100)
    st.session_state["flt_target"] = min(max(target, 50), 100)
    st.session_state["_filters_initialised"] = True


def _clear_preset() -> None:
    """Dates picked by hand: no quick pick is selected any more."""
    st.session_state["flt_preset"] = None


def _set_preset(as_of: dt.datetime) -> None:
    preset = st.session_state.get("flt_preset")
    if preset:
        st.session_state["flt_period"] = preset_period(preset, as_of)


ALL = 0  # the "all" choice of a selectbox (ids start at 1); None would show Streamlit's placeholder


def _select(label: str, options: list, names: dict, key: str, lang: str):
    """A selectbox whose first option is "All"; returns the chosen value or None for all."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = ALL
    st.sidebar.selectbox(
        label,
        options=[ALL] + options,
        format_func=lambda v: t("filters.all", lang) if v == ALL else names.get(v, str(v)),
        key=key,
    )
    value = st.session_state[key]
    return None if value == ALL else value


def filter_sidebar(lang: str, source: Source, as_of: dt.datetime, first_day: dt.date,
                   principal: Principal) -> tuple[Filters, float]:
    """The shared filters: period with quick picks, direction, municipality, organisation,
    category, source, and the on-time target. Written back to the URL on every run."""
    choices = _sidebar_choices(source.db_path, source.version, source.scope, lang)
    options = choices["options"]
    last_day = (as_of - dt.timedelta(microseconds=1)).date()
    first_day = min(first_day, last_day)
    _init_filter_state(as_of, options, first_day, last_day, principal)
    _apply_pending_scope(options)
    sb = st.sidebar
    sb.header(t("filters.header", lang))

    sb.pills(
        t("filters.quick", lang),
        options=list(PERIOD_PRESETS),
        format_func=lambda p: t(f"filters.{p}", lang),
        key="flt_preset",
        on_change=_set_preset,
        args=(as_of,),
    )
    period = sb.date_input(
        t("filters.period", lang),
        min_value=first_day,
        max_value=last_day,
        key="flt_period",
        format="DD.MM.YYYY" if lang == "ru" else "YYYY-MM-DD",
        on_change=_clear_preset,
    )
    if isinstance(period, (tuple, list)) and len(period) == 2:
        start, end = period
    else:  # the user has picked only the first day so far
        start = end = period[0] if isinstance(period, (tuple, list)) and period else last_day

    names = choices["names"]
    territory_id = _select(t("filters.territory", lang), choices["territories"], names["territory"], "flt_territory_id", lang)
    municipality_id = _select(t("filters.municipality", lang), choices["municipalities"].get(territory_id, []),
                              names["municipality"], "flt_municipality_id", lang)
    if municipality_id is not None:
        org_ids = choices["organizations_by_municipality"].get(municipality_id, [])
    else:
        org_ids = choices["organizations_by_territory"].get(territory_id, [])
    organization_id = _select(t("filters.organization", lang), org_ids, names["organization"], "flt_organization_id", lang)
    category_id = _select(t("filters.category", lang), choices["categories"], names["category"], "flt_category_id", lang)
    source = _select(t("filters.source", lang), choices["sources"], names["source"], "flt_source", lang)

    # A slider, not a number box: it shows "95 %" in both languages (a number box would show "95.00").
    sb.slider(
        t("filters.target", lang), min_value=50, max_value=100, step=1, format="%d %%" if lang == "ru" else "%d%%", key="flt_target"
    )

    filters = Filters(
        start=start,
        end=end,
        territory_id=territory_id,
        municipality_id=municipality_id,
        organization_id=organization_id,
        category_id=category_id,
        source=source,
    )
    target = st.session_state["flt_target"] / 100.0
    url = {**filters.to_query_params(), "lang": lang}
    if abs(target - DEFAULT_TARGET) > 1e-9:
        url["target"] = str(st.session_state["flt_target"])
    # Update only the shared keys: other parameters in the link belong to the page.
    current = st.query_params.to_dict()
    for key in (*URL_KEYS, "lang", "target"):
        if key in url and current.get(key) != url[key]:
            st.query_params[key] = url[key]
        elif key not in url and key in current:
            del st.query_params[key]
    return filters, target


def set_scope(territory_id=None, municipality_id=None, organization_id=None) -> None:
    """Narrow (or widen) the shared filters to a direction / municipality / organisation on the next
    run: a map click or a drill-down step. Applied before the sidebar is drawn (a drawn widget's
    value cannot be changed); a municipality brings its direction along."""
    st.session_state["_pending_scope"] = {
        "territory_id": territory_id, "municipality_id": municipality_id, "organization_id": organization_id,
    }


def _apply_pending_scope(options: dict[str, pd.DataFrame]) -> None:
    pending = st.session_state.pop("_pending_scope", None)
    if pending is None:
        return
    municipalities = options["municipalities"]
    if pending["municipality_id"] is not None:
        chosen = municipalities[municipalities["municipality_id"] == pending["municipality_id"]]
        if chosen.empty:
            return
        pending["territory_id"] = int(chosen["territory_id"].iloc[0])
    for field in ("territory_id", "municipality_id", "organization_id"):
        st.session_state[f"flt_{field}"] = ALL if pending[field] is None else pending[field]


def source_label(source: str, lang: str) -> str:
    try:
        return t(f"source.{source}", lang)
    except KeyError:
        return source


# ---------------------------------------------------------------- setup for every page


def auth_configured() -> bool:
    """Whether sign-in is set up: an [auth] section in .streamlit/secrets.toml."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


def authenticate(lang: str) -> Principal:
    """Who is asking, decided before any data is read; stops the run with a plain page otherwise.

    - No [auth]: today's single-user mode, but only for a client on the loopback address.
    - [auth] and not signed in: the sign-in page (Streamlit's OpenID Connect flow, st.login).
    - Signed in with no grant: a page that says whom to ask, and no data.
    """
    if not auth_configured():
        if not access.loopback_client(st.context.ip_address):
            st.error(t("auth.remote_without_sign_in", lang))
            st.stop()
        return access.LOCAL
    if not st.user.is_logged_in:
        st.title(t("app.title", lang))
        st.info(t("auth.please_sign_in", lang))
        st.button(t("auth.sign_in", lang), on_click=st.login, type="primary", icon=":material/login:", key="sign_in")
        st.stop()
    # The e-mail names the user unless the provider says it is unverified (a self-edited address must
    # not pick up another person's grants); then the subject does.
    email = st.user.get("email") if st.user.get("email_verified") is not False else None
    identity = email or st.user.get("sub") or ""
    principal = access.resolve(identity, str(st.user.get("name") or identity))
    if st.session_state.get("_audited_sign_in") != principal.user:
        # The ID token's subject and issue time name the sign-in: a new tab or a reload is not one.
        # (A provider that sends no issue time: this browser session stands for the sign-in.)
        issued = st.user.get("iat") or st.session_state.setdefault("_session_mark", f"session-{dt.datetime.now().timestamp()}")
        login = f"sub={st.user.get('sub') or identity} iat={issued}"
        access.record_sign_in(principal.user, login, {"roles": sorted(principal.roles), "scope": principal.scope.key,
                                                      "name": str(st.user.get("name") or "")})
        st.session_state["_audited_sign_in"] = principal.user
    _who_am_i(principal, lang)
    if not principal.roles:
        st.title(t("app.title", lang))
        # Accounts from the identity provider and the grants: code, copied exactly (the "no admin" hint is ours).
        admins = ", ".join(md_code(a) for a in access.admins()) or t("auth.no_admin_yet", lang)
        st.warning(t("auth.no_grant", lang, user=md_code(principal.user), admins=admins))
        st.stop()
    return principal


def _who_am_i(principal: Principal, lang: str) -> None:
    roles = ", ".join(t(f"role.{r}", lang) for r in access.ROLES if r in principal.roles) or "—"
    # The name and the account come from the identity provider: text, and the account as code.
    st.sidebar.caption(t("auth.signed_in_as", lang, name=md_text(principal.name), user=md_code(principal.user), roles=roles))
    st.sidebar.button(t("auth.sign_out", lang), on_click=st.logout, key="sign_out", icon=":material/logout:")


def setup(principal: Principal, lang: str) -> PageContext:
    """Called by dashboard.py before the page runs: database, data facts, filters, under the
    principal's scope."""
    path = ensure_database(lang)
    version = store.data_version(path)
    source = Source(str(path), version, principal.scope)
    try:
        info = query("dataset_info", source)
        data_range = query("data_range", source)
    except Exception as error:
        st.error(t("db.unreadable", lang, path=md_text(path), error=md_text(error)))
        st.stop()
    problems = _database_problems(source)
    row = info.iloc[0]
    as_of = pd.Timestamp(row["as_of"]).to_pydatetime()
    if problems:
        # Say what is wrong and where it is repaired; only the Data and Access pages open
        # (dashboard.py), on a moment clamped into range so that they can draw their filters.
        listed = "; ".join(f"{md_text(store.problem_text(problem, lang))}: {n}" for problem, n in problems)
        st.error(t("db.broken", lang, problems=listed))
        as_of = min(max(as_of, dt.datetime(2000, 1, 2)), store.moscow_now())
    first = pd.Timestamp(data_range["first_created"].iloc[0])
    first_day = first.date() if pd.notna(first) else (as_of - dt.timedelta(days=365)).date()
    filters, target = filter_sidebar(lang, source, as_of, first_day, principal)
    ctx = PageContext(
        lang=lang,
        db_path=str(path),
        version=version,
        as_of=as_of,
        is_demo=bool(row["is_demo"]),
        source=str(row["source"]),
        filters=filters,
        target=target,
        principal=principal,
    )
    st.session_state["_ctx"] = ctx
    st.session_state["_data_broken"] = bool(problems)
    return ctx


def data_broken() -> bool:
    """Whether this run's database breaks an invariant (set by setup): the navigation then lists only
    the pages that repair it."""
    return bool(st.session_state.get("_data_broken"))


@st.cache_data(show_spinner=False, max_entries=8)
def _file_problems(path: str, version: str) -> list[tuple[str, int]]:
    return store.file_problems(path)


def _database_problems(source: Source) -> list[tuple[str, int]]:
    """The invariants the database breaks (oversight.store.file_problems), once per file version."""
    return _file_problems(source.db_path, source.version)


@dataclass(frozen=True)
class AccessContext:
    """What the Access page needs: it reads grants and the audit log, not the data."""

    lang: str
    principal: Principal


def setup_without_data(principal: Principal, lang: str) -> None:
    """For a principal who reads no data (an admin alone): no database, no filters."""
    st.session_state.pop("_ctx", None)
    st.session_state["_access_ctx"] = AccessContext(lang=lang, principal=principal)


def access_context() -> AccessContext:
    """The Access page's context, whether or not the principal also reads data."""
    ctx = st.session_state.get("_ctx")
    if isinstance(ctx, PageContext):
        return AccessContext(lang=ctx.lang, principal=ctx.principal)
    return st.session_state["_access_ctx"]


def refuse(ctx, what: str, value) -> None:
    """An id outside the session's scope was asked for (a URL, a search): a plain "нет доступа",
    an audit row, and nothing of its data. Stops the run."""
    refused = st.session_state.setdefault("_refused", set())
    if (what, str(value)) not in refused:  # once per session and link, not on every rerun of the page
        access.audit(ctx.principal.user, "refused", target=f"{what}={value}", detail={"scope": ctx.scope.key})
        refused.add((what, str(value)))
    st.error(t("auth.no_access", ctx.lang))
    st.stop()


def context() -> PageContext:
    """The context `setup()` computed for this run (pages call this)."""
    return st.session_state["_ctx"]


def literal(text: str) -> str:
    """Show text from a link as literal code (at most 60 characters), so it can never render as
    Markdown."""
    return md_code(" ".join(str(text).split())[:60]) or "``"


def page_header(title_key: str, ctx: PageContext) -> None:
    """Title, the demo banner on every page, the data date, and any problem with the link."""
    st.title(t(title_key, ctx.lang))
    if ctx.principal.mode == "local":  # a note, not a box: it is said on every page
        st.caption(":material/person: " + t("auth.single_user", ctx.lang))
    elif not ctx.scope.is_everything:
        st.caption(t("auth.scope_note", ctx.lang, scope=md_text(presentation.scope_label(connection(ctx), ctx.lang))))
    if ctx.is_demo:  # a demo is built, never imported into: no import's age to speak of (oversight/freshness.py)
        st.warning(t("demo.banner", ctx.lang, as_of=fmt_datetime(ctx.as_of, ctx.lang)), icon="⚠️")
    else:  # the export's moment and the last import's, one line; a warning when the import is too old
        from oversight import freshness

        loaded_at = query("dataset_info", ctx)["loaded_at"].iloc[0]
        said = freshness.note(freshness.assess(ctx.as_of, loaded_at, ctx.is_demo), ctx.lang, md_text(ctx.source))
        if said.warn:
            st.warning(said.text, icon=":material/schedule:")
        else:
            st.caption(said.text)
    # Problems with the opened link are shown once, on the first page the link opens.
    for kind, key, value in st.session_state.pop("_filter_problems", []):
        st.warning(t(f"filters.{kind}", ctx.lang, key=literal(key), value=literal(value)))
    f, prev = ctx.filters, ctx.filters.previous()
    st.caption(
        t(
            "filters.period_note",
            ctx.lang,
            start=fmt_date(f.start, ctx.lang),
            end=fmt_date(f.end, ctx.lang),
            days=f.days,
            prev_start=fmt_date(prev.start, ctx.lang),
            prev_end=fmt_date(prev.end, ctx.lang),
        )
    )


# ---------------------------------------------------------------- KPI cards

# The Overview's cards: the four leadership reads first, in one row above the fold (what came in,
# what is open, what of it is overdue, and the on-time rate against the target), then the rest.
LEAD_METRICS = ("created", "backlog_end", "overdue_backlog_end", "on_time_rate")
MORE_METRICS = ("closed", "missed", "median_resolution_hours", "returned_share")
CARD_METRICS = LEAD_METRICS + MORE_METRICS
TREND_COLUMN = {
    "backlog_end": "backlog",
    "overdue_backlog_end": "overdue_backlog",
}


format_kpi = presentation.format_kpi  # the pages' name for it


def kpi_cards(comparison: pd.DataFrame, trend: pd.DataFrame, ctx: PageContext, shown: tuple[str, ...] = CARD_METRICS,
              per_row: int = 4, sparklines: bool = True) -> None:
    """KPI cards, `per_row` to a row: value, change against the previous period (the on-time rate:
    against the target; its change against the previous period in the help), and a small trend
    unless `sparklines` is off. What a change is against is said in the period line above the cards."""
    lang = ctx.lang
    by_metric = comparison.set_index("metric")
    columns = [c for _ in range(0, len(shown), per_row) for c in st.columns(per_row)]
    for col, metric in zip(columns, shown):
        row = by_metric.loc[metric]
        change = row["change"]
        note = None
        if metric == "on_time_rate":
            delta_vs_target = None if row["value"] is None else row["value"] - ctx.target
            delta = t("kpi.vs_target", lang, delta=fmt_points(delta_vs_target, lang), target=fmt_percent(ctx.target, lang, 0)) if delta_vs_target is not None else None
            colour = "normal"
            if change is not None:  # in the help: the card's line holds the change against the target
                note = f"{t('kpi.vs_prev', lang)}: {fmt_points(change, lang)}"
        elif metric == "returned_share":
            delta = fmt_points(change, lang) or None
            colour = "inverse"
        else:
            delta = fmt_signed_percent(change, lang) or None
            colour = "inverse" if metric in metrics.HIGHER_IS_WORSE else "off"
        series = None
        if sparklines:
            column = trend[TREND_COLUMN.get(metric, metric)].astype(float)
            if metric in metrics.FLOW_KPIS:  # per day, so a bucket cut by the period's edge does not dip
                column = column / trend["days"]
            series = column.dropna().tolist()
        help_text = t(f"kpi.help.{metric}", lang, target=fmt_percent(ctx.target, lang, 0))
        if metric in metrics.FLOW_KPIS and row["per_day"] is not None:
            help_text += " " + t("kpi.per_day", lang, value=fmt_number(row["per_day"], lang, 1))
        if note is not None:
            help_text += " " + note + "."
        elif change is not None:  # what the change is against: said once above the cards, and here
            help_text += " " + t("kpi.change_help_per_day" if metric in metrics.FLOW_KPIS else "kpi.change_help", lang)
        with col:
            st.metric(
                t(f"kpi.{metric}", lang),
                format_kpi(metric, row["value"], lang),
                delta=delta,
                delta_color=colour,
                help=help_text,
                border=True,
                chart_data=series if series is not None and len(series) > 1 else None,
                chart_type="line",
            )


# ---------------------------------------------------------------- tables and downloads


# Short headers for the ranked tables on the page, the full names on hover (the Excel file keeps the
# full names): with the full ones the municipalities' table ran past the right edge at 1366×768.
SHORT_HEADERS = ("missed", "missed_per_10k", "overdue_backlog_end", "returned_share")
# Pixels per number column (Russian headers, numbers up to six digits); the total fits 1366×768.
RANKED_WIDTHS = {"on_time_rate": 62, "missed": 78, "due": 82, "created": 82, "missed_per_10k": 108,
                 "overdue_backlog_end": 90, "returned_share": 80}


def _ranked_widths(table: pd.DataFrame, level: str, lang: str) -> dict:
    """Column settings that fit a ranked table in the page at 1366×768: the name takes what the
    numbers leave (a long name is cut with "…" and shown whole on hover), long headers shortened."""
    config = {t("col.rank", lang): st.column_config.Column(width=36),
              t("col.territory", lang): st.column_config.Column(width=96 if level == "municipality" else 120)}
    if level == "municipality":
        config[t("col.municipality", lang)] = st.column_config.Column(width=180)
    for c, width in RANKED_WIDTHS.items():
        full = t(f"col.{c}", lang)
        short = t(f"colshort.{c}", lang) if c in SHORT_HEADERS else None
        config[full] = st.column_config.Column(label=short, help=full if short else None, width=width)
    return {label: setting for label, setting in config.items() if label in table.columns}


def ranked_table(area: pd.DataFrame, level: str, ctx: PageContext, height: int | None = None) -> None:
    table = tables.ranked(area, level, ctx.lang)
    if table.empty:
        st.info(t("overview.empty", ctx.lang))
        return
    st.dataframe(tables.styled(table, ctx.lang, ctx.target), hide_index=True, width="stretch", height=height or "auto",
                 column_config=_ranked_widths(table, level, ctx.lang))
    st.download_button(
        t("download.xlsx", ctx.lang),
        data=_ranked_download(table, level, ctx),
        file_name=f"{level}_{ctx.filters.start}_{ctx.filters.end}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"download_{level}",
    )


def _ranked_download(table: pd.DataFrame, level: str, ctx: PageContext):
    from oversight.ui import excel_downloads

    name = t(f"overview.by_{level}", ctx.lang)
    return excel_downloads.xlsx({name: table}, ctx, name)


def benchmarks(frame: pd.DataFrame, ctx: PageContext) -> None:
    """The region's and every direction's on-time rate (totals only: metrics.benchmarks), for a user
    who reads part of the region."""
    from oversight.output import charts

    region = frame[frame["level"] == "region"].iloc[0]
    plotly(figure(charts.on_time_by_territory, frame, ctx.target, ctx.lang), key="benchmark_bars")
    st.caption(t("overview.benchmarks_note", ctx.lang, rate=fmt_percent(region["on_time_rate"], ctx.lang),
                 missed=fmt_number(region["missed"], ctx.lang), due=fmt_number(region["due"], ctx.lang)))


def url_root() -> str:
    """Where this server answers: "/" or, behind a proxy with `server.baseUrlPath`, "/<path>/". Every
    address the pages hand the browser (static files) starts with it: a root-relative "/app/static/"
    missed the base path and the maps drew nothing."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/" if base else "/"


def plotly_config(**extra) -> dict:
    """Plotly's settings for a chart on a page. The world topojson that plotly's geo traces ask for is
    a local stub (static/world_110m.json) from our own server, so nothing is fetched from a CDN."""
    return {"topojsonURL": url_root() + "app/static/", "displaylogo": False, **extra}


def plotly(fig, key: str, on_select="ignore"):
    """Place a plotly figure (plotly_config); the camera button saves a PNG."""
    config = {**plotly_config(), "toImageButtonOptions": {"filename": key, "scale": 2}}
    if on_select == "ignore":
        return st.plotly_chart(fig, key=key, config=config, width="stretch")
    return st.plotly_chart(fig, key=key, config=config, width="stretch", on_select=on_select, selection_mode="points")


def narrow_to_clicked_municipality(event) -> None:
    """A click on a municipality on the map narrows every page's filter to it (applied on the next
    run, before the sidebar is drawn, since a drawn widget's value cannot be changed)."""
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else getattr(getattr(event, "selection", None), "points", [])
    for point in points or []:
        location = point.get("location") if isinstance(point, dict) else None
        if location is not None and ascii_digits(location):
            set_scope(municipality_id=int(location))
            st.rerun()



# ---------------------------------------------------------------- page controls kept in the link


def url_choice(key: str, options, default, format_func, label: str):
    """A page control whose value lives in the URL under `key` (so a copied link keeps it)."""
    options = list(options)
    state_key = f"pg_{key}"
    if state_key not in st.session_state:
        from_url = st.query_params.get(key)
        st.session_state[state_key] = from_url if from_url in options else default
    if st.session_state[state_key] not in options:
        st.session_state[state_key] = default
    if len(options) <= 4:  # a segmented control reads Markdown in its options (a selectbox does not)
        st.segmented_control(label, options, format_func=lambda v: md_text(format_func(v)), key=state_key)
        if st.session_state[state_key] is None:  # deselected: keep the default
            st.session_state[state_key] = default
    else:
        st.selectbox(label, options, format_func=format_func, key=state_key)
    value = st.session_state[state_key] or default
    if st.query_params.get(key) != value:
        st.query_params[key] = value
    return value


def comparison_options(ctx: PageContext) -> tuple[list[str], dict[str, str]]:
    """What the backlog can be compared with: nothing, the region, a year earlier, any direction or
    municipality (but the one already chosen)."""
    name = name_column(ctx.lang)
    options = ["none", "region", "year"]
    names = {
        "none": t("backlog.compare.none", ctx.lang),
        "region": t("backlog.compare.region", ctx.lang),
        "year": t("backlog.compare.year", ctx.lang),
    }
    for row in query("filter_territories", ctx).itertuples():
        if row.territory_id != ctx.filters.territory_id:
            options.append(f"territory:{row.territory_id}")
            names[options[-1]] = getattr(row, name)
    for row in query("filter_municipalities", ctx).itertuples():
        if row.municipality_id != ctx.filters.municipality_id:
            options.append(f"municipality:{row.municipality_id}")
            names[options[-1]] = getattr(row, name)
    return options, names


_COLUMN_KEYS = {
    "date": "axis.date",
    "backlog": "series.backlog",
    "overdue_backlog": "series.overdue_backlog",
    "created": "series.created",
    "closed": "series.closed",
}


def localized(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A copy for download: known columns named in the user's language, band codes spelled out."""
    out = frame.copy()
    if "band" in out:
        out["band"] = [t(f"band.{b}", lang) for b in out["band"]]
    if "date" in out:
        out["date"] = pd.to_datetime(out["date"]).dt.date
    return out.rename(columns={c: t(k, lang) for c, k in _COLUMN_KEYS.items() if c in out})


def download_table(key: str, table: pd.DataFrame, ctx: PageContext, what: str | None = None,
                   formats: dict[str, str] | None = None) -> None:
    """An Excel download of a table as shown (built when clicked), with a title block saying what,
    for which filters and period, and the date of the data (oversight.ui.excel_downloads)."""
    from oversight.ui import excel_downloads

    st.download_button(
        t("download.xlsx", ctx.lang),
        data=excel_downloads.xlsx({key[:31]: table}, ctx, what or key, formats=formats),
        file_name=f"{key}_{ctx.filters.start}_{ctx.filters.end}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"download_{key}",
    )


def download_frames(key: str, sheets: dict[str, pd.DataFrame], ctx: PageContext, what: str | None = None) -> None:
    """An Excel download of the numbers behind a chart, with a title block."""
    from oversight.ui import excel_downloads

    st.download_button(
        t("download.chart_data", ctx.lang),
        # Built when clicked, not on every run of the page (it costs tens of milliseconds).
        data=excel_downloads.xlsx(sheets, ctx, what or next(iter(sheets))),
        file_name=f"{key}_{ctx.filters.start}_{ctx.filters.end}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"download_{key}",
    )
