"""An .onnx whose weights are also graph inputs (older exporters' keep_initializers_as_inputs):
onnxruntime treats them as overridable, so it neither folds nor pre-packs them; the reader says
so and names the remedy.  Able to fail."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from compressor.graph.read import read_graph


def _conv(path, weights_as_inputs: bool):
    w = numpy_helper.from_array(np.ones((16, 8, 3, 3), np.float32), "w")
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 32, 32])]
    if weights_as_inputs:
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [16, 8, 3, 3]))
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "c", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)]), str(path))
    return path


@pytest.mark.parametrize("as_run", [False, True])
def test_weights_that_are_also_inputs_are_said(tmp_path, as_run):
    said = read_graph(_conv(tmp_path / "inputs.onnx", True), as_run=as_run).notes
    assert any("1 of the file's weights are also graph inputs" in n and "remove_initializer_from_input" in n
               for n in said)
    plain = read_graph(_conv(tmp_path / "plain.onnx", False), as_run=as_run).notes
    assert not any("graph inputs" in n for n in plain)
