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

from oversight.asgi import BackendBaseUrl, CompressedAssets, compress_front_end


def base_path() -> str:
    return config.get_option("server.baseUrlPath")  # read at a request: the settings load after this import


@asynccontextmanager
async def lifespan(_app):
    """Before the server answers: the imports every page needs and ui.warm_up (database opened, its
    invariants checked, the median index loading, the map's shapes), so that the first visitor does not
    wait for them. A failure is logged and the server starts anyway: the pages do the same work then."""
    started = time.perf_counter()
    threading.Thread(target=compress_front_end, args=(file_util.get_static_dir(),), name="compress-front-end",
                     daemon=True).start()
    try:
        from oversight import ui  # noqa: F401 - the pages' library, imported once here rather than at the first visit

        steps = await asyncio.to_thread(ui.warm_up)
        logging.getLogger("oversight.serve").info(
            "warmed up in %.2f s: %s", time.perf_counter() - started,
            ", ".join(f"{name} {seconds:.2f} s" for name, seconds in steps.items()))
    except Exception:  # noqa: BLE001 - never keeps the server from starting
        logging.getLogger("oversight.serve").exception("warm-up failed; the first visit does the work")
    yield


app = App("dashboard.py", lifespan=lifespan, middleware=[
    Middleware(BackendBaseUrl, base_path=base_path),
    Middleware(CompressedAssets, static_dir=file_util.get_static_dir, base_path=base_path),
])
