"""The weekly справка (issue #20): the memo an inspectorate sends upward, as DOCX and as PDF.

One content model (`Report`: a title block, then sections of paragraphs, tables and pictures) is
built once from the library's own functions — the Overview's KPIs and comparison
(metrics.kpi_comparison), its direction and municipality tables (metrics.kpis_by_area,
tables.ranked), the Map's values (heatmap.map_values), the Backlog page's series, ageing and summary
(oversight.analysis.backlog), the Compliance watchlist (compliance.watchlist) at the period's end and at the
previous period's end, the events register with the Before/after page's measured effect
(compare.event_power, compare.compare, compare.conclusion) — and then written by two renderers:
`to_docx` (python-docx) and `to_pdf` (fpdf2, with the DejaVu fonts in static/fonts/ for Cyrillic).
Nothing here computes a number of its own: every figure is the pages' for the same period, filters
and scope (the connection's scope: a territorial head's справка holds his direction only).

Pictures are the pages' figures (oversight.output.charts) drawn by kaleido through images.to_png, which lays
them out for export (images.for_export: automargin on every axis, type scaled), so nothing is cut.
Without a Chrome or Chromium the справка is written without pictures and says why.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field, replace

import pandas as pd

from oversight import store
from oversight.analysis import backlog, compare, compliance, heatmap, metrics
from oversight.filters import Filters
from oversight.i18n import fmt_date, fmt_datetime, fmt_number, fmt_percent, fmt_points, fmt_signed_percent, t
from oversight.output import charts, images, presentation, tables
from oversight.paths import STATIC_DIR

PERIODS = ("week", "month", "quarter")
FONT_DIR = STATIC_DIR / "fonts"
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_MIME = "application/pdf"
SHORT_HEADERS = ("missed", "missed_per_10k", "overdue_backlog_end", "returned_share")  # as the Overview's tables (ui.SHORT_HEADERS)
WATCH_ROWS = 25  # newcomers or leavers listed by name (in the watchlist's order of priority); the rest counted
MUNICIPALITY_ROWS = 10  # the municipalities' table: the worst on-time rates
EFFECT_DAYS = compare.DEFAULT_DAYS  # an event's effect: this many days before and after it (the page's default)
TABLE_SIZES_PDF = (8, 7.5, 7, 6.5, 6)  # type sizes (pt) a table may take to fit its words
TABLE_SIZES_DOCX = (9, 8.5, 8, 7.5, 7)
PICTURE_WIDTH_PX = 960  # images.WIDTH: 16 px type, about 8 pt on a 17 cm wide picture


# ---------------------------------------------------------------- the period


def last_complete_day(as_of: dt.datetime) -> dt.date:
    """The last whole day the data cover: the day before the data's as_of (Moscow time)."""
    return as_of.date() - dt.timedelta(days=1)


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _month_end(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1) - dt.timedelta(days=1)


def period_bounds(kind: str, end: dt.date) -> tuple[dt.date, dt.date]:
    """The last complete week (Monday to Sunday), calendar month or quarter that ends on or before
    `end`, as (first day, last day)."""
    if kind == "week":
        last = end - dt.timedelta(days=(end.weekday() + 1) % 7)  # the Sunday on or before end
        return last - dt.timedelta(days=6), last
    if kind == "month":
        last = end if _month_end(end) == end else end.replace(day=1) - dt.timedelta(days=1)
        return last.replace(day=1), last
    if kind == "quarter":
        q_start = _quarter_start(end)
        q_end = _month_end(dt.date(q_start.year, q_start.month + 2, 1))
        if q_end != end:
            q_end = q_start - dt.timedelta(days=1)
            q_start = _quarter_start(q_end)
        return q_start, q_end
    raise ValueError(f"period must be one of {PERIODS}")


def previous_bounds(filters: Filters) -> tuple[dt.date, dt.date]:
    """The previous period of equal length, just before (what the Overview compares with)."""
    prev = filters.previous()
    return prev.start, prev.end


# ---------------------------------------------------------------- the content model


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]  # right-aligned columns
    widths: list[float]  # relative widths
    key: str = ""  # what it is, for tests and readers of the model (e.g. "kpis")


@dataclass
class Picture:
    caption: str
    png: bytes
    width_px: int
    height_px: int
    key: str = ""


@dataclass
class Block:
    """One piece of a section, in order: a paragraph, a bullet, a table or a picture."""

    kind: str  # "text", "bullet", "note", "table", "picture" ("figure": a picture still to draw, while building)
    text: str = ""
    table: Table | None = None
    picture: Picture | None = None
    figure: object = None  # the plotly figure a "figure" block is drawn from


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def text(self, value: str) -> None:
        self.blocks.append(Block("text", value))

    def note(self, value: str) -> None:
        self.blocks.append(Block("note", value))

    def bullet(self, value: str) -> None:
        self.blocks.append(Block("bullet", value))

    def add_table(self, table: Table) -> None:
        self.blocks.append(Block("table", table=table))

    def add_figure(self, caption: str, figure, key: str) -> None:
        """A picture to draw here (build draws them all at once, in one browser session)."""
        self.blocks.append(Block("figure", text=caption, figure=figure, picture=Picture(caption, b"", 0, 0, key)))


@dataclass
class Report:
    """The справка, built once; `to_docx` and `to_pdf` write it."""

    lang: str
    title: str
    subtitle: str
    head: list[str]  # scope, data date, comparison, demo note
    sections: list[Section]
    filters: Filters
    as_of: dt.datetime
    kind: str | None
    kpis: dict  # the period's KPIs (metrics.kpi_comparison's values), for whoever reads the model
    file_stem: str

    def tables(self) -> list[Table]:
        return [b.table for s in self.sections for b in s.blocks if b.kind == "table"]

    def pictures(self) -> list[Picture]:
        return [b.picture for s in self.sections for b in s.blocks if b.kind == "picture"]

    def plain_text(self) -> str:
        lines = [self.title, self.subtitle, *self.head]
        for s in self.sections:
            lines.append(s.title)
            for b in s.blocks:
                if b.table is not None:
                    lines += [" | ".join(b.table.columns)] + [" | ".join(r) for r in b.table.rows]
                elif b.picture is not None:
                    lines.append(b.picture.caption)
                else:
                    lines.append(b.text)
        return "\n".join(lines)


# ---------------------------------------------------------------- numbers as people read them


format_kpi = presentation.format_kpi  # as the Overview's cards show it


def format_change(metric: str, change, lang: str) -> str:
    """The change against the previous period as the Overview shows it: points for shares, per cent
    for the rest (flows per day)."""
    if change is None or (isinstance(change, float) and change != change):
        return "—"
    if metric in ("on_time_rate", "returned_share"):
        return minus(fmt_points(change, lang))
    return minus(fmt_signed_percent(change, lang))


def minus(text: str) -> str:
    """A leading ASCII hyphen (what st.metric needs for its arrow) as the minus sign of print."""
    return "−" + text[1:] if text.startswith("-") else text


# ---------------------------------------------------------------- building


def _name(lang: str) -> str:
    return "name_en" if lang == "en" else "name_ru"


def _period_text(filters: Filters, kind: str | None, lang: str) -> str:
    key = f"report.period.{kind}" if kind in PERIODS else "report.period.custom"
    return t(key, lang, start=fmt_date(filters.start, lang), end=fmt_date(filters.end, lang))


def _end_moment(day: dt.date, as_of: dt.datetime) -> dt.datetime:
    """The start of the day after `day`, never after the data's as_of."""
    return min(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), as_of)


def trend_window(filters: Filters, kind: str | None) -> tuple[Filters, str]:
    """The span and step of the trend pictures: the period with what came before it, so a week is
    seen against its quarter — 12 weeks by week for a week, 6 months by week for a month, 4 quarters
    by month for a quarter; a page's own period: at least 12 weeks, the Overview's step."""
    end = filters.end
    if kind == "week":
        start, freq = end - dt.timedelta(days=83), "week"
    elif kind == "month":
        first = end.replace(day=1)
        index = first.year * 12 + first.month - 1 - 5
        start, freq = dt.date(index // 12, index % 12 + 1, 1), "week"
    elif kind == "quarter":
        start, freq = _quarter_start(filters.start - dt.timedelta(days=270)), "month"
    else:
        start = min(filters.start, end - dt.timedelta(days=83))
        freq = metrics.trend_bucket(replace(filters, start=start))
    return replace(filters, start=start), freq


def _kpi_section(con, filters: Filters, as_of: dt.datetime, target: float, lang: str) -> tuple[Section, pd.DataFrame]:
    comparison = metrics.kpi_comparison(con, filters, as_of)
    section = Section(t("report.kpis", lang))
    rows = []
    for row in comparison.itertuples():
        metric = row.metric
        goal = fmt_percent(target, lang, 0) if metric == "on_time_rate" else ""
        rows.append([t(f"kpi.{metric}", lang), format_kpi(metric, row.value, lang), format_kpi(metric, row.previous, lang),
                     format_change(metric, row.change, lang), goal])
    by_metric = comparison.set_index("metric")
    rate = by_metric.loc["on_time_rate", "value"]
    if rate is not None and not pd.isna(rate):
        key = "report.on_time_met" if rate >= target else "report.on_time_below"
        section.text(t(key, lang, rate=fmt_percent(rate, lang), target=fmt_percent(target, lang, 0),
                       delta=minus(fmt_points(rate - target, lang))))
    section.add_table(Table([t("report.col.metric", lang), t("report.col.value", lang), t("report.col.previous", lang),
                             t("report.col.change", lang), t("report.col.target", lang)],
                            rows, [False, True, True, True, True], [3.2, 1.5, 1.5, 1.4, 0.9], key="kpis"))
    section.note(t("report.kpi_note", lang))
    return section, comparison


def _ranked_rows(area: pd.DataFrame, level: str, lang: str, limit: int | None = None) -> Table:
    """The Overview's ranked table (tables.ranked) with its numbers written out."""
    ranked = tables.ranked(area, level, lang)
    if limit is not None:
        ranked = ranked.head(limit)
    formats = {t(f"col.{c}", lang): c for c in tables.RANK_COLUMNS}
    columns = list(ranked.columns)
    short = {t(f"col.{c}", lang): t(f"colshort.{c}", lang) for c in SHORT_HEADERS}
    out = []
    for record in ranked.itertuples(index=False):
        cells = []
        for column, value in zip(columns, record):
            metric = formats.get(column)
            if metric in ("on_time_rate", "returned_share"):
                cells.append(fmt_percent(value, lang))
            elif metric == "missed_per_10k":
                cells.append(fmt_number(value, lang, 1))
            elif metric is not None or column == t("col.rank", lang):
                cells.append(fmt_number(value, lang))
            else:
                cells.append("—" if value is None or (isinstance(value, float) and value != value) else str(value))
        out.append(cells)
    numeric = [c in formats or c == t("col.rank", lang) for c in columns]
    widths = [0.5 if c == t("col.rank", lang) else (2.6 if c == t("col.municipality", lang) else
              (1.4 if c == t("col.territory", lang) else 1.1)) for c in columns]
    return Table([short.get(c, c) for c in columns], out, numeric, widths, key=f"ranked_{level}")


def _watch_rows(frame: pd.DataFrame, record: pd.DataFrame, names: pd.Series, lang: str) -> Table:
    frame = frame.head(WATCH_ROWS)
    last_rate = record.sort_values("month").groupby("organization_id")["on_time_rate"].last() if not record.empty else pd.Series(dtype=float)
    rows = []
    for r in frame.itertuples():
        municipality = names.get(r.municipality_id, "—") if pd.notna(r.municipality_id) else "—"
        rows.append([str(r.name), str(r.inn or "—"), str(municipality), fmt_number(r.months_failed, lang),
                     fmt_percent(last_rate.get(r.organization_id), lang)])
    return Table([t("report.col.organization", lang), t("col.inn", lang), t("report.col.municipality", lang),
                  t("report.col.months_failed", lang), t("report.col.last_rate", lang)],
                 rows, [False, False, False, True, True], [3.6, 1.3, 2.2, 1.1, 1.2], key="watchlist")


def _watchlist_section(con, filters: Filters, as_of: dt.datetime, target: float, lang: str, rule: compliance.Rule | None,
                       conclusions: list[str]) -> Section:
    """The watchlist at the period's end against the one at the previous period's end (the list as it
    stood at the start of the day after each: `python -m oversight watchlist --as-of`)."""
    rule = rule or compliance.Rule(target=target)
    section = Section(t("report.watchlist", lang))
    section.note(t("report.watchlist_rule", lang, target=fmt_percent(rule.target, lang, 0), k=rule.k, m=rule.m,
                   min_volume=rule.min_volume))
    now_moment = _end_moment(filters.end, as_of)
    before_moment = _end_moment(filters.previous().end, as_of)

    def listed(moment: dt.datetime) -> dict:
        day = (moment - dt.timedelta(microseconds=1)).date()
        return compliance.watchlist(con, replace(filters, start=day, end=day), moment, rule)

    now, before = listed(now_moment), listed(before_moment)
    now_ids = set(now["list"]["organization_id"].astype(int))
    before_ids = set(before["list"]["organization_id"].astype(int))
    added = now["list"][now["list"]["organization_id"].astype(int).isin(now_ids - before_ids)]
    left = before["list"][before["list"]["organization_id"].astype(int).isin(before_ids - now_ids)]
    line = t("report.watchlist_counts", lang, now=fmt_date(filters.end, lang), n_now=fmt_number(len(now_ids), lang),
             before=fmt_date(filters.previous().end, lang), n_before=fmt_number(len(before_ids), lang),
             added=fmt_number(len(added), lang), left=fmt_number(len(left), lang))
    section.text(line)
    conclusions.append(line)
    names = store.run(con, "filter_municipalities").set_index("municipality_id")[_name(lang)]
    if added.empty and left.empty:
        section.text(t("report.watch_none", lang))
    if not added.empty:
        section.text(t("report.watch_added", lang))
        section.add_table(_watch_rows(added, now["record"], names, lang))
        if len(added) > WATCH_ROWS:
            section.note(t("report.watch_more", lang, n=fmt_number(len(added) - WATCH_ROWS, lang)))
    if not left.empty:
        section.text(t("report.watch_left", lang))
        section.add_table(_watch_rows(left, before["record"], names, lang))
        if len(left) > WATCH_ROWS:
            section.note(t("report.watch_more", lang, n=fmt_number(len(left) - WATCH_ROWS, lang)))
    return section


def _events_section(con, filters: Filters, as_of: dt.datetime, lang: str, conclusions: list[str]) -> Section:
    """The period's events and, where the data allow, their effect as the Before/after page measures
    it (EFFECT_DAYS either side of the event, its organisation's or municipality's requests treated)."""
    section = Section(t("report.events", lang))
    happened = backlog.events(con, filters, as_of)
    if happened.empty:
        section.text(t("report.events_none", lang))
        return section
    power = compare.event_power(con, as_of, EFFECT_DAYS).set_index("event_id")
    enough = compare.enough_data(power.reset_index()).set_axis(power.index)
    scope = Filters(start=filters.start, end=filters.end, territory_id=filters.territory_id)
    for event in happened.itertuples():
        if pd.notna(event.organization_id):
            place = str(event.organization_name or "—")
        elif pd.notna(event.municipality_id):
            place = str(event.municipality_name_en if lang == "en" else event.municipality_name_ru)
        else:
            place = t("event.region", lang)
        section.bullet(t("report.event_line", lang, date=fmt_date(pd.Timestamp(event.event_date).date(), lang),
                         kind=t(f"event.{event.kind}", lang), title=str(event.title), place=place))
        event_id = int(event.event_id)
        if event_id not in power.index or not bool(enough.get(event_id, False)):
            p = power.loc[event_id] if event_id in power.index else None
            days, missed = (0, 0) if p is None else (int(p["days_after"]), int(p["missed_after"]))
            # Too soon after the event (the data end), or too few missed deadlines in its group at all.
            key = "report.event_unmeasured" if days < compare.MIN_DAYS else "report.event_too_few"
            section.text(t(key, lang, days=fmt_number(days, lang), missed=fmt_number(missed, lang),
                           min_days=compare.MIN_DAYS, min_missed=compare.MIN_COUNT))
            continue
        periods = compare.Periods.around(pd.Timestamp(event.event_date).date(), EFFECT_DAYS)
        organizations = [int(event.organization_id)] if pd.notna(event.organization_id) else []
        treated = [int(event.municipality_id)] if not organizations and pd.notna(event.municipality_id) else []
        result = compare.compare(con, replace(scope, start=periods.before_start, end=periods.after_end), as_of, periods,
                                 treated, organizations)
        text = t("report.event_effect", lang, days=EFFECT_DAYS, conclusion=compare.conclusion(result, lang))
        section.text(text)
        for key, values in result["warnings"]:
            shown = {k: fmt_signed_percent(v, lang) if k == "change" else v for k, v in values.items()}
            section.note(t(key, lang, **shown))
        conclusions.append(t("report.event_conclusion", lang, title=str(event.title), verdict=t(f"report.verdict.{compare.verdict(result)}", lang)))
    return section


def _mark_period(fig, filters: Filters, dates: pd.Series) -> None:
    """Shade the справка's period on a time chart: the band holds the points of its buckets (a
    bucket's point sits on its first day, as on the Backlog page), half a step either side."""
    dates = pd.to_datetime(pd.Series(dates)).sort_values()
    inside = dates[(dates >= pd.Timestamp(filters.start)) & (dates <= pd.Timestamp(filters.end))]
    if inside.empty:
        return
    step = dates.diff().median() if len(dates) > 1 else pd.Timedelta(days=1)
    fig.add_vrect(x0=inside.iloc[0] - step / 2, x1=inside.iloc[-1] + step / 2,
                  fillcolor="#1F4E79", opacity=0.08, line_width=0, layer="below")


def build(con, filters: Filters, as_of: dt.datetime, lang: str = "ru", target: float = 0.95, kind: str | None = None,
          rule: compliance.Rule | None = None, draw: bool = True) -> Report:
    """The справка for `filters` (its period and filters) under the connection's scope. `kind` names
    the period (week, month, quarter; None: the page's own period). `draw=False` leaves the pictures
    out (tests of the numbers; a machine with no browser says so in the справка instead)."""
    conclusions: list[str] = []
    prev_start, prev_end = previous_bounds(filters)
    # The region, the chosen direction, or what a restricted user reads («Север»), as the pages name it.
    restricted = filters.territory_id is None and not con.scope.is_everything
    scope_text = presentation.scope_label(con, lang) if restricted else presentation.scope_name(con, filters, lang)
    head = [t("report.scope", lang, scope=scope_text),
            t("report.as_of", lang, as_of=fmt_datetime(as_of, lang)),
            t("report.previous", lang, start=fmt_date(prev_start, lang), end=fmt_date(prev_end, lang))]
    if store.dataset_info(con)["is_demo"]:
        head.append(t("report.demo", lang))

    kpi_section, comparison = _kpi_section(con, filters, as_of, target, lang)
    by_metric = comparison.set_index("metric")
    if kpi_section.blocks and kpi_section.blocks[0].kind == "text":
        conclusions.append(kpi_section.blocks[0].text)

    area = metrics.kpis_by_area(con, filters, as_of)

    directions = Section(t("report.directions", lang))
    directions.add_table(_ranked_rows(area, "territory", lang))
    if not con.scope.is_everything:  # a territorial head: the region's total beside his direction (metrics.benchmarks)
        region = metrics.benchmarks(con, filters, as_of)
        region = region[region["level"] == "region"].iloc[0]
        directions.text(t("report.benchmark", lang, rate=fmt_percent(region["on_time_rate"], lang),
                          missed=fmt_number(region["missed"], lang), due=fmt_number(region["due"], lang)))
    if area.loc[area["level"] == "territory", "on_time_rate"].notna().any():  # no bars to draw in an empty period
        directions.add_figure(t("report.directions_caption", lang), charts.on_time_by_territory(area, target, lang), "directions")
    municipalities = area[area["level"] == "municipality"]
    if len(municipalities) > 1:
        directions.text(t("report.municipalities", lang, n=min(MUNICIPALITY_ROWS, len(municipalities))))
        directions.add_table(_ranked_rows(area, "municipality", lang, MUNICIPALITY_ROWS))

    map_section = Section(t("report.map", lang))
    values = heatmap.map_values(con, filters, as_of, "missed")
    name = "municipality_name_en" if lang == "en" else "municipality_name_ru"
    worst = values.dropna(subset=["value"]).sort_values("value", ascending=False).head(3)
    for _, row in worst.iterrows():
        map_section.bullet(t("slides.map_line", lang, name=str(row[name]), missed=fmt_number(row["value"], lang)))
    if heatmap.boundaries_fit(con):
        zoom = filters.territory_id
        if zoom is None and not con.scope.is_everything:
            full = store.scope_ids(con)["territories_full"]
            zoom = full[0] if len(full) == 1 else None
        figure = charts.choropleth_map(values, heatmap.boundaries(), heatmap.direction_outlines(), "missed", target, lang, zoom)
        map_section.add_figure(t("report.map_caption", lang), figure, "map")
    else:
        map_section.note(t("report.no_map", lang))

    trends = Section(t("report.trends", lang))
    series = backlog.series(con, filters, as_of, metrics.trend_bucket(filters))
    summary = backlog.summary(series, backlog.start_stock(series), filters, as_of, lang)
    trends.text(summary)
    conclusions.append(summary)
    window, freq = trend_window(filters, kind)
    base = backlog.series(con, window, as_of, freq)
    window_events = backlog.events(con, window, as_of)
    trends.note(t("report.trend_window", lang, start=fmt_date(window.start, lang), end=fmt_date(window.end, lang),
                  freq=t(f"report.freq.{freq}", lang)))
    lines = charts.backlog_lines(base, None, "", window_events, lang)
    _mark_period(lines, filters, base["date"])
    trends.add_figure(t("report.backlog_caption", lang), lines, "backlog")
    ageing = backlog.ageing(con, window, as_of, freq)
    overdue = charts.ageing_area(ageing, backlog.OVERDUE_BANDS, charts.OVERDUE_COLOURS, window_events, lang)
    _mark_period(overdue, filters, base["date"])
    trends.add_figure(t("report.overdue_caption", lang), overdue, "overdue")

    watch = _watchlist_section(con, filters, as_of, target, lang, rule, conclusions)
    events = _events_section(con, filters, as_of, lang, conclusions)

    sections = [kpi_section, directions, map_section, trends, watch, events]
    _draw(sections, draw, lang)

    final = Section(t("report.conclusions", lang))
    for line in conclusions:
        final.bullet(line)
    sections.append(final)

    title = t("report.title", lang)
    subtitle = t("report.subject", lang, period=_period_text(filters, kind, lang))
    stem = f"spravka_{kind or 'period'}_{filters.start.isoformat()}_{filters.end.isoformat()}"
    kpis = {metric: by_metric.loc[metric, "value"] for metric in metrics.KPI_KEYS}
    return Report(lang, title, subtitle, head, sections, filters, as_of, kind, kpis, stem)


def _draw(sections: list[Section], draw: bool, lang: str) -> None:
    """Draw every figure block in one browser session and put each picture in its place, numbered.
    Without a browser (or with draw=False) the figure blocks are dropped; without a browser, a note
    in the first section says why."""
    pending = [b for s in sections for b in s.blocks if b.kind == "figure"]
    pngs: list[bytes] = []
    if draw and pending:
        try:
            pngs = images.to_png([b.figure for b in pending], width=PICTURE_WIDTH_PX)
        except images.ChromeMissing:
            sections[0].note(t("report.no_pictures", lang))
    if not pngs:
        for s in sections:
            s.blocks = [b for b in s.blocks if b.kind != "figure"]
        return
    from PIL import Image

    for n, (block, png) in enumerate(zip(pending, pngs), start=1):
        width, height = Image.open(io.BytesIO(png)).size
        block.picture = Picture(t("report.picture", lang, n=n, caption=block.text), png, width, height, block.picture.key)
        block.kind, block.figure = "picture", None


def fit_widths(minimum: list[float], weights: list[float], total: float) -> list[float]:
    """Column widths adding up to `total`: each at least its `minimum` (its longest word, so no word
    is broken inside a cell), what is left shared by `weights`; if the minimums alone do not fit, they
    are scaled down together."""
    need = sum(minimum)
    if need >= total:
        return [m * total / need for m in minimum]
    spare = total - need
    return [m + spare * w / sum(weights) for m, w in zip(minimum, weights)]


def _longest_words(table: Table) -> list[str]:
    """Per column, the longest piece a line may not break (a no-break space holds «86,6 %» together)."""
    return [max((word for row in [table.columns, *table.rows] for word in row[i].split(" ")), key=len, default="")
            for i in range(len(table.columns))]


# ---------------------------------------------------------------- DOCX (python-docx)


def _docx_cell(cell, text: str, bold: bool = False, right: bool = False, size: float = 9) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if right else WD_ALIGN_PARAGRAPH.LEFT
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = Pt(size)


def to_docx(report: Report) -> bytes:
    """The справка as a Word document (A4, Times New Roman, tables with a grid, pictures 17 cm wide)."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin, section.right_margin = Cm(2.5), Cm(1.5)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    usable = section.page_width - section.left_margin - section.right_margin
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(12)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "Times New Roman")
    normal.paragraph_format.space_after = Pt(4)
    for style in ("Heading 1", "Heading 2", "Title"):
        heading = doc.styles[style]
        heading.font.name = "Times New Roman"
        heading.font.color.rgb = None
        fonts = heading.element.rPr.rFonts
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):  # the theme's font wins otherwise
            fonts.attrib.pop(qn(theme), None)
        fonts.set(qn("w:cs"), "Times New Roman")
    props = doc.core_properties
    props.title = f"{report.title} {report.subtitle}"
    props.language = report.lang

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(report.title)
    run.bold = True
    run.font.size = Pt(16)
    subtitle = doc.add_paragraph()
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle.add_run(report.subtitle).bold = True
    for line in report.head:
        p = doc.add_paragraph(line)
        p.paragraph_format.space_after = Pt(0)
        p.runs[0].font.size = Pt(10)

    for part in report.sections:
        heading = doc.add_heading(part.title, level=2)
        heading.paragraph_format.keep_with_next = True
        for i, block in enumerate(part.blocks):
            if block.kind == "text":
                p = doc.add_paragraph(block.text)
                # a line that leads into a table or a picture stays on its page
                p.paragraph_format.keep_with_next = i + 1 < len(part.blocks) and part.blocks[i + 1].kind in ("table", "picture")
            elif block.kind == "note":
                p = doc.add_paragraph(block.text)
                p.runs[0].font.size = Pt(9)
                p.runs[0].italic = True
            elif block.kind == "bullet":
                doc.add_paragraph(block.text, style="List Bullet")
            elif block.kind == "table":
                tab = block.table
                grid = doc.add_table(rows=1 + len(tab.rows), cols=len(tab.columns))
                grid.style = "Table Grid"
                grid.alignment = WD_TABLE_ALIGNMENT.CENTER
                # Times New Roman: about 0.6 em a letter (bold headers a little more), plus the cell's margins;
                # a table too wide for its words gets smaller type.
                for size in TABLE_SIZES_DOCX:
                    minimum = [Pt(size * 0.6 * len(word) + 12) for word in _longest_words(tab)]
                    if sum(minimum) <= usable:
                        break
                widths = [int(w) for w in fit_widths(minimum, tab.widths, usable)]
                for i, name in enumerate(tab.columns):
                    _docx_cell(grid.rows[0].cells[i], name, bold=True, right=tab.numeric[i], size=size)
                for r, values in enumerate(tab.rows, start=1):
                    for i, value in enumerate(values):
                        _docx_cell(grid.rows[r].cells[i], value, right=tab.numeric[i], size=size)
                grid.autofit = False  # the widths below, in the grid (LibreOffice reads it) and in every cell (Word)
                for i, column in enumerate(grid.columns):
                    column.width = widths[i]
                for row in grid.rows:
                    for i, cell in enumerate(row.cells):
                        cell.width = widths[i]
                doc.add_paragraph().paragraph_format.space_after = Pt(2)
            elif block.kind == "picture":
                pic = block.picture
                width = usable
                height = int(width * pic.height_px / pic.width_px)
                limit = Cm(16)  # a tall picture (the map) stays on one page with its caption
                if height > limit:
                    width, height = int(width * limit / height), limit
                p = doc.add_paragraph()
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
                p.paragraph_format.keep_with_next = True
                p.add_run().add_picture(io.BytesIO(pic.png), width=width)
                caption = doc.add_paragraph(pic.caption)
                caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
                caption.runs[0].font.size = Pt(10)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- PDF (fpdf2)


def to_pdf(report: Report) -> bytes:
    """The same справка as PDF (A4, DejaVu Sans embedded: Cyrillic everywhere, page numbers)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    lang = report.lang

    class Memo(FPDF):
        def footer(self):
            self.set_y(-12)
            self.set_font("DejaVu", size=8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 5, t("report.page", lang, page=self.page_no()), align="C")
            self.set_text_color(0, 0, 0)

    pdf = Memo(format="A4", unit="mm")
    pdf.set_title(f"{report.title} {report.subtitle}")
    pdf.set_lang(lang)
    pdf.add_font("DejaVu", "", str(FONT_REGULAR))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_margins(25, 18, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    line = dict(new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 8, report.title, align="C", **line)
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(0, 6, report.subtitle, align="C", **line)
    pdf.ln(2)
    pdf.set_font("DejaVu", size=9)
    for text in report.head:
        pdf.multi_cell(0, 4.6, text, **line)

    for part in report.sections:
        if pdf.get_y() > pdf.page_break_trigger - 30:  # a heading never alone at a page's foot
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 12)
        pdf.multi_cell(0, 7, part.title, **line)
        pdf.ln(1)
        for i, block in enumerate(part.blocks):
            following = part.blocks[i + 1].kind if i + 1 < len(part.blocks) else None
            if block.kind == "text" and following == "table" and pdf.get_y() > pdf.page_break_trigger - 30:
                pdf.add_page()  # a line that leads into a table stays with it
            if block.kind == "text":
                pdf.set_font("DejaVu", size=10)
                pdf.multi_cell(0, 5, block.text, **line)
                pdf.ln(1)
            elif block.kind == "note":
                pdf.set_font("DejaVu", size=8)
                pdf.set_text_color(80, 80, 80)
                pdf.multi_cell(0, 4, block.text, **line)
                pdf.set_text_color(0, 0, 0)
                pdf.ln(1)
            elif block.kind == "bullet":
                pdf.set_font("DejaVu", size=10)
                pdf.set_x(pdf.l_margin + 2)
                pdf.multi_cell(pdf.epw - 2, 5, "• " + block.text, **line)
            elif block.kind == "table":
                tab = block.table
                pdf.set_font("DejaVu", size=8)
                for size in TABLE_SIZES_PDF:  # a table too wide for its words gets smaller type
                    pdf.set_font("DejaVu", "B", size)  # the headers are bold: measure in bold, the widest
                    minimum = [pdf.get_string_width(word) + 2.5 for word in _longest_words(tab)]
                    if sum(minimum) <= pdf.epw:
                        break
                pdf.set_font("DejaVu", size=size)
                widths = tuple(fit_widths(minimum, tab.widths, pdf.epw))
                align = tuple("RIGHT" if n else "LEFT" for n in tab.numeric)
                with pdf.table(col_widths=widths, text_align=align, line_height=4.4, padding=1, align="LEFT", width=pdf.epw,
                               headings_style=_heading_style(), repeat_headings=1) as grid:
                    for values in [tab.columns, *tab.rows]:
                        row = grid.row()
                        for value in values:
                            row.cell(value)
                pdf.ln(2)
            elif block.kind == "picture":
                pic = block.picture
                width = pdf.epw
                height = width * pic.height_px / pic.width_px
                limit = 160.0
                if height > limit:
                    width, height = width * limit / height, limit
                if pdf.get_y() + height + 8 > pdf.page_break_trigger:
                    pdf.add_page()
                pdf.image(io.BytesIO(pic.png), x=pdf.l_margin + (pdf.epw - width) / 2, w=width, h=height)
                pdf.set_font("DejaVu", size=8)
                pdf.multi_cell(0, 4, pic.caption, align="C", **line)
                pdf.ln(2)
    return bytes(pdf.output())


def _heading_style():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(230, 236, 244))


# ---------------------------------------------------------------- files


def render(report: Report, suffix: str) -> bytes:
    """The справка in the format a file name ends with (.docx or .pdf)."""
    suffix = suffix.lower().lstrip(".")
    if suffix == "docx":
        return to_docx(report)
    if suffix == "pdf":
        return to_pdf(report)
    raise ValueError("the справка is written as .docx or .pdf")
