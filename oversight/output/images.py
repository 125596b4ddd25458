"""Charts as PNG on the server (kaleido), for the deck and the page's PNG buttons.

Kaleido drives a local Chrome or Chromium; on Debian that is the `chromium` package. Everything it
loads is local: plotly.js from the plotly package, no MathJax (its default is a CDN), and the
world topojson stub from static/ (a geo figure would otherwise ask a CDN for it). Without a browser
`chrome_path()` is None and `ChromeMissing` says in plain words how to install one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from oversight.paths import STATIC_DIR

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# A picture is laid out for this size, not for the browser's: 960 px wide with 16 px type is a
# slide's picture box (7.6 in) at about 9 pt, and a PNG readable at its own size.
WIDTH, HEIGHT, SCALE = 960, 620, 2
EXPORT_FONT = 16
EXPORT_TEMPLATE = "plotly_white"  # never the process' default: inside Streamlit that is Streamlit's


class ChromeMissing(RuntimeError):
    """No Chrome or Chromium on this machine: kaleido cannot draw."""


def chrome_path() -> str | None:
    """The browser kaleido will use: $BROWSER_PATH if it names a file, else the first of the usual
    names on PATH."""
    configured = os.environ.get("BROWSER_PATH")
    if configured and Path(configured).is_file():
        return configured
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _scaled(value, factor: float):
    return None if value is None else round(value * factor, 1)


def for_export(figure, width: int = WIDTH, height: int | None = None):
    """A copy of `figure` laid out for a picture `width` px wide: plotly's own template (Streamlit's,
    the default inside the app, has no automargin and placeholder colours), every cartesian axis
    growing the margins to hold its tick labels and title, type and explicit font sizes scaled to
    EXPORT_FONT, the height grown with the type unless given (the deck fits a tall picture to its box)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    fig = go.Figure(figure)
    base = fig.layout.font.size or 13
    factor = EXPORT_FONT / base
    if height is None:
        height = round(fig.layout.height * factor) if fig.layout.height else HEIGHT
    fig.layout.template = pio.templates[EXPORT_TEMPLATE]
    fig.update_layout(width=width, height=height, font_size=EXPORT_FONT)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    for annotation in fig.layout.annotations:
        if annotation.font.size:
            annotation.font.size = _scaled(annotation.font.size, factor)
        for name in ("yshift", "xshift", "ax", "ay"):
            value = getattr(annotation, name, None)
            if isinstance(value, (int, float)) and (name in ("yshift", "xshift") or annotation.axref in (None, "pixel")):
                setattr(annotation, name, _scaled(value, factor))
    for trace in fig.data:
        font = getattr(trace, "textfont", None)
        if font is not None and isinstance(font.size, (int, float)):
            font.size = _scaled(font.size, factor)
    for axis in [k for k in fig.layout if k.startswith(("xaxis", "yaxis"))]:
        tickfont = fig.layout[axis].tickfont
        if tickfont.size:
            tickfont.size = _scaled(tickfont.size, factor)
    margin = fig.layout.margin
    fig.update_layout(margin=dict(l=_scaled(margin.l, factor), r=_scaled(margin.r, factor),
                                  t=_scaled(margin.t, factor), b=_scaled(margin.b, factor)))
    return fig


def to_png(figures: list, width: int = WIDTH, height: int | None = None, scale: int = SCALE) -> list[bytes]:
    """Each figure as PNG bytes, laid out for its picture size (for_export), drawn by one browser
    started once for all of them."""
    import kaleido

    browser = chrome_path()
    if browser is None:
        raise ChromeMissing("no Chrome or Chromium found")
    os.environ["BROWSER_PATH"] = browser  # choreographer (kaleido's browser driver) reads it
    topojson = STATIC_DIR.resolve().as_uri() + "/"

    async def draw() -> list[bytes]:
        async with kaleido.Kaleido(n=1, mathjax=False) as k:
            images = []
            for figure in figures:
                picture = for_export(figure, figure.layout.width or width, height)
                size = dict(width=picture.layout.width, height=picture.layout.height)
                images.append(await k.calc_fig(picture, opts=dict(format="png", scale=scale, **size), topojson=topojson))
            return images

    return asyncio.run(draw())
