"""The database under the session's scope, and the caches every page goes through.

- `connection(ctx)`: the scoped connection, the only one a page gets (oversight.store.scoped).
- `cached(function, ctx, *extra)`: a library analysis (`metrics.kpis`, `backlog.series`, …) called as
  `function(connection, filters, as_of, *extra)`, cached on the function, its arguments, the scope and
  the data version. Pages pass the function itself: go-to-definition leads to the numbers.
- `query(name, ctx, **params)`: a cached run of queries/<name>.sql (small lookups).
- `shared(builder, ...)`: a figure or display table built once per distinct input for every session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle

import pandas as pd
import streamlit as st

from oversight import store
from oversight.access import Scope
from oversight.filters import Filters
from oversight.ui.context import PageContext, Source


@st.cache_resource(show_spinner=False, max_entries=4, validate=store.is_open)
def _connection(path: str, version: str):
    return store.connect_raw(path)


def connection(ctx) -> store.ScopedConnection:
    """The database under the session's scope: the only connection a page gets."""
    return store.scoped(_connection(ctx.db_path, ctx.version), ctx.scope)


# What `cached` accepts: a function of the library's analyses (or the seminar material built on them)
# with the signature (connection, filters, as_of, *extra). Pages pass the function itself, so a reader
# goes from the page straight to it; the cache key names it by module and name.
CACHEABLE_MODULES = ("oversight.analysis.", "oversight.output.presentation")


def function_key(function) -> str:
    """The cache key's name for a library function ("oversight.analysis.metrics.kpis"); a function
    from anywhere else is refused (only the library's analyses run through the cache)."""
    module = getattr(function, "__module__", None) or ""
    if not module.startswith(CACHEABLE_MODULES) or not callable(function):
        raise TypeError(f"not a library analysis: {function!r}")
    return f"{module}.{function.__qualname__}"


# The scope is part of every cache key: a result computed for one user's scope is never handed to a
# user whose scope differs (two users with the same scope share it, as they see the same rows).
# `_function` is not hashed (the leading underscore): `name` stands for it.
@st.cache_data(show_spinner=False, max_entries=1024)
def _cached(name: str, _function, db_path: str, version: str, scope: Scope, filters: Filters, as_of: dt.datetime,
            extra: tuple):
    con = store.scoped(_connection(db_path, version), scope)
    return _function(con, filters, as_of, *extra)


def cached(function, ctx: PageContext, *extra, filters: Filters | None = None):
    """`function(connection, filters, as_of, *extra)` for the page's filters (or `filters`), under the
    session's scope: cached on (function, arguments, scope, data version)."""
    return _cached(function_key(function), function, ctx.db_path, ctx.version, ctx.scope, filters or ctx.filters,
                   ctx.as_of, tuple(extra))


def cached_for(source: Source, function, filters: Filters, as_of: dt.datetime, *extra):
    """`cached` before any page runs (the server's warm-up): the same cache entry a page with this
    source's scope, these filters and these arguments asks for."""
    return _cached(function_key(function), function, source.db_path, source.version, source.scope, filters, as_of,
                   tuple(extra))


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


figure = shared  # a charts.* figure: cache.figure(charts.backlog_lines, base, ...)
