"""``pareto.html``: every trial's score against its estimated latency, as one self-contained page.

A hand-written inline SVG (no script, nothing fetched, same bytes for the same trials): x is
the estimated latency on the target, y the score (accuracy, or agreement without labels),
each completed trial a circle whose area grows with its flash estimate; green meets every
budget, orange misses one.  The latency and score budgets are dashed lines, the Pareto front
of (score up, latency down) is a line through its trials, the chosen trial is ringed.  Below
it, a table of every trial (failed and interrupted ones too, with their error) and the recipe
fields each one set.  Every text from a trial is escaped.
"""

from __future__ import annotations

import html
import math
from typing import Any, Mapping, Sequence

from ..gate.budgets import Budgets

__all__ = ["recipe_summary", "render_pareto_html"]

_W, _H = 760, 440  # plot size in px
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 70, 24, 20, 50
_R_MIN, _R_MAX = 4.0, 14.0  # marker radius range (px) for the smallest / largest flash
_CSS = ("body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}"
        "main{max-width:1120px;margin:0 auto;padding:24px}h1{font-size:22px;margin:0 0 4px}"
        ".sub{color:#5b6270}.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);"
        "padding:14px 18px;margin:12px 0}table{border-collapse:collapse;width:100%;font-size:13px}"
        "th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #e3e5e9;vertical-align:top}"
        "th{background:#f0f1f4}td.num{text-align:right;font-variant-numeric:tabular-nums}"
        ".ok{color:#17603a}.no{color:#9b1c1c}code{font-size:12px}")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def recipe_summary(recipe: Mapping[str, Any] | None) -> str:
    """The fields a search sets, in one short line: "channels:0.5 auto, dsconv auto r1, qat 1"."""
    if not recipe:
        return "-"
    parts = []
    prune, dsconv, int8 = recipe.get("prune", {}), recipe.get("dsconv", {}), recipe.get("int8", {})
    if prune.get("method", "none") != "none":
        amount = "" if prune["method"] == "2:4" else f":{prune['amount']:g}"
        parts.append(f"{prune['method']}{amount} {prune.get('layers', 'all')}")
    if dsconv.get("mode", "none") != "none":
        parts.append(f"dsconv {dsconv['mode']} rank {dsconv.get('rank', 'auto')}")
    if int8.get("float_ops"):
        parts.append("float " + ",".join(int8["float_ops"]))
    if int8.get("int16_ops"):
        parts.append("int16x8 " + ",".join(int8["int16_ops"]))
    if int8.get("qat_epochs"):
        parts.append(f"qat {int8['qat_epochs']}")
    if (prune.get("method", "none") != "none" or dsconv.get("mode", "none") != "none"):
        parts.append(f"recovery {prune.get('finetune_epochs')} ep")
    return ", ".join(parts) or "plain int8"


def _scale(low: float, high: float, size: float, *, flip: bool = False):
    span = (high - low) or 1.0

    def to_px(value: float) -> float:
        fraction = (value - low) / span
        return size * (1 - fraction) if flip else size * fraction
    return to_px


def _svg(trials: Sequence[Mapping[str, Any]], budgets: Budgets, best: int | None, front: Sequence[int]) -> str:
    points = [t for t in trials if t.get("status") == "complete" and t.get("metrics")
              and t["metrics"].get("score") is not None and t["metrics"].get("estimate_latency_ms") is not None]
    if not points:
        return "<p>No completed trial to plot yet.</p>"
    kind = points[0]["metrics"].get("score_kind", "accuracy")
    lat_limit, score_limit = budgets.max_latency_ms, budgets.limit("min_" + kind)
    lats = [t["metrics"]["estimate_latency_ms"] for t in points] + ([lat_limit] if lat_limit else [])
    scores = [t["metrics"]["score"] for t in points] + ([score_limit] if score_limit is not None else [])
    x_low, x_high = 0.0, max(lats) * 1.08
    y_low, y_high = max(0.0, min(scores) - 0.02), min(1.0, max(scores) + 0.01) + 0.005
    plot_w, plot_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    sx, sy = _scale(x_low, x_high, plot_w), _scale(y_low, y_high, plot_h, flip=True)
    flashes = [t["metrics"].get("estimate_flash_bytes") or 0 for t in points]
    f_low, f_high = min(flashes), max(flashes)

    def radius(flash: float) -> float:
        if f_high == f_low:
            return (_R_MIN + _R_MAX) / 2
        return _R_MIN + (_R_MAX - _R_MIN) * math.sqrt((flash - f_low) / (f_high - f_low))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
           f'role="img" aria-label="score against estimated latency">',
           f'<g transform="translate({_PAD_L},{_PAD_T})">',
           f'<rect width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#c9ccd3"/>']
    for i in range(6):  # axis ticks
        xv, yv = x_low + (x_high - x_low) * i / 5, y_low + (y_high - y_low) * i / 5
        out.append(f'<text x="{sx(xv):.1f}" y="{plot_h + 16}" font-size="11" text-anchor="middle">{xv:.3g}</text>')
        out.append(f'<text x="-6" y="{sy(yv) + 4:.1f}" font-size="11" text-anchor="end">{100 * yv:.1f}%</text>')
    out.append(f'<text x="{plot_w / 2}" y="{plot_h + 38}" font-size="12" text-anchor="middle">'
               'estimated latency on the target (ms)</text>')
    out.append(f'<text transform="translate(-52,{plot_h / 2}) rotate(-90)" font-size="12" text-anchor="middle">'
               f'{_e(kind)}</text>')
    if lat_limit is not None:
        out.append(f'<line x1="{sx(lat_limit):.1f}" y1="0" x2="{sx(lat_limit):.1f}" y2="{plot_h}" stroke="#9b1c1c" '
                   f'stroke-dasharray="5,4"/><text x="{sx(lat_limit) + 4:.1f}" y="12" font-size="11" fill="#9b1c1c">'
                   f'max_latency_ms {lat_limit:.4g}</text>')
    if score_limit is not None:
        out.append(f'<line x1="0" y1="{sy(score_limit):.1f}" x2="{plot_w}" y2="{sy(score_limit):.1f}" stroke="#9b1c1c" '
                   f'stroke-dasharray="5,4"/><text x="4" y="{sy(score_limit) - 4:.1f}" font-size="11" fill="#9b1c1c">'
                   f'min_{_e(kind)} {100 * score_limit:.2f}%</text>')
    on_front = sorted((t for t in points if t["number"] in front), key=lambda t: t["metrics"]["estimate_latency_ms"])
    if len(on_front) > 1:
        path = " ".join(f'{sx(t["metrics"]["estimate_latency_ms"]):.1f},{sy(t["metrics"]["score"]):.1f}'
                        for t in on_front)
        out.append(f'<polyline points="{path}" fill="none" stroke="#3b6fb6" stroke-width="1.5"/>')
    for trial in points:
        m = trial["metrics"]
        x, y, r = sx(m["estimate_latency_ms"]), sy(m["score"]), radius(m.get("estimate_flash_bytes") or 0)
        colour = "#2e9e5b" if trial.get("feasible") else "#e08a2c"
        edge = ' stroke="#3b6fb6" stroke-width="2"' if trial["number"] in front else ' stroke="#555"'
        title = (f'trial {trial["number"]}: {recipe_summary(trial.get("recipe"))}; {100 * m["score"]:.2f}% '
                 f'{m["estimate_latency_ms"]:.4g} ms, flash {m.get("estimate_flash_bytes")} B')
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}" fill-opacity="0.75"{edge}>'
                   f'<title>{_e(title)}</title></circle>')
        out.append(f'<text x="{x + r + 2:.1f}" y="{y - 2:.1f}" font-size="10" fill="#5b6270">{trial["number"]}</text>')
        if trial["number"] == best:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r + 5:.1f}" fill="none" stroke="#1d2330" '
                       f'stroke-width="2"/><text x="{x + r + 6:.1f}" y="{y + 14:.1f}" font-size="11" '
                       f'font-weight="600">chosen</text>')
    out.append("</g></svg>")
    return "".join(out)


def _row(trial: Mapping[str, Any], best: int | None, front: Sequence[int]) -> str:
    m = trial.get("metrics") or {}

    def num(key: str, fmt: str) -> str:
        value = m.get(key)
        return f'<td class="num">{format(value, fmt) if value is not None else "-"}</td>'
    marks = " ".join(x for x in ("chosen" if trial["number"] == best else "",
                                 "front" if trial["number"] in front else "") if x)
    feasible = ('<span class="ok">yes</span>' if trial.get("feasible") else
                '<span class="no">no</span>' if trial.get("status") == "complete" else "-")
    note = trial.get("error") or (f"same recipe as trial {trial['duplicate_of']}" if "duplicate_of" in trial else "")
    score = f'{100 * m["score"]:.2f}%' if m.get("score") is not None else "-"
    return (f'<tr><td class="num">{trial["number"]}</td><td>{_e(trial.get("status"))} {_e(marks)}</td>'
            f'<td>{feasible}</td><td class="num">{score}</td>{num("estimate_latency_ms", ".4g")}'
            f'{num("estimate_flash_bytes", ",")}{num("estimate_peak_ram_bytes", ",")}{num("estimate_energy_mj", ".4g")}'
            f'<td>{_e(recipe_summary(trial.get("recipe")))}</td>'
            f'<td class="num">{trial.get("seconds") if trial.get("seconds") is not None else "-"}</td>'
            f'<td>{_e(note)}</td></tr>')


def render_pareto_html(search: Mapping[str, Any], budgets: Budgets) -> str:
    """The page for one search.json dict (``trials``, ``best``, ``pareto_front``, ``study``, ...)."""
    trials, best, front = search["trials"], search.get("best"), search.get("pareto_front", [])
    limits = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in budgets.to_dict().items())
    head = (f'<h1>Recipe search: {_e(search.get("study"))}</h1><p class="sub">target {_e(search.get("target"))}; '
            f'{len(trials)} trials; budgets: {_e(limits or "none")}; chosen trial: '
            f'{_e(best if best is not None else "none meets every budget")}</p>')
    legend = ('<p class="sub">Each circle is a completed trial (area grows with estimated flash); green meets every '
              'budget, orange misses one; dashed lines are the budgets; the blue line joins the Pareto front of '
              '(score up, latency down); the ringed one is the chosen trial. Hover a circle for its recipe.</p>')
    table = ("<table><tr><th>#</th><th>status</th><th>meets budgets</th><th>score</th><th>latency ms</th>"
             "<th>flash B</th><th>peak RAM B</th><th>energy mJ</th><th>recipe</th><th>seconds</th><th>error / note</th>"
             "</tr>" + "".join(_row(t, best, front) for t in trials) + "</table>")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Recipe search '
            f'{_e(search.get("study"))}</title><style>{_CSS}</style></head><body><main>{head}'
            f'<div class="card">{_svg(trials, budgets, best, front)}{legend}</div><div class="card">{table}</div>'
            f'</main></body></html>\n')
