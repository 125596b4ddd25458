"""Issue #18 item 6: markup from the data never renders. Names, addresses, categories, event titles,
file names and what the identity provider says are shown as text: no image fetched from outside,
no link, no bold, in Streamlit's Markdown (presentation.md_text, md_code) and in plotly's HTML-ish
text (presentation.plotly_text).

The helpers are checked on their own and in a real browser (what Streamlit's and plotly's renderers
actually make of them); the pages run under AppTest on a copy of the small database whose
organisations, addresses, categories, directions, municipalities (English names), events and source
all carry hostile markup, and every Markdown string the pages produce is checked for it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import string
import subprocess
import sys
import time
import urllib.request

import duckdb
import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from oversight import access, store
from oversight.access import EVERYTHING
from oversight.output import presentation
from oversight.output.presentation import WORD_JOINER, md_code, md_text, plotly_text
from oversight.paths import ROOT

DASHBOARD = str(ROOT / "dashboard.py")
# An image from outside (a closed network must never fetch it), bold, HTML, a bare URL, Streamlit's
# colour directive, LaTeX, an emoji shortcode, a www. link, strikethrough.
NAME = ("![img](http://canary.invalid/x.png) **bold** <b>b</b> http://example.com :red[red] $x$ :smile: "
        "www.canary.invalid ~~s~~")
# What must not be left in a Markdown string once the values in it are escaped.
FORBIDDEN = re.compile(r"!\[|\]\(|<b>|\*\*bold|https?:|www\.|:red\[|\$x\$|:smile:|~~s", re.IGNORECASE)
ESCAPED_FOR_PLOTLY = "&lt;b&gt;b&lt;/b&gt;"
PUNCT = re.escape(string.punctuation)


def unescape(markdown: str) -> str:
    """What Streamlit shows for a string md_text wrote: the escapes read, the word joiners invisible."""
    return re.sub(rf"\\([{PUNCT}])", r"\1", markdown).replace(WORD_JOINER, "")


def without_code(markdown: str) -> str:
    """The Markdown outside its code spans (a code span shows its content as typed)."""
    return re.sub(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", "", markdown)


# ---------------------------------------------------------------- the helpers


def test_md_text_escapes_every_ascii_punctuation_character():
    for char in string.punctuation:
        assert md_text(char) == "\\" + char, char
    assert md_text("Дом 5, корп. 2") == "Дом 5\\, корп\\. 2"
    assert md_text("ООО «Ромашка»") == "ООО «Ромашка»"  # letters and non-ASCII quotes stay as they are


def test_md_text_breaks_bare_urls_and_addresses_with_an_invisible_joiner():
    # GitHub's autolinks are found after the escapes are read: an escaped colon is still a link.
    assert md_text("http://a.b") == f"http{WORD_JOINER}\\:\\/\\/a\\.b"
    assert md_text("HTTPS://a.b").startswith(f"HTTPS{WORD_JOINER}\\:")
    assert md_text("www.a.b").startswith(f"www{WORD_JOINER}\\.")
    assert md_text("WWW.a.b").startswith(f"WWW{WORD_JOINER}\\.")
    assert md_text("a@b.cd") == f"a\\@{WORD_JOINER}b\\.cd"
    assert md_text("http") == "http" and md_text("www") == "www"  # only where a link would start


def test_md_text_is_one_line_and_empty_for_missing_values():
    assert md_text("a\nb\r\nc\u2028d\te") == "a b c d e"  # a line break could start a heading or a list
    assert md_text("x\n# y") == "x \\# y"
    assert md_text(None) == md_text(float("nan")) == md_text(pd.NA) == ""
    assert md_text(12) == "12" and md_text(1.5) == "1\\.5"


@given(st.text())
def test_md_text_leaves_no_punctuation_unescaped_and_reads_back_as_the_value(value):
    shown = md_text(value)
    # Every ASCII punctuation character is preceded by a backslash (escapes come in pairs).
    assert re.fullmatch(rf"(?:\\[{PUNCT}]|[^{PUNCT}])*", shown), shown
    expected = re.sub(r"[\r\n\t\v\f\x85\u2028\u2029]+", " ", value).replace(WORD_JOINER, "")
    assert unescape(shown).replace(WORD_JOINER, "") == expected


def _read_code_span(markdown: str) -> str:
    """The text a CommonMark code span shows (spec 6.1)."""
    fence = re.match(r"`+", markdown).group(0)
    assert markdown.endswith(fence) and not markdown[len(fence):-len(fence)].startswith("`")
    inner = markdown[len(fence):-len(fence)]
    assert len(fence) not in {len(run) for run in re.findall(r"`+", inner)}  # no run as long as the fence
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
        inner = inner[1:-1]
    return inner


@pytest.mark.parametrize("value", ["mun", "north@example.org", "a`b", "`x", "x`", "``", " a ", "a``b`",
                                   "![i](http://canary.invalid/x.png)", "<b>b</b> $x$ :red[r]"])
def test_md_code_shows_the_value_exactly(value):
    shown = md_code(value)
    assert _read_code_span(shown) == value
    assert md_code("a\n\nb") == "`a b`"  # a blank line would end the code span
    assert md_code(None) == ""


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\t\v\f\x85\u2028\u2029")))
def test_md_code_reads_back_as_the_value(value):
    if value.strip():
        assert _read_code_span(md_code(value)) == value


def test_plotly_text_escapes_what_plotly_reads_as_html():
    assert plotly_text("<b>x</b> & <a href='http://canary.invalid'>y</a><br>") == \
        "&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href='http://canary.invalid'&gt;y&lt;/a&gt;&lt;br&gt;"
    assert plotly_text("&lt;") == "&amp;lt;"  # an entity in the data is shown as typed, too
    assert plotly_text(None) == plotly_text(float("nan")) == plotly_text(pd.NA) == ""
    assert plotly_text("Серпухов") == "Серпухов"
    assert presentation.plotly_text is plotly_text


# ---------------------------------------------------------------- in a real browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RENDER_APP = '''
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from oversight.output.presentation import md_code, md_text, plotly_text

NAME = {name!r}
MAIL = "north@example.org"
st.markdown("MD " + md_text(NAME))
st.markdown("#### :green-background[" + md_text(NAME) + "]")
st.markdown("- " + md_text(NAME) + "\\n- " + md_text("two\\n# lines"))
st.caption("CAPTION " + md_text(NAME))
st.title("TITLE " + md_text(NAME))
st.warning("WARNING " + md_text(NAME))
st.markdown("CODE " + md_code(NAME + " " + MAIL))
st.markdown("MAIL " + md_code(MAIL))
st.button("BUTTON " + md_text(NAME), key="button")
with st.expander("EXPANDER " + md_text(NAME)):
    st.write("inside")
st.tabs(["TAB " + md_text(NAME)])
st.metric("METRIC " + md_text(NAME), md_text(NAME))
st.table(pd.DataFrame({{"": [md_text(NAME)]}}, index=["TABLE"]))
st.segmented_control("segmented", ["SEGMENT " + md_text(NAME)], key="segmented")
fig = go.Figure(go.Bar(x=[1], y=[plotly_text(NAME)], orientation="h", name=plotly_text(NAME),
                       customdata=[[plotly_text(NAME)]], hovertemplate="<b>%{{customdata[0]}}</b><extra>%{{fullData.name}}</extra>"))
fig.add_annotation(x=0.5, y=0, text=plotly_text(NAME))
fig.update_layout(title=plotly_text(NAME), showlegend=True, height=400)
st.plotly_chart(fig)
'''

MARKUP_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMarkdownContainer"]')).map(e => ({
    text: e.innerText,
    images: e.querySelectorAll('img').length,
    links: Array.from(e.querySelectorAll('a')).map(a => a.getAttribute('href')).filter(h => !h.startsWith('#')),
    marks: Array.from(e.querySelectorAll('strong, em, del, b, .katex, .stMarkdownColoredText, [data-testid="stIconMaterial"]')).map(n => n.tagName),
    code: Array.from(e.querySelectorAll('code')).map(c => c.innerText),
}))"""


@pytest.mark.browser
def test_escaped_values_render_as_typed_in_a_real_browser(browser, tmp_path):
    """What Streamlit's Markdown and plotly make of the escaped values in Chromium: the text as
    typed, no image requested from anywhere, no link, no bold, no colour, no formula."""
    script = tmp_path / "render.py"
    script.write_text(RENDER_APP.format(name=NAME), encoding="utf-8")
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                if time.time() > deadline:
                    pytest.fail((tmp_path / "server.log").read_text()[-2000:])
                time.sleep(0.3)
        page = browser.new_page(viewport={"width": 1400, "height": 3000})
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
        page.wait_for_selector(".js-plotly-plot .bars path", timeout=60_000)
        blocks = page.evaluate(MARKUP_JS)
        shown = [b for b in blocks if NAME in b["text"].replace(WORD_JOINER, "")]
        # MD, heading, list, caption, title, warning, button, expander, tab, metric label and value,
        # table cell, segment; the code spans are checked below.
        assert len(shown) >= 13, [b["text"][:40] for b in blocks]
        for block in blocks:
            assert block["images"] == 0 and block["links"] == [], block
            assert block["marks"] == [], block
        listed = next(b for b in blocks if "two" in b["text"])
        assert "two # lines" in listed["text"]  # one line: no heading made of the second
        assert next(b for b in blocks if b["text"].startswith("CODE"))["code"] == [NAME + " north@example.org"]
        assert next(b for b in blocks if b["text"].startswith("MAIL"))["code"] == ["north@example.org"]
        svg = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot text')).map(t => ({
            text: t.textContent, links: t.querySelectorAll('a').length, styled: t.querySelectorAll('tspan[style]').length,
            where: t.getAttribute('class') || t.parentNode.getAttribute('class')}))""")
        drawn = {s["where"]: s for s in svg if s["text"] == NAME}
        assert {"ytick", "legendtext", "annotation-text", "gtitle"} <= set(drawn), svg
        assert all(s["links"] == 0 for s in drawn.values()), drawn
        # Bold only where Streamlit's theme makes the title bold: the name itself adds no formatting.
        assert all(s["styled"] == 0 for where, s in drawn.items() if where != "gtitle"), drawn
        box = page.locator(".js-plotly-plot .bars path").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(".hoverlayer text", timeout=10_000)
        hover = page.evaluate("() => Array.from(document.querySelectorAll('.hoverlayer text')).map(t => t.textContent)")
        assert hover.count(NAME) == 2, hover  # the customdata line and the trace's name
        assert page.locator(".hoverlayer a").count() == 0
        outside = [u for u in requested if not u.startswith((f"http://127.0.0.1:{port}/", "data:", "blob:"))]
        assert outside == [], outside  # nothing fetched from outside: no canary image
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


# ---------------------------------------------------------------- the pages (AppTest)


@pytest.fixture(scope="module")
def hostile_db(small_db, tmp_path_factory) -> str:
    """The small database with markup in every name from the data. Municipalities keep their Russian
    names (the boundaries are matched by them) and carry it in English; three events are kept (the
    Before/after page then offers them as a segmented control, which reads Markdown)."""
    path = tmp_path_factory.mktemp("markup") / "hostile.duckdb"
    shutil.copy(small_db, path)
    with duckdb.connect(str(path)) as c:
        prefix = {"p": NAME + " "}
        c.execute("update organizations set name = $p || name", prefix)
        c.execute("update buildings set address = $p || address", prefix)
        c.execute("update categories set name_ru = $p || name_ru, name_en = $p || name_en", prefix)
        c.execute("update territories set name_ru = $p || name_ru, name_en = $p || name_en", prefix)
        c.execute("update municipalities set name_en = $p || name_en", prefix)
        c.execute("delete from events where event_id not in (select event_id from events order by event_date desc limit 3)")
        c.execute("update events set title = $p || title", prefix)
        c.execute("update dataset set source = $n, is_demo = false", {"n": NAME})
    return str(path)


@pytest.fixture(scope="module")
def place(hostile_db) -> dict:
    """A request with its building, organisation, municipality and direction (for a deep link)."""
    con = store.connect(hostile_db, EVERYTHING)
    as_of = store.dataset_info(con)["as_of"]
    row = con.execute("""
        select t.ticket_id, t.building_id, t.organization_id, m.municipality_id, m.territory_id
        from tickets t
        join buildings b on b.building_id = t.building_id and b.organization_id = t.organization_id
        join municipalities m on m.municipality_id = b.municipality_id and m.successor_id is null
        where t.created_at >= $since and t.closed_at is not null
        order by t.ticket_id limit 1""", {"since": as_of - pd.Timedelta(days=60)}).fetchone()
    keys = ("req", "bld", "org", "mun", "dir")
    return {key: str(value) for key, value in zip(keys, row)}


def _app(db: str, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("OVERSIGHT_DB", db)
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def _page(db: str, monkeypatch, script: str, **query) -> AppTest:
    at = _app(db, monkeypatch, **query).run()
    at.switch_page(script).run()
    assert not at.exception, at.exception
    return at


# Elements whose content is shown as typed (checked as plain text where it matters, never escaped).
PLAIN = {"dataframe", "arrow_data_frame", "plotly_chart", "text", "code", "json", "table"}
# Widgets whose label (and tooltip) read Markdown but whose options or value do not (a radio's, a
# select slider's and a segmented control's options do: they are checked whole).
LABEL_ONLY = {"selectbox", "multiselect", "text_input", "text_area", "number_input", "date_input", "slider",
              "file_uploader", "download_button", "checkbox", "toggle", "time_input"}


def _strings(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, path)
    elif isinstance(value, str):
        yield path, value


def markdown_strings(at: AppTest) -> list[tuple[str, str]]:
    """Every string of the run that Streamlit reads as Markdown: bodies of markdown, captions,
    headings and alerts, labels and tooltips, metric values, segmented-control options, expander
    and tab labels, st.table cells. (element type, string) pairs."""
    found = []
    for root in (at.main, at.sidebar):
        stack = [root]
        while stack:
            node = stack.pop()
            kind = getattr(node, "type", None)
            proto = getattr(node, "proto", None)
            if kind == "table":
                found += [("table", str(v)) for v in [*node.value.index, *node.value.to_numpy().ravel()]]
            elif proto is not None and kind not in PLAIN:
                for path, text in _strings(MessageToDict(proto, preserving_proto_field_name=True)):
                    if kind in LABEL_ONLY and path.split(".")[-1] not in ("label", "help"):
                        continue
                    found.append((kind, text))
            children = getattr(node, "children", None)
            if children:
                stack.extend(children.values())
    return found


def assert_no_markup(at: AppTest) -> list[tuple[str, str]]:
    """No Markdown string carries the data's markup unescaped (outside code spans); returns them."""
    found = markdown_strings(at)
    bad = [(kind, text) for kind, text in found if FORBIDDEN.search(without_code(text))]
    assert not bad, bad
    return found


def shown_in(found: list[tuple[str, str]], *kinds: str) -> list[str]:
    """The strings of these kinds that show the hostile name, as the reader sees them."""
    return [unescape(text) for kind, text in found if kind in kinds and NAME in unescape(text)]


def _spec(text: str) -> str:
    """A figure's JSON with nothing escaped by the encoder (plotly writes "</" as "<\\/")."""
    return json.dumps(json.loads(text), ensure_ascii=False)


def figures(at: AppTest) -> str:
    return "\n".join(_spec(chart.proto.spec) for chart in at.get("plotly_chart"))


def assert_figures_escaped(at: AppTest, expect_names: bool = True) -> None:
    spec = figures(at)
    assert "<b>b</b>" not in spec
    if expect_names:
        assert ESCAPED_FOR_PLOTLY in spec


def test_drill_down_breadcrumbs_cards_and_table_show_names_as_text(hostile_db, place, monkeypatch):
    at = _page(hostile_db, monkeypatch, "app_pages/drill.py", dir=place["dir"], mun=place["mun"], org=place["org"])
    found = assert_no_markup(at)
    crumbs = [b for b in at.button if b.key == "crumb_territory"]
    assert crumbs and NAME in unescape(crumbs[0].label)  # a direction's name on its button
    assert shown_in(found, "subheader"), "the organisation card's heading"
    assert shown_in(found, "markdown"), "the last breadcrumb (the organisation)"
    # The tables show the names as they are.
    assert any(NAME in str(v) for frame in at.dataframe for v in frame.value.to_numpy().ravel())

    at = _page(hostile_db, monkeypatch, "app_pages/drill.py", **place)
    found = assert_no_markup(at)
    assert len(shown_in(found, "button")) >= 3  # direction, organisation and building crumbs
    cells = shown_in(found, "table")
    assert len(cells) >= 3, found  # category, address, organisation on the request card
    assert any(c.startswith(NAME) for c in cells)


def test_drill_down_search_results_are_buttons_with_plain_labels(hostile_db, monkeypatch):
    at = _page(hostile_db, monkeypatch, "app_pages/drill.py")
    at.text_input(key="drill_search").input("canary").run()
    assert not at.exception, at.exception
    assert_no_markup(at)
    labels = [b.label for b in at.button if str(b.key).startswith("find_")]
    assert len(labels) >= 10, labels  # organisations and buildings
    assert all(NAME in unescape(label) for label in labels)


def test_examples_cards_lists_and_figures_show_names_as_text(hostile_db, monkeypatch):
    at = _page(hostile_db, monkeypatch, "app_pages/examples.py", minv="20", **{"from": "2019-07-01", "to": "2019-12-31"})
    found = assert_no_markup(at)
    headings = [text for text in shown_in(found, "markdown") if text.startswith("#### :")]
    assert headings, "an example card's heading"
    assert any(NAME in text for text in shown_in(found, "expandable", "expander")), "a request's line (category, address)"
    assert_figures_escaped(at)
    # The funnel's hover names the organisation (customdata), escaped.
    funnel = json.loads(at.get("plotly_chart")[0].proto.spec)
    custom = [row[1] for trace in funnel["data"] if trace.get("customdata") for row in trace["customdata"]]
    assert custom and all(c.startswith(plotly_text(NAME)) for c in custom)


def test_presenter_mode_titles_and_points_show_names_as_text(hostile_db, monkeypatch):
    at = _page(hostile_db, monkeypatch, "app_pages/examples.py", present="1", slide="1", minv="20", dir="1", lang="en")
    assert_no_markup(at)
    assert NAME in unescape(at.title[0].value)  # «Key figures: <direction>»
    assert_figures_escaped(at)
    at.button(key="slide_next").click().run()  # the map: the worst municipalities named in the lines
    assert not at.exception, at.exception
    found = assert_no_markup(at)
    assert shown_in(found, "markdown"), "the slide's lines"
    for _ in range(3):  # the funnel, the good and the poor example
        at.button(key="slide_next").click().run()
        assert not at.exception, at.exception
        assert_no_markup(at)
        assert_figures_escaped(at, expect_names=False)


def test_compliance_overview_map_backlog_compare_and_data_pages(hostile_db, monkeypatch):
    at = _page(hostile_db, monkeypatch, "app_pages/compliance.py")
    assert_no_markup(at)
    names = [str(v) for frame in at.dataframe for v in frame.value.to_numpy().ravel()]
    assert any(v.startswith(NAME) for v in names), "the watchlist names organisations as they are"

    at = _page(hostile_db, monkeypatch, "app_pages/overview.py")
    assert_no_markup(at)
    assert_figures_escaped(at)  # directions on the bars

    at = _page(hostile_db, monkeypatch, "app_pages/map.py", lang="en")
    assert_no_markup(at)
    assert_figures_escaped(at)  # municipalities in the hover, directions on the map and the matrix
    spec = figures(at)
    assert f"<b>{plotly_text(NAME)}" in spec  # our bold around an escaped name

    at = _page(hostile_db, monkeypatch, "app_pages/backlog.py", cmp="territory:1", by="territory",
               **{"from": "2018-01-01", "to": "2019-12-31"})
    found = assert_no_markup(at)
    assert shown_in(found, "caption"), "the events under the chart, with their titles"
    assert_figures_escaped(at)  # event labels, the compared direction, the small multiples' titles

    at = _page(hostile_db, monkeypatch, "app_pages/compare.py")
    found = assert_no_markup(at)
    options = [text for kind, text in found if kind == "button_group" and NAME in unescape(text)]
    assert options, "the events offered as segments, titles escaped"

    at = _page(hostile_db, monkeypatch, "app_pages/data.py")
    found = assert_no_markup(at)
    assert len(shown_in(found, "caption", "markdown")) >= 2  # the page header's source, the current data's


def test_figures_built_by_the_library_escape_names(hostile_db):
    """The same figures the deck draws (kaleido): every name from the data escaped."""
    from oversight.analysis import backlog
    from oversight.filters import Filters
    from oversight.output import charts

    con = store.connect(hostile_db, EVERYTHING)
    as_of = store.dataset_info(con)["as_of"].to_pydatetime()
    filters = Filters(dt.date(2019, 7, 1), dt.date(2019, 12, 31))
    made = presentation.material(con, filters, as_of, 20, "en")
    sequence = presentation.slides(con, made, "en", 0.95, {"type": "FeatureCollection", "features": []}, feature_ids=[])
    whole = Filters(dt.date(2018, 1, 1), dt.date(2019, 12, 31))
    base = backlog.series(con, whole, as_of, "month")
    events = backlog.events(con, whole, as_of)
    assert len(events) == 3
    built = [s.figure for s in sequence if s.figure is not None] + [
        charts.backlog_lines(base, base, NAME, events, "ru"),
        charts.small_multiples(backlog.by_area(con, whole, as_of, "month", "territory"), events, "ru"),
    ]
    specs = [_spec(figure.to_json()) for figure in built]
    assert not [spec[:300] for spec in specs if "<b>b</b>" in spec]
    # Directions, municipalities, organisations (funnel, rankings, trends), events, the compared area.
    assert sum(spec.count(ESCAPED_FOR_PLOTLY) for spec in specs) >= 20
    # The deck's lines stay plain text (PowerPoint reads no Markdown); the page's are escaped.
    assert any(NAME in line for s in sequence for line in [s.title, *s.points])
    escaped = presentation.slides(con, made, "en", 0.95, {"type": "FeatureCollection", "features": []}, feature_ids=[],
                                  show=md_text)
    for s in escaped:
        assert not any(FORBIDDEN.search(line) for line in [s.title, *s.points]), s.title
    # The organisation's trend: its name is the trace's, never pasted into the hover template.
    trend = next(s.figure for s in sequence if s.key in ("good", "poor") and s.figure is not None)
    assert all("%{fullData.name}" in tr.hovertemplate and NAME not in tr.hovertemplate for tr in trend.data)


# ---------------------------------------------------------------- who is signed in

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-of-enough-length",
    "client_id": "oversight-test",
    "client_secret": "oversight-test-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ADMIN = "admin_![a](http://canary.invalid/a.png)@example.org"


@pytest.fixture
def grants(tmp_path, monkeypatch):
    monkeypatch.setenv("OVERSIGHT_ACCESS_DB", str(tmp_path / "access.duckdb"))
    access.add_grant(access.CLI, "lead@example.org", "leadership")
    access.add_grant(access.CLI, ADMIN, "admin")


def _signed_in(db: str, monkeypatch, email: str, name: str) -> AppTest:
    at = _app(db, monkeypatch)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email, "name": name, "sub": email}
    return at.run()


def test_the_identity_providers_name_and_account_are_text(small_db, grants, monkeypatch):
    at = _signed_in(small_db, monkeypatch, "lead@example.org", NAME)
    assert not at.exception, at.exception
    assert_no_markup(at)
    caption = next(c.value for c in at.sidebar.caption if NAME in unescape(c.value))
    assert "`lead@example.org`" in caption  # the account as code: copied exactly, never a mailto link


def test_the_no_grant_warning_names_accounts_as_code(small_db, grants, monkeypatch):
    at = _signed_in(small_db, monkeypatch, "nobody_*x*@example.org", NAME)
    assert not at.exception, at.exception
    assert_no_markup(at)
    warning = at.warning[0].value
    assert md_code("nobody_*x*@example.org") in warning and md_code(ADMIN) in warning
    assert not at.metric
