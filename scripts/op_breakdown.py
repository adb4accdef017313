#!/usr/bin/env python3
"""Each op of a real .tflite alone beside its estimate: which op does the model get wrong?

    python scripts/op_breakdown.py model.tflite                  # every op alone vs its estimate
    python scripts/op_breakdown.py model.tflite --ops CONV_2D,PADV2 --json out.json

(For an ``.onnx``, onnxruntime's own profiler does this per node: ``scripts/ort_op_profile.py``.)

``.tflite``: every op is cut out with its own tensors (shapes, quantization, constants) into a
file of its own and timed alone in LiteRT (XNNPACK, one thread): thread CPU time, median of the
runs, the lowest of three passes, the empty file's time subtracted, as the kernel
microbenchmarks time theirs.  An op timed alone runs with its weights and activations hot and
without its neighbours: the sum of the ops alone against the whole file's time (`compress
bench`) says how much a graph adds.

The estimate is ``compress profile FILE --target T``'s per-op latency.  Nothing is fitted to
what this prints; it is for finding what the cost model misses.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))


def estimate(path: Path, target: str, shapes) -> list[dict]:
    from compressor.measure.estimate import estimate_artifact

    profile = estimate_artifact(path, target, input_shapes=shapes)
    return [{"op": op.op_type, "name": op.name, "estimate_us": op.latency_ms * 1e3} for op in profile.kernels.ops]


def tflite_ops_alone(path: Path, only: set[str] | None, seconds: float) -> list[dict]:
    import microbench_kernels as mk

    from compressor.measure.bench import open_invoker
    from compressor.tflite.flatbuffer import op_names, pack, read_model

    model = read_model(path)  # constants stored past the flatbuffer read back inline
    model.signatureDefs = []
    graph, names = model.subgraphs[0], op_names(model)
    ops = graph.operators

    def constant(i: int) -> bool:
        data = model.buffers[graph.tensors[i].buffer].data if graph.tensors[i].buffer > 0 else None
        return data is not None and len(data) > 0

    # A DEQUANTIZE of a constant (fp16 or int8 weights stored small) is folded into its consumer's
    # packed weights by XNNPACK: it is cut out with its consumer, never timed alone.
    static = {o.outputs[0]: o for o in ops if names[o.opcodeIndex] == "DEQUANTIZE" and constant(o.inputs[0])}
    rows, paths = [], []
    with tempfile.TemporaryDirectory(prefix="op_breakdown.") as tmp:
        for index, op in enumerate(ops):
            name = names[op.opcodeIndex]
            if (only and name not in only) or op.outputs[0] in static:
                continue
            feeds = [static[i] for i in op.inputs if i in static]
            graph.operators, graph.outputs = [*feeds, op], [op.outputs[0]]
            graph.inputs = [i for i in op.inputs if i >= 0 and not constant(i) and i not in static]
            file = Path(tmp) / f"op{index}.tflite"
            file.write_bytes(pack(model))
            row = {"index": index, "op": name, "output_name": (graph.tensors[op.outputs[0]].name or b"").decode(),
                   "inputs": [[int(d) for d in graph.tensors[i].shape] for i in op.inputs if i >= 0][:2],
                   "output": [int(d) for d in graph.tensors[op.outputs[0]].shape]}
            try:  # an op some runtimes cannot run alone (a custom op whose delegate needs its neighbours)
                open_invoker(file, threads=1)()
            except Exception as error:  # noqa: BLE001 - LiteRT raises RuntimeError/ValueError by kernel
                row["skipped"] = str(error).splitlines()[0][:120]
            else:
                paths.append(file)
            rows.append(row)
        empty = Path(tmp) / "empty.tflite"
        mk.build_tflite("elementwise", {"shape": (1, 1, 1, 8), "op": "ADD"}, empty)
        times, _ = mk.time_files(paths, empty, seconds=seconds)
    timed = iter(times)
    for row in rows:
        row["measured_us"] = float("nan") if "skipped" in row else next(timed) * 1e3
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("file", type=Path)
    parser.add_argument("--target", default="host-x86")
    parser.add_argument("--ops", help="comma-separated op types: only these")
    parser.add_argument("--input-shape", help="as compress --input-shape, for dynamic dims")
    parser.add_argument("--seconds", type=float, default=20.0, help="timing budget over all ops")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    from compressor.data import parse_input_shapes

    shapes = parse_input_shapes(args.input_shape) if args.input_shape else None
    if args.file.suffix != ".tflite":
        print(f"error: {args.file}: not a .tflite (for an .onnx: scripts/ort_op_profile.py)", file=sys.stderr)
        return 2
    if not args.file.is_file():
        print(f"error: {args.file}: no such file", file=sys.stderr)
        return 2
    est = estimate(args.file, args.target, shapes)
    rows = tflite_ops_alone(args.file, set(args.ops.split(",")) if args.ops else None, args.seconds)
    by_name = {e["name"]: e["estimate_us"] for e in est}  # an op's name: its first output tensor's
    for row in rows:
        row["estimate_us"] = by_name.get(row.pop("output_name"), float("nan"))
        print(f"{row['index']:4d} {row['op']:18s} alone {row['measured_us']:9.2f} us  estimate "
              f"{row['estimate_us']:9.2f} us  {row['inputs']} -> {row['output']}"
              + (f"  (not timed alone: {row['skipped']})" if "skipped" in row else ""))
    alone = sum(r["measured_us"] for r in rows if "skipped" not in r)
    print(f"sum measured {alone / 1e3:.3f} ms, estimate {sum(e['estimate_us'] for e in est) / 1e3:.3f} ms "
          f"({sum('skipped' not in r for r in rows)} of {len(est)} ops timed alone)")
    if args.json:
        args.json.write_text(json.dumps({"file": str(args.file), "target": args.target, "rows": rows,
                                         "estimate": est}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
