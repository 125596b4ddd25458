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
WIDTH, HEIGHT, SCALE = 1200, 620, 2


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


def to_png(figures: list, width: int = WIDTH, height: int = HEIGHT, scale: int = SCALE) -> list[bytes]:
    """Each figure as PNG bytes, drawn by one browser started once for all of them."""
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
                size = dict(width=figure.layout.width or width, height=figure.layout.height or height)
                images.append(await k.calc_fig(figure, opts=dict(format="png", scale=scale, **size), topojson=topojson))
            return images

    return asyncio.run(draw())
