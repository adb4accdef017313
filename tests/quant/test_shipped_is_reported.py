"""The shipped file is the reported file: every step after the remedies re-quantizes from the float file,
weight granularity and ranges the kept candidate came from.

The model needs equalization (conv1's channel 0 is 1000x the others, conv2 takes it back), and its
head has a GELU, which XNNPACK has no int8 kernel for, so the float-for-speed step re-quantizes after
the remedies: the artifact must still carry the equalized weights the report lists.
"""

from __future__ import annotations


import numpy as np
import torch
from torch import nn

from compressor.passes.quantize_tflite import _Requantize
from compressor.quant.tflite_int8 import Calibration, Int8Tweaks
from compressor.tflite.flatbuffer import float_constant, read_model
from tests.quant.outlier_nets import OutlierNet
from tests.helpers import compress_pt2


class _NeedsEqualizing(OutlierNet):
    def forward(self, x):
        y = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.head(nn.functional.gelu(y.mean(dim=(2, 3))))


def _conv_weights(path):
    """Per-output-channel max |w| of the first conv (conv1; the artifact's names are stripped), dequantized."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(path))
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    for op in interpreter._get_ops_details():
        if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weight = details[op["inputs"][1]]
            value = interpreter.get_tensor(weight["index"]).astype(np.float64)
            scales = weight["quantization_parameters"]["scales"]
            axis = 0 if op["op_name"] == "CONV_2D" else 3
            if scales.size:
                shape = [1] * value.ndim
                shape[weight["quantization_parameters"]["quantized_dimension"]] = scales.size
                value = value * scales.reshape(shape)
            return np.abs(np.moveaxis(value, axis, 0)).reshape(value.shape[axis], -1).max(axis=1)
    raise AssertionError(f"no conv in {path}")


def test_float_for_speed_keeps_the_equalized_weights(tmp_path):
    torch.manual_seed(0)
    model = _NeedsEqualizing().eval()
    x = np.random.default_rng(0).random((48, 1, 12, 12), dtype=np.float32)
    result, report = compress_pt2(model, x, tmp_path, recipe=None)
    step = next(s for s in report["steps"] if s["name"] == "int8")
    assert "equalize" in step["remedies"]["used"]
    assert step["float_for_speed"], "the GELU must be re-quantized in float after the remedies"
    from compressor.quant.equalize import equalize_tflite

    equalize_tflite(result.out_dir / "model_float.tflite", tmp_path / "equalized.tflite")  # the same rewrite
    shipped, equalized = _conv_weights(result.out_dir / "model.tflite"), _conv_weights(tmp_path / "equalized.tflite")
    original = _conv_weights(result.out_dir / "model_float.tflite")
    assert np.allclose(shipped, equalized, rtol=0.02)
    assert original[0] > 10 * shipped[0]  # the outlier channel the export has is gone from the artifact
    assert step["float_source"]["rewritten_by"] == ["equalize"] and not step["float_source"]["is_export"]


def test_requantize_carries_source_granularity_and_ranges(tmp_path):
    """The bias-corrected / equalized source, per-tensor weights and percentile ranges all reach the file."""
    from compressor.files import write_atomically
    from compressor.passes.export_tflite import export_tflite
    from compressor.tflite.flatbuffer import op_names, pack_model

    torch.manual_seed(0)
    model = _NeedsEqualizing().eval()
    x = np.random.default_rng(0).random((16, 1, 12, 12), dtype=np.float32)
    original = tmp_path / "float.tflite"
    export_tflite(model, (torch.from_numpy(x[:1]),), original)
    # a "remedied" source: conv1's bias shifted, as bias correction does
    flat = read_model(original)
    sub = flat.subgraphs[0]
    names = op_names(flat)
    conv1 = next(op for op in sub.operators if names[op.opcodeIndex] == "CONV_2D")
    buffer, bias = float_constant(flat, sub, int(conv1.inputs[2]))
    buffer.data = np.frombuffer((bias + 0.5).astype(np.float32).tobytes(), np.uint8)
    source = tmp_path / "remedied.tflite"
    write_atomically(source, pack_model(flat, original.stat().st_size))
    out = tmp_path / "model.tflite"
    calibration = Calibration([[x[i:i + 1]] for i in range(8)])
    conv1_out = sub.tensors[int(conv1.outputs[0])].name.decode()
    tweaks = Int8Tweaks(range_overrides=((conv1_out, 0.0, 7.0),))
    assert _Requantize(source, out, calibration, "float", per_channel=False)(tweaks)

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(out))
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    op = next(op for op in interpreter._get_ops_details() if op["op_name"] == "CONV_2D")
    weight, bias_q, output = (details[op["inputs"][1]], details[op["inputs"][2]], details[op["outputs"][0]])
    assert weight["quantization_parameters"]["scales"].size == 1  # per-tensor, as the kept candidate
    bias_scale = bias_q["quantization_parameters"]["scales"]
    shipped_bias = interpreter.get_tensor(bias_q["index"]) * bias_scale
    assert np.allclose(shipped_bias, bias + 0.5, atol=float(bias_scale.max()))  # the source's bias
    assert output["quantization_parameters"]["scales"][0] == np.float32(7.0 / 255.0)  # the overridden range
