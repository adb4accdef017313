"""Subnormal fp32 weights: counted per 16-wide output-channel vector as MLAS multiplies them,
priced where the runtime pays a microcode assist for them (onnxruntime on x86), and said."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from compressor.graph.read import read_graph
from compressor.graph.subnormals import subnormal_vectors

SUB = np.float32(1e-39)  # subnormal: below float32's smallest normal, 1.18e-38


def _conv_onnx(path, weight):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    _, cin, k, _ = weight.shape
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[k // 2] * 4)
    graph = helper.make_graph([node], "c", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(weight, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _weight(cout=32, cin=16, k=1, where=()):
    w = np.full((cout, cin, k, k), 0.05, dtype=np.float32)
    for index in where:
        w[index] = SUB
    return w


def test_vectors_are_counted_by_16_output_channels_of_one_input_channel_and_tap():
    from onnx import numpy_helper

    # Two subnormals in one vector (outputs 0 and 5 of input 3), one in another (output 20 of input 3),
    # one in a third (output 0 of input 4): three vectors.
    w = _weight(where=[(0, 3, 0, 0), (5, 3, 0, 0), (20, 3, 0, 0), (0, 4, 0, 0)])
    assert subnormal_vectors(numpy_helper.from_array(w, "w"), nchwc=False) == 3
    assert subnormal_vectors(numpy_helper.from_array(_weight(), "w"), nchwc=False) == 0
    zeros = _weight(where=[(0, 1, 0, 0)]); zeros[0, 1, 0, 0] = 0.0  # zero is not subnormal
    assert subnormal_vectors(numpy_helper.from_array(zeros, "w"), nchwc=False) == 0
    # onnxruntime's NCHWc weights keep a block's 16 outputs innermost: 16 consecutive floats
    flat = np.full(64, 0.05, dtype=np.float32); flat[[1, 2, 40]] = SUB
    assert subnormal_vectors(numpy_helper.from_array(flat, "w"), nchwc=True) == 2


@pytest.mark.parametrize("as_run", [False, True])
def test_the_reader_counts_them_in_the_graph_onnxruntime_runs_or_the_file(tmp_path, as_run):
    w = _weight(k=3, where=[(0, 3, 1, 1), (20, 3, 1, 1), (0, 4, 0, 2)])
    graph = read_graph(_conv_onnx(tmp_path / "c.onnx", w), as_run=as_run)
    (conv,) = [op for op in graph.ops if op.macs]
    assert conv.subnormal_vectors == 3


def test_they_cost_an_assist_per_vector_and_position_and_say_so(tmp_path):
    from compressor.cost.kernels import check_kernels
    from compressor.targets.load import load_target

    graph = read_graph(_conv_onnx(tmp_path / "c.onnx", _weight(where=[(0, 3, 0, 0)])), as_run=True)
    clean = read_graph(_conv_onnx(tmp_path / "clean.onnx", _weight()), as_run=True)
    profile = load_target("host-x86")
    onnx = replace(profile.compute.runtimes["onnx"], subnormal_vector_ns=37.0)
    priced = replace(profile, compute=replace(profile.compute, runtimes={**profile.compute.runtimes, "onnx": onnx}))
    report, plain = check_kernels(graph, priced), check_kernels(clean, priced)
    assert report.latency_ms == pytest.approx(plain.latency_ms + 1 * 64 * 37e-6, rel=1e-6)  # 1 vector x 8x8
    assert any(w.kind == "subnormal_weights" and "flush them to zero" in w.reason for w in report.warnings)
    unpriced = replace(profile, compute=replace(profile.compute, runtimes={
        **profile.compute.runtimes, "onnx": replace(onnx, subnormal_vector_ns=0.0)}))
    assert not any(w.kind == "subnormal_weights" for w in check_kernels(graph, unpriced).warnings)

