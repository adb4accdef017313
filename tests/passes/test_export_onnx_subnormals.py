"""The float ONNX export flushes subnormal weights to zero: onnxruntime's fp32 kernels take a
microcode assist on x86 for every multiply by one, and no output can tell them from zero."""

from __future__ import annotations

import numpy as np

from compressor.passes.export_onnx import flush_subnormal_weights


def test_subnormal_weights_are_flushed_and_counted_and_nothing_else_moves(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).standard_normal((8, 4, 3, 3)).astype(np.float32)
    w[0, 0, 0, :] = np.float32(1e-39)  # three subnormals
    w[1, 1, 1, 1] = np.float32(-2e-40)  # a fourth, negative
    bias = np.array([1e-30] * 8, dtype=np.float32)  # tiny but normal: kept
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "b")])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert flush_subnormal_weights(path) == 4
    after = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    expected = w.copy()
    expected[0, 0, 0, :] = 0
    expected[1, 1, 1, 1] = 0
    assert np.array_equal(after["w"], expected) and np.array_equal(after["b"], bias)
    before = path.read_bytes()
    assert flush_subnormal_weights(path) == 0 and path.read_bytes() == before  # nothing left: file untouched
