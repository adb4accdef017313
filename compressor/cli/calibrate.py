"""``compress calibrate``: fit a target profile to measured per-op timings.

    compress calibrate ort_profile.json --model model.onnx --target host-x86 --out my-host.toml
    compress calibrate pixel7_trace.json --model model.tflite --target android-arm64 --out pixel7.toml
    compress model.pt --target my-host.toml ...      # then use the calibrated profile

TRACE is an onnxruntime profiling JSON (``SessionOptions.enable_profiling = True``) or an
``edge-compressor-trace`` written by ``scripts/parse_benchmark_model.py`` from LiteRT's
``benchmark_model --enable_op_profiling=true`` on a device.  ``--model`` is the artifact the
traces timed (an edge-compressor-trace may name it itself).

Exit codes: 0 written, 2 bad input (one line on stderr naming the file and the problem;
``--debug`` for the traceback), 3 an internal error.  The fit lives in ``calibrate.py``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from .common import fail as _fail

__all__ = ["calibrate_command"]



@click.command("calibrate", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("traces", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="TRACE...")
@click.option("--target", "-t", required=True, help="Base target name or .toml file whose numbers are fitted.")
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), metavar="FILE.toml",
              help="Where to write the calibrated profile (inherits --target; pass it as --target later).")
@click.option("--model", "-m", type=click.Path(path_type=Path), metavar="ARTIFACT",
              help="The .onnx/.tflite the traces timed [the model an edge-compressor-trace names].")
@click.option("--json", "as_json", is_flag=True, help="Print the fitted numbers as JSON on stdout.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def calibrate_command(traces: tuple[Path, ...], target: str, out: Path, model: Path | None, as_json: bool,
                      debug: bool) -> None:
    """Fit --target's efficiency factors and dispatch overhead to TRACE... and write --out."""
    try:
        from ..calibrate.traces import read_trace
        from ..calibrate.write import calibrate

        loaded = [read_trace(path, model=model) for path in traces]
        words = [*map(str, traces), "--target", target, "--out", str(out), *(["--model", str(model)] if model else [])]
        command = "compress calibrate " + " ".join(shlex.quote(w) for w in words)
        result = calibrate(loaded, target=target, out=out, command=command)
    except Exception as error:
        sys.exit(_fail(error, debug=debug))
    fit = result.fit
    if as_json:
        import json

        click.echo(json.dumps({
            "out": str(result.out), "target": target,
            "dispatch_overhead_us": fit.dispatch_overhead_us,
            "efficiency": {f"{d}.{k}": v for (d, k), v in sorted(fit.efficiency.items())},
            "errors_before": list(fit.errors_before), "errors_after": list(fit.errors_after)}, indent=2))
        return
    for (dtype, kind), value in sorted(fit.efficiency.items()):
        click.echo(f"  efficiency.{dtype}.{kind:<16} {value:.4g}  ({fit.op_counts[(dtype, kind)]} ops)")
    click.echo(f"  dispatch_overhead_us{'':<14}{fit.dispatch_overhead_us:.4g}")
    median = lambda errors: sorted(abs(e) for e in errors)[len(errors) // 2] * 100  # noqa: E731
    click.echo(f"median |error| per timing: {median(fit.errors_before):.1f}% before, "
               f"{median(fit.errors_after):.1f}% after")
    click.echo(f"wrote {result.out}")


