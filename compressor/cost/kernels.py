"""Will this accelerate?  Where each op really runs on a target, what that costs, and why.

``check_kernels(graph, profile)`` is pure: for every op of the IR it decides
where the op runs and costs it there with the usual per-op models (``latency``, ``energy``),
listing a ``KernelWarning`` for every op the target cannot run at full speed:

* **unsupported op** (``accelerator.supported_ops`` of an NPU profile does not list the
  TFLite op type): it falls back to the host CPU and is costed on ``profile.fallback`` (the
  profile named by ``accelerator.fallback_target``), else on the target itself;
* **float op** on a target with ``compute.float_allowed = false``: on an NPU it falls back
  to the CPU like an unsupported op (Vela leaves every float op on the CPU); on an MCU it
  runs in float on the core, costed at the profile's float rate when it has one.  The
  float QUANTIZE/DEQUANTIZE at a model's float inputs and outputs count only on an NPU
  (they leave it); on an MCU they are the normal way in and out;
* **channel count off the kernel's tile** (``compute.channel_tiles`` / ``channel_multiple``):
  the kernels compute output channels a tile at a time (XNNPACK's GEMM/IGEMM micro-kernels
  NR output channels per pass, its depthwise kernels a channel tile), so the op's compute is
  costed as ``latency.padded_macs`` (output channels rounded up to the tile, once).  Input
  channels are NOT padded: XNNPACK's fp32 IGEMM broadcasts one input value per kernel tap
  (KR = 1), and a blanket rule padding both sides costed a 1-in/1-out conv at 256x its MACs.
  The op keeps its real MACs; the warning gives the padded figure;
* **int8 ops on LiteRT's own kernels** (CPU targets, once per op type): those XNNPACK does not take
  run slower than the same ops in float; named where the profile's own measured terms say
  ``SLOW_INT8`` times or more (DenseNet-121's int8 RELUs 51x on the Zen 4), and LiteRT's int8 DIV,
  its reference kernel (17 ns per element on an EPYC Zen 4, its float DIV 15 ps per byte:
  scripts/data/host-x86-kernels-elementwise-zen4.json), on any CPU target;
* **sparsity** no kernel uses: the IR does not record zero weights yet, so not checked.

A cost that cannot be made (the op's dtype has no rate on any profile that could run it)
gives latency 0 and a warning saying so, never a made-up number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ..errors import TargetError
from ..graph.ir import COMPUTE_KINDS, Graph, Op
from ..graph.ort_kernels import BROADCAST_OPERANDS
from ..targets.kernel_terms import kernel_op_type
from ..targets.types import TargetProfile
from .caches import packed_weight_bytes, weight_sets
from .energy import estimate_op_energy_mj
from .latency import as_run_kind, estimate_op_latency, padded_macs
from .tiles import UNTILED_OP_TYPES, op_channel_tile, subnormal_assist_s, tap_pairs

__all__ = ["KernelReport", "KernelWarning", "PlacedOp", "check_kernels", "is_float_model", "packed_weight_bytes",
           "place_on_cpu"]

_MS_PER_S = 1e3
WARNING_KINDS = ("unsupported_op", "float_op", "channel_multiple", "not_costed", "reference_kernel", "int8_pair",
                 "subnormal_weights", "broadcast_spans")


@dataclass(frozen=True)
class KernelWarning:
    name: str  # the op's name (its first output tensor)
    op_type: str
    kind: str  # one of WARNING_KINDS
    reason: str
    # The node of the user's file it comes from, where the runtime renamed it (an .onnx op as
    # onnxruntime runs it: ort_names.py); "" = the name is the file's, or nothing in the file is.
    file_node: str = ""

    def __str__(self) -> str:
        where = f"{self.file_node!r}, run as {self.name}" if self.file_node else self.name
        return f"{self.op_type} ({where}): {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op_type, "name": self.name, "file_node": self.file_node or self.name,
                "kind": self.kind, "reason": self.reason}


@dataclass(frozen=True)
class PlacedOp:
    name: str
    op_type: str
    kind: str
    macs: int  # the op's real MACs (the padded compute is in latency_ms and the warning)
    compute_dtype: str
    runs_on: str  # the profile's name that runs it: the target, or its fallback CPU
    latency_ms: float
    bound: str
    energy_mj: float
    file_node: str | None = None  # the user's file's node (KernelWarning.file_node); "" = inserted by the runtime

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op_type, "name": self.name, "file_node": self.name if self.file_node is None else (self.file_node or None),
                "kind": self.kind, "macs": int(self.macs),
                "dtype": self.compute_dtype, "runs_on": self.runs_on, "latency_ms": float(self.latency_ms),
                "bound": self.bound}


@dataclass(frozen=True)
class KernelReport:
    ops: tuple[PlacedOp, ...]
    warnings: tuple[KernelWarning, ...]
    target: str
    invoke_ms: float = 0.0  # the runtime's fixed cost per inference (compute.runtimes[format])

    @property
    def latency_ms(self) -> float:
        return sum(op.latency_ms for op in self.ops) + self.invoke_ms

    @property
    def energy_mj(self) -> float:
        return sum(op.energy_mj for op in self.ops)

    @property
    def fallback_ops(self) -> tuple[PlacedOp, ...]:
        return tuple(op for op in self.ops if op.runs_on != self.target)


def is_float_model(graph: Graph) -> bool:
    """True when the graph computes in float: it has MAC ops and none of them is integer."""
    compute = [op for op in graph.ops if op.macs]
    return bool(compute) and all(_is_float_dtype(op.compute_dtype) for op in compute)


def check_kernels(graph: Graph, profile: TargetProfile) -> KernelReport:
    """Place and cost every op of ``graph`` on ``profile`` (see the module docstring)."""
    accelerator, fallback = profile.accelerator, profile.fallback
    supported = frozenset(accelerator.supported_ops) if accelerator is not None else None
    float_allowed = profile.compute.float_allowed
    cpu_name = fallback.name if fallback is not None else None
    placed, warnings = [], []
    weight_set, walk_set = weight_sets(graph), indirection_bytes(graph)

    def warn(op: Op, kind: str, reason: str) -> None:
        warnings.append(KernelWarning(op.name, op.op_type, kind, reason))

    for index, op in enumerate(graph.ops):
        runner = profile
        leaves = "falls back to the CPU" + (f", costed on {cpu_name}" if cpu_name else
                                            " (no fallback_target: costed on the target)")
        if supported is not None and op.op_type not in supported:
            warn(op, "unsupported_op", f"not an op {profile.name} runs; {leaves}")
            runner = fallback or profile
        elif not float_allowed and _computes_in_float(op, graph, on_npu=supported is not None):
            if supported is not None:
                warn(op, "float_op", f"computes in float; {profile.name} runs integer ops only, so it {leaves}")
                runner = fallback or profile
            else:
                warn(op, "float_op", f"computes in {op.compute_dtype} on {profile.name}, whose kernels are "
                                     "integer: it runs without the integer kernels' speed")
        op = as_run_kind(op, runner, graph.format)  # as its kernels run it (a 1-channel depthwise: XNNPACK's conv)
        _note_channel_tile(op, runner, graph.format, warn)
        _note_subnormals(op, runner, graph.format, warn)
        _note_broadcast_spans(op, graph, runner, warn)
        _note_uncosted_trees(op, runner, graph.format, warn)
        placed.append(_cost(op, runner, profile, fallback, warn, graph.format, weight_set[index], walk_set))
    _note_int8_pairs(graph, warn)
    _note_reference_kernels(graph, profile, warn)
    _note_asymmetric_matmuls(graph, profile, warn)
    _note_computed_output_shapes(graph, profile, warn)
    invoke_ms = profile.compute.runtime_cost(graph.format).invoke_us(len(graph.inputs), len(graph.outputs)) * 1e-3
    return KernelReport(ops=tuple(placed), warnings=tuple(warnings), target=profile.name, invoke_ms=invoke_ms)


def place_on_cpu(report: KernelReport, graph: Graph, profile: TargetProfile, reasons: dict[str, str]) -> KernelReport:
    """``report`` with the ops named in ``reasons`` (op name -> why, e.g. Vela's words) re-costed
    on the target's fallback CPU (on the target itself when it has none), each with a warning."""
    fallback = profile.fallback or profile
    by_name = {op.name: op for op in graph.ops}
    placed, warnings = [], list(report.warnings)
    weight_set, walk_set = dict(zip((op.name for op in graph.ops), weight_sets(graph))), indirection_bytes(graph)

    def warn(op: Op, kind: str, reason: str) -> None:
        warnings.append(KernelWarning(op.name, op.op_type, kind, reason))

    for done in report.ops:
        op = by_name.get(done.name)
        if op is None or done.name not in reasons or done.runs_on == fallback.name:
            placed.append(done)
            continue
        warn(op, "unsupported_op", f"{profile.name} cannot run it ({reasons[done.name]}): costed on {fallback.name}")
        placed.append(_cost(op, fallback, profile, profile.fallback, warn, graph.format, weight_set[op.name], walk_set))
    return KernelReport(ops=tuple(placed), warnings=tuple(warnings), target=report.target, invoke_ms=report.invoke_ms)


# ---------------------------------------------------------------------------- helpers


def _is_float_dtype(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat"))


def _computes_in_float(op: Op, graph: Graph, *, on_npu: bool) -> bool:
    if op.kind == "quantize":
        # The float boundary of a model with float I/O: it leaves an NPU, but it is how an
        # MCU model normally takes its input.
        return on_npu and any(_is_float_dtype(graph.tensors[i].dtype) for i in (*op.inputs, *op.outputs)
                              if not graph.tensors[i].is_constant)
    return _is_float_dtype(op.compute_dtype)


def _note_channel_tile(op: Op, runner: TargetProfile, fmt: str, warn) -> None:
    if (op.kind not in COMPUTE_KINDS or not op.macs or op.out_channels <= 0
            or kernel_op_type(op.op_type, op.variant) in UNTILED_OP_TYPES):
        return
    costs = runner.compute.runtimes.get(fmt)  # the runtime's own tile where it lists one, as the cost takes it
    tile = (op_channel_tile(op, runner.compute, costs) if costs is not None
            else runner.compute.channel_tile_of(op.compute_dtype, op.kind))
    if tile <= 1 or op.out_channels % tile == 0:
        return
    padded = padded_macs(op, tile)
    warn(op, "channel_multiple", f"{op.out_channels} output channels, not a multiple of {tile} on {runner.name}: "
                                 f"the kernels compute {math.ceil(op.out_channels / tile) * tile} per pass, so its "
                                 f"compute is costed as {padded:,.0f} MACs for its {op.macs:,} real ones")


def _note_int8_pairs(graph: Graph, warn) -> None:
    """Once per graph: its QLinearConvs that run MLAS's u8u8 or s8s8 kernels, its ConvIntegers, its
    TFLite convs of uint8 weights (LiteRT's own kernels), and the remedy."""
    for pair, slower in (("s8s8", "15-22x slower on dense convs"), ("u8u8", "3-4x slower on dense convs")):
        ops = [op for op in graph.ops if op.int8_pair == pair]
        if ops:
            warn(ops[0], "int8_pair", f"{len(ops)} QLinearConv op(s) run onnxruntime's {pair} kernels (a QOperator or "
                                      f"uint8-weight file), on x86 {slower} than its u8s8 ones: quantize as QDQ "
                                      "with int8 weights (onnxruntime then runs u8s8; compress's ONNX route writes that)")
    for pair, what in (("uint8", "TF1-style uint8"), ("hybrid_u8", "dynamic-range (float activations, uint8 weights)")):
        ops = [op for op in graph.ops if op.int8_pair == pair]
        if ops:
            warn(ops[0], "int8_pair", f"{len(ops)} {what} conv / FC op(s): XNNPACK takes int8, not uint8, so LiteRT runs "
                                      "its own kernels, 3-7x XNNPACK's int8 time per MAC on x86: quantize to int8 "
                                      "(compress's int8 pass writes that)")
    dynamic = [op for op in graph.ops if op.int8_pair.startswith("integer_")]
    if dynamic:
        warn(dynamic[0], "int8_pair", f"{len(dynamic)} ConvInteger op(s) (a dynamically quantized file) run im2col + "
                                      "onnxruntime's QGEMM, on x86 2.5-25x slower than its u8s8 QLinearConv: quantize "
                                      "statically as QDQ with int8 weights (compress's ONNX route writes that)")


# LiteRT's int8 ops XNNPACK does not take, which run a per-element reference kernel: op type ->
# what one element costs, as measured (microbench_kernels.py's more_elementwise family).  Said on
# every CPU target; where the profile has the runtime's own int8 and float terms for the op type,
# the measured ratio is said instead (and for any such op, ``SLOW_INT8``).
_REFERENCE_INT8 = {"DIV": "its reference kernel, ~17 ns per element on an EPYC Zen 4, ~1,100x its float DIV"}
# Int8 ops without MACs this many times slower than the same ops in float, by the profile's own
# measured terms (a quarter of the bytes should make them faster), and together at least this
# long, are named.
SLOW_INT8, SLOW_INT8_MS = 4.0, 0.01
# What makes such an op fast again, beyond keeping it float.
_REMEDY = {"DIV": "multiply by a constant divisor's reciprocal",
           "RELU": "let the conv before it take it (a ReLU after a BatchNorm after the conv stays apart)",
           "RELU6": "let the conv before it take it",
           "HARD_SWISH": "spell it x * relu6(x + 3) * (1/6), which XNNPACK runs (compress does, from PyTorch)"}


def _note_reference_kernels(graph: Graph, profile: TargetProfile, warn) -> None:
    """Once per op type: a LiteRT graph's int8 ops that run a slow kernel of LiteRT's own on a CPU
    target, what they cost, and the remedy."""
    if graph.format != "tflite" or profile.kind != "cpu":
        return
    kernels = profile.compute.runtime_cost(graph.format).kernels
    slow: dict[str, list[tuple[Op, float, float]]] = {}
    for op in graph.ops:
        if op.compute_dtype != "int8" or op.macs:
            continue
        if op.op_type in kernels.get("int8", {}) and op.op_type in kernels.get("float32", {}):
            as_float = replace(op, compute_dtype="float32", input_bytes=4 * op.input_bytes,
                               output_bytes=4 * op.output_bytes, weight_bytes=4 * op.weight_bytes)
            int8_s = estimate_op_latency(op, profile, runtime=graph.format).latency_s
            float_s = estimate_op_latency(as_float, profile, runtime=graph.format).latency_s
            if float_s > 0 and int8_s >= SLOW_INT8 * float_s:
                slow.setdefault(op.op_type, []).append((op, int8_s, float_s))
        elif op.op_type in _REFERENCE_INT8:
            slow.setdefault(op.op_type, []).append((op, 0.0, 0.0))
    for op_type, found in slow.items():
        int8_ms, float_ms = (sum(f[i] for f in found) * _MS_PER_S for i in (1, 2))
        measured = op_type not in _REFERENCE_INT8 or float_ms > 0
        if measured and int8_ms < SLOW_INT8_MS:
            continue
        cost = (f"{int8_ms:.3g} ms of the estimate, {int8_ms / float_ms:.0f}x the same ops in float on {profile.name} "
                "(its measured terms)" if measured else _REFERENCE_INT8[op_type])
        warn(found[0][0], "reference_kernel", f"{len(found)} int8 {op_type} op(s) run a kernel of LiteRT's own, not "
                                              f"XNNPACK's: {cost}; keep them float (compress --float-ops)"
                                              + (f", or {_REMEDY[op_type]}" if op_type in _REMEDY else ""))


def _note_asymmetric_matmuls(graph: Graph, profile: TargetProfile, warn) -> None:
    """A LiteRT graph's int8 BATCH_MATMULs XNNPACK leaves to LiteRT's reference kernel on a CPU
    target (``Op.variant`` "": a right-hand zero point other than 0, graph/tflite_kernels.py):
    what they cost, what they would with it 0 where the profile has those terms, the remedy."""
    if graph.format != "tflite" or profile.kind != "cpu":
        return
    found = [op for op in graph.ops
             if op.op_type == "BATCH_MATMUL" and op.compute_dtype == "int8" and op.macs and not op.variant]
    if not found:
        return

    now, fast = _ms(found, profile, graph.format), _ms([replace(op, variant="xnnpack") for op in found], profile, graph.format)
    cost = (f"{now:.3g} ms of the estimate, {fast:.3g} ms with it 0 (the profile's measured terms)" if fast < now
            else f"{now:.3g} ms of the estimate; XNNPACK's kernel ran them 14-18x faster on an EPYC Zen 4")
    warn(found[0], "reference_kernel", f"{len(found)} int8 BATCH_MATMUL op(s) run LiteRT's reference kernel, not "
                                       f"XNNPACK's, which takes only a right-hand zero point of 0: {cost}; quantize "
                                       "that operand symmetric (compress's int8 pass does)")


def _note_computed_output_shapes(graph: Graph, profile: TargetProfile, warn) -> None:
    """A LiteRT graph's TRANSPOSE_CONVs whose output shape the graph computes (``Op.variant``
    "dynamic": a converter's, of a dynamic dim), which XNNPACK's delegate does not take on a CPU
    target: LiteRT's own kernel runs them.  What they cost, what XNNPACK's would, the remedy."""
    if graph.format != "tflite" or profile.kind != "cpu":
        return
    found = [op for op in graph.ops if op.op_type == "TRANSPOSE_CONV" and op.variant == "dynamic" and op.macs]
    if found:
        now, fast = _ms(found, profile, graph.format), _ms([replace(op, variant="") for op in found], profile, graph.format)
        warn(found[0], "reference_kernel", f"{len(found)} TRANSPOSE_CONV op(s) take an output shape the graph computes, "
                                           f"which XNNPACK does not: LiteRT's own kernel runs them, {now:.3g} ms of the "
                                           f"estimate ({fast:.3g} ms by XNNPACK's); convert the model at a fixed input "
                                           "size, so that their output shapes are constants")


def _note_uncosted_trees(op: Op, runner: TargetProfile, fmt: str, warn) -> None:
    """A tree ensemble on a profile with no measured walk rate (``tree_visit_ns``: onnxruntime's tree
    kernels were timed on an EPYC Zen 4 alone): its walks are not in the estimate, which says so
    rather than pass off its bytes' cost (~0) as its time."""
    if op.tree_nodes and not runner.compute.runtime_cost(fmt).tree_visit_ns.get(op.compute_dtype):
        warn(op, "not_costed", f"{runner.name} has no measured rate for tree walks (onnxruntime's tree ensembles were "
                               f"timed on an EPYC Zen 4 only): its {op.kernel_calls:,} node visits are not in the "
                               "estimate")


def _ms(ops, profile: TargetProfile, runtime: str) -> float:
    return sum(estimate_op_latency(o, profile, runtime=runtime).latency_s for o in ops) * _MS_PER_S


def _note_subnormals(op: Op, runner: TargetProfile, runtime: str, warn) -> None:
    """Subnormal weights where the runtime pays for them (``subnormal_vector_ns``): what they
    cost and the remedy, flushing them to zero, which no output can tell."""
    extra_ms = subnormal_assist_s(op, runner.compute.runtime_cost(runtime)) * 1e3 if op.subnormal_vectors else 0.0
    if not extra_ms:
        return
    warn(op, "subnormal_weights", f"{op.subnormal_vectors:,} of its 16-wide weight vectors hold subnormal floats "
                                  f"(0 < |w| < 1.2e-38): each multiply by one takes a microcode assist on "
                                  f"{runner.name}, +{extra_ms:.3g} ms; flush them to zero (the outputs cannot tell)")


def _note_broadcast_spans(op: Op, graph: Graph, runner: TargetProfile, warn) -> None:
    """An onnxruntime binary op its Broadcaster walks in many short spans (``Op.kernel_calls``,
    each ``call_ns``) where that costs 20 us or more: what it costs, why, and the remedy."""
    pair = BROADCAST_OPERANDS.get(op.op_type)
    if graph.format != "onnx" or not pair or not op.kernel_calls or max(pair) >= len(op.inputs):
        return
    terms = runner.compute.runtime_cost(graph.format).kernel_terms(op.compute_dtype, op.op_type, op.kind)
    extra_ms = op.kernel_calls * terms.call_ns * 1e-6 if terms is not None else 0.0
    if extra_ms < 0.02:
        return
    shapes = [graph.tensors[op.inputs[j]].shape or () for j in pair]
    span = math.prod(graph.tensors[op.outputs[0]].shape or (0,)) // op.kernel_calls if op.outputs else 0
    remedy = ("give the smaller operand the other's rank (a scalar as [1, 1, 1, 1])" if len({len(s) for s in shapes}) > 1
              or min(math.prod(s) for s in shapes) == 1 else
              "a constant operand expanded to the output's full shape runs as one span")
    warn(op, "broadcast_spans", f"onnxruntime broadcasts {' and '.join(str(list(s)) for s in shapes)} as "
                                f"{op.kernel_calls:,} spans of {span} element(s), ~{terms.call_ns:.2g} ns of loop each "
                                f"on {runner.name}: +{extra_ms:.3g} ms; {remedy}")


def indirection_bytes(graph: Graph) -> int:
    """The IGEMM indirection buffers an inference walks: every conv's own, 8 bytes per output
    position x filter tap (``latency.indirection_s``; basic-pitch's eight 256-tap 1-D convs hold
    89 MB, whose first three run 1.2 + 2.9 ms as two segments and 12.4 ms as one)."""
    return sum(tap_pairs(op) * 8 for op in graph.ops if op.kind == "conv")


def _cost(op: Op, runner: TargetProfile, profile: TargetProfile, fallback: TargetProfile | None, warn,
          runtime: str | None = None, weight_set: int = 0, walk_set: int = 0) -> PlacedOp:
    candidates = [runner] + [p for p in (profile, fallback) if p is not None and p is not runner]
    for candidate in candidates:
        if op.macs and op.compute_dtype not in candidate.compute.macs_per_cycle:
            continue
        try:
            latency = estimate_op_latency(op, candidate, runtime=runtime, weight_set_bytes=weight_set,
                                          indirection_set_bytes=walk_set)
            energy = estimate_op_energy_mj(op, latency, candidate)
        except TargetError:
            continue
        if candidate is not runner:
            warn(op, "not_costed", f"{runner.name} has no {op.compute_dtype} rate: costed on {candidate.name}")
        return PlacedOp(op.name, op.op_type, op.kind, op.macs, op.compute_dtype, runner.name,
                        latency.latency_s * _MS_PER_S, latency.bound, energy)
    warn(op, "not_costed", f"no profile that could run it has a {op.compute_dtype} rate: latency not counted")
    return PlacedOp(op.name, op.op_type, op.kind, op.macs, op.compute_dtype, runner.name, 0.0, "unknown", 0.0)
