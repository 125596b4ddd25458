"""serve.py's middleware (oversight.asgi.BackendBaseUrl), without a server: what it does to each kind of
answer. The browser suite checks the result in Chromium (no 404 on a page opened by its own address)."""

import asyncio
import gzip
from pathlib import Path

import pytest

from oversight.asgi import BackendBaseUrl, base_url_script, with_base_url

PAGE = b"<!doctype html><html><head><meta charset='utf-8'><script src='/static/js/index.js'></script></head><body></body></html>"


def answer(status=200, content_type=b"text/html; charset=utf-8", body=PAGE, chunks=1, encoding=None):
    """An ASGI app that sends `body` in `chunks` parts with the given headers."""
    async def app(scope, receive, send):
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                   (b"etag", b'"abc"')]
        if encoding:
            headers.append((b"content-encoding", encoding))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        step = max(1, len(body) // chunks)
        parts = [body[i:i + step] for i in range(0, len(body), step)] or [b""]
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})
    return app


def call(app, method="GET", base_path=""):
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    asyncio.run(BackendBaseUrl(app, base_path)({"type": "http", "method": method, "path": "/drill"}, receive, send))
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


@pytest.mark.parametrize("chunks", [1, 3])
def test_an_html_page_gets_the_script_first_in_its_head(chunks):
    status, headers, body = call(answer(chunks=chunks))
    assert status == 200
    assert body == PAGE.replace(b"<head>", b"<head>" + base_url_script(""))
    assert body.index(b"BACKEND_BASE_URL") < body.index(b"index.js")
    assert int(headers[b"content-length"]) == len(body)
    assert b"etag" not in headers  # the ETag named the page without the script


def test_a_gzipped_page_is_unpacked_changed_and_packed_again():
    status, headers, body = call(answer(body=gzip.compress(PAGE), encoding=b"gzip"))
    assert headers[b"content-encoding"] == b"gzip"
    assert gzip.decompress(body) == with_base_url(PAGE, "")
    assert int(headers[b"content-length"]) == len(body)


@pytest.mark.parametrize("kind", ["script", "not modified", "head", "brotli"])
def test_other_answers_pass_unchanged(kind):
    app = {"script": answer(content_type=b"application/javascript", body=b"<head>x"),
           "not modified": answer(status=304, body=b""),
           "head": answer(),
           "brotli": answer(body=b"\x01<head>", encoding=b"br")}[kind]
    status, headers, body = call(app, method="HEAD" if kind == "head" else "GET")
    assert b"BACKEND_BASE_URL" not in body
    assert headers.get(b"etag") == b'"abc"'


@pytest.mark.parametrize("base_path, expected", [("", b'"/"'), ("inspect", b'"/inspect/"'), ("/gji/dash/", b'"/gji/dash/"')])
def test_the_root_is_the_origin_plus_the_configured_base_path(base_path, expected):
    script = base_url_script(base_path)
    assert b"window.location.origin+" + expected in script
    assert script.count(b"</script>") == 1


def test_a_page_without_a_head_is_left_alone():
    assert with_base_url(b"<html><body>x</body></html>", "") == b"<html><body>x</body></html>"


def test_websockets_and_other_methods_go_straight_through():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])
        await send({"type": "websocket.accept"})

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(BackendBaseUrl(app, "")({"type": "websocket", "path": "/_stcore/stream"}, None, send))
    assert seen == ["websocket"] and sent == [{"type": "websocket.accept"}]


# ---------------------------------------------------------------- CompressedAssets

from oversight.asgi import CompressedAssets  # noqa: E402


def static_dir(tmp_path):
    (tmp_path / "static" / "js").mkdir(parents=True)
    (tmp_path / "static" / "js" / "index.DormvYxC.js").write_text("console.log('ы');" * 500, encoding="utf-8")
    (tmp_path / "static" / "media").mkdir()
    (tmp_path / "static" / "media" / "Font.BsWL4Kly.woff2").write_bytes(b"\x00" * 100)
    (tmp_path / "index.html").write_text("<html></html>")
    return tmp_path


def asset_call(middleware, path, accept=b"gzip, deflate, br", method="GET"):
    sent = []

    async def send(message):
        sent.append(message)

    headers = [(b"accept-encoding", accept)] if accept else []
    asyncio.run(middleware({"type": "http", "method": method, "path": path, "headers": headers}, None, send))
    if not sent:
        return None
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def passing_app(passed):
    async def app(scope, receive, send):
        passed.append(scope["path"])
    return app


@pytest.mark.parametrize("base_path", ["", "gji/dash"])
def test_a_hashed_script_is_sent_gzipped_from_memory_and_equals_the_file(tmp_path, base_path):
    root = static_dir(tmp_path)
    passed = []
    middleware = CompressedAssets(passing_app(passed), static_dir=root, base_path=base_path)
    prefix = f"/{base_path}" if base_path else ""
    status, headers, body = asset_call(middleware, f"{prefix}/static/js/index.DormvYxC.js")
    assert status == 200 and passed == []
    assert gzip.decompress(body) == (root / "static" / "js" / "index.DormvYxC.js").read_bytes()
    assert headers[b"content-encoding"] == b"gzip" and int(headers[b"content-length"]) == len(body)
    assert headers[b"cache-control"] == b"public, immutable, max-age=31536000"
    assert headers[b"content-type"].split(b";")[0] in (b"application/javascript", b"text/javascript")
    assert middleware.packed("static/js/index.DormvYxC.js") is middleware.packed("static/js/index.DormvYxC.js")


@pytest.mark.parametrize("path, accept", [
    ("/static/js/index.DormvYxC.js", None),             # a client that takes no gzip
    ("/static/js/index.DormvYxC.js", b"br"),
    ("/static/media/Font.BsWL4Kly.woff2", b"gzip"),     # fonts are compressed already
    ("/static/js/missing.AAAAAAAA.js", b"gzip"),        # no such file: Streamlit answers
    ("/static/js/../../index.html", b"gzip"),           # out of the folder
    ("/static/js/%2e%2e/index.DormvYxC.js", b"gzip"),
    ("/index.html", b"gzip"),
    ("/other/static/js/index.DormvYxC.js", b"gzip"),    # not under the base path
])
def test_everything_else_goes_to_streamlit(tmp_path, path, accept):
    passed = []
    middleware = CompressedAssets(passing_app(passed), static_dir=static_dir(tmp_path))
    assert asset_call(middleware, path, accept) is None
    assert passed == [path]


def test_head_gets_the_headers_without_the_body(tmp_path):
    middleware = CompressedAssets(passing_app([]), static_dir=static_dir(tmp_path))
    status, headers, body = asset_call(middleware, "/static/js/index.DormvYxC.js", method="HEAD")
    assert status == 200 and body == b"" and int(headers[b"content-length"]) > 0


def test_the_front_end_is_compressed_at_start_and_then_served_from_memory(tmp_path, monkeypatch):
    from oversight import asgi

    root = static_dir(tmp_path)
    assert asgi.compress_front_end(root) == 1  # the script; the font is left as it is
    # Served without touching the file again.
    monkeypatch.setattr(asgi.Path, "read_bytes", lambda self: (_ for _ in ()).throw(AssertionError("read")))
    status, headers, body = asset_call(CompressedAssets(passing_app([]), static_dir=root), "/static/js/index.DormvYxC.js")
    assert status == 200 and gzip.decompress(body).startswith(b"console.log")


# ---------------------------------------------------------------- the plotly chunk preloaded (#21)


def _static(tmp_path, plotly_source: str, index: str) -> Path:
    js = tmp_path / "static" / "js"
    js.mkdir(parents=True)
    (tmp_path / "index.html").write_text(index, encoding="utf-8")
    (js / "PlotlyChart.Ab12Cd34.js").write_text(plotly_source, encoding="utf-8")
    for name in ("shared.Aa11Bb22.js", "own.Cc33Dd44.js", "lazy.Ee55Ff66.js"):
        (js / name).write_text("export const x = 1;", encoding="utf-8")
    return tmp_path


def test_the_plotly_chunk_and_what_it_imports_are_preloaded_once(tmp_path):
    from oversight.asgi import chart_preloads

    static = _static(
        tmp_path,
        'import{a}from"./shared.Aa11Bb22.js";import{b}from"./own.Cc33Dd44.js";import "./missing.Zz99Yy88.js";'
        'const later=()=>import("./lazy.Ee55Ff66.js");',
        '<head><link rel="modulepreload" crossorigin href="./static/js/shared.Aa11Bb22.js"></head>',
    )
    links = chart_preloads(static).decode()
    assert links == ('<link rel="modulepreload" crossorigin href="./static/js/PlotlyChart.Ab12Cd34.js">'
                     '<link rel="modulepreload" crossorigin href="./static/js/own.Cc33Dd44.js">')
    # the page's own preload is not repeated, a file that is not there is not asked for, and a module
    # it loads only later (a dynamic import) is left to it


def test_without_a_plotly_chunk_nothing_is_preloaded(tmp_path):
    from oversight.asgi import chart_preloads

    assert chart_preloads(tmp_path) == b""
    static = _static(tmp_path, "", "<head></head>")
    (static / "static" / "js" / "PlotlyChart.Zz00Zz00.js").write_text("", encoding="utf-8")  # two: which one?
    assert chart_preloads(static) == b""


def test_streamlit_as_installed_has_the_chunk_this_preloads():
    """Fails on a Streamlit whose front end names its plotly chunk otherwise: the preload would be lost
    silently (the pages still work, a second slower)."""
    from streamlit import file_util

    from oversight.asgi import chart_preloads

    links = chart_preloads(file_util.get_static_dir()).decode()
    assert links.startswith('<link rel="modulepreload" crossorigin href="./static/js/PlotlyChart.')
    for href in links.split('href="./')[1:]:
        assert (Path(file_util.get_static_dir()) / href.split('"')[0]).is_file()


def test_the_preloads_follow_the_script_in_every_page():
    preload = b'<link rel="modulepreload" crossorigin href="./static/js/PlotlyChart.Ab12Cd34.js">'
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    asked = []
    middleware = BackendBaseUrl(answer(), "", preloads=lambda: asked.append(1) or preload)
    for _ in range(2):
        asyncio.run(middleware({"type": "http", "method": "GET", "path": "/"}, receive, send))
    pages = [m["body"] for m in sent if m["type"] == "http.response.body"]
    assert pages[0] == pages[1] == PAGE.replace(b"<head>", b"<head>" + base_url_script("") + preload)
    assert asked == [1]  # looked up once
