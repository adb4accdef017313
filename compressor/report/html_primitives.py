"""HTML building blocks of ``report.html`` (html_report.py), shared by its sections.

Every function returns escaped HTML text; none holds state.
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["OTHER_COLOUR", "bytes_text", "cell", "e", "file_op_name", "fraction", "get_path", "number", "table"]

OTHER_COLOUR = "#8a8f98"  # plot and bar parts with no colour of their own


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def file_op_name(op: dict[str, Any]) -> str:
    """An estimated op's name as the user's file has it: an ``.onnx`` op onnxruntime's
    optimizations renamed shows its file's node (``file_node``), one onnxruntime added says so."""
    if "file_node" in op and op["file_node"] is None:
        return f"{op.get('name', '')} (added by onnxruntime)"
    return str(op.get("file_node") or op.get("name", ""))


def bytes_text(n: float | None) -> str:
    if n is None:
        return "–"
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def fraction(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}%"


def number(x: float | None, unit: str, fmt: str = ".3f") -> str:
    return "–" if x is None else f"{format(x, fmt)} {unit}"


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"<td class=num>{value:.4g}</td>"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"<td class=num>{value:,}</td>"
    if isinstance(value, (dict, list)):
        return f"<td><code>{e(json.dumps(value, sort_keys=True))}</code></td>"
    return f"<td>{e('' if value is None else value)}</td>"


def table(headers: str, rows: list[tuple[Any, ...]], numeric: tuple[int, ...] = ()) -> str:
    """A table of formatted cells (escaped here): `headers` is "a|b|c", `numeric` the right-aligned columns."""
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{e(h)}</th>" for i, h in enumerate(headers.split("|")))
    body = "".join("<tr>" + "".join(f"<td{' class=num' if i in numeric else ''}>{e(c)}</td>" for i, c in enumerate(row))
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def get_path(report: dict[str, Any], path: tuple[str, ...] | None) -> Any:
    value: Any = report
    for key in path or ():
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return None if path is None else value
