"""One self-contained HTML page of metric trends, drawn with Plotly (plotly.js inlined once).

Per model: the stored versions, the latest overall values per version, the latest gate results
(when a ``scoreboard gate --format json`` output is given), and per metric the trend over each
window (per segment, one colour per model version, each version's first point marked). A metric
with no windows is drawn over runs (recording time). Alert firings are drawn from the markers
passed to :func:`build_report` (``alert_markers``): the alerts engine supplies them.
"""

from __future__ import annotations

import html
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from scoreboard.exceptions import ScoreboardError
from scoreboard.store import MetricStore, StoredPoint, iso_utc, segment_json

#: One marker on every time axis: (when, label), e.g. an alert that fired.
AlertMarker = tuple[datetime, str]

#: Segments drawn visible per chart; the rest start hidden (click the legend to show them).
VISIBLE_SEGMENTS = 6
_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
)  # fmt: skip

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ddd}h3{margin-top:1.6rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ddd;padding:.25rem .6rem;
text-align:left;font-variant-numeric:tabular-nums}th{background:#f5f5f5}
.passed{color:#137333}.failed,.error{color:#b3261e}.skipped{color:#777}.muted{color:#777}
.chart{max-width:1100px}
"""


def _text(value: object) -> str:
    return html.escape(str(value))


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _segment_label(segment: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in segment.items()) or "overall"


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], classes: Sequence[str] = ()
) -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_text(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Figures:
    """Renders figures to HTML divs, inlining plotly.js in the first one only."""

    def __init__(self) -> None:
        self.count = 0

    def render(self, fig: Any) -> str:
        import plotly.io as pio

        div: str = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=self.count == 0,
            config={"displaylogo": False, "responsive": True},
            div_id=f"chart-{self.count}",
        )
        self.count += 1
        return f'<div class="chart">{div}</div>'


def _mark(fig: Any, when: datetime, label: str, color: str, dash: str, row: int = 0) -> None:
    """A vertical line across the plot with a label on top (shape + annotation: add_vline's
    annotation fails on date axes)."""
    fig.add_shape(
        type="line", xref="x", yref="paper", x0=when, x1=when, y0=0, y1=1,
        line={"color": color, "width": 1, "dash": dash},
    )  # fmt: skip
    fig.add_annotation(
        x=when, y=1, xref="x", yref="paper", text=html.escape(label), showarrow=False,
        yanchor="bottom", font={"size": 10, "color": color}, yshift=12 * row,
    )  # fmt: skip


def _trend(
    title: str,
    points: Sequence[StoredPoint],
    versions: Sequence[str],
    *,
    x_of: Any,
    markers: Sequence[AlertMarker],
) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    colors = {v: _PALETTE[i % len(_PALETTE)] for i, v in enumerate(versions)}
    series: dict[tuple[str, str], list[StoredPoint]] = defaultdict(list)
    sizes: dict[str, int] = defaultdict(int)
    for p in points:
        key = segment_json(p.segment)
        series[(p.model_version, key)].append(p)
        sizes[key] += p.n
    shown = {k for k in sorted(sizes, key=lambda k: (k != "{}", -sizes[k]))[:VISIBLE_SEGMENTS]}
    dashes = ("solid", "dot", "dash", "longdash", "dashdot")
    order = sorted(sizes, key=lambda k: (k != "{}", -sizes[k]))
    for (version, key), pts in sorted(
        series.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))
    ):
        pts = sorted(pts, key=x_of)
        segment = pts[0].segment
        fig.add_trace(
            go.Scatter(
                x=[x_of(p) for p in pts],
                y=[p.value for p in pts],
                mode="lines+markers",
                name=f"{version} · {_segment_label(segment)}",
                legendgroup=version,
                line={"color": colors.get(version, "#444"), "dash": dashes[order.index(key) % 5]},
                customdata=[[p.n, p.reason or ""] for p in pts],
                hovertemplate="%{x}<br>%{y:.6g} (n=%{customdata[0]})%{customdata[1]}<extra>"
                + html.escape(f"{version} · {_segment_label(segment)}")
                + "</extra>",
                visible=True if key in shown else "legendonly",
                connectgaps=False,
            )
        )
    firsts: dict[str, datetime] = {}
    for p in points:
        x = x_of(p)
        if p.model_version not in firsts or x < firsts[p.model_version]:
            firsts[p.model_version] = x
    for row, (version, when) in enumerate(sorted(firsts.items(), key=lambda kv: kv[1])):
        _mark(fig, when, version, colors.get(version, "#444"), "dot", row % 3)
    if firsts:
        lo, hi = min(firsts.values()), max(x_of(p) for p in points)
        for when, label in markers:
            if lo <= when <= hi:
                _mark(fig, when, f"⚠ {label}", "#b3261e", "dash")
    fig.update_layout(
        title={"text": html.escape(title)},
        height=400,
        margin={"l": 50, "r": 20, "t": 80, "b": 40},
        template="plotly_white",
        legend={"font": {"size": 11}},
        hovermode="closest",
    )
    return fig


def _window_x(p: StoredPoint) -> datetime:
    assert p.window_start is not None
    return p.window_start


def _run_x(p: StoredPoint) -> datetime:
    return p.recorded_at


def _gate_section(gates: Mapping[str, Any]) -> str:
    outcomes = gates.get("gates") or []
    if not outcomes:
        return ""
    # Text symbols every font has (colour emoji need an emoji font, absent on many servers).
    icon = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "–"}
    rows, classes = [], []
    for g in outcomes:
        status = g.get("status") or ("passed" if g.get("passed") else "failed")
        rows.append(
            [
                f"{icon.get(status, '')} {status}",
                g.get("metric", ""),
                _segment_label(g.get("segment") or {}),
                _num(g.get("value")),
                g.get("bound", ""),
                _num(g.get("baseline")),
                g.get("reason") or "",
            ]
        )
        classes.append(status)
    against = f" against {gates['baseline']}" if gates.get("baseline") else ""
    return (
        f"<h3>Latest gate: {_text(gates.get('model_version', ''))}{_text(against)}</h3>"
        + _table(
            ["status", "metric", "segment", "value", "bound", "baseline", "reason"], rows, classes
        )
    )


def build_report(
    store: MetricStore,
    *,
    model: str | None = None,
    alert_markers: Sequence[AlertMarker] = (),
    gates: Mapping[str, Any] | None = None,
    title: str = "scoreboard report",
) -> str:
    """The report page as one HTML string (plotly.js inlined once; no network needed)."""
    runs = store.runs(model=model)
    models = sorted({r.model for r in runs})
    figures = _Figures()
    generated = iso_utc(datetime.now(UTC))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta name='viewport' content='width=device-width'><title>{_text(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_text(title)}</h1><p class='muted'>generated {generated}</p>",
    ]
    if not models:
        parts.append("<p>No results stored yet" + (f" for model {_text(model)}" if model else ""))
        parts.append(" (run <code>scoreboard evaluate</code> first).</p>")
    for name in models:
        parts.append(f"<h2 id='model-{_text(name)}'>{_text(name)}</h2>")
        versions = store.model_versions(name)
        model_runs = [r for r in runs if r.model == name]
        parts.append(
            _table(
                ["version", "runs", "rows", "first recorded", "last recorded"],
                [
                    [
                        v,
                        str(sum(1 for r in model_runs if r.model_version == v)),
                        f"{sum(r.rows for r in model_runs if r.model_version == v):,}",
                        iso_utc(
                            min(r.first_recorded_at for r in model_runs if r.model_version == v)
                        ),
                        iso_utc(max(r.recorded_at for r in model_runs if r.model_version == v)),
                    ]
                    for v in versions
                ],
            )
        )
        if gates and gates.get("model") == name:
            parts.append(_gate_section(gates))
        points = store.history(model=name, latest_windows=True)
        parts.append(_latest_table(points, versions))
        by_metric: dict[str, list[StoredPoint]] = defaultdict(list)
        for p in points:
            by_metric[p.metric].append(p)
        for metric, pts in by_metric.items():
            parts.append(f"<h3>{_text(metric)}</h3>")
            windowed: dict[str, list[StoredPoint]] = defaultdict(list)
            for p in pts:
                if p.window is not None and p.window_start is not None:
                    windowed[p.window].append(p)
            for window, wpts in windowed.items():
                fig = _trend(
                    f"{metric} per {window} window", wpts, versions, x_of=_window_x,
                    markers=alert_markers,
                )  # fmt: skip
                parts.append(figures.render(fig))
            if not windowed:
                overall = [p for p in pts if p.window is None]
                fig = _trend(
                    f"{metric} over runs (all rows)", overall, versions, x_of=_run_x,
                    markers=alert_markers,
                )  # fmt: skip
                parts.append(figures.render(fig))
    parts.append("</body></html>\n")
    return "".join(parts)


def _latest_table(points: Sequence[StoredPoint], versions: Sequence[str]) -> str:
    latest: dict[tuple[str, str, str], StoredPoint] = {}
    for p in points:
        if p.window is None:
            key = (p.metric, segment_json(p.segment), p.model_version)
            if key not in latest or p.recorded_at >= latest[key].recorded_at:
                latest[key] = p
    keys = sorted({(m, s) for m, s, _ in latest}, key=lambda k: (k[0], k[1] != "{}", k[1]))
    rows = []
    for metric, seg in keys:
        some = next(p for (m, s, _), p in latest.items() if (m, s) == (metric, seg))
        cells = [latest.get((metric, seg, v)) for v in versions]
        values = [_num(c.value) if c is not None else "—" for c in cells]
        rows.append([metric, _segment_label(some.segment), *values])
    return "<h3>Latest values over all rows</h3>" + _table(["metric", "segment", *versions], rows)


def write_report(page: str, path: str) -> None:
    """Writes atomically (a temp file renamed), so a reader never sees half a page."""
    target = os.path.abspath(path)
    tmp = f"{target}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.replace(tmp, target)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise ScoreboardError(f"cannot write the report to {path}: {exc.strerror}") from None
