"""What the server does at start (serve.py's lifespan), so that a first visit waits for nothing: every
module and lazily imported library imported, the database opened and checked, the median index
started, the map's boundaries loaded, and every page's results for the default filters computed under
the whole region's scope, with the same cache keys the pages use (tests/test_warmup.py checks that)."""

from __future__ import annotations

import pandas as pd

from oversight import access, store
from oversight.analysis import backlog, heatmap, metrics
from oversight.filters import default_filters
from oversight.i18n import DEFAULT_LANGUAGE
from oversight.paths import database_path
from oversight.ui.cache import _connection, cached_for, query
from oversight.ui.context import Source
from oversight.ui.shell import _file_problems
from oversight.ui.sidebar import _sidebar_choices
from oversight.ui.widgets import url_root


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
            cached_for(whole, function, filters, as_of)

    step("overview", overview)
    return steps


# What app_pages/overview.py asks cache.cached for with the default filters (warm_up computes them at
# start; tests/test_warmup.py fails if the page asks for anything else).
OVERVIEW_RESULTS = (metrics.kpi_comparison, metrics.kpi_trend, metrics.kpis_by_area, metrics.benchmarks)


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
        for function, extra in ((backlog.series, (freq,)), (backlog.events, ()),
                                (backlog.comparison, (freq, backlog.default_comparison(filters))),
                                (backlog.ageing, (freq,)), (backlog.by_area, (freq, backlog.DEFAULT_LEVEL))):
            cached_for(whole, function, filters, as_of, *extra)

    def map_page():
        cached_for(whole, heatmap.map_values, filters, as_of, heatmap.DEFAULT_METRIC)
        cached_for(whole, heatmap.matrix, filters, as_of, heatmap.DEFAULT_MATRIX_FREQ, heatmap.DEFAULT_METRIC)

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
