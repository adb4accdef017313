"""The outputs, int8, size and I/O sections of ``report.html``: how each output of the model
verified, what the int8 pass decided, where the bytes of both files go, and the artifact's
input/output contract.

Each returns "" when the report lacks its data (older reports, ONNX runs), so the page
shows only what the run measured.
"""

from __future__ import annotations

from typing import Any

from .html_primitives import OTHER_COLOUR, bytes_text, e, fraction, get_path, table

__all__ = ["int8_section", "io_section", "outputs_section", "size_section"]


def outputs_section(report: dict[str, Any]) -> str:
    """The per-output verification table (compressed.outputs), for a model with several outputs."""
    from .markdown import OUTPUT_COLUMNS, output_rows

    compressed = report.get("compressed") if isinstance(report.get("compressed"), dict) else {}
    outputs = compressed.get("outputs")
    if not (isinstance(outputs, list) and all(isinstance(o, dict) for o in outputs)):
        return ""
    try:
        rows = output_rows(report)
    except (KeyError, TypeError, ValueError):  # a hand-edited or foreign report: leave the section out
        return ""
    if not rows:
        return ""
    return ('<section class="card" id="outputs"><h2>Outputs</h2><p class="note">Each output against the '
            "original's; top-1 agreement only for class outputs (softmax / log-softmax, K classes in the labels, "
            f"or --classifier-output). The summary above describes output {e(compressed.get('summary_output'))}."
            "</p>" + table("|".join(OUTPUT_COLUMNS), rows, (3, 4, 5, 6)) + "</section>")


def io_section(report: dict[str, Any]) -> str:
    io = report.get("io") if isinstance(report.get("io"), dict) else {}
    rows = []
    for kind in ("inputs", "outputs"):
        for spec in [s for s in (io.get(kind) or []) if isinstance(s, dict)]:
            scale, shape = spec.get("scale"), spec.get("shape")
            quantized = isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale != 0
            rows.append((kind[:-1], spec.get("name", ""), spec.get("dtype", ""),
                         "×".join(map(str, shape)) if isinstance(shape, list) else shape, spec.get("layout", "-"),
                         f"{scale:.6g}" if quantized else "-", spec.get("zero_point") if quantized else "-"))
    if not rows:
        return ""
    layout = f" Image tensors are laid out {e(str(io['layout']).upper())}." if io.get("layout") else ""
    return (f'<section class="card" id="io"><h2>Inputs and outputs</h2><p class="note">Quantized tensors: '
            f'real value = scale × (q − zero_point); "-" marks a float tensor.{layout}</p>'
            f'{table("tensor|name|dtype|shape|layout|scale|zero-point", rows, (5, 6))}</section>')


_PART_COLOURS = {"weights": "#3b6fb6", "biases": "#7fb0e0", "quantization": "#e08a2c", "names": "#b55d9e",
                 "metadata": "#5aa469", "unused": "#c0392b", "structure": "#8a8f98"}


def _size_bars_svg(files: list[tuple[str, dict[str, int]]], parts: list[str]) -> str:
    """One horizontal stacked bar per file, all on the largest file's scale (so shrinking shows)."""
    left, width, row = 150, 720, 34  # viewBox units: label column, longest bar, row height
    largest = max(sum(sizes.values()) for _, sizes in files) or 1
    shapes = []
    for i, (label, sizes) in enumerate(files):
        total, x, y = sum(sizes.values()), float(left), 8 + i * row
        shapes.append(f'<text x="0" y="{y + 17}">{e(label)}</text>')
        for part in (p for p in parts if sizes.get(p, 0) > 0):
            w, tip = width * sizes[part] / largest, f"{label}: {part} {sizes[part]:,} B ({sizes[part] / total:.1%})"
            shapes.append(f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="24" '
                          f'fill="{_PART_COLOURS.get(part, OTHER_COLOUR)}"><title>{e(tip)}</title></rect>')
            x += w
        shapes.append(f'<text x="{x + 6:.2f}" y="{y + 17}" fill="#5b6270">{e(bytes_text(total))}</text>')
    legend = "".join(f'<span class="swatch" style="background:{_PART_COLOURS.get(p, OTHER_COLOUR)}"></span>{e(p)}'
                     for p in parts)
    return (f'<svg role="img" aria-label="where the bytes of each file go" viewBox="0 0 1000 {16 + row * len(files)}" '
            f'width="100%" font-size="13" font-family="system-ui,sans-serif">{"".join(shapes)}</svg>'
            f'<div class="note">{legend}</div>')


def size_section(report: dict[str, Any]) -> str:
    from ..tflite.size import CATEGORIES

    files = [(label, {k: int(v) for k, v in sizes.items() if isinstance(v, (int, float))})
             for label, sizes in (("fp32 original", get_path(report, ("original", "size_breakdown"))),
                                  ("compressed", get_path(report, ("compressed", "size_breakdown"))))
             if isinstance(sizes, dict) and sizes]
    if not files:
        return ""
    parts = list(dict.fromkeys([p for p in CATEGORIES if any(p in s for _, s in files)] + [p for _, s in files for p in s]))
    totals = [sum(sizes.values()) for _, sizes in files]
    rows = [(p, *(c for (_, s), t in zip(files, totals) for c in (f"{s.get(p, 0):,} B", f"{s.get(p, 0) / (t or 1):.1%}")))
            for p in parts] + [("total", *(c for t in totals for c in (f"{t:,} B", "100.0%")))]
    headers = "part|" + "|".join(f"{label}|share" for label, _ in files)
    return (f'<section class="card" id="bytes"><h2>Where the bytes go</h2>{_size_bars_svg(files, parts)}'
            f'{table(headers, rows, tuple(range(1, 1 + 2 * len(files))))}</section>')


_FLOAT_WHY = (("float_for_speed", "kept float: XNNPACK has no int8 kernel for it"), ("float_ops", "computes in float"))


def _db(x: Any) -> str:
    return f"{x:.1f}" if isinstance(x, (int, float)) and not isinstance(x, bool) else "–"


def _int8_delegation(delegation: dict[str, Any]) -> str:
    left = ", ".join(f"{n.get('op', '?')}:{n.get('dtype', '?')}" for n in delegation.get("not_delegated") or []
                     if isinstance(n, dict)) or "none"
    count = delegation.get("partitions")
    return (f"<p>{e(delegation.get('delegate', 'The delegate'))} takes <b>{e(delegation.get('nodes_delegated', '?'))} "
            f"of {e(delegation.get('nodes_total', '?'))}</b> ops in {e(count)} partition{'' if count == 1 else 's'}; "
            f"left out: {e(left)}.</p>")


def _int8_float_ops(step: dict[str, Any]) -> str:
    rows = [(op.get("op", "?"), ", ".join(map(str, op.get("layers") or [])) or str(op.get("name", ""))[:60], why)
            for key, why in _FLOAT_WHY for op in step.get(key) or [] if isinstance(op, dict)]
    if not rows:
        return "<p>Every op computes in int8.</p>" if any(key in step for key, _ in _FLOAT_WHY) else ""
    return "<h3>Ops kept float</h3>" + table("op|layers|why", rows)


def _int8_remedies(remedies: dict[str, Any]) -> str:
    tried = [t for t in remedies.get("tried") or [] if isinstance(t, dict)]
    if not tried:
        return ""
    rows = [(t.get("remedy", "?"), _db(t.get("sqnr_db")), fraction(t.get("agreement")), "yes" if t.get("kept") else "no",
             t.get("error") or ", ".join(map(str, t.get("layers") or []))) for t in tried]
    met = {True: " (accuracy thresholds met)", False: " (accuracy thresholds NOT met)"}.get(remedies.get("met"), "")
    note = f"Remedies in the artifact: {', '.join(remedies.get('used') or []) or 'none, plain int8'}{met}."
    return (f'<h3>Accuracy remedies tried</h3><p class="note">{e(note)}</p>'
            + table("remedy|SQNR dB|agreement|kept|layers / error", rows, (1, 2)))


def _int8_sensitivity(remedies: dict[str, Any]) -> str:
    rows = [r for r in remedies.get("sensitivity") or [] if isinstance(r, dict)]
    if not rows:
        return ""
    rows.sort(key=lambda r: r["sqnr_db"] if isinstance(r.get("sqnr_db"), (int, float)) else float("inf"))  # worst first
    cells = [(r.get("layer") or str(r.get("name", ""))[-60:], r.get("op", ""), _db(r.get("sqnr_db")),
              _db(r.get("own_sqnr_db")), r.get("dtype", "")) for r in rows]
    return ('<h3>Per-layer sensitivity</h3><p class="note">SQNR of each op\'s output, int8 against float, worst first; '
            '"own" estimates the op\'s loss alone: its output noise less what its inputs already carried.</p>'
            + table("layer|op|SQNR dB|own SQNR dB|dtype", cells, (2, 3)))


def int8_section(report: dict[str, Any]) -> str:
    step = next((s for s in report.get("steps") or [] if isinstance(s, dict) and s.get("name") == "int8"), None)
    if step is None:
        return ""
    delegation = step.get("delegation") if isinstance(step.get("delegation"), dict) else None
    remedies = step.get("remedies") if isinstance(step.get("remedies"), dict) else None
    float_ops = _int8_float_ops(step)
    if delegation is None and remedies is None and "<table>" not in float_ops:
        return ""  # an ONNX or older int8 step: the steps list says all there is
    parts = [_int8_delegation(delegation) if delegation else "", float_ops,
             _int8_remedies(remedies) if remedies else "", _int8_sensitivity(remedies) if remedies else ""]
    return f'<section class="card" id="int8"><h2>int8</h2>{"".join(parts)}</section>'
