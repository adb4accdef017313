#!/usr/bin/env python3
"""Each op of a real .tflite / .onnx beside its estimate: which op does the model get wrong?

    python scripts/op_breakdown.py model.tflite                  # every op alone vs its estimate
    python scripts/op_breakdown.py model.tflite --ops CONV_2D,PADV2
    python scripts/op_breakdown.py model.onnx                    # onnxruntime's profiler per node
    python scripts/op_breakdown.py model.onnx --input-shape 1x3x224x224 --json out.json

``.tflite``: every op is cut out with its own tensors (shapes, quantization, constants) into a
file of its own and timed alone in LiteRT (XNNPACK, one thread): thread CPU time, median of the
runs, the lowest of three passes, the empty file's time subtracted, as the kernel
microbenchmarks time theirs.  An op timed alone runs with its weights and activations hot and
without its neighbours: the sum of the ops alone against the whole file's time (`compress
bench`) says how much a graph adds.

``.onnx``: onnxruntime's own profiler (``enable_profiling``, one thread, the graph it runs after
its optimizations), each node's kernel time, median over the runs, beside the estimate's ops in
the same order.

The estimate is ``compress profile FILE --target T``'s per-op latency.  Nothing is fitted to
what this prints; it is for finding what the cost model misses.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))


def estimate(path: Path, target: str, shapes) -> list[dict]:
    from compressor.measure.estimate import estimate_artifact

    profile = estimate_artifact(path, target, input_shapes=shapes)
    return [{"op": op.op_type, "name": op.name, "estimate_us": op.latency_ms * 1e3} for op in profile.kernels.ops]


def tflite_ops_alone(path: Path, only: set[str] | None, seconds: float) -> list[dict]:
    import flatbuffers
    import microbench_kernels as mk
    import numpy as np
    from ai_edge_litert import schema_py_generated as s

    buf = path.read_bytes()
    codes = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}

    def model():
        m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(buf, 0))
        for b in m.buffers:  # constants stored past the flatbuffer: inline them
            if getattr(b, "offset", 0) and b.offset > 1:
                b.data = np.frombuffer(buf[b.offset:b.offset + b.size], np.uint8)
                b.offset = b.size = 0
        m.signatureDefs = []
        return m

    first = model()
    graph = first.subgraphs[0]
    rows, paths = [], []
    with tempfile.TemporaryDirectory(prefix="op_breakdown.") as tmp:
        for index, op in enumerate(graph.operators):
            code = first.operatorCodes[op.opcodeIndex]
            name = codes.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")
            if only and name not in only:
                continue
            m = model()
            g = m.subgraphs[0]
            one = g.operators[index]
            constant = [i >= 0 and g.tensors[i].buffer > 0 and m.buffers[g.tensors[i].buffer].data is not None
                        and len(m.buffers[g.tensors[i].buffer].data) > 0 for i in one.inputs]
            g.operators, g.outputs = [one], [one.outputs[0]]
            g.inputs = [i for i, c in zip(one.inputs, constant) if i >= 0 and not c]
            builder = flatbuffers.Builder(1024)
            builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
            file = Path(tmp) / f"op{index}.tflite"
            file.write_bytes(bytes(builder.Output()))
            paths.append(file)
            rows.append({"index": index, "op": name,
                         "inputs": [[int(d) for d in g.tensors[i].shape] for i in one.inputs if i >= 0][:2],
                         "output": [int(d) for d in g.tensors[one.outputs[0]].shape]})
        empty = Path(tmp) / "empty.tflite"
        mk.build_tflite("elementwise", {"shape": (1, 1, 1, 8), "op": "ADD"}, empty)
        times, _ = mk.time_files(paths, empty, seconds=seconds)
    for row, ms in zip(rows, times):
        row["measured_us"] = ms * 1e3
    return rows


def onnx_nodes(path: Path, shapes, runs: int) -> list[dict]:
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.enable_profiling = True
    with tempfile.TemporaryDirectory(prefix="op_breakdown.") as tmp:
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        feeds = {}
        for index, i in enumerate(session.get_inputs()):
            shape = list(shapes[index]) if shapes else [d if isinstance(d, int) else 1 for d in i.shape]
            dtype = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32,
                     "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}.get(i.type, np.float32)
            feeds[i.name] = rng.standard_normal(shape).astype(dtype)
        for _ in range(runs):
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            times[(e["name"][: -len("_kernel_time")], e["args"].get("op_name", "?"))].append(e["dur"])
    return [{"name": name, "op": op, "measured_us": statistics.median(v)} for (name, op), v in times.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("file", type=Path)
    parser.add_argument("--target", default="host-x86")
    parser.add_argument("--ops", help="comma-separated op types (.tflite): only these")
    parser.add_argument("--input-shape", help="as compress --input-shape, for dynamic dims")
    parser.add_argument("--seconds", type=float, default=20.0, help="timing budget over all ops (.tflite)")
    parser.add_argument("--runs", type=int, default=50, help="profiled runs (.onnx)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    from compressor.data import parse_input_shapes

    shapes = parse_input_shapes(args.input_shape) if args.input_shape else None
    est = estimate(args.file, args.target, shapes)
    if args.file.suffix == ".tflite":
        rows = tflite_ops_alone(args.file, set(args.ops.split(",")) if args.ops else None, args.seconds)
        for row in rows:  # the estimate's ops are the file's, in its order
            row["estimate_us"] = est[row["index"]]["estimate_us"] if row["index"] < len(est) else float("nan")
        for row in rows:
            print(f"{row['index']:4d} {row['op']:18s} alone {row['measured_us']:9.2f} us  estimate "
                  f"{row['estimate_us']:9.2f} us  {row['inputs']} -> {row['output']}")
    else:
        rows = onnx_nodes(args.file, shapes, args.runs)
        by_type = defaultdict(float)
        for e in est:
            by_type[e["op"]] += e["estimate_us"]
        measured = defaultdict(float)
        for row in rows:
            measured[row["op"]] += row["measured_us"]
        for op in sorted(set(by_type) | set(measured), key=lambda o: -max(by_type[o], measured[o])):
            print(f"{op:26s} measured {measured[op]:9.1f} us  estimate {by_type[op]:9.1f} us")
        for row in rows:
            print(f"  {row['op']:24s} {row['measured_us']:9.1f} us  {row['name']}")
    alone = sum(r["measured_us"] for r in rows)
    print(f"sum measured {alone / 1e3:.3f} ms, estimate {sum(e['estimate_us'] for e in est) / 1e3:.3f} ms "
          f"({len(rows)} of {len(est)} ops)")
    if args.json:
        args.json.write_text(json.dumps({"file": str(args.file), "target": args.target, "rows": rows,
                                         "estimate": est}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
