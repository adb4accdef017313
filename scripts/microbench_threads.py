#!/usr/bin/env python3
"""What a second thread buys each kernel: the single-op microbenchmark files at 1 and 2 threads.

    python scripts/microbench_threads.py --out scripts/data/host-x86-threads.json
    python scripts/microbench_threads.py --from-json scripts/data/host-x86-threads.json

The files are ``microbench_kernels.py``'s grid (every ``--stride``-th point of each family
that has a kernel of its own: conv, pointwise, depthwise, fully_connected, elementwise, pool,
reshape), fp32 and int8, LiteRT + XNNPACK and onnxruntime.  Each is timed at 1 and at
``--threads`` threads by WALL time (a second thread's work is not on the calling thread's
clock), interleaved with the empty file at the same thread count, medians, the least
disturbed of ``--rounds`` passes.  Run it on an otherwise idle machine: another tenant on the
second core turns a 2-thread timing into a wait for it.

The fit, per runtime and dtype, is ``t_T = min(t_1, t_1 / (1 + e (T - 1)) + sync)`` (both
runtimes leave a tiny op on the calling thread), by grid search on squared log error: ``e`` the fraction of a perfect split the kernels
reach, ``sync`` the per-op cost of handing work to the thread pool and joining it.  Those are
``[compute.runtimes.<fmt>] parallel.<dtype> = { efficiency, sync_us }`` in the profile, which
``cost/latency.py`` applies to every op with kernel terms when the profile runs more than one
thread.
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

FAMILIES = ("conv", "pointwise", "depthwise", "fully_connected", "elementwise", "pool", "reshape")
FORMATS = ("tflite", "tflite-int8", "onnx", "onnx-int8")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def wall_ms(invoke, empty, runs: int) -> float:
    mine, theirs = [], []
    for _ in range(runs):
        t = time.perf_counter(); invoke(); mine.append(time.perf_counter() - t)
        t = time.perf_counter(); empty(); theirs.append(time.perf_counter() - t)
    return max(statistics.median(mine) - statistics.median(theirs), 0.0) * 1e3


def run(args) -> dict:
    import microbench_kernels as mk
    from compressor.graph.read import read_graph
    from compressor.measure.bench import cpu_description, open_invoker

    work = Path(tempfile.mkdtemp(prefix="threads."))
    rows = []
    for fmt in args.formats:
        empty = work / f"empty-{fmt}.{mk.SUFFIX[fmt]}"
        (mk.build_tflite if fmt.startswith("tflite") else mk.build_onnx)(
            "elementwise", {"shape": (1, 1, 1, 8), "op": "ADD"}, empty)
        points = []
        for family in FAMILIES:
            for i, p in enumerate(mk.GRID[family][::args.stride]):
                path = work / f"{family}-{i}-{fmt}.{mk.SUFFIX[fmt]}"
                mk.BUILDERS[fmt](family, p, path)
                points.append((family, p, path))
        log(f"[{fmt}] timing {len(points)} files at 1 and {args.threads} threads")
        best = {}
        for _ in range(args.rounds):
            for family, p, path in points:
                times = {}
                for threads in (1, args.threads):
                    invoke, base = open_invoker(path, threads=threads), open_invoker(empty, threads=threads)
                    for _ in range(3):
                        invoke(); base()
                    start = time.perf_counter(); invoke(); once = max(time.perf_counter() - start, 2e-6)
                    runs = int(min(200, max(7, args.seconds / args.rounds / 2 / once)))
                    times[threads] = wall_ms(invoke, base, runs)
                key = str(path)
                if key not in best or times[1] + times[args.threads] < sum(best[key].values()):
                    best[key] = times
        for family, p, path in points:
            graph = read_graph(path, as_run=True)
            op = mk.measured_op(graph)
            t = best[str(path)]
            rows.append({"format": fmt, "family": family, "params": p, "op_type": op.op_type, "kind": op.kind,
                         "dtype": op.compute_dtype, "macs": op.macs, "ms_1": t[1], "ms_t": t[args.threads],
                         "threads": args.threads})
    return {"cpu": cpu_description(), "load_average": Path("/proc/loadavg").read_text().split()[:3],
            "clock": f"wall time, median minus the empty file's, least disturbed of {args.rounds}", "rows": rows}


def predict_t(t1: float, threads: int, efficiency: float, sync_us: float) -> float:
    """What cost/latency.py predicts at ``threads`` for an op taking ``t1`` ms on one."""
    return min(t1, t1 / (1 + efficiency * (threads - 1)) + sync_us * 1e-3)


def fit(rows: list[dict], *, min_ms: float = 0.0005) -> dict[str, dict[str, dict[str, float]]]:
    """(efficiency, sync_us) per runtime and dtype for ``t_T = min(t_1, t_1 / (1 + e (T - 1)) +
    sync)`` (a tiny op stays on one thread), by grid search on squared log error."""
    fitted: dict[str, dict[str, dict[str, float]]] = {}
    for fmt in ("tflite", "onnx"):
        for dtype in ("float32", "int8"):
            source = fmt if dtype == "float32" else f"{fmt}-int8"
            mine = [r for r in rows if r["format"] == source and r["dtype"] == dtype and r["ms_1"] >= min_ms
                    and r["ms_t"] > 0]
            if len(mine) < 4:
                continue
            threads = mine[0]["threads"]
            best = None
            for efficiency in np.linspace(0, 1, 101):
                for sync_us in np.linspace(0, 20, 201):
                    error = sum(np.log(predict_t(r["ms_1"], threads, efficiency, sync_us) / r["ms_t"]) ** 2 for r in mine)
                    if best is None or error < best[0]:
                        best = (error, float(efficiency), float(sync_us))
            fitted.setdefault(fmt, {})[dtype] = {"efficiency": best[1], "sync_us": best[2], "points": len(mine)}
    return fitted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--out", help="JSON table to write")
    parser.add_argument("--from-json", help="fit an earlier --out table, measuring nothing")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stride", type=int, default=2, help="every N-th grid point of each family")
    parser.add_argument("--seconds", type=float, default=0.6, help="timing budget per file, over all rounds")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.out and not args.from_json:
        parser.error("--out FILE (measure) or --from-json FILE (fit only)")
    result = json.loads(Path(args.from_json).read_text()) if args.from_json else run(args)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    for r in result["rows"]:
        print(f"{r['format']:<12}{r['family']:<16}{r['op_type']:<20}{r['ms_1']:>9.4f} ms 1t {r['ms_t']:>9.4f} ms "
              f"{r['threads']}t  x{r['ms_1'] / max(r['ms_t'], 1e-9):.2f}")
    for fmt, dtypes in fit(result["rows"]).items():
        print(f"[compute.variants.runtimes.{fmt}]")
        for dtype, v in dtypes.items():
            print(f"parallel.{dtype} = {{ efficiency = {v['efficiency']:.3g}, sync_us = {v['sync_us']:.3g} }}"
                  f"  # {v['points']} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
