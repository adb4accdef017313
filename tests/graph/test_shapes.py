"""Dynamic input dims: refused unless given (a dynamic batch is 1, said so), never costed as made up."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from compressor.errors import ConfigError
from compressor.graph.read import read_graph


def _dynamic_conv_onnx(path, dims=("batch", 3, "height", "width")):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], name="conv")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_dynamic_spatial_dims_are_refused_naming_the_input(tmp_path):
    path = _dynamic_conv_onnx(tmp_path / "dyn.onnx")
    with pytest.raises(ConfigError) as error:
        read_graph(path)
    assert error.value.field == "input_shape"
    assert "'x'" in error.value.expected and "dyn.onnx" in error.value.expected and "[?, 3, ?, ?]" in error.value.expected


def test_given_shape_is_costed_exactly(tmp_path):
    graph = read_graph(_dynamic_conv_onnx(tmp_path / "dyn.onnx"), input_shapes=((1, 3, 20, 30),))
    assert graph.macs == 20 * 30 * 8 * 27  # out elements x Cin x 3 x 3
    assert all(t.shape is None or min(t.shape, default=1) > 0 for t in graph.tensors)
    with pytest.raises(ConfigError, match="fits its dims"):  # a fixed dim (3 channels) cannot change
        read_graph(tmp_path / "dyn.onnx", input_shapes=((1, 4, 20, 30),))
    with pytest.raises(ConfigError, match="1 shape"):
        read_graph(tmp_path / "dyn.onnx", input_shapes=((1, 3, 20, 30), (1, 4)))


def test_dynamic_batch_alone_is_one_and_said_so(tmp_path):
    graph = read_graph(_dynamic_conv_onnx(tmp_path / "batch.onnx", dims=("N", 3, 10, 10)))
    assert graph.macs == 10 * 10 * 8 * 27
    assert len(graph.notes) == 1 and "batch" in graph.notes[0] and "'x'" in graph.notes[0]


@pytest.mark.parametrize("command", ["profile", "bench", "check"])
def test_cli_exits_2_naming_the_input_and_the_flag(tmp_path, command):
    from compressor.cli.main import cli

    path = _dynamic_conv_onnx(tmp_path / "dyn.onnx")
    extra = {"profile": ["--target", "host-x86"], "bench": ["--runs", "1", "--warmup", "0"],
             "check": ["--target", "host-x86", "--max-latency-ms", "100"]}[command]
    group = cli
    result = CliRunner().invoke(group, [command, str(path), *extra])
    assert result.exit_code == 2, result.output
    assert "--input-shape" in result.output and "'x'" in result.output and "Traceback" not in result.output
    assert "not given" in result.output and "None" not in result.output  # the flag left out, in words
    assert "dyn.onnx" in result.output  # the user's file, not onnxruntime's optimized copy in the cache
    given = CliRunner().invoke(group, [command, str(path), *extra, "--input-shape", "1,3,16,16"])
    assert given.exit_code == 0, given.output


def _dynamic_tflite(path):
    """CONV_2D 3x3 1->1 with shape_signature [1, -1, -1, 1] (a 1-in/1-out conv, dynamic H and W)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    buffers, tensors = [s.BufferT()], []

    def tensor(name, shape, data=None, signature=None):
        t = s.TensorT(); t.name = name; t.shape = list(shape); t.type = s.TensorType.FLOAT32; t.buffer = 0
        t.shapeSignature = list(signature) if signature else None
        if data is not None:
            b = s.BufferT(); b.data = np.frombuffer(data.astype(np.float32).tobytes(), np.uint8).tolist()
            buffers.append(b); t.buffer = len(buffers) - 1
        tensors.append(t); return len(tensors) - 1

    x = tensor("input", (1, 1, 1, 1), signature=(1, -1, -1, 1))
    w = tensor("w", (1, 3, 3, 1), np.ones((1, 3, 3, 1)))
    b = tensor("b", (1,), np.zeros(1))
    y = tensor("out", (1, 1, 1, 1), signature=(1, -1, -1, 1))
    code = s.OperatorCodeT(); code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.CONV_2D; code.version = 1
    conv = s.OperatorT(); conv.opcodeIndex = 0; conv.inputs = [x, w, b]; conv.outputs = [y]
    conv.builtinOptionsType = s.BuiltinOptions.Conv2DOptions
    options = s.Conv2DOptionsT(); options.padding = s.Padding.SAME; options.strideW = options.strideH = 1
    conv.builtinOptions = options
    graph = s.SubGraphT(); graph.tensors = tensors; graph.operators = [conv]; graph.inputs = [x]; graph.outputs = [y]
    model = s.ModelT(); model.version = 3; model.operatorCodes = [code]; model.subgraphs = [graph]; model.buffers = buffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


def test_tflite_dynamic_dims_resized_by_litert(tmp_path):
    path = _dynamic_tflite(tmp_path / "dyn.tflite")
    with pytest.raises(ConfigError, match="'input'"):
        read_graph(path)
    graph = read_graph(path, input_shapes=((1, 100, 200, 1),))
    assert graph.macs == 100 * 200 * 9


def test_one_in_one_out_conv_costed_at_its_real_macs(tmp_path):
    """The blanket rule padded input and output channels to 16 and again in the roofline (256x+)."""
    from compressor.cost.kernels import check_kernels
    from compressor.cost.latency import estimate_op_latency
    from compressor.targets.load import load_target

    graph = read_graph(_dynamic_tflite(tmp_path / "dyn.tflite"), input_shapes=((1, 1000, 1000, 1),))
    # The AVX-512 variant's CPU, whatever this machine's flags: its IGEMM broadcasts one input channel at a time
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 26 model 2")
    report = check_kernels(graph, target)
    (placed,) = report.ops
    real = 1000 * 1000 * 9
    assert placed.macs == real
    tile = target.compute.channel_tile_of("float32", "conv")
    rate = target.compute.clock_hz * target.compute.macs_per_cycle["float32"] * target.compute.efficiency_of(
        "float32", placed.kind) * target.compute.threads
    compute_ms = estimate_op_latency(graph.ops[0], target).compute_s * 1e3
    # Output channels padded to the tile once (1 -> tile), input channels not at all.
    assert compute_ms == pytest.approx(real * tile / rate * 1e3, rel=1e-6)
    # Its latency: that compute, unless the IGEMM's walk of its 72 MB indirection buffer (one
    # pointer per position and tap, no channels to share it) takes longer where measured
    # (indirection_ns: the Xeon's; this conv runs 11 ms there, 2.3 by its MACs).
    from compressor.cost.tiles import indirection_s

    walk_ms = indirection_s(graph.ops[0], target.compute.runtime_cost("tflite")) * 1e3
    assert placed.latency_ms < max(real * tile * 2 / rate * 1e3, walk_ms * 1.05)
    # An AVX2 CPU's fp32 IGEMM ("s4") takes a tap's input channels 4 at a time from 16 outputs, but
    # under 16 its 8-column kernel takes them one at a time: this conv's output channel to 8, its
    # input channel as it is, nothing more.
    from compressor.cost.tiles import kernel_work

    avx2 = load_target("host-x86", cpu_identity="AuthenticAMD family 23 model 1")
    macs, _ = kernel_work(graph.ops[0], avx2.compute, avx2.compute.runtime_cost("tflite"))
    assert macs == real * 8


def test_the_api_takes_input_shapes_as_the_cli_does(tmp_path):
    import compressor

    path = _dynamic_conv_onnx(tmp_path / "dyn.onnx")
    macs = {str(shape): sum(op.macs for op in compressor.profile(path, "host-x86", shape).model_estimate.per_op)
            for shape in ("1,3,20,30", (1, 3, 20, 30), [(1, 3, 20, 30)], (1, 3, 40, 30))}
    assert len(set(list(macs.values())[:3])) == 1 and macs["(1, 3, 40, 30)"] == 2 * macs["1,3,20,30"] > 0
    with pytest.raises(ConfigError, match="--input-shape|input_shape"):
        compressor.profile(path, "host-x86")  # dynamic spatial dims, no shape: refused, not guessed
    assert compressor.bench(path, runs=1, warmup=0, input_shape=(1, 3, 20, 30)).input_shapes == ((1, 3, 20, 30),)
