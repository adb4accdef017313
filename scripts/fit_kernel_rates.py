#!/usr/bin/env python3
"""Fit a CPU profile's per-kernel-family rates to the microbenchmark table, and show the fit.

    python scripts/fit_kernel_rates.py scripts/data/host-x86-kernels.json --target host-x86
    python scripts/fit_kernel_rates.py scripts/data/host-x86-kernels-xeon-amx.json scripts/data/host-x86-kernels-broadcast-xeon-amx.json
    python scripts/fit_kernel_rates.py TABLE.json --cpu "AuthenticAMD family 25 model 17"   # a CPU's own entry

Reads the table ``scripts/microbench_kernels.py`` wrote (single-op files, their MACs, bytes
and measured ms) and, per (dtype, op kind), compares it with what ``--target`` predicts for
the same op (``cost.latency.estimate_op_latency`` without the dispatch term, which the
table's empty-file subtraction removed too):

* compute kinds (conv, pointwise, depthwise, fully_connected): the efficiency that makes the
  median compute-bound point exact, ``efficiency × median(predicted / measured)``;
* kinds without MACs (elementwise, pool, reshape): the fraction of the memory bandwidth their
  kernels reach, ``median(predicted / measured)`` at efficiency 1 (``cost/latency.py``: for
  these kinds ``efficiency[dtype][kind]`` is that fraction when the profile lists the kind).

Per runtime (``runtimes = { tflite = {...}, onnx = {...} }``): the per-op dispatch (slope of
the ADD chains), the per-inference invoke cost (the empty file's median less one dispatch) and
onnxruntime's fixed cost per recurrent time step and its RNN kernel's rate (``fit_rnn_step``).
Both formats (LiteRT/XNNPACK and onnxruntime/MLAS) pool into one profile's MAC rates, as a
target has one rate per family; the per-format medians are printed beside so the gap is visible.  It
prints TOML lines to paste into the target's variant (with ``--cpu``: a ``[[compute.variants.cpus]]``
entry, what one CPU model measured of its own), and each point's error after the fit.  The target
is loaded as the tables' CPU sees it (its identity as recorded, or ``--cpu``), whatever machine
runs the fit.
Nothing here reads a model the fidelity scripts judge.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMPUTE = ("conv", "pointwise", "depthwise", "fully_connected")


def predicted_ms(row: dict, target) -> tuple[float, float, float]:
    """(compute ms, memory ms at the profile's bandwidth, total without dispatch) for a table row."""
    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.ir import Op

    op = Op(name="x", op_type=row["op_type"], kind=row["kind"], inputs=(), outputs=(), macs=row["macs"],
            compute_dtype=row.get("dtype", "float32"), weight_bytes=0, input_bytes=row["bytes"], output_bytes=0,
            out_channels=row["out_channels"])
    latency = estimate_op_latency(op, target)
    return latency.compute_s * 1e3, latency.memory_s * 1e3, (latency.latency_s - latency.overhead_s) * 1e3


def fit_conv_call_us(rows: list[dict], one_input_io_us: float = 0.0) -> float | None:
    """``conv_call_us``: the median, over the ort_chain family's convs (onnxruntime's generic Conv: 1-D, not
    NCHWc), of a node's time in its chain (``alone_ms``) less its one-node file's (``chain_ms[0]``, what the
    single-op grid times, less what its one input and output cost against the empty file's:
    ``RuntimeCost.io_us(1, 1)``, minus a feed), in us, at least 0; None without them."""
    extra = [(r["alone_ms"] - r["chain_ms"][0]) * 1e3 + one_input_io_us for r in rows
             if r["family"] == "ort_chain" and r["op_type"] in ("Conv", "FusedConv") and "chain_ms" in r]
    return max(statistics.median(extra), 0.0) if extra else None


def with_feeds(rows: list[dict], target) -> list[dict]:
    """``rows`` with each onnxruntime fp32 single-op file's time as its op costs in a graph: the file's time
    less the empty file's counts a feed (fetch) too many for each graph input (output) it has fewer than the
    empty file (RuntimeCost.io_us: 2.5 us for a one-input, one-output file on Zen 1).  The
    counts as microbench_kernels.py records them (``graph_inputs`` / ``graph_outputs``), else from the file
    built again.  A chain's node (its slope) and a profiled node's time have no invoke in them; a file
    timed at or under the empty file's (0) stays 0.  An NCHWc conv's file is left as timed: it also runs the
    ReorderInput / ReorderOutput a graph of NCHWc convs does not run per conv (two nodes' dispatch and
    copies), which the feed it lacks had offset (priced with the feed, its kinds' fixed costs rose 0.6 ->
    3.1 us and the corpus's small CNNs read 1.18-1.29x).  Unchanged where the profile has no feed cost."""
    import tempfile

    costs = target.compute.runtime_cost("onnx")
    if not (costs.feed_us or costs.fetch_us):
        return rows
    counts, out = {}, []
    with tempfile.TemporaryDirectory(prefix="feeds.") as work:
        for r in rows:
            if (r["format"] != "onnx" or r["family"] in ("dispatch", "ort_chain") or r["ms"] <= 0
                    or r.get("nchwc_rows")):  # an NCHWc conv's file: below
                out.append(r)
                continue
            io = (r["graph_inputs"], r["graph_outputs"]) if "graph_inputs" in r else _file_io(r, counts, Path(work))
            out.append({**r, "ms": max(r["ms"] - costs.io_us(*io) * 1e-3, 0.0)})  # what the empty file's I/O held
    return out


def _file_io(row: dict, counts: dict, work: Path) -> tuple[int, int]:
    """(graph inputs fed, outputs) of a row's .onnx, built again (microbench_kernels.build_onnx), cached."""
    import onnx
    from microbench_kernels import build_onnx

    key = (row["family"], json.dumps(row["params"], sort_keys=True))
    if key not in counts:
        path = work / "file.onnx"
        build_onnx(row["family"], row["params"], path)
        model = onnx.load(str(path))
        constants = {i.name for i in model.graph.initializer}
        counts[key] = (sum(i.name not in constants for i in model.graph.input), len(model.graph.output))
    return counts[key]


def fit_dispatch_us(rows: list[dict]) -> float:
    """Least-squares slope of the dispatch chains' ms over their op count, in microseconds."""
    points = [(r["n_ops"], r["ms"]) for r in rows if r["family"] == "dispatch" and not r["format"].endswith("int8")]
    if len(points) < 2:
        return float("nan")
    mean_n = statistics.fmean(n for n, _ in points)
    mean_t = statistics.fmean(t for _, t in points)
    slope = (sum((n - mean_n) * (t - mean_t) for n, t in points) / sum((n - mean_n) ** 2 for n, _ in points))
    return max(slope, 0.0) * 1e3


def rnn_step_times(rows: list[dict], fmt: str = "onnx") -> list[tuple[str, float, float]]:
    """(cell, MACs per step, ms per step) per (cell, width) of the "rnn" sweep: the slope of ms
    over time steps is the time of one step (a width timed at fewer than two step counts: none)."""
    groups: dict[tuple, list[tuple[int, float, int]]] = {}
    for r in rows:
        if r["family"] in ("rnn", "rnn_dynamic") and r["format"] == fmt and r.get("recurrent_steps"):
            groups.setdefault((r["op_type"], r["params"]["hidden"], r["params"]["input"]), []).append(
                (r["recurrent_steps"], r["ms"], r["macs"]))
    per_step = []
    for (cell, _, _), points in groups.items():
        if len(points) < 2:
            continue
        mean_n = statistics.fmean(n for n, _, _ in points)
        mean_t = statistics.fmean(t for _, t, _ in points)
        slope = sum((n - mean_n) * (t - mean_t) for n, t, _ in points) / sum((n - mean_n) ** 2 for n, _, _ in points)
        per_step.append((cell, points[0][2] / points[0][0], slope))
    return per_step


def fit_rnn_step(rows: list[dict], target, fmt: str = "onnx") -> tuple[float, float]:
    """(fixed us per recurrent time step, rnn_efficiency): across widths, step time (``rnn_step_times``)
    = a + b x step MACs: a is the fixed part, 1 / b the MAC rate of the runtime's RNN kernel as a
    fraction of the float32 peak."""
    per_step = [(m, t) for _, m, t in rnn_step_times(rows, fmt)]
    if len(per_step) < 2:
        return float("nan"), float("nan")
    mean_m = statistics.fmean(m for m, _ in per_step)
    mean_t = statistics.fmean(t for _, t in per_step)
    b = sum((m - mean_m) * (t - mean_t) for m, t in per_step) / sum((m - mean_m) ** 2 for m, _ in per_step)
    peak_macs_per_ms = target.compute.clock_hz * target.compute.macs_per_cycle["float32"] * 1e-3
    return max(mean_t - b * mean_m, 0.0) * 1e3, min(1.0, 1.0 / (b * peak_macs_per_ms))


def fit_rnn_curves(rows: list[dict], fmt: str = "onnx") -> dict[str, list[tuple[float, float]]]:
    """Per recurrent op type, [(MACs per step, ps per MAC), ...] ascending: each width's step time
    (``rnn_step_times``) over its MACs per step (``rnn_steps`` in the profile: each width's own
    rate, fixed per-step costs included, where one line across widths missed the 128-wide LSTM
    by 20 %)."""
    curves: dict[str, list[tuple[float, float]]] = {}
    for cell, macs, ms in rnn_step_times(rows, fmt):
        curves.setdefault(cell, []).append((macs, ms * 1e9 / macs))
    return {cell: sorted(points) for cell, points in sorted(curves.items())}


# The families whose files fit the fp32 cell terms (fit_rnn_cells).
CELL_FAMILIES = ("rnn", "rnn_batch", "rnn_batch_wide", "rnn_plain", "rnn_step")


def fit_rnn_cells(rows: list[dict], target, fmt: str = "onnx") -> dict[str, tuple[float, ...]]:
    """Per recurrent op type, (fixed us per step, ps per byte of R a step reads, ps per byte of gate
    values it computes, ps more per byte of an R the private cache cannot hold, ps more per byte of
    gate values a step's working set pushes past it, ns per call and direction): what each
    CELL_FAMILIES file's time leaves beyond its GEMMs at the profile's fully-connected terms as
    loaded (``compressor.cost.recurrent``), per step, least squares weighted so that every file counts
    by its relative error (batch 1 to 2,048, input 4 to 257, hidden 32 to 512, 1 to 128 steps).
    Needs the fully-connected terms and three kinds of file (a term 0 without its kind of file: the
    call term needs the cell's "rnn_step" files, 1 to 8 steps; without them only files of 32 steps
    or more count)."""
    import numpy as np

    from compressor.cost.recurrent import (
        GATES,
        CellShape,
        cold_gate_bytes,
        gemms_s,
        step_bytes,
    )

    fc = target.compute.runtime_cost(fmt).kernels.get("float32", {}).get("fully_connected")
    points: dict[str, list[tuple[list[float], float, float]]] = {}
    few_steps = {r["params"]["cell"] for r in rows if r["family"] == "rnn_step" and r["format"] == fmt}
    for r in rows:
        if (fc is None or r["family"] not in CELL_FAMILIES or r["format"] != fmt
                or (r["params"]["steps"] < 32 and r["params"]["cell"] not in few_steps)):
            continue  # (without few-step files a 4-step file's own call would read as a dearer step)
        p = r["params"]
        shape = CellShape(GATES[p["cell"]], p["hidden"], p["input"], p.get("batch", 1), p["steps"], 1)
        rest_us = (r["ms"] * 1e-3 - gemms_s(shape, fc)) * 1e6 / shape.steps
        weights, gates = step_bytes(shape)
        cold = weights if weights > (target.memory.private_cache_bytes or math.inf) else 0
        cold_gates = cold_gate_bytes(shape, target.memory.private_cache_bytes)
        points.setdefault(p["cell"], []).append(([1.0, weights, gates, cold, cold_gates, 1.0 / shape.steps], rest_us,
                                                 shape.steps / r["ms"]))
    cells = {}
    for cell, xyw in sorted(points.items()):
        if len({tuple(x) for x, _, _ in xyw}) < 3:
            continue
        used = [k for k in range(6) if k < 3 or any(x[k] for x, _, _ in xyw) and (k < 5 or len({x[5] for x, _, _ in xyw}) > 2)]
        a = np.array([[x[k] for k in used] for x, _, _ in xyw]) * np.array([w for _, _, w in xyw])[:, None]
        solved = dict(zip(used, np.linalg.lstsq(a, np.array([y * w for _, y, w in xyw]), rcond=None)[0]))
        fitted = [float(solved.get(k, 0.0)) for k in range(6)]
        cells[cell] = (max(fitted[0], 0.0), *(max(v, 0.0) * 1e6 for v in fitted[1:5]), max(fitted[5], 0.0) * 1e3)
    return cells


# The families of onnxruntime's dynamic quantization (quantize_dynamic's ops) -> (their files'
# format, the dtype of the terms, the op type each measures): fitted apart (fit_dynamic_op).
DYNAMIC_OPS = {"dqmm": ("onnx-int8", "int8", "DynamicQuantizeMatMul"),
               "mmitf": ("onnx-int8", "int8", "MatMulIntegerToFloat"),
               "dqmm_u8": ("onnx-int8", "int8", "DynamicQuantizeMatMul_u8u8"),
               "mmitf_u8": ("onnx-int8", "int8", "MatMulIntegerToFloat_u8u8"),
               "dql": ("onnx", "float32", "DynamicQuantizeLinear")}


# A term's unit in ms per unit of its feature (ps per MAC or byte, ns per call, us fixed).
TERM_MS = {"mac_ps": 1e-9, "in_byte_ps": 1e-9, "weight_byte_ps": 1e-9, "out_byte_ps": 1e-9, "call_ns": 1e-6,
           "fixed_us": 1e-3}


def relative_fit(features: list[list[float]], times_ms: list[float], names: tuple[str, ...]) -> dict[str, float]:
    """Kernel terms ``names`` (columns of ``features``: MACs, bytes, calls, 1) by non-negative least
    squares on relative error, so each file counts alike; the other TERMS 0."""
    import numpy as np
    from scipy.optimize import nnls

    a, times = np.array(features, dtype=float), np.array(times_ms, dtype=float)
    x, _ = nnls(a / times[:, None], np.ones(len(times)))  # ms per unit
    return {**dict.fromkeys(TERMS, 0.0), **{name: float(v) / TERM_MS[name] for name, v in zip(names, x)}}


def fit_dynamic_op(rows: list[dict], family: str = "dqmm") -> dict[str, float]:
    """The terms of onnxruntime's op type ``DYNAMIC_OPS[family]`` from that family's files: the op's
    time (its node's, ``alone_ms``, where the file holds more: mmitf's shared quantizing) over MACs,
    input bytes (a DynamicQuantizeMatMul's fp32 input, quantized on the fly), weight bytes, output
    bytes and a fixed part, non-negative least squares on relative error; {} without enough files."""
    return _product_terms([r for r in rows if r["family"] == family and r["format"] == DYNAMIC_OPS[family][0]])


def _product_terms(points: list[dict]) -> dict[str, float]:
    """A product kernel's terms from its files: its time (its node's, ``alone_ms``, where recorded) over
    MACs, input bytes, weight bytes, output bytes and a fixed part, non-negative least squares on
    relative error; {} with fewer than 6 files that took any time."""
    def ms(r: dict) -> float:
        return r["alone_ms"] if r.get("alone_ms") is not None else r["ms"]

    mine = [r for r in points if ms(r) > 0]
    if len(mine) < 6:
        return {}
    return relative_fit([[r["macs"], r["input_bytes"], r["weight_bytes"], r["output_bytes"], 1.0] for r in mine],
                        [ms(r) for r in mine], ("mac_ps", "in_byte_ps", "weight_byte_ps", "out_byte_ps", "fixed_us"))


# onnxruntime's MatMulNBits kernels (Op.variant, ort_kernels.nbits_variant): 4- or 8-bit weights, fp32
# or int8 (accuracy_level 4) compute.
NBITS_VARIANTS = ("4b", "4b_int8", "8b", "8b_int8")


def fit_nbits(rows: list[dict], variant: str) -> dict[str, float]:
    """The terms of onnxruntime's MatMulNBits kernel ``variant`` from the matmul_nbits family's files of
    it (rows 1-256): per MAC, per input byte, per packed weight byte (a kernel dequantizes each block
    per call), per output byte and a fixed part, non-negative least squares on relative error; {}
    without enough files."""
    return _product_terms([r for r in rows if r["family"] == "matmul_nbits" and r.get("variant") == variant])


# onnxruntime's ConvInteger by the pairs its convint files run (microbench_kernels.CONVINT_SHAPES).
CONV_INTEGER_PAIRS = ("u8u8", "u8s8")


def fit_conv_integer(rows: list[dict], pair: str) -> dict[str, float]:
    """The terms of onnxruntime's ConvInteger of ``pair`` from the convint family's files (their
    ConvInteger node's time, ``alone_ms``): per MAC, per byte of its GEMMs' right-hand side (the
    im2col buffer, ``gemm_b_bytes``), per weight byte, per output byte, per GEMM (``gemm_calls``:
    one per group) and a fixed part, non-negative least squares on relative error; {} without
    enough files (cost/tiles.im2col_gemms counts the same for a model's ops)."""
    mine = [r for r in rows if r["family"] == "convint" and r["params"].get("pair") == pair
            and r.get("alone_ms") and r.get("gemm_calls")]
    if len(mine) < 8:
        return {}
    return relative_fit([[r["macs"], r["gemm_b_bytes"], r["weight_bytes"], r["output_bytes"], r["gemm_calls"], 1.0]
                         for r in mine], [r["alone_ms"] for r in mine],
                        ("mac_ps", "in_byte_ps", "weight_byte_ps", "out_byte_ps", "call_ns", "fixed_us"))


def fit(rows: list[dict], target, *, min_ms: float = 0.01, dtype: str = "float32") -> dict[str, float]:
    """kind -> fitted efficiency (compute kinds) or bandwidth fraction (the others), for ``dtype``."""
    efficiency = target.compute.efficiency[dtype]
    # int8 files (onnx-int8) time only their compute kinds: what else they hold is Q/DQ glue.
    rows = [r for r in rows if r.get("dtype", "float32") == dtype
            and (r["format"].endswith("int8") == (dtype == "int8"))
            and (dtype == "float32" or r["kind"] in COMPUTE)]
    fitted = {}
    rows = [r for r in rows if r["family"] not in ("dispatch", *OWN_FIT_FAMILIES)]  # those set the runtime costs
    for kind in sorted({r["kind"] for r in rows}):
        # int8 files carry a float QUANTIZE in and DEQUANTIZE out around the op: only layers of at
        # least 5 M MACs, where that glue is a small part, set the int8 compute rate.
        # Depthwise layers are never that large: all its points (the glue is then part of the rate).
        least_macs = 5_000_000 if dtype == "int8" and kind != "depthwise" else 0
        points = [r for r in rows if r["kind"] == kind and r["ms"] >= min_ms and r["macs"] >= least_macs]
        if not points:
            continue
        if kind in COMPUTE:
            ratios = [predicted_ms(r, target)[0] / r["ms"] for r in points]
            fitted[kind] = min(1.0, efficiency.get(kind, efficiency["other"]) * statistics.median(ratios))
        else:
            base = dataclasses.replace(target.compute, efficiency={**target.compute.efficiency,
                                                                    dtype: {**efficiency, kind: 1.0}})
            plain = dataclasses.replace(target, compute=base)
            fitted[kind] = min(1.0, statistics.median(predicted_ms(r, plain)[1] / r["ms"] for r in points))
    return fitted


INT8_TERMS_FOR = ("tflite", "onnx")
# MAC op types with terms of their own, apart from their kind's: a matmul of two activations is
# not the FC kernel (int8 BATCH_MATMUL runs on LiteRT's own kernel, ~10x slower per MAC).
# onnx-int8: subtract only the Q/DQ glue, not the NHWC Transposes, though both are measured
# (glue_transpose).  Chosen by the corpus, so not blind: with both subtracted the corpus's onnx
# int8 files came out at 23% / 44% within +-10% / +-20% (median 0.78x), with neither 28% / 51%,
# with only Q/DQ 62% / 74% -- an in-model QLinearConv costs more per byte than the isolated
# kernel less its Transposes, for reasons not yet measured.
SUBTRACT_TRANSPOSES = False
# Nor the glue as onnxruntime's profiler times it (``glue_ms``), though that is the truer kernel
# time: a whole int8 model's convs run over what those kernel terms say (the profiler, each node
# less its ~2 us floor: its node sums match the files' times within 5 %), only in part explained
# (the MLAS paths and per-task weight reads, targets/host-x86.toml), and the per-byte glue left in
# stands in for the rest (chosen by the corpus, so not blind: the Xeon's onnx int8 rows 41 % / 59 %
# within +-20 % on one / two threads with the profiled glue subtracted, 85 % / 64 % without).
SUBTRACT_PROFILED_GLUE = False
# ... but an onnxruntime fp32 depthwise conv's file spends most of its time in its NCHWc reorders
# (a 112x112x32 3x3: 116 us of kernel in 322), which a graph of NCHWc convs does not run per op.
_PROFILED_GLUE_FOR = {("onnx", "float32"): ("depthwise",)}
PROFILED_GLUE_FOR = dict(_PROFILED_GLUE_FOR)  # main() adds --profiled-glue's kinds to a fresh copy
# LiteRT's RFFT2D: a rate per unit of its work (N log2 N a plane) and a cost per plane (a call);
# onnxruntime's DFT likewise per transform (its radix-2 FFT's, or Bluestein's: onnx_ops.py).
# Families fitted by functions of their own, not into any kind's terms: the recurrent ones set the
# runtime's per-step costs (rnn_steps, its LSTM / GRU cell terms), dqmm, mmitf and dql its dynamic
# quantization's, convint its ConvInteger's; matmul_const is a check, fitted by nothing (an ONNX MatMul
# by a constant takes the Gemm's terms: scripts/data/host-x86-kernels-matmul-const-zen4.json).
OWN_FIT_FAMILIES = ("rnn", "rnn_dynamic", "rnn_batch", "rnn_batch_wide", "rnn_plain", "rnn_step", "dqmm", "mmitf", "dqmm_u8", "mmitf_u8", "dql", "convint", "matmul_const",
                    "matmul_nbits", "while_loop")
# Op types timed but fitted into no terms: onnxruntime's ScatterElements walks its indices element by
# element, 4-10 ns an element up to 262 K of them on Zen 1, then more as its index set outgrows the caches
# (12 ns at 614 K, 30 at 3.3 M: scripts/data/host-x86-kernels-scatter-zen1.json), which one rate per
# element cannot say; it stays costed by its bytes (caustic-nmr's GNN, held-out set 14: 0.59x).  Its
# GatherElements points put terms of its own no nearer than the reshape kind's they take (0.55-1.41x
# against 0.65-1.27x).
UNFITTED_OP_TYPES = frozenset({"ScatterElements", "GatherElements"})
# Op types whose constant inputs are indices the kernel walks, not weights: a ScatterND sums each index
# tuple's components into an offset (scatter_nd.cc), ~9 ns a tuple and ~1.6 more a component on Zen 1
# (its tuples of 1-4 components), so its terms take a rate per constant byte; a Where reads its constant
# condition and other value per element as it reads x (the where family: a full bool mask against a row
# mask broadcast over the channels, a full y against a scalar).
INDEX_BYTES = frozenset({"ScatterND", "Where"})
OWN_TERMS = frozenset({"BATCH_MATMUL", "MatMul", "QLinearMatMul", "MatMulInteger", "RFFT2D", "DFT", "DFT_bluestein",
                       "SVMClassifier", "SVMClassifier_RBF", "SVMClassifier_LINEAR"})
TERMS = ("mac_ps", "in_byte_ps", "weight_byte_ps", "out_byte_ps", "fixed_us", "call_ns", "tap_ns", "pass_ps", "miss_ns",
         "step_ns")
# Runtimes (format, dtype) -> the op types whose kernel branches on the values it is fed, so they set
# its time (``miss_ns`` per mispredicted branch, ``Op.sign_misses``): onnxruntime's PRelu (per element
# on its sign) and its tree ensembles (per split).  Where the tables hold points that say how many
# branches missed (the prelu_signs and tree_rows families), its own terms come from those alone, not
# from rows written before the field.
# And (priced alike per miss) onnxruntime's strided reductions, whose reads past the L1's ways in one set
# miss it (cost.tiles.strided_conflicts).
STRIDED_REDUCTION_KEYS = ("ReduceMean_strided", "ReduceMax_strided", "ReduceMin_strided", "ReduceSum_strided")
SIGN_BRANCHES = {("onnx", "float32"): frozenset({"PRelu", "TreeEnsembleRegressor", *STRIDED_REDUCTION_KEYS})}
# Families of layout copies that run well below the element-wise stream rate once their bytes pass the
# private cache (onnxruntime's NCHWc reorders: a block of 16 channel planes gathered or scattered at a
# time), by the op type they time: its terms come from its points within that cache, and its
# ``stream_reach`` (the share of the CPU's stream curve it reaches) from those past it (stream_reach_of).
REACH_FAMILIES = {"reorder_input": "ReorderInput", "reorder_output": "ReorderOutput"}
# Runtimes (format, dtype) -> the fit groups that pay per pass over a filter set (``pass_ps``):
# MLAS's NCHWc convs broadcast each input value to at most 4 blocks of 16 output channels, so a
# 16-channel 3x3 costs 13.4 ps per MAC where a 64-channel one costs 9.5 (its profiler: microbench_probes
# --probe wide-kernels).
PASS_TERMS_FOR = {("onnx", "float32"): ("conv", "pointwise", "conv_unaligned_segmented", "conv_unaligned_segmented_strided",
                                          "pointwise_unaligned")}
# Runtimes (format, dtype) -> the kinds whose kernels pay per output position x filter tap
# (``tap_ns``): MLAS's int8 convs walk an indirection pointer (its symmetric kernel) or copy an
# im2col row (its GEMM path) per pair, ~1 ns each on the Xeon (onnxruntime's profiler: a 1x64-tap
# 1-in/1-out conv over 4096 positions takes 0.28 ms, where its MACs and bytes are nothing);
# XNNPACK's fp32 depthwise kernels read one input pointer per pair from their indirection buffer
# whatever the channels, so a 16-channel 3x3 over 128x128 costs 1.4x what its MACs and bytes say.
TAP_TERMS_FOR = {("onnx", "int8"): ("conv",), ("tflite", "float32"): ("depthwise",)}
# Runtimes (format, dtype) -> the fit groups whose one-row GEMMs pay per k step of each microkernel
# call (``step_ns``, cost.tiles.one_row_steps): XNNPACK's 1x32 / 1x16 fp32 kernels chain one FMA per
# step into each accumulator, so [1, 4096] -> 1 takes 4.8 us as -> 16 does (fc_one_row family).
STEP_TERMS_FOR = {("tflite", "float32"): ("fully_connected", "conv")}
# TFLite ops XNNPACK runs through one binary element-wise operator (binary-elementwise-nd.c):
# the cost of one call of its kernel is theirs alike, fitted where the grid broadcasts.
BINARY_OPS = frozenset({"ADD", "SUB", "MUL", "DIV", "PRELU", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"})


# onnxruntime's fp32 groups whose calls are a loop of their own (ort_kernels.kernel_walk), not a
# binary op's broadcast spans: a call each per Transpose block or run (by how it copies), Einsum
# product, Softmax row, grouped ConvTranspose group, 1-D depthwise conv's channel of each image,
# tree visit, depth <-> space run of blocksize elements, NCHW pool's output line, strided reduction's output,
# DFT transform, InstanceNormalization channel.
# onnxruntime's copies, a call per contiguous run (ir.copy_runs): its Concat, Slice and Split's
# (the ort_chain family's points, which vary runs and bytes apart).
ORT_COPIES = frozenset({"Concat", "Slice", "Split"})
OWN_LOOP_CALLS = frozenset({"Transpose_strided", "Transpose_inwards", "Transpose_blocks", "Einsum", "Softmax",
                            "DFT", "DFT_bluestein", "ConvTranspose_grouped", "depthwise_unaligned_1d", "TreeEnsembleRegressor",
                            "DepthToSpace", "SpaceToDepth", "MaxPool", "AveragePool", "MaxPool_1d", "AveragePool_1d",
                            "InstanceNormalization", "ScatterND",
                            *STRIDED_REDUCTION_KEYS})


def kernel_calls(row: dict) -> int:
    """Op.kernel_calls of a table row: a TFLite copy's runs (ir.copy_runs) or a TRANSPOSE's rows
    (ir.transpose_rows) from its params, as tables written before those were counted recorded 0;
    else as microbench_kernels.py recorded it (under ``broadcast_runs``, the field's older name),
    else (tables written before it) a TFLite PRELU's, whose slopes [1, 1, C] broadcast over every
    position."""
    from compressor.graph.ir import COPY_OPS  # a copy's runs: a call per contiguous run

    shape = row.get("params", {}).get("shape")
    if row["op_type"] in COPY_OPS and shape and row["format"].startswith("tflite"):
        return _copy_runs(row["op_type"], row["params"])
    if row["op_type"] == "TRANSPOSE" and shape and row["format"].startswith("tflite"):  # its rows, as the reader
        from compressor.graph.ir import transpose_rows

        return transpose_rows(tuple(shape), tuple(row["params"].get("perm", (0, 3, 1, 2))))
    if row["op_type"] == "Softmax" and shape and row["format"] == "onnx" and row["family"] == "transformer":
        return math.prod(shape[:-1])  # its rows (ort_kernels.softmax_rows), as tables before 2026-12-06 16:55 did not say
    if "broadcast_runs" in row:
        return row["broadcast_runs"]
    if row["op_type"] != "PRELU" or not shape or not row["format"].startswith("tflite"):
        return 0
    from compressor.graph.ir import broadcast_runs as runs

    return runs(tuple(shape), [tuple(shape), (1, 1, shape[-1])])


def _copy_runs(op_type: str, params: dict) -> int:
    """ir.copy_runs of a microbench_kernels.py CONCATENATION / STRIDED_SLICE point."""
    from microbench_kernels import copy_shapes

    from compressor.graph.ir import copy_runs

    return copy_runs(op_type, *copy_shapes({**params, "op": op_type}))


def _variant(row: dict) -> str:
    """The row's ``Op.variant`` (tables written before 2026-12-06 call it "interpolation")."""
    return row.get("variant", row.get("interpolation", ""))


def _grouped(row: dict) -> bool:
    return row.get("params", {}).get("groups", 1) > 1


def _unaligned(row: dict, target, dtype: str) -> bool:
    """Whether the row's conv misses its runtime's fast conv kernel (RuntimeCost.unaligned)."""
    op = _op(row, dtype)
    return target.compute.runtime_cost(row["format"].split("-")[0]).unaligned(
        dtype, op.kind, op.in_channels, op.out_channels, row.get("params", {}).get("groups", 1),
        row.get("nchwc_rows", 1))  # a table written before the field: as the NCHWc kernels took them


def _op(row: dict, dtype: str):
    from compressor.graph.ir import SLICE_OPS, Op

    params = row.get("params", {})
    cin = params.get("cin", 0) // params.get("groups", 1) if row["kind"] in ("conv", "pointwise") else 0
    return Op(name="x", op_type=row["op_type"], kind=row["kind"], inputs=(), outputs=(), macs=row["macs"],
              compute_dtype=dtype, weight_bytes=row["weight_bytes"],
              input_bytes=row["output_bytes"] if row["op_type"] in SLICE_OPS else row["input_bytes"],
              output_bytes=row["output_bytes"], out_channels=row["out_channels"], in_channels=int(cin),
              kernel_calls=kernel_calls(row), sign_misses=row.get("sign_misses", 0.0), variant=row.get("variant", ""),
              tree_nodes=tree_point_nodes(params) if "trees" in params else 0)


def _costed_op(row: dict, target, dtype: str):
    """(``_op``, its runtime's costs), with, where those price a tree ensemble's revisits warm
    (``RuntimeCost.warm_tree_revisits``), the nodes its walks reach (``tree_reached``)."""
    op, costs = _op(row, dtype), target.compute.runtime_cost(row["format"].split("-")[0])
    if op.tree_nodes and costs.warm_tree_revisits:
        op = dataclasses.replace(op, tree_distinct=tree_reached(row))
    return op, costs


def _known_ms(row: dict, target, dtype: str = "float32") -> float:
    """The part of a row's time no kernel term fits: a tree ensemble's first visits to the nodes its
    walks reach, at the runtime's visit curve, where its revisits run warm (cost.tiles.tree_visits_s
    with no call_ns); 0 for any other row."""
    from compressor.cost.tiles import tree_visits_s

    op, costs = _costed_op(row, target, dtype)
    return tree_visits_s(op, costs, 0.0) * 1e3 if costs.warm_tree_revisits else 0.0


_REACHED: dict[str, int] = {}


def tree_reached(row: dict) -> int:
    """``Op.tree_distinct`` of a tree point: as recorded, or (tables written before the field) as
    the reader counts it on the point's file, built again from its params."""
    if "tree_distinct" in row:
        return row["tree_distinct"]
    if row["params"]["rows"] == 1:  # one row: each visit a node of its own (ort_trees.tree_fields)
        return kernel_calls(row)
    key = json.dumps(row["params"], sort_keys=True)
    if key not in _REACHED:
        import tempfile

        from microbench_kernels import build_onnx

        from compressor.graph.onnx_reader import read_onnx

        p = row["params"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tree.onnx"
            build_onnx("tree_ensemble", p, path)
            ops = read_onnx(path, input_shapes=((p["rows"], p["features"]),)).ops
        _REACHED[key] = next(op.tree_distinct for op in ops if op.tree_nodes)
    return _REACHED[key]


def _terms_for(terms: dict, row: dict, target, dtype: str = "float32") -> dict | None:
    """The fitted terms the cost model would pick for a row (types.RuntimeCost.kernel_terms' order)."""
    from compressor.cost.latency import filter_taps
    from compressor.targets.types import kernel_term_keys

    keys = kernel_term_keys(row["op_type"], row["kind"], filter_taps(_op(row, dtype)), _grouped(row),
                            _unaligned(row, target, dtype), _variant(row))
    return next((terms[key] for key in keys if key in terms), None)


def _features(row: dict, target, dtype: str) -> list[float] | None:
    """[padded MACs, input bytes, weight bytes, output bytes, 1, kernel calls, position x tap
    pairs, filter set passes, mispredicted elements, one-row steps] of a row, in the units of TERMS scaled so each term's coefficient is in ms (ps x count
    x 1e-9; us x 1e-3; ns x count x 1e-6)."""
    if "input_bytes" not in row:
        return None  # a table written before the per-part byte counts
    from compressor.cost.latency import (
        broadcast_work,
        filter_set_passes,
        kernel_misses,
        kernel_work,
        one_row_steps,
        operand_reads,
        tap_pairs,
    )
    from compressor.cost.tiles import first_tree_visits

    # The work as the runtime's kernel computes it (its tiles: cost/latency.kernel_work; a
    # broadcasting op's whole vectors per call: broadcast_work), as predicted.
    op, costs = _costed_op(row, target, dtype)
    macs, out_bytes = kernel_work(op, target.compute, costs)
    in_bytes = operand_reads(op)  # onnxruntime's binary ops: a constant operand per element
    if not op.macs and row["format"].startswith("tflite"):  # XNNPACK's kernel, called per run
        in_bytes, out_bytes = broadcast_work(op, target.compute, costs)
    # a tree ensemble's revisits where they run warm (its first visits are the curve's: _known_ms)
    calls = op.kernel_calls - (first_tree_visits(op, costs) if op.tree_nodes and costs.warm_tree_revisits else 0)
    return [macs * 1e-9, in_bytes * 1e-9, row["weight_bytes"] * 1e-9, out_bytes * 1e-9, 1e-3, calls * 1e-6,
            tap_pairs(op) * 1e-6, filter_set_passes(op, costs) * 1e-9, kernel_misses(op, costs) * 1e-6,
            one_row_steps(op, target.compute, costs) * 1e-6]


def glue_ms_per_byte(rows: list[dict], fmt: str) -> float:
    """ms per int8 byte of the QUANTIZE + DEQUANTIZE pair around a single-op int8 file: the slope
    (through 0) of the "glue" family's files (an int8 RESHAPE between them); 0 without them."""
    points = [(r["bytes"], r["ms"]) for r in rows if r["format"] == fmt and r["family"] == "glue"]
    if not points:
        return 0.0
    return max(sum(b * t for b, t in points) / sum(b * b for b, _ in points), 0.0)


def _transpose_pairs(rows: list[dict], fmt: str) -> list[tuple[int, float, float]]:
    """(bytes of one Transpose, ms of the 1-Transpose file, ms of one Transpose) per shape of
    the "glue_transpose" files (QUANTIZE -> 0 or 1 int8 Transpose -> DEQUANTIZE)."""
    files: dict[tuple, dict[int, dict]] = {}
    for r in rows:
        if r["format"] == fmt and r["family"] == "glue_transpose":
            files.setdefault(tuple(r["params"]["shape"]), {})[r["params"].get("n", 1)] = r
    return [(f[1]["input_bytes"] + f[1]["output_bytes"], f[1]["ms"], max(f[1]["ms"] - f[0]["ms"], 0.0))
            for f in files.values() if 0 in f and 1 in f]


def transpose_ms_per_byte(rows: list[dict], fmt: str) -> float:
    """ms per byte of one of the int8 Transposes onnxruntime puts around a single-op file's
    NHWC kernel: the slope (through 0) of one-Transpose files less Transpose-less ones."""
    points = [(b, t) for b, _, t in _transpose_pairs(rows, fmt)]
    return max(sum(b * t for b, t in points) / sum(b * b for b, _ in points), 0.0) if points else 0.0


def qdq_ms_per_byte(rows: list[dict], fmt: str) -> float:
    """ms per int8 byte (in + out) of the float QUANTIZE in and DEQUANTIZE out of a single-op int8
    file, from the one-Transpose files less their Transpose; 0 without them."""
    slope = transpose_ms_per_byte(rows, fmt)
    points = [(b, max(ms - slope * b, 0.0)) for b, ms, _ in _transpose_pairs(rows, fmt)]
    return max(sum(b * t for b, t in points) / sum(b * b for b, _ in points), 0.0) if points else 0.0


def kernel_time(row: dict, glue: float, transpose: float = 0.0) -> float:
    """ms of a row's kernel: the op's own time where recorded (``alone_ms``: a tflite-int8 op cut
    out of its file with its own int8 tensors, microbench_kernels.alone_ms; an onnxruntime op
    behind another op in its file, its node's profiled time, microbench_kernels.MEASURED_KIND), else
    the file's time less its other nodes' as onnxruntime's profiler timed them where recorded
    (``glue_ms``: microbench_kernels.profiled) for the kinds ``PROFILED_GLUE_FOR`` lists (all with
    ``SUBTRACT_PROFILED_GLUE``), else less its float QUANTIZE in / DEQUANTIZE out
    (``glue`` ms per byte; ``transpose`` ms per byte of its NHWC Transposes), which a real int8
    graph does not have between its ops."""
    if row.get("alone_ms") is not None:
        return row["alone_ms"]
    if row.get("glue_ms") is not None and (SUBTRACT_PROFILED_GLUE or row.get("kind") in PROFILED_GLUE_FOR.get(
            (row.get("format"), row.get("dtype", "float32")), ())):
        return max(row["ms"] - row["glue_ms"], 0.3 * row["ms"])
    if not glue:
        return row["ms"]
    return max(row["ms"] - glue * (row["input_bytes"] + row["output_bytes"])
               - transpose * row.get("transpose_bytes", 0), 0.3 * row["ms"])


def load_tables(names: list[str], retimed: list[str] = ()) -> dict:
    """The tables ``names`` pooled as one, then the ``retimed`` ones': a point (format, family,
    shape) a retimed table times again is its, and its times are scaled to the state of the
    pooled tables (by the median, over the points both timed, of theirs over its: this VM runs
    ~1.2x faster for hours at a time)."""
    tables = [json.loads(Path(name).read_text()) for name in [*names, *retimed]]
    rows = [r for t in tables[: len(names)] for r in t["rows"]]
    for name, table in zip(retimed, tables[len(names):]):
        again = {_point(r) for r in table["rows"]}
        before = {_point(r): r for r in rows if _point(r) in again}
        scale = {}
        for fmt in sorted({r["format"] for r in table["rows"]}):
            shared = [before[_point(r)]["ms"] / r["ms"] for r in table["rows"]
                      if r["format"] == fmt and _point(r) in before and min(r["ms"], before[_point(r)]["ms"]) > 0.01]
            scale[fmt] = statistics.median(shared) if shared else 1.0
            print(f"# {fmt}: {len(shared)} points timed again in {name}, scaled x{scale[fmt]:.3f} to the other "
                  "tables' state (median of the same files' times)")
        rows = [r for r in rows if _point(r) not in again] + [_rescaled(r, scale[r["format"]]) for r in table["rows"]]
    return {**tables[0], "rows": rows, "cpus": sorted({t["cpu"] for t in tables})}


def _rescaled(row: dict, scale: float) -> dict:
    """``row`` with its times x ``scale``."""
    return {**row, **{k: row[k] * scale for k in ("ms", "kernel_ms", "glue_ms", "alone_ms")
                  if row.get(k) is not None}}


def _point(row: dict) -> tuple:
    return row["format"], row["family"], json.dumps(row.get("params"), sort_keys=True)


def fit_terms(rows: list[dict], target, fmt: str, *, dtype: str = "float32", min_ms: float = 0.001,
              min_points: int = 3) -> dict[str, dict[str, float]]:
    """Kernel terms (``targets`` ``runtimes.<fmt>.kernels.<dtype>.<key>``) by non-negative least
    squares on relative error, so a 0.01 ms point counts as much as a 3 ms one.  Keys: each MAC
    kind (conv, pointwise, depthwise, fully_connected); for the other kinds each op type with
    at least ``min_points`` points (a sigmoid is not an ADD) and the kind over all its points.
    A kind without MACs gets no MAC term.  fp32 from the ``fmt`` files; int8 from the ``fmt-int8``
    files less their float QUANTIZE/DEQUANTIZE glue (``glue_ms_per_byte``), which a real int8
    graph does not have between its ops."""
    import numpy as np
    from scipy.optimize import nnls

    from compressor.graph import ir
    from compressor.graph.ort_conv import SEGMENTED
    from compressor.graph.ort_kernels import BROADCAST_OPS
    from compressor.targets.kernel_terms import OWN_KERNEL, kernel_op_type

    # The groups whose points pay a call_ns per Op.kernel_calls: XNNPACK's binary operator per
    # broadcast run, a PAD per row, a TRANSPOSE per row of its normalized permutation
    # (ir.transpose_rows), a copy per contiguous run (ir.copy_runs); onnxruntime's fp32 binary ops
    # per span of its Broadcaster (ort_kernels.broadcast_calls: fp32 ones and QLinearAdd / Mul), its
    # fp32 depthwise convs left in NCHW per channel (onnx_reader), its Transposes per block or run
    # (ort_kernels.transpose_blocks), its Einsum per matrix product of its batch (ort_kernels.einsum_macs),
    # its Softmax per row (ort_kernels.softmax_rows), its grouped ConvTranspose per group;
    # LiteRT's RFFT2D per plane, its own TRANSPOSE_CONV per row of its GEMM (an input position).
    called = (BINARY_OPS | {"elementwise", "PAD", "PADV2", "TRANSPOSE", "RFFT2D", "TRANSPOSE_CONV_dynamic", *ir.COPY_OPS}
              if fmt == "tflite"
              else BROADCAST_OPS | ({"depthwise_unaligned", *ORT_COPIES, *OWN_LOOP_CALLS} if dtype == "float32" else set())
              if fmt == "onnx"
              else frozenset())

    source = fmt if dtype == "float32" else f"{fmt}-{dtype}"
    timed_apart = bool(transpose_ms_per_byte(rows, source))
    transpose = transpose_ms_per_byte(rows, source) if SUBTRACT_TRANSPOSES else 0.0
    # onnxruntime removes the Q/DQ around the "glue" family's Reshape: its Q/DQ are timed apart
    glue = qdq_ms_per_byte(rows, source) if timed_apart else glue_ms_per_byte(rows, source)
    mine = []
    for r in rows:
        if (r["format"] != source or r["family"] in ("dispatch", *OWN_FIT_FAMILIES, "glue", "glue_transpose") or r["kind"] == "quantize"
                or r["op_type"] in UNFITTED_OP_TYPES
                or r.get("dtype", "float32") != dtype or _features(r, target, dtype) is None):
            continue
        r = {**r, "ms": kernel_time(r, glue, transpose)}
        # The streaming family's copies are small by design (0.01-3 us alone), as are the ort_chain family's
        # nodes (0.4-3 us each in a chain): all that timed above 0.  Its convs and MatMuls are not fitted:
        # in a chain they cost ~2 us a node more than alone whatever their size (1-D 1x1 64 -> 64 over 16
        # steps 4.2 us against 2.2, over 256 steps 52.6 against 49.6), which no term per MAC or byte says --
        # fitted, they moved the kinds' byte rates (silero-vad's STFT conv -25 %, 1.03x -> 0.91x).  That excess
        # was mostly the feed their one-input files lack against the empty file (with_feeds); what is left of
        # it is a cost per node of its own (conv_call_us, fit_conv_call_us: 0 on Zen 1).
        if r["family"] == "ort_chain" and r["kind"] in COMPUTE:
            continue
        if r["ms"] >= min_ms or (r["family"] in ("streaming", "ort_chain") and r["ms"] > 0):
            mine.append(r)
    groups: dict[str, list[dict]] = {}
    from compressor.cost.latency import filter_taps

    # (where the tables time them fed patterns of their own: else its rows stand as they were fitted)
    signed = SIGN_BRANCHES.get((fmt, dtype), frozenset()) if any(r["family"] == "prelu_signs" for r in mine) else frozenset()
    for r in mine:
        if r["family"] == "prelu_signs":  # fed sign patterns of its own: its op type's terms only
            groups.setdefault(r["op_type"], []).append(r)
            continue
        if r["op_type"] in OWN_KERNEL:  # another operator than its kind's: terms of its own only (its variant's)
            groups.setdefault(kernel_op_type(r["op_type"], _variant(r)), []).append(r)
            continue
        if _grouped(r):  # a grouped conv: terms of its own only
            groups.setdefault(f"{r['kind']}_grouped", []).append(r)
            continue
        if _unaligned(r, target, dtype):  # a conv the runtime's fast kernel does not take (its variant's: 1-D depthwise)
            groups.setdefault(f"{r['kind']}_unaligned" + (f"_{_variant(r)}" if _variant(r) in ("1d", *SEGMENTED) else ""),
                              []).append(r)
            # (MLAS's segmented convs of the conv1d family stay in the unaligned kind's points too, as before the
            # variant: its terms, which a streaming model's few-frame convs take, keep their weight term)
            if _variant(r) in SEGMENTED and r["family"] == "conv1d":
                groups.setdefault(f"{r['kind']}_unaligned", []).append(r)
            continue
        own_type = kernel_op_type(r["op_type"], _variant(r))  # a nearest Resize: Resize_nearest
        if r["family"] == "depthwise_1x1":  # timed for depthwise_taps1 alone, not the kind's fallback
            groups.setdefault(f"{r['kind']}_taps1", []).append(r)
            continue
        # "other" is every op nobody classified: no one kernel's terms; the layout family's PADs
        # and Transposes (their rows, not their bytes) and the streaming family's small copies
        # (their runs), onnxruntime's nodes timed in chains (ort_chain: a node's cost in a graph, which an
        # aliasing Reshape's is not) and LiteRT's own layout kernels (layout_more) are their op types' alone, as are
        # the int8 BATCH_MATMULs XNNPACK takes (bmm_xnnpack: BATCH_MATMUL_xnnpack), onnxruntime's
        # transformer fusions (fused_more), LiteRT's average pools (avgpool) and onnxruntime's depth <-> space
        # rearrangements (space_depth).
        if r["kind"] != "other" and r["family"] not in ("layout", "streaming", "layout_more", "bmm_xnnpack",
                                                        "fused_more", "avgpool", "transpose_block", "unary", "cast",
                                                        "bmm_rows", "space_depth", "pool_nchw", "reduce_strided", "scatter",
                                                        "ort_chain", "where", *REACH_FAMILIES):
            groups.setdefault(r["kind"], []).append(r)
        # (a sign-branching op type's own terms not from a table written before the field: how many
        # of its branches missed is not known; its kind's, as before)
        if (r["kind"] not in COMPUTE or r["op_type"] in OWN_TERMS) and not (r["op_type"] in signed
                                                                             and "sign_misses" not in r):
            groups.setdefault(own_type, []).append(r)
        taps = filter_taps(_op(r, dtype))
        if taps:
            groups.setdefault(f"{r['kind']}_taps{taps}", []).append(r)
    fitted, past_cache = {}, {}
    cache = target.memory.private_cache_bytes
    for key in set(REACH_FAMILIES.values()) & groups.keys():  # terms from within the cache, reach from past it
        if cache and any(r["family"] in REACH_FAMILIES for r in groups[key]):
            past_cache[key] = [r for r in groups[key] if r["bytes"] > cache]
            groups[key] = [r for r in groups[key] if r["bytes"] <= cache]
    for key, points in sorted(groups.items()):
        # A kind split by filter taps fits five terms to its own points: only with enough of them.
        if len(points) < (max(min_points, 8) if "_taps" in key else min_points):
            continue
        a = np.array([_features(r, target, dtype) for r in points])
        tied = False
        if key not in called:
            # a kernel call per broadcast run is XNNPACK's binary operator's, per row a PAD's or a
            # TRANSPOSE's (ir.transpose_rows), per contiguous run a CONCATENATION's or a slice's
            # (ir.copy_runs); per span of its Broadcaster onnxruntime's binary ops'
            # (ort_kernels.broadcast_calls)
            a[:, 5] = 0.0
        if points[0]["kind"] not in TAP_TERMS_FOR.get((fmt, dtype), ()):
            a[:, 6] = 0.0
        if key not in PASS_TERMS_FOR.get((fmt, dtype), ()):
            a[:, 7] = 0.0
        if key not in signed:
            a[:, 8] = 0.0
        if key not in STEP_TERMS_FOR.get((fmt, dtype), ()):
            a[:, 9] = 0.0
        if key == "TreeEnsembleRegressor" and target.compute.runtime_cost(fmt).warm_tree_revisits:
            a[:, :5] = 0.0  # a walk's revisits and mispredicted splits, nothing per byte (its first visits: _known_ms)
        if key in OWN_TERMS:
            # few points: a rate per MAC and a fixed cost, nothing more; and per input and output byte
            # where products of few rows and tiny ones say it (bmm_rows: the right-hand matrix packed
            # per batch value, a write per output row)
            a[:, 2] = 0.0
            if not any(r["family"] == "bmm_rows" for r in points):
                a[:, 1] = a[:, 3] = 0.0
        elif points[0]["kind"] not in COMPUTE:
            # No MACs; constants (pad sizes, PReLU slopes) are not streamed weights; and no fixed
            # term: a two-input file pays one more Python-side feed than the one-input empty file
            # (~2 us in onnxruntime), which a graph's inner ops never do -- their fixed cost is
            # the runtime's dispatch.  Where a group holds nodes timed in chains (ort_chain: one input, a
            # node's slope less the ADD chain's), a fixed cost of their own beyond the dispatch, as they say.
            a[:, 0] = 0.0
            if not any(r["family"] == "ort_chain" for r in points):
                a[:, 4] = 0.0
            if key not in INDEX_BYTES:
                a[:, 2] = 0.0
            # XNNPACK's binary ops: points whose bytes in and out keep one ratio (an ADD's two
            # inputs, always twice its output) cannot tell the two rates apart; one rate per
            # byte moved, as its kernel's loads and stores cost alike (Xeon: a Mul by a
            # per-channel vector takes 2/3 of a Mul of two full tensors, as its 2 streams of 3
            # say), else an op that broadcasts one input is costed at half its stream.
            ratios = a[:, 1] / np.maximum(a[:, 3], 1e-30)
            tied = bool(fmt == "tflite" and key in BINARY_OPS and a[:, 3].all()
                        and ratios.max() <= 1.01 * ratios.min())
            if tied:
                a[:, 1] += a[:, 3]
                a[:, 3] = 0.0
        t = np.array([r["ms"] - _known_ms(r, target, dtype) for r in points])
        if (known := t < 0.1 * np.array([r["ms"] for r in points])).any():  # a tree ensemble's one-row points:
            a, t = a[~known], t[~known]  # their first visits are all they do (the visit curve's points)
        coef = _without_one_stray(a, t, nnls, min_points)
        if tied:
            coef[3] = coef[1]
        fitted[key] = dict(zip(TERMS, coef.tolist()))
        if past_cache.get(key):
            fitted[key]["stream_reach"] = stream_reach_of(past_cache[key], target, dtype)
    # Binary op types the grid never broadcast take the call cost of those it did (not the groups
    # whose calls are loops of their own).
    binary = BINARY_OPS if fmt == "tflite" else called - OWN_LOOP_CALLS - ORT_COPIES
    calls = [fitted[k]["call_ns"] for k in binary & fitted.keys() if fitted[k]["call_ns"] > 0]
    if calls:
        for key in binary & fitted.keys():
            fitted[key]["call_ns"] = fitted[key]["call_ns"] or statistics.median(calls)
    return fitted


def stream_reach_of(points: list[dict], target, dtype: str) -> float:
    """``stream_reach``: the median, over ``points`` whose bytes pass the private cache, of their time
    at the target's stream curve (``cost.caches.stream_floor_s``) over their measured time, at most 1;
    0 (the whole rate) where the target has no curve."""
    from compressor.cost.caches import stream_floor_s

    shares = [floor * 1e3 / r["ms"] for r in points if r["ms"] > 0
              and (floor := stream_floor_s(_op(r, dtype), target))]
    return min(statistics.median(shares), 1.0) if shares else 0.0


def _without_one_stray(a, t, nnls, min_points: int):
    """``_nnls_relative`` of all points; where that leaves a point off by more than 3x and
    leaving ONE point out fits every other within 3x, that fit instead: one stray point (the
    Xeon's int8 BATCH_MATMUL 3x197x197x64 ran in 0.05 ms where its like took 1.6: another
    kernel took that file) must not set a kernel's terms.  Nothing else is dropped."""
    import numpy as np

    coef = _nnls_relative(a, t, nnls)

    def off(c, rows):
        return np.abs(np.log((a[rows] @ c) / t[rows])) > np.log(3)

    everything = np.arange(len(t))
    if len(t) <= min_points or not off(coef, everything).any():
        return coef
    best = None
    for stray in everything:
        rest = everything[everything != stray]
        trial = _nnls_relative(a[rest], t[rest], nnls)
        if not off(trial, rest).any():
            error = float(np.sum(np.log((a[rest] @ trial) / t[rest]) ** 2))
            best = min(best or (error, trial), (error, trial), key=lambda pair: pair[0])
    return coef if best is None else best[1]


def _nnls_relative(a, t, nnls):
    """Non-negative least squares of ``a @ coef ~ t`` on relative error, columns scaled."""
    import numpy as np

    scaled = a / t[:, None]
    norms = np.maximum(np.abs(scaled).max(axis=0), 1e-30)
    coef, _ = nnls(scaled / norms, np.ones(len(t)))
    return coef / norms


def fit_while(rows: list[dict], target) -> dict[str, dict[str, float]]:
    """LiteRT's WHILE terms per variant ("" and "dynamic", tflite_control.inline_whiles; each with a
    "note": the comment line saying how the family's files then read) from the
    while_loop family: each file built again and read as the estimate reads it, the time its
    condition's and body's ops cost by ``target``'s terms taken off, and the rest per iteration fitted
    as ``fixed_us`` + ``call_ns`` per op the loop runs + ``in_byte_ps`` per byte of its loop variables
    (non-negative least squares on relative error), less the op's dispatch.  {} without such points."""
    import tempfile

    import microbench_kernels as mk
    import numpy as np
    from scipy.optimize import nnls

    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph

    points: dict[str, list[tuple[float, float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="fit-while.") as work:
        for i, r in enumerate(r for r in rows if r["family"] == "while_loop" and r["format"] == "tflite"):
            path = Path(work) / f"while-{i}.tflite"
            mk.build_tflite("while_loop", r["params"], path)
            ops = read_graph(path, as_run=True).ops
            loop = next((op for op in ops if op.op_type == "WHILE" and op.repeats > 1), None)
            if loop is None:
                continue
            others = sum(estimate_op_latency(op, target, runtime="tflite").latency_s for op in ops if op is not loop)
            # (the loop op's dispatch, which the estimate adds to its terms, off too)
            others += loop.repeats * target.compute.runtime_cost("tflite").dispatch_overhead_us * 1e-6
            points.setdefault(loop.variant, []).append(
                (r["ms"] * 1e-3, others, [loop.repeats, loop.repeats * loop.kernel_calls, loop.repeats * loop.input_bytes]))
    fitted = {}
    for variant, mine in points.items():
        if len(mine) < 3:
            continue
        # the whole file's time, each point on relative error: (others + features . coef) / measured ~ 1
        a = np.array([[f / ms for f in features] for ms, _, features in mine])
        t = np.array([(ms - others) / ms for ms, others, _ in mine])
        norms = np.maximum(np.abs(a).max(axis=0), 1e-30)
        coef = nnls(a / norms, t)[0] / norms
        fitted[variant] = {"fixed_us": float(coef[0]) * 1e6, "call_ns": float(coef[1]) * 1e9,
                           "in_byte_ps": float(coef[2]) * 1e12}
        ratios = [(others + float(np.dot(features, coef))) / ms for ms, others, features in mine]
        fitted[variant]["note"] = (f"# while_loop{' ' + variant if variant else ''}: {len(mine)} files, the terms "
                                   f"below put them at x{min(ratios):.2f}-x{max(ratios):.2f} of their times")
    return fitted


def fit_learned_branches(rows: list[dict], target, fmt: str, floor: dict) -> float | None:
    """``learned_branches``: the visits of a repeated run the CPU's predictor learns, the candidate
    (0 to 120 K) under which the ``fmt`` tree ensemble terms fit the tree_rows points best (the mean of
    |predicted / measured - 1|); None without such points.  Walks of fewer visits cost as predicted:
    the Zen 4's 1.2-2.2 ns a visit up to 48 K visits, 5.6-11 past 150 K."""
    points = [r for r in rows if r["format"] == fmt and r["family"] == "tree_rows"]
    if not points:
        return None

    def error(learned: float) -> float:
        trial = with_learned_branches(target, fmt, learned)
        terms = fit_terms(rows, trial, fmt, **floor).get("TreeEnsembleRegressor")
        if terms is None:
            return float("inf")
        return sum(abs(terms_ms(terms, r, trial) / r["ms"] - 1) for r in points) / len(points)

    return min((0.0, 10e3, 20e3, 30e3, 40e3, 50e3, 60e3, 80e3, 120e3), key=error)


def with_learned_branches(target, fmt: str, learned: float):
    """``target`` with its ``fmt`` runtime's ``learned_branches`` set to ``learned``."""
    return with_runtime(target, fmt, learned_branches=learned)


def with_runtime(target, fmt: str, **changes):
    """``target`` with its ``fmt`` runtime's costs ``changes``d."""
    costs = dataclasses.replace(target.compute.runtime_cost(fmt), **changes)
    return dataclasses.replace(target, compute=dataclasses.replace(target.compute,
                                                                   runtimes={**target.compute.runtimes, fmt: costs}))


def batched_set_curve(rows: list[dict], terms: dict, target, fmt: str) -> list[tuple[float, float]]:
    """``batched_set_factor``: ((input bytes, factor), ...) of the ``fmt`` bmm_rows points whose inputs
    pass the private cache, each the factor its per-byte terms need to take its time (never below 1,
    never falling as the set grows), from 1 at the private cache; [] without such points."""
    key = "BATCH_MATMUL" if fmt == "tflite" else "MatMul"
    cache = target.memory.private_cache_bytes
    if key not in terms or not cache:
        return []
    t = terms[key]
    points = []
    for r in sorted((r for r in rows if r["format"] == fmt and r["family"] == "bmm_rows"
                     and r["input_bytes"] > cache), key=lambda r: r["input_bytes"]):
        f = _features(r, target, "float32")
        per_byte = (t["in_byte_ps"] * f[1] + t["out_byte_ps"] * f[3])
        if per_byte > 0:
            points.append((r["input_bytes"], (r["ms"] - t["mac_ps"] * f[0] - t["fixed_us"] * f[4]) / per_byte))
    curve = _never_falling([(float(cache), 1.0), *points])
    return curve if len(curve) > 1 else []


def tree_visit_curve(rows: list[dict], fmt: str, min_ms: float = 0.0005) -> list[tuple[float, float]]:
    """``tree_visit_ns``: ((ensemble nodes, ns per node visit), ...) of the ``fmt`` tree_ensemble points of
    one row (a row's walks miss the cache as the ensemble grows; more rows reuse its hot nodes), never
    falling as the ensemble grows; points under ``min_ms`` (the empty file's noise) left out."""
    return _never_falling(sorted((tree_point_nodes(r["params"]), r["ms"] * 1e6 / r["broadcast_runs"])
                                 for r in rows if r["format"] == fmt and r["family"] == "tree_ensemble"
                                 and r["params"]["rows"] == 1 and r["ms"] >= min_ms and r.get("broadcast_runs")))


def tree_point_nodes(params: dict) -> int:
    """Nodes of a tree_ensemble / tree_rows point's ensemble: ``trees`` full trees ``depth`` deep."""
    return params["trees"] * (2 ** (params["depth"] + 1) - 1)


def _never_falling(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A measured curve ((x, y), ...) in x order made never to fall: each y at least the last's, two
    points of one x the dearer."""
    curve: list[tuple[float, float]] = []
    for x, y in points:
        y = max(y, curve[-1][1]) if curve else y
        if curve and x == curve[-1][0]:
            curve[-1] = (x, y)
        else:
            curve.append((x, y))
    return curve


def toml_terms(values: dict[str, float]) -> str:
    """A kernel-terms inline table; ``call_ns``, ``tap_ns``, ``pass_ps``, ``miss_ns``, ``step_ns`` and ``stream_reach``
    only where they are not 0."""
    return "{ " + ", ".join(f"{k} = {v:.4g}" for k, v in values.items()
                            if k not in ("call_ns", "tap_ns", "pass_ps", "miss_ns", "step_ns", "stream_reach") or v) + " }"


def terms_ms(terms: dict[str, float], row: dict, target, dtype: str = "float32") -> float:
    fitted = sum(c * f for c, f in zip((terms[k] for k in TERMS), _features(row, target, dtype)))
    return fitted + _known_ms(row, target, dtype)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("table", nargs="+", help="JSON written by scripts/microbench_kernels.py (several: their "
                        "points pooled, as families timed apart on one CPU)")
    parser.add_argument("--target", default="host-x86")
    parser.add_argument("--retimed", nargs="+", default=[], metavar="TABLE",
                        help="tables that time points of the others again (and may add families): theirs "
                             "replace those points, scaled to the others' state by the same files' times")
    parser.add_argument("--cpu", metavar="IDENTITY",
                        help="print the fit as a [[compute.variants.cpus]] entry for this CPU (/proc/cpuinfo's "
                             "\"vendor family F model M\", as the estimates name it; default: the one the tables "
                             "recorded): the lines such an entry takes, the target loaded as that CPU sees it")
    parser.add_argument("--profiled-glue", nargs="+", default=[], metavar="FORMAT:KIND",
                        help="also take these kinds' kernel times as the file's time less its other nodes' "
                             "profiled times (onnx-int8:depthwise), as PROFILED_GLUE_FOR does for onnx fp32 "
                             "depthwise: where a CPU's in-model kernel runs as its profiled node does")
    parser.add_argument("--floor-us", nargs="+", default=[], metavar="FORMAT:US",
                        help="fit FORMAT's kernel terms (both dtypes) to its points timed above US too "
                             "(default 1 us: below it onnxruntime's ~9 us empty run is the noise), as "
                             "tflite:0.005 where LiteRT's sub-us ops (a streaming keyword spotter's "
                             "2,000-MAC convs) must bound the fixed costs")
    args = parser.parse_args(argv)
    floors_ms = {}
    for item in args.floor_us:
        fmt, _, us = item.partition(":")
        try:
            floors_ms[fmt] = float(us) / 1e3
        except ValueError:
            parser.error(f"--floor-us: expected FORMAT:US (tflite:0.005), got {item!r}")
        if fmt not in ("tflite", "onnx") or floors_ms[fmt] < 0:
            parser.error(f"--floor-us: expected tflite:US or onnx:US with US >= 0, got {item!r}")
    global PROFILED_GLUE_FOR  # this run's: the module's own kinds plus --profiled-glue's, anew each call
    PROFILED_GLUE_FOR = dict(_PROFILED_GLUE_FOR)
    for item in args.profiled_glue:
        fmt, _, kind = item.partition(":")
        if fmt not in ("onnx", "onnx-int8") or not kind:
            parser.error(f"--profiled-glue: expected onnx:KIND or onnx-int8:KIND, got {item!r}")
        key = (fmt, "int8" if fmt.endswith("int8") else "float32")
        PROFILED_GLUE_FOR[key] = (*PROFILED_GLUE_FOR.get(key, ()), kind)
    sys.path.insert(0, str(REPO))
    from compressor.targets.cpu_flags import recorded_flags
    from compressor.targets.load import load_target

    table = load_tables(args.table, args.retimed)
    if len(table["cpus"]) > 1:
        print(f"error: the tables were measured on different CPUs: {table['cpus']}", file=sys.stderr)
        return 2
    identity = args.cpu or table.get("cpu_identity")
    # as the tables' CPU sees the target (its own tiles, caches), not as this machine does
    target = (load_target(args.target, cpu_identity=identity, cpu_flags=recorded_flags(table["cpu"]))
              if identity else load_target(args.target))
    if args.cpu:
        print(f'[[compute.variants.cpus]]\ncpu = "{identity}"\ndescription = "{table["cpu"]}: its own kernel terms"')
    rows = with_feeds(table["rows"], target)
    print(f"# {len(rows)} microbenchmark points, {table['cpu']}, load {' '.join(table['load_average'])}")
    pooled = fit(rows, target)
    int8 = fit(rows, target, dtype="int8")
    for fmt in sorted({r["format"] for r in rows}):
        dtype = "int8" if fmt.endswith("int8") else "float32"
        alone = fit([r for r in rows if r["format"] == fmt], target, dtype=dtype)
        alone_rows = [r for r in rows if r["format"] == fmt]
        print(f"# {fmt:<7}" + "  ".join(f"{k} {v:.3f}" for k, v in alone.items())
              + f"  dispatch {fit_dispatch_us(alone_rows):.3f} us")
    if not args.cpu:
        print(f"dispatch_overhead_us = {fit_dispatch_us(rows):.4g}")
        print("efficiency.float32 = { " + ", ".join(f"{k} = {v:.4g}" for k, v in pooled.items()) + " }")
        if int8:
            print("efficiency.int8 = { " + ", ".join(f"{k} = {v:.4g}" for k, v in int8.items()) + " }")
    # Per runtime: its own per-op dispatch (chain slope), per-inference invoke (the empty file's
    # time less one dispatch), onnxruntime's recurrent step, and its own kernels' efficiencies
    # (fp32 from FMT rows, int8 from FMT-int8 rows), as TOML sub-tables of the variant above.
    runtimes, kernel_terms = {}, {}
    for fmt in ("tflite", "onnx"):
        alone = [r for r in rows if r["format"] == fmt]
        if not alone:
            continue
        dispatch = fit_dispatch_us(alone)
        invoke = max(table.get("empty_invoke_ms", {}).get(fmt, float("nan")) * 1e3 - dispatch, 0.0)
        lines = [f"dispatch_overhead_us = {dispatch:.4g}", f"invoke_overhead_us = {invoke:.4g}"]
        if (conv_call := fit_conv_call_us(alone, target.compute.runtime_cost(fmt).io_us(1, 1))) is not None:
            lines.append(f"conv_call_us = {conv_call:.4g}")
        step, rnn_efficiency = fit_rnn_step(rows, target, fmt)
        if step == step:  # not NaN: this format has a recurrent sweep
            lines += [f"rnn_step_us = {step:.4g}", f"rnn_efficiency = {rnn_efficiency:.4g}"]
        curves = fit_rnn_curves(rows, fmt)
        # and the int8 recurrent ops of its int8 files (DynamicQuantizeLSTM), by their own op types
        curves.update({cell: curve for cell, curve in fit_rnn_curves(rows, f"{fmt}-int8").items() if cell not in curves})
        for cell, curve in curves.items():
            lines.append(f"rnn_steps.{cell} = [" + ", ".join(f"[{m:.4g}, {ps:.4g}]" for m, ps in curve) + "]")
        for cell, (step_us, weight_ps, gate_ps, cold_ps, cold_gate_ps, call_ns) in fit_rnn_cells(rows, target, fmt).items():
            # (these replace those curves)
            lines.append(f"kernels.float32.{cell} = {{ mac_ps = 0, in_byte_ps = {cold_ps:.4g}, weight_byte_ps = {weight_ps:.4g}, "
                         f"out_byte_ps = {gate_ps:.4g}, fixed_us = {step_us:.4g}"
                         + (f", pass_ps = {cold_gate_ps:.4g}" if cold_gate_ps else "")
                         + (f", call_ns = {call_ns:.4g}" if call_ns else "") + " }")
        own = {"float32": fit(alone, target),
               "int8": fit([r for r in rows if r["format"] == f"{fmt}-int8"], target, dtype="int8")}
        for dtype, kinds in own.items():
            if kinds:
                lines.append(f"efficiency.{dtype} = {{ " + ", ".join(f"{k} = {v:.4g}" for k, v in kinds.items()) + " }")
        runtimes[fmt] = own
        floor = {"min_ms": floors_ms[fmt]} if fmt in floors_ms else {}
        if target.compute.runtime_cost(fmt).warm_tree_revisits and (curve := tree_visit_curve(rows, fmt)):
            # the visit curve first: what a warm-revisit profile's first visits cost (_known_ms)
            target = with_runtime(target, fmt, tree_visit_ns={"float32": tuple(curve)})
        if (learned := fit_learned_branches(rows, target, fmt, floor)) is not None:
            lines.append(f"learned_branches = {learned:.4g}")
            target = with_learned_branches(target, fmt, learned)
        terms = fit_terms(rows, target, fmt, **floor)
        for key, values in terms.items():
            lines.append(f"kernels.float32.{key} = {toml_terms(values)}")
        kernel_terms[fmt] = terms
        if curve := batched_set_curve(rows, terms, target, fmt):
            lines.append("batched_set_factor.float32 = [" + ", ".join(f"[{b:.0f}, {f:.3g}]" for b, f in curve) + "]")
        if curve := tree_visit_curve(rows, fmt):
            lines.append("tree_visit_ns.float32 = [" + ", ".join(f"[{n:.0f}, {ns:.3g}]" for n, ns in curve) + "]")
        # int8 terms for LiteRT only: onnxruntime's QDQ single-op files keep Transposes and Q/DQ
        # around their QLinear kernel that the glue files (a Reshape, whose Q/DQ it removes) do not
        # measure, so their byte terms would charge every op the glue; its int8 stays on efficiencies.
        int8_terms = fit_terms(rows, target, fmt, dtype="int8", **floor) if fmt in INT8_TERMS_FOR else {}
        for key, values in int8_terms.items():
            lines.append(f"kernels.int8.{key} = {toml_terms(values)}")
        for family, (_, dtype, op_type) in DYNAMIC_OPS.items() if fmt == "onnx" else ():
            if dynamic := fit_dynamic_op(rows, family):
                lines.append(f"kernels.{dtype}.{op_type} = {toml_terms(dynamic)}")
        for variant, own in (fit_while(rows, target) if fmt == "tflite" else {}).items():
            name = f"WHILE_{variant}" if variant else "WHILE"
            lines.append(own.pop("note"))
            lines.append(f"kernels.float32.{name} = {toml_terms({'mac_ps': 0.0, 'in_byte_ps': 0.0, 'weight_byte_ps': 0.0, 'out_byte_ps': 0.0, **own})}")
        for variant in NBITS_VARIANTS if fmt == "onnx" else ():
            if own := fit_nbits(rows, variant):
                lines.append(f"kernels.int8.MatMulNBits_{variant} = {toml_terms(own)}")
        for pair in CONV_INTEGER_PAIRS if fmt == "onnx" else ():
            if own := fit_conv_integer(rows, pair):
                lines.append(f"kernels.int8.ConvInteger_{pair} = {toml_terms(own)}")
        qdq = qdq_ms_per_byte(rows, f"{fmt}-int8")
        if qdq:  # the Q/DQ glue timed apart: per int8 element, a QuantizeLinear's out, a DequantizeLinear's in
            ps = qdq * 1e9
            lines.append(f"kernels.float32.QuantizeLinear = {{ mac_ps = 0, in_byte_ps = 0, weight_byte_ps = 0, "
                         f"out_byte_ps = {ps:.4g}, fixed_us = 0 }}")
            lines.append(f"kernels.int8.DequantizeLinear = {{ mac_ps = 0, in_byte_ps = {ps:.4g}, weight_byte_ps = 0, "
                         f"out_byte_ps = 0, fixed_us = 0 }}")
        kernel_terms[f"{fmt}-int8"] = int8_terms
        if args.cpu:  # a CPU's own entry takes its kernel terms and per-op costs, not efficiencies
            print(f"[compute.variants.cpus.runtimes.{fmt}]\n" + "\n".join(line for line in lines
                                                                       if not line.startswith("efficiency.")))
        else:
            print(f"[compute.variants.runtimes.{fmt}]\n" + "\n".join(lines))
    print("# point errors after the fit (predicted / measured, each format with its runtime's rates), "
          "points of at least 0.01 ms:")
    for r in rows:
        if (r["ms"] >= 0.01 or r["family"] == "ort_chain") and r["family"] not in ("dispatch", *OWN_FIT_FAMILIES):
            if r["family"] == "ort_chain":  # a chain's node: its time a node in the chain
                r = {**r, "ms": r["alone_ms"]}
            fmt, dtype = r["format"].split("-")[0], ("int8" if r["format"].endswith("int8") else "float32")
            own = runtimes.get(fmt, {}).get(dtype) or (pooled if dtype == "float32" else int8)
            after = dataclasses.replace(target, compute=dataclasses.replace(target.compute, efficiency={
                **target.compute.efficiency, dtype: {**target.compute.efficiency[dtype], **own}}))
            ms = predicted_ms(r, after)[2]
            terms = kernel_terms.get(r["format"], {})
            chosen = _terms_for(terms, r, target, dtype) if "input_bytes" in r and r.get("dtype", "float32") == dtype else None
            by_terms = f"  terms x{terms_ms(chosen, r, target, dtype) / r['ms']:.2f}" if chosen else ""
            print(f"#  {r['format']:<12}{r['family']:<16}{r['op_type']:<18}{r['ms']:>9.4f} ms  x{ms / r['ms']:.2f}"
                  + by_terms)
    for fmt, terms in kernel_terms.items():
        dtype = "int8" if fmt.endswith("int8") else "float32"
        transpose = transpose_ms_per_byte(rows, fmt)
        glue = qdq_ms_per_byte(rows, fmt) if transpose else glue_ms_per_byte(rows, fmt)
        errors = [terms_ms(_terms_for(terms, r, target, dtype), r, target, dtype) / kernel_time(r, glue, transpose)
                  for r in rows
                  if r["format"] == fmt and r["ms"] >= 0.001
                  and r["family"] not in ("dispatch", *OWN_FIT_FAMILIES, "glue", "glue_transpose")
                  and r.get("dtype", "float32") == dtype and "input_bytes" in r and _terms_for(terms, r, target, dtype)]
        if errors:
            within = lambda band: 100 * sum(abs(e - 1) <= band for e in errors) / len(errors)
            print(f"# {fmt} {dtype} kernel terms: {len(errors)} points, {within(0.1):.0f}% within ±10%, "
                  f"{within(0.2):.0f}% within ±20%, range x{min(errors):.2f}-x{max(errors):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
