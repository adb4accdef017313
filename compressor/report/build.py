"""The report: ``report.json`` (schema 1, documented in the README), ``report.md`` for people,
and the summary table the CLI prints.  Everything here formats; nothing computes costs.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from ..files import gzip_size

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


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def build_report(final, steps, *, recipe, inputs: dict[str, Any], warnings: list[str], target) -> dict[str, Any]:
    from ..cost import estimate
    from ..errors import TargetError
    from ..graph.ir import read_graph

    artifact = Path(final.path)
    float_path = Path(final.float_path)
    graph = final.graph if final.graph is not None else read_graph(artifact)
    float_graph = read_graph(float_path) if float_path != artifact else graph
    # After pruning, "original" is the unpruned model's float export (the prune pass wrote it).
    baseline = Path(final.original_path) if getattr(final, "original_path", None) else float_path
    if baseline != float_path:
        float_graph = read_graph(baseline)
    verification = final.verification
    notes = list(warnings)
    if verification is not None and not verification.passed:
        notes.append(f"Top-1 agreement {verification.agreement:.4f} is below --min-agreement "
                     f"{verification.min_agreement}: the report is marked FAILED.")
    for step in steps:
        for op in step.facts.get("float_ops", []):
            where = ", ".join(op.get("layers") or []) or op["name"]
            notes.append(f"{op['op']} ({where}) still computes in float.")
        notes += [str(w) for w in step.facts.get("warnings", [])]  # e.g. prune's shortfall
    if final.estimate is not None:
        notes += [f"{target.name}: {_with_layer_names(w, graph, final.tensor_names)}"
                  for w in getattr(final.estimate, "warnings", ())]
    try:
        original_estimate = estimate(float_graph, target, artifact_size_bytes=baseline.stat().st_size)
    except TargetError:
        original_estimate = None  # float ops on a target with no float rate (an int8-only NPU)
        notes.append(f"The float original cannot run on {target.name} (no float rate): no estimate for it.")
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


def _short_name(name: str) -> str:
    """A litert-torch tensor name as the module path it records (tflite_names.py)."""
    from ..tflite.names import layer_path

    return layer_path(name) or name[:60]


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
        *_target_rows(report),
    ]


def _target_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows for what only some targets have: emulated numerics, Vela's figures, tflite-micro's arena."""
    rows: list[tuple[str, str, str]] = []
    emulated = report["compressed"].get("emulated") or {}
    if emulated.get("samples"):
        rows += [("accuracy (reference int kernels)", "", _pct(emulated.get("accuracy"))),
                 ("top-1 agreement (reference int kernels)", "", _pct(emulated.get("agreement"))),
                 ("SQNR (reference int kernels)", "", f"{_num(emulated.get('sqnr_db'), '.1f')} dB"),
                 ("agreement with fast kernels", "", _pct(emulated.get("agreement_with_fast_kernels")))]
    estimate = report.get("estimate") or {}
    source = estimate.get("source") or {}
    if any(value != "estimate" for value in source.values()):
        rows.append(("sources (latency, RAM, flash, energy)", "",
                     ", ".join(source.get(k, "-") for k in ("latency_ms", "peak_ram_bytes", "flash_bytes", "energy_mj"))))
    vela = estimate.get("vela")
    if vela:
        rows += [(f"Vela {vela['accelerator_config']} cycles", "", f"{vela['cycles_total']:,}"),
                 ("Vela inference time", "", f"{vela['inference_time_ms']:.4f} ms"),
                 ("Vela SRAM used", "", _bytes(vela["sram_used_bytes"])),
                 ("Vela flash used", "", _bytes(vela["off_chip_flash_used_bytes"] + vela["on_chip_flash_used_bytes"])),
                 ("Vela NPU / CPU ops", "", f"{vela['npu_ops']} / {vela['cpu_ops']}")]
    if estimate.get("tflm_arena_bytes") is not None:
        rows += [("tflite-micro arena (measured)", "", _bytes(estimate["tflm_arena_bytes"])),
                 ("arena estimate / tflite-micro planned", "",
                  f"{_bytes(estimate['arena_estimate_bytes'])} / {_bytes(estimate['tflm_planned_bytes'])}")]
    return rows


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
        lines += [f"| {op['op']} | {_short_name(op.get('name', ''))} | {op['macs']:,} | {op['latency_ms']:.4f} | "
                  f"{op.get('bound', '')} |" for op in slowest]
    lines += io_markdown(report)
    lines += int8_markdown(report)
    lines += size_markdown(report)
    lines += prune_markdown(report)
    lines += dsconv_markdown(report)
    lines += ["", f"Artifact sha256: `{report['sha256']}`", ""]
    return "\n".join(lines)


def int8_markdown(report: dict[str, Any]) -> list[str]:
    """Where the int8 graph runs, what stayed float and why, and the layers that lose most."""
    step = next((s for s in report["steps"] if s["name"] == "int8"), None)
    if not step or "remedies" not in step:
        return []
    lines = ["", "## int8", ""]
    delegation = step.get("delegation")
    if delegation:
        left = ", ".join(f"{n['op']}:{n['dtype']}" for n in delegation["not_delegated"]) or "none"
        lines.append(f"- XNNPACK takes {delegation['nodes_delegated']} of {delegation['nodes_total']} ops in "
                     f"{delegation['partitions']} partition(s); left out: {left}")
    for key, why in (("float_for_speed", "kept float because XNNPACK has no int8 kernel for it"),
                     ("float_ops", "computes in float")):
        for op in step.get(key) or []:
            lines.append(f"- {op['op']} `{', '.join(op.get('layers') or []) or op['name'][:60]}`: {why}")
    tried = step["remedies"]["tried"]
    lines.append("- accuracy remedies: " + ("; ".join(
        f"{t['remedy']} {t['sqnr_db'] if t['sqnr_db'] is not None else '-'} dB" + (" (kept)" if t["kept"] else "")
        for t in tried) if len(tried) > 1 else f"none needed (plain int8 {tried[0]['sqnr_db']} dB)"))
    rows = step["remedies"].get("sensitivity") or []
    if rows:
        lines += ["", "Per-layer sensitivity (SQNR of each op's output, int8 against float, worst first):", "",
                  "| layer | op | SQNR dB | own SQNR dB (this op's loss alone) | dtype |", "|---|---|---:|---:|---|"]
        lines += [f"| {r['layer'] or r['name'][:40]} | {r['op']} | {r['sqnr_db']:.1f} | {r['own_sqnr_db']:.1f} | "
                  f"{r['dtype']} |" for r in rows]
    return lines


def size_markdown(report: dict[str, Any]) -> list[str]:
    before, after = report["original"].get("size_breakdown"), report["compressed"].get("size_breakdown")
    if not before or not after:
        return []
    lines = ["", "## Where the bytes go", "", "| part | fp32 original | compressed |", "|---|---:|---:|"]
    for part in after:
        lines.append(f"| {part} | {before.get(part, 0):,} B | {after[part]:,} B |")
    lines.append(f"| **total** | {sum(before.values()):,} B | {sum(after.values()):,} B |")
    return lines


def io_markdown(report: dict[str, Any]) -> list[str]:
    io = report.get("io")
    if not io:
        return []
    lines = ["", "## Inputs and outputs", "",
             "Quantized tensors: real value = scale × (q − zero_point).", "",
             "| tensor | name | dtype | shape | layout | scale | zero-point |", "|---|---|---|---|---|---:|---:|"]
    for kind in ("inputs", "outputs"):
        for spec in io.get(kind, []):
            scale = f"{spec['scale']:.6g}" if spec["scale"] else "-"
            zero = str(spec["zero_point"]) if spec["scale"] else "-"
            lines.append(f"| {kind[:-1]} | {spec['name']} | {spec['dtype']} | {'×'.join(map(str, spec['shape']))} | "
                         f"{spec['layout']} | {scale} | {zero} |")
    return lines


def prune_markdown(report: dict[str, Any]) -> list[str]:
    """The pruning section: amounts asked and reached, per layer, skipped layers, recovery."""
    step = next((s for s in report["steps"] if s["name"] == "prune"), None)
    if step is None:
        return []
    exported = next((s.get("float_size_bytes") for s in report["steps"] if s["name"] == "export"), None)
    lines = ["", "## Pruning", "",
             f"- method **{step['method']}**, requested {_pct(step['requested'])}, achieved "
             f"{_pct(step['achieved'])} ({'channels' if step['method'] == 'channels' else 'weights'}"
             f" of the pruned layers); layers: {step.get('layers_selected', 'all')}",
             f"- parameters {step['params_before']:,} -> {step['params_after']:,} "
             f"({step['params_after'] / max(step['params_before'], 1):.2f}x), MACs {step['macs_before']:,} -> "
             f"{step['macs_after']:,} ({step['macs_after'] / max(step['macs_before'], 1):.2f}x), "
             f"float file {_bytes(step.get('float_size_bytes_before'))} -> {_bytes(exported)}"]
    lines += [f"- {note}" for note in step.get("notes", [])]
    recovery = step.get("recovery")
    if recovery:
        lines.append(f"- recovery: {recovery['epochs']} epochs ({recovery['steps']} steps, {recovery['loss']}), "
                     f"loss {recovery['loss_first']} -> {recovery['loss_last']}, {recovery['seconds']:.1f} s")
    else:
        lines.append("- recovery: none (--finetune-epochs 0)")
    lines += ["", "| layer | kind | weights | requested | achieved | skipped because |", "|---|---|---:|---:|---:|---|"]
    lines += [f"| {layer['name']} | {layer['kind']} | {layer['params']:,} | {_pct(layer['requested'])} | "
              f"{_pct(layer['achieved'])} | {layer['skipped'] or ''} |" for layer in step.get("layers", [])]
    table = step.get("sensitivity")
    if table:
        amounts = list(table[0]["errors"])
        lines += ["", "Sensitivity scan (output error vs the unpruned model when one group loses that fraction "
                  "of its channels):", "",
                  "| group | channels | " + " | ".join(f"error @{a}" for a in amounts) + " | allocated |",
                  "|---|---:|" + "---:|" * len(amounts) + "---:|"]
        lines += [f"| {row['layer']} | {row['channels']} | " + " | ".join(f"{row['errors'][a]:.4f}" for a in amounts)
                  + f" | {_pct(row['allocated'])} |" for row in table]
    return lines


def dsconv_markdown(report: dict[str, Any]) -> list[str]:
    """The depthwise-separable section: per layer rank, MACs, estimated latency, errors; skipped layers."""
    step = next((s for s in report["steps"] if s["name"] == "dsconv"), None)
    if step is None:
        return []
    before, after = step["macs_before"], step["macs_after"]
    lines = ["", "## Depthwise-separable substitution", "",
             f"- mode **{step['mode']}**, rank {step['rank_setting']}, error bound {step['max_error']:g}; "
             f"{step['substituted']} layers substituted ({step['model_form']} model, costed as {step['dtype_costed']} "
             f"on {report['target']})",
             f"- MACs of the substituted layers {before:,} -> {after:,} ({after / max(before, 1):.2f}x); estimated "
             f"latency {_num(step['latency_before_ms'], '.4f')} -> {_num(step['latency_after_ms'], '.4f')} ms"]
    recovery = step.get("recovery")
    if recovery:
        lines.append(f"- recovery: {recovery['epochs']} epochs ({recovery['steps']} steps, {recovery['loss']}), "
                     f"loss {recovery['loss_first']} -> {recovery['loss_last']}, {recovery['seconds']:.1f} s")
    held = step.get("held_out") or {}
    if held.get("checked"):
        lines.append(f"- held-out {held['metric']} ({held['samples']} samples): original {_pct(held['original'])}, "
                     f"substituted {_pct(held['substituted'])} ({'passed' if held['passed'] else 'FAILED'})")
    lines += ["", "| layer | k | Cin | Cout | rank | MACs before | MACs after | est. ms dense | est. ms pair | "
              "error init | error recovered | skipped because |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in step.get("layers", []):
        k = "x".join(str(v) for v in row["k"])
        lines.append(f"| {row['name']} | {k} | {row['cin']} | {row['cout']} | {row['rank'] or '-'} | "
                     f"{row['macs_before']:,} | {row['macs_after']:,} | {_num(row['latency_before_ms'], '.4f')} | "
                     f"{_num(row['latency_after_ms'], '.4f')} | {_num(row['error_init'])} | "
                     f"{_num(row.get('error_after_recovery'))} | {row['skipped'] or ''} |")
    return lines


def write_report_files(report: dict[str, Any], directory: Path) -> None:
    (directory / "report.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    (directory / "report.md").write_text(render_markdown(report))
    from .html import render_html  # matplotlib: load only when a report is written

    (directory / "report.html").write_text(render_html(report))
