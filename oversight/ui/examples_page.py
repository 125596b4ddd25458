"""The Examples page's pieces (Примеры для семинара): the funnel plot, fair rankings with their
intervals, good and poor example cards, the presenter mode and the exports (PowerPoint, PNG).

The numbers come from oversight.output.presentation.material (fairness + examples), computed once per
filters and minimum volume; presenter mode and the deck use the same sequence of slides.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import pandas as pd
import streamlit as st

from oversight import guarded
from oversight.analysis import fairness, heatmap
from oversight.filters import ascii_digits
from oversight.i18n import DEFAULT_LANGUAGE, fmt_datetime, fmt_number, fmt_percent, t
from oversight.output import charts, images, presentation, slides
from oversight.output.presentation import md_text
from oversight.output.theme import BAD, GOOD
from oversight.ui import cache, context, excel_downloads, widgets
from oversight.ui.context import PageContext

DEFAULT_MIN_VOLUME = 30
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def is_presenting() -> bool:
    return st.query_params.get("present") == "1"


def min_volume(ctx: PageContext) -> int:
    """The minimum number of deadlines in the period for an organisation to get a verdict and a
    rank; kept in the link (`minv`). Not a widget bound to the link: Streamlit refuses to leave
    a page (the click through to an organisation's card) while a widget is bound to its URL."""
    if "pg_minv" not in st.session_state:
        st.session_state["pg_minv"] = volume_from_url()
    value = st.number_input(t("examples.min_volume", ctx.lang), min_value=1, max_value=10_000, step=10, key="pg_minv",
                            help=t("examples.min_volume_help", ctx.lang))
    value = int(value or DEFAULT_MIN_VOLUME)
    if value == DEFAULT_MIN_VOLUME:
        if "minv" in st.query_params:
            del st.query_params["minv"]
    elif st.query_params.get("minv") != str(value):
        st.query_params["minv"] = str(value)
    return value


def volume_from_url() -> int:
    """The minimum volume in presenter mode, where its box is not drawn."""
    raw = str(st.query_params.get("minv", ""))
    return min(max(int(raw), 1), 10_000) if ascii_digits(raw) and len(raw) < 6 else DEFAULT_MIN_VOLUME


def material(ctx: PageContext, volume: int) -> presentation.Material:
    return cache.cached(presentation.material, ctx, volume, ctx.lang)


def warm(source: context.Source, filters, as_of) -> None:
    """What a first visit computes with the default filters and volume, in Russian (warmup.warm_up_pages)."""
    cache.cached_for(source, presentation.material, filters, as_of, DEFAULT_MIN_VOLUME, DEFAULT_LANGUAGE)


# ---------------------------------------------------------------- the funnel


def _open_card(ctx: PageContext, assessed: pd.DataFrame, organization_id: int) -> None:
    """Go to the organisation's card on the Drill-down page, as its deep link would: the page's
    period, target and language, with the organisation's place as the shared filters. (Leaving a
    page clears the link, and the sidebar then starts again from the new one.)"""
    row = assessed[assessed["organization_id"] == organization_id]
    if row.empty:
        return
    row = row.iloc[0]
    municipality = None if pd.isna(row["municipality_id"]) else int(row["municipality_id"])
    if municipality is not None:  # an organisation recorded under a merged municipality: today's one
        current = cache.query("municipality_current", ctx).set_index("municipality_id")["current_id"]
        municipality = int(current.get(municipality, municipality))
    territory = None if pd.isna(row["territory_id"]) else int(row["territory_id"])
    scope = replace(ctx.filters, territory_id=territory, municipality_id=municipality, organization_id=organization_id)
    link = {**scope.to_query_params(), "lang": ctx.lang}
    if abs(ctx.target - context.DEFAULT_TARGET) > 1e-9:
        link["target"] = str(round(ctx.target * 100))
    st.session_state["_filters_initialised"] = False
    for key in ("pg_bld", "pg_req", "_drill_scope"):
        st.session_state.pop(key, None)
    st.switch_page("app_pages/drill.py", query_params=link)


def funnel(ctx: PageContext, made: presentation.Material) -> None:
    lang = ctx.lang
    st.subheader(t("examples.funnel", lang))
    if made.assessed.empty:
        st.info(t("overview.empty", lang))
        return
    figure = presentation.funnel_slide(made, lang).figure
    event = widgets.plotly(figure, key="funnel", on_select="rerun")
    for point in _points(event):
        custom = point.get("customdata") if isinstance(point, dict) else None
        if custom and ascii_digits(custom[0]):
            _open_card(ctx, made.assessed, int(custom[0]))
    st.caption(t("examples.funnel_note", lang, p0=fmt_percent(made.funnel["p0"], lang),
                 phi=fmt_number(made.funnel["phi"], lang, 2), min_volume=made.funnel["min_volume"]))
    png_button(ctx, "funnel", figure)
    above, below = st.columns(2)
    for column, verdict in ((above, "above"), (below, "below")):
        with column:
            rows = fairness.outliers(made.assessed, made.funnel, verdict)
            st.markdown(f"**{t(f'examples.outliers_{verdict}', lang, n=len(rows))}**")
            if rows.empty:
                st.caption("—")
                continue
            shown = _table(rows, lang, with_mark=True)
            picked = st.dataframe(shown, hide_index=True, width="stretch", height=min(36 + 35 * len(shown), 330),
                                  on_select="rerun", selection_mode="single-row", key=f"outliers_{verdict}")
            for index in picked.selection.rows:
                _open_card(ctx, made.assessed, int(rows.iloc[index]["organization_id"]))
    st.caption(t("examples.click_hint", lang))


def _points(event) -> list:
    if isinstance(event, dict):
        return event.get("selection", {}).get("points", []) or []
    return getattr(getattr(event, "selection", None), "points", []) or []


def _table(rows: pd.DataFrame, lang: str, with_mark: bool = False) -> pd.DataFrame:
    table = pd.DataFrame({
        t("col.name", lang): rows["name"],
        t("col.inn", lang): rows["inn"],
        t("examples.col.due", lang): rows["due"].astype("int64"),
        t("examples.col.missed", lang): rows["missed"].astype("int64"),
        t("examples.col.share", lang): [fmt_percent(v, lang) for v in rows["share"]],
        t("examples.col.eb", lang): [f"{fmt_percent(a, lang)} ({fmt_percent(lo, lang)} – {fmt_percent(hi, lang)})"
                                     for a, lo, hi in zip(rows["eb_share"], rows["eb_low"], rows["eb_high"])],
    })
    if with_mark:
        table.insert(0, "№", rows["mark"].astype("int64"))
    return table


# ---------------------------------------------------------------- rankings


def rankings(ctx: PageContext, made: presentation.Material) -> None:
    lang = ctx.lang
    st.subheader(t("examples.rankings", lang))
    st.caption(t("examples.rankings_note", lang, min_volume=made.funnel["min_volume"]))
    best, worst = fairness.best_and_worst(made.assessed, n=10)
    left, right = st.columns(2)
    for column, rows, kind, colour in ((left, best, "best", GOOD), (right, worst, "worst", BAD)):
        with column:
            st.markdown(f"**{t(f'examples.{kind}', lang)}**")
            if rows.empty:
                st.caption(t("examples.none_ranked", lang))
                continue
            figure = charts.interval_ranking(rows, made.funnel["p0"], lang, colour)
            widgets.plotly(figure, key=f"ranking_{kind}")
            png_button(ctx, f"ranking_{kind}", figure)
    full = _table(made.assessed, lang)
    full[t("examples.col.verdict", lang)] = [t(f"examples.verdict.{'small' if pd.isna(v) else v}", lang) for v in made.assessed["verdict"]]
    with st.expander(t("examples.all", lang, n=len(full))):
        st.dataframe(full, hide_index=True, width="stretch", height=360)
    excel_downloads.download_table("examples_organizations", organizations_table(made.assessed, lang), ctx,
                             t("examples.all", lang, n=len(full)), formats=_eb_formats(lang), target=False,
                             extra=[f"{t('examples.min_volume', lang)}: {made.funnel['min_volume']}"])


def _eb_formats(lang: str) -> dict[str, str]:
    """The interval's ends are shares, though their names do not say so."""
    return {t(f"examples.col.eb_{end}", lang): "rate" for end in ("share", "low", "high")}


def organizations_table(assessed: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Every organisation assessed, for Excel: numbers as numbers (the share missed and the
    volume-adjusted share with its 95 % interval as rates), and the verdict."""
    return pd.DataFrame({
        t("col.name", lang): assessed["name"].to_numpy(),
        t("col.inn", lang): assessed["inn"].to_numpy(),
        t("examples.col.due", lang): assessed["due"].astype("int64").to_numpy(),
        t("examples.col.missed", lang): assessed["missed"].astype("int64").to_numpy(),
        t("examples.col.share", lang): assessed["share"].to_numpy(),
        t("examples.col.eb_share", lang): assessed["eb_share"].to_numpy(),
        t("examples.col.eb_low", lang): assessed["eb_low"].to_numpy(),
        t("examples.col.eb_high", lang): assessed["eb_high"].to_numpy(),
        t("examples.col.verdict", lang): [t(f"examples.verdict.{'small' if pd.isna(v) else v}", lang) for v in assessed["verdict"]],
    })


# ---------------------------------------------------------------- example cards


def example_cards(ctx: PageContext, made: presentation.Material) -> None:
    lang = ctx.lang
    st.subheader(t("examples.cards", lang))
    tabs = st.tabs([t("examples.good_title", lang), t("examples.poor_title", lang)])
    for tab, kind in zip(tabs, ("good", "poor")):
        with tab:
            _card(ctx, made.cards[kind], kind)


def _card(ctx: PageContext, card: dict | None, kind: str) -> None:
    lang = ctx.lang
    if card is None:
        st.info(t(f"examples.no_{kind}", lang))
        return
    org = card["organization"]
    # Coloured text, not st.error: an error box would read as a failure of the page.
    colour = "green" if kind == "good" else "red"
    st.markdown(f"#### :{colour}-background[{md_text(org['name'])}]")
    slide = presentation.example_slide(card, kind, ctx.target, lang, show=md_text)
    st.markdown(_bullets(slide.points[:-len(card["requests"]) or None]))
    compare = pd.DataFrame({
        t(f"drill.scope.{scope}", lang): {
            t(f"kpi.{metric}", lang): widgets.format_kpi(metric, values.get(metric), lang) for metric in widgets.CARD_METRICS
        }
        for scope, values in card["kpis"].items()
    })
    left, right = st.columns([1, 1])
    with left:
        st.dataframe(compare, width="stretch")
    with right:
        widgets.plotly(slide.figure, key=f"example_trend_{kind}")
        png_button(ctx, f"example_trend_{kind}", slide.figure)
    st.markdown(f"**{t(f'examples.requests_{kind}', lang)}**")
    for request in card["requests"]:
        with st.expander(presentation.request_line(request, kind, lang, show=md_text)):  # category, address: data
            timeline, text = st.columns(2)
            with timeline:
                st.markdown(f"**{t('drill.timeline', lang)}**")
                st.table(pd.DataFrame({
                    "": [t(f"drill.event.{event}", lang) for event, _ in request["timeline"]],
                    " ": [fmt_datetime(moment, lang) for _, moment in request["timeline"]],
                }).set_index(""))
            with text:
                st.markdown(f"**{t('drill.text', lang)}**")
                st.text(request["description"] or t("drill.no_text", lang))  # plain text: never Markdown
    if st.button(t("examples.open_card", lang), key=f"open_{kind}"):
        _open_card(ctx, pd.DataFrame([org]), int(org["organization_id"]))


def _bullets(lines: list[str]) -> str:
    """A slide's lines (their values from data written with md_text) as a Markdown list."""
    return "\n".join(f"- {line}" for line in lines)


# ---------------------------------------------------------------- exports


def chrome_hint(lang: str) -> None:
    st.warning(t("examples.no_chrome", lang), icon="🖨️")


def png_button(ctx: PageContext, key: str, figure) -> None:
    """Download a chart as PNG drawn on the server (kaleido); without a browser to draw with, say so."""
    if images.chrome_path() is None:
        st.button(t("examples.png", ctx.lang), key=f"png_{key}", disabled=True, help=t("examples.no_chrome", ctx.lang))
        return
    st.download_button(t("examples.png", ctx.lang), data=functools.partial(_png, figure), file_name=f"{key}.png",
                       mime="image/png", key=f"png_{key}", on_click="ignore")


def _png(figure) -> bytes:
    return images.to_png([figure])[0]


def deck_button(ctx: PageContext, made: presentation.Material) -> None:
    lang = ctx.lang
    st.subheader(t("examples.export", lang))
    if images.chrome_path() is None:
        chrome_hint(lang)
        st.button(t("examples.pptx", lang), disabled=True, key="pptx")
        return
    name = f"seminar_{ctx.filters.start}_{ctx.filters.end}.pptx"
    # The speaker notes carry residents' texts (masked): the download is put on record when built.
    deck = guarded.download(ctx.principal, name, functools.partial(_deck, ctx, made), texts=True)
    st.download_button(t("examples.pptx", lang), data=deck, file_name=name,
                       mime=PPTX_MIME, key="pptx", on_click="ignore", icon=":material/slideshow:")
    st.caption(t("examples.pptx_note", lang))


def _deck(ctx: PageContext, made: presentation.Material) -> bytes:
    return slides.deck(cache.connection(ctx), made, ctx.lang, ctx.target)


# ---------------------------------------------------------------- presenter mode

# The slide's chart fills the screen below the controls and the title, whatever the screen (#19):
# its box is sized to the viewport in CSS and the chart stretches to the box (plotly_chart's height
# "stretch"). SLIDE_CHROME_PX is the height of the controls' row and a one-line title.
SLIDE_CHROME_PX = 200
PRESENTER_CSS = f"""
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"] {{ display: none !important; }}
.block-container {{ padding-top: 1.2rem !important; padding-bottom: 0.5rem !important; max-width: 100% !important; }}
.block-container p, .block-container li {{ font-size: 1.3rem !important; line-height: 1.4 !important; }}
.block-container h1 {{ font-size: 2.6rem !important; padding-top: 0.4rem !important; padding-bottom: 0.6rem !important; }}
.st-key-slide_figure {{ height: calc(100vh - {SLIDE_CHROME_PX}px) !important; min-height: 360px !important;
  max-height: none !important; flex: 0 0 auto !important; overflow: hidden !important; }}
[data-testid="stLayoutWrapper"]:has(> .st-key-slide_figure) {{ height: auto !important; flex: 0 0 auto !important; }}
</style>
"""
# No toolbar on a slide: it covered the legend and the colour bar (#19); the map still reads the
# local topojson stub (widgets.plotly_config).
SLIDE_CONFIG = {"displayModeBar": False, "scrollZoom": False}


def presenter_link(ctx: PageContext) -> None:
    if st.button(t("examples.present", ctx.lang), icon=":material/present_to_all:", key="present_on"):
        st.query_params["present"] = "1"
        st.query_params["slide"] = "1"
        st.rerun()


@st.cache_data(show_spinner=False, max_entries=16)
def _sequence(db_path: str, version: str, scope_key: str, filters, as_of, volume: int, lang: str, target: float, _con,
              _made: presentation.Material) -> list[presentation.Slide]:
    """The slide sequence, once per scope, volume, language and target: each step of presenter mode
    reruns the page, and the KPI, area and map queries behind the slides take a few hundred ms at 10M.
    (_con and _made are not part of the key: the made material follows from the others.)"""
    return presentation.slides(_con, _made, lang, target, heatmap.map_geojson(widgets.url_root()), feature_ids=heatmap.boundary_ids(),
                               show=md_text)


def presenter(ctx: PageContext, made: presentation.Material, volume: int) -> None:
    """One slide per screen, no sidebar, large type; ← and → (buttons or the arrow keys) step through
    the sequence, Esc leaves."""
    st.html(PRESENTER_CSS)
    sequence = _sequence(ctx.db_path, ctx.version, ctx.scope.key, ctx.filters, ctx.as_of, volume, ctx.lang, ctx.target, cache.connection(ctx), made)
    _slide_view(sequence, ctx.lang)


def _go_to_slide(index: int) -> None:
    st.query_params["slide"] = str(index)


# A fragment (#21): a step to the next slide reruns only the slide, not the page's context, sidebar
# and material (the sequence is passed in, as the page last computed it). The arrows' callbacks set
# the slide before that rerun, so one press is one run (a button followed by st.rerun was two).
@st.fragment
def _slide_view(sequence: list[presentation.Slide], lang: str) -> None:
    raw = st.query_params.get("slide", "1")
    index = min(max(int(raw) if ascii_digits(raw) else 1, 1), len(sequence))
    slide = sequence[index - 1]
    first, last = index == 1, index == len(sequence)
    back, counter, forward, leave = st.columns([1, 7, 1, 2], vertical_alignment="center")
    with back:
        # At either end the arrow is disabled and says why, and the counter says so in words: a
        # presenter who presses → on the last slide sees that there is no next one (#19).
        st.button("←", key="slide_back", shortcut="Left", disabled=first, on_click=_go_to_slide, args=(index - 1,),
                  help=t("examples.first_slide" if first else "examples.back", lang))
    with counter:
        st.caption(slide_counter(index, len(sequence), lang))
    with forward:
        st.button("→", key="slide_next", shortcut="Right", disabled=last, on_click=_go_to_slide, args=(index + 1,),
                  help=t("examples.last_slide" if last else "examples.next", lang))
    with leave:
        if st.button(t("examples.leave", lang), key="present_off", shortcut="Esc"):
            del st.query_params["present"]
            del st.query_params["slide"]
            st.rerun()  # the whole page: the examples come back
    st.title(slide.title)  # its name from data written with md_text (_sequence)
    if slide.figure is not None:
        text, picture = st.columns([2, 3]) if slide.points else (None, st.container())
        # A container of fixed height (so that the chart's "stretch" fills it), its height then set
        # to the viewport's in CSS.
        with picture, st.container(key="slide_figure", height=560, border=False):
            st.plotly_chart(slide_figure(slide.figure), key=f"slide_{slide.key}", config=widgets.plotly_config(**SLIDE_CONFIG),
                            width="stretch", height="stretch")
        if text is not None:
            with text:
                st.markdown(_bullets(slide.points))
    else:
        st.markdown(_bullets(slide.points))


def slide_counter(index: int, total: int, lang: str) -> str:
    """«3 / 5», and at either end that it is the first or the last slide."""
    if total > 1 and index == total:
        return f"{index} / {total} · {t('examples.last_slide', lang)}"
    if total > 1 and index == 1:
        return f"{index} / {total} · {t('examples.first_slide', lang)}"
    return f"{index} / {total}"


def slide_figure(figure):
    """A slide's chart for the screen: no fixed height (it fills its box, which fills the viewport),
    large type."""
    figure.update_layout(height=None, autosize=True, font=dict(size=16), legend_font_size=16)
    figure.update_xaxes(tickfont_size=15, title_font_size=16)
    figure.update_yaxes(tickfont_size=15, title_font_size=16)
    return figure
