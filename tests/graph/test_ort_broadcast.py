"""onnxruntime's Broadcaster spans (``ort_kernels.broadcast_calls``): a binary op whose shapes it
cuts into short spans calls its inner loop once per span, ~9 ns each on the Xeon."""

from __future__ import annotations

from dataclasses import replace

import pytest

from compressor.graph.ort_kernels import broadcast_calls

# (a, b, spans): the slow ones each timed by onnxruntime's profiler at 8-10 ns per span, the
# one-span ones at 0.1-0.3 ns per element (scripts/data/host-x86-kernels-onnx-broadcast-xeon-amx.json).
CASES = [
    ((1, 172, 309, 1), (1,), 53148),           # a size-1 innermost axis past the constant's rank
    ((172, 309, 1), (), 53148),                # a rank-0 scalar lines up with the trailing 1
    ((1, 172, 309, 2), (2,), 53148),           # a 2-wide innermost axis, the constant broadcast past it
    ((1, 172, 309, 2), (1, 1, 309, 1), 53148),
    ((1, 128, 128, 4), (1, 1, 1, 4), 16384),
    ((1, 172, 309, 1), (1, 1, 1, 1), 0),       # equal ranks: the shared 1s are skipped, one span
    ((1, 172, 309, 1), (1, 172, 309, 1), 0),   # equal shapes
    ((1, 53148), (1,), 0),
    ((1, 172, 1, 309), (1,), 172),             # spans of 309: cheap
    ((1, 172, 309, 1), (309, 1), 172),
    ((), (), 0),
]


@pytest.mark.parametrize(("a", "b", "spans"), CASES)
def test_spans_are_those_onnxruntime_walks(a, b, spans):
    assert broadcast_calls(a, b) == spans
    assert broadcast_calls(b, a) == spans  # either operand order


def test_unknown_dims_count_nothing():
    assert broadcast_calls((1, "n", 4), (1,)) == 0
    assert broadcast_calls(None, (1,)) == 0


def _mul_onnx(path, shape, by):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph([helper.make_node("Mul", ["x", "by"], ["y"])], "m",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))],
                              [numpy_helper.from_array(np.full(by, 0.5, np.float32), "by")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_a_short_span_broadcast_is_costed_per_span_and_named_with_its_remedy(tmp_path):
    pytest.importorskip("onnxruntime")
    from compressor.cost.kernels import check_kernels
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    slow = read_graph(_mul_onnx(tmp_path / "slow.onnx", (1, 172, 309, 1), (1,)), as_run=True)
    fast = read_graph(_mul_onnx(tmp_path / "fast.onnx", (1, 172, 309, 1), (1, 1, 1, 1)), as_run=True)
    assert [op.kernel_calls for op in slow.ops if op.op_type == "Mul"] == [53148]
    assert [op.kernel_calls for op in fast.ops if op.op_type == "Mul"] == [0]
    profile = load_target("host-x86")
    onnx = profile.compute.runtimes["onnx"]
    terms = onnx.kernels["float32"]["Mul"]
    priced = replace(profile, compute=replace(profile.compute, runtimes={
        **profile.compute.runtimes, "onnx": replace(onnx, kernels={**onnx.kernels, "float32": {
            **onnx.kernels["float32"], "Mul": replace(terms, call_ns=9.0)}})}))
    report, plain = check_kernels(slow, priced), check_kernels(fast, priced)
    assert report.latency_ms == pytest.approx(plain.latency_ms + 53148 * 9e-6, rel=1e-3)
    (warning,) = [w for w in report.warnings if w.kind == "broadcast_spans"]
    assert "53,148 spans of 1 element" in warning.reason and "[1, 1, 1, 1]" in warning.reason
    assert not [w for w in check_kernels(fast, priced).warnings if w.kind == "broadcast_spans"]


def test_a_qlinear_ops_operands_are_its_first_and_fourth_inputs(tmp_path):
    """QLinearMul / QLinearAdd hold their operands in slots 0 and 3 (scales and zero points
    between): the spans are theirs (~21 ns each on the Xeon, 1.09 ms for this one)."""
    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from compressor.graph.read import read_graph

    inits = [numpy_helper.from_array(np.array(v, dtype), n) for n, v, dtype in [
        ("a_s", 0.1, np.float32), ("a_z", 128, np.uint8), ("b", [200], np.uint8), ("b_s", 0.01, np.float32),
        ("b_z", 0, np.uint8), ("c_s", 0.2, np.float32), ("c_z", 128, np.uint8)]]
    node = helper.make_node("QLinearMul", ["a", "a_s", "a_z", "b", "b_s", "b_z", "c_s", "c_z"], ["c"],
                            domain="com.microsoft")
    graph = helper.make_graph([node], "q", [helper.make_tensor_value_info("a", TensorProto.UINT8, [1, 172, 309, 1])],
                              [helper.make_tensor_value_info("c", TensorProto.UINT8, [1, 172, 309, 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, str(tmp_path / "q.onnx"))
    (op,) = read_graph(tmp_path / "q.onnx").ops
    assert op.op_type == "QLinearMul" and op.kernel_calls == 53148
