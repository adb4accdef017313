"""Latency of one op on a target: a roofline per op, plus a fixed dispatch cost.

Model (the roofline of Williams, Waterman & Patterson, "Roofline: an insightful visual
performance model for multicore architectures", CACM 52(4), 2009; applied per layer as
Vela's ``npu_performance.py`` does with the maximum of its bandwidth and compute cycles):

    compute_s  = padded_macs / (clock_hz × macs_per_cycle[dtype] × efficiency[dtype][kind] × threads)
    padded_macs = macs × ceil(C / m) × m / C     (C = output channels, m = the kernel's channel tile:
                                                 channel_tiles[dtype][kind], else channel_multiple)
    memory_s   = (input + weight + output bytes) / (bandwidth × reach[dtype][kind])
    latency_s  = max(compute_s, memory_s) + (dispatch_us + recurrent_steps × rnn_step_us) × 1e-6

``dispatch_us`` and ``rnn_step_us`` are the runtime's (``compute.runtimes[format]``: LiteRT and
onnxruntime differ by an order of magnitude per op) when the caller names the format, else
``compute.dispatch_overhead_us`` and 0; so are the efficiencies the runtime's table lists
(XNNPACK and MLAS kernels reach different fractions of the same peak).  A recurrent op (LSTM/GRU) runs its steps one after
another, each paying a fixed cost the MAC rate does not see: ``rnn_step_us`` per step and
direction, and ``rnn_efficiency`` the rate of the runtime's RNN kernel (the intercept and slope
of per-step time over per-step MACs, ``scripts/microbench_kernels.py``).  Where the
runtime lists its kernel's measured curve for the op type (``rnn_steps``: ps per MAC by MACs
per step, one point per width timed), that replaces both: one line across widths put
onnxruntime's 128-wide LSTM at 40 ps/MAC where it runs 33.  Where the runtime's kernels hold
terms for the op type itself (onnxruntime's LSTM, GRU), those and the fully-connected terms
replace the curve: its GEMMs over the batch's rows and a cost per step (cost/recurrent.py).
The runtime's per-inference invoke cost is added once per graph (``cost/kernels.py``).

A memory-bound op whose working set overflows the private cache costs at least its traffic at the
CPU's measured element-wise stream rate for that set, where measured (cost/caches.py).

``reach`` is the fraction of the memory bandwidth a kernel without MACs reaches (elementwise,
pool, reshape...): the profile's ``efficiency[dtype][kind]`` where listed, else 1.
A transcendental (sigmoid) or an interpolating resize reaches a small fraction of what a
copy does; ``scripts/microbench_kernels.py`` measures it per family.

SIMD kernels tile output channels by the vector width (XNNPACK's AVX-512 kernels by 16, NEON
and AVX2 ones by 8): C channels cost as C rounded up to the profile's ``channel_multiple``.

Where the runtime lists measured kernel terms for the op (``compute.runtimes[format].kernels``,
by op type, else kind; fitted by ``scripts/fit_kernel_rates.py`` on the microbenchmarks)
they replace the roofline: ``compute_s = mac_ps x padded_macs`` and ``memory_s`` = the byte
and fixed terms (at least the DRAM time when the op's bytes exceed the cache, less its weights
where they stream cold: their read is the stream's, priced once -- AlexNet's 151 MB FC was costed
both ways, 11.6 ms where onnxruntime runs it in 7.6), summed, not maxed: a kernel's per-output
and per-MAC work do not overlap the way the roofline assumes.

A runtime may send a conv its symmetric int8 kernel does not take (``symmetric_conv``: MLAS's
ConvSym wants input channels a multiple of 4, outputs >= 16 and a multiple of 4, a depthwise
conv's a multiple of 16) to other terms (``<kind>_unaligned``: im2col + QGEMM, a generic
depthwise kernel), as may a dense conv of a dtype it runs in NCHWc (``nchwc``: onnxruntime fp32)
that its rewrite left out (a 1-D conv: MlasConv's im2col + SGEMM); and its conv terms may pay
``tap_ns`` per output position x filter tap, and ``pass_ps`` per input value, tap and pass over
a filter set (``filter_set_passes``: MLAS's NCHWc conv broadcasts an input value to at most 4
blocks of 16 output channels, so a 16-channel conv pays 4x the passes per MAC a 64-channel one
does).  A GEMM over one row (a batch-1 FC, a conv of one output position) may pay ``step_ns`` per k
step of each microkernel call (``one_row_steps``): XNNPACK's 1-row fp32 kernel waits on each FMA.

A binary element-wise op whose operands broadcast (PReLU's slopes, an SE block's scale) runs
XNNPACK's kernel once per innermost run of its output (``Op.kernel_calls``), each call over
whole SIMD vectors: its terms' ``call_ns`` per call, and its bytes as whole vectors per run
(``broadcast_work``): a 128x128x8 PReLU costs 4x a 64x64x32 one of the same bytes.

Weights streamed (``weight_set_bytes``: the graph's packed weight bytes, kernels.packed_weight_bytes:
XNNPACK packs each node's weights into a buffer of its own, so the 100 FC nodes of an unrolled
100-step LSTM hold 100 copies; onnxruntime reads one copy of a weight its nodes share).  The
kernel terms were measured with one op's weights hot in the core's private cache; in a graph
whose packed weights exceed ``memory.private_cache_bytes`` each op reads its weights again from
the shared cache or DRAM,
at the rate the runtime's measured curve ``weight_stream[dtype]`` gives for a set that size
(``scripts/microbench_weight_stream.py``: chains of distinct batch-1 FCs; on host-x86 ~87 GB/s
up to 8 MB, 52 at 17 MB, 26 beyond the 32 MB L3, fp32 LiteRT).  The op pays the extra time
of that cold read on top of its kernel time (the read is not hidden under the compute: MLP-Mixer's
49-row token GEMMs with 4 MB of weights ran 0.79x when it was only a floor), and at least the
streamed time itself: ``latency = max(terms + weight_bytes x (1/rate - 1/hot rate),
weight_bytes / rate) + dispatch``, the hot rate the curve's smallest set (it fits the private
cache).  The floor binds for batch-1 FCs (a weight read per MAC: 48 ps/MAC hot, ~150 from DRAM).
A GEMM over many rows (a conv, an FC of several rows) reads them at ``conv_weight_stream[dtype]``
where measured (chains of 1x1 convs: XNNPACK on the Xeon 6 GB/s at 17 MB where FCs stream 27).

The kernel terms are one thread's.  With ``compute.threads`` T > 1 a runtime's measured
``parallel[dtype] = { efficiency, sync_us, serial }`` (``scripts/microbench_threads.py``:
chains of identical kernels, so a file's fixed glue does not pose as the kernel's) divides an
op's one-thread time (terms or roofline, and the weight-stream floor: each thread reads its
own part of the weights) by ``1 + efficiency x (T - 1)`` and adds the thread pool's hand-off,
where that is faster than one thread (both runtimes leave a tiny op on the calling thread).
The op types in ``serial`` run on one thread whatever T (measured: LiteRT's own int8 kernels
for the ops XNNPACK leaves out).  A recurrent op splits each time step and pays
``step_sync_us`` per step (onnxruntime's LSTM/GRU: a 32-wide one stays on one thread, a 256-wide one
runs 1.8x faster on two; a GRU's gates stay on one).  Without a ``parallel`` table: the bare roofline.

An op type the runtime lists as ``in_place`` (onnxruntime's Reshape, Flatten, Squeeze,
Unsqueeze: their kernels alias the output to the input) costs its dispatch only; a Transpose it
copies element by element (``Op.elementwise_copies``) ``transpose_element_ns`` per element, and a
softmax over an inner axis pays its two such transposes on top of its rows.

The bandwidth is the cache's when the op's working set fits the profile's cache, else DRAM's.  The op
is "compute"- or "memory"-bound by the larger term.  Ops run one after another (no overlap), so a
graph's latency is the sum.  Every number comes from the profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..errors import TargetError
from ..graph.ir import Op
from ..graph.ort_trees import tree_share
from ..targets.kernel_terms import kernel_op_type
from ..targets.load import TargetProfile
from ..targets.types import ComputeProfile, RuntimeCost
from .caches import moved_bytes, spill_s, step_spill_s, stream_floor_s
from .recurrent import recurrent_cell_s
from .tiles import (  # noqa: F401
    ELEMENTWISE_TILE_BYTES,
    GEMM_ROWS,
    ITEM_BYTES,
    filter_set_passes,
    gemm_over_rows,
    igemm_restream_s,
    im2col_gemms,
    indirection_s,
    kernel_channel_tile,
    kernel_misses,
    kernel_work,
    one_row_steps,
    operand_reads,
    output_positions,
    padded_macs,
    split_of,
    step_gemm_macs,
    subnormal_assist_s,
    tap_pairs,
    task_weight_reads_s,
    tree_visits_s,
    work_tiles,
)

# Batched products of two activations: their per-byte terms scale past the cache (batched_set_factor).
BATCHED_PRODUCTS = frozenset({"BATCH_MATMUL", "MatMul"})

__all__ = ["OpLatency", "broadcast_work", "estimate_op_latency", "filter_taps", "kernel_work", "memory_level", "memory_reach",
           "moved_bytes", "padded_macs", "weight_stream_s", "work_tiles"]


@dataclass(frozen=True)
class OpLatency:
    compute_s: float
    memory_s: float
    overhead_s: float
    latency_s: float
    bound: str  # "compute" | "memory"
    memory_level: str  # "cache" | "dram": where the op's bytes come from
    bytes_moved: int


def filter_taps(op: Op) -> int:
    """Filter taps (k_h x k_w) of a depthwise op, from its MACs per output element; 0 for other ops."""
    if op.kind != "depthwise" or not op.macs or not op.output_bytes:
        return 0
    return round(op.macs / max(op.output_bytes // ITEM_BYTES.get(op.compute_dtype, 4), 1))


def memory_level(op: Op, profile: TargetProfile) -> str:
    cache_bytes = profile.memory.cache_bytes
    return "cache" if cache_bytes is not None and moved_bytes(op) <= cache_bytes else "dram"


def memory_reach(op: Op, profile: TargetProfile, *, runtime: str | None = None) -> float:
    """Fraction of the bandwidth a MAC-less kernel reaches: per kind (the runtime's first), else 1."""
    if op.macs:
        return 1.0
    compute = profile.compute
    dtype = op.compute_dtype if op.compute_dtype in compute.efficiency else "float32"
    if dtype not in compute.efficiency or not compute.lists_efficiency(dtype, op.kind, runtime):
        return 1.0
    return compute.efficiency_of(dtype, op.kind, runtime)


def weight_stream_s(op: Op, profile: TargetProfile, weight_set_bytes: int, *, runtime: str | None = None) -> float:
    """Seconds to read ``op``'s weights once when they are not hot (see above); 0 when the
    graph's packed weights fit the private cache or the profile has no streaming rate.  An op
    whose own weights overflow the private cache reads them from the shared cache at most at its
    bandwidth (the CPU's, ``[[memory.cpus]]``), whatever the curve measured on another CPU says."""
    memory = profile.memory
    if not op.weight_bytes or memory.private_cache_bytes is None or weight_set_bytes <= memory.private_cache_bytes:
        return 0.0
    rate = profile.compute.runtime_cost(runtime).weight_stream_rate(op.compute_dtype, weight_set_bytes,
                                                                    gemm_rows=gemm_over_rows(op))
    if memory.cache_bandwidth_bytes_per_s and op.weight_bytes > memory.private_cache_bytes:
        rate = min(rate or math.inf, memory.cache_bandwidth_bytes_per_s)
    return op.weight_bytes / rate if rate else 0.0


def inplace_runs_s(op: Op, compute: ComputeProfile, costs: RuntimeCost) -> float:
    """What a binary op XNNPACK runs in place (``Op.runs_in_place``) pays more per broadcast run
    when a run is off its channel tile (8 or 24 channels of 16 lanes: ~5.6 ns a run on the Zen 4,
    microbench_probes.py --probe inplace; MediaPipe's 8-channel PReLUs between convs).  Timed in
    fp32 only, so priced in fp32 only."""
    if not (op.runs_in_place and op.kernel_calls and costs.inplace_run_ns and op.compute_dtype == "float32"):
        return 0.0
    run = op.output_bytes // ITEM_BYTES.get(op.compute_dtype, 4) // op.kernel_calls
    return op.kernel_calls * costs.inplace_run_ns * 1e-9 if run % kernel_channel_tile(
        op.compute_dtype, op.kind, compute, costs) else 0.0


def broadcast_work(op: Op, compute: ComputeProfile, costs: RuntimeCost) -> tuple[int, int]:
    """(input bytes, output bytes) as XNNPACK's binary element-wise kernel moves them for a
    broadcasting op: each of its ``Op.kernel_calls`` walks whole SIMD vectors (the
    kernel's channel tile of elements), the last one masked, so a run of 8 fp32 costs what one of
    16 does (Xeon, ``scripts/microbench_kernels.py`` broadcast family: a 128x128x8 PReLU, Mul or
    Add by a per-channel vector takes 47 us, a 90x91x16 one 22, the same bytes unbroadcast 12).
    The bytes as they are for every other op."""
    if not op.kernel_calls or op.kind != "elementwise":  # a PAD's rows: its bytes as they are
        return op.input_bytes, op.output_bytes
    elements = op.output_bytes // ITEM_BYTES.get(op.compute_dtype, 4)
    run = elements / op.kernel_calls
    lanes = kernel_channel_tile(op.compute_dtype, op.kind, compute, costs)
    scale = math.ceil(run / lanes) * lanes / run if run > 0 and lanes > 1 else 1.0
    return round(op.input_bytes * scale), round(op.output_bytes * scale)


def split_balance(op: Op, parallel: Mapping[str, Any], threads: int) -> float:
    """The share of a perfect split that whole work units allow one of onnxruntime's MLAS convs.

    An NCHWc conv: MLAS partitions ``batch x groups x ceil(channels per group / block) x output
    height`` units (snchwc.cpp; block = 4 filter blocks of 16 on AVX-512, 16 channels for
    depthwise) over the threads, whole units each (``MlasPartitionWork``), so a one-row conv
    stays on one thread and 7 rows split 4 + 3.  Any other conv (a 1-D one, channels the NCHWc
    layout leaves out) slices its output positions in stripes of ``ceil(P / T)`` rounded up to
    ``stripe`` (convolve.cpp ``MlasConvPrepare``: 16), one thread if one stripe covers them all.
    1.0 for every other op."""
    block = dict(parallel.get("nchwc_block", ())).get(op.kind)
    if block and op.nchwc_rows and op.out_channels:
        units = op.nchwc_rows * op.groups * math.ceil(op.out_channels / op.groups / block)
        return (units / threads) / math.ceil(units / threads)
    stripe = dict(parallel.get("stripe", ())).get(op.kind)
    if stripe and not op.nchwc_rows and op.out_channels:
        positions = output_positions(op)
        if positions <= 0:
            return 1.0
        widest = min(positions, math.ceil(math.ceil(positions / threads) / stripe) * stripe)
        return (positions / threads) / widest
    return 1.0


def as_run_kind(op: Op, profile: TargetProfile, runtime: str | None) -> Op:
    """``op`` as the runtime's kernels run it: on a CPU target, a TFLite depthwise conv of one input
    channel times a multiplier (``Op.in_channels`` 1) is XNNPACK's dense conv of one input channel,
    as its depthwise kernels take one output per channel (M5's 1 -> 128, 80-tap audio stem: 1.0 ms
    alone, 2.1 by the depthwise terms); CMSIS-NN (an MCU) runs it on its generic depthwise kernel."""
    if op.kind == "depthwise" and op.in_channels == 1 and profile.kind == "cpu" and runtime in ("tflite", None):
        return replace(op, kind="conv")
    return op


def estimate_op_latency(op: Op, profile: TargetProfile, *, runtime: str | None = None,
                        weight_set_bytes: int = 0, indirection_set_bytes: int = 0) -> OpLatency:
    """The op's roofline latency on ``profile``; ``runtime`` (the artifact format) picks the
    runtime's own dispatch and per-step costs (``compute.runtimes``); ``weight_set_bytes``, the
    graph's packed weight bytes, whether its weights are hot (see above).  A PAD XNNPACK folds
    into its conv (``Op.pad_into_conv``) and an int8 swish's MUL (``Op.swish_mul``) cost nothing on a CPU."""
    if (op.pad_into_conv or op.swish_mul) and profile.kind == "cpu":
        return OpLatency(0.0, 0.0, 0.0, 0.0, bound="memory", memory_level="cache", bytes_moved=0)
    compute = profile.compute
    shared = tree_share(op := as_run_kind(op, profile, runtime), compute.threads)  # a split tree ensemble's
    tree_split, op = shared is not op, shared  # walks: one thread's share, kept on it
    costs = compute.runtime_cost(runtime)
    compute_s = 0.0
    threads = 1 if op.compute_dtype in costs.parallel else compute.threads
    if op.macs:
        if op.compute_dtype not in compute.macs_per_cycle:
            raise TargetError(f"target {profile.name} has no compute rate for {op.compute_dtype} "
                              f"(op {op.op_type} {op.name!r}); it lists {', '.join(profile.dtypes)}")
        efficiency = compute.efficiency_of(op.compute_dtype, op.kind, runtime)
        if op.recurrent_steps and costs.rnn_efficiency and op.compute_dtype == "float32":
            efficiency = costs.rnn_efficiency  # the runtime's RNN kernel: matrix-vector products, step by step
        # A runtime with a measured ``parallel`` table splits the one-thread time below; without
        # one, the bare roofline: every thread at full rate.
        macs_per_s = compute.clock_hz * compute.macs_per_cycle[op.compute_dtype] * efficiency * threads
        compute_s = kernel_work(op, compute, costs)[0] / macs_per_s
    # onnxruntime's LSTM / GRU as its GEMMs and its steps' own terms (cost/recurrent.py), else the
    # per-step curve measured per op type (and so dtype)
    cell = (recurrent_cell_s(op, costs.kernels.get("float32", {}), profile.memory.private_cache_bytes)
            if op.recurrent_steps else None)
    cell_s, keep_s = cell if cell is not None else (None, 0.0)  # keep_s: what a second thread does not share
    rnn_ps = (costs.rnn_ps_per_mac(op.op_type, op.macs / op.recurrent_steps)
              if op.recurrent_steps and op.macs and cell_s is None else None)
    if cell_s is not None:
        compute_s = cell_s
    elif rnn_ps is not None:
        compute_s = op.macs * rnn_ps * 1e-12  # the runtime's RNN kernel timed at this width, step costs inside
    level = memory_level(op, profile)
    streamed_s = weight_stream_s(op, profile, weight_set_bytes, runtime=runtime)  # its weights' cold read, if any
    bandwidth = (profile.memory.cache_bandwidth_bytes_per_s if level == "cache"
                 else profile.memory.dram_bandwidth_bytes_per_s)
    memory_s = moved_bytes(op) / (bandwidth * memory_reach(op, profile, runtime=runtime))
    overhead_s = (costs.dispatch_overhead_us + costs.graph_call_us(op)
                  + (0 if rnn_ps or cell_s is not None else op.recurrent_steps * costs.rnn_step_us)) * 1e-6
    unaligned = costs.unaligned(op.compute_dtype, op.kind, op.in_channels, op.out_channels, op.groups, op.nchwc_rows)
    terms = None if op.recurrent_steps else costs.kernel_terms(op.compute_dtype, op.op_type, op.kind, filter_taps(op),
                                                                grouped=op.groups > 1, unaligned=unaligned,
                                                                variant=op.variant)
    # An onnxruntime ConvInteger with terms of its pair's own (im2col + one MLAS GEMM per group):
    # timed as such (microbench_kernels.py's convint family), not as a QLinearConv times a factor.
    own_key = kernel_op_type(op.op_type, op.variant)
    im2col_own = op.op_type == "ConvInteger" and own_key in costs.kernels.get(op.compute_dtype, {})
    if im2col_own:
        terms = costs.kernels[op.compute_dtype][own_key]
    if terms is not None:
        # The runtime's measured kernel terms replace the roofline; DRAM still bounds an op
        # whose bytes cannot stay in cache (the microbenchmarks ran from cache).
        work_macs, work_out_bytes = kernel_work(op, compute, costs)
        in_bytes, out_bytes = ((operand_reads(op), work_out_bytes) if op.macs or not terms.call_ns or runtime != "tflite"
                               else broadcast_work(op, compute, costs))  # XNNPACK's kernel called per run
        calls = op.kernel_calls
        if im2col_own:  # its own terms: per MAC, per byte of its GEMMs' right side, per GEMM
            work_macs, (in_bytes, calls), out_bytes = op.macs, im2col_gemms(op), op.output_bytes
        compute_s, rest_s = terms.seconds(work_macs, in_bytes, op.weight_bytes, out_bytes, calls, tap_pairs(op),
                                          filter_set_passes(op, costs), kernel_misses(op, costs),
                                          one_row_steps(op, compute, costs))
        if op.op_type in BATCHED_PRODUCTS and not op.weights:  # two activations, past the cache
            rest_s *= costs.batched_factor(op.compute_dtype, op.input_bytes)
        rest_s += tree_visits_s(op, costs, terms.call_ns)  # a tree ensemble's visits by the ensemble's size
        rest_s += inplace_runs_s(op, compute, costs)
        floor_s = stream_floor_s(op, profile, terms.stream_reach)  # a memory-bound op past the private cache
        floor_s = (memory_s if level == "dram" else spill_s(op, profile)) if floor_s is None else floor_s
        if level == "dram" and streamed_s:
            # cold weights are read at the measured stream rate (below), not at this DRAM floor too
            floor_s *= max(moved_bytes(op) - op.weight_bytes, 0) / max(moved_bytes(op), 1)
        memory_s = max(rest_s, floor_s)
        # (fp32 only: an int8 op's range is its quantization's; the corpus' int8 ResNets ran as costed)
        clamp = costs.kernel_terms(op.compute_dtype, op.fused_activation, "elementwise") if (
            op.fused_activation and costs.separate_clamps and op.compute_dtype == "float32") else None
        if clamp is not None:  # XNNPACK's clamp node after the op (a dispatch), onnxruntime's pass inside its op
            memory_s += sum(clamp.seconds(0, op.output_bytes, 0, op.output_bytes))
            overhead_s += costs.dispatch_overhead_us * 1e-6 if runtime != "onnx" else 0.0
    if op.op_type in costs.in_place:  # the output aliases the input: nothing computed or moved
        compute_s = memory_s = 0.0
    if op.elementwise_copies and costs.transpose_element_ns:  # onnxruntime's element-wise Transpose
        copies_s = op.elementwise_copies * costs.transpose_element_ns * 1e-9
        # a Transpose is its copies; a softmax over an inner axis computes between two such
        compute_s, memory_s = (0.0, copies_s) if op.op_type == "Transpose" else (compute_s, memory_s + copies_s)
    if op.int8_pair in costs.int8_pair_factors and not im2col_own:  # MLAS's u8u8 / s8s8 kernels against the u8s8 the terms are
        factors = costs.int8_pair_factors[op.int8_pair]  # fitted on: their multiplies, not their bytes
        compute_s *= factors.get(f"{op.kind}_unaligned" if unaligned else op.kind, factors.get(op.kind, 1.0))
    compute_s += subnormal_assist_s(op, costs)  # a microcode assist per multiply by a subnormal weight vector
    work_s = compute_s + memory_s if terms is not None else max(compute_s, memory_s)
    if (walk_s := indirection_s(op, costs, indirection_set_bytes)) > work_s:  # a 1-channel conv: its IGEMM's pointer walk
        compute_s, work_s = compute_s + walk_s - work_s, walk_s
    # Weights not hot: the op pays the extra time of reading them from L3 / DRAM (streamed less
    # hot, the hot rate the curve's smallest set, which fits the private cache) on top of its
    # kernel time, and at least their streamed time (a batch-1 FC's weight read is its work).
    # A GEMM over rows read at its own measured curve pays all of it: that curve is the excess
    # itself (a chain's op over the same op alone), not a read time the kernel's includes.
    excess_curve = gemm_over_rows(op) and bool(costs.conv_weight_stream.get(op.compute_dtype))  # as weight_stream_rate picks it
    hot_rate = costs.hot_weight_rate(op.compute_dtype) if streamed_s and not excess_curve else None
    hot_s = op.weight_bytes / hot_rate if hot_rate else 0.0
    extra_s = (max(streamed_s - hot_s, 0.0) + igemm_restream_s(op, costs, profile.memory.private_cache_bytes)
               + task_weight_reads_s(op, costs, compute.threads))
    total_s = max(work_s + extra_s, streamed_s)
    memory_s, work_s = memory_s + total_s - work_s, total_s
    parallel = costs.parallel.get(op.compute_dtype) if compute.threads > 1 else None
    split = threads  # threads sharing the op's work: the roofline's all, a measured split's below
    # ``serial`` names op types (LiteRT's own kernels), a variant another kernel runs not one of them; Op.variant
    # "serial" an op kept on one thread (onnxruntime's tree walks of few rows), as LiteRT's WHILE loop is
    serial = op.variant == "serial" or op.op_type == "WHILE" or (
        parallel is not None and kernel_op_type(op.op_type, op.variant) in parallel.get("serial", ()))
    efficiency, sync_us = split_of(op, parallel)  # its kind's, or its int8 pair's, split
    if parallel and not serial and not op.elementwise_copies:  # a 1-thread loop
        # One thread's time, split as measured, plus the pool's hand-off, where that pays; with
        # ``handoff_us`` (XNNPACK) by its work tiles instead: one tile stays on the calling thread,
        # more are split even when that gains nothing.  A recurrent op hands off once per time
        # step (its own measured cost).
        speedup = (1 + efficiency * (compute.threads - 1)) * split_balance(op, parallel, compute.threads)
        parts, sync_s = 1, sync_us * 1e-6
        if op.recurrent_steps and parallel.get("step_sync_us") is not None:
            parts, sync_s = op.recurrent_steps, parallel["step_sync_us"] * 1e-6
        gains = work_s / speedup + parts * sync_s < work_s
        if op.recurrent_steps and parallel.get("step_split_macs") and parts > 1:
            gains = step_gemm_macs(op) >= parallel["step_split_macs"]  # MLAS's rule, paying or not
        tiles = work_tiles(op, costs, compute) if parallel.get("handoff_us") is not None else None
        if tiles is not None and tiles < 2:
            gains = False  # one tile of work: XNNPACK runs it on the calling thread
        elif tiles is not None and not gains:
            overhead_s += parallel["handoff_us"] * 1e-6  # split anyway, for nothing but the hand-off
        if gains:
            compute_s, memory_s, work_s = ((compute_s - keep_s) / speedup + keep_s, memory_s / speedup,
                                           (work_s - keep_s) / speedup + keep_s)  # a GRU's gates stay on one
            overhead_s += parts * sync_s
            split = compute.threads
    overhead_s += sync_us * 1e-6 if tree_split else 0.0  # one thread's share of its walks, handed off
    floor_s = step_spill_s(op, profile, split)
    if floor_s > work_s:  # the recurrent weights' re-read from the shared cache bounds the op
        memory_s, work_s = memory_s + floor_s - work_s, floor_s
    times = op.repeats  # a Loop body's op, run once per iteration (Op.repeats)
    return OpLatency(compute_s=compute_s * times, memory_s=memory_s * times, overhead_s=overhead_s * times,
                     latency_s=(work_s + overhead_s) * times,
                     bound="compute" if compute_s > memory_s else "memory",
                     memory_level=level, bytes_moved=moved_bytes(op) * times)
