"""The report: ``report.json`` (schema 1, documented in the README), built from the final
artifact and the steps' records, and written beside ``report.md`` (markdown.py) and
``report.html`` (html.py).  Nothing here computes costs: the estimate pass did.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from ..files import gzip_size
from .markdown import render_markdown

__all__ = ["SCHEMA_VERSION", "build_report", "package_versions", "write_report_files"]

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


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def build_report(final, steps, *, recipe, inputs: dict[str, Any], warnings: list[str], target) -> dict[str, Any]:
    from ..graph.read import read_graph

    artifact = Path(final.path)
    float_path = Path(final.float_path)
    graph = final.graph if final.graph is not None else read_graph(artifact)
    float_graph = read_graph(float_path) if float_path != artifact else graph
    # After pruning, "original" is the unpruned model's float export (the prune pass wrote it).
    baseline = Path(final.original_path) if final.original_path is not None else float_path
    if baseline != float_path:
        float_graph = read_graph(baseline)
    verification = final.verification
    notes = list(warnings)
    if verification is not None and not verification.passed:
        notes.append("; ".join(verification.failures()) + ": the report is marked FAILED.")
    for step in steps:
        for op in step.facts.get("float_ops", []):
            where = ", ".join(op.get("layers") or []) or op["name"]
            notes.append(f"{op['op']} ({where}) still computes in float.")
        notes += [str(w) for w in step.facts.get("warnings", [])]  # e.g. prune's shortfall
    if final.estimate is not None:
        notes += [f"{target.name}: {_with_layer_names(w, graph, final.tensor_names)}"
                  for w in final.estimate.warnings]
    original_estimate = final.original_estimate  # costed by the estimate pass, as the artifact is
    report: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "target": target.name,
        "format": final.format,
        "status": "ok" if verification is None or verification.passed else "FAILED",
        "warnings": notes,
        "original": {
            "params": float_graph.params, "macs": float_graph.macs,
            "size_bytes": baseline.stat().st_size,
            "size_breakdown": _breakdown(baseline),
            "accuracy": _round(verification.accuracy_original) if verification else None,
            "estimate": _summary(original_estimate) if original_estimate is not None else None,
        },
        "compressed": {
            "params": graph.params, "macs": graph.macs, "size_bytes": artifact.stat().st_size,
            "gzip_bytes": gzip_size(artifact),
            "size_breakdown": _breakdown(artifact),
            "accuracy": _round(verification.accuracy_compressed) if verification else None,
            "agreement": _round(verification.agreement) if verification else None,
            "sqnr_db": _round(verification.sqnr_db, 3) if verification else None,
            "max_abs_error": _round(verification.max_abs_error) if verification else None,
            "cosine": _round(verification.cosine) if verification else None,
            # the output the five numbers above describe: the first class output, else the worst
            "summary_output": verification.summary.index if verification else None,
            "outputs": _outputs(verification),
            "emulated": final.emulation,
        },
        "io": _io_contract(final),
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


def _outputs(verification) -> list[dict[str, Any]] | None:
    """compressed.outputs: one row per output of the model, judged on its own (verify_outputs.py)."""
    if verification is None:
        return None
    keys = ("index", "name", "shape", "kind", "sqnr_db", "cosine", "max_abs_error", "agreement", "agreement_samples",
            "status")
    rows = []
    for output in verification.outputs:
        row = {key: value for key, value in output.to_dict().items() if key in keys}
        row.update(cosine=_round(output.cosine), max_abs_error=_round(output.max_abs_error),
                   agreement=_round(output.agreement))
        rows.append(row)
    return rows


def _with_layer_names(text: str, graph, stripped_names: tuple[str, ...] | None = None) -> str:
    """Long litert-torch tensor names in a warning replaced by the module paths they record;
    the short ``t<index>`` names of a stripped file (Vela reads the file) mapped back too."""
    import re

    from ..tflite.names import layer_path

    for op in sorted(graph.ops, key=lambda op: -len(op.name)):
        if len(op.name) > 40 and op.name in text:
            text = text.replace(op.name, layer_path(op.name) or op.name)
    if stripped_names:
        def original(match: re.Match) -> str:
            index = int(match.group(1))
            name = stripped_names[index] if index < len(stripped_names) else ""
            return f"({layer_path(name) or name.split(';')[0]})" if name else match.group(0)

        text = re.sub(r"\(t(\d+)\)", original, text)
    return text


def _breakdown(path: Path) -> dict[str, int] | None:
    """Where the file's bytes go (tflite_size.py); None for a file it cannot read."""
    from ..errors import CompressorError
    from ..tflite.size import size_breakdown

    try:
        return size_breakdown(path)
    except (CompressorError, ValueError):
        return None


def _io_contract(final) -> dict[str, Any] | None:
    """What the artifact takes and gives: dtype, shape, layout, scale and zero-point per tensor."""
    if final.verification is None:
        return None
    layout = getattr(final, "layout", "nchw")
    tensors = {kind: [{**spec, "layout": _tensor_layout(spec["shape"], layout)} for spec in specs]
               for kind, specs in final.verification.io.items()}
    return {"layout": layout, **tensors}


def _tensor_layout(shape: list[int], layout: str) -> str:
    names = {4: ("NCHW", "NHWC"), 3: ("NCL", "NLC")}.get(len(shape))
    return "-" if names is None else names[layout == "nhwc"]  # N×F vectors have no channel axis to move


def _summary(result) -> dict[str, Any]:
    full = result.to_dict()
    return {key: full[key] for key in ("latency_ms", "peak_ram_bytes", "flash_bytes", "energy_mj")}


def write_report_files(report: dict[str, Any], directory: Path) -> None:
    (directory / "report.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    (directory / "report.md").write_text(render_markdown(report))
    from .html import render_html  # matplotlib: load only when a report is written

    (directory / "report.html").write_text(render_html(report))
