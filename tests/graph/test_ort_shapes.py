"""Shapes from one onnxruntime run: read from its profiler where the nodes have names, from every
tensor made a graph output where they do not; both give the same shapes and types."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from compressor.graph.ort_shapes import shapes_from_run


def _model(named: bool):
    """x [1, 3, 16, 16] -> Conv 8 -> Reshape to (Shape(x)[0], -1) -> Cast to int64."""
    w = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w")
    flat = numpy_helper.from_array(np.array([-1], np.int64), "flat")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Slice", ["s", "zero", "one"], ["batch"]),
             helper.make_node("Concat", ["batch", "flat"], ["to"], axis=0),
             helper.make_node("Reshape", ["c", "to"], ["r"]),
             helper.make_node("Cast", ["r"], ["y"], to=TensorProto.INT64)]
    for i, node in enumerate(nodes):
        node.name = f"n{i}" if named else ""
    inits = [w, flat, numpy_helper.from_array(np.array([0], np.int64), "zero"),
             numpy_helper.from_array(np.array([1], np.int64), "one")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_the_profiled_run_and_the_all_outputs_run_agree():
    wanted = ["c", "s", "batch", "to", "r", "y"]
    feed = lambda used: {"x": np.zeros((1, 3, 16, 16), np.float32)}
    profiled, plain = (shapes_from_run(_model(named), feed, wanted) for named in (True, False))
    assert {k: profiled[k] for k in wanted} == {k: plain[k] for k in wanted}
    assert profiled["r"] == ((1, 2048), "float32") and profiled["y"] == ((1, 2048), "int64")
    assert profiled["s"] == ((4,), "int64")
