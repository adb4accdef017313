"""A TFLite PAD as LiteRT runs it: XNNPACK folds a zero PAD into the VALID conv reading it, and
its own kernel writes one output row (the last axis) at a time."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

from compressor.cost.latency import estimate_op_latency
from compressor.graph.ir import pad_rows
from compressor.graph.read import read_graph
from compressor.targets.load import load_target


def _pad_then(path: Path, reader: str, padding: str = "VALID") -> None:
    """x 1x32x32x3 -> PAD 1 around H and W -> ``reader`` (a 3x3 conv to 8 channels, or a RELU)."""
    b = mk._TfliteBuilder(); s = b.s
    x = b.tensor((1, 32, 32, 3))
    pads = b.tensor((4, 2), [[0, 0], [1, 1], [1, 1], [0, 0]], dtype="int32")
    padded = b.tensor((1, 34, 34, 3))
    b.op("PAD", [x, pads], [padded], "PadOptions", s.PadOptionsT())
    if reader == "CONV_2D":
        w = b.tensor((8, 3, 3, 3), np.random.default_rng(0).standard_normal((8, 3, 3, 3)))
        bias = b.tensor((8,), np.zeros(8))
        side = 32 if padding == "VALID" else 34
        y = b.tensor((1, side, side, 8))
        o = s.Conv2DOptionsT(); o.padding = getattr(s.Padding, padding); o.strideH = o.strideW = 1
        o.dilationHFactor = o.dilationWFactor = 1
        b.op("CONV_2D", [padded, w, bias], [y], "Conv2DOptions", o)
    else:
        y = b.tensor((1, 34, 34, 3))
        b.op("RELU", [padded], [y])
    b.save(path, [x], [y])


def test_a_zero_pad_read_by_a_valid_conv_is_folded_into_it(tmp_path):
    folded, kept, same = tmp_path / "folded.tflite", tmp_path / "kept.tflite", tmp_path / "same.tflite"
    _pad_then(folded, "CONV_2D")
    _pad_then(kept, "RELU")
    _pad_then(same, "CONV_2D", padding="SAME")
    pad = lambda path: next(op for op in read_graph(path).ops if op.op_type == "PAD")
    assert pad(folded).pad_into_conv and not pad(kept).pad_into_conv and not pad(same).pad_into_conv
    cpu = load_target("host-x86")
    assert estimate_op_latency(pad(folded), cpu, runtime="tflite").latency_s == 0
    assert estimate_op_latency(pad(kept), cpu, runtime="tflite").latency_s > 0


def test_a_pad_writes_one_row_per_position_of_its_leading_axes():
    assert pad_rows((1, 230, 230, 3)) == 52_900 and pad_rows((1, 64, 4002)) == 64
    assert pad_rows((8,)) == 0 and pad_rows(None) == 0 and pad_rows((1, -1, 4)) == 0


def test_custom_ops_are_named_in_a_note_not_costed_silently(tmp_path):
    """MediaPipe's face_landmark_with_attention holds 11 custom ops LiteRT cannot run unregistered:
    the graph's notes name them and say how they are costed; MediaPipe's custom transposed conv,
    which XNNPACK runs as its deconvolution, is not among them."""
    b = mk._TfliteBuilder()
    x = b.tensor((1, 8, 8, 4))
    y = b.tensor((1, 8, 8, 4)); b.op("CUSTOM", [x], [y], custom="TransformLandmarks")
    z = b.tensor((1, 8, 8, 4)); b.op("CUSTOM", [y], [z], custom="TransformLandmarks")
    out = b.tensor((1, 8, 8, 4)); b.op("RELU", [z], [out])
    b.save(tmp_path / "custom.tflite", [x], [out])
    graph = read_graph(tmp_path / "custom.tflite")
    assert [op.op_type for op in graph.ops] == ["TransformLandmarks", "TransformLandmarks", "RELU"]
    assert any("2 custom op(s) (TransformLandmarks x2)" in note for note in graph.notes)
    b = mk._TfliteBuilder()
    x = b.tensor((1, 8, 8, 4)); y = b.tensor((1, 8, 8, 4)); b.op("RELU", [x], [y])
    b.save(tmp_path / "plain.tflite", [x], [y])
    assert not any("custom" in note for note in read_graph(tmp_path / "plain.tflite").notes)
