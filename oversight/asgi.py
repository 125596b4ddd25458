"""What the server adds around Streamlit's own ASGI app (serve.py builds it with `st.App`).

One middleware, `BackendBaseUrl`. Streamlit's front end does not know where the server's root is when a
page is opened by its own address (`/drill`): it tries the page's path first, `/drill/_stcore/health` and
`/drill/_stcore/host-config`, gets two 404s in the browser's console, and then tries the root (Streamlit
issue #7074). The front end skips the guess when the page defines `window.__streamlit.BACKEND_BASE_URL`
before its scripts, which is what this middleware writes into every HTML page the server sends: the
address the page was loaded from, cut to the server's base path (`server.baseUrlPath`, "" by default).

Pure ASGI (no Streamlit import), so it is tested without a server.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable

_HEAD = re.compile(rb"<head[^>]*>", re.IGNORECASE)


def base_url_script(base_path: str) -> bytes:
    """The inline script: the origin the page came from plus the configured base path."""
    path = "/" + base_path.strip("/") if base_path.strip("/") else ""
    # json.dumps quotes the path for JavaScript; "</" cannot occur in it, so the script cannot close early.
    return (
        "<script>window.__streamlit=Object.assign({},window.__streamlit,"
        f"{{BACKEND_BASE_URL:window.location.origin+{json.dumps(path + '/')}}});</script>"
    ).encode()


def with_base_url(html: bytes, base_path: str) -> bytes:
    """The page with the script as the first thing in its <head> (unchanged when it has no <head>)."""
    match = _HEAD.search(html)
    if not match:
        return html
    return html[: match.end()] + base_url_script(base_path) + html[match.end():]


class BackendBaseUrl:
    """ASGI middleware: adds `base_url_script` to every HTML page (status 200) the server sends.

    It runs outside Streamlit's own middleware, so a page may come gzipped: it is unpacked, changed and
    packed again (Streamlit's index.html is 8 KB). The page's ETag is dropped, since it names the page
    without the script."""

    def __init__(self, app, base_path: str | Callable[[], str] = ""):
        self.app = app
        self._base_path = base_path

    def base_path(self) -> str:
        # A callable is asked at each page: serve.py passes one that reads Streamlit's setting, which is
        # loaded only after serve.py has been imported.
        return (self._base_path() if callable(self._base_path) else self._base_path) or ""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        body: list[bytes] = []
        passing = False

        async def wrapped(message):
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                html = headers.get(b"content-type", b"").startswith(b"text/html")
                encoding = headers.get(b"content-encoding", b"identity").lower()
                if not html or encoding not in (b"identity", b"gzip") or message.get("status") != 200 \
                        or scope.get("method") == "HEAD":
                    passing = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                page = b"".join(body)
                packed = any(k.lower() == b"content-encoding" and v.lower() == b"gzip" for k, v in start["headers"])
                page = with_base_url(gzip.decompress(page) if packed else page, self.base_path())
                if packed:
                    page = gzip.compress(page, mtime=0)
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"etag")]
                headers.append((b"content-length", str(len(page)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": page})
                return
            await send(message)

        await self.app(scope, receive, wrapped)
