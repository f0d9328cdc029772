"""The report's charts as Plotly figure specs, in the bands' own colors.

Each chart is a plain `{"data": [...], "layout": {...}}` dict, the JSON Plotly.js draws.
Building them without plotly's graph objects keeps a page per account cheap (the objects
validate and copy their template on every figure); the shared template is written once, to
the report's assets (`template_script`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import plotly.io as pio

from customer_health.report.data import (
    CHURN_MODEL_LABELS,
    CHURN_MODELS,
    AccountHistory,
    Band,
    CalibrationDecile,
    Category,
)

Figure = dict[str, Any]
TEMPLATE = "plotly_white"

# Categories have no color of their own in the seeds: a colorblind-safe qualitative palette.
CATEGORY_COLORS = ("#4269d0", "#efb118", "#3ca951", "#ff725c", "#a463f2", "#97bbf5")
# The churn model in the report's accent color, its two comparisons in muted ones.
CHURN_MODEL_COLORS = {
    "churn_model": "#4269d0",
    "health_score": "#ff725c",
    "key_events_30d": "#9ca3af",
}
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}


def base_layout(title: str, height: int = 360, **extra: Any) -> dict[str, Any]:
    """Readable on a laptop: a title, a legend above the plot, room for axis labels."""
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 72, "b": 48},
        "font": FONT,
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        "hovermode": "x unified",
        **extra,
    }


def figure(layout: dict[str, Any], *traces: dict[str, Any]) -> Figure:
    return {"data": list(traces), "layout": layout}


def json_value(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(spec: Figure) -> str:
    """The figure as Plotly JSON for Plotly.newPlot, safe inside a <script> element."""
    text = json.dumps(spec, default=json_value, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/")


def template_script() -> str:
    """JavaScript defining the charts' shared Plotly template (`REPORT_TEMPLATE`)."""
    template = pio.templates[TEMPLATE].to_plotly_json()
    return f"window.REPORT_TEMPLATE = {json.dumps(template, separators=(',', ':'))};\n"


def band_mix(rows: Sequence[dict[str, Any]], bands: Sequence[Band]) -> Figure:
    """Share of scored accounts per band, week by week, stacked to 100%."""
    counts: dict[str, dict[Any, float]] = defaultdict(dict)
    weeks = sorted({row["week_start_date"] for row in rows})
    for row in rows:
        counts[row["health_band"]][row["week_start_date"]] = float(row["account_count"])
    traces = [
        {
            "type": "scatter",
            "x": weeks,
            "y": [counts[band.band_id].get(week, 0.0) for week in weeks],
            "name": band.label,
            "mode": "lines",
            "stackgroup": "bands",
            "groupnorm": "percent",
            "line": {"color": band.color, "width": 0.5},
            "fillcolor": band.color,
            "hovertemplate": "%{y:.1f}%",
        }
        for band in bands
        if band.band_id in counts
    ]
    return figure(
        base_layout(
            "Band mix over time (share of accounts, weekly)",
            yaxis={"ticksuffix": "%", "range": [0, 100]},
        ),
        *traces,
    )


def band_for(score: float, bands: Sequence[Band]) -> Band | None:
    """The scored band whose [lower, upper) range holds the score (upper open for the top)."""
    for band in bands:
        if band.lower is None:
            continue
        if score >= band.lower and (band.upper is None or score < band.upper):
            return band
    return None


def score_distribution(scores: Sequence[float], bands: Sequence[Band], width: int = 5) -> Figure:
    """Accounts per 5-point score bin, each bin in the color of its band."""
    bins: dict[int, int] = defaultdict(int)
    for score in scores:
        bins[min(int(score // width) * width, 100 - width)] += 1
    starts = list(range(0, 100, width))
    colors = []
    for start in starts:
        band = band_for(start, bands)
        colors.append(band.color if band else "#9ca3af")
    return figure(
        base_layout(
            f"Score distribution today ({len(scores):,} scored accounts)",
            xaxis={"title": {"text": "health score"}, "range": [0, 100], "dtick": 10},
            yaxis={"title": {"text": "accounts"}},
            bargap=0.05,
            hovermode="closest",
            showlegend=False,
        ),
        {
            "type": "bar",
            "x": [start + width / 2 for start in starts],
            "y": [bins.get(start, 0) for start in starts],
            "width": width,
            "marker": {"color": colors},
            "customdata": [[start, start + width] for start in starts],
            "hovertemplate": (
                "score %{customdata[0]}-%{customdata[1]}: %{y} accounts<extra></extra>"
            ),
        },
    )


def movers(
    fallers: Sequence[dict[str, Any]], risers: Sequence[dict[str, Any]], bands: Sequence[Band]
) -> Figure:
    """The biggest 30-day changes, fallers first, each bar in the account's current band."""
    rows = list(fallers) + [row for row in reversed(risers) if row not in fallers]
    colors = {band.band_id: band.color for band in bands}
    return figure(
        base_layout(
            "Biggest 30-day movers (score points)",
            height=max(360, 28 * len(rows) + 120),
            xaxis={"title": {"text": "change over 30 days"}, "zeroline": True},
            yaxis={"autorange": "reversed", "automargin": True},
            hovermode="closest",
            showlegend=False,
        ),
        {
            "type": "bar",
            "orientation": "h",
            "x": [row["score_change_30d"] for row in rows],
            "y": [row["account_name"] or row["account_id"] for row in rows],
            "marker": {"color": [colors.get(row["health_band"], "#9ca3af") for row in rows]},
            "customdata": [[row["health_score"], row["band_label"]] for row in rows],
            "hovertemplate": "%{x:+.1f} points, now %{customdata[0]:.1f} (%{customdata[1]})"
            "<extra></extra>",
        },
    )


def backtest_churn(rows: Sequence[dict[str, Any]]) -> Figure:
    """Churn within the horizon by score band, over every observed month-end."""
    return figure(
        base_layout(
            "Back-test: churn within the horizon by band",
            yaxis={"title": {"text": "churn rate"}, "tickformat": ".0%"},
            hovermode="closest",
            showlegend=False,
        ),
        {
            "type": "bar",
            "x": [row["assessment_label"] for row in rows],
            "y": [row["churn_rate"] for row in rows],
            "marker": {"color": [row["assessment_color"] for row in rows]},
            "text": [f"{row['churn_rate']:.1%}" for row in rows],
            "textposition": "outside",
            "customdata": [[row["observations"], row["churned_observations"]] for row in rows],
            "hovertemplate": "%{y:.1%} of %{customdata[0]:,} account-months churned "
            "(%{customdata[1]:,})<extra></extra>",
        },
    )


def churn_calibration(deciles: Sequence[CalibrationDecile]) -> Figure:
    """Observed churn against mean predicted probability per decile, a line per model, over
    the diagonal a calibrated model follows."""
    models = sorted(
        {decile.model_name for decile in deciles},
        key=lambda name: (CHURN_MODELS.index(name) if name in CHURN_MODELS else 99, name),
    )
    top = max(
        (max(d.mean_predicted_probability, d.observed_churn_rate) for d in deciles),
        default=1.0,
    )
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": [0.0, top],
            "y": [0.0, top],
            "mode": "lines",
            "name": "calibrated",
            "line": {"color": "#d1d5db", "dash": "dash", "width": 1},
            "hoverinfo": "skip",
        }
    ]
    for name in models:
        rows = sorted((d for d in deciles if d.model_name == name), key=lambda d: d.decile)
        traces.append(
            {
                "type": "scatter",
                "x": [row.mean_predicted_probability for row in rows],
                "y": [row.observed_churn_rate for row in rows],
                "mode": "lines+markers",
                "name": CHURN_MODEL_LABELS.get(name, name),
                "line": {
                    "color": CHURN_MODEL_COLORS.get(name, "#6b7280"),
                    "width": 3 if name == "churn_model" else 1.5,
                },
                "customdata": [
                    [row.decile, row.observations, row.churned_observations] for row in rows
                ],
                "hovertemplate": "decile %{customdata[0]}: predicted %{x:.1%}, observed %{y:.1%}"
                " (%{customdata[2]:,} of %{customdata[1]:,})<extra>%{fullData.name}</extra>",
            }
        )
    return figure(
        base_layout(
            "Calibration: predicted against observed churn, by decile",
            xaxis={"title": {"text": "mean predicted probability"}, "tickformat": ".0%"},
            yaxis={"title": {"text": "observed churn rate"}, "tickformat": ".0%"},
            hovermode="closest",
            legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
            margin={"l": 56, "r": 16, "t": 48, "b": 100},
            height=420,
        ),
        *traces,
    )


def score_history(history: AccountHistory, bands: Sequence[Band]) -> Figure:
    """The account's daily score over the band ranges it moves through."""
    shapes = [
        {
            "type": "rect",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": band.lower,
            "y1": 100 if band.upper is None else band.upper,
            "fillcolor": band.color,
            "opacity": 0.14,
            "line": {"width": 0},
            "layer": "below",
        }
        for band in bands
        if band.lower is not None
    ]
    return figure(
        base_layout(
            "Health score history",
            yaxis={"range": [0, 100], "title": {"text": "health score"}},
            showlegend=False,
            shapes=shapes,
        ),
        {
            "type": "scatter",
            "x": history.dates,
            "y": history.scores,
            "mode": "lines",
            "name": "health score",
            "line": {"color": "#111827", "width": 2},
            "customdata": history.bands,
            "hovertemplate": "%{y:.1f} (%{customdata})<extra></extra>",
        },
    )


def contributions(history: AccountHistory, categories: Sequence[Category], step: int = 7) -> Figure:
    """Points of the score from each category, stacked, one point a week (and the last day)."""
    picks = list(range(0, len(history.dates), step))
    if history.dates and picks[-1] != len(history.dates) - 1:
        picks.append(len(history.dates) - 1)
    traces = []
    for index, category in enumerate(categories):
        values = history.contributions.get(category.category_id)
        if values is None:
            continue
        traces.append(
            {
                "type": "scatter",
                "x": [history.dates[i] for i in picks],
                "y": [values[i] for i in picks],
                "name": category.label,
                "mode": "lines",
                "stackgroup": "contributions",
                "line": {"color": CATEGORY_COLORS[index % len(CATEGORY_COLORS)], "width": 0.5},
                "hovertemplate": "%{y:.1f}",
            }
        )
    return figure(
        base_layout(
            "Sub-score contributions (points of the score per category)",
            yaxis={"range": [0, 100], "title": {"text": "points"}},
            legend={"orientation": "h", "yanchor": "top", "y": -0.14, "x": 0},
            margin={"l": 56, "r": 16, "t": 48, "b": 88},
            height=400,
        ),
        *traces,
    )
