"""``compress bench``: measure an artifact's latency and peak RSS on this machine.

    compress bench out/model.tflite
    compress bench model.onnx --runs 100 --warmup 10 --threads 2 --json
    compress bench rec.onnx --input-shape 1,3,48,320     # dynamic dims must be given
    compress bench silero_vad.onnx --input-shape "1,512;2,1,128;()" --input-value sr=16000
    compress bench model.onnx --threads 2 --target host-x86   # and the estimate beside it

``--target`` costs the same file at the same input shapes and thread count on a CPU target
(``compress profile --threads``) and prints the estimate beside the measurement, as
estimate / measured median: how far the target's rates are off on this machine, on your model.

Exit codes: 0 measured, 2 bad input (one line on stderr naming the file and the problem;
``--debug`` for the traceback), 3 an internal error.  Parsing and printing only: the
measuring lives in ``bench.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import fail as _fail

__all__ = ["bench_command"]



@click.command("bench", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("artifact", type=click.Path(path_type=Path))
@click.option("--runs", type=int, default=50, show_default=True, help="Timed runs.")
@click.option("--warmup", type=int, default=5, show_default=True, help="Untimed runs before them.")
@click.option("--threads", type=int, default=1, show_default=True, help="Runtime threads.")
@click.option("--input-shape", help="Input shape(s) for dynamic dims, as `compress`: 1,3,48,320; one per input: 1,3,32,32;1,16. A dynamic batch dim is 1 unless given.")
@click.option("--input-value", "input_values", multiple=True, metavar="NAME=NUMBER",
              help="Feed input NAME this value instead of random ones (repeatable): a sample rate, a length, a mask.")
@click.option("--target", "-t", help="Also cost the file on this CPU target (same shapes and threads) and print "
              "estimate / measured: host-x86 for this machine.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout and nothing else there.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def bench_command(artifact: Path, runs: int, warmup: int, threads: int, input_shape: str | None,
                  input_values: tuple[str, ...], target: str | None, as_json: bool, debug: bool) -> None:
    """Median and p90 latency and peak RSS of ARTIFACT (.tflite in LiteRT, .onnx in onnxruntime) on this machine."""
    try:
        from ..data import parse_input_shapes, parse_input_values
        from ..measure.bench import bench_artifact

        shapes = parse_input_shapes(input_shape) if input_shape else None
        profile = _cpu_target(target, threads) if target else None  # a bad target fails before the timing
        values = parse_input_values(input_values) or None
        result = bench_artifact(artifact, runs=runs, warmup=warmup, threads=threads, input_shapes=shapes,
                                input_values=values)
        estimate = _estimate_beside(artifact, profile, result, values) if profile else None
    except Exception as error:
        sys.exit(_fail(error, debug=debug))
    if as_json:
        import json

        click.echo(json.dumps({**result.to_dict(), **({"estimate": estimate} if estimate else {})}, indent=2))
        return
    mib = 1024 * 1024
    click.echo(f"{result.artifact} in {result.runtime}, {result.threads} thread(s), "
               f"{result.runs} runs after {result.warmup} warm-up, input shape(s) "
               f"{';'.join(','.join(map(str, s)) for s in result.input_shapes)}")
    for note in result.notes:
        click.echo(f"  note     {note}")
    click.echo(f"  latency  median {result.median_ms:.3f} ms  p90 {result.p90_ms:.3f} ms  "
               f"min {result.min_ms:.3f} ms  max {result.max_ms:.3f} ms")
    click.echo(f"  peak RSS {result.peak_rss_bytes / mib:.1f} MiB  (runtime alone {result.baseline_rss_bytes / mib:.1f} MiB, "
               f"model +{result.model_rss_bytes / mib:.1f} MiB)")
    click.echo(f"  cpu      {result.cpu}  (host figures, not a device's)")
    if estimate:
        ratio = f"{estimate['ratio']:.2f}x the measured median" if estimate["ratio"] is not None else "no median to compare"
        click.echo(f"  estimate {estimate['latency_ms']:.3f} ms on {estimate['target']}, {estimate['threads']} thread(s): "
                   f"{ratio}")
        for warning in estimate["warnings"]:
            click.echo(f"  warning  {warning}")
        if estimate["kernel_warnings"]:
            click.echo(f"  note     {estimate['kernel_warnings']} kernel warning(s) on {estimate['target']}: "
                       "`compress profile` lists them")


def _cpu_target(target: str, threads: int):
    """``target`` loaded to run ``threads`` threads; a CPU target only (bench times this machine's CPU)."""
    from ..errors import TargetError
    from ..targets.load import load_target, with_threads

    profile = load_target(target)
    if profile.kind != "cpu":
        raise TargetError(f"{profile.path}: --target {target}: a {profile.kind} target; bench times this machine's "
                          "CPU, so only a CPU target's estimate compares with it (compress profile costs any target)")
    return with_threads(profile, threads)


def _estimate_beside(artifact: Path, profile, result, values: dict[str, float] | None = None) -> dict:
    """The estimate of ``artifact`` on ``profile`` at the shapes (and input values) ``result`` was timed at, and its
    ratio to the measured median; its warnings but the per-kernel ones (``compress profile``
    lists those), and first, on a target that describes another machine, that the ratio is no error."""
    import platform

    from ..measure.estimate import estimate_artifact

    estimate = estimate_artifact(artifact, profile, strict=False, input_shapes=result.input_shapes or None,
                                 input_values=values or None)
    per_kernel = {str(w) for w in estimate.kernels.warnings}  # channel padding and the like
    warnings = [w for w in estimate.warnings if w not in per_kernel]
    here = platform.machine()
    if profile.machine != here:  # a phone's or a Pi's estimate beside this machine's time
        device = f"an {profile.machine}" if profile.machine else "another"
        warnings.insert(0, f"{profile.name} describes {device} device ({profile.description}), this machine is "
                           f"{here}: the ratio compares that device with this one, not the estimate with the truth")
    return {"target": estimate.target, "threads": estimate.threads, "latency_ms": estimate.latency_ms,
            "ratio": estimate.latency_ms / result.median_ms if result.median_ms > 0 else None,
            "warnings": warnings, "kernel_warnings": len(per_kernel)}
