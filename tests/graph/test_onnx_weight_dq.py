"""A weight's DequantizeLinear that onnxruntime leaves in its optimized graph runs every inference,
and the conv it feeds computes in float on 4-byte weights (as_run); in the file's own graph the
pair reads as one int8 conv: each able to fail."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from compressor.graph.read import read_graph


def _unfused_qdq_conv(path):
    """x -> Q -> DQ -> Conv(W = DQ(int8 [64, 32, 3, 3])) -> y, no QuantizeLinear after the conv,
    so onnxruntime has no QLinearConv to fuse it into."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.integers(-127, 127, (64, 32, 3, 3), dtype=np.int8), "w_q"),
             numpy_helper.from_array(np.array(0.02, np.float32), "w_s"),
             numpy_helper.from_array(np.array(0, np.int8), "w_z"),
             numpy_helper.from_array(np.array(0.05, np.float32), "x_s"),
             numpy_helper.from_array(np.array(0, np.uint8), "x_z")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "x_s", "x_z"], ["x_q"]),
             helper.make_node("DequantizeLinear", ["x_q", "x_s", "x_z"], ["x_d"]),
             helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_z"], ["w_d"]),
             helper.make_node("Conv", ["x_d", "w_d"], ["y"], pads=[1, 1, 1, 1])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 28, 28])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 28, 28])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_onnxruntime_runs_the_weight_dequantize_and_a_float_conv(tmp_path):
    path = _unfused_qdq_conv(tmp_path / "qdq.onnx")
    run = read_graph(path, as_run=True)
    (conv,) = [op for op in run.ops if op.kind in ("conv", "pointwise")]
    assert conv.compute_dtype == "float32" and conv.weight_bytes == 0
    assert conv.input_bytes >= 64 * 32 * 9 * 4  # the dequantized float weights, read every run
    # (its scale and zero point beside the int8 weights)
    weight_dq = [op for op in run.ops if op.op_type == "DequantizeLinear" and 0 <= op.weight_bytes - 64 * 32 * 9 < 16]
    assert len(weight_dq) == 1 and weight_dq[0].output_bytes == 64 * 32 * 9 * 4
    (own,) = [op for op in read_graph(path).ops if op.kind in ("conv", "pointwise")]
    assert own.compute_dtype == "int8" and own.weight_bytes == 64 * 32 * 9  # the file's QDQ unit, folded
