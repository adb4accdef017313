"""graph_ir: real .tflite and .onnx exports of a tiny model, checked against hand-counted MACs."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from compressor.cost import estimate
from compressor.errors import ExportError
from compressor.graph.ir import OP_KINDS
from compressor.graph.read import read_graph
from compressor.targets.load import list_targets

INPUT_SHAPE = (1, 3, 16, 16)

# Hand-counted MACs: out elements × (Cin / groups) × kernel elements, FC out × K.
CONV_MACS = 16 * 16 * 8 * 3 * 9  # Conv2d(3, 8, 3, padding=1) on 16×16
DEPTHWISE_MACS = 16 * 16 * 8 * 9  # Conv2d(8, 8, 3, padding=1, groups=8)
POINTWISE_MACS = 16 * 16 * 16 * 8  # Conv2d(8, 16, 1)
STRIDED_MACS = 8 * 8 * 4 * 16 * 9  # Conv2d(16, 4, 3, stride=2, padding=1) -> 8×8
FC_MACS = 10 * 4  # Linear(4, 10)
COMPUTE = [("conv", CONV_MACS), ("depthwise", DEPTHWISE_MACS), ("pointwise", POINTWISE_MACS),
           ("conv", STRIDED_MACS), ("fully_connected", FC_MACS)]
PARAMS = (8 * 3 * 9 + 8) + (8 * 9 + 8) + (16 * 8 + 16) + (4 * 16 * 9 + 4) + (10 * 4 + 10)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.down = nn.Conv2d(16, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        y = self.dw(y) + y
        y = self.down(torch.relu(self.pw(y)))
        return torch.softmax(self.fc(y.mean(dim=(2, 3))), dim=-1)


def _calibration(n: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(INPUT_SHAPE).astype(np.float32) for _ in range(n)]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """The same model as float .tflite, int8 .tflite, float .onnx and QDQ int8 .onnx."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # converter deprecation chatter
        return _export_all(tmp_path_factory.mktemp("graphs"))


def _export_all(folder):
    torch.manual_seed(0)
    model = Tiny().eval()
    x = torch.randn(*INPUT_SHAPE)

    import litert_torch
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    paths = {"tflite": folder / "tiny.tflite", "tflite_int8": folder / "tiny_int8.tflite",
             "onnx": folder / "tiny.onnx", "onnx_qdq": folder / "tiny_qdq.onnx"}
    litert_torch.convert(model, (x,)).export(str(paths["tflite"]))
    signatures = Interpreter(model_path=str(paths["tflite"])).get_signature_list()
    key = sorted(signatures)[0]
    name = signatures[key]["inputs"][0]
    qt = quantizer.Quantizer(str(paths["tflite"]))
    qt.load_quantization_recipe(recipe.static_wi8_ai8())
    result = qt.calibrate({key: [{name: sample} for sample in _calibration()]})
    qt.quantize(result).export_model(str(paths["tflite_int8"]), overwrite=True)

    torch.onnx.export(model, (x,), str(paths["onnx"]), dynamo=False, input_names=["x"], output_names=["y"])
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.samples = iter(_calibration())

        def get_next(self):
            return next(({"x": s} for s in self.samples), None)

    quantize_static(str(paths["onnx"]), str(paths["onnx_qdq"]), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return paths


def compute_ops(graph):
    return [op for op in graph.ops if op.kind in ("conv", "depthwise", "pointwise", "fully_connected")]


@pytest.mark.parametrize("which", ["tflite", "tflite_int8", "onnx", "onnx_qdq"])
def test_kinds_macs_and_params_match_hand_counts(artifacts, which):
    graph = read_graph(artifacts[which])
    assert graph.format == which.split("_")[0]
    assert [(op.kind, op.macs) for op in compute_ops(graph)] == COMPUTE
    assert graph.macs == sum(macs for _, macs in COMPUTE)
    assert graph.params == PARAMS
    assert all(op.kind in OP_KINDS for op in graph.ops)
    assert all(op.macs == 0 for op in graph.ops if op.kind not in ("conv", "depthwise", "pointwise",
                                                                    "fully_connected"))
    assert len(graph.inputs) == 1 and len(graph.outputs) == 1
    assert graph.tensors[graph.inputs[0]].shape == INPUT_SHAPE


def test_float_tflite_layouts_dtypes_and_bytes(artifacts):
    graph = read_graph(artifacts["tflite"])
    conv, dw, pw, down, fc = compute_ops(graph)
    assert [op.op_type for op in (conv, dw, pw, down, fc)] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D",
                                                                 "CONV_2D", "FULLY_CONNECTED"]
    # TFLite layouts: CONV_2D OHWI, DEPTHWISE 1×H×W×C, FULLY_CONNECTED [out, in].
    assert graph.tensors[conv.weights[0]].shape == (8, 3, 3, 3)
    assert graph.tensors[dw.weights[0]].shape == (1, 3, 3, 8)
    assert graph.tensors[fc.weights[0]].shape == (10, 4)
    assert all(op.compute_dtype == "float32" for op in graph.ops)
    assert conv.weight_bytes == (8 * 3 * 9 + 8) * 4
    assert conv.input_bytes == 3 * 16 * 16 * 4 and conv.output_bytes == 8 * 16 * 16 * 4
    assert graph.ops[-1].op_type == "SOFTMAX" and graph.ops[-1].kind == "other"
    assert graph.tensors[conv.outputs[0]].name == conv.name  # named after its output tensor


def test_int8_tflite_computes_in_int8(artifacts):
    graph = read_graph(artifacts["tflite_int8"])
    conv = compute_ops(graph)[0]
    assert all(op.compute_dtype == "int8" for op in compute_ops(graph))
    assert graph.tensors[conv.weights[0]].dtype == "int8"
    assert graph.tensors[conv.weights[1]].dtype == "int32"
    assert conv.weight_bytes == 8 * 3 * 9 + 8 * 4  # int8 weights, int32 bias
    assert conv.input_bytes == 3 * 16 * 16 and conv.output_bytes == 8 * 16 * 16


def test_float_onnx_kinds(artifacts):
    graph = read_graph(artifacts["onnx"])
    assert [op.op_type for op in compute_ops(graph)] == ["Conv", "Conv", "Conv", "Conv", "Gemm"]
    assert all(op.compute_dtype == "float32" for op in graph.ops)
    assert graph.ops[0].name  # a readable name for every op
    assert {op.op_type for op in graph.ops} >= {"Relu", "Add", "ReduceMean", "Softmax"}


def test_qdq_onnx_folds_quantize_dequantize(artifacts):
    graph = read_graph(artifacts["onnx_qdq"])
    ops = compute_ops(graph)
    assert all(op.compute_dtype == "int8" for op in ops)
    conv = ops[0]
    # The DequantizeLinear of the int8 initializer became the conv's int8 weight.
    assert graph.tensors[conv.weights[0]].dtype == "int8" and graph.tensors[conv.weights[0]].is_constant
    assert conv.weight_bytes == 8 * 3 * 9 + 8 * 4
    assert graph.tensors[conv.inputs[0]].dtype == "uint8"  # reads the quantized activation
    assert conv.input_bytes == 3 * 16 * 16 and conv.output_bytes == 8 * 16 * 16
    # Only the float edges keep a Q or DQ: one QuantizeLinear in, one DequantizeLinear out.
    quantize = [op.op_type for op in graph.ops if op.kind == "quantize"]
    assert quantize.count("QuantizeLinear") == 1 and quantize.count("DequantizeLinear") == 1
    assert graph.tensors[graph.inputs[0]].dtype == "float32"


def _rewrite_opcodes(source, target, change) -> None:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(source.read_bytes(), 0)
    for code in model.operatorCodes:
        change(code)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.write_bytes(builder.Output())


def test_tflite_opcode_in_deprecated_field_only(artifacts, tmp_path):
    """Files from before schema v3a hold the op code in `deprecated_builtin_code` alone."""
    def old_style(code):
        code.deprecatedBuiltinCode, code.builtinCode = max(code.builtinCode, code.deprecatedBuiltinCode), 0

    path = tmp_path / "old.tflite"
    _rewrite_opcodes(artifacts["tflite"], path, old_style)
    assert [op.op_type for op in read_graph(path).ops] == [op.op_type for op in read_graph(artifacts["tflite"]).ops]


def test_tflite_opcode_above_127_uses_builtin_code(artifacts, tmp_path):
    """Codes above 127 live in `builtin_code`; the old int8 field then holds the placeholder 127."""
    from ai_edge_litert import schema_py_generated as schema

    def softmax_to_gelu(code):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.SOFTMAX:
            code.deprecatedBuiltinCode = schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
            code.builtinCode = schema.BuiltinOperator.GELU

    path = tmp_path / "gelu.tflite"
    _rewrite_opcodes(artifacts["tflite"], path, softmax_to_gelu)
    last = read_graph(path).ops[-1]
    assert schema.BuiltinOperator.GELU > 127
    assert (last.op_type, last.kind) == ("GELU", "elementwise")


def test_unknown_onnx_op_is_kept_as_other(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("FancyOp", ["x"], ["y"], domain="example.custom", name="fancy")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("example.custom", 1)])
    path = tmp_path / "custom.onnx"
    onnx.save(model, str(path))
    parsed = read_graph(path)
    assert [(op.name, op.op_type, op.kind, op.macs) for op in parsed.ops] == [("fancy", "FancyOp", "other", 0)]
    assert parsed.tensors[parsed.ops[0].outputs[0]].size_bytes == 16


@pytest.mark.parametrize("name, content", [("garbage.tflite", b"not a flatbuffer at all"),
                                           ("garbage.onnx", b"\x00\x01 not a protobuf \xff\xff"),
                                           ("model.pb", b"whatever")])
def test_unreadable_file_is_an_export_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ExportError) as error:
        read_graph(path)
    assert name in str(error.value) and "\n" not in str(error.value)


def test_missing_file_is_an_export_error(tmp_path):
    with pytest.raises(ExportError, match="no such file"):
        read_graph(tmp_path / "absent.tflite")


@pytest.mark.parametrize("which", ["tflite", "tflite_int8", "onnx", "onnx_qdq"])
def test_every_artifact_costs_on_every_shipped_target(artifacts, which):
    from compressor.errors import TargetError

    graph = read_graph(artifacts[which])
    needed = {op.compute_dtype for op in graph.ops if op.macs}
    for profile in list_targets():
        missing = needed - set(profile.compute.macs_per_cycle)
        if missing:
            # An int8-only NPU has no rate for float ops: the plain model refuses, naming the dtype
            # (compressor.measure.estimate costs such ops on the target's fallback CPU instead).
            with pytest.raises(TargetError, match="no compute rate"):
                estimate(graph, profile, artifact_size_bytes=1)
            continue
        result = estimate(graph, profile, artifact_size_bytes=artifacts[which].stat().st_size)
        assert result.latency_ms > 0 and result.energy_mj > 0 and result.peak_ram_bytes > 0
        assert result.flash_bytes == artifacts[which].stat().st_size
        assert len(result.per_op) == len(graph.ops)
        json.dumps(result.to_dict())


def test_int8_is_cheaper_than_float_on_the_phone(artifacts):
    from compressor.targets.load import load_target

    phone = load_target("android-arm64")
    costs = {which: estimate(read_graph(artifacts[which]), phone, artifact_size_bytes=1)
             for which in ("tflite", "tflite_int8")}
    assert costs["tflite_int8"].latency_ms < costs["tflite"].latency_ms
    assert costs["tflite_int8"].peak_ram_bytes < costs["tflite"].peak_ram_bytes


def test_broadcast_runs_fold_shapes_as_xnnpack_does():
    from compressor.graph.ir import broadcast_runs

    # PReLU's per-channel slopes and an SE block's scale: one kernel call per position.
    assert broadcast_runs((1, 128, 128, 8), [(1, 128, 128, 8), (1, 1, 8)]) == 128 * 128
    assert broadcast_runs((1, 64, 64, 16), [(1, 64, 64, 16), (1, 1, 1, 16)]) == 64 * 64
    # A spatial mask broadcast over channels: the channels are the run too.
    assert broadcast_runs((1, 32, 32, 24), [(1, 32, 32, 24), (1, 32, 32, 1)]) == 32 * 32
    # onnxruntime's NCHW SE scale: runs of H x W, one per channel.
    assert broadcast_runs((1, 64, 56, 56), [(1, 64, 56, 56), (1, 64, 1, 1)]) == 64
    # Nothing to fold: equal shapes, a scalar, one operand, an unknown dim.
    assert broadcast_runs((1, 128, 128, 8), [(1, 128, 128, 8), (1, 128, 128, 8)]) == 0
    assert broadcast_runs((1, 128, 128, 8), [(1, 128, 128, 8), (1,)]) == 0
    assert broadcast_runs((1, 128, 128, 8), [(1, 128, 128, 8)]) == 0
    assert broadcast_runs((1, 128, 128, 8), [(1, -1, 128, 8), (1, 1, 8)]) == 0


def test_mediapipe_transposed_conv_is_costed_as_one(tmp_path):
    """MediaPipe's Convolution2DTransposeBias custom op (input, weight OHWI, bias): XNNPACK runs
    it as its deconvolution, so it has a transposed conv's MACs and TRANSPOSE_CONV's terms."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import microbench_kernels as mk

    from compressor.graph.read import read_graph
    from compressor.targets.types import KernelTerms, RuntimeCost

    b = mk._TfliteBuilder()
    x = b.tensor((1, 128, 128, 16))
    w = b.tensor((1, 2, 2, 16), np.ones((1, 2, 2, 16)))
    bias = b.tensor((1,), np.zeros(1))
    y = b.tensor((1, 256, 256, 1))
    b.op("CUSTOM", [x, w, bias], [y], custom="Convolution2DTransposeBias")
    b.save(tmp_path / "deconv.tflite", [x], [y])
    (op,) = read_graph(tmp_path / "deconv.tflite").ops
    assert (op.op_type, op.kind, op.macs) == ("Convolution2DTransposeBias", "conv", 128 * 128 * 16 * 2 * 2)
    runtime = RuntimeCost(dispatch_overhead_us=0.0, kernels={"float32": {
        "conv": KernelTerms(mac_ps=1.0), "TRANSPOSE_CONV": KernelTerms(mac_ps=50.0)}})
    assert runtime.kernel_terms("float32", op.op_type, op.kind).mac_ps == 50.0
