"""How a runtime's kernels tile their work (cost/latency.py's docstring says what each costs):
MACs padded to the kernel's channel and row tiles, the tiles XNNPACK hands its thread pool, an
IGEMM's re-reads of its packed weights per mr rows and its walk of the indirection buffer."""

from __future__ import annotations

import math
from collections import Counter

from ..graph.ir import Op
from ..graph.ort_conv import SGEMM_ROWS
from ..graph.ort_kernels import BROADCAST_OPS
from ..targets.kernel_terms import kernel_op_type, log_interpolate
from ..targets.types import ComputeProfile, RuntimeCost
from .recurrent import cell_shape


def padded_macs(op: Op, tile: int, in_tile: int = 1, in_remainder: int = 0, remainder: int = 0) -> float:
    """MACs as the kernels execute them: output channels rounded up to the kernel's ``tile`` (a
    partial last tile costed as ``remainder`` channels where given), and a dense conv's input
    channels per filter tap up to ``in_tile`` (the int8 kernels' KR), a partial last tile costed
    as ``in_remainder`` channels where given (a slower remainder step)."""
    macs, channels = float(op.macs), op.out_channels
    if channels > 0 and tile > 1:
        macs *= tiled_channels(channels, tile, remainder) / channels
    if op.in_channels > 0 and in_tile > 1 and op.kind in ("conv", "pointwise"):
        macs *= tiled_channels(op.in_channels, in_tile, in_remainder) / op.in_channels
    return macs


def tiled_channels(channels: int, tile: int, remainder: int = 0) -> int:
    """The channels a kernel computes for ``channels``: whole tiles, and a partial last one as
    ``remainder`` channels where given (its slower step), else as a whole tile."""
    whole, part = divmod(channels, tile)
    return whole * tile + ((remainder or tile) if part else 0)


ITEM_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int16": 2, "int8": 1, "int4": 1}


def gemm_over_rows(op: Op) -> bool:
    """A GEMM over more than one output row (a conv, an FC of several rows): ``conv_weight_stream``'s."""
    return op.kind in ("conv", "pointwise", "fully_connected") and bool(op.out_channels) and output_positions(op) > 1


# Op types whose kernel is a GEMM with the output channels on its short side: onnxruntime's
# ConvTranspose multiplies the filter (Cout x kh x kw rows) by the input (its positions the
# columns MLAS tiles), then scatters the columns back (col2im); no output-channel tile to round to.
# So does LiteRT's own TRANSPOSE_CONV (one XNNPACK does not take: an output shape the graph computes).
# So does MLAS's SGEMM of an NCHW conv (graph/ort_conv.py): the filters are its rows, 12, 6, 3 or 1 at a time.
UNTILED_OP_TYPES = frozenset({"ConvTranspose", "TRANSPOSE_CONV_dynamic",
                              *(f"{conv}_{variant}" for conv in ("Conv", "FusedConv") for variant in SGEMM_ROWS)})


def kernel_channel_tile(dtype: str, kind: str, compute: ComputeProfile, costs: RuntimeCost) -> int:
    """Output channels the ``dtype`` ``kind`` kernel computes per pass: the runtime's, else the profile's."""
    return costs.channel_tiles.get(dtype, {}).get(kind) or compute.channel_tile_of(dtype, kind)


def op_channel_tile(op: Op, compute: ComputeProfile, costs: RuntimeCost) -> int:
    """``kernel_channel_tile`` for this op: the runtime's narrower kernel's where the op has fewer
    output channels than the wide one computes (XNNPACK's f32 convolution takes its nr2 config
    when nr > the layer's output channels: convolution-nhwc.c; 7x32 / 7x16 on AVX-512)."""
    tile = kernel_channel_tile(op.compute_dtype, op.kind, compute, costs)
    narrow = costs.narrow_channel_tiles.get(op.compute_dtype, {}).get(op.kind)
    return narrow if narrow and 0 < op.out_channels < tile else tile


def depthwise_set_bytes(op: Op) -> int:
    """Bytes of input and weights a depthwise conv reads for one output position: taps x channels
    of each (XNNPACK's dwconv walks every tap's input row over all channels per output pixel: past
    L1, each MAC costs more; ``RuntimeCost.depthwise_set_factor``)."""
    positions = max(output_positions(op), 1)
    return 2 * op.macs // positions * ITEM_BYTES.get(op.compute_dtype, 4)  # MACs per output: taps x channels


def kernel_work(op: Op, compute: ComputeProfile, costs: RuntimeCost) -> tuple[float, int]:
    """(MACs, output bytes) as the runtime's kernel computes them: output channels rounded up to
    its channel tile (the runtime's own, else the profile's), a dense conv's input channels per
    tap to its input tile (a partial one at its remainder step's cost, and the narrow kernel's own
    tile where the runtime lists them), and, where it lists a row tile, output rows to whole tiles (an op
    with fewer rows than a tile, or than ``whole_rows_from``, runs a smaller one, unless
    ``whole_row_tiles``): XNNPACK's AMX
    int8 kernel computes 16 rows x 64 channels x 64 inputs per tap at a time whatever the layer
    needs of them, and requantizes all 16 x 64 outputs (a 1-row op: its 1x64 kernel's row)."""
    dtype, kind = op.compute_dtype, op.kind
    untiled = kernel_op_type(op.op_type, op.variant) in UNTILED_OP_TYPES
    tile = 1 if untiled else op_channel_tile(op, compute, costs)
    narrow = not untiled and tile < kernel_channel_tile(dtype, kind, compute, costs)  # its narrow kernel runs
    in_tile, in_rem = costs.input_channel_tile(dtype, kind, narrow), costs.input_channel_remainder(dtype, kind, narrow)
    macs = padded_macs(op, tile, in_tile, in_rem, 0 if untiled else costs.channel_remainder(dtype, kind)) if op.macs else 0.0
    if kind == "depthwise" and costs.depthwise_set_factor.get(dtype) and op.out_channels:
        macs *= costs.depthwise_factor(dtype, depthwise_set_bytes(op))
    rows, out_bytes = costs.row_tile(dtype, kind), op.output_bytes
    positions = output_positions(op) if op.out_channels else 0
    if rows > 1 and positions:
        whole = math.ceil(positions / rows) * rows / positions
        if costs.whole_row_tiles:  # XNNPACK: every tile whole; one row: the 1-row kernel's output
            mac_scale, out_scale = whole, (whole if positions > 1 else 1.0)
        else:
            mac_scale = out_scale = whole if positions >= (costs.whole_rows_from or rows) else 1.0
        macs *= mac_scale
        out_bytes = round(out_bytes * out_scale * math.ceil(op.out_channels / tile) * tile / op.out_channels)
    return macs, out_bytes


# XNNPACK's element-wise operators hand its thread pool tiles of 16 KB (binary-elementwise-nd.c
# get_tile_size: 16 x 1024 bytes, rounded to the kernel's unroll).
ELEMENTWISE_TILE_BYTES = 16 * 1024


# Rows (mr) of XNNPACK's x86 AVX-512 GEMM kernels where the profile does not list them: 7
# (gemm-config.c: f32 7x32, qs8 7x16c8 on avx512vnni).
GEMM_ROWS = 7


def work_tiles(op: Op, costs: RuntimeCost, compute: ComputeProfile) -> int | None:
    """How many tiles of work XNNPACK hands its thread pool for ``op``: a GEMM's mr x nr output
    tiles (``xnn_gemm_best_tile_size`` cuts them down to the kernel's mr x nr to get 5 per
    thread; mr = ``igemm_rows``, 1 for a batch-1 FC; nr = ``igemm_cols``, else the channel
    tile), an element-wise op's 16 KB tiles; None for the kinds it splits some other way.  With
    more than one tile it splits the op over the threads whether or not that pays."""
    dtype, kind = op.compute_dtype, op.kind
    if op.recurrent_steps:
        return None  # split per time step (``step_sync_us``), not as one GEMM
    if kind in ("conv", "pointwise", "fully_connected") and op.macs and op.out_channels:
        positions = output_positions(op)
        rows = costs.igemm_rows.get(dtype, {}).get(kind) or costs.row_tiles.get(dtype, {}).get(kind) or GEMM_ROWS
        cols = costs.igemm_cols.get(dtype, {}).get(kind) or kernel_channel_tile(dtype, kind, compute, costs)
        cols = min(cols, op_channel_tile(op, compute, costs)) if costs.narrow_channel_tiles else cols
        return math.ceil(positions / (1 if positions == 1 else rows)) * math.ceil(op.out_channels / cols)
    if kind == "elementwise":
        return math.ceil(op.output_bytes / ELEMENTWISE_TILE_BYTES)
    return None


def output_positions(op: Op) -> int:
    """Output positions (batch x spatial) of an op with known ``out_channels``."""
    return op.output_bytes // ITEM_BYTES.get(op.compute_dtype, 4) // op.out_channels


def igemm_restream_s(op: Op, costs: RuntimeCost, private_cache_bytes: int | None = None) -> float:
    """The time a conv with filter taps spends reading its packed weights again for every
    ``mr`` output rows (``costs.igemm_rows``): XNNPACK tiles an IGEMM to its L2 only when an
    mr x nr tile fits there (``xnn_gemm_best_tile_size``); a 1x32 conv over 250 channels or a
    3x3 over 1024 does not, gets all output channels per call and streams the weights
    ceil(M / mr) times.  Each read again beyond the first costs the weights' streamed time less
    their hot time at a set their size (the measured curve: nothing below ~8 MB, where the L3
    serves them as fast as hot; single-op files: a 64 MB 1x32 conv over 150 rows +51 ms on 59).
    With ``costs.igemm_cols`` (nr) and the CPU's private cache known, a conv whose smallest tile
    -- mr rows and nr columns of its packed K -- fits that cache is tiled to it and read once."""
    rows = costs.igemm_rows.get(op.compute_dtype, {}).get(op.kind)  # the profile lists the kinds with taps
    if not rows or not op.weight_bytes or not op.out_channels:
        return 0.0
    cols = costs.igemm_cols.get(op.compute_dtype, {}).get(op.kind)
    if cols and private_cache_bytes and (rows + cols) * op.weight_bytes / op.out_channels <= private_cache_bytes:
        return 0.0
    positions = output_positions(op)
    rate = costs.weight_stream_rate(op.compute_dtype, op.weight_bytes)
    if rate is None or positions <= rows:
        return 0.0
    hot = costs.hot_weight_rate(op.compute_dtype)
    return (math.ceil(positions / rows) - 1) * op.weight_bytes * max(1 / rate - 1 / hot, 0.0)


def filter_set_passes(op: Op, costs: RuntimeCost) -> float:
    """Input values x filter taps x passes over the output channels of an NCHWc conv, each pass
    covering the runtime's filter set (``parallel.<dtype>.nchwc_block``: MLAS takes 4 blocks of 16
    at once): MACs / output channels x ceil(output channels / set).  A 16-channel conv makes 4x
    the passes per MAC a 64-channel one does; 0 for an op the runtime does not run so."""
    if op.variant in SGEMM_ROWS:  # MLAS's SGEMM of an NCHW conv (graph/ort_conv.py): each (im2col) input element packed once
        return op.macs / op.out_channels if op.out_channels else 0.0
    unit = dict((costs.parallel.get(op.compute_dtype) or {}).get("nchwc_block", ())).get(op.kind)
    if not unit or not op.macs or not op.out_channels or op.groups > 1:
        return 0.0
    return op.macs / op.out_channels * math.ceil(op.out_channels / unit)


def one_row_steps(op: Op, compute: ComputeProfile, costs: RuntimeCost) -> float:
    """K steps x column blocks of a GEMM over one output row (a batch-1 FC, a conv or 1x1 conv of one
    output position): each microkernel call walks all K of its block (the op's channel tile, its
    narrower kernel's where it has fewer channels), one FMA per step into each accumulator, so its
    time follows the steps, not the MACs (XNNPACK's 1x32 fp32 kernel on the Zen 4: ~1.2 ns a step
    whether a block holds 1 output channel or 32; ``microbench_kernels.py`` fc_one_row family).
    0 for an op of more rows, a grouped conv, an op of another kind."""
    if (op.kind not in ("conv", "pointwise", "fully_connected") or not op.macs or not op.out_channels
            or op.groups > 1 or output_positions(op) != 1):
        return 0.0
    return op.macs / op.out_channels * math.ceil(op.out_channels / op_channel_tile(op, compute, costs))


def split_of(op: Op, parallel) -> tuple[float, float]:
    """(efficiency, sync_us) of an op's split over threads by a runtime's ``parallel`` table: its
    kind's (``kinds``), else the table's; an int8 pair's own efficiency where measured (``pairs``:
    LiteRT's dynamic-range convs, float activations on uint8 weights, run its own kernels, which
    gain 1.0-1.6x on two threads where its uint8 ones gain 1.8-2.0x).  (1, 0) without a table."""
    if not parallel:
        return 1.0, 0.0
    efficiency, sync_us = next(((e, s) for kind, e, s in parallel.get("kinds", ()) if kind == op.kind),
                               (parallel["efficiency"], parallel["sync_us"]))
    own = dict(dict(parallel.get("pairs", ())).get(op.int8_pair, ())).get(op.kind) if op.int8_pair else None
    return (efficiency if own is None else own), sync_us


def kernel_misses(op: Op, costs: RuntimeCost) -> float:
    """What an op's kernel terms price per miss (``miss_ns``): its mispredicted branches
    (``unlearned_misses``) and a strided reduction's L1 misses (``strided_conflicts``)."""
    return unlearned_misses(op, costs) + strided_conflicts(op, costs)


def unlearned_misses(op: Op, costs: RuntimeCost) -> float:
    """The mispredicted branches an op pays (``Op.sign_misses``): a tree ensemble's, the share of its
    visits (``Op.kernel_calls``) past what a repeated run teaches the CPU's predictor
    (``costs.learned_branches``: the Zen 4's walks cost as predicted up to ~40 K visits); a PRelu's as
    counted."""
    if not op.tree_nodes or not op.kernel_calls or not costs.learned_branches:
        return op.sign_misses
    return op.sign_misses * max(0.0, 1.0 - costs.learned_branches / op.kernel_calls)


def first_tree_visits(op: Op, costs: RuntimeCost) -> int:
    """The visits of a tree ensemble's walks (``Op.kernel_calls``) that pay its visit curve
    (``costs.tree_visit_ns``): all of them, or where the profile says a revisit runs warm
    (``costs.warm_tree_revisits``) the first to each node they reach (``Op.tree_distinct``).  On Zen 1
    many rows' walks take 6-9 ns a visit whatever the ensemble's size, where one row's take 1.4 ns at
    12.7 K nodes and 36 at 6.1 M: fink-science's isolation forest (100 trees, 10 K nodes, 121 rows,
    held-out set 19) read 0.48x with each visit at the curve."""
    if costs.warm_tree_revisits and op.tree_distinct:
        return min(op.tree_distinct, op.kernel_calls)
    return op.kernel_calls


def tree_visits_s(op: Op, costs: RuntimeCost, call_ns: float) -> float:
    """What a tree ensemble's ``first_tree_visits`` cost at its visit curve, by the ensemble's size,
    past the ``call_ns`` its kernel terms already price them at; 0 for any other op."""
    curve = costs.tree_visit_ns.get(op.compute_dtype) if op.tree_nodes else None
    if not curve:
        return 0.0
    return first_tree_visits(op, costs) * (log_interpolate(curve, op.tree_nodes) - call_ns) * 1e-9


# The L1 data caches of these x86 cores: 64 sets of 64-byte lines (a set repeats every 4 KiB).
L1_SETS, L1_LINE = 64, 64


def strided_conflicts(op: Op, costs: RuntimeCost) -> float:
    """Reads of a strided reduction (``Op.variant`` "strided": onnxruntime reducing [1, C, K] over C,
    each output a walk down C reads one plane apart) that miss the L1 because more of an output's reads
    share a set than it has ways (``costs.l1_ways``): Σ over sets of max(0, reads there - ways), per
    output.  A plane of 4 KiB times n puts all C in one set: the Zen 4 averages [1, 64, 64, 64] over its
    channels at 2.8 ns an element where [1, 64, 250, 262] takes 0.67 (pool family reduce_strided).
    0 for any other op, or a CPU whose L1 is not given."""
    if op.variant != "strided" or not costs.l1_ways or not op.kernel_calls or not op.output_bytes:
        return 0.0
    channels, plane = op.input_bytes // op.output_bytes, op.output_bytes  # [1, C, K] -> [1, 1, K]: a plane apart
    per_set = Counter(r * plane // L1_LINE % L1_SETS for r in range(channels))
    return op.kernel_calls * sum(max(0.0, n - costs.l1_ways) for n in per_set.values())


def tap_pairs(op: Op) -> int:
    """Output positions x filter taps of a conv with taps (kind "conv") or a depthwise conv (one
    input pointer per pair in its indirection buffer, whatever its channels); 0 for any other op."""
    if op.kind not in ("conv", "depthwise") or not op.out_channels or not op.macs:
        return 0
    positions = output_positions(op)  # MACs = positions x taps x out channels x (per-group) in channels
    return op.macs // max(positions * op.out_channels * max(op.in_channels, 1), 1) * positions


def operand_reads(op: Op) -> int:
    """The input bytes onnxruntime's float binary element-wise kernel reads: every operand once per
    output element, a constant one too (its weight bytes: a [width] bias over [rows, width] costs
    what a full operand does, 0.15-0.17 ns an element on the Zen 4, ``microbench_probes.py --probe
    bias-add``), a scalar once; an op's input bytes otherwise (LiteRT's op types, ADD and MUL, are
    not onnxruntime's)."""
    if op.op_type in BROADCAST_OPS and not op.op_type.startswith("QLinear") and op.weight_bytes > 8:
        return op.input_bytes + op.output_bytes
    return op.input_bytes


def im2col_gemms(op: Op) -> tuple[int, int]:
    """(bytes of its GEMMs' right-hand side, GEMMs) of a conv run as im2col and one GEMM per group
    (onnxruntime's ConvInteger, uint8 activations): the im2col buffer, output positions x taps x
    input channels = MACs x groups / output channels (a 1x1 stride-1 conv's: its input itself), and
    a depthwise conv's one GEMM per channel (a channel multiplier of 1); (0, 0) for an op without."""
    if not op.macs or not op.out_channels:
        return 0, 0
    groups = op.out_channels if op.kind == "depthwise" else max(op.groups, 1)
    return op.macs * groups // op.out_channels, groups


def indirection_s(op: Op, costs: RuntimeCost, set_bytes: int = 0) -> float:
    """The least an IGEMM conv spends walking its indirection buffer: output positions x filter
    taps, at the runtime's measured ns per pair for the buffers an inference walks (8 bytes a
    pair; ``set_bytes``: the graph's, every conv's own, where given, as a graph's weights are read
    at its whole packed set's rate; a lone conv's: its own)."""
    pairs = tap_pairs(op) if op.kind == "conv" else 0  # measured on 1-in / 1-out IGEMM convs
    if op.compute_dtype not in costs.indirection_ns or not pairs:
        return 0.0
    return pairs * costs.indirection_ns_at(op.compute_dtype, max(pairs * 8, set_bytes)) * 1e-9


def task_weight_reads_s(op: Op, costs: RuntimeCost, threads: int = 1) -> float:
    """The time a dense conv spends reading its packed weights again once per task of output
    rows where they overflow what the core's cache keeps (``costs.task_weight_reads``:
    onnxruntime's QLinearConv, at most ``tasks_per_thread`` x ``threads`` tasks); 0 elsewhere."""
    rule = costs.task_weight_reads.get(op.compute_dtype)
    if (not rule or op.kind not in ("conv", "pointwise") or op.groups > 1 or not op.out_channels
            or op.weight_bytes <= rule["resident_bytes"]):
        return 0.0
    tasks = min(math.ceil(output_positions(op) / rule["rows"]), rule["tasks_per_thread"] * threads)
    return tasks * (op.weight_bytes - rule["resident_bytes"]) / rule["bytes_per_s"]


def subnormal_assist_s(op: Op, costs: RuntimeCost) -> float:
    """Seconds an fp32 op's subnormal weights add where the runtime pays for them: a microcode
    assist per multiply of a weight vector holding one (``Op.subnormal_vectors``), at every
    output position, ``subnormal_vector_ns`` each; 0 elsewhere."""
    if not op.subnormal_vectors or not costs.subnormal_vector_ns or op.compute_dtype != "float32" or not op.out_channels:
        return 0.0
    return op.subnormal_vectors * output_positions(op) * costs.subnormal_vector_ns * 1e-9


# The largest GEMM an ONNX recurrent op runs per time step, as a share of one direction's
# recurrent weights R: onnxruntime's LSTM multiplies by all 4 gates' R at once
# (uni_directional_lstm.cc), its GRU by the update and reset gates' 2 of 3 and then the hidden
# gate's 1 (deep_cpu_gru.cc: recurrent_weightsZR, recurrent_weightsH), an RNN by all of R.
STEP_GEMM_SHARE = {"LSTM": 1.0, "GRU": 2 / 3, "RNN": 1.0}


def step_gemm_macs(op: Op) -> float:
    """MACs of the largest GEMM a recurrent op runs per time step: ``STEP_GEMM_SHARE`` of R's
    elements times its batch (a step multiplies every sequence's state: DLAC's 200-row GRU splits
    where a batch-1 one of its width does not); 0 where unknown."""
    if not op.recurrent_steps or not op.step_weight_bytes:
        return 0.0
    batch = shape.batch if (shape := cell_shape(op)) is not None else 1
    return op.step_weight_bytes / ITEM_BYTES.get(op.compute_dtype, 4) * STEP_GEMM_SHARE.get(op.op_type, 1.0) * batch
