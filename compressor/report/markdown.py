"""The report for people in the terminal and in ``report.md``: the summary table (original vs
compressed) and the per-pass sections.  Everything here formats the report dict; nothing computes.
"""

from __future__ import annotations

from typing import Any

from .html_primitives import file_op_name

__all__ = ["OUTPUT_COLUMNS", "format_bytes", "format_number", "format_percent", "output_rows", "render_markdown",
           "render_table", "summary_rows"]

# The per-output table (report.compressed.outputs), shown when the model has more than one output.
OUTPUT_COLUMNS = ("output", "shape", "kind", "SQNR dB", "cosine", "max abs error", "top-1 agreement", "status")


def format_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def format_percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def format_number(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, original, compressed) rows shared by the terminal table and report.md."""
    o, c = report["original"], report["compressed"]
    oe, ce = o.get("estimate") or {}, report.get("estimate") or {}
    return [
        ("file size", format_bytes(o["size_bytes"]), format_bytes(c["size_bytes"])),
        ("gzip size", "-", format_bytes(c["gzip_bytes"])),
        ("parameters", f"{o['params']:,}", f"{c['params']:,}"),
        ("MACs", f"{o['macs']:,}", f"{c['macs']:,}"),
        ("accuracy", format_percent(o["accuracy"]), format_percent(c["accuracy"])),
        (f"top-1 agreement{_which(report)}", "", format_percent(c["agreement"])),
        (f"SQNR{_which(report)}", "", f"{format_number(c['sqnr_db'], '.1f')} dB"),
        (f"cosine{_which(report)}", "", format_number(c["cosine"], ".5f")),
        (f"latency on {report['target']} (est.)", f"{format_number(oe.get('latency_ms'))} ms", f"{format_number(ce.get('latency_ms'))} ms"),
        ("peak RAM (est.)", format_bytes(oe.get("peak_ram_bytes")), format_bytes(ce.get("peak_ram_bytes"))),
        ("flash (est.)", format_bytes(oe.get("flash_bytes")), format_bytes(ce.get("flash_bytes"))),
        ("energy (est.)", f"{format_number(oe.get('energy_mj'), '.4f')} mJ", f"{format_number(ce.get('energy_mj'), '.4f')} mJ"),
        *_target_rows(report),
    ]


def _which(report: dict[str, Any]) -> str:
    """" (output 2)" when the model has several outputs: the one the top-level numbers describe."""
    c = report["compressed"]
    if len(c.get("outputs") or []) < 2 or c.get("summary_output") is None:
        return ""
    return f" (output {c['summary_output']})"


def output_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per output (OUTPUT_COLUMNS) when there are several; [] for a single output."""
    outputs = report["compressed"].get("outputs") or []
    if len(outputs) < 2:
        return []
    return [(f"{o['index']} {o['name']}", "×".join(map(str, o["shape"])), o["kind"],
             format_number(o["sqnr_db"], ".1f"), format_number(o["cosine"], ".5f"),
             format_number(o["max_abs_error"], ".4g"), format_percent(o["agreement"]), o["status"])
            for o in outputs]


def _target_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows for what only some targets have: emulated numerics, Vela's figures, tflite-micro's arena."""
    rows: list[tuple[str, str, str]] = []
    emulated = report["compressed"].get("emulated") or {}
    if emulated.get("samples"):
        rows += [("accuracy (reference int kernels)", "", format_percent(emulated.get("accuracy"))),
                 ("top-1 agreement (reference int kernels)", "", format_percent(emulated.get("agreement"))),
                 ("SQNR (reference int kernels)", "", f"{format_number(emulated.get('sqnr_db'), '.1f')} dB"),
                 ("agreement with fast kernels", "", format_percent(emulated.get("agreement_with_fast_kernels")))]
    estimate = report.get("estimate") or {}
    source = estimate.get("source") or {}
    if any(value != "estimate" for value in source.values()):
        rows.append(("sources (latency, RAM, flash, energy)", "",
                     ", ".join(source.get(k, "-") for k in ("latency_ms", "peak_ram_bytes", "flash_bytes", "energy_mj"))))
    vela = estimate.get("vela")
    if vela:
        rows += [(f"Vela {vela['accelerator_config']} cycles", "", f"{vela['cycles_total']:,}"),
                 ("Vela inference time", "", f"{vela['inference_time_ms']:.4f} ms"),
                 ("Vela SRAM used", "", format_bytes(vela["sram_used_bytes"])),
                 ("Vela flash used", "", format_bytes(vela["off_chip_flash_used_bytes"] + vela["on_chip_flash_used_bytes"])),
                 ("Vela NPU / CPU ops", "", f"{vela['npu_ops']} / {vela['cpu_ops']}")]
    if estimate.get("tflm_arena_bytes") is not None:
        rows += [("tflite-micro arena (measured)", "", format_bytes(estimate["tflm_arena_bytes"])),
                 ("arena estimate / tflite-micro planned", "",
                  f"{format_bytes(estimate['arena_estimate_bytes'])} / {format_bytes(estimate['tflm_planned_bytes'])}")]
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
    rows = output_rows(report)
    if not rows:
        return table
    from rich.console import Group

    outputs = Table(title="per output (class outputs: top-1 agreement too)")
    for column in OUTPUT_COLUMNS:
        outputs.add_column(column, justify="left" if column in ("output", "shape", "kind", "status") else "right")
    for row in rows:
        outputs.add_row(*row[:-1], row[-1] if row[-1] == "ok" else f"[bold red]{row[-1]}[/]")
    return Group(table, outputs)


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# {report['artifact']} for {report['target']}: {report['status']}", ""]
    lines += ["## Summary", "", "| metric | fp32 original | compressed |", "|---|---:|---:|"]
    lines += [f"| {m} | {a} | {b} |" for m, a, b in summary_rows(report)]
    lines += ["", "Latency, RAM, flash and energy are estimates from the target profile's cost model, "
              "not host measurements.", ""]
    rows = output_rows(report)
    if rows:
        lines += ["## Outputs", "", "Each output against the original's; top-1 agreement only for class "
                  "outputs (softmax / log-softmax, K classes in the labels, or --classifier-output).", "",
                  "| " + " | ".join(OUTPUT_COLUMNS) + " |", "|---|---|---|---:|---:|---:|---:|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    if report["warnings"]:
        from .warnings import group_warnings

        lines += ["## Warnings", ""]
        for group in group_warnings(report):
            lines.append(f"- {group.headline}")
            if len(group.items) > 1:
                lines += ["  <details><summary>details</summary>", ""] + [f"  - {w}" for w in group.items] + ["  </details>"]
        lines.append("")
    lines += ["## Steps", ""]
    for step in report["steps"]:
        facts = ", ".join(f"{k}={v}" for k, v in step.items()
                          if k not in ("name", "seconds") and not isinstance(v, (list, dict)))
        lines.append(f"- **{step['name']}** ({step['seconds']:.2f} s): {facts}")
    estimate = report.get("estimate")
    if estimate and estimate.get("per_op"):
        slowest = sorted(estimate["per_op"], key=lambda op: -op["latency_ms"])[:15]
        lines += ["", "## Slowest ops (estimated)", "", "| op | name | MACs | latency ms | bound |",
                  "|---|---|---:|---:|---|"]
        lines += [f"| {op['op']} | {_short_name(file_op_name(op))} | {op['macs']:,} | {op['latency_ms']:.4f} | "
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
             f"- method **{step['method']}**, requested {format_percent(step['requested'])}, achieved "
             f"{format_percent(step['achieved'])} ({'channels' if step['method'] == 'channels' else 'weights'}"
             f" of the pruned layers); layers: {step.get('layers_selected', 'all')}",
             f"- parameters {step['params_before']:,} -> {step['params_after']:,} "
             f"({step['params_after'] / max(step['params_before'], 1):.2f}x), MACs {step['macs_before']:,} -> "
             f"{step['macs_after']:,} ({step['macs_after'] / max(step['macs_before'], 1):.2f}x), "
             f"float file {format_bytes(step.get('float_size_bytes_before'))} -> {format_bytes(exported)}"]
    lines += [f"- {note}" for note in step.get("notes", [])]
    recovery = step.get("recovery")
    if recovery:
        lines.append(f"- recovery: {recovery['epochs']} epochs ({recovery['steps']} steps, {recovery['loss']}), "
                     f"loss {recovery['loss_first']} -> {recovery['loss_last']}, {recovery['seconds']:.1f} s")
    else:
        lines.append("- recovery: none (--finetune-epochs 0)")
    lines += ["", "| layer | kind | weights | requested | achieved | skipped because |", "|---|---|---:|---:|---:|---|"]
    lines += [f"| {layer['name']} | {layer['kind']} | {layer['params']:,} | {format_percent(layer['requested'])} | "
              f"{format_percent(layer['achieved'])} | {layer['skipped'] or ''} |" for layer in step.get("layers", [])]
    table = step.get("sensitivity")
    if table:
        amounts = list(table[0]["errors"])
        lines += ["", "Sensitivity scan (output error vs the unpruned model when one group loses that fraction "
                  "of its channels):", "",
                  "| group | channels | " + " | ".join(f"error @{a}" for a in amounts) + " | allocated |",
                  "|---|---:|" + "---:|" * len(amounts) + "---:|"]
        lines += [f"| {row['layer']} | {row['channels']} | " + " | ".join(f"{row['errors'][a]:.4f}" for a in amounts)
                  + f" | {format_percent(row['allocated'])} |" for row in table]
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
             f"latency {format_number(step['latency_before_ms'], '.4f')} -> {format_number(step['latency_after_ms'], '.4f')} ms"]
    recovery = step.get("recovery")
    if recovery:
        lines.append(f"- recovery: {recovery['epochs']} epochs ({recovery['steps']} steps, {recovery['loss']}), "
                     f"loss {recovery['loss_first']} -> {recovery['loss_last']}, {recovery['seconds']:.1f} s")
    held = step.get("held_out") or {}
    if held.get("checked"):
        lines.append(f"- held-out {held['metric']} ({held['samples']} samples): original {format_percent(held['original'])}, "
                     f"substituted {format_percent(held['substituted'])} ({'passed' if held['passed'] else 'FAILED'})")
    lines += ["", "| layer | k | Cin | Cout | rank | MACs before | MACs after | est. ms dense | est. ms pair | "
              "error init | error recovered | skipped because |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in step.get("layers", []):
        k = "x".join(str(v) for v in row["k"])
        lines.append(f"| {row['name']} | {k} | {row['cin']} | {row['cout']} | {row['rank'] or '-'} | "
                     f"{row['macs_before']:,} | {row['macs_after']:,} | {format_number(row['latency_before_ms'], '.4f')} | "
                     f"{format_number(row['latency_after_ms'], '.4f')} | {format_number(row['error_init'])} | "
                     f"{format_number(row.get('error_after_recovery'))} | {row['skipped'] or ''} |")
    return lines


def _short_name(name: str) -> str:
    """A litert-torch tensor name as the module path it records (tflite_names.py)."""
    from ..tflite.names import layer_path

    return layer_path(name) or name[:60]
