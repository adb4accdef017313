"""``compress bench``: measure an artifact's latency and peak RSS on this machine.

    compress bench out/model.tflite
    compress bench model.onnx --runs 100 --warmup 10 --threads 2 --json
    compress bench rec.onnx --input-shape 1,3,48,320     # dynamic dims must be given
    compress bench silero_vad.onnx --input-shape "1,512;2,1,128;()" --input-value sr=16000

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
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout and nothing else there.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def bench_command(artifact: Path, runs: int, warmup: int, threads: int, input_shape: str | None,
                  input_values: tuple[str, ...], as_json: bool, debug: bool) -> None:
    """Median and p90 latency and peak RSS of ARTIFACT (.tflite in LiteRT, .onnx in onnxruntime) on this machine."""
    try:
        from ..data import parse_input_shapes, parse_input_values
        from ..measure.bench import bench_artifact

        shapes = parse_input_shapes(input_shape) if input_shape else None
        result = bench_artifact(artifact, runs=runs, warmup=warmup, threads=threads, input_shapes=shapes,
                                input_values=parse_input_values(input_values) or None)
    except Exception as error:
        sys.exit(_fail(error, debug=debug))
    if as_json:
        import json

        click.echo(json.dumps(result.to_dict(), indent=2))
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


