"""What one runtime (LiteRT for tflite, onnxruntime for onnx) costs beside the arithmetic:
``RuntimeCost``, the keys a target file may give it, and the read-only mapping helpers the
profile dataclasses share.  Re-exported by ``types.py`` (and so by ``load.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .kernel_terms import KernelTerms, kernel_term_keys, log_interpolate

__all__ = ["CPU_FLAGS", "CPU_SCALARS", "CPU_TILES", "PARALLEL_KEYS", "PARALLEL_OPTIONAL", "PER_KIND_TABLES", "RUNTIME_COST_KEYS",
           "RUNTIME_CURVES", "TASK_WEIGHT_READS_KEYS", "RuntimeCost", "frozen", "sorted_items"]


# A runtime's integer tables per dtype and op kind (or rule key); those a CPU entry may give its own.
PER_KIND_TABLES = ("input_channel_tiles", "input_channel_remainders", "narrow_input_channel_tiles", "igemm_rows", "igemm_cols",
                   "channel_tiles", "channel_remainders", "narrow_channel_tiles", "row_tiles", "symmetric_conv")
CPU_TILES = ("channel_tiles", "channel_remainders", "narrow_channel_tiles", "input_channel_tiles", "input_channel_remainders",
             "narrow_input_channel_tiles", "row_tiles")
# The single figures a CPU's own entry may set for a runtime (tables.cpu_runtime_tables, load.py).
CPU_SCALARS = ("dispatch_overhead_us", "invoke_overhead_us", "transpose_element_ns", "subnormal_vector_ns",
               "inplace_run_ns", "rnn_step_us", "rnn_call_us", "conv_call_us", "feed_us", "fetch_us", "rnn_efficiency",
               "whole_rows_from", "learned_branches", "l1_ways")
# The graph inputs and outputs of the empty file a runtime's invoke cost is timed on (microbench_kernels.build_empty:
# an ADD of two inputs, one output).
EMPTY_FILE_IO = (2, 1)
# The rules a CPU's own entry may switch on or off for a runtime.
CPU_FLAGS = ("whole_row_tiles", "warm_tree_revisits")
TASK_WEIGHT_READS_KEYS = ("rows", "tasks_per_thread", "resident_bytes", "bytes_per_s")
# A runtime's curves by bytes, dtype -> ((bytes, value), ...): key -> what the value is.
RUNTIME_CURVES = {"weight_stream": "bytes per second", "conv_weight_stream": "bytes per second",
                  "indirection_ns": "ns per position and tap", "depthwise_set_factor": "times the MACs",
                  "batched_set_factor": "times the bytes", "tree_visit_ns": "ns per node visit"}


@dataclass(frozen=True)
class RuntimeCost:
    """What one runtime (keyed by artifact format: LiteRT for tflite, onnxruntime for onnx)
    costs beside the arithmetic, measured by scripts/microbench_kernels.py."""

    dispatch_overhead_us: float  # per op, replacing compute.dispatch_overhead_us for this format
    invoke_overhead_us: float = 0.0  # once per inference: the runtime's invoke, set/get of I/O
    rnn_step_us: float = 0.0  # per time step and direction of a recurrent op (LSTM/GRU/RNN)
    # per call of an ONNX GRU / LSTM / RNN inside a graph beyond what its single-op file took, which its
    # terms are fitted on (microbench_probes.py --probe gru-chain less the feed its one-input file lacks:
    # 0.8 us on Zen 1); 0: none
    rnn_call_us: float = 0.0
    # per call of an ONNX Conv onnxruntime runs in its generic kernel (a 1-D conv, not NCHWc), dense,
    # inside a graph beyond its single-op file (microbench_kernels.py's ort_chain family: 0 on Zen 1 once its
    # one-input files are priced with the feed they lack)
    conv_call_us: float = 0.0
    # per graph input fed and output fetched beyond the empty file's (EMPTY_FILE_IO), which its invoke
    # cost holds (microbench_probes.py --probe feeds: onnxruntime's session.run, 2.5 / 1.8 us on Zen 1); 0: none
    feed_us: float = 0.0
    fetch_us: float = 0.0
    # Fraction of the float32 peak a recurrent op's matmuls reach in this runtime's RNN kernel
    # (batch-1 matrix-vector products, weights read again every step); 0: the FC efficiency.
    rnn_efficiency: float = 0.0
    # recurrent op type (LSTM, GRU) -> ((MACs per time step, ps per MAC), ...) ascending: the
    # runtime's RNN kernel timed per step at several widths (scripts/microbench_kernels.py "rnn"
    # family, fit_kernel_rates.fit_rnn_curves), interpolated; replaces rnn_efficiency and
    # rnn_step_us for the op types it lists (the per-step fixed cost is inside each point)
    rnn_steps: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    # dtype -> op kind -> this runtime's own efficiency (XNNPACK vs MLAS) over compute.efficiency
    efficiency: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # dtype -> op type ("LOGISTIC") or kind -> measured kernel terms: they replace the roofline
    kernels: Mapping[str, Mapping[str, KernelTerms]] = field(default_factory=dict)
    # dtype -> ((graph's packed weight bytes, bytes/s), ...) ascending: the rate at which this
    # runtime's kernels read weights that are not hot in the core's private cache, by how big the
    # whole set is (L3, then DRAM); measured by scripts/microbench_weight_stream.py
    weight_stream: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    # dtype -> the same curve for a GEMM over many rows (a conv, a pointwise conv, an FC of more
    # than one row), which reads its cold weights slower than a batch-1 FC streams them (XNNPACK
    # on the Xeon: ~6 GB/s for a 17 MB set where the FCs stream 27); chains of distinct 1x1 convs,
    # scripts/microbench_weight_stream.py --conv; absent: weight_stream
    conv_weight_stream: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    # ns per element of a Transpose the runtime copies element by element (``Op.elementwise_copies``:
    # onnxruntime's DoTransposeEltWise, ~3 ns on the Xeon whatever the dtype; microbench_probes.py
    # --probe transpose); 0: such a Transpose costs as any other
    transpose_element_ns: float = 0.0
    # ns per fp32 multiply of a weight vector holding a subnormal, per output position
    # (``Op.subnormal_vectors``: a microcode assist per 16-wide FMA on x86; MLAS ~36 ns on the
    # Xeon, XNNPACK none; microbench_probes.py --probe subnormal); 0: not priced
    subnormal_vector_ns: float = 0.0
    # ns more per broadcast run of a binary op XNNPACK runs in place (``Op.runs_in_place``) when
    # its runs are off the channel tile (microbench_probes.py --probe inplace); 0: not priced
    inplace_run_ns: float = 0.0
    # Branches of a run repeated run after run (as bench times it) that the CPU's predictor learns: a
    # tree ensemble's mispredicted splits (``Op.sign_misses``) are its share past these of its visits
    # (``cost.tiles.unlearned_misses``; fit_kernel_rates.py picks it from the tree_rows family); 0: none
    learned_branches: float = 0.0
    # A tree ensemble's visits priced by the nodes a run's walks reach (``Op.tree_distinct``): the first visit
    # to each at ``tree_visit_ns``, a revisit at the kernel's ``call_ns`` (``cost.tiles.first_tree_visits``;
    # Zen 1's many-row walks: 6-9 ns a visit whatever the ensemble's size); False: every visit at the curve
    warm_tree_revisits: bool = False
    # Ways of the core's L1 data cache (64 sets of 64-byte lines on these x86 cores): a strided reduction's
    # reads past that many in one set miss it (``cost.tiles.strided_conflicts``, ``miss_ns`` each); 0: not priced
    l1_ways: float = 0.0
    # int8 operand pair ("u8u8", "s8s8") -> op kind (conv, pointwise, depthwise, conv_unaligned)
    # -> its QLinearConv time over the u8s8 kernel's, which the int8 terms were fitted on
    # (``Op.int8_pair``; microbench_probes.py --probe int8-pairs); absent: x1
    int8_pair_factors: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # dtype -> ((indirection buffer bytes, ns per output position x filter tap), ...) ascending: the least an
    # IGEMM conv walks its buffer, 8 bytes a pair (1-in/1-out 256-tap convs: 0.5 ns up to 22 MB, 1.9 from 45 MB
    # on the Xeon; microbench_probes.py --probe indirection); absent: no floor
    indirection_ns: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    # dtype -> ((bytes, factor), ...): a depthwise conv's MACs cost this many times over where one
    # output's taps x channels of inputs and weights pass L1 (--probe depthwise-l1); absent: x1
    depthwise_set_factor: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    # dtype -> ((input bytes, factor), ...): a product of two activations' per-byte terms past the
    # cache (its right side packed per batch value; fit_kernel_rates.py, bmm_rows); absent: x1
    batched_set_factor: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    # dtype -> ((ensemble nodes, ns per node visit), ...): a tree ensemble's walks (fit_kernel_rates.py)
    tree_visit_ns: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    # dtype -> {"efficiency": fraction of a perfect split per extra thread, "sync_us": per op,
    # "step_sync_us": per recurrent time step or None, "serial": op types left on one thread,
    # "nchwc_block": ((kind, output channels per work unit), ...) of onnxruntime's NCHWc convs,
    # "stripe": ((kind, positions), ...) its other convs' output stripes round to,
    # "kinds": ((kind, efficiency, sync_us), ...) where a kind's kernel splits its own way,
    # "handoff_us": XNNPACK's rule, when set: ops split by work tiles, worth it or not, and a split
    # that gains nothing costs this hand-off (cost/latency.work_tiles),
    # "step_split_macs": MLAS's rule for a recurrent op's per-step GEMMs: a step splits when its largest
    # GEMM has this many MACs (MLAS_SGEMM_THREAD_COMPLEXITY; cost/latency.step_gemm_macs)}: what
    # more than one thread does to an op (scripts/microbench_threads.py)
    parallel: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # op types whose output the runtime aliases to their input (onnxruntime's Reshape, Flatten,
    # Squeeze, Unsqueeze, Identity kernels declare Alias(0, 0)): no bytes moved, dispatch only
    in_place: tuple[str, ...] = ()
    # dtypes whose 2-D convs the runtime runs in its NCHWc layout (onnxruntime fp32: ``Op.nchwc_rows``
    # from its rewrite); a dense conv of such a dtype left out (a 1-D conv) runs MlasConv's im2col +
    # SGEMM, on its kind's ``<kind>_unaligned`` terms
    nchwc: tuple[str, ...] = ()
    # dtype -> op kind -> input channels the runtime's kernel packs per filter tap (XNNPACK's
    # x86 int8 IGEMM/GEMM: KR = 8, a 3-channel stem computes as 8); absent: no padding
    input_channel_tiles: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # dtype -> kind -> the input channels a tap's last, partial input tile costs as (XNNPACK's fp32
    # "s4" IGEMM on AVX2 takes a remainder of 1-3 channels in a step ~1.8x a whole one of 4); absent:
    # as a whole tile
    input_channel_remainders: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # dtype -> kind -> input channels per tap of the narrow kernel (``narrow_channel_tiles``) where it
    # packs other than the wide one (XNNPACK's fp32 IGEMM on AVX2 under 16 outputs: one at a time)
    narrow_input_channel_tiles: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # dtype -> kind -> the output channels a partial last channel tile costs as (XNNPACK's fp32
    # depthwise on the AVX2 EPYC: its masked remainder step of 1-7 channels as 34); absent: as a whole tile
    channel_remainders: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # dtype -> op kind -> output rows (mr) of the runtime's IGEMM microkernel where it reads the
    # op's whole packed weights once per mr rows (XNNPACK: a conv with taps whose mr x nr tile
    # overflows L2 gets nc = all output channels, so 150 rows read 64 MB of weights 22 times)
    igemm_rows: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # dtype -> op kind -> output channels (nr) of that IGEMM microkernel: only a conv whose mr x K
    # and K x nr tile overflows the private cache is left untiled (gemm_fits_in_cache); absent: all
    igemm_cols: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # dtype -> op kind -> output channels this runtime's kernel computes per pass, over
    # compute.channel_tiles (XNNPACK's AMX int8 kernels: nr = 64 where its AVX-512 ones take 16)
    channel_tiles: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # ...and the narrower kernel's, which an op with fewer output channels than that runs (XNNPACK f32: nr2)
    narrow_channel_tiles: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # dtype -> op kind -> output rows (positions) the kernel computes per pass (AMX: mr = 16 rows
    # per tile): MACs and the per-output term count whole rows x channel tiles (an op with
    # fewer positions than one tile runs a smaller one); absent: rows are not padded
    row_tiles: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # XNNPACK's AMX rule for those row tiles: a GEMM microkernel computes all of its mr rows (the
    # 16x64 kernel writes 16 x 64 outputs per call), a 1-row op runs the 1-row kernel at the full
    # tile's multiplies (cost.tiles.kernel_work); False: an op of fewer rows, a smaller tile
    whole_row_tiles: bool = False
    # ...and without that rule, the fewest rows that run whole row tiles (an op of fewer runs a smaller
    # kernel unpadded); 0: a tile's rows (MLAS's ConvSym computes the 1-5 rows it is given).  XNNPACK's
    # fp32 GEMMs on AVX-512 have a 1-row and a 7-row kernel, so 2 to 6 rows cost what 7 do: 2
    whole_rows_from: float = 0.0
    # XNNPACK's binary ops take no output range: a fused activation becomes a clamp node of its own
    # (subgraph/binary.c xnn_insert_clamp_node), a pass over the output at that activation's terms
    separate_clamps: bool = False
    # dtype -> {SYMMETRIC_CONV_KEYS: N}: the convs the runtime's symmetric conv kernel takes (MLAS's
    # ConvSym, convsym.cpp MlasConvSymPackWSize); any other runs im2col + GEMM (dense) or a generic
    # kernel (depthwise), on its kind's ``<kind>_unaligned`` terms
    symmetric_conv: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # dtype -> {TASK_WEIGHT_READS_KEYS: N}: onnxruntime's QLinearConv cuts a conv's output into at
    # most tasks_per_thread x threads tasks of whole ``rows`` (qlinearconv.cc ComputeOutputStride)
    # and each task's MLAS call walks every weight: packed weights beyond resident_bytes come from
    # the shared cache again per task, at bytes_per_s (cost.tiles.task_weight_reads_s)
    task_weight_reads: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (*RUNTIME_CURVES, "rnn_steps"):
            object.__setattr__(self, name, frozen({k: tuple(tuple(p) for p in c) for k, c in getattr(self, name).items()}))
        for name in ("efficiency", "kernels", "parallel", "task_weight_reads", "int8_pair_factors",
                     *PER_KIND_TABLES):  # dtype (or pair) -> key -> value
            object.__setattr__(self, name, frozen({d: frozen(k) for d, k in getattr(self, name).items()}))

    def __hash__(self) -> int:
        return hash((self.dispatch_overhead_us, self.invoke_overhead_us, self.rnn_step_us, self.rnn_call_us,
                     self.conv_call_us, self.feed_us, self.fetch_us, self.rnn_efficiency,
                     self.transpose_element_ns, self.subnormal_vector_ns, self.inplace_run_ns, self.learned_branches,
                     self.l1_ways,
                     self.in_place, self.nchwc,
                     self.whole_row_tiles, self.whole_rows_from, self.separate_clamps, self.warm_tree_revisits,
                     *(tuple(sorted(getattr(self, name).items())) for name in (*RUNTIME_CURVES, "rnn_steps")),
                     *(tuple((d, sorted_items(k)) for d, k in sorted(getattr(self, name).items()))
                       for name in ("efficiency", "kernels", "parallel", "task_weight_reads", "int8_pair_factors",
                                    *PER_KIND_TABLES))))

    def input_channel_tile(self, dtype: str, kind: str, narrow: bool = False) -> int:
        """Input channels the ``dtype`` ``kind`` kernel (its narrow one with ``narrow``) packs per
        filter tap; 1: none padded."""
        if narrow and kind in self.narrow_input_channel_tiles.get(dtype, {}):
            return self.narrow_input_channel_tiles[dtype][kind]
        return self.input_channel_tiles.get(dtype, {}).get(kind, 1)

    def input_channel_remainder(self, dtype: str, kind: str, narrow: bool = False) -> int:
        """Input channels a partial input tile costs as (0: as a whole tile); the narrow kernel's
        where it packs its own way: as a whole one."""
        if narrow and kind in self.narrow_input_channel_tiles.get(dtype, {}):
            return 0
        return self.input_channel_remainders.get(dtype, {}).get(kind, 0)

    def channel_remainder(self, dtype: str, kind: str) -> int:
        """Output channels a partial channel tile costs as; 0: as a whole tile."""
        return self.channel_remainders.get(dtype, {}).get(kind, 0)

    def row_tile(self, dtype: str, kind: str) -> int:
        """Output rows the ``dtype`` ``kind`` kernel computes per pass; 1: rows not padded."""
        return self.row_tiles.get(dtype, {}).get(kind, 1)

    def weight_stream_rate(self, dtype: str, set_bytes: float, *, gemm_rows: bool = False) -> float | None:
        """Bytes/s for a graph of ``set_bytes`` packed weights: the measured curve interpolated
        log-log between its points, its end points' rates beyond them; None without a curve.
        ``gemm_rows``: for a GEMM over many rows, its own curve where measured."""
        curve = (self.conv_weight_stream.get(dtype) if gemm_rows else None) or self.weight_stream.get(dtype)
        return log_interpolate(curve, set_bytes)

    def indirection_ns_at(self, dtype: str, buffer_bytes: float) -> float | None:
        """ns per output position x tap of an IGEMM's indirection walk, for a buffer that size
        (``indirection_ns``, interpolated as ``weight_stream``); None without a curve."""
        return log_interpolate(self.indirection_ns.get(dtype), buffer_bytes)

    def depthwise_factor(self, dtype: str, set_bytes: float) -> float:
        """``depthwise_set_factor`` at a per-output set of ``set_bytes``, interpolated; 1 without a curve."""
        return log_interpolate(self.depthwise_set_factor.get(dtype), set_bytes) or 1.0

    def batched_factor(self, dtype: str, input_bytes: float) -> float:
        """``batched_set_factor`` at ``input_bytes``, interpolated; 1 below it and without a curve."""
        curve = self.batched_set_factor.get(dtype)
        return log_interpolate(curve, input_bytes) if curve and input_bytes > curve[0][0] else 1.0

    def hot_weight_rate(self, dtype: str) -> float | None:
        """Bytes/s of weights hot in the core's private cache: the curve's smallest set (its rate
        is what the kernel terms were measured at); a dtype without a curve of its own (an int64
        or fp16 op's constants) the float32 curve's; None without either."""
        curve = self.weight_stream.get(dtype) or self.weight_stream.get("float32")
        return curve[0][1] if curve else None

    def rnn_ps_per_mac(self, op_type: str, macs_per_step: float) -> float | None:
        """ps per MAC of this runtime's ``op_type`` recurrent kernel at ``macs_per_step`` (its
        measured widths interpolated log-log, the end points' beyond); None when not measured."""
        return log_interpolate(self.rnn_steps.get(op_type), macs_per_step)

    def unaligned(self, dtype: str, kind: str, in_channels: int, out_channels: int, groups: int = 1,
                  nchwc_rows: int = 0) -> bool:
        """Whether a ``dtype`` conv of these (per-group input) channels misses the runtime's
        fast conv kernel: its symmetric int8 kernel (``symmetric_conv``), its NCHWc layout
        (``nchwc``, a dense or depthwise conv without ``nchwc_rows``: onnxruntime leaves a depthwise
        conv of channels off its block size in NCHW); False where neither is listed."""
        if dtype in self.nchwc and kind in ("conv", "pointwise", "depthwise") and groups == 1 and not nchwc_rows:
            return True
        rule = self.symmetric_conv.get(dtype)
        if not rule or out_channels <= 0:
            return False
        if kind == "depthwise":
            return out_channels % rule.get("depthwise_channel_multiple", 1) != 0
        if kind not in ("conv", "pointwise") or groups > 1 or in_channels <= 0:
            return False
        return (in_channels % rule.get("input_channel_multiple", 1) != 0
                or out_channels % rule.get("output_channel_multiple", 1) != 0
                or out_channels < rule.get("min_output_channels", 0))

    def io_us(self, inputs: int, outputs: int) -> float:
        """What ``inputs`` fed and ``outputs`` fetched cost an invoke beyond the empty file's (EMPTY_FILE_IO):
        ``feed_us`` / ``fetch_us`` for each more, less for each fewer."""
        empty_inputs, empty_outputs = EMPTY_FILE_IO
        return (inputs - empty_inputs) * self.feed_us + (outputs - empty_outputs) * self.fetch_us

    def invoke_us(self, inputs: int, outputs: int) -> float:
        """One invoke of a graph of ``inputs`` fed and ``outputs`` fetched: ``invoke_overhead_us`` (the empty
        file's) and ``io_us``."""
        return max(self.invoke_overhead_us + self.io_us(inputs, outputs), 0.0)

    def graph_call_us(self, op) -> float:
        """What a node of ``op``'s costs in a graph beyond its single-op file: a recurrent op's call
        (``rnn_call_us``), a dense fp32 conv onnxruntime runs in its generic kernel (``conv_call_us``)."""
        if op.op_type in ("GRU", "LSTM", "RNN"):
            return self.rnn_call_us
        generic = (op.op_type in ("Conv", "FusedConv") and not op.nchwc_rows and op.groups == 1
                   and op.kind in ("conv", "pointwise") and op.compute_dtype == "float32")
        return self.conv_call_us if generic else 0.0

    def kernel_terms(self, dtype: str, op_type: str, kind: str, taps: int = 0,
                     grouped: bool = False, unaligned: bool = False, variant: str = "") -> KernelTerms | None:
        """The measured terms of the kernel running a ``dtype`` ``op_type`` op: a grouped conv's
        (``conv_grouped``: one small GEMM per group), a conv's that misses the runtime's fast
        kernel (``unaligned``: ``conv_unaligned``), else by its type, else its kind with its
        filter taps (``depthwise_taps49``: XNNPACK runs a 7x7 depthwise with a multipass kernel,
        ~10x slower per MAC than its 3x3 and 5x5 ones), else its kind."""
        table = self.kernels.get(dtype)
        if not table:
            return None
        keys = kernel_term_keys(op_type, kind, taps, grouped, unaligned, variant)
        return next((table[key] for key in keys if key in table), None)


RUNTIME_COST_KEYS = ("dispatch_overhead_us", "invoke_overhead_us", "rnn_step_us", "rnn_call_us", "conv_call_us",
                     "feed_us", "fetch_us", "rnn_efficiency", "rnn_steps",
                     "efficiency",
                     "kernels", "transpose_element_ns", "subnormal_vector_ns", "inplace_run_ns", "learned_branches",
                     "l1_ways", "int8_pair_factors", "parallel", "in_place", "nchwc", "whole_row_tiles", "whole_rows_from",
                     "separate_clamps", "warm_tree_revisits", "task_weight_reads",
                     *RUNTIME_CURVES,
                     *PER_KIND_TABLES)
PARALLEL_KEYS = ("efficiency", "sync_us")
PARALLEL_OPTIONAL = ("step_sync_us", "serial", "nchwc_block", "stripe", "kinds", "handoff_us", "step_split_macs", "pairs")


def frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping if isinstance(mapping, MappingProxyType) else MappingProxyType(dict(mapping))


def sorted_items(mapping: Mapping[str, Any]) -> tuple:
    return tuple(sorted(mapping.items()))
