"""Screenshots for review (issue #19): every page, every presenter slide and every deck picture, in
Russian and English, at 1366×768 and 1920×1080, into one folder.

    .venv/bin/python scripts/review_screenshots.py [--db PATH] [--out test-artifacts/review]
        [--sizes 1366x768,1920x1080] [--langs ru,en] [--pages overview,map,...]

Starts the dashboard on a free loopback port over --db (the demo database is built there first if the
file does not exist), opens each page in Debian's Chromium (a Russian page in a Russian browser, as the
agency's are), and writes for each page, language and size:
- <page>-<lang>-<W>x<H>.png: what the screen shows without scrolling (what is above the fold);
- <page>-<lang>-<W>-full.png: the whole page, the window as tall as the page's content;
then the presenter mode's slides (examples-present-<k>-<lang>-<W>x<H>.png) and the deck's pictures as
the deck gets them (deck-<k>-<lang>.png). Prints, per shot, console errors and any request that
left loopback. Look at every picture: a chart that builds but shows nothing, an axis cut off or a rate
as 0.8571 is found only by looking.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from oversight.navigation import PAGES  # noqa: E402 - after the path is set

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]", None}
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "OVERSIGHT_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port)],
                            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).status == 200:
                return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the dashboard did not start; see {log}")


def _settle(page) -> None:
    """Until the script run has ended and the page has stopped adding elements and drawing charts."""
    page.wait_for_selector(SETTLED, timeout=180_000)
    probe = """() => [document.querySelectorAll('[data-testid="stElementContainer"]').length,
                      document.querySelectorAll('.js-plotly-plot .main-svg').length,
                      [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                          .every(c => c.querySelector('.js-plotly-plot .main-svg'))].join()"""
    last, since, deadline = None, time.time(), time.time() + 40
    while time.time() < deadline:
        now = page.evaluate(probe)
        if now != last or now.endswith("false"):
            last, since = now, time.time()
        elif time.time() - since >= 1.2:
            return
        page.wait_for_timeout(250)


def _shoot(browser, url: str, lang: str, size: tuple[int, int], out: Path, full: Path | None) -> None:
    width, height = size
    page = browser.new_page(viewport={"width": width, "height": height}, locale="ru-RU" if lang == "ru" else "en-US")
    outside, errors = [], []
    page.on("request", lambda r: urlparse(r.url).hostname not in LOOPBACK and not r.url.startswith(("data:", "blob:"))
            and outside.append(r.url))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(url)
    _settle(page)
    page.screenshot(path=str(out))
    if full is not None:
        tall = page.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]');
                                        return m ? Math.max(m.scrollHeight, window.innerHeight) : window.innerHeight }""")
        page.set_viewport_size({"width": width, "height": min(int(tall) + 40, 12_000)})
        page.wait_for_timeout(800)
        _settle(page)
        page.screenshot(path=str(full))
    page.close()
    note = "" if not (outside or errors) else f"  console errors: {errors}  left loopback: {outside}"
    print(f"{out.name}{note}", flush=True)


def _deck_pictures(db: Path, out: Path, langs: list[str]) -> None:
    """The deck's pictures, drawn as slides.deck draws them (images.to_png at the deck's size)."""
    from oversight import access, store
    from oversight.analysis import heatmap
    from oversight.filters import default_filters
    from oversight.output import images, presentation
    from oversight.ui.context import DEFAULT_TARGET

    con = store.connect(db, access.EVERYTHING)
    as_of = con.execute("select as_of from dataset").fetchone()[0]
    filters = default_filters(as_of)
    for lang in langs:
        made = presentation.material(con, filters, as_of, 30, lang)
        figures = [s.figure for s in presentation.slides(con, made, lang, DEFAULT_TARGET, heatmap.boundaries())
                   if s.figure is not None]
        for k, png in enumerate(images.to_png(figures), start=1):
            path = out / f"deck-{k}-{lang}.png"
            path.write_bytes(png)
            print(path.name, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/oversight-review.duckdb"))
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "review")
    parser.add_argument("--sizes", default="1366x768,1920x1080")
    parser.add_argument("--langs", default="ru,en")
    parser.add_argument("--pages", default="", help="url paths to take (default: every page)")
    parser.add_argument("--slides", type=int, default=5, help="presenter slides to take")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.db.exists():
        subprocess.run([sys.executable, "-m", "oversight", "demo", "--db", str(args.db)], cwd=ROOT, check=True)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    langs = args.langs.split(",")
    wanted = set(filter(None, args.pages.split(",")))
    pages = [p for p in PAGES if not wanted or p.url_path in wanted]

    from playwright.sync_api import sync_playwright

    proc, base = _server(args.db, args.out / "server.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for lang in langs:
                for size in sizes:
                    tag = f"{lang}-{size[0]}x{size[1]}"
                    for page in pages:
                        _shoot(browser, f"{base}{page.url}?lang={lang}", lang, size, args.out / f"{page.url_path}-{tag}.png",
                               args.out / f"{page.url_path}-{lang}-{size[0]}-full.png")
                    for k in range(1, args.slides + 1):
                        _shoot(browser, f"{base}/examples?lang={lang}&present=1&slide={k}", lang, size,
                               args.out / f"examples-present-{k}-{tag}.png", None)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    _deck_pictures(args.db, args.out, langs)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
