"""An ONNX MatMul by a constant 2-D weight runs onnxruntime's Gemm kernel: it takes the
fully-connected terms, where a MatMul of two activations keeps the batched MatMul terms (their 1.6 us
fixed part put a 9 us scikit-learn MLP of three tiny MatMuls at 1.75x).  Each able to fail."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from compressor.cost.latency import estimate_op_latency
from compressor.graph.read import read_graph
from compressor.targets.load import load_target


def _matmuls(path):
    """x [1, 64] x w [64, 32] (a constant), then that [1, 32] x itself transposed [32, 1]."""
    w = numpy_helper.from_array(np.ones((64, 32), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="by_weight"),
             helper.make_node("Transpose", ["h"], ["ht"], perm=[1, 0]),
             helper.make_node("MatMul", ["h", "ht"], ["y"], name="by_activation")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return {op.name: op for op in read_graph(path).ops}


def test_a_matmul_by_a_constant_is_priced_as_the_gemm_it_runs(tmp_path):
    ops = _matmuls(tmp_path / "m.onnx")
    assert ops["by_weight"].variant == "gemm" and ops["by_activation"].variant == ""
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    terms = zen4.compute.runtime_cost("onnx").kernels["float32"]
    assert terms["MatMul"].fixed_us > 1.0  # the batched MatMuls' fixed part, which a tiny Gemm does not pay
    by_weight = estimate_op_latency(ops["by_weight"], zen4, runtime="onnx")
    by_activation = estimate_op_latency(ops["by_activation"], zen4, runtime="onnx")
    assert by_weight.compute_s + by_weight.memory_s < 0.5e-6 < by_activation.compute_s + by_activation.memory_s
