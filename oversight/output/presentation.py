"""The seminar sequence (issue #8): region KPIs, the map, the funnel, a good example, a poor example.

One list of slides, each a title, a figure and a few lines of numbers in the user's language; the
page's presenter mode steps through it and oversight.output.slides writes it as a PowerPoint deck, so the
screen and the file always show the same numbers.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from oversight import store
from oversight.analysis import examples, fairness, heatmap, metrics
from oversight.filters import Filters
from oversight.i18n import fmt_date, fmt_datetime, fmt_number, fmt_percent, fmt_points, fmt_signed_percent, t
from oversight.output import charts

# ---------------------------------------------------------------- values from data, shown as text
#
# Names, addresses, categories, file names, event titles and what the identity provider says about a
# user are data: a page shows them as text, never as markup. Streamlit reads Markdown (plus its own
# `:color[…]`, `:material/…:`, emoji shortcodes and `$…$` LaTeX) in st.markdown, captions, titles,
# alerts, st.table cells, the labels of buttons, expanders, tabs, metrics and segmented controls, and
# metric values; plotly reads a little HTML (<b>, <br>, <a href>, <span style>) in every text it draws.
# Where a page can, it shows data in st.dataframe, st.text or a selectbox's options, which read nothing;
# elsewhere it passes each value through `md_text` (Streamlit) or `plotly_text` (figures). The slides'
# strings stay plain (the PowerPoint deck reads no markup): the page escapes them when it shows them.

plotly_text = charts.plotly_text  # defined beside the figure builders that use it (charts imports no page code)

_MD_PUNCTUATION = frozenset(string.punctuation)  # CommonMark: any ASCII punctuation may be backslash-escaped
WORD_JOINER = "\u2060"  # invisible, no width, no line break
_BREAKS = re.compile(r"[\r\n\t\v\f\x85\u2028\u2029]+")
# GitHub's autolinks are found in the text after the escapes are read (http\:// is still a link):
# a word joiner after "http(s)", "www" and "@" keeps a bare URL or e-mail address from becoming a link.
_AUTOLINK = re.compile(r"https?(?=:)|www(?=\.)|@(?=[\w-])", re.IGNORECASE)


def md_text(value) -> str:
    """`value` as Markdown that Streamlit shows literally: every ASCII punctuation character
    backslash-escaped (links, images, emphasis, code, headings, lists, tables, HTML, entities,
    `:directives[…]`, `:emoji:`, `$math$`), line breaks made spaces (a value is one line of text),
    and a word joiner where GitHub's autolinks would start. For one value inside our own Markdown
    (a template's **bold**, a list's "- "), or for a whole string meant as plain text; never for
    plain-text places (st.dataframe, st.text, selectbox options), which would show the backslashes."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    text = _AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, _BREAKS.sub(" ", str(value)))
    return "".join("\\" + c if c in _MD_PUNCTUATION else c for c in text)


def md_code(value) -> str:
    """`value` as inline code: shown exactly as typed (in monospace), never a link or an image, with
    nothing inserted. For identifiers a reader may copy, an e-mail above all (`md_text` would put a
    word joiner after its @). The fence is longer than any run of backticks inside; line breaks
    become spaces (a blank line would end the code span)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    text = _BREAKS.sub(" ", str(value))
    if not text.strip():
        return text
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    # CommonMark strips one space from each end when both ends have one: pad where that or a
    # backtick at an end would change the text.
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


SEQUENCE = ("kpis", "map", "funnel", "good", "poor")
SUMMARY_METRICS = ("created", "closed", "backlog_end", "overdue_backlog_end", "missed", "on_time_rate")


@dataclass
class Slide:
    key: str
    title: str
    figure: go.Figure | None
    points: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # speaker notes: the examples' masked texts
    organization_id: int | None = None


@dataclass
class Material:
    """The numbers behind the page and the deck, computed once."""

    filters: Filters
    as_of: dt.datetime
    assessed: pd.DataFrame
    funnel: dict
    cards: dict[str, dict | None]


def material(con, filters: Filters, as_of: dt.datetime, min_volume: int, lang: str = "ru") -> Material:
    assessed, funnel = fairness.organizations(con, filters, as_of, min_volume)
    chosen = examples.pick(assessed)
    return Material(filters, as_of, assessed, funnel, examples.cards(con, filters, as_of, chosen, lang))


def scope_name(con, filters: Filters, lang: str) -> str:
    """The region, or the chosen direction's name (the funnel is drawn around its share)."""
    if filters.territory_id is None:
        return region_name(con, lang)
    names = store.run(con, "drill_labels", level="territory").set_index("child_id")
    if filters.territory_id not in names.index:
        return str(filters.territory_id)
    return names.loc[filters.territory_id, "name_en" if lang == "en" else "name_ru"]


def region_name(con, lang: str) -> str:
    """«Московская область» for Moscow Oblast data; «все данные» for an imported city's; for a user
    who reads only some directions, what he reads (his "region": every total he sees is over it)."""
    if not con.scope.is_everything:
        return t("drill.region_scope", lang, names=scope_label(con, lang))
    return t("drill.region" if heatmap.boundaries_fit(con) else "drill.region_other", lang)


def scope_label(con, lang: str) -> str:
    """What a restricted user reads, in words: the directions he reads whole, then the municipalities
    of the rest («Север, Дубна»)."""
    ids = store.scope_ids(con)
    name = "name_en" if lang == "en" else "name_ru"
    territories = store.run(con, "drill_labels", level="territory").set_index("child_id")[name]
    municipalities = store.run(con, "drill_labels", level="municipality")
    whole = [territories[i] for i in ids["territories_full"] if i in territories.index]
    rest = municipalities.loc[~municipalities["territory_id"].isin(ids["territories_full"]), name].sort_values()
    return ", ".join([*whole, *rest]) or "—"


def period_line(filters: Filters, as_of: dt.datetime, lang: str) -> str:
    return t("slides.period", lang, start=fmt_date(filters.start, lang), end=fmt_date(filters.end, lang),
             as_of=fmt_datetime(as_of, lang))


def kpi_points(comparison: pd.DataFrame, lang: str) -> list[str]:
    """One line per headline KPI: value and change against the previous period of equal length."""
    rows = comparison.set_index("metric")
    lines = []
    for metric in SUMMARY_METRICS:
        row = rows.loc[metric]
        if metric == "on_time_rate":
            value, change = fmt_percent(row["value"], lang), fmt_points(row["change"], lang)
        else:
            value, change = fmt_number(row["value"], lang), fmt_signed_percent(row["change"], lang)
        lines.append(t("slides.kpi_line", lang, name=t(f"kpi.{metric}", lang), value=value, change=change or "—"))
    return lines


# The slides' lines mix our words with values from data. `show` writes each value from data: `str`
# for the deck (plain text), `md_text` for a page that shows the lines as Markdown.
Show = Callable[[object], str]


def request_line(card: dict, kind: str, lang: str, show: Show = str) -> str:
    """A concrete request in one line: number, category, address, and what makes it an example."""
    category = card["category_en" if lang == "en" else "category_ru"]
    if kind == "good":
        hours = (pd.Timestamp(card["closed_at"]) - pd.Timestamp(card["created_at"])).total_seconds() / 3600
        how = t("examples.good_how", lang, hours=fmt_number(hours, lang, 1),
                rating="—" if pd.isna(card["rating"]) else int(card["rating"]))
    else:
        how = t("examples.poor_how", lang, late=late_text(card["hours_late"], lang), returns=int(card["returned_count"]),
                rating="—" if pd.isna(card["rating"]) else int(card["rating"]),
                state=t("drill.status.open" if pd.isna(card["closed_at"]) else "drill.status.closed", lang).lower())
    return t("examples.request_line", lang, id=card["ticket_id"], category=show(category),
             address=show(card["address"] or "—"), how=how)


def late_text(hours: float, lang: str) -> str:
    """How late, as a person says it: hours under a day, else days («161,6 дн.»; «3 877 ч» read as
    hours where days were meant, #19)."""
    if hours < 24:
        return t("examples.late_hours", lang, n=fmt_number(hours, lang, 0))
    return t("examples.late_days", lang, n=fmt_number(hours / 24, lang, 1))


def example_points(card: dict, lang: str, show: Show = str) -> list[str]:
    org = card["organization"]
    kpis = card["kpis"]
    lines = [
        t("examples.profile", lang, inn=show(card["info"]["inn"] or "—"), kind=t(f"kind.{card['info']['kind']}", lang),
          buildings=fmt_number(card["info"]["buildings"], lang),
          municipalities=", ".join(show(m) for m in card["info"]["municipalities_en" if lang == "en" else "municipalities_ru"])),
        t("examples.share_line", lang, missed=fmt_number(org["missed"], lang), due=fmt_number(org["due"], lang),
          share=fmt_percent(org["share"], lang), low=fmt_percent(org["eb_low"], lang), high=fmt_percent(org["eb_high"], lang)),
    ]
    for scope in ("territory", "region"):
        if scope in kpis:
            lines.append(t(f"examples.vs_{scope}", lang, rate=fmt_percent(kpis[scope]["on_time_rate"], lang),
                           own=fmt_percent(kpis["organization"]["on_time_rate"], lang)))
    lines += [request_line(request, card["kind"], lang, show) for request in card["requests"]]
    return lines


def example_slide(card: dict | None, kind: str, target: float, lang: str, show: Show = str) -> Slide:
    if card is None:
        return Slide(kind, t(f"examples.{kind}_title", lang), None, [t(f"examples.no_{kind}", lang)])
    name = card["organization"]["name"]
    trend_names = {"organization": name, "territory": t("drill.scope.territory", lang)}
    figure = charts.example_trend(card["trend"], trend_names, target, lang)
    notes = [f"№ {r['ticket_id']}: {r['description'] or t('drill.no_text', lang)}" for r in card["requests"]]
    return Slide(kind, f"{t(f'examples.{kind}_title', lang)}: {show(name)}", figure, example_points(card, lang, show), notes,
                 int(card["organization"]["organization_id"]))


def funnel_slide(made: Material, lang: str) -> Slide:
    curve = fairness.funnel_curve(made.funnel, made.assessed["due"].max() if len(made.assessed) else 10)
    figure = charts.funnel_plot(made.assessed, made.funnel, curve, lang)
    verdicts = made.assessed["verdict"].value_counts()
    points = [
        t("examples.funnel_summary", lang, n=fmt_number(int(made.assessed["ranked"].sum()), lang),
          min_volume=made.funnel["min_volume"], share=fmt_percent(made.funnel["p0"], lang),
          above=int(verdicts.get("above", 0)), below=int(verdicts.get("below", 0))),
        t("examples.phi_line", lang, phi=fmt_number(made.funnel["phi"], lang, 2)),
    ]
    return Slide("funnel", t("examples.funnel", lang), figure, points)


def slides(con, made: Material, lang: str, target: float, geojson: dict | str, feature_ids=None,
           show: Show = str) -> list[Slide]:
    """The seminar sequence for the material's scope. `geojson`: the boundaries themselves (for
    images) or the URL the page's server publishes them at. `show`: how the titles and lines write
    a value from data (`md_text` for the page's presenter mode); the figures escape their own."""
    filters, as_of = made.filters, made.as_of
    comparison = metrics.kpi_comparison(con, filters, as_of)
    by_area = metrics.kpis_by_area(con, filters, as_of)
    kpi_slide = Slide("kpis", t("slides.kpis", lang, scope=show(scope_name(con, filters, lang))),
                      charts.on_time_by_territory(by_area, target, lang), kpi_points(comparison, lang))
    values = heatmap.map_values(con, filters, as_of, "missed")
    map_figure = charts.choropleth_map(values, geojson, heatmap.direction_outlines(), "missed", target, lang,
                                       filters.territory_id, feature_ids=feature_ids) if heatmap.boundaries_fit(con) else None
    name = "municipality_name_en" if lang == "en" else "municipality_name_ru"
    worst = values.dropna(subset=["value"]).sort_values("value", ascending=False).head(3)
    map_slide = Slide("map", t("slides.map", lang), map_figure,
                      [t("slides.map_line", lang, name=show(row[name]), missed=fmt_number(row["value"], lang))
                       for _, row in worst.iterrows()])
    return [kpi_slide, map_slide, funnel_slide(made, lang),
            example_slide(made.cards["good"], "good", target, lang, show), example_slide(made.cards["poor"], "poor", target, lang, show)]


def format_kpi(metric: str, value, lang: str) -> str:
    """A KPI's value as people read it: the Overview's cards, the drill-down, the справка."""
    from oversight.i18n import fmt_number, fmt_percent

    if metric in ("on_time_rate", "returned_share"):
        return fmt_percent(value, lang)
    if metric == "median_resolution_hours":
        return fmt_number(value, lang, 1)
    return fmt_number(value, lang)
