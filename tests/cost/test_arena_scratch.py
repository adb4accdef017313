"""tflite-micro's arena counts kernel scratch buffers: TRANSPOSE_CONV's int32 accumulators."""

from __future__ import annotations

from compressor.cost.memory import plan_arena
from compressor.graph.ir import Graph, Op, Tensor


def _transpose_conv_graph(op_type: str) -> Graph:
    tensors = (Tensor("x", (1, 4, 4, 8), "int8", 128, False), Tensor("w", (8, 2, 2, 8), "int8", 256, True),
               Tensor("y", (1, 8, 8, 8), "int8", 512, False))
    op = Op("y", op_type, "conv", (0, 1), (2,), 4096, "int8", 256, 128, 512, weights=(1,), out_channels=8)
    return Graph(ops=(op,), tensors=tensors, inputs=(0,), outputs=(2,), format="tflite")


def test_tflm_plan_adds_transpose_conv_accumulators():
    graph = _transpose_conv_graph("TRANSPOSE_CONV")
    # input 128 + output 512 + 512 int32 accumulators (4 B each), all alive during the one op.
    assert plan_arena(graph, alignment_bytes=16, order="tflm").size_bytes == 128 + 512 + 4 * 512
    # LiteRT's planner (order "tflite") has no such scratch in its arena plan, nor does another op.
    assert plan_arena(graph, alignment_bytes=16, order="tflite").size_bytes == 128 + 512
    assert plan_arena(_transpose_conv_graph("CONV_2D"), alignment_bytes=16, order="tflm").size_bytes == 128 + 512
