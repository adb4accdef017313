"""A .tflite's batch set with --input-shape reaches every tensor: LiteRT's default delegate
(XNNPACK) left the inner tensors at the file's batch 1 when it took the whole graph, so an MLP
resized to batch 64 was costed as batch 1 with no word said.  Able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from compressor.graph.read import read_graph

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk


def _mlp(path: Path) -> Path:
    b = mk._TfliteBuilder()
    x, h, y = b.tensor((1, 16)), b.tensor((1, 32)), b.tensor((1, 8))
    for index in (x, h, y):  # a dynamic batch, as converters write it
        b.tensors[index].shapeSignature = [-1, *b.tensors[index].shape[1:]]
    for src, dst, n_in, n_out in ((x, h, 16, 32), (h, y, 32, 8)):
        w = b.tensor((n_out, n_in), mk.RNG.standard_normal((n_out, n_in)))
        b.op("FULLY_CONNECTED", [src, w, b.tensor((n_out,), np.zeros(n_out))], [dst], "FullyConnectedOptions",
             b.s.FullyConnectedOptionsT())
    b.save(path, [x], [y])
    return path


def test_a_batch_set_on_the_input_reaches_every_op(tmp_path):
    path = _mlp(tmp_path / "mlp.tflite")
    one = [op.macs for op in read_graph(path).ops if op.macs]
    sixty_four = [op.macs for op in read_graph(path, input_shapes=((64, 16),)).ops if op.macs]
    assert one == [16 * 32, 32 * 8]
    assert sixty_four == [64 * 16 * 32, 64 * 32 * 8]


def test_a_fixed_tflite_batch_is_resized_as_litert_does_and_said_so(tmp_path):
    """LiteRT resizes a fixed dim when asked (resize_tensor_input, strict=False): fractionalcover3
    runs its [1, 5] MLP over 65,536 pixels at once.  An .onnx keeps refusing (tests/graph/test_shapes.py)."""
    b = mk._TfliteBuilder()
    x, y = b.tensor((1, 5)), b.tensor((1, 32))
    b.op("FULLY_CONNECTED", [x, b.tensor((32, 5), mk.RNG.standard_normal((32, 5))), b.tensor((32,), np.zeros(32))], [y],
         "FullyConnectedOptions", b.s.FullyConnectedOptionsT())
    path = tmp_path / "fixed.tflite"
    b.save(path, [x], [y])
    graph = read_graph(path, input_shapes=((4096, 5),))
    assert [op.macs for op in graph.ops if op.macs] == [4096 * 5 * 32]
    assert any("resized to [4096, 5]" in note for note in graph.notes)


def test_a_tensor_allocation_leaves_at_the_files_size_is_sized_by_a_run(tmp_path):
    """A tensor LiteRT sizes only when it runs (the output of a RESHAPE to a computed shape, and all
    after it) keeps the file's size after allocating: claws-tokenizer's relational GCN gathered
    [78, 4, 128, 128] weights per edge and was costed as [1, 4, 128, 128], 78x too few bytes."""
    b = mk._TfliteBuilder()
    x, r, y = b.tensor((1, 16)), b.tensor((1, 16)), b.tensor((1, 8))
    shape, computed = b.tensor((2,), dtype="int32"), b.tensor((2,), dtype="int32")
    for index in (x, r, y):
        b.tensors[index].shapeSignature = [-1, *b.tensors[index].shape[1:]]
    options = b.s.ShapeOptionsT()
    options.outType = b.s.TensorType.INT32
    b.op("SHAPE", [x], [shape], "ShapeOptions", options)  # known when allocating; its maximum with 1s is not
    b.op("MAXIMUM", [shape, b.tensor((2,), np.ones(2), dtype="int32")], [computed])
    b.op("RESHAPE", [x, computed], [r], "ReshapeOptions", b.s.ReshapeOptionsT())
    b.op("FULLY_CONNECTED", [r, b.tensor((8, 16), mk.RNG.standard_normal((8, 16))), b.tensor((8,), np.zeros(8))], [y],
         "FullyConnectedOptions", b.s.FullyConnectedOptionsT())
    path = tmp_path / "computed.tflite"
    b.save(path, [x], [y])
    assert [op.macs for op in read_graph(path, input_shapes=((64, 16),)).ops if op.macs] == [64 * 16 * 8]
