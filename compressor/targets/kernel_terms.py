"""One kernel's measured time as terms, and the keys a runtime's terms are looked up by
(``types.RuntimeCost.kernel_terms``; ``scripts/fit_kernel_rates.py`` fits them under the same names)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

__all__ = ["KERNEL_TERM_KEYS", "OWN_KERNEL", "SAME_KERNEL", "SYMMETRIC_CONV_KEYS", "KernelTerms", "kernel_op_type", "kernel_term_keys",
           "log_interpolate"]


@dataclass(frozen=True)
class KernelTerms:
    """One kernel's time as measured terms (``scripts/fit_kernel_rates.py``, non-negative least
    squares on the microbenchmarks' relative errors): picoseconds per (output-channel padded)
    MAC, per byte read from activations, per weight byte, per byte written, plus a fixed cost.
    A GEMM with 3 input channels writes as many bytes per MAC as one with 256 does 85x fewer
    of: one efficiency per family cannot say both, these terms can.  ``call_ns``: per call of
    the kernel's inner loop, where an op makes more than one (``Op.kernel_calls``: XNNPACK's
    binary element-wise kernel runs once per innermost run of a broadcasting op).  ``tap_ns``: per
    output position x filter tap of a conv or depthwise conv (``cost.tiles.tap_pairs``: MLAS int8's
    pointer walk, XNNPACK's fp32 depthwise indirection).  ``pass_ps``: per input value, filter tap
    and pass over a set of output channels (``cost.tiles.filter_set_passes``: MLAS's NCHWc conv
    broadcasts each input value to at most 4 blocks of 16 output channels at once).  ``miss_ns``: per
    element whose branch the kernel mispredicts (``Op.sign_misses``: onnxruntime's PRelu branches on
    each element's sign, so the values it is fed set its time).  ``step_ns``: per k step of a GEMM
    microkernel call over one row (``cost.tiles.one_row_steps``: XNNPACK's 1x32 / 1x16 fp32 kernel
    chains one FMA per step into each accumulator, so a [1, 4096] -> 1 FC takes what -> 16 does).
    ``stream_reach``: not a time but the fraction of the CPU's element-wise stream rate the kernel
    reaches where its bytes overflow the private cache (``cost.caches.stream_floor_s``: onnxruntime's
    NCHWc reorders gather or scatter 16 channel planes per block, ~0.5 of it); 0: the whole rate."""

    mac_ps: float = 0.0
    in_byte_ps: float = 0.0
    weight_byte_ps: float = 0.0
    out_byte_ps: float = 0.0
    fixed_us: float = 0.0
    call_ns: float = 0.0
    tap_ns: float = 0.0
    pass_ps: float = 0.0
    miss_ns: float = 0.0
    step_ns: float = 0.0
    stream_reach: float = 0.0

    def seconds(self, padded_macs: float, input_bytes: int, weight_bytes: int, output_bytes: int,
                calls: int = 0, taps: int = 0, passes: float = 0.0, misses: float = 0.0,
                steps: float = 0.0) -> tuple[float, float]:
        """(MAC and one-row step part, byte, call, tap and fixed part) of the kernel's time, in seconds."""
        macs = (self.mac_ps * padded_macs + self.pass_ps * passes) * 1e-12 + self.step_ns * steps * 1e-9
        rest = ((self.in_byte_ps * input_bytes + self.weight_byte_ps * weight_bytes + self.out_byte_ps * output_bytes)
                * 1e-12 + (self.call_ns * calls + self.tap_ns * taps + self.miss_ns * misses) * 1e-9 + self.fixed_us * 1e-6)
        return macs, rest


KERNEL_TERM_KEYS = ("mac_ps", "in_byte_ps", "weight_byte_ps", "out_byte_ps", "fixed_us", "call_ns", "tap_ns",
                    "pass_ps", "miss_ns", "step_ns", "stream_reach")
# What a runtime's symmetric int8 conv kernel takes (``RuntimeCost.symmetric_conv``; cost/latency.py).
SYMMETRIC_CONV_KEYS = ("input_channel_multiple", "output_channel_multiple", "min_output_channels",
                       "depthwise_channel_multiple")


# Op types a runtime runs with another's kernel, or whose work is another's: MediaPipe's custom
# transposed conv is XNNPACK's deconvolution, as TRANSPOSE_CONV is; SLICE is its static slice, as
# STRIDED_SLICE is; a resource variable's read or write is one contiguous copy, a slice's work; an
# ONNX MatMul (QLinearMatMul) by a constant weight (``Op.variant`` "gemm", by its own name)
# onnxruntime's Gemm (QGemm); an STFT its DFT's transform, one a frame (graph/onnx_ops.py); an
# SVMRegressor the SVMClassifier's kernel (svmclassifier.h batched_kernel_dot, by its kernel type).
SAME_KERNEL = {"Convolution2DTransposeBias": "TRANSPOSE_CONV", "SLICE": "STRIDED_SLICE",
               "READ_VARIABLE": "STRIDED_SLICE", "ASSIGN_VARIABLE": "STRIDED_SLICE", "MatMul_gemm": "Gemm",
               "QLinearMatMul_gemm": "QGemm", "TreeEnsembleClassifier": "TreeEnsembleRegressor",
               "TreeEnsemble": "TreeEnsembleRegressor", "STFT": "DFT", "SVMRegressor": "SVMClassifier"}

# Op types of a MAC kind that run another operator than the kind's: XNNPACK's deconvolution for a
# TRANSPOSE_CONV, onnxruntime's GEMM + col2im for a ConvTranspose, its transposes + batched GEMMs for
# an Einsum, its block-quantized weight kernels for a MatMulNBits (by its variant: bits, compute type).
# Their own terms only (the fit keeps them out of the kind's, unaligned's and grouped's).
OWN_KERNEL = frozenset({"TRANSPOSE_CONV", "ConvTranspose", "Einsum", "MatMulNBits"})


def kernel_term_keys(op_type: str, kind: str, taps: int = 0, grouped: bool = False,
                     unaligned: bool = False, variant: str = "") -> tuple[str, ...]:
    """The keys a runtime's kernel terms are looked up by, in order (``RuntimeCost.kernel_terms``;
    scripts/fit_kernel_rates.py fits them under the same names).  An op run by another kernel of
    its type (``Op.variant``: an ONNX nearest ``Resize``, an int8 BATCH_MATMUL XNNPACK takes) first
    by its own (``Resize_nearest``, ``BATCH_MATMUL_xnnpack``), then as its op type.  An ``OWN_KERNEL`` op type (by its
    variant's first, ``ConvTranspose_grouped``) by its
    own terms alone, else its kind's."""
    if kernel_op_type(op_type, variant) in SAME_KERNEL:  # a variant another op type's kernel runs
        op_type, variant = SAME_KERNEL[kernel_op_type(op_type, variant)], ""
    op_type = SAME_KERNEL.get(op_type, op_type)
    if op_type in OWN_KERNEL:  # its variant's own terms first (a grouped ConvTranspose), then the op type's
        return ((kernel_op_type(op_type, variant),) if variant else ()) + (op_type, kind)
    own = (kernel_op_type(op_type, variant),) if kernel_op_type(op_type, variant) != op_type else ()
    # an unaligned conv of a variant of its own (a 1-D depthwise one: "1d") first by that variant's terms
    unaligned_keys = (((f"{kind}_unaligned_{variant}",) if variant else ()) + (f"{kind}_unaligned",)) if unaligned else ()
    return ((f"{kind}_grouped",) if grouped else ()) + unaligned_keys + own + \
        (op_type,) + ((f"{kind}_taps{taps}",) if taps else ()) + (kind,)


def kernel_op_type(op_type: str, variant: str = "") -> str:
    """The name an op's own kernel terms take: its op type, with its ``Op.variant`` where it has one
    (``Resize_nearest``, ``BATCH_MATMUL_xnnpack``) other than a resize's "linear", the one its op
    type's were timed with, and "serial", which says only that the runtime keeps it on one thread."""
    return f"{op_type}_{variant}" if variant and variant not in ("linear", "serial") else op_type


def log_interpolate(curve, x: float) -> float | None:
    """A measured curve ((x, y), ...) with x ascending, interpolated log-log at ``x``; its end
    points' y beyond its ends; None without a curve."""
    if not curve:
        return None
    if x <= curve[0][0]:
        return curve[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(curve):
        if x <= x1:
            f = math.log(x / x0) / math.log(x1 / x0)
            return math.exp(math.log(y0) + f * (math.log(y1) - math.log(y0)))
    return curve[-1][1]
