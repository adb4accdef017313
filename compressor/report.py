"""The report: ``report.json`` (schema 1, documented in the README), ``report.md`` for people,
and the summary table the CLI prints.  Everything here formats; nothing computes costs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "build_report", "render_markdown", "render_table", "write_report_files"]

SCHEMA_VERSION = 1
_VERSIONED = ("edge-compressor", "torch", "litert-torch", "ai-edge-quantizer", "ai-edge-litert",
              "onnx", "onnxruntime", "numpy")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def _gzip_size(path: Path) -> int:
    # mtime=0 keeps the number (and any file written from it) the same run to run.
    return len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def build_report(final, steps, *, recipe, inputs: dict[str, Any], warnings: list[str], target) -> dict[str, Any]:
    from .cost import estimate
    from .graph_ir import read_graph

    artifact = Path(final.path)
    float_path = Path(final.float_path)
    graph = final.graph if final.graph is not None else read_graph(artifact)
    float_graph = read_graph(float_path) if float_path != artifact else graph
    verification = final.verification
    notes = list(warnings)
    if verification is not None and not verification.passed:
        notes.append(f"Top-1 agreement {verification.agreement:.4f} is below --min-agreement "
                     f"{verification.min_agreement}: the report is marked FAILED.")
    for step in steps:
        for op in step.facts.get("float_ops", []):
            notes.append(f"{op['op']} ({op['name']}) still computes in float.")
    original_estimate = estimate(float_graph, target, artifact_size_bytes=float_path.stat().st_size)
    report: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "target": target.name,
        "format": final.format,
        "status": "ok" if verification is None or verification.passed else "FAILED",
        "warnings": notes,
        "original": {
            "params": float_graph.params, "macs": float_graph.macs,
            "size_bytes": float_path.stat().st_size,
            "accuracy": _round(verification.accuracy_original) if verification else None,
            "estimate": _summary(original_estimate),
        },
        "compressed": {
            "params": graph.params, "macs": graph.macs, "size_bytes": artifact.stat().st_size,
            "gzip_bytes": _gzip_size(artifact),
            "accuracy": _round(verification.accuracy_compressed) if verification else None,
            "agreement": _round(verification.agreement) if verification else None,
            "sqnr_db": _round(verification.sqnr_db, 3) if verification else None,
            "max_abs_error": _round(verification.max_abs_error) if verification else None,
            "cosine": _round(verification.cosine) if verification else None,
        },
        "steps": [step.to_dict() for step in steps],
        "estimate": final.estimate.to_dict() if final.estimate is not None else None,
        "artifact": artifact.name,
        "sha256": hashlib.sha256(artifact.read_bytes()).hexdigest(),
        "float_artifact": float_path.name,
        "recipe": recipe.to_dict(),
        "inputs": inputs,
        "versions": package_versions(),
    }
    return report


def _summary(result) -> dict[str, Any]:
    full = result.to_dict()
    return {key: full[key] for key in ("latency_ms", "peak_ram_bytes", "flash_bytes", "energy_mj")}


def _bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, original, compressed) rows shared by the terminal table and report.md."""
    o, c = report["original"], report["compressed"]
    oe, ce = o.get("estimate") or {}, report.get("estimate") or {}
    return [
        ("file size", _bytes(o["size_bytes"]), _bytes(c["size_bytes"])),
        ("gzip size", "-", _bytes(c["gzip_bytes"])),
        ("parameters", f"{o['params']:,}", f"{c['params']:,}"),
        ("MACs", f"{o['macs']:,}", f"{c['macs']:,}"),
        ("accuracy", _pct(o["accuracy"]), _pct(c["accuracy"])),
        ("top-1 agreement", "", _pct(c["agreement"])),
        ("SQNR", "", f"{_num(c['sqnr_db'], '.1f')} dB"),
        ("cosine", "", _num(c["cosine"], ".5f")),
        (f"latency on {report['target']} (est.)", f"{_num(oe.get('latency_ms'))} ms", f"{_num(ce.get('latency_ms'))} ms"),
        ("peak RAM (est.)", _bytes(oe.get("peak_ram_bytes")), _bytes(ce.get("peak_ram_bytes"))),
        ("flash (est.)", _bytes(oe.get("flash_bytes")), _bytes(ce.get("flash_bytes"))),
        ("energy (est.)", f"{_num(oe.get('energy_mj'), '.4f')} mJ", f"{_num(ce.get('energy_mj'), '.4f')} mJ"),
    ]


def render_table(report: dict[str, Any]):
    """A rich Table of the summary, for the terminal."""
    from rich.table import Table

    status = report["status"]
    table = Table(title=f"{report['artifact']} for {report['target']}: "
                        f"[{'green' if status == 'ok' else 'bold red'}]{status}[/]")
    table.add_column("metric")
    table.add_column("fp32 original", justify="right")
    table.add_column(f"{report['format']} compressed", justify="right")
    for row in summary_rows(report):
        table.add_row(*row)
    return table


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# {report['artifact']} for {report['target']}: {report['status']}", ""]
    if report["warnings"]:
        lines += ["## Warnings", ""] + [f"- {w}" for w in report["warnings"]] + [""]
    lines += ["## Summary", "", "| metric | fp32 original | compressed |", "|---|---:|---:|"]
    lines += [f"| {m} | {a} | {b} |" for m, a, b in summary_rows(report)]
    lines += ["", "Latency, RAM, flash and energy are estimates from the target profile's cost model, "
              "not host measurements.", "", "## Steps", ""]
    for step in report["steps"]:
        facts = ", ".join(f"{k}={v}" for k, v in step.items()
                          if k not in ("name", "seconds") and not isinstance(v, (list, dict)))
        lines.append(f"- **{step['name']}** ({step['seconds']:.2f} s): {facts}")
    estimate = report.get("estimate")
    if estimate and estimate.get("per_op"):
        slowest = sorted(estimate["per_op"], key=lambda op: -op["latency_ms"])[:15]
        lines += ["", "## Slowest ops (estimated)", "", "| op | name | MACs | latency ms | bound |",
                  "|---|---|---:|---:|---|"]
        lines += [f"| {op['op']} | {op.get('name', '')} | {op['macs']:,} | {op['latency_ms']:.4f} | "
                  f"{op.get('bound', '')} |" for op in slowest]
    lines += ["", f"Artifact sha256: `{report['sha256']}`", ""]
    return "\n".join(lines)


def write_report_files(report: dict[str, Any], directory: Path) -> None:
    (directory / "report.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    (directory / "report.md").write_text(render_markdown(report))
    from .html_report import render_html  # matplotlib: load only when a report is written

    (directory / "report.html").write_text(render_html(report))
