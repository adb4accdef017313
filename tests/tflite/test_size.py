"""Byte breakdown, strip and C array of real `.tflite` files made by our own exporter and quantizer."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
import torch

from compressor.tflite.c_array import used_ops, write_c_array
from compressor.errors import ConfigError, ExportError
from compressor.tflite.size import CATEGORIES, size_breakdown
from compressor.tflite.strip import strip_tflite


class _Net(torch.nn.Module):
    """conv (with bias) -> depthwise -> mean -> linear: every kind of tensor the breakdown names."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 8, 3, padding=1)  # 2 inputs: a 1-input conv exports as depthwise
        self.dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.dw(torch.relu(self.conv(x))))
        return self.fc(y.mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from compressor.passes.export_tflite import export_tflite
    from compressor.quant.tflite_int8 import quantize_tflite

    directory = tmp_path_factory.mktemp("size")
    torch.manual_seed(0)
    float_path, int8_path = directory / "float.tflite", directory / "int8.tflite"
    export_tflite(_Net().eval(), (torch.zeros(1, 2, 8, 8),), float_path)
    rng = np.random.default_rng(0)
    quantize_tflite(float_path, int8_path, [[rng.random((1, 2, 8, 8), dtype=np.float32)] for _ in range(16)],
                    per_channel=True)
    return float_path, int8_path


def _run(path, inputs):
    """Signature names, input/output tensor names and outputs of ``path`` in LiteRT."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serving_default")
    outputs = np.concatenate([runner(args_0=x)["output_0"] for x in inputs])
    edges = [d["name"] for d in (*interpreter.get_input_details(), *interpreter.get_output_details())]
    return interpreter.get_signature_list(), edges, outputs


def _metadata_names(path) -> set[str]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    return {m.name.decode() for m in model.metadata or []}


def test_breakdown_sums_to_the_file_size(models):
    for path in models:
        sizes = size_breakdown(path)
        assert tuple(sizes) == CATEGORIES and sum(sizes.values()) == path.stat().st_size
        assert min(sizes.values()) >= 0 and sizes["names"] > 0 and sizes["metadata"] > 0
    float_sizes, int8_sizes = size_breakdown(models[0]), size_breakdown(models[1])
    # Filters 8*2*9 + 8*9 + 4*8 = 248 values; biases 8 + 8 + 4 = 20, each with a 4-byte length
    # prefix per tensor and up to 15 bytes of alignment padding.
    assert 248 * 4 <= float_sizes["weights"] <= 248 * 4 + 3 * 19 + 64  # + the small shape operands
    assert 20 * 4 <= int8_sizes["biases"] <= 20 * 4 + 3 * 19
    assert 248 <= int8_sizes["weights"] < float_sizes["weights"]
    # Per-channel: 8 + 8 + 4 scales and int64 zero points on filters and biases, at least.
    assert float_sizes["quantization"] == 0 and int8_sizes["quantization"] >= 2 * 20 * (4 + 8)


def test_strip_keeps_outputs_and_signatures_and_drops_names(models, tmp_path):
    inputs = [np.random.default_rng(i).random((1, 2, 8, 8), dtype=np.float32) for i in range(4)]
    for path in models:
        out = tmp_path / f"stripped_{path.name}"
        result = strip_tflite(path, out)
        assert result["before"] == path.stat().st_size and result["after"] == out.stat().st_size
        assert result["after"] < result["before"] and result["dropped"]["names"] > 0
        before, after = size_breakdown(path), size_breakdown(out)
        assert sum(after.values()) == result["after"] and after["names"] < before["names"]
        signatures, edges, outputs = _run(path, inputs)
        assert _run(out, inputs)[0] == signatures and _run(out, inputs)[1] == edges
        assert np.array_equal(_run(out, inputs)[2], outputs)  # bit-identical
        # Runtime metadata stays, the converter's own goes.
        assert "min_runtime_version" in _metadata_names(out)
        assert not _metadata_names(out) & {"CONVERSION_METADATA", "keep_stablehlo_constant"}
        again = tmp_path / "again.tflite"
        strip_tflite(path, again)
        assert again.read_bytes() == out.read_bytes()  # deterministic


def test_stripped_int8_keeps_zero_points_and_runs_in_tflite_micro(models, tmp_path):
    from ai_edge_litert import schema_py_generated as schema
    from tflite_micro.python.tflite_micro import runtime

    out = tmp_path / "stripped.tflite"
    strip_tflite(models[1], out)
    model = schema.ModelT.InitFromPackedBuf(out.read_bytes(), 0)
    quantized = [t.quantization for t in model.subgraphs[0].tensors if t.quantization is not None]
    assert quantized and all(len(q.zeroPoint) == len(q.scale) for q in quantized)
    x = np.random.default_rng(0).random((1, 2, 8, 8), dtype=np.float32)
    results = []
    for data in (models[1].read_bytes(), out.read_bytes()):
        interpreter = runtime.Interpreter.from_bytes(data, arena_size=200_000)
        interpreter.set_input(x, 0)
        interpreter.invoke()
        results.append(interpreter.get_output(0).copy())
    assert np.array_equal(results[0], results[1])


def _externalize(source, target, *, min_bytes=64):
    """``source`` with its larger buffers stored after the flatbuffer, as ai-edge-quantizer does for big models."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = schema.ModelT.InitFromPackedBuf(source.read_bytes(), 0)
    moved = {i: bytes(b.data) for i, b in enumerate(model.buffers) if b.data is not None and len(b.data) >= min_bytes}
    for i in moved:
        model.buffers[i].data, model.buffers[i].offset, model.buffers[i].size = None, 1, 1
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    data, places = bytearray(builder.Output()), {}
    for i, payload in moved.items():
        data += bytes(-len(data) % 16)
        places[i] = len(data)
        data += payload
    packed = schema.Model.GetRootAs(data, 0)
    for i, payload in moved.items():
        flatbuffer_utils.update_packed_buffer(packed.Buffers(i), offset=places[i], size=len(payload))
    target.write_bytes(bytes(data))
    return len(moved)


def test_buffers_stored_after_the_flatbuffer_count_and_strip(models, tmp_path):
    external = tmp_path / "external.tflite"
    assert _externalize(models[0], external) >= 2
    inline, outside = size_breakdown(models[0]), size_breakdown(external)
    assert sum(outside.values()) == external.stat().st_size
    assert outside["weights"] + outside["biases"] >= inline["weights"] + inline["biases"] - 64
    out = tmp_path / "stripped.tflite"
    strip_tflite(external, out)
    x = [np.ones((1, 2, 8, 8), np.float32)]
    assert np.array_equal(_run(out, x)[2], _run(models[0], x)[2])


def test_c_array_holds_the_bytes_and_exactly_the_ops(models, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    model = tmp_path / "model.tflite"
    strip_tflite(models[1], model)
    paths = write_c_array(model, tmp_path / "c")
    assert [p.name for p in paths] == ["model_data.cc", "model_data.h", "op_resolver.h"]
    source, header, resolver = (p.read_text() for p in paths)
    body = source.split("g_model[] = {", 1)[1].split("};", 1)[0]
    assert "alignas(16) const unsigned char g_model[]" in source
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body)) == model.read_bytes()
    assert f"const unsigned int g_model_len = {model.stat().st_size};" in source
    assert "extern const unsigned char g_model[];" in header and "extern const unsigned int g_model_len;" in header
    ops = {d["op_name"] for d in Interpreter(model_path=str(model))._get_ops_details()}
    adds = re.findall(r"resolver\.(Add\w+)\(\)", resolver)
    count = int(re.search(r"MicroMutableOpResolver<(\d+)>", resolver).group(1))
    assert set(used_ops(model.read_bytes(), model)) == ops and count == len(ops) == len(set(adds)) == len(adds)
    assert {"AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected", "AddQuantize", "AddDequantize"} <= set(adds)
    assert [p.read_bytes() for p in write_c_array(model, tmp_path / "c")] == [p.read_bytes() for p in paths]
    if shutil.which("g++"):  # the array compiles and has the declared size
        check = tmp_path / "c" / "check.cc"
        check.write_text('#include "model_data.h"\nstatic_assert(sizeof(unsigned char) == 1, "");\n'
                         f"extern const unsigned char g_model[{model.stat().st_size}];\n")
        for unit in ("model_data.cc", "check.cc"):
            subprocess.run(["g++", "-std=c++17", "-c", unit, "-o", "/dev/null"], cwd=tmp_path / "c", check=True)


def test_c_array_refuses_an_op_tflite_micro_lacks(models, tmp_path):
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(models[1].read_bytes(), 0)
    model.operatorCodes[0].builtinCode = model.operatorCodes[0].deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    model.operatorCodes[0].customCode = b"MyVendorOp"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    custom = tmp_path / "custom.tflite"
    custom.write_bytes(bytes(builder.Output()))
    with pytest.raises(ExportError, match="MyVendorOp"):
        write_c_array(custom, tmp_path / "c")
    with pytest.raises(ConfigError, match="name"):
        write_c_array(models[1], tmp_path / "c", name="my-model")
    assert not (tmp_path / "c").exists()


def test_onnx_breakdown_by_hand(tmp_path):
    import onnx
    from onnx import helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "W")
    bias = numpy_helper.from_array(np.ones(2, np.float32), "B")
    node = helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, [1, 2, 2, 2])],
                              initializer=[weight, bias])
    path = tmp_path / "conv.onnx"
    onnx.save(helper.make_model(graph, producer_name="test"), str(path))
    sizes = size_breakdown(path)
    assert sum(sizes.values()) == path.stat().st_size
    # A TensorProto field: tag + length + (dims: 2 bytes each, data_type: 2, raw_data: 2 + payload).
    assert sizes["weights"] == 2 + 4 * 2 + 2 + 2 + 72 and sizes["biases"] == 2 + 2 + 2 + 2 + 8
    assert sizes["names"] > 0 and sizes["metadata"] == 2 + len("test")


def test_bad_inputs_are_typed(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    for call in (lambda: size_breakdown(bad), lambda: strip_tflite(bad, tmp_path / "o.tflite"),
                 lambda: write_c_array(bad, tmp_path / "c")):
        with pytest.raises(ExportError, match="TFL3"):
            call()
    with pytest.raises(ExportError, match="no such file"):
        size_breakdown(tmp_path / "missing.tflite")
    (tmp_path / "model.txt").write_text("x")
    with pytest.raises(ExportError, match="unknown model type"):
        size_breakdown(tmp_path / "model.txt")
