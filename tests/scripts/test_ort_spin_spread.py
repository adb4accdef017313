"""scripts/ort_spin_spread.py times fresh onnxruntime sessions, spinning on and off, on bench's
inputs with the values given: able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import ort_spin_spread


def test_each_session_gives_a_median_and_values_are_fed(tmp_path):
    w = numpy_helper.from_array(np.ones((16, 16), np.float32), "w")
    # y = x @ w, then Reshape by the value of an int64 input: it runs only when fed 16
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Reshape", ["h", "shape"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16]),
                                           helper.make_tensor_value_info("shape", TensorProto.INT64, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    for spinning in (True, False):
        medians = ort_spin_spread.session_medians(path, threads=2, spinning=spinning, sessions=2, runs=3,
                                                  values={"shape": 16})
        assert len(medians) == 2 and all(m > 0 for m in medians)
