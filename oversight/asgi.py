"""What the server adds around Streamlit's own ASGI app (serve.py builds it with `st.App`).

`BackendBaseUrl`: Streamlit's front end does not know where the server's root is when a
page is opened by its own address (`/drill`): it tries the page's path first, `/drill/_stcore/health` and
`/drill/_stcore/host-config`, gets two 404s in the browser's console, and then tries the root (Streamlit
issue #7074). The front end skips the guess when the page defines `window.__streamlit.BACKEND_BASE_URL`
before its scripts, which is what this middleware writes into every HTML page the server sends: the
address the page was loaded from, cut to the server's base path (`server.baseUrlPath`, "" by default).
It also asks the browser to fetch the plotly chunk at once (`chart_preloads`), not after the first chart
has arrived.

`CompressedAssets`: Streamlit sends its front end (146 files, 10.4 MB, 4.7 MB of it plotly) uncompressed,
since compressing on every request costs the server more than it saves. Those files are named by their
content's hash and never change, so this middleware compresses each once, keeps the result in memory
(6.9 MB for all 317 of Streamlit's scripts, compressed in 0.65 s at the server's start by
`compress_front_end`, in the background) and sends that to every browser that accepts gzip: a new tab
costs the server a third of the bytes and no file reads, which matters when twenty people open the
dashboard at once (#18) and on the territorial departments' slow links.

Pure ASGI (no Streamlit import), so it is tested without a server.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import mimetypes
import re
import threading
from collections.abc import Callable
from pathlib import Path

_HEAD = re.compile(rb"<head[^>]*>", re.IGNORECASE)


def base_url_script(base_path: str) -> bytes:
    """The inline script: the origin the page came from plus the configured base path."""
    path = "/" + base_path.strip("/") if base_path.strip("/") else ""
    # json.dumps quotes the path for JavaScript; "</" cannot occur in it, so the script cannot close early.
    return (
        "<script>window.__streamlit=Object.assign({},window.__streamlit,"
        f"{{BACKEND_BASE_URL:window.location.origin+{json.dumps(path + '/')}}});</script>"
    ).encode()


def with_base_url(html: bytes, base_path: str, preloads: bytes = b"") -> bytes:
    """The page with the script (and `preloads`) as the first thing in its <head> (unchanged when it
    has no <head>)."""
    match = _HEAD.search(html)
    if not match:
        return html
    return html[: match.end()] + base_url_script(base_path) + preloads + html[match.end():]


_STATIC_IMPORT = re.compile(r'(?:from|import)\s*"\./([\w.\-]+\.js)"')


def chart_preloads(static_dir: str | Path, index_html: bytes | None = None) -> bytes:
    """`<link rel="modulepreload">` for Streamlit's plotly chunk (static/js/PlotlyChart.<hash>.js, 4.7 MB)
    and the modules it imports that the page does not preload already.

    Streamlit loads that chunk only when the first chart arrives, after its script run, and the browser
    then spends about a second fetching and compiling it before any chart is drawn (the Examples page
    at 10M: script run over at 2.1 s, charts drawn at 4.0 s). Preloaded, it is fetched and compiled
    while the server runs the script: charts drawn at 3.4 s. (Importing it early as well, to run it
    too, at once or once the script run had begun, held up the page's own start by as much as it saved.) Empty when the chunk is not found (another
    Streamlit): the page then works as before."""
    js = Path(static_dir) / "static" / "js"
    chunks = sorted(js.glob("PlotlyChart.*.js")) if js.is_dir() else []
    if len(chunks) != 1:
        return b""
    if index_html is None:
        index = Path(static_dir) / "index.html"
        index_html = index.read_bytes() if index.is_file() else b""
    wanted = [chunks[0].name] + sorted(set(_STATIC_IMPORT.findall(chunks[0].read_text(encoding="utf-8", errors="replace"))))
    links = [f'<link rel="modulepreload" crossorigin href="./static/js/{name}">' for name in wanted
             if (js / name).is_file() and f"static/js/{name}".encode() not in index_html]
    return "".join(links).encode()


class BackendBaseUrl:
    """ASGI middleware: adds `base_url_script` to every HTML page (status 200) the server sends.

    It runs outside Streamlit's own middleware, so a page may come gzipped: it is unpacked, changed and
    packed again (Streamlit's index.html is 8 KB). The page's ETag is dropped, since it names the page
    without the script."""

    def __init__(self, app, base_path: str | Callable[[], str] = "", preloads: bytes | Callable[[], bytes] = b""):
        self.app = app
        self._base_path = base_path
        self._preloads = preloads

    def preloads(self) -> bytes:
        if callable(self._preloads):  # asked once, at the first page: Streamlit's folder is known by then
            self._preloads = self._preloads()
        return self._preloads

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
                page = with_base_url(gzip.decompress(page) if packed else page, self.base_path(), self.preloads())
                if packed:
                    page = gzip.compress(page, mtime=0)
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"etag")]
                headers.append((b"content-length", str(len(page)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": page})
                return
            await send(message)

        await self.app(scope, receive, wrapped)


# Content-hashed file names (index.DormvYxC.js, SourceSansVF-Upright.ttf.BsWL4Kly.woff2): only these are
# immutable. Fonts are compressed already; the gain is in scripts and styles.
_HASHED = re.compile(r"^static/(?:js|css|media)/[\w.\-]+\.[\w\-]{8}\.(?:js|css|mjs)$")
_CACHE_CONTROL = b"public, immutable, max-age=31536000"
# (static folder, relative path) -> (gzipped body, content type): shared by every CompressedAssets and
# filled by compress_front_end at start; the files never change while the server runs.
_PACKED: dict[tuple[str, str], tuple[bytes, bytes]] = {}
_PACKING = threading.Lock()


def _pack(root: Path, relative: str) -> tuple[bytes, bytes] | None:
    """Compress one file of the static folder once (None when there is no such file inside it)."""
    key = (str(root), relative)
    found = _PACKED.get(key)
    if found is not None:
        return found
    file = (root / relative).resolve()
    if root not in file.parents or not file.is_file():
        return None
    kind = (mimetypes.guess_type(file.name)[0] or "application/octet-stream").encode()
    if kind in (b"application/javascript", b"text/javascript", b"text/css"):
        kind += b"; charset=utf-8"
    packed = (gzip.compress(file.read_bytes(), 6, mtime=0), kind)  # zlib lets go of the GIL meanwhile
    with _PACKING:
        return _PACKED.setdefault(key, packed)


def compress_front_end(static_dir: str | Path) -> int:
    """Compress every hashed script and style of Streamlit's front end now (serve.py: in the background
    at start, so that no visitor waits for it). Returns how many files."""
    root = Path(static_dir).resolve()
    names = [f.relative_to(root).as_posix() for f in root.glob("static/*/*") if f.is_file()]
    hashed = [name for name in names if _HASHED.match(name)]
    for name in hashed:
        _pack(root, name)
    return len(hashed)


class CompressedAssets:
    """ASGI middleware: Streamlit's content-hashed front-end files, gzipped once and served from memory."""

    def __init__(self, app, static_dir: str | Path | Callable[[], str | Path], base_path: str | Callable[[], str] = ""):
        self.app = app
        self._static_dir = static_dir
        self._base_path = base_path

    def _setting(self, value) -> str:
        return str((value() if callable(value) else value) or "")

    def asset(self, path: str) -> str | None:
        """The file's path inside the static folder when `path` names a hashed asset, else None."""
        prefix = "/" + self._setting(self._base_path).strip("/")
        prefix = "/" if prefix == "/" else prefix + "/"
        if not path.startswith(prefix):
            return None
        relative = path[len(prefix):]
        return relative if _HASHED.match(relative) else None  # the pattern admits no "/" in a name, no ".."

    def root(self) -> str:
        """The static folder, resolved once (not a file-system call on every request)."""
        if not isinstance(self._static_dir, Path) or not self._static_dir.is_absolute():
            self._static_dir = Path(self._setting(self._static_dir)).resolve()
        return str(self._static_dir)

    def packed(self, relative: str) -> tuple[bytes, bytes] | None:
        """(gzipped body, content type), compressed at the first request if compress_front_end has not
        done it yet; None if there is no such file."""
        return _pack(Path(self.root()), relative)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            relative = self.asset(scope.get("path", ""))
            accepts = b"gzip" in dict(scope.get("headers", [])).get(b"accept-encoding", b"")
            found = None
            if relative and accepts:
                # Compressed already (the usual case), or compressed off the event loop now.
                found = _PACKED.get((self.root(), relative)) or await asyncio.to_thread(self.packed, relative)
            if found is not None:
                body, kind = found
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", kind), (b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding"),
                    (b"cache-control", _CACHE_CONTROL), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
                return
        await self.app(scope, receive, send)
