"""The server: Streamlit's ASGI app (`st.App`) for dashboard.py, with what oversight.asgi adds.

`streamlit run serve.py` (./run.sh) finds `app` below and serves it with uvicorn, reading
.streamlit/config.toml as `streamlit run dashboard.py` does. The script each visitor runs is
dashboard.py.
"""

from starlette.middleware import Middleware
from streamlit import config
from streamlit.starlette import App

from oversight.asgi import BackendBaseUrl

app = App("dashboard.py", middleware=[
    Middleware(BackendBaseUrl, base_path=lambda: config.get_option("server.baseUrlPath")),
])
