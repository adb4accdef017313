#!/usr/bin/env python3
"""What a second thread buys each kernel: the single-op microbenchmark files at 1 and 2 threads.

    python scripts/microbench_threads.py --out scripts/data/host-x86-threads.json
    python scripts/microbench_threads.py --chain 6 --out scripts/data/host-x86-threads-chain.json
    python scripts/microbench_threads.py --serial --out scripts/data/host-x86-threads-serial.json
    python scripts/microbench_threads.py --serial --families rnn_dynamic --formats onnx-int8 --out FILE
    python scripts/microbench_threads.py --chain 6 --small --out scripts/data/small-chains-threads-host-x86.json
    python scripts/microbench_threads.py --fragments --out scripts/data/host-x86-threads-fragments-xeon-amx.json
    python scripts/microbench_threads.py --from-json scripts/data/host-x86-threads*.json   # fit all three
    python scripts/microbench_threads.py --serial --families tree_forest tree_rows --formats onnx --predict host-x86 --out F

The files are ``microbench_kernels.py``'s grid (every ``--stride``-th point of each family
that has a kernel of its own: conv, pointwise, depthwise, fully_connected, elementwise, pool,
reshape), fp32 and int8, LiteRT + XNNPACK and onnxruntime.  Each is timed at 1 and at
``--threads`` threads by WALL time (a second thread's work is not on the calling thread's
clock), interleaved with the empty file at the same thread count, medians, the least
disturbed of ``--rounds`` passes.  Run it on an otherwise idle machine: another tenant on the
second core turns a 2-thread timing into a wait for it.

``--chain N`` times chains of shape-preserving MAC kernels instead, N and 2N copies long: the
per-op time is their difference over N, so the file's glue (onnxruntime's layout reorders, an
int8 file's QUANTIZE/DEQUANTIZE), paid once per file and 1.4-3.7x slower on two threads than on
one, cancels out (a chain's time over N, as before 2026-12-05, put onnxruntime's hand-off at
18.5 us on the Xeon where its kernels take 2-6).  ``--serial`` times every point of the
element-wise, transformer and recurrent families, to find the op types a second thread does
not speed up.  ``--fragments`` times graph fragments (``FRAGMENTS``: inverted residual, basic,
bottleneck and depthwise-separable blocks, fp32 and int8 as the corpus quantizes them, 3 and 6
blocks, per block the difference) in each ``--formats``: ops of different kinds one after
another split less well than a chain repeating one, and ``fit_fragments`` fits a runtime's
``parallel`` efficiency and hand-off to them through the profile's own cost model (what the
Xeon's onnxruntime entry takes; LiteRT's fit is printed, and its chains' kept: targets/host-x86.toml).

The fit, per runtime and dtype, is ``t_T = min(t_1, t_1 / (1 + e (T - 1)) + sync)`` (both
runtimes leave a tiny op on the calling thread), by grid search on squared log error: ``e`` the
fraction of a perfect split the kernels reach, ``sync`` the per-op cost of handing work to the
thread pool and joining it; where chains were timed, onnxruntime's and every int8 kernel are fitted
on the chains alone (onnxruntime's better on ``--fragments``, printed apart).  ``serial``: op
types whose points of at least 0.02 ms speed up by a median under 1.15x (left out of the fit);
``step_sync_us``: a recurrent op's hand-off per time step, fitted on the LSTM/GRU sweep.  Those are ``[compute.runtimes.<fmt>] parallel.<dtype> =
{ efficiency, sync_us, step_sync_us, serial }`` in the profile (``cost/latency.py``).
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
# --serial: the op types beside the MAC kernels whose own kernels may not split at all
# (LiteRT's builtin int8 kernels, onnxruntime's recurrent ops), every point of these families.
SERIAL_FAMILIES = ("elementwise", "transformer", "rnn")
# --chain N: shape-preserving points (cin = cout, stride 1; FC k = m), each built as a chain of N
# copies, so a file's fixed glue (onnxruntime's layout reorders, an int8 file's QUANTIZE /
# DEQUANTIZE) is paid once per N ops as in a model, not once per op as in a single-op file.
CHAIN_GRID = {
    "conv": [dict(h=h, w=w, cin=c, cout=c, kh=kh, kw=kw, s=1) for h, w, c, kh, kw in
             [(64, 64, 16, 3, 3), (56, 56, 64, 3, 3), (28, 28, 128, 3, 3), (14, 14, 256, 3, 3), (7, 7, 512, 3, 3),
              (1, 2048, 32, 1, 9)]],
    "pointwise": [dict(h=h, w=h, cin=c, cout=c, kh=1, kw=1, s=1) for h, c in
                  [(56, 56), (28, 128), (14, 256), (7, 512), (112, 16)]],
    "depthwise": [dict(h=h, w=h, c=c, k=k, s=1) for h, c, k in
                  [(112, 32, 3), (56, 96, 3), (28, 144, 3), (14, 384, 3), (7, 960, 3), (28, 240, 5)]],
    "fully_connected": [dict(n=n, k=k, m=k) for n, k in [(1, 1024), (1, 256), (64, 512), (196, 192)]],
}

# --chain N --small: the same, for ops a model holds by the dozen (3-30 us on one thread), where
# the per-op hand-off decides whether a second thread pays: the big points above cannot tell a
# hand-off of 2 us from one of 9.  Measured 2026-12-04 04:22 UTC into
# scripts/data/small-chains-threads-host-x86.json, kept OUT of the profile's fit (the glob
# host-x86-threads*.json): alone they say onnxruntime int8 0.77 / 2.4 us, fp32 0.84 / 1.0 us, where
# the big chains say 0.78 / 8.6 and 0.91 / 8.3; fitted together (0.65 / 3.1, 0.75 / 1.1) neither
# is met, and the corpus' 2-thread scores moved less than the gap between its minimum and
# median wall times, so one efficiency per runtime needs a size term before these count.
SMALL_CHAIN_GRID = {
    "conv": [dict(h=h, w=w, cin=c, cout=c, kh=3, kw=3, s=1) for h, w, c in
             [(8, 8, 32), (14, 14, 32), (14, 14, 64), (7, 7, 128), (28, 28, 32), (1, 256, 64)]],
    "pointwise": [dict(h=h, w=h, cin=c, cout=c, kh=1, kw=1, s=1) for h, c in
                  [(14, 64), (28, 64), (7, 256), (14, 128), (56, 16)]],
    "depthwise": [dict(h=h, w=h, c=c, k=3, s=1) for h, c in [(14, 128), (28, 64), (7, 256), (56, 32)]],
    "fully_connected": [dict(n=1, k=k, m=k) for k in (128, 512)],
}

# --fragments: generic CNN blocks (microbench_kernels.build_onnx_fragment / build_tflite_fragment),
# fp32 and int8, FRAGMENT_BLOCKS and twice as many in a row: ops of different kinds and sizes one
# after another, as a model holds them, where a chain repeats one.  Each split anew, its output
# read by the next op on whichever thread; their two-thread speedup is what a runtime's
# ``parallel`` efficiency and hand-off are fitted to (``fit_fragments``, through the cost model).
FRAGMENTS = ([("mbconv", {"c": c, "hw": hw, "e": 6}) for c, hw in [(24, 56), (32, 28), (64, 14), (96, 14), (160, 7)]]
             + [("basic", {"c": c, "hw": hw}) for c, hw in [(64, 56), (128, 28), (256, 14), (512, 7)]]
             + [("bottleneck", {"c": c, "hw": hw}) for c, hw in [(256, 56), (512, 28), (1024, 14), (2048, 7)]]
             + [("dwsep", {"c": c, "hw": hw}) for c, hw in [(32, 112), (64, 56), (128, 28), (256, 14), (512, 7)]])
FRAGMENT_BLOCKS = 3


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def wall_ms(invoke, empty, runs: int) -> float:
    mine, theirs = [], []
    for _ in range(runs):
        t = time.perf_counter(); invoke(); mine.append(time.perf_counter() - t)
        t = time.perf_counter(); empty(); theirs.append(time.perf_counter() - t)
    return max(statistics.median(mine) - statistics.median(theirs), 0.0) * 1e3


def timed(path: Path, empty: Path, threads: int, seconds: float) -> tuple[float, float]:
    """``path``'s wall time at ``threads`` threads less the empty file's (``wall_ms``), as many
    runs as ``seconds`` allows (7-200), after three warm-up runs of each; and the cores' worth of
    CPU time anything else took meanwhile (``microbench_kernels.others_cores``: 0 where /proc
    cannot say)."""
    import microbench_kernels as mk

    from compressor.measure.bench import open_invoker

    invoke, base = open_invoker(path, threads=threads), open_invoker(empty, threads=threads)
    for _ in range(3):
        invoke(); base()
    start = time.perf_counter(); invoke(); once = max(time.perf_counter() - start, 2e-6)
    ticks, start = mk.cpu_ticks(), time.perf_counter()
    ms = wall_ms(invoke, base, int(min(200, max(7, seconds / once))))
    return ms, mk.others_cores(ticks, mk.cpu_ticks(), time.perf_counter() - start) or 0.0


def quiet_first(times: dict, others: float) -> tuple[bool, float]:
    """A round's rank: quiet ones (nothing else took over ``QUIET_OTHERS_CORES`` of a core during its
    2-thread timing: the second vCPU free) before the others, then the fastest."""
    import microbench_kernels as mk

    return others > mk.QUIET_OTHERS_CORES, sum(times.values())


def run(args) -> dict:
    """``_run`` in a temporary work directory, removed afterwards (the built files)."""
    with tempfile.TemporaryDirectory(prefix="threads.") as work:
        return _run(args, Path(work))


def _run(args, work: Path) -> dict:
    import microbench_kernels as mk

    from compressor.measure.bench import cpu_description

    with mk.machine_state() as reference:  # the state of the machine (microbench_kernels.REFERENCE)
        rows = _time_fragments(args, work) if args.fragments else _time_all(args, work)
    return {"cpu": cpu_description(), "load_average": Path("/proc/loadavg").read_text().split()[:3],
            "clock": f"wall time, median minus the empty file's, least disturbed of {args.rounds}",
            "reference": reference, "rows": rows}


def _time_all(args, work: Path) -> list[dict]:
    """Every file of the grid at 1 and ``args.threads`` threads (``_run``)."""
    import microbench_kernels as mk

    from compressor.graph.read import read_graph

    rows = []
    for fmt in args.formats:
        empty = mk.build_empty(work / f"empty-{fmt}.{mk.SUFFIX[fmt]}")
        points = []
        for family, grid in _grid(args).items():
            if family in mk.SKIP.get(fmt, ()):
                continue
            for i, p in enumerate(grid):
                # A chain is built at N and at 2N copies: the N ops between them are the op's own
                # time, the file's glue (paid once, and slower on two threads) cancelled out.
                paths = []
                for repeat in ([p["repeat"], 2 * p["repeat"]] if p.get("repeat") else [None]):
                    path = work / f"{family}-{i}-{repeat or 1}-{fmt}.{mk.SUFFIX[fmt]}"
                    mk.BUILDERS[fmt](family, {**p, "repeat": repeat} if repeat else p, path)
                    paths.append(path)
                points.append((family, p, paths))
        log(f"[{fmt}] timing {sum(len(paths) for *_, paths in points)} files at 1 and {args.threads} threads")
        best, busy = {}, {}
        for _ in range(args.rounds):
            for family, p, paths in points:
                for path in paths:
                    timings = {threads: timed(path, empty, threads, args.seconds / args.rounds / 2)
                               for threads in (1, args.threads)}
                    times, others = {t: ms for t, (ms, _) in timings.items()}, timings[args.threads][1]
                    key = str(path)  # the quietest round first (the second vCPU free), then the fastest
                    if key not in best or quiet_first(times, others) < quiet_first(best[key], busy[key]):
                        best[key], busy[key] = times, others
        for family, p, paths in points:
            graph = read_graph(paths[0], as_run=True)
            op = mk.measured_op(graph)
            t = best[str(paths[0])]
            n = p.get("repeat", 1)
            row = {"format": fmt, "family": family, "params": p, "op_type": op.op_type, "kind": op.kind,
                   "dtype": op.compute_dtype, "macs": op.macs, "ms_1": t[1] / n, "ms_t": t[args.threads] / n,
                   "threads": args.threads, "chain": n, "others_cores": busy[str(paths[0])]}
            if len(paths) == 2:  # per op: (the 2N chain - the N chain) / N; the whole N chain kept
                t2 = best[str(paths[1])]
                row.update(ms_1=(t2[1] - t[1]) / n, ms_t=(t2[args.threads] - t[args.threads]) / n,
                           differenced=True, chain_ms_1=t[1], chain_ms_t=t[args.threads])
            rows.append(row)
    return rows


def _time_fragments(args, work: Path) -> list[dict]:
    """Each fragment at FRAGMENT_BLOCKS and twice as many blocks, 1 and ``args.threads`` threads
    (wall time less the empty file's, the least disturbed of ``args.rounds`` passes): per block,
    the difference over FRAGMENT_BLOCKS, so the file's own glue cancels out."""
    import microbench_kernels as mk

    rows = []
    for fmt in args.formats:
        empty = mk.build_empty(work / f"empty.{mk.SUFFIX[fmt]}")
        dtype = "int8" if fmt.endswith("-int8") else "float32"
        for kind, p in FRAGMENTS:
            paths = [_fragment_file(work, fmt, kind, p, blocks) for blocks in (FRAGMENT_BLOCKS, 2 * FRAGMENT_BLOCKS)]
            best: dict[tuple[int, int], float] = {}
            busiest = 0.0
            for _ in range(args.rounds):
                timings = {(i, threads): timed(path, empty, threads, args.seconds / args.rounds)
                           for i, path in enumerate(paths) for threads in (1, args.threads)}
                times = {key: ms for key, (ms, _) in timings.items()}
                others = max(timings[i, args.threads][1] for i in range(len(paths)))
                if not best or quiet_first(times, others) < quiet_first(best, busiest):
                    best, busiest = times, others
            n = FRAGMENT_BLOCKS
            rows.append({"format": fmt, "family": "fragment",
                         "fragment": kind, "params": p, "dtype": dtype, "blocks": n, "threads": args.threads,
                         "ms_1": (best[1, 1] - best[0, 1]) / n, "ms_t": (best[1, args.threads] - best[0, args.threads]) / n,
                         "chain_ms_1": best[0, 1], "chain_ms_t": best[0, args.threads], "others_cores": busiest})
            log(f"[{fmt}] {kind} {p}: {rows[-1]['ms_1']:.4f} ms a block on 1 thread, {rows[-1]['ms_t']:.4f} on {args.threads}")
    return rows


def _fragment_file(work: Path, fmt: str, kind: str, p: dict, blocks: int) -> Path:
    import microbench_kernels as mk

    path = work / f"fragment-{kind}-{'-'.join(str(v) for v in p.values())}-{blocks}-{fmt}.{mk.SUFFIX[fmt]}"
    if not path.exists():
        build = mk.build_onnx_fragment if mk.SUFFIX[fmt] == "onnx" else mk.build_tflite_fragment
        build(kind, p, blocks, path, "int8" if fmt.endswith("-int8") else "float32")
    return path


# The grid fit_fragments searches: efficiency 0.5-1 by 0.05, hand-off 0-20 us by 1.
FRAGMENT_EFFICIENCIES = tuple(round(0.5 + 0.05 * i, 2) for i in range(11))
FRAGMENT_SYNCS = tuple(float(s) for s in range(21))


def fit_fragments(rows: list[dict], target: str = "host-x86", *,
                  min_ms: float = 0.02) -> dict[tuple[str, str], tuple[float, float, int]]:
    """(runtime, dtype) -> ``parallel.<dtype>`` (efficiency, sync_us, fragments) from the
    fragments: the pair whose cost model (the profile's own, only those two replaced, its kinds,
    tiles and hand-off kept) best predicts each block's two-thread speedup, by squared log error
    of predicted over measured speedup.  The speedup, not the time: a block's one-thread time is
    the kernel terms' business."""
    import numpy as np

    fitted = {}
    with tempfile.TemporaryDirectory(prefix="fragments.") as work:
        for fmt, dtype, source in _runtime_dtypes():
            mine = [r for r in rows if r.get("family") == "fragment" and r["format"] == source and r["dtype"] == dtype
                    and r["ms_1"] >= min_ms and r["ms_t"] > 0]
            if len(mine) < 4:
                continue
            speedups = fragment_speedups(mine, target, Path(work))
            measured = [r["ms_1"] / r["ms_t"] for r in mine]
            _, efficiency, sync_us = min(
                (sum(float(np.log(m / p)) ** 2 for m, p in zip(measured, speedups(e, s))), e, s)
                for e in FRAGMENT_EFFICIENCIES for s in FRAGMENT_SYNCS)
            fitted[fmt, dtype] = (efficiency, sync_us, len(mine))
    return fitted


def fragment_speedups(rows: list[dict], target: str, work: Path):
    """``speedups(efficiency, sync_us)``: the two-thread speedup per block the cost model
    predicts for each of ``rows`` (fragments of one format) with its runtime's ``parallel`` for
    their dtype set to those two; the files are built again in ``work``."""
    import dataclasses

    from compressor.graph.read import read_graph
    from compressor.measure.estimate import estimate_artifact
    from compressor.targets import load_target

    base = load_target(target)
    fmt, dtype = rows[0]["format"], rows[0]["dtype"]
    runtime = fmt.removesuffix("-int8")
    costs = base.compute.runtimes[runtime]
    pairs = [[(path, read_graph(path, as_run=True)) for path in
              (_fragment_file(work, fmt, r["fragment"], r["params"], b) for b in (r["blocks"], 2 * r["blocks"]))]
             for r in rows]

    def per_block(pair, profile) -> float:
        (short, g0), (long, g1) = pair
        return estimate_artifact(long, profile, graph=g1).latency_ms - estimate_artifact(short, profile, graph=g0).latency_ms

    one = [per_block(pair, dataclasses.replace(base, compute=dataclasses.replace(base.compute, threads=1)))
           for pair in pairs]

    def speedups(efficiency: float, sync_us: float) -> list[float]:
        parallel = {**costs.parallel, dtype: {**costs.parallel[dtype], "efficiency": efficiency, "sync_us": sync_us}}
        compute = dataclasses.replace(base.compute, threads=rows[0]["threads"], runtimes={
            **base.compute.runtimes, runtime: dataclasses.replace(costs, parallel=parallel)})
        profile = dataclasses.replace(base, compute=compute)
        return [t1 / per_block(pair, profile) for pair, t1 in zip(pairs, one)]

    return speedups


def _grid(args) -> dict[str, list[dict]]:
    import microbench_kernels as mk

    if args.chain:
        grid = SMALL_CHAIN_GRID if args.small else CHAIN_GRID
        return {family: [{**p, "repeat": args.chain} for p in points] for family, points in grid.items()}
    if args.serial:
        return {family: mk.GRID[family] for family in (args.families or SERIAL_FAMILIES)}
    return {family: mk.GRID[family][::args.stride] for family in FAMILIES}


def _runtime_dtypes():
    """(runtime, dtype, the microbenchmark format that times it) for each fitted pair."""
    for fmt in ("tflite", "onnx"):
        for dtype in ("float32", "int8"):
            yield fmt, dtype, fmt if dtype == "float32" else f"{fmt}-int8"


# onnxruntime's fp32 convs run as NCHWc convs (its CPU provider's layout transform), which MLAS
# splits into whole units of output rows times ``block`` output channels (snchwc.cpp: 4 filter
# blocks of 16 channels on AVX-512; depthwise: one block of 16), so a one-row conv does not split.
NCHWC_BLOCK = {"onnx": {"float32": {"conv": 64, "pointwise": 64, "depthwise": 16}}}


# Its other fp32 convs (1-D ones, channel counts the NCHWc layout leaves out) slice their output
# positions in stripes rounded up to 16 (convolve.cpp MlasConvPrepare, MLAS_SGEMM_STRIDEN_THREAD_ALIGN):
# no grid point runs that way (all are NCHWc), so it is stated, not fitted.
STRIPE = {"onnx": {"float32": {"conv": 16, "pointwise": 16}}}
# Kinds fitted apart where a runtime's convs split by NCHWc units (``kinds`` in the profile);
# the element-wise fit also stands for the other ops outside MLAS's conv / GEMM kernels, which
# split through the same thread-pool cost model (a small one stays on the calling thread).
APART = ("depthwise", "elementwise")
COST_MODEL_KINDS = ("other", "pool", "reshape")


def nchwc_units(row: dict, block: dict[str, int] | None) -> int | None:
    """The work units MLAS splits a grid point into (its params), None where it does not apply."""
    p, size = row["params"], (block or {}).get(row["family"])
    if not size:
        return None
    channels = p.get("cout", p.get("c"))
    return -(-p["h"] // p["s"]) * -(-channels // size)


def predict_t(t1: float, threads: int, efficiency: float, sync_us: float, units: int | None = None) -> float:
    """What cost/latency.py predicts at ``threads`` for an op taking ``t1`` ms on one, split in
    ``units`` whole work units (None: as finely as it likes)."""
    balance = (units / threads) / -(-units // threads) if units else 1.0
    return min(t1, t1 / ((1 + efficiency * (threads - 1)) * balance) + sync_us * 1e-3)


def _fit_one(mine: list[dict], block: dict[str, int] | None) -> tuple[float, float]:
    """(efficiency, sync_us) minimising the squared log error of ``predict_t`` over ``mine``."""
    threads = mine[0]["threads"]
    units = [nchwc_units(r, block) for r in mine]
    best = None
    for efficiency in np.linspace(0, 1, 101):
        for sync_us in np.linspace(0, 20, 201):
            error = sum(np.log(predict_t(r["ms_1"], threads, efficiency, sync_us, u) / r["ms_t"]) ** 2
                        for r, u in zip(mine, units))
            if best is None or error < best[0]:
                best = (error, float(efficiency), float(sync_us))
    return best[1], best[2]


def fit(rows: list[dict], *, min_ms: float = 0.0005,
        serial: dict[str, dict[str, list[str]]] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """(efficiency, sync_us) per runtime and dtype for ``t_T = min(t_1, t_1 / (1 + e (T - 1)) /
    balance + sync)`` (a tiny op stays on one thread; ``balance`` the share of a perfect split
    whole NCHWc work units allow, ``NCHWC_BLOCK``), by grid search on squared log error; where
    a runtime's convs split by units, depthwise apart (``kinds``: MLAS's depthwise kernel)."""
    fitted: dict[str, dict[str, dict[str, float]]] = {}
    for fmt, dtype, source in _runtime_dtypes():
        mine = [r for r in rows if r["format"] == source and r["dtype"] == dtype and r["ms_1"] >= min_ms
                and r["ms_t"] > 0 and r["family"] in FAMILIES
                and r["op_type"] not in (serial or {}).get(fmt, {}).get(dtype, ())]
        pool = mine  # every point, for the kinds fitted apart below
        if (fmt == "onnx" or dtype == "int8") and any(r.get("chain", 1) > 1 for r in mine):
            # A single-op file times the kernel between glue a second thread barely speeds up,
            # once per op: onnxruntime's layout reorders, an int8 file's QUANTIZE/DEQUANTIZE.
            # Where chains were timed, only they speak for those kernels; LiteRT's fp32
            # single-op files hold the op alone and count with the chains.
            mine = [r for r in mine if r.get("chain", 1) > 1]
        if len(mine) < 4:
            continue
        block = NCHWC_BLOCK.get(fmt, {}).get(dtype)
        kinds: dict[str, tuple[float, float]] = {}
        if block:
            # MLAS's depthwise kernel splits its own way; element-wise ops go through the thread
            # pool's cost model (Eigen's: a small op stays on the calling thread), timed as
            # single ops (no layout glue around them to hide behind).
            for kind in APART:
                apart = [r for r in pool if r["family"] == kind]
                apart = [r for r in apart if r.get("chain", 1) > 1] or apart
                if len(apart) >= 4:
                    kinds[kind] = _fit_one(apart, block)
            mine = [r for r in mine if r["family"] not in kinds]
            if "elementwise" in kinds:
                kinds.update({kind: kinds["elementwise"] for kind in COST_MODEL_KINDS})
        if not mine:  # every point fitted apart (a --serial table alone): no split of its own
            continue
        efficiency, sync_us = _fit_one(mine, block)
        fitted.setdefault(fmt, {})[dtype] = {"efficiency": efficiency, "sync_us": sync_us, "points": len(mine),
                                             "nchwc_block": block, "stripe": STRIPE.get(fmt, {}).get(dtype),
                                             "kinds": kinds}
    return fitted


def serial_ops(rows: list[dict], *, min_ms: float = 0.02, below: float = 1.15) -> dict[str, dict[str, list[str]]]:
    """Per runtime and dtype, the op types a second thread does not speed up: the median
    speedup of their points taking at least ``min_ms`` on one thread is under ``below``."""
    found: dict[str, dict[str, list[str]]] = {}
    for fmt, dtype, source in _runtime_dtypes():
        by_type: dict[str, list[float]] = {}
        for r in rows:
            if (r["format"] == source and r["dtype"] == dtype and r["ms_1"] >= min_ms and r["ms_t"] > 0
                    and r["family"] not in ("rnn", "fragment")):  # recurrent ops: fit_step_sync; fragments: several ops
                by_type.setdefault(r["op_type"], []).append(r["ms_1"] / r["ms_t"])
        slow = sorted(op for op, speedups in by_type.items() if statistics.median(speedups) < below)
        if by_type:
            found.setdefault(fmt, {})[dtype] = slow
    return found


def fit_step_sync(rows: list[dict], efficiency: float) -> float | None:
    """A recurrent op's hand-off per time step (us): ``t_T = steps x min(t_1 / steps,
    t_1 / steps / (1 + e (T - 1)) + sync)``, grid search on squared log error, ``e`` onnxruntime
    fp32's fitted efficiency (``fit``)."""
    mine = [r for r in rows if r["family"] == "rnn" and r["ms_t"] > 0]
    if len(mine) < 4:
        return None

    def error(sync_us: float) -> float:
        total = 0.0
        for r in mine:
            steps = r["params"]["steps"]
            step = r["ms_1"] / steps
            total += np.log(steps * predict_t(step, r["threads"], efficiency, sync_us) / r["ms_t"]) ** 2
        return total

    return float(min(np.linspace(0, 20, 201), key=error))


def predict_rows(rows: list[dict], target) -> list[tuple[dict, float, float]]:
    """(row, predicted ms at 1 thread, at the row's threads) of each single-op row (no chain, no
    fragment): its file built again (microbench_kernels' builders are seeded, so the same file) and
    costed by ``target``'s profile (a name, a .toml or a loaded one) as ``compress profile --threads`` costs it."""
    from compressor.targets.load import load_target

    return _predicted_through(rows, [load_target(target) if isinstance(target, (str, Path)) else target])[0]


def _predicted_through(rows: list[dict], profiles: list) -> list[list[tuple[dict, float, float]]]:
    """``predict_rows`` of each of ``profiles``, each file built and read once for all of them."""
    import microbench_kernels as mk

    from compressor.graph.read import read_graph
    from compressor.measure.estimate import estimate_artifact

    out: list[list[tuple[dict, float, float]]] = [[] for _ in profiles]
    with tempfile.TemporaryDirectory(prefix="threads.") as work:
        for i, r in enumerate(rows):
            if r.get("chain", 1) != 1 or r["family"] == "fragment":
                continue
            path = Path(work) / f"{r['family']}-{i}.{mk.SUFFIX[r['format']]}"
            mk.BUILDERS[r["format"]](r["family"], r["params"], path)
            graph = read_graph(path, as_run=True)  # as estimate_artifact reads it
            for predicted, profile in zip(out, profiles):
                # its ops alone, as the rows' times are the file's less the empty file's (the runtime's invoke)
                one, many = ((kernels := estimate_artifact(path, profile, graph=graph, threads=t).kernels).latency_ms
                             - kernels.invoke_ms for t in (1, r["threads"]))
                predicted.append((r, one, many))
    return out


def fit_step_sync_through(rows: list[dict], target: str, *, fmt: str = "onnx", dtype: str = "int8") -> float | None:
    """``step_sync_us`` of ``target``'s ``fmt`` ``dtype`` threads (its ``step_split_macs`` and serial list
    as the profile gives them) that best predicts the recurrent rows' two-thread speedups (least squared
    log error, 0-20 us by 0.5), each file costed through the whole profile (``predict_rows``): what
    ``fit_step_sync``'s one-formula model cannot say of onnxruntime's DynamicQuantizeLSTM, whose input
    GEMM over all steps splits apart from its steps.  None without such rows or such a table."""
    import dataclasses
    import math

    from compressor.targets.load import load_target
    from compressor.targets.runtime_cost import frozen

    profile = load_target(target)
    costs = profile.compute.runtime_cost(fmt)
    mine = [r for r in rows if r["family"].startswith("rnn") and r["dtype"] == dtype and r["ms_t"] > 0]
    if not mine or dtype not in costs.parallel:
        return None

    def with_sync(sync_us: float):
        parallel = {**costs.parallel, dtype: frozen({**costs.parallel[dtype], "step_sync_us": sync_us})}
        return dataclasses.replace(profile, compute=dataclasses.replace(profile.compute, runtimes={
            **profile.compute.runtimes, fmt: dataclasses.replace(costs, parallel=frozen(parallel))}))

    candidates = [float(s) for s in np.arange(0.0, 20.01, 0.5)]
    errors = [sum(math.log((one / many) / (r["ms_1"] / r["ms_t"])) ** 2 for r, one, many in predicted if many > 0)
              for predicted in _predicted_through(mine, [with_sync(s) for s in candidates])]
    return candidates[errors.index(min(errors))]


def print_predicted(rows: list[dict], target: str) -> None:
    """``predict_rows``' ratios, and the share of each thread count within ±20 %."""
    predicted = predict_rows(rows, target)
    def ratio(predicted_ms: float, measured_ms: float) -> str:  # a file timed at 0 (below the clock): no ratio
        return f"x{predicted_ms / measured_ms:.2f}" if measured_ms > 0 else "x-   "

    for r, one, many in predicted:
        print(f"{r['family']:<14}{json.dumps(r['params']):<52} 1t {r['ms_1']:8.4f} ms pred {one:8.4f} "
              f"{ratio(one, r['ms_1'])} | {r['threads']}t {r['ms_t']:8.4f} ms pred {many:8.4f} {ratio(many, r['ms_t'])}")
    for label, pairs in (("1 thread", [(one, r["ms_1"]) for r, one, _ in predicted]),
                         ("threads", [(many, r["ms_t"]) for r, _, many in predicted])):
        ratios = [p / m for p, m in pairs if m > 0]
        if ratios:
            print(f"# {target}, {label}: {sum(0.8 <= x <= 1.2 for x in ratios)} of {len(ratios)} within ±20 %, "
                  f"x{min(ratios):.2f}-x{max(ratios):.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--out", help="JSON table to write")
    parser.add_argument("--from-json", nargs="+", metavar="FILE",
                        help="fit earlier --out tables together (single-op, --chain, --serial), measuring nothing")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stride", type=int, default=2, help="every N-th grid point of each family")
    parser.add_argument("--seconds", type=float, default=0.6, help="timing budget per file, over all rounds")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--small", action="store_true",
                        help="with --chain: the small-op points (3-30 us), which pin the per-op hand-off")
    parser.add_argument("--chain", type=int, default=0,
                        help="time chains of N shape-preserving copies of each MAC kernel (per op time)")
    parser.add_argument("--fragments", action="store_true",
                        help="time graph fragments (generic CNN blocks) for the runtimes' parallel fit")
    parser.add_argument("--serial", action="store_true",
                        help="time every point of the families whose kernels may not split (serial op types)")
    parser.add_argument("--families", nargs="+", metavar="FAMILY",
                        help="with --serial: these microbench_kernels families instead of SERIAL_FAMILIES "
                             "(rnn_dynamic: onnxruntime's DynamicQuantizeLSTM, onnx-int8)")
    parser.add_argument("--predict", metavar="TARGET",
                        help="also cost each single-op row at 1 and its threads by TARGET's profile (ratios)")
    args = parser.parse_args(argv)
    if not args.out and not args.from_json:
        parser.error("--out FILE (measure) or --from-json FILE (fit only)")
    if args.from_json:
        tables = [json.loads(Path(f).read_text()) for f in args.from_json]
        result = {**tables[0], "rows": [r for t in tables for r in t["rows"]]}
    else:
        result = run(args)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    for r in result["rows"]:
        print(f"{r['format']:<12}{r['family']:<16}{r.get('op_type', r.get('fragment')):<20}{r['ms_1']:>9.4f} ms 1t "
              f"{r['ms_t']:>9.4f} ms {r['threads']}t  x{r['ms_1'] / max(r['ms_t'], 1e-9):.2f}")
    if any(r["family"] == "fragment" for r in result["rows"]):
        for (fmt, dtype), (efficiency, sync_us, points) in fit_fragments(result["rows"]).items():
            print(f"# {fmt} fragments: parallel.{dtype} efficiency = {efficiency:.3g}, sync_us = {sync_us:.3g}"
                  f"  # {points} fragments")
    serial = serial_ops(result["rows"])
    fitted = fit(result["rows"], serial=serial)
    for fmt, dtypes in fitted.items():
        print(f"[compute.variants.runtimes.{fmt}]")
        for dtype, v in dtypes.items():
            extra = ""
            if v["nchwc_block"]:
                extra += ", nchwc_block = { " + ", ".join(f"{k} = {n}" for k, n in v["nchwc_block"].items()) + " }"
            if v["stripe"]:
                extra += ", stripe = { " + ", ".join(f"{k} = {n}" for k, n in v["stripe"].items()) + " }"
            if v["kinds"]:
                extra += ", kinds = { " + ", ".join(f"{k} = {{ efficiency = {e:.3g}, sync_us = {s:.3g} }}"
                                                   for k, (e, s) in v["kinds"].items()) + " }"
            print(f"parallel.{dtype} = {{ efficiency = {v['efficiency']:.3g}, sync_us = {v['sync_us']:.3g}{extra} }}"
                  f"  # {v['points']} files")
    efficiency = fitted.get("onnx", {}).get("float32", {}).get("efficiency")
    step_sync = fit_step_sync(result["rows"], efficiency) if efficiency is not None else None
    if step_sync is not None:
        print(f"# onnx float32 recurrent ops, at the fitted efficiency {efficiency:.3g}: step_sync_us = {step_sync:.3g}")
    for fmt, dtypes in serial.items():
        for dtype, ops in dtypes.items():
            print(f"# {fmt} {dtype}: no faster on {args.threads if not args.from_json else 'more'} threads: {', '.join(ops) or 'none'}")
    if args.predict:
        print_predicted(result["rows"], args.predict)
        if (sync := fit_step_sync_through(result["rows"], args.predict)) is not None:
            print(f"# onnx int8 recurrent ops through {args.predict}'s profile: step_sync_us = {sync:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
