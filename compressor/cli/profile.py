"""``compress profile``: what an exported artifact costs on a target, and where each figure comes from.

    compress profile model.tflite --target ethos-u55-256
    compress profile model.onnx --target android-arm64 --json
    compress profile det.onnx --target host-x86 --input-shape 1,3,640,640   # dynamic dims

The same ``estimate_artifact`` the compress pipeline's estimate uses: the cost model, the
kernel check, Vela for Ethos-U targets and tflite-micro's arena for MCU targets.  Exit
codes: 0 done, 2 bad input (one line on stderr; ``--debug`` for the traceback), 3 an
internal error.  Parsing and printing only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import EXIT_OK
from .common import fail as _fail

__all__ = ["profile_command"]



@click.command("profile", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("artifact", metavar="ARTIFACT", type=click.Path(path_type=Path))
@click.option("--target", "-t", required=True, help="Target name (see `compress targets`) or a target .toml file.")
@click.option("--input-shape", help="Input shape(s) for dynamic dims, as `compress`: 1,3,48,320; one per input: 1,3,32,32;1,16. A dynamic batch dim is 1 unless given.")
@click.option("--input-value", "input_values", multiple=True, metavar="NAME=NUMBER",
              help="Input NAME's value where an If's branch depends on it (repeatable), as `compress bench` feeds it: "
              "a sample rate, a mode flag. Without it such a branch is the one holding more weights.")
@click.option("--threads", type=click.IntRange(min=1), metavar="N",
              help="Runtime threads on a CPU target, as `compress bench --threads` runs it [the profile's own].")
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON on stdout and nothing else there.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def profile_command(artifact: Path, target: str, input_shape: str | None, input_values: tuple[str, ...],
                    threads: int | None, as_json: bool, debug: bool) -> None:
    """Profile a .tflite/.onnx on a target: latency, peak RAM, flash, energy, where ops run."""
    try:
        from ..data import parse_input_shapes, parse_input_values
        from ..errors import ExportError
        from ..files import artifact_suffix
        from ..measure.estimate import estimate_artifact

        if artifact_suffix(artifact) not in (".tflite", ".onnx"):
            raise ExportError(f"{artifact}: not a model artifact (expected a .tflite or .onnx file)")
        shapes = parse_input_shapes(input_shape) if input_shape else None
        result = estimate_artifact(artifact, target, strict=True, input_shapes=shapes, threads=threads,
                                   input_values=parse_input_values(input_values) or None)
    except Exception as error:
        sys.exit(_fail(error, debug=debug))
    data = {"artifact": str(artifact), "target": result.target, **result.to_dict()}
    if as_json:
        import json

        click.echo(json.dumps(data, indent=2))
    else:
        from rich.console import Console

        console = Console(highlight=False)
        console.print(render_profile_table(data))
        for warning in data["warnings"]:
            console.print(f"[yellow]warning:[/] {warning}")
    sys.exit(EXIT_OK)


def render_profile_table(data: dict):
    """A rich Table of one profile: the figures, their sources, Vela's and tflite-micro's detail."""
    from rich.table import Table

    from ..report.markdown import format_bytes, format_number

    threads = data.get("threads", 1)
    table = Table(title=f"{Path(data['artifact']).name} on {data['target']}"
                  + (f", {threads} threads" if threads > 1 else ""))
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("source")
    model = data["model_estimate"]
    rows = [("latency", f"{format_number(data['latency_ms'])} ms", "latency_ms", f"{format_number(model['latency_ms'])} ms"),
            ("peak RAM", format_bytes(data["peak_ram_bytes"]), "peak_ram_bytes", format_bytes(model["peak_ram_bytes"])),
            ("flash", format_bytes(data["flash_bytes"]), "flash_bytes", format_bytes(model["flash_bytes"])),
            ("energy", f"{format_number(data['energy_mj'], '.4f')} mJ", "energy_mj", f"{format_number(model['energy_mj'], '.4f')} mJ")]
    for label, value, key, estimate in rows:
        source = data["source"][key]
        table.add_row(label, value, source if source == "estimate" else f"{source} (model estimate {estimate})")
    table.add_row("ops on target / CPU fallback", f"{data['ops_on_target']} / {data['ops_on_cpu_fallback']}",
                  "kernel check")
    vela = data.get("vela")
    if vela:
        table.add_row("Vela cycles", f"{vela['cycles_total']:,}", f"Vela {vela['version']}, {vela['accelerator_config']}")
        table.add_row("Vela inference time", f"{vela['inference_time_ms']:.4f} ms",
                      f"{vela['system_config']} @ {vela['clock_hz'] / 1e6:.0f} MHz")
        table.add_row("Vela SRAM used", format_bytes(vela["sram_used_bytes"]), vela["memory_mode"])
        flash = vela["off_chip_flash_used_bytes"] + vela["on_chip_flash_used_bytes"]
        table.add_row("Vela flash used", format_bytes(flash), "weights and command stream read by the NPU")
        table.add_row("Vela NPU / CPU ops", f"{vela['npu_ops']} / {vela['cpu_ops']}", "as Vela counts them")
    if data.get("tflm_arena_bytes") is not None:
        table.add_row("tflite-micro arena", format_bytes(data["tflm_arena_bytes"]),
                      f"planned {data['tflm_planned_bytes']:,} B + runtime {data['tflm_persistent_bytes']:,} B")
        table.add_row("arena estimate", format_bytes(data["arena_estimate_bytes"]),
                      f"{data['arena_estimate_ratio']:.3f} x tflite-micro's planned arena")
    return table


