"""``report.html``: the report for people, as one self-contained file.

``render_html(report)`` turns a report dict (README, "report.json (schema 1)") into one
HTML page with nothing to fetch: CSS inline, plots as base64 PNG ``<img>``.  It shows, in
order of what a reader needs: status, the summary card (original → compressed for size, gzip,
accuracy, agreement, SQNR, latency, RAM, flash and energy), the warnings grouped by kind
(report/warnings.py: a count and the effect each, the warnings themselves folded), the
per-output verification of a model with several outputs (``compressed.outputs``), the per-op
latency bars (top ``TOP_OPS`` of ``estimate.per_op``), per-layer changes (any step's
``layers`` list), the int8 step (delegation, ops kept float and why, accuracy remedies tried,
per-layer sensitivity), where the bytes go (``size_breakdown`` of both files, table and an
inline SVG stacked bar), the I/O contract (``io``: dtype, shape, layout, scale, zero-point),
the steps, and the inputs and versions.  A section whose data a report lacks (older reports,
ONNX runs) is left out.  Every report text is escaped.

Plots use matplotlib's ``Figure`` with the Agg canvas directly (no pyplot, no
``matplotlib.use``, no rcParams writes: no process-wide state) and PNG metadata without
the "Software" version stamp, so the same report renders to the same bytes.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any


from .html_primitives import OTHER_COLOUR, bytes_text, cell, e, file_op_name, fraction, get_path, number
from .html_sections import int8_section, io_section, outputs_section, size_section

__all__ = ["TOP_OPS", "render_html"]

TOP_OPS = 25  # per-op bars shown; the rest are summed into one line of text
_LABEL_CHARS = 48  # longer op names are cut in plot labels (the table keeps them whole)
_BOUND_COLOURS = {"compute": "#3b6fb6", "memory": "#e08a2c"}

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:1120px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.sub{color:#5b6270;margin:0 0 16px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:14px;vertical-align:middle}
.ok{background:#d9f2e1;color:#17603a}.failed{background:#fbdada;color:#9b1c1c}
.warnings{background:#fff4d6;border:1px solid #e7c35a;border-left:6px solid #d99a00;border-radius:6px;padding:10px 16px;margin:12px 0}
.warnings h2{margin:4px 0 6px;font-size:16px}.warnings ul{margin:0;padding-left:20px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 20px;margin:12px 0}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
.tile{border:1px solid #e3e5e9;border-radius:6px;padding:10px 12px}
.tile .label{color:#5b6270;font-size:13px}.tile .value{font-size:18px;font-weight:600;white-space:nowrap}
.tile .before{color:#5b6270;font-weight:400;font-size:14px}
.better{color:#17603a}.worse{color:#9b1c1c}.same{color:#5b6270}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e5e9;vertical-align:top}
th{background:#f0f1f4}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
img.plot{max-width:100%;height:auto;display:block;margin:8px 0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f7f9;padding:8px;border-radius:4px;margin:4px 0}
.note{color:#5b6270;font-size:13px}details summary{cursor:pointer;color:#3b6fb6}
.swatch{display:inline-block;width:11px;height:11px;margin:0 4px 0 14px}svg{display:block;max-width:1000px;margin:8px 0}
"""


# (label, original value path, compressed value path, formatter, lower_is_better, change as
# percentage points instead of relative)
_SUMMARY = (
    ("File size", ("original", "size_bytes"), ("compressed", "size_bytes"), bytes_text, True, False),
    ("gzip size", None, ("compressed", "gzip_bytes"), bytes_text, True, False),
    ("Accuracy", ("original", "accuracy"), ("compressed", "accuracy"), fraction, False, True),
    ("Top-1 agreement", None, ("compressed", "agreement"), fraction, False, True),
    ("SQNR", None, ("compressed", "sqnr_db"), lambda x: number(x, "dB", ".1f"), False, False),
    ("Latency (est.)", ("original", "estimate", "latency_ms"), ("estimate", "latency_ms"),
     lambda x: number(x, "ms"), True, False),
    ("Peak RAM (est.)", ("original", "estimate", "peak_ram_bytes"), ("estimate", "peak_ram_bytes"),
     bytes_text, True, False),
    ("Flash (est.)", ("original", "estimate", "flash_bytes"), ("estimate", "flash_bytes"), bytes_text, True, False),
    ("Energy (est.)", ("original", "estimate", "energy_mj"), ("estimate", "energy_mj"),
     lambda x: number(x, "mJ", ".4f"), True, False),
)


def _change(before: float | None, after: float | None, lower_is_better: bool, points: bool) -> str:
    if before is None or after is None or isinstance(before, str) or isinstance(after, str):
        return ""
    if points:
        delta, text = after - before, f"{100 * (after - before):+.2f} pp"
    elif before:
        delta, text = after - before, f"{(after - before) / before:+.1%}"
    else:
        return ""
    good = (delta < 0) == lower_is_better
    css = "same" if abs(delta) < 1e-12 else ("better" if good else "worse")
    return f'<span class="{css}">{e(text)}</span>'


def _summary_card(report: dict[str, Any]) -> str:
    tiles = []
    for label, before_path, after_path, show, lower_is_better, points in _SUMMARY:
        before, after = get_path(report, before_path), get_path(report, after_path)
        before_html = f'<span class="before">{e(show(before))} → </span>' if before_path else ""
        tiles.append(f'<div class="tile"><div class="label">{e(label)}</div>'
                     f'<div class="value">{before_html}{e(show(after))}</div>'
                     f'<div>{_change(before, after, lower_is_better, points)}</div></div>')
    return (f'<section class="card" id="summary"><h2>Summary: original → compressed</h2>'
            f'<div class="tiles">{"".join(tiles)}</div>'
            f'<p class="note">Latency, RAM, flash and energy are estimates from the '
            f'{e(report.get("target", "target"))} profile\'s cost model, not host measurements.</p></section>')


def _png_data_uri(figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # No "Software" stamp: the bytes then depend on the report only, not on the matplotlib version.
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _op_label(op: dict[str, Any]) -> str:
    """"CONV_2D  features.3.0": the module path litert-torch recorded in the name where it has
    one (tflite_names.py), else the end of the name, its distinguishing part."""
    from ..tflite.names import layer_path

    kind, name = str(op.get("op", "?")), file_op_name(op)
    name = layer_path(name) or name
    room = max(_LABEL_CHARS - len(kind) - 2, 8)
    return f"{kind}  {name if len(name) <= room else '…' + name[-(room - 1):]}"


def _latency_text(latency_ms: float) -> str:
    return f"{latency_ms:.3g} ms" if latency_ms >= 0.01 else f"{latency_ms * 1e3:.3g} µs"


def _per_op_plot(ops: list[dict[str, Any]]) -> str:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    height_in = 1.2 + 0.28 * len(ops)
    figure = Figure(figsize=(10.5, height_in))
    axes = figure.add_subplot()
    labels = [_op_label(op) for op in ops]
    values = [float(op.get("latency_ms") or 0.0) for op in ops]
    colours = [_BOUND_COLOURS.get(op.get("bound"), OTHER_COLOUR) for op in ops]
    positions = list(range(len(ops)))[::-1]  # slowest at the top
    bars = axes.barh(positions, values, color=colours, height=0.7)
    axes.bar_label(bars, labels=[_latency_text(v) for v in values], padding=3, fontsize=7, color="#5b6270")
    axes.set_ylim(-0.6, len(ops) - 0.4)
    axes.set_xlim(0, max(values + [1e-9]) * 1.12)  # room for the value labels
    axes.set_yticks(positions, labels, fontsize=8, fontfamily="monospace")
    axes.set_xlabel("estimated latency per inference (ms)")
    axes.grid(axis="x", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(handles=[Patch(color=c, label=f"{b}-bound") for b, c in _BOUND_COLOURS.items()],
                loc="lower right", fontsize=8, frameon=False)
    figure.tight_layout()
    return _png_data_uri(figure)


def _per_op_section(report: dict[str, Any]) -> str:
    estimate = report.get("estimate") or {}
    per_op = [op for op in estimate.get("per_op") or [] if isinstance(op, dict)]
    if not per_op:
        return '<section class="card" id="per-op"><h2>Per-op latency</h2><p>No per-op estimate in this report.</p></section>'
    slowest = sorted(per_op, key=lambda op: -float(op.get("latency_ms") or 0.0))[:TOP_OPS]
    total = sum(float(op.get("latency_ms") or 0.0) for op in per_op)
    shown = sum(float(op.get("latency_ms") or 0.0) for op in slowest)
    rows = "".join(
        f"<tr><td><code>{e(op.get('op', ''))}</code></td><td>{e(file_op_name(op))}</td>"
        f"<td>{e(op.get('kind', ''))}</td><td>{e(op.get('dtype', ''))}</td>"
        f"<td class=num>{int(op.get('macs') or 0):,}</td><td class=num>{float(op.get('latency_ms') or 0):.4f}</td>"
        f"<td>{e(op.get('bound', ''))}</td></tr>" for op in slowest)
    rest = len(per_op) - len(slowest)
    rest_note = (f" The other {rest} ops take {total - shown:.4f} ms together." if rest else "")
    return (f'<section class="card" id="per-op"><h2>Per-op latency (estimated, slowest {len(slowest)} '
            f'of {len(per_op)} ops)</h2>'
            f'<img class="plot" alt="bar chart of the estimated latency of the slowest ops" '
            f'src="{_per_op_plot(slowest)}">'
            f'<p class="note">Sum over all ops: {total:.4f} ms.{e(rest_note)}</p>'
            f'<details><summary>Table of these ops</summary><table><tr><th>op</th><th>name</th><th>kind</th>'
            f'<th>dtype</th><th class=num>MACs</th><th class=num>latency ms</th><th>bound</th></tr>{rows}'
            f'</table></details></section>')


def _layers_section(report: dict[str, Any]) -> str:
    parts = []
    for step in report.get("steps") or []:
        layers = step.get("layers") if isinstance(step, dict) else None
        if not (isinstance(layers, list) and layers and all(isinstance(row, dict) for row in layers)):
            continue
        columns = list(dict.fromkeys(key for row in layers for key in row))
        numeric = {c for c in columns if all(isinstance(row.get(c), (int, float)) and not isinstance(row.get(c), bool)
                                             for row in layers if row.get(c) is not None)}
        header = "".join(f"<th{' class=num' if c in numeric else ''}>{e(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(cell(row.get(c)) for c in columns) + "</tr>" for row in layers)
        parts.append(f"<h3>{e(step.get('name', 'step'))}</h3><table><tr>{header}</tr>{body}</table>")
    content = "".join(parts) or "<p>No per-layer changes: no step pruned or substituted layers.</p>"
    return f'<section class="card" id="layers"><h2>Per-layer changes (sparsity, substitutions)</h2>{content}</section>'


def _steps_section(report: dict[str, Any]) -> str:
    items = []
    for step in report.get("steps") or []:
        if not isinstance(step, dict):
            continue
        scalars = ", ".join(f"{e(k)}={e(f'{v:.4g}' if isinstance(v, float) else v)}" for k, v in step.items()
                            if k not in ("name", "seconds", "layers") and not isinstance(v, (list, dict)))
        if isinstance(step.get("layers"), list):
            scalars = ", ".join(filter(None, [scalars, f"{len(step['layers'])} layers (see per-layer changes)"]))
        nested = {k: v for k, v in step.items() if k != "layers" and isinstance(v, (list, dict))}
        details = (f"<details><summary>details</summary><pre>{e(json.dumps(nested, indent=1, sort_keys=True))}"
                   f"</pre></details>" if nested else "")
        seconds = step.get("seconds")
        timing = f" ({seconds:.2f} s)" if isinstance(seconds, (int, float)) else ""
        items.append(f"<li><b>{e(step.get('name', '?'))}</b>{e(timing)}{': ' if scalars else ''}{scalars}{details}</li>")
    content = f"<ol>{''.join(items)}</ol>" if items else "<p>No steps recorded.</p>"
    return f'<section class="card" id="steps"><h2>Steps</h2>{content}</section>'


def _provenance_section(report: dict[str, Any]) -> str:
    rows = [("artifact", report.get("artifact")), ("sha256", report.get("sha256")),
            ("float export", report.get("float_artifact")), ("format", report.get("format"))]
    inputs = report.get("inputs") if isinstance(report.get("inputs"), dict) else {}
    rows += [(f"input: {k}", v) for k, v in inputs.items()]
    versions = report.get("versions") if isinstance(report.get("versions"), dict) else {}
    rows += [(f"version: {k}", v if v is not None else "not installed") for k, v in versions.items()]
    body = "".join(f"<tr><th>{e(k)}</th>{cell(v)}</tr>" for k, v in rows if v is not None)
    return f'<section class="card" id="provenance"><h2>Inputs and versions</h2><table>{body}</table></section>'


def _warnings_section(report: dict[str, Any]) -> str:
    """Below the summary: one line per kind of warning (count and effect), the warnings folded."""
    from .warnings import group_warnings

    groups = group_warnings(report)
    if not groups:
        return ""
    total = sum(len(g.items) for g in groups)
    rows = "".join(f"<li><details><summary>{e(g.headline)}</summary><ul>"
                   + "".join(f"<li>{e(w)}</li>" for w in g.items) + "</ul></details></li>"
                   if len(g.items) > 1 else f"<li>{e(g.headline)}</li>" for g in groups)
    return (f'<section class="warnings" id="warnings"><h2>⚠ {total} warning{"s" if total != 1 else ""}'
            f' of {len(groups)} kind{"s" if len(groups) != 1 else ""}</h2><ul>{rows}</ul></section>')


def render_html(report: dict[str, Any]) -> str:
    """The whole report as one self-contained HTML document (a str)."""
    status = str(report.get("status", "ok"))
    artifact, target = report.get("artifact", "artifact"), report.get("target", "?")
    badge = f'<span class="badge {"ok" if status == "ok" else "failed"}">{e(status)}</span>'
    warnings_html = _warnings_section(report)
    title = f"{artifact} for {target}: {status}"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{e(artifact)} for {e(target)} {badge}</h1>",
        f'<p class="sub">edge-compressor report, schema {e(report.get("schema", "?"))}, '
        f'format {e(report.get("format", "?"))}</p>',
        _summary_card(report),
        warnings_html,
        outputs_section(report),
        _per_op_section(report),
        _layers_section(report),
        int8_section(report),
        size_section(report),
        io_section(report),
        _steps_section(report),
        _provenance_section(report),
        "</main></body></html>",
        "",
    ])
