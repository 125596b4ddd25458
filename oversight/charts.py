"""Plotly figure builders: pure functions DataFrame -> figure, with the project's look."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from oversight.i18n import fmt_percent, t
from oversight.theme import BAD, FONT, GOOD, NEUTRAL, RED_MARGIN, WARN


def _layout(fig: go.Figure, height: int, lang: str) -> go.Figure:
    fig.update_layout(
        separators=", " if lang == "ru" else ".,",
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        font=dict(family=FONT, size=13),
        plot_bgcolor="white",
        paper_bgcolor="white",
        showlegend=False,
    )
    return fig


def on_time_by_territory(area: pd.DataFrame, target: float, lang: str) -> go.Figure:
    """Horizontal bars: on-time rate of each direction against the target line."""
    rows = area[area["level"] == "territory"].sort_values("on_time_rate", ascending=False, na_position="first")
    names = rows["territory_name_en" if lang == "en" else "territory_name_ru"]
    rates = rows["on_time_rate"].astype(float)
    colours = [GOOD if r >= target else (BAD if r < target - RED_MARGIN else WARN) if pd.notna(r) else NEUTRAL for r in rates]
    fig = go.Figure(
        go.Bar(
            x=rates * 100,
            y=names,
            orientation="h",
            marker_color=colours,
            text=[fmt_percent(r, lang) for r in rates],
            textposition="inside",
            insidetextanchor="end",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.add_vline(x=target * 100, line_dash="dash", line_color=NEUTRAL)
    fig.add_annotation(
        x=target * 100, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
        text=t("chart.target", lang, target=fmt_percent(target, lang, 0)),
    )
    low = min([r for r in rates if pd.notna(r)] + [target]) - 0.05
    # Percent as numbers with a suffix, so Russian gets "90 %" (d3's "%" format cannot add the space).
    fig.update_xaxes(range=[max(0.0, low) * 100, 100], ticksuffix="\u00a0%" if lang == "ru" else "%", gridcolor="#eeeeee")
    return _layout(fig, 60 + 45 * len(rows), lang)
