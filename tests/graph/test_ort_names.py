"""An .onnx costed as onnxruntime runs it names each op by the node of the user's file it came from."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper

from compressor.graph.ort_names import INSERTED_OP_TYPES, file_node_names
from compressor.graph.read import read_graph


def _conv_bn_relu_fc(path, *, named: bool = True):
    """conv -> BN -> ReLU -> global pool -> flatten -> MatMul + Add: onnxruntime makes the first
    three one NCHWc conv named after the ReLU's output and the last two one Gemm."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((16, 8, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal((16, 4)).astype(np.float32), "fc_w"),
             numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "fc_b")]
    for name, value in (("scale", 1.5), ("bias", 0.1), ("mean", 0.2), ("var", 2.0)):
        inits.append(numpy_helper.from_array(np.full(16, value, np.float32), name))
    specs = [("Conv", ["x", "w"], "c", "stem_conv", {"pads": [1, 1, 1, 1]}),
             ("BatchNormalization", ["c", "scale", "bias", "mean", "var"], "n", "stem_bn", {}),
             ("Relu", ["n"], "r", "stem_relu", {}),
             ("GlobalAveragePool", ["r"], "p", "pool", {}),
             ("Flatten", ["p"], "f", "flat", {}),
             ("MatMul", ["f", "fc_w"], "m", "fc", {}),
             ("Add", ["m", "fc_b"], "y", "fc_bias", {})]
    nodes = [helper.make_node(op, inputs, [out], name=name if named else "", **attrs)
             for op, inputs, out, name, attrs in specs]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_fused_ops_name_the_node_they_started_from(tmp_path):
    path = _conv_bn_relu_fc(tmp_path / "m.onnx")
    graph = read_graph(path, as_run=True)
    found = file_node_names(graph, onnx.load(str(path)))
    convs = [op for op in graph.ops if op.kind == "conv"]
    gemms = [op for op in graph.ops if op.op_type == "Gemm"]
    assert len(convs) == 1 and convs[0].name != "stem_conv"  # onnxruntime renamed it
    assert found[convs[0].name] == "stem_conv"  # not "stem_relu", whose output names the fused op
    assert len(gemms) == 1 and found[gemms[0].name] == "fc"
    for op in graph.ops:
        assert (found[op.name] == "") == (op.op_type in INSERTED_OP_TYPES), op.name


def test_an_unnamed_node_is_named_by_the_tensor_it_writes(tmp_path):
    path = _conv_bn_relu_fc(tmp_path / "m.onnx", named=False)
    graph = read_graph(path, as_run=True)
    found = file_node_names(graph, onnx.load(str(path)))
    conv = next(op for op in graph.ops if op.kind == "conv")
    assert found[conv.name] == "Conv writing 'c'"


def test_profile_names_file_nodes_and_marks_what_onnxruntime_inserted(tmp_path):
    from compressor.measure.estimate import estimate_artifact

    path = _conv_bn_relu_fc(tmp_path / "m.onnx")
    estimate = estimate_artifact(path, "host-x86").to_dict()
    by_type = {}
    for op in estimate["per_op"]:
        by_type.setdefault(op["op"], []).append(op["file_node"])
    assert by_type["Conv"] == ["stem_conv"] and by_type["Gemm"] == ["fc"]
    inserted = [node for op_type in INSERTED_OP_TYPES for node in by_type.get(op_type, [])]
    assert inserted and set(inserted) == {None}  # onnxruntime's own layout change: nothing in the file
    # 4 output channels off the 16-channel tile: the warning names the file's node first.
    gemm_warnings = [w for w in estimate["warnings"] if w.startswith("Gemm")]
    assert gemm_warnings and gemm_warnings[0].startswith("Gemm ('fc', run as ")
