"""An onnxruntime contrib op the cost model has no measure of (a com.microsoft Attention: its QKV
projection and scores inside one node) is costed by its bytes, and the read says so instead of
silently pricing a 5 ms op at 2.5; the contrib ops it prices raise no such note.  Each able to fail."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from compressor.graph.read import read_graph
from compressor.measure.estimate import estimate_artifact


def _save(tmp_path, name, nodes, x_shape, inits):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    path = tmp_path / name
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]),
              path)
    return path


def test_an_unpriced_contrib_op_is_named_in_the_notes_and_the_estimates_warnings(tmp_path):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((64, 192)) * 0.02).astype(np.float32), "W"),
             numpy_helper.from_array(np.zeros(192, np.float32), "B")]
    path = _save(tmp_path, "attention.onnx", [helper.make_node("Attention", ["x", "W", "B"], ["y"], domain="com.microsoft",
                                                               num_heads=4)], [1, 16, 64], inits)
    notes = read_graph(path, as_run=True).notes
    assert any("1 Attention" in note and "bytes only" in note for note in notes)
    warnings = estimate_artifact(path, "host-x86").warnings
    assert any("1 Attention" in warning for warning in warnings)


def test_the_contrib_ops_it_prices_raise_no_note(tmp_path):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((32, 64)).astype(np.float32), "W"),
             numpy_helper.from_array(np.zeros(32, np.float32), "B")]
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["g"], transB=1), helper.make_node("Relu", ["g"], ["y"])]
    path = _save(tmp_path, "gemm_relu.onnx", nodes, [4, 64], inits)  # onnxruntime: a FusedGemm (com.microsoft)
    graph = read_graph(path, as_run=True)
    assert any(op.op_type == "FusedGemm" for op in graph.ops)
    assert not any("bytes only" in note for note in graph.notes)
