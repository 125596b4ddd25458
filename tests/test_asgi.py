"""serve.py's middleware (oversight.asgi.BackendBaseUrl), without a server: what it does to each kind of
answer. The browser suite checks the result in Chromium (no 404 on a page opened by its own address)."""

import asyncio
import gzip

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
