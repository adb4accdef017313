#!/usr/bin/env python3
"""Each node of an .onnx timed alone in onnxruntime beside its estimate: which op does the model get wrong?

    python scripts/ort_node_times.py model.onnx
    python scripts/ort_node_times.py model.onnx --input-shape 1,257,1,2 --top 25 --json out.json

``scripts/op_breakdown.py`` does this for a ``.tflite``; ``scripts/ort_op_profile.py`` reads
onnxruntime's profiler, whose few microseconds of its own per node hide the small nodes of a
streaming model (a 1.2 ms speech enhancer of ~400 nodes profiles at 3.4 ms).  Here the graph
onnxruntime runs (its optimized model, ``graph.ort_optimized``: fused and NCHWc nodes as they run)
is run once on what ``compress bench`` feeds it, every tensor kept; then each node is cut out into a
file of its own -- its constant inputs as initializers, the others as inputs fed the values that run
produced -- and timed alone in onnxruntime's CPU provider on one thread, its optimizations off (the
node is already what runs): thread CPU time, the median of its runs, the lowest of ``--rounds`` passes,
less the same of a one-Identity file (the call's own cost).  A node alone runs with its inputs hot
and without its neighbours: the sum of the nodes alone against the whole file's time says how much
the graph adds.  Nodes whose inputs are all constant, and control flow (If, Loop, Scan), are not cut.
A node of a few microseconds reads ~1-2 us slow alone (its own inputs and outputs against the
Identity's: a Slice 2.9 us alone, ~1.0 in a chain of Slices): trust the large nodes, and for the
small ones a chain of them (``microbench_probes.py --probe gru-chain`` does that for a GRU).

The estimate is ``compress profile FILE --target T --threads 1``'s per-op latency less the runtime's
per-op dispatch (the one-Identity file's time holds a node's), matched by node name.  Nothing is fitted to what this prints; it is for finding what the cost model misses.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONTROL_FLOW = frozenset({"If", "Loop", "Scan"})


def _session(model_bytes: bytes, *, optimize: bool = False):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 4
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def run_ms(session, feed: dict, *, seconds: float, rounds: int) -> float:
    """The lowest over ``rounds`` passes of the median thread CPU time (ms) of ``session.run`` on ``feed``,
    the clock the kernel grids and the fidelity tables' one-thread rows use (a one-step GRU of 32 takes
    3.1 us of it and 6.2 of wall time)."""
    session.run(None, feed)  # warm-up
    best = float("inf")
    for _ in range(rounds):
        times, deadline = [], time.perf_counter() + seconds / rounds
        while time.perf_counter() < deadline or len(times) < 5:
            start = time.thread_time()
            session.run(None, feed)
            times.append(time.thread_time() - start)
        best = min(best, statistics.median(times))
    return best * 1e3


def tensors_of_run(model, feed: dict) -> dict:
    """Every tensor of one run of ``model`` (its graph inputs included) on ``feed``, by name."""
    import onnx

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    names = [name for node in probe.graph.node for name in node.output if name and name not in have]
    probe.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names)
    session = _session(probe.SerializeToString())
    fetched = [o.name for o in session.get_outputs()]
    return {**feed, **dict(zip(fetched, session.run(fetched, feed)))}


def cut_node(model, node, values: dict):
    """A model of ``node`` alone: its constant inputs as initializers, its others as inputs (their
    values as ``values`` holds them), its outputs as outputs; None where it cannot be cut."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    if node.op_type in CONTROL_FLOW or any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                                           for a in node.attribute):
        return None
    inits = {i.name: i for i in model.graph.initializer}
    dynamic = [name for name in dict.fromkeys(node.input) if name and name not in inits]
    if not dynamic or any(name not in values for name in dynamic):
        return None
    inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.asarray(values[name]).dtype),
                                            list(np.asarray(values[name]).shape)) for name in dynamic]
    outputs = [onnx.ValueInfoProto(name=name) for name in node.output if name]
    graph = helper.make_graph([node], "node", inputs, outputs,
                              initializer=[inits[name] for name in dict.fromkeys(node.input) if name in inits])
    cut = helper.make_model(graph, opset_imports=list(model.opset_import))
    cut.ir_version = model.ir_version
    return cut, {name: np.asarray(values[name]) for name in dynamic}


def node_times(path: Path, *, shapes=None, values=None, seconds: float = 0.3, rounds: int = 3) -> dict:
    """{"nodes": [{node, op_type, alone_ms}...], "whole_ms", "empty_ms", "optimized"} for the .onnx at ``path``."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    from ort_op_profile import bench_feeds

    from compressor.graph.ort_optimized import optimized_onnx

    optimized, why = optimized_onnx(path)
    source = optimized if optimized is not None else path
    model = onnx.load(str(source))
    whole = _session(path.read_bytes(), optimize=True)
    feed = bench_feeds(whole, path, shapes, values)
    whole_ms = run_ms(whole, feed, seconds=seconds * 4, rounds=rounds)
    ran = tensors_of_run(model, {name: feed[name] for name in feed if name in {i.name for i in model.graph.input}})
    empty = helper.make_model(helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "empty", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])]), opset_imports=[helper.make_opsetid("", 17)])
    empty_ms = run_ms(_session(empty.SerializeToString()), {"x": np.zeros(1, np.float32)}, seconds=seconds, rounds=rounds)
    nodes = []
    for i, node in enumerate(model.graph.node):
        name = node.name or (node.output[0] if node.output else f"node{i}")
        cut = cut_node(model, node, ran)
        if cut is None:
            nodes.append({"node": name, "op_type": node.op_type, "alone_ms": None})
            continue
        try:
            ms = run_ms(_session(cut[0].SerializeToString()), cut[1], seconds=seconds, rounds=rounds)
        except Exception as error:  # noqa: BLE001 - a node onnxruntime will not run alone: said, not timed
            nodes.append({"node": name, "op_type": node.op_type, "alone_ms": None, "error": str(error).splitlines()[0][:120]})
            continue
        nodes.append({"node": name, "op_type": node.op_type, "alone_ms": max(ms - empty_ms, 0.0)})
    return {"file": str(path), "optimized": optimized is not None, "why": why, "whole_ms": whole_ms,
            "empty_ms": empty_ms, "nodes": nodes}


def with_estimates(result: dict, path: Path, target: str, *, shapes=None, values=None) -> dict:
    """``result`` with each node's one-thread estimate less the runtime's dispatch (``predicted_ms``, None where
    not costed) and the file's."""
    from real_model_fidelity import target_with_threads

    from compressor.measure.estimate import estimate_artifact
    from compressor.targets.load import load_target

    profile = target_with_threads(load_target(target), 1)
    estimate = estimate_artifact(path, profile, input_shapes=shapes, input_values=values)
    # less the runtime's per-op dispatch, which the one-Identity file subtracted from each node's time
    dispatch_ms = profile.compute.runtime_cost("onnx").dispatch_overhead_us * 1e-3
    per_node = collections.defaultdict(float)
    for op in estimate.kernels.ops:
        per_node[op.name] += max(op.latency_ms - dispatch_ms, 0.0)
    for node in result["nodes"]:
        node["predicted_ms"] = per_node.get(node["node"])
    return {**result, "predicted_ms": estimate.latency_ms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("file", type=Path, help=".onnx file")
    parser.add_argument("--target", default="host-x86")
    parser.add_argument("--input-shape", help="the inputs' shapes, as compress --input-shape, for dynamic dims")
    parser.add_argument("--input-value", action="append", default=[], metavar="NAME=NUMBER",
                        help="fill input NAME with NUMBER (repeatable), as compress bench --input-value")
    parser.add_argument("--seconds", type=float, default=0.3, help="timing budget per node, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=20, help="nodes to print, largest |estimate - alone| first")
    parser.add_argument("--json", type=Path, help="also write every node's row")
    args = parser.parse_args(argv)
    from compressor.data import parse_input_shapes, parse_input_values

    if args.file.suffix != ".onnx" or not args.file.is_file():
        print(f"error: {args.file}: not an .onnx file", file=sys.stderr)
        return 2
    shapes = parse_input_shapes(args.input_shape) if args.input_shape else None
    values = parse_input_values(tuple(args.input_value)) or None
    result = with_estimates(node_times(args.file, shapes=shapes, values=values, seconds=args.seconds, rounds=args.rounds),
                            args.file, args.target, shapes=shapes, values=values)
    timed = [n for n in result["nodes"] if n["alone_ms"] is not None]
    alone = sum(n["alone_ms"] for n in timed)
    print(f"{args.file.name}: whole file {result['whole_ms']:.3f} ms (one thread, thread CPU time), its {len(timed)} of "
          f"{len(result['nodes'])} nodes alone {alone:.3f} ms, estimate {result['predicted_ms']:.3f} ms"
          + ("" if result["optimized"] else f" (the file as written: {result['why']})"))
    print("| node | op type | alone ms | estimate ms | estimate / alone |\n|---|---|---|---|---|")
    def miss(n):
        return abs((n["predicted_ms"] or 0.0) - n["alone_ms"])

    for n in sorted(timed, key=miss, reverse=True)[: args.top]:
        est = "-" if n["predicted_ms"] is None else f"{n['predicted_ms']:.4f}"
        ratio = f"{n['predicted_ms'] / n['alone_ms']:.2f}" if n["predicted_ms"] and n["alone_ms"] > 0 else "-"
        print(f"| {n['node']} | {n['op_type']} | {n['alone_ms']:.4f} | {est} | {ratio} |")
    by_type = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for n in timed:
        row = by_type[n["op_type"]]
        row[0] += 1
        row[1] += n["alone_ms"]
        row[2] += n["predicted_ms"] or 0.0
    print("\n| op type | nodes | alone ms | estimate ms | estimate / alone |\n|---|---|---|---|---|")
    for op_type, (count, ms, est) in sorted(by_type.items(), key=lambda kv: -abs(kv[1][2] - kv[1][1])):
        print(f"| {op_type} | {count} | {ms:.4f} | {est:.4f} | {est / ms if ms > 0 else float('inf'):.2f} |")
    for n in result["nodes"]:
        if n["alone_ms"] is None and n.get("error"):
            print(f"# {n['node']} ({n['op_type']}) not timed alone: {n['error']}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
