"""What the TFLite reader counts as an op's weights: what the runtime packs, not what the file stores."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk


def _conv(path: Path, *, fp16: bool) -> None:
    """x 16x16x8 -> 3x3 conv -> 16 channels, its filter stored fp16 behind a DEQUANTIZE (as
    MediaPipe's models are) or fp32."""
    b = mk._TfliteBuilder(); s = b.s
    x = b.tensor((1, 16, 16, 8))
    weights = np.random.default_rng(0).standard_normal((16, 3, 3, 8)).astype(np.float32)
    w = b.tensor(weights.shape, weights)
    if fp16:
        b.buffers[b.tensors[w].buffer].data = np.frombuffer(weights.astype(np.float16).tobytes(), np.uint8).tolist()
        b.tensors[w].type = s.TensorType.FLOAT16
        w32 = b.tensor(weights.shape)
        b.op("DEQUANTIZE", [w], [w32])
        w = w32
    y = b.tensor((1, 16, 16, 16))
    o = s.Conv2DOptionsT(); o.padding = s.Padding.SAME; o.strideH = o.strideW = 1
    b.op("CONV_2D", [x, w, b.tensor((16,), np.zeros(16))], [y], "Conv2DOptions", o)
    b.save(path, [x], [y])


def test_fp16_weights_count_as_the_fp32_the_runtime_packs(tmp_path):
    from compressor.graph.read import read_graph
    from compressor.measure.bench import open_invoker

    half, full = tmp_path / "fp16.tflite", tmp_path / "fp32.tflite"
    _conv(half, fp16=True)
    _conv(full, fp16=False)
    open_invoker(half, threads=1)()  # LiteRT runs it
    (conv,) = read_graph(half, as_run=True).ops  # the DEQUANTIZE folded away
    (reference,) = read_graph(full, as_run=True).ops
    assert conv.op_type == "CONV_2D" and conv.macs == reference.macs
    assert conv.weight_bytes == reference.weight_bytes == 4 * 16 * 3 * 3 * 8 + 4 * 16
    assert half.stat().st_size < full.stat().st_size  # while the file stores half of it
