"""The server: Streamlit's ASGI app (`st.App`) for dashboard.py, with what oversight.asgi adds.

`streamlit run serve.py` (./run.sh) finds `app` below and serves it with uvicorn, reading
.streamlit/config.toml as `streamlit run dashboard.py` does. The script each visitor runs is
dashboard.py.
"""

import asyncio
import logging
import threading
import time
from contextlib import asynccontextmanager

from starlette.middleware import Middleware
from streamlit import config, file_util
from streamlit.starlette import App

from oversight.asgi import BackendBaseUrl, CompressedAssets, chart_preloads, compress_front_end


def base_path() -> str:
    return config.get_option("server.baseUrlPath")  # read at a request: the settings load after this import


log = logging.getLogger("oversight.serve")


def _in_background(name: str, work, *args) -> None:
    def run():
        try:
            work(*args)
        except Exception:  # noqa: BLE001 - a visitor then does this work himself
            log.exception("%s failed at start", name)

    threading.Thread(target=run, name=name, daemon=True).start()


@asynccontextmanager
async def lifespan(_app):
    """At start. In the background: Streamlit's front end compressed (oversight.asgi). Before the server
    answers (4.4–5 s at 10M): every module the pages may import (warmup.import_everything, 2 s: done in
    the background, it slowed the first visit as much as it saved) and warmup.warm_up (database opened,
    invariants checked, median index loading, map shapes, the Overview's default results), so that the
    first visitor does not wait for them; then the default results of the other pages with queries of
    their own (warmup.warm_up_pages, 0.75 s at 10M: done in the background, a first visit in the meantime
    raced it for the same results and took longer than with none). A failure is logged and the server
    starts anyway: the pages do the same work then."""
    started = time.perf_counter()
    _in_background("compress-front-end", compress_front_end, file_util.get_static_dir())
    try:
        from oversight.ui import warmup

        imported = await asyncio.to_thread(warmup.import_everything)
        steps = {"imports": imported, **await asyncio.to_thread(warmup.warm_up)}
        steps.update(await asyncio.to_thread(warmup.warm_up_pages))
        log.info("warmed up in %.2f s: %s", time.perf_counter() - started, _seconds(steps))
    except Exception:  # noqa: BLE001 - never keeps the server from starting
        log.exception("warm-up failed; the first visit does the work")
    yield


def _seconds(steps: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in steps.items())



app = App("dashboard.py", lifespan=lifespan, middleware=[
    Middleware(BackendBaseUrl, base_path=base_path, preloads=lambda: chart_preloads(file_util.get_static_dir())),
    Middleware(CompressedAssets, static_dir=file_util.get_static_dir, base_path=base_path),
])
