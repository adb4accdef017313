#!/usr/bin/env python3
"""Where a graph's weights come from: chains of distinct batch-1 fully-connected ops, timed.

    python scripts/microbench_weight_stream.py --out scripts/data/host-x86-weight-stream.json
    python scripts/microbench_weight_stream.py --from-json scripts/data/host-x86-weight-stream.json
    python scripts/microbench_weight_stream.py --from-json F --gemm --out F   # add the big-weight convs
    python scripts/microbench_weight_stream.py --from-json F --conv --formats tflite tflite-int8 --out F
    python scripts/microbench_weight_stream.py --from-json F --conv --formats onnx onnx-int8 --out F

The single-op microbenchmarks (``microbench_kernels.py``) run one op over and over, so its
weights stay hot in the core's private cache: a batch-1 FULLY_CONNECTED of 512 x 512 floats
costs ~48 ps per MAC there.  In a model the same op's weights were evicted by the rest of the
graph's since the last inference, and come from the shared cache or DRAM.  It matters most
where weights are read once per MAC: batch-1 FCs, above all the unrolled LSTM/GRU steps
litert-torch emits (one FC node per time step, and XNNPACK packs every node's weights into
its own buffer, so a 100-step LSTM whose weights are 0.9 MB streams 87 MB per inference:
measured here, a chain of 64 FCs sharing ONE weight tensor runs as slowly as one of 64
distinct tensors).

Each point is a chain of ``n`` distinct FCs ``width x width`` (fp32, and int8 as the corpus
quantizes: ai-edge-quantizer static_wi8_ai8 / onnxruntime QDQ), timed against a chain of 2
of the same width (the difference over ``n - 2`` FCs is one FC with its weights streamed),
each timed alone, thread CPU time, medians, least disturbed of ``--rounds`` passes.  The result is
a curve: the streamed rate (packed weight bytes per second) by the size of the chain's whole
weight set, the median per size -- ``[compute.runtimes.<fmt>] weight_stream.<dtype>`` of the
target profile, which ``cost/latency.py`` interpolates (log-log) as a floor on every weighted
op of a graph whose packed weights exceed ``memory.private_cache_bytes``.

``--gemm`` also times single convs whose own weights are big (2.4 to 64 MB fp32, 150 output
positions), ps per MAC, to see whether a GEMM slows once its weights outgrow the caches.  On
host-x86 it does not (a 2900x2900 1x1 with 34 MB of weights and an 8000->500 1x1 run at
21-25 ps/MAC, as hot); the slow ones are LiteRT's 1-D convs with 32 taps (40-45 ps/MAC at any
weight size: wav2letter's), which the cost model does not know yet.

``--conv`` times chains of ``n`` distinct 1x1 convs over many rows (``CONV_CHAINS``: 7x7, 14x14
and 28x28 positions, the same MACs per op, 1 MB / 256 KB / 64 KB of weights each; LiteRT and
onnxruntime, fp32 and int8; onnxruntime's convs by its profiler, without the chain's layout glue),
each op's excess over the same op alone taken as its weights read cold.  A GEMM over
many rows gets its cold weights far slower than a batch-1 FC streams them: on the Xeon 6 GB/s
for a 17 MB set where the FCs stream 27 (the 28x28 op's excess stays ~13 us whatever the set,
so not all of it is weights; the curve is the median of the three shapes by set size).  That is
``conv_weight_stream.<dtype>``, which ``cost/latency.py`` uses for a conv, a pointwise conv and an
FC of more than one row: MobileNetV1 fp32 runs 10.8 ms whole where its 4-op segments alone add up
to 8.5 (``op_breakdown.py --segments 4``), 17 MB of weights at ~7 GB/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))

# (width, n): whole packed weight sets from 1 MB to 100 MB (fp32; int8 from 1 to 67 MB), denser
# from 33 to 67 MB, where a VM's share of the shared cache may end (42, 50, 57 MB added 2026-12-04;
# 55, 59, 63 MB 2026-12-05, when chains timed alone moved the Xeon's drop past 50 MB; 5.2, 6.3 and
# 7.3 MB 2026-12-07, where the AVX2 EPYC's 8 MB L3 ends: 37 GB/s at 4.2 MB, 16 at 8.4).
POINTS = [(256, 4), (256, 16), (256, 20), (256, 24), (256, 28), (256, 64), (512, 8), (512, 16), (512, 32), (512, 40),
          (512, 48), (512, 52), (512, 56), (512, 60), (512, 64), (768, 24), (768, 32), (1024, 8), (1024, 16), (1024, 24)]
POINTS_INT8 = [(256, 16), (512, 16), (512, 24), (512, 32), (512, 64), (1024, 16), (1024, 32), (1024, 40), (1024, 48), (1024, 52),
               (1024, 56), (1024, 60), (1024, 64), (2048, 16)]
FORMATS = ("tflite", "tflite-int8", "onnx", "onnx-int8")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_tflite(width: int, n: int, path: Path, rng) -> None:
    from microbench_kernels import _TfliteBuilder

    b = _TfliteBuilder(); s = b.s
    x = first = b.tensor((1, width))
    bias = b.tensor((width,), np.zeros(width))
    for _ in range(n):
        w = b.tensor((width, width))
        buffer = s.BufferT()  # a numpy array packs as one vector (the builder's .tolist() would not scale)
        buffer.data = np.frombuffer((rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32).tobytes(),
                                    np.uint8)
        b.buffers.append(buffer); b.tensors[w].buffer = len(b.buffers) - 1
        y = b.tensor((1, width))
        b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", s.FullyConnectedOptionsT())
        x = y
    b.save(path, [first], [x])


def build_onnx(width: int, n: int, path: Path, rng) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes, x = [], [], "x"
    for i in range(n):
        inits.append(numpy_helper.from_array((rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32), f"w{i}"))
        nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"y{i}"]))
        x = f"y{i}"
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, width])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def build_conv_tflite(h: int, c: int, n: int, path: Path, rng) -> None:
    """A chain of ``n`` distinct 1x1 convs ``h x h x c -> c`` (fp32, weights scaled to keep the
    activations finite)."""
    from microbench_kernels import _TfliteBuilder

    b = _TfliteBuilder(); s = b.s
    x = first = b.tensor((1, h, h, c))
    for _ in range(n):
        bias = b.tensor((c,), np.zeros(c))  # each its own, as a graph's layers (a shared one stays float in QDQ)
        w = b.tensor((c, 1, 1, c))
        buffer = s.BufferT()
        buffer.data = np.frombuffer((rng.standard_normal((c, 1, 1, c)) / np.sqrt(c)).astype(np.float32).tobytes(),
                                    np.uint8)
        b.buffers.append(buffer); b.tensors[w].buffer = len(b.buffers) - 1
        y = b.tensor((1, h, h, c))
        o = s.Conv2DOptionsT(); o.padding = s.Padding.SAME; o.strideH = o.strideW = 1
        b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", o)
        x = y
    b.save(path, [first], [x])


def build_conv_onnx(h: int, c: int, n: int, path: Path, rng) -> None:
    """``build_conv_tflite``'s chain as an ``.onnx`` (NCHW: onnxruntime runs it as NCHWc convs)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes, x = [], [], "x"
    for i in range(n):
        inits += [numpy_helper.from_array((rng.standard_normal((c, c, 1, 1)) / np.sqrt(c)).astype(np.float32), f"w{i}"),
                  numpy_helper.from_array(np.zeros(c, np.float32), f"b{i}")]
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"y{i}"]))
        x = f"y{i}"
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, h])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, c, h, h])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def build(fmt: str, width: int, n: int, path: Path, rng, *, conv_h: int | None = None) -> None:
    """A chain of ``n`` distinct batch-1 FCs ``width x width`` or, with ``conv_h``, of 1x1 convs
    over ``conv_h x conv_h`` positions and ``width`` channels; ``fmt``'s int8 as the corpus
    quantizes (ai-edge-quantizer static_wi8_ai8 / onnxruntime QDQ)."""
    if fmt == "tflite":
        return (build_conv_tflite(conv_h, width, n, path, rng) if conv_h else build_tflite(width, n, path, rng))
    if fmt == "onnx":
        return (build_conv_onnx(conv_h, width, n, path, rng) if conv_h else build_onnx(width, n, path, rng))
    fp32 = path.with_suffix(".fp32" + path.suffix)
    shape = ((1, conv_h, conv_h, width) if fmt.startswith("tflite") else (1, width, conv_h, conv_h)) if conv_h \
        else (1, width)
    sample = lambda: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    if fmt == "tflite-int8":
        from ai_edge_litert.interpreter import Interpreter
        from ai_edge_quantizer import quantizer, recipe

        build(fmt.split("-")[0], width, n, fp32, rng, conv_h=conv_h)
        name = next(iter(Interpreter(model_path=str(fp32)).get_signature_runner("serving_default").get_input_details()))
        qt = quantizer.Quantizer(str(fp32), recipe.static_wi8_ai8())
        qt.quantize(qt.calibrate({"serving_default": [{name: sample()} for _ in range(4)]})).export_model(
            str(path), overwrite=True)
    else:
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

        build("onnx", width, n, fp32, rng, conv_h=conv_h)

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.items = iter([{"x": sample()} for _ in range(4)])

            def get_next(self):
                return next(self.items, None)

        quantize_static(str(fp32), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    fp32.unlink()


def time_pair(long: Path, short: Path, *, rounds: int, runs: int) -> tuple[float, float]:
    """Median thread-CPU ms of one invoke of ``long`` and of ``short``, each session alone (loaded,
    warmed up, timed, released: run by run in turn, the long chain's weights evicted the short
    one's and the set where the stream rate drops moved from 50-67 MB to 42-50 MB on the Xeon);
    the round with the lowest difference kept."""
    best = None
    for _ in range(rounds):
        pair = (_alone_ms(long, runs), _alone_ms(short, runs))
        if best is None or pair[0] - pair[1] < best[0] - best[1]:
            best = pair
    return best


def _alone_ms(path: Path, runs: int) -> float:
    from compressor.measure.bench import open_invoker

    invoke = open_invoker(path, threads=1)
    for _ in range(3):
        invoke()
    times = []
    for _ in range(runs):
        t = time.thread_time(); invoke(); times.append(time.thread_time() - t)
    del invoke  # its packed weights go before the next session packs its own
    return statistics.median(times) * 1e3


def run(args) -> dict:
    """``_run`` in a temporary work directory, removed afterwards (the built files)."""
    with tempfile.TemporaryDirectory(prefix="weightstream.") as work:
        return _run(args, Path(work))


def _run(args, work: Path) -> dict:
    import microbench_kernels as mk

    from compressor.measure.bench import cpu_description

    rows = []
    with mk.machine_state() as reference:
        for fmt in args.formats:
            for width, n in (POINTS_INT8 if fmt.endswith("int8") else POINTS):
                rows.append(_fc_chain(fmt, width, n, work, args))
    return {"cpu": cpu_description(), "load_average": Path("/proc/loadavg").read_text().split()[:3],
            "clock": f"thread CPU time, medians of {args.runs} runs, each chain alone, least disturbed of {args.rounds}",
            "reference": reference, "rows": rows}


def _fc_chain(fmt: str, width: int, n: int, work: Path, args) -> dict:
    """One point: the chain of ``n`` FCs against the chain of 2, per FC streamed."""
    suffix = ".tflite" if fmt.startswith("tflite") else ".onnx"
    item = 1 if fmt.endswith("int8") else 4
    rng = np.random.default_rng(width * 1000 + n)
    long, short = work / f"{fmt}-{width}-{n}{suffix}", work / f"{fmt}-{width}-2{suffix}"
    build(fmt, width, n, long, rng)
    if not short.exists():
        build(fmt, width, 2, short, rng)
    long_ms, short_ms = time_pair(long, short, rounds=args.rounds, runs=args.runs)
    per_fc_s = max(long_ms - short_ms, 1e-6) * 1e-3 / (n - 2)
    weight_bytes = width * width * item
    log(f"[{fmt}] {width}x{width} x{n}: set {weight_bytes * n / 1e6:.1f} MB, {per_fc_s * 1e6:.2f} us per FC, "
        f"{weight_bytes / per_fc_s / 1e9:.1f} GB/s")
    long.unlink()
    return {"format": fmt, "width": width, "n": n, "weight_bytes": weight_bytes, "set_bytes": weight_bytes * n,
            "long_ms": long_ms, "short_ms": short_ms, "per_fc_us": per_fc_s * 1e6, "bytes_per_s": weight_bytes / per_fc_s}


# One 1-D conv (or 1x1) with big weights over 150 output positions: (cin, cout, k) -> op weights
# 2.4 to 64 MB fp32.  The GEMM re-reads its packed weights for each tile of output rows.
GEMMS = [(250, 250, 7), (250, 500, 32), (2000, 2000, 1), (8000, 500, 1), (250, 1000, 32), (2900, 2900, 1),
         (250, 2000, 32)]
GEMM_M = 150


def run_gemms(args) -> list[dict]:
    """``_run_gemms`` in a temporary work directory, removed afterwards (the built files)."""
    with tempfile.TemporaryDirectory(prefix="bigweights.") as work:
        return _run_gemms(args, Path(work))


def _run_gemms(args, work: Path) -> list[dict]:
    """ps per MAC of single big-weight convs (microbench_kernels' builders), thread CPU time."""
    import microbench_kernels as mk
    from compressor.graph.read import read_graph
    from compressor.measure.bench import open_invoker

    rows = []
    for fmt in args.formats:
        for cin, cout, k in GEMMS:
            family = "pointwise" if k == 1 else "conv"
            path = work / f"{fmt}-{cin}-{cout}-{k}.{mk.SUFFIX[fmt]}"
            try:
                mk.BUILDERS[fmt](family, dict(h=1, w=GEMM_M, cin=cin, cout=cout, kh=1, kw=k, s=1), path)
            except Exception as error:  # a quantizer that cannot take the shape: say so, go on
                log(f"[{fmt} gemm] {cin}->{cout} k{k}: not built: {type(error).__name__}: {str(error)[:120]}")
                continue
            op = max(read_graph(path, as_run=True).ops, key=lambda o: o.macs)
            invoke = open_invoker(path, threads=1)
            invoke(); invoke()
            times = []
            for _ in range(args.rounds * 3):
                t = time.thread_time(); invoke(); times.append(time.thread_time() - t)
            ms = statistics.median(times) * 1e3
            rows.append({"format": fmt, "cin": cin, "cout": cout, "k": k, "m": GEMM_M, "macs": op.macs,
                         "weight_bytes": op.weight_bytes, "ms": ms, "ps_per_mac": ms * 1e9 / op.macs})
            log(f"[{fmt} gemm] {cin}->{cout} k{k}: weights {op.weight_bytes / 1e6:.1f} MB, {ms:.2f} ms, "
                f"{ms * 1e9 / op.macs:.1f} ps/MAC")
            path.unlink()
    return rows


# Chains of distinct 1x1 convs over many rows, the same MACs per op (12.8 M fp32, 51 M int8) and
# 1 MB / 256 KB / 64 KB of weights each: (h, channels) -> chain lengths, whole sets 2 to 67 MB.
CONV_CHAINS = {"tflite": {(7, 512): (1, 2, 4, 8, 16, 32, 64), (14, 256): (1, 8, 16, 32, 64, 128, 256),
                          (28, 128): (1, 32, 64, 128, 256)},
               "tflite-int8": {(7, 1024): (1, 2, 4, 8, 16, 32, 64), (14, 512): (1, 8, 16, 32, 64, 128, 256),
                               (28, 256): (1, 32, 64, 128, 256)}}
CONV_CHAINS["onnx"], CONV_CHAINS["onnx-int8"] = CONV_CHAINS["tflite"], CONV_CHAINS["tflite-int8"]
# onnxruntime's chains carry layout glue a chain pays once (ReorderInput/Output, or Q -> Transpose
# ... Transpose -> DQ for int8): their convs are timed by its profiler (the kernel time of every
# node whose op type is a conv), not by the whole invoke.


def run_convs(args) -> list[dict]:
    """``_run_convs`` in a temporary work directory, removed afterwards (the built files)."""
    with tempfile.TemporaryDirectory(prefix="convchains.") as work:
        return _run_convs(args, Path(work))


def _run_convs(args, work: Path) -> list[dict]:
    """Per op of each chain: its time over the same op alone (a chain of one, its weights hot),
    as if that excess were all its weights read cold: bytes per second."""
    rows = []
    for fmt in [f for f in args.formats if f in CONV_CHAINS]:
        item = 1 if fmt.endswith("int8") else 4
        for (h, c), lengths in CONV_CHAINS[fmt].items():
            alone_ms = None
            for n in lengths:
                path = work / f"{fmt}-conv-{h}-{c}-{n}.{fmt.split('-')[0]}"
                build(fmt, c, n, path, np.random.default_rng(h * 1000 + n), conv_h=h)
                per_op_ms = min(_chain_ms(path, fmt, args.runs) for _ in range(args.rounds)) / n
                path.unlink()
                alone_ms = per_op_ms if n == 1 else alone_ms
                weight_bytes = c * c * item
                extra_s = max(per_op_ms - alone_ms, 1e-6) * 1e-3
                rows.append({"format": fmt, "h": h, "channels": c, "n": n, "weight_bytes": weight_bytes,
                             "set_bytes": weight_bytes * n, "per_op_us": per_op_ms * 1e3,
                             "extra_us": extra_s * 1e6, "bytes_per_s": weight_bytes / extra_s})
                log(f"[{fmt} conv] {h}x{h}x{c} x{n}: set {weight_bytes * n / 1e6:.1f} MB, {per_op_ms * 1e3:.1f} us "
                    f"per op, +{extra_s * 1e6:.1f} us, {weight_bytes / extra_s / 1e9:.1f} GB/s")
    return rows


def _chain_ms(path: Path, fmt: str, runs: int) -> float:
    """One invoke of ``path``'s chain, ms: LiteRT's thread-CPU time; onnxruntime's convs' kernel
    times by its profiler (one thread), without the layout glue around them."""
    if fmt.startswith("tflite"):
        return _alone_ms(path, runs)
    from ort_op_profile import profile_nodes

    return sum(ms for op_type, ms in profile_nodes(path, runs=runs, trimmed=True).values() if "Conv" in op_type)


def fit(rows: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """The measured curve per format: for each whole-set size, the median rate of its chains
    (a conv chain of one is the op alone, the reference, not a point)."""
    curves: dict[str, list[tuple[float, float]]] = {}
    for fmt in sorted({r["format"] for r in rows}):
        by_set: dict[int, list[float]] = {}
        for r in rows:
            if r["format"] == fmt and r.get("n", 2) > 1:
                by_set.setdefault(r["set_bytes"], []).append(r["bytes_per_s"])
        curves[fmt] = [(float(size), statistics.median(rates)) for size, rates in sorted(by_set.items())]
    return curves


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--out", help="JSON table to write")
    parser.add_argument("--from-json", help="fit an earlier --out table, measuring nothing")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gemm", action="store_true", help="also time single big-weight convs (GEMMS)")
    parser.add_argument("--conv", action="store_true",
                        help="also time chains of distinct 1x1 convs over many rows (CONV_CHAINS)")
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args(argv)
    if not args.out and not args.from_json:
        parser.error("--out FILE (measure) or --from-json FILE (fit only)")
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        if (args.gemm or args.conv) and args.out:  # add to an earlier table
            if args.gemm:
                result["gemm_rows"] = run_gemms(args)
            if args.conv:  # the formats measured now replace their earlier rows, the others stay
                result["conv_rows"] = ([r for r in result.get("conv_rows", []) if r["format"] not in args.formats]
                                       + run_convs(args))
            Path(args.out).write_text(json.dumps(result, indent=1))
    else:
        result = run(args)
        if args.gemm:
            result["gemm_rows"] = run_gemms(args)
        if args.conv:
            result["conv_rows"] = run_convs(args)
        Path(args.out).write_text(json.dumps(result, indent=1))
    for r in result["rows"]:
        print(f"{r['format']:<12}{r['width']:>6} x{r['n']:<4}{r['set_bytes'] / 1e6:>8.1f} MB"
              f"{r['per_fc_us']:>10.2f} us{r['bytes_per_s'] / 1e9:>8.1f} GB/s")
    for r in result.get("conv_rows", []):
        print(f"{r['format']:<12}{r['h']:>3}x{r['h']}x{r['channels']:<5} x{r['n']:<4}{r['set_bytes'] / 1e6:>8.1f} MB"
              f"{r['per_op_us']:>10.1f} us  +{r['extra_us']:.1f} us{r['bytes_per_s'] / 1e9:>8.1f} GB/s")
    print("\n# weight_stream curves (graph's packed weight bytes, bytes/s) for the target's runtimes tables:")
    for key, rows in (("weight_stream", result["rows"]), ("conv_weight_stream", result.get("conv_rows", []))):
        for fmt, curve in fit(rows).items():
            runtime, dtype = fmt.split("-")[0], ("int8" if fmt.endswith("int8") else "float32")
            points = ", ".join(f"[{size:.4g}, {rate:.3g}]" for size, rate in curve)
            print(f"# [compute.variants.runtimes.{runtime}]\n{key}.{dtype} = [{points}]")
    if result.get("gemm_rows"):
        print("\n# single big-weight convs (not in the cost model: the slow ones are the 32-tap 1-D convs,"
              " not the big weights)")
        for r in result["gemm_rows"]:
            print(f"# {r['format']:<12}{r['cin']:>5} -> {r['cout']:<5} k{r['k']:<3}{r['weight_bytes'] / 1e6:>7.1f} MB"
                  f"{r['ps_per_mac']:>8.1f} ps/MAC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
