"""onnxruntime's FusedGemm (its Gemm + activation fusion) runs the activation as a pass of its own
over the output once the GEMM is done (fused_gemm.cc): the reader records it and the host profile
prices that pass at the activation's own terms.  typeseg's Mamba spends 27 ms in six Gemm +
Softplus pairs the GEMM's terms had put at 0.7.  Each able to fail."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

ROWS, K, N = 1536, 16, 256


def _gemm(path, activation: str | None):
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["g" if activation else "y"], name="proj")]
    if activation:
        nodes.append(helper.make_node(activation, ["g"], ["y"], name="act"))
    inits = [numpy_helper.from_array(np.random.default_rng(0).standard_normal((K, N)).astype(np.float32), "w"),
             numpy_helper.from_array(np.zeros(N, np.float32), "b")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [ROWS, K])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [ROWS, N])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_a_fused_gemm_s_activation_is_a_pass_over_its_output_at_that_activation_s_terms(tmp_path):
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    plain = read_graph(_gemm(tmp_path / "plain.onnx", None), as_run=True)
    fused = read_graph(_gemm(tmp_path / "softplus.onnx", "Softplus"), as_run=True)
    (op,) = fused.ops
    assert (op.op_type, op.fused_activation) == ("FusedGemm", "Softplus")
    assert plain.ops[0].fused_activation == ""
    softplus = zen4.compute.runtime_cost("onnx").kernels["float32"]["Softplus"]
    extra_ms = (check_kernels(fused, zen4).latency_ms - check_kernels(plain, zen4).latency_ms)
    assert extra_ms == pytest.approx(sum(softplus.seconds(0, ROWS * N * 4, 0, ROWS * N * 4)) * 1e3, rel=0.1)
    assert extra_ms > 3.0  # ~11 ns an element over 393,216 of them
