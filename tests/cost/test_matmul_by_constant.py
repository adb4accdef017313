"""An ONNX MatMul by a constant 2-D weight runs onnxruntime's Gemm kernel: it takes the
fully-connected terms, where a MatMul of two activations keeps the batched MatMul terms (fitted on
batched products only, their 1.6 us fixed part had put a 9 us scikit-learn MLP of three tiny MatMuls
at 1.75x).  Each able to fail."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
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
    gemm, batched = terms["fully_connected"], terms["MatMul"]
    assert gemm != batched
    by_weight = estimate_op_latency(ops["by_weight"], zen4, runtime="onnx")
    as_batched = estimate_op_latency(replace(ops["by_weight"], variant=""), zen4, runtime="onnx")
    work = ops["by_weight"].macs, ops["by_weight"].input_bytes, ops["by_weight"].weight_bytes, ops["by_weight"].output_bytes
    assert by_weight.compute_s + by_weight.memory_s == pytest.approx(sum(gemm.seconds(*work)), rel=0.05)
    assert as_batched.compute_s + as_batched.memory_s == pytest.approx(sum(batched.seconds(*work)), rel=0.05)
    assert by_weight.latency_s != pytest.approx(as_batched.latency_s, rel=0.05)


def test_a_qlinearmatmul_by_a_constant_is_priced_as_the_qgemm_it_runs(tmp_path):
    # Smart Turn's int8 encoder (held-out set 10): its [400, 384] x [384, 384] QLinearMatMuls ran
    # 0.31 ms each, where the batched QLinearMatMul terms said 0.81 (the whole file 1.55x).
    def init(name, value, dtype):
        return numpy_helper.from_array(np.asarray(value, dtype), name)

    inits = [init("xs", 0.02, np.float32), init("xz", 128, np.uint8), init("w", np.ones((384, 384)), np.int8),
             init("ws", 0.01, np.float32), init("wz", 0, np.int8), init("ys", 0.05, np.float32),
             init("yz", 128, np.uint8)]
    nodes = [helper.make_node("QLinearMatMul", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"], name="by_weight"),
             helper.make_node("QLinearMatMul", ["x", "xs", "xz", "xt", "xs", "xz", "ys", "yz"], ["z"], name="by_activation"),
             helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [400, 384])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, [400, 384]),
                               helper.make_tensor_value_info("z", TensorProto.UINT8, [400, 400])], inits)
    path = tmp_path / "q.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    ops = {op.name: op for op in read_graph(path).ops}
    assert ops["by_weight"].variant == "gemm" and ops["by_activation"].variant == ""
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    by_weight = estimate_op_latency(ops["by_weight"], zen4, runtime="onnx").latency_s
    by_activation = estimate_op_latency(ops["by_activation"], zen4, runtime="onnx").latency_s
    # about the same MACs (59 M and 61 M): the packed GEMM at well under the batched ones' rate
    assert by_weight < 0.6 * by_activation
