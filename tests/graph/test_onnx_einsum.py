"""An ONNX Einsum of two operands is read as the batched matrix products onnxruntime runs: its
MACs and one product per value of the indices both operands and the output share (each able to fail)."""

from __future__ import annotations

import pytest
from onnx import helper

from compressor.graph.ort_kernels import einsum_macs


@pytest.mark.parametrize(("equation", "shapes", "expected"), [
    ("btgi,gih->btgh", [(1, 1, 32, 96), (32, 96, 16)], (32 * 96 * 16, 32)),   # DeepFilterNet3's grouped linear
    ("bhqd,bhkd->bhqk", [(1, 8, 64, 32), (1, 8, 64, 32)], (8 * 64 * 64 * 32, 8)),  # attention scores
    ("ij,jk->ik", [(64, 256), (256, 128)], (64 * 256 * 128, 1)),            # a plain GEMM
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (3, 5, 6)], (2 * 3 * 4 * 5 * 6, 3)),  # broadcast axes, aligned right
    ("ij,jk", [(4, 5), (5, 6)], (120, 1)),                                   # implicit output: j summed
    ("ii->i", [(4, 4)], (0, 0)),                                             # one operand: no product
    ("ij,jk->ik", [(4, None), (5, 6)], (0, 0)),                              # a shape not known
])
def test_einsum_macs_and_products(equation, shapes, expected):
    node = helper.make_node("Einsum", ["a", "b"], ["y"], equation=equation)
    assert einsum_macs(node, shapes) == expected


def test_an_einsum_is_read_and_costed_by_its_own_terms(tmp_path):
    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnx
    from onnx import TensorProto, numpy_helper

    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    w = numpy_helper.from_array(np.ones((32, 96, 16), np.float32), "w")
    node = helper.make_node("Einsum", ["x", "w"], ["y"], equation="btgi,gih->btgh")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 32, 96])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "e.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    (op,) = read_graph(path, as_run=True).ops
    assert (op.kind, op.macs, op.kernel_calls) == ("fully_connected", 32 * 96 * 16, 32)
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    us = estimate_op_latency(op, zen4, runtime="onnx").latency_s * 1e6
    assert 6 < us < 25  # timed at 12.8 us (scripts/data/host-x86-kernels-einsum-zen4.json)
