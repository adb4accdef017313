#!/usr/bin/env python3
"""Where an .onnx estimate is off, op type by op type: onnxruntime's own per-node profiler
against the cost model's per-op estimate.

    python scripts/ort_op_profile.py C/convnext_t.onnx C/mixer_s32.onnx
    python scripts/ort_op_profile.py C/*.onnx --top 25 --json out.json

Each file runs in onnxruntime's CPU provider with one intra-op thread and
``SessionOptions.enable_profiling`` (the ``*_kernel_time`` event of every node, median over
``--runs`` runs after a warm-up, random inputs at the file's shapes, dynamic dims 1) and is
estimated by ``compress profile``'s model for ``--target`` (``estimate_artifact``: the graph
onnxruntime runs after its optimizations, the same node names).  The profiler's per-node times
carry its own overhead (a few microseconds a node), so small nodes read slow: compare the big
ones.  A diagnostic, not a fit: nothing it prints goes into a profile; the rates stay the
microbenchmarks' (``scripts/microbench_kernels.py``).  This is how the fused Gelu (6x over a
generic element-wise rate), onnxruntime's aliasing Reshape and the grouped convolutions were
found (README "How true is it?").
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def profile_nodes(path: Path, *, runs: int, shapes=None, trimmed: bool = False,
                  threads: int = 1, values: dict[str, float] | None = None) -> dict[str, tuple[str, float]]:
    """node name -> (op type, median kernel ms) from onnxruntime's profiler, ``threads`` intra-op threads;
    ``shapes`` (one per input, as --input-shape) for the dynamic dims, else they run as 1; ``values``
    (input name -> number, as --input-value) fill those inputs.
    ``trimmed``: the mean of the middle half of the runs instead of the median -- the profiler
    counts whole microseconds, and a mean over many runs reads between them (a 3.4 us kernel
    shows 3 in most runs, 4-5 in the rest)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    with tempfile.TemporaryDirectory(prefix="ortprof.") as work:  # the trace, removed with it
        options.profile_file_prefix = str(Path(work) / "p")
        return _profile(path, options, runs=runs, shapes=shapes, trimmed=trimmed, values=values)


def _profile(path: Path, options, *, runs: int, shapes, trimmed: bool, values=None) -> dict[str, tuple[str, float]]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = bench_feeds(session, path, shapes, values)
    for _ in range(runs + 3):
        session.run(None, feeds)
    trace = session.end_profiling()
    events = json.loads(Path(trace).read_text())
    times: dict[str, list[float]] = collections.defaultdict(list)
    kinds: dict[str, str] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            name = event["name"][: -len("_kernel_time")]
            times[name].append(event["dur"] / 1e3)
            kinds[name] = event["args"]["op_name"]
    return {name: (kinds[name], _middle_mean(ms) if trimmed else statistics.median(ms)) for name, ms in times.items()}


def bench_feeds(session, path: Path, shapes=None, values: dict[str, float] | None = None) -> dict:
    """The inputs of an onnxruntime session of the file at ``path`` as compress bench feeds them
    (``bench.onnx_feed``); ``shapes`` (one per input, as --input-shape) for the dynamic dims, else
    they run as 1; ``values`` (input name -> number) fill those inputs instead."""
    from compressor.measure.bench import onnx_feed

    dims = list(shapes) if shapes else [[d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
                                        for i in session.get_inputs()]
    return onnx_feed(session, path, tuple(tuple(d) for d in dims), values)[0]


def _middle_mean(values: list[float]) -> float:
    """The mean of the middle half of ``values`` (all of them when fewer than 4)."""
    ordered = sorted(values)
    quarter = len(ordered) // 4
    return statistics.fmean(ordered[quarter: len(ordered) - quarter])


def compare(path: Path, target: str, *, runs: int, shapes=None, threads: int = 1,
            values: dict[str, float] | None = None) -> dict:
    from real_model_fidelity import target_with_threads

    from compressor.measure.estimate import estimate_artifact
    from compressor.targets.load import load_target

    measured = profile_nodes(path, runs=runs, shapes=shapes, threads=threads, values=values)
    estimate = estimate_artifact(path, target_with_threads(load_target(target), threads), input_shapes=shapes,
                                 input_values=values)
    by_type: dict[str, dict[str, float]] = collections.defaultdict(lambda: {"measured_ms": 0.0, "predicted_ms": 0.0})
    for op_type, ms in measured.values():
        by_type[op_type]["measured_ms"] += ms
    for op in estimate.kernels.ops:
        by_type[op.op_type]["predicted_ms"] += op.latency_ms
    predicted = {op.name: op.latency_ms for op in estimate.kernels.ops}
    nodes = [{"node": name, "op_type": op_type, "measured_ms": ms, "predicted_ms": predicted.get(name)}
             for name, (op_type, ms) in measured.items()]
    return {"file": str(path), "measured_ms": sum(ms for _, ms in measured.values()),
            "predicted_ms": estimate.latency_ms, "by_op_type": dict(by_type), "nodes": nodes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("files", nargs="+", type=Path, help=".onnx files")
    parser.add_argument("--target", default="host-x86")
    parser.add_argument("--runs", type=int, default=15, help="profiled runs per file (after 3 warm-up runs)")
    parser.add_argument("--top", type=int, default=15, help="op types to print, largest |predicted - measured| first")
    parser.add_argument("--json", type=Path, help="also write the per-file, per-op-type table")
    parser.add_argument("--input-shape", help="the inputs' shapes, as compress --input-shape (1,3,48,192), "
                                              "for files with dynamic dims; else those dims run as 1")
    parser.add_argument("--input-value", action="append", default=[], metavar="NAME=NUMBER",
                        help="fill input NAME with NUMBER (repeatable), as compress bench --input-value: an "
                             "index's range, a mode flag")
    parser.add_argument("--threads", type=int, default=1,
                        help="onnxruntime's intra-op threads, and the estimate's (the profiler's kernel times are wall)")
    parser.add_argument("--nodes", action="store_true", help="also print each file's nodes, largest miss first")
    args = parser.parse_args(argv)
    shapes = None
    if args.input_shape:
        from compressor.data.npz import parse_input_shapes

        shapes = parse_input_shapes(args.input_shape)
    from compressor.data import parse_input_values

    values = parse_input_values(tuple(args.input_value)) or None
    results = []
    for path in args.files:
        if path.suffix != ".onnx" or not path.is_file():
            print(f"{path}: not an .onnx file, skipped", file=sys.stderr)
            continue
        try:
            result = compare(path, args.target, runs=args.runs, shapes=shapes, threads=args.threads, values=values)
        except Exception as error:  # noqa: BLE001 - onnxruntime's or the reader's words, per file
            print(f"{path}: skipped: {type(error).__name__}: {str(error).splitlines()[0][:200]}", file=sys.stderr)
            continue
        results.append(result)
        print(f"{path.name}: profiler {result['measured_ms']:.3f} ms (node sum), estimate {result['predicted_ms']:.3f} ms",
              file=sys.stderr)
        if args.nodes:
            for node in sorted(result["nodes"], key=lambda n: -abs((n["predicted_ms"] or 0) - n["measured_ms"]))[: args.top]:
                guess = "not costed" if node["predicted_ms"] is None else f"{node['predicted_ms']:.4f} ms"
                print(f"  {node['node']} ({node['op_type']}): profiler {node['measured_ms']:.4f} ms, estimate {guess}")
    totals: dict[tuple[str, bool], dict[str, float]] = collections.defaultdict(
        lambda: {"measured_ms": 0.0, "predicted_ms": 0.0, "files": 0})
    for result in results:
        int8 = ".int8." in Path(result["file"]).name or "int8" in Path(result["file"]).stem.split("_")
        for op_type, t in result["by_op_type"].items():
            row = totals[(op_type, int8)]
            row["measured_ms"] += t["measured_ms"]
            row["predicted_ms"] += t["predicted_ms"]
            row["files"] += 1
    print("| op type | file kind | files | profiler ms | estimate ms | estimate / profiler |\n|---|---|---|---|---|---|")
    ranked = sorted(totals.items(), key=lambda kv: -abs(kv[1]["predicted_ms"] - kv[1]["measured_ms"]))
    for (op_type, int8), t in ranked[: args.top]:
        ratio = t["predicted_ms"] / t["measured_ms"] if t["measured_ms"] else float("inf")
        print(f"| {op_type} | {'int8' if int8 else 'fp32'} | {t['files']} | {t['measured_ms']:.3f} | "
              f"{t['predicted_ms']:.3f} | {ratio:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
