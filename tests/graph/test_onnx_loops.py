"""An ONNX Loop whose trip count is known is costed as its body run that many times (a Keras RNN
as tf2onnx writes it), its weights counted once; one whose count depends on the input's values
stays, said so: each able to fail."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from compressor.cost.kernels import packed_weight_bytes
from compressor.graph.read import read_graph

STEPS, WIDTH = 6, 64


def _rnn_loop(path, trip_count_from_input: bool = False):
    """h_{t+1} = tanh(h_t W + x); scan output: every h_t.  W [64, 64] an outer initializer."""
    body = helper.make_graph(
        [helper.make_node("MatMul", ["h_in", "W"], ["hw"], name="step/matmul"),
         helper.make_node("Add", ["hw", "x"], ["pre"], name="step/add"),
         helper.make_node("Tanh", ["pre"], ["h_out"], name="step/tanh"),
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="step/cond"),
         helper.make_node("Identity", ["h_out"], ["h_scan"], name="step/scan")],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [1, WIDTH])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, WIDTH]),
         helper.make_tensor_value_info("h_scan", TensorProto.FLOAT, [1, WIDTH])])
    inits = [numpy_helper.from_array(np.eye(WIDTH, dtype=np.float32), "W"),
             numpy_helper.from_array(np.zeros((1, WIDTH), np.float32), "h0"),
             numpy_helper.from_array(np.array(True), "cond")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH])]
    if trip_count_from_input:
        inputs.append(helper.make_tensor_value_info("steps", TensorProto.INT64, []))
    else:
        inits.append(numpy_helper.from_array(np.array(STEPS, np.int64), "steps"))
    loop = helper.make_node("Loop", ["steps", "cond", "h0"], ["h_last", "hs"], name="rnn", body=body)
    graph = helper.make_graph([loop], "g", inputs,
                              [helper.make_tensor_value_info("h_last", TensorProto.FLOAT, [1, WIDTH]),
                               helper.make_tensor_value_info("hs", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_a_loop_of_known_trip_count_is_its_body_that_many_times(tmp_path):
    graph = read_graph(_rnn_loop(tmp_path / "rnn.onnx"))
    matmuls = [op for op in graph.ops if op.op_type == "MatMul"]
    assert len(matmuls) == STEPS and all(op.macs == WIDTH * WIDTH for op in matmuls)
    assert not [op for op in graph.ops if op.op_type == "Loop"]
    (stack,) = [op for op in graph.ops if op.op_type == "Concat"]
    assert stack.output_bytes == STEPS * WIDTH * 4  # the scan output, every step's h
    # one node's weights, not one per step (and the small constants unrolling adds: step numbers, axes)
    assert WIDTH * WIDTH * 4 <= packed_weight_bytes(graph) < WIDTH * WIDTH * 4 + 1024
    assert any("unrolled" in note for note in graph.notes)


def test_a_loop_whose_count_is_an_input_value_stays_and_is_named(tmp_path):
    graph = read_graph(_rnn_loop(tmp_path / "rnn_n.onnx", trip_count_from_input=True))
    assert [op for op in graph.ops if op.op_type == "Loop"]
    assert any("not costed" in note for note in graph.notes)
