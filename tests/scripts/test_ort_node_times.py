"""scripts/ort_node_times.py: each node of the graph onnxruntime runs, cut out and timed alone on the
values a run of the whole graph produced, beside its estimate.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import ort_node_times  # noqa: E402


def _model(path: Path) -> Path:
    """x [1, 8, 16, 16] -> Conv 3x3 8 -> 8 -> Sigmoid -> Gather of 4 of its channels (indices a constant)."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((8, 8, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(np.array([0, 2, 4, 6], np.int64), "idx")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Sigmoid", ["c"], ["s"], name="sig"),
             helper.make_node("Gather", ["s", "idx"], ["y"], axis=1, name="gather")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_each_node_is_timed_alone_on_the_values_the_whole_run_produced(tmp_path):
    path = _model(tmp_path / "m.onnx")
    result = ort_node_times.with_estimates(ort_node_times.node_times(path, seconds=0.02, rounds=1), path, "host-x86")
    timed = {n["op_type"]: n for n in result["nodes"] if n["alone_ms"] is not None}
    assert result["whole_ms"] > 0 and result["empty_ms"] > 0
    assert "Gather" in timed and all(n["alone_ms"] >= 0 for n in timed.values())
    conv = next(n for n in result["nodes"] if "Conv" in n["op_type"])  # onnxruntime's conv, fused or NCHWc
    assert conv["alone_ms"] is not None and conv["alone_ms"] > 0
    assert conv["predicted_ms"] is not None and conv["predicted_ms"] > 0  # matched to the estimate by name


def test_a_node_of_constants_or_a_branch_is_not_cut():
    model = onnx.load_from_string(helper.make_model(helper.make_graph(
        [helper.make_node("Add", ["a", "a"], ["b"])], "g", [], [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.ones(2, np.float32), "a")])).SerializeToString())
    assert ort_node_times.cut_node(model, model.graph.node[0], {}) is None  # all its inputs constant
    branch = helper.make_node("If", ["cond"], ["y"], then_branch=model.graph, else_branch=model.graph)
    assert ort_node_times.cut_node(model, branch, {"cond": np.array(True)}) is None
    add = helper.make_node("Add", ["x", "a"], ["z"])
    cut, feed = ort_node_times.cut_node(model, add, {"x": np.zeros(2, np.float32)})
    assert [i.name for i in cut.graph.input] == ["x"] and [i.name for i in cut.graph.initializer] == ["a"]
    assert list(feed) == ["x"]
