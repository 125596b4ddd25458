"""Seminar examples (issue #8): the organisations chosen as good and poor examples, the concrete
requests that show them (against plain pandas), the presenter sequence's numbers, and the deck
written by `python -m oversight slides` opened with python-pptx."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from oversight import privacy
from oversight.analysis import examples, fairness, metrics
from oversight.filters import Filters
from oversight.i18n import fmt_number, t
from oversight.output import images, presentation
from oversight.ui import examples_page
from tests.reference_metrics import kpis as reference_kpis
from tests.reference_metrics import scoped

YEAR = Filters(dt.date(2019, 1, 1), dt.date(2019, 12, 31))
HALF = Filters(dt.date(2019, 7, 1), dt.date(2019, 12, 31))


def test_planted_organisations_are_the_examples(full_demo):
    """The good example is one of the planted excellent organisations, the poor one a planted
    chronically poor one, and each is outside the funnel on its side."""
    con, as_of, facts = full_demo
    assessed, _ = fairness.organizations(con, YEAR, as_of)
    chosen = examples.pick(assessed)
    assert int(chosen["good"]["organization_id"]) in set(map(int, facts["excellent_organization_ids"].split(",")))
    assert int(chosen["poor"]["organization_id"]) in set(map(int, facts["poor_organization_ids"].split(",")))
    assert chosen["good"]["verdict"] == "below" and chosen["poor"]["verdict"] == "above"


def test_no_example_when_nobody_is_outside_the_funnel():
    table = pd.DataFrame({"organization_id": range(30), "due": [400] * 30, "missed": [24 + (i % 3) for i in range(30)]})
    assessed, _ = fairness.assess(table)
    assert examples.pick(assessed) == {"good": None, "poor": None}


def _due_rows(frames, organization_id: int, filters: Filters, as_of: dt.datetime) -> pd.DataFrame:
    """The organisation's requests whose deadline fell in the period and has passed, in pandas."""
    rows = scoped(frames, organization_id=organization_id)
    start, stop = pd.Timestamp(filters.start), pd.Timestamp(filters.end) + pd.Timedelta(days=1)
    rows = rows[(rows["due_at"] >= start) & (rows["due_at"] < min(stop, pd.Timestamp(as_of)))].copy()
    rows["missed"] = rows["closed_at"].isna() | (rows["closed_at"] > rows["due_at"])
    rows["no_text"] = rows["description"].isna() | (rows["description"] == "")
    rows["hours_late"] = ((rows["closed_at"].fillna(pd.Timestamp(as_of)) - rows["due_at"]).dt.total_seconds() / 3600).clip(lower=0)
    rows["resolution"] = (rows["closed_at"] - rows["created_at"]).dt.total_seconds()
    return rows


def _busiest_organisation(frames) -> int:
    return int(frames["tickets"]["organization_id"].value_counts().index[0])


def test_good_requests_are_the_best_rated_fastest_on_time_first_time(con, frames, as_of):
    org = _busiest_organisation(frames)
    rows = _due_rows(frames, org, YEAR, as_of)
    good = rows[~rows["missed"] & (rows["returned_count"] == 0) & rows["closed_at"].notna()].copy()
    good["rating_key"] = -good["rating"].astype("float").fillna(-np.inf)  # nulls last
    expected = good.sort_values(["rating_key", "no_text", "resolution", "ticket_id"])["ticket_id"].head(3).tolist()
    chosen = examples.example_requests(con, YEAR, as_of, org, "good")
    assert chosen["ticket_id"].tolist() == expected
    assert len(expected) == 3


def test_poor_requests_show_each_way_of_failing(con, frames, as_of):
    org = _busiest_organisation(frames)
    rows = _due_rows(frames, org, YEAR, as_of)
    poor = rows[rows["missed"]].copy()
    poor["rating_key"] = poor["rating"].astype("float").fillna(np.inf)
    orders = [
        poor.sort_values(["hours_late", "no_text", "ticket_id"], ascending=[False, True, True]),
        poor.sort_values(["returned_count", "no_text", "hours_late", "ticket_id"], ascending=[False, True, False, True]),
        poor.sort_values(["rating_key", "no_text", "returned_count", "hours_late", "ticket_id"], ascending=[True, True, False, False, True]),
    ]
    expected: list[int] = []
    for order in orders:  # one from each ranking in turn, skipping those already chosen
        expected.append(next(int(i) for i in order["ticket_id"] if i not in expected))
    chosen = examples.example_requests(con, YEAR, as_of, org, "poor")
    assert chosen["ticket_id"].tolist() == expected
    by_id = poor.set_index("ticket_id")
    assert by_id.loc[expected[0], "hours_late"] == poor["hours_late"].max()
    assert by_id.loc[expected[1], "returned_count"] == poor["returned_count"].max()
    np.testing.assert_allclose(chosen["hours_late"], by_id.loc[expected, "hours_late"], rtol=1e-9)


def test_example_card_numbers_and_masked_texts(con, frames, as_of):
    assessed, _ = fairness.organizations(con, YEAR, as_of, 20)
    row = assessed.iloc[0]  # the worst by its interval's lower bound
    card = examples.example_card(con, YEAR, as_of, row, "poor")
    own = reference_kpis(scoped(frames, organization_id=int(row["organization_id"])), YEAR.start, YEAR.end, as_of)
    for key in ("due", "missed", "created", "closed"):
        assert card["kpis"]["organization"][key] == own[key], key
    assert (row["due"], row["missed"]) == (own["due"], own["missed"])
    territory = reference_kpis(scoped(frames, territory_id=int(row["territory_id"])), YEAR.start, YEAR.end, as_of)
    assert card["kpis"]["territory"]["missed"] == territory["missed"]
    # The trend's months add up to the year.
    assert card["trend"]["organization"]["missed"].sum() == own["missed"]
    texts = frames["tickets"].set_index("ticket_id")["description"]
    for request in card["requests"]:
        raw = texts.loc[request["ticket_id"]]
        assert request["description"] == privacy.mask(raw, "ru")


def test_presentation_numbers_are_the_kpi_functions(con, frames, as_of):
    made = presentation.material(con, HALF, as_of, 20)
    comparison = metrics.kpi_comparison(con, HALF, as_of)
    sequence = presentation.slides(con, made, "ru", 0.95, {"type": "FeatureCollection", "features": []}, feature_ids=[])
    assert [s.key for s in sequence] == list(presentation.SEQUENCE)
    assert sequence[0].points == presentation.kpi_points(comparison, "ru")
    region = reference_kpis(scoped(frames), HALF.start, HALF.end, as_of)
    for metric in ("created", "closed", "missed"):
        line = t("kpi." + metric, "ru") + ": " + fmt_number(region[metric], "ru") + " ("
        assert any(p.startswith(line) for p in sequence[0].points), (line, sequence[0].points)
    funnel = sequence[2].points[0]
    assert str(int((made.assessed["verdict"] == "above").sum())) in funnel


def _picture_is_drawn(blob: bytes) -> bool:
    """A real chart, not an empty canvas: enough non-white pixels and more than two colours."""
    image = Image.open(io.BytesIO(blob)).convert("L")
    pixels = np.asarray(image)
    return (pixels < 200).mean() > 0.005 and len(np.unique(pixels)) > 10


def test_cli_slides_writes_the_deck(small_db, tmp_path):
    out = tmp_path / "deck.pptx"
    done = subprocess.run(
        [sys.executable, "-m", "oversight", "slides", "--db", small_db, "--from", "2019-07-01", "--to", "2019-12-31",
         "--min-volume", "20", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    deck = Presentation(str(out))
    slides = list(deck.slides)
    assert len(slides) == 1 + len(presentation.SEQUENCE)
    titles = [next(s.text_frame.text for s in slide.shapes if s.has_text_frame).splitlines()[0] for slide in slides]
    assert titles[0] == t("slides.deck_title", "ru")
    assert titles[1] == t("slides.kpis", "ru", scope=t("drill.region", "ru"))
    assert titles[2] == t("slides.map", "ru")
    assert titles[3] == t("examples.funnel", "ru")
    assert titles[4].startswith(t("examples.good_title", "ru")) and titles[5].startswith(t("examples.poor_title", "ru"))
    pictures = [shape for slide in slides for shape in slide.shapes if shape.shape_type == 13]
    assert len(pictures) == 5
    assert all(_picture_is_drawn(p.image.blob) for p in pictures)
    notes = slides[5].notes_slide.notes_text_frame.text
    assert notes.startswith("№ ")


def test_without_chrome_the_deck_says_how_to_install_it(small_db, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    assert images.chrome_path() is None
    with pytest.raises(images.ChromeMissing):
        images.to_png([])
    env = {**os.environ, "PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "oversight", "slides", "--db", small_db, "--from", "2019-07-01", "--to", "2019-12-31",
         "--out", str(tmp_path / "deck.pptx")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode != 0 and "apt install chromium" in done.stderr
    assert not (tmp_path / "deck.pptx").exists()


# ---------------------------------------------------------------- the page (AppTest)


def _app(db: str, monkeypatch, **query) -> AppTest:
    from tests.test_app import DASHBOARD

    monkeypatch.setenv("OVERSIGHT_DB", db)
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def test_examples_page_shows_the_funnel_tables_and_cards(small_db, con, as_of, monkeypatch):
    at = _app(small_db, monkeypatch, minv="20", **{"from": "2019-07-01", "to": "2019-12-31"}).run()
    at.switch_page("app_pages/examples.py").run()
    assert not at.exception, at.exception
    made = presentation.material(con, HALF, as_of, 20)
    above = (made.assessed["verdict"] == "above").sum()
    subheaders = [h.value for h in at.markdown]
    assert any(t("examples.outliers_above", "ru", n=above) in h for h in subheaders), subheaders
    assert at.number_input(key="pg_minv").value == 20
    assert [tab.label for tab in at.tabs] == [t("examples.good_title", "ru"), t("examples.poor_title", "ru")]


def test_presenter_mode_steps_through_the_sequence(small_db, monkeypatch):
    at = _app(small_db, monkeypatch, present="1", slide="1", minv="20").run()
    at.switch_page("app_pages/examples.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == t("slides.kpis", "ru", scope=t("drill.region", "ru"))
    at.button(key="slide_next").click().run()
    assert at.title[0].value == t("slides.map", "ru")
    at.button(key="slide_next").click().run()
    assert at.title[0].value == t("examples.funnel", "ru")
    at.button(key="slide_back").click().run()
    assert at.title[0].value == t("slides.map", "ru")
    at.button(key="present_off").click().run()
    assert at.title[0].value == t("examples.title", "ru")


def test_without_chrome_the_page_says_how_to_install_it_and_works(small_db, monkeypatch):
    monkeypatch.setattr(images, "chrome_path", lambda: None)
    at = _app(small_db, monkeypatch, minv="20").run()
    at.switch_page("app_pages/examples.py").run()
    assert not at.exception, at.exception
    assert any(w.value == t("examples.no_chrome", "ru") for w in at.warning), [w.value for w in at.warning]
    png = [b for b in at.button if b.label == t("examples.png", "ru")]
    assert png and all(b.disabled for b in png)
    assert at.tabs  # the rest of the page is there


# ---------------------------------------------------------------- presenter mode as seen (#19)


def _slide(small_db, monkeypatch, slide: str, lang: str = "ru") -> AppTest:
    at = _app(small_db, monkeypatch, present="1", slide=slide, minv="20", lang=lang).run()
    at.switch_page("app_pages/examples.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("slide", ["1", "2", "3"])
def test_slides_have_no_chart_toolbar_and_fill_the_screen(small_db, monkeypatch, slide):
    """The toolbar (modebar) covered the legend and the colour bar; at 1920×1080 a slide filled the
    top half (a fixed 560 px chart)."""
    import json

    at = _slide(small_db, monkeypatch, slide)
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    config = json.loads(charts[0].proto.config)
    assert config["displayModeBar"] is False and config["topojsonURL"] == "/app/static/"
    assert json.loads(charts[0].proto.spec)["layout"].get("height") is None  # no fixed height: it fills its box
    css = " ".join(h.proto.body for h in at.get("html"))
    assert ".st-key-slide_figure" in css and "calc(100vh" in css  # ... which is as tall as the screen


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_arrows_say_when_there_is_no_next_or_previous_slide(small_db, monkeypatch, lang):
    last = str(len(presentation.SEQUENCE))
    at = _slide(small_db, monkeypatch, last, lang)
    forward = at.button(key="slide_next")
    assert forward.disabled and forward.help == t("examples.last_slide", lang)
    assert any(t("examples.last_slide", lang) in c.value for c in at.caption)
    assert not at.button(key="slide_back").disabled
    at = _slide(small_db, monkeypatch, "1", lang)
    back = at.button(key="slide_back")
    assert back.disabled and back.help == t("examples.first_slide", lang)
    assert any(t("examples.first_slide", lang) in c.value for c in at.caption)
    assert not any(t("examples.last_slide", lang) in c.value for c in at.caption)
    assert examples_page.slide_counter(3, 5, lang) == "3 / 5"


@pytest.mark.browser
@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_presenter_slides_fill_the_viewport_without_a_toolbar(browser, small_db, tmp_path_factory, size):
    from tests.test_browser import Visit, _serve

    width, height = size
    served = _serve(small_db, tmp_path_factory)
    base = next(served)
    checked = 0
    try:
        for slide in range(1, len(presentation.SEQUENCE) + 1):
            visit = Visit(browser, f"{base}/examples?lang=ru&present=1&slide={slide}&minv=20", width, height)
            try:
                p = visit.page
                assert p.locator('[data-testid="stException"]').count() == 0, p.inner_text("body")[:2000]
                if p.locator(".js-plotly-plot").count() == 0:  # an example slide without an example: text only
                    continue
                checked += 1
                plot = p.locator(".js-plotly-plot").first
                plot.hover()
                p.wait_for_timeout(300)
                box = plot.bounding_box()
                assert box["y"] + box["height"] <= height + 2, (slide, box)  # the slide fits the screen ...
                assert box["y"] + box["height"] >= 0.85 * height, (slide, box)  # ... and fills it
                assert p.locator(".modebar").count() == 0, slide  # no toolbar, even on hover
            finally:
                visit.close()
        assert checked >= 3  # the region's KPIs, the map and the funnel at least
    finally:
        next(served, None)


def test_lateness_is_said_in_days_from_a_day_on():
    """«просрочка 3 877 ч» was read as hours where days were meant (#19)."""
    from oversight.output.presentation import late_text

    assert late_text(3877.4, "ru") == "161,6 дн."
    assert late_text(3877.4, "en") == "161.6 days"
    assert late_text(5.2, "ru") == "5 ч"
