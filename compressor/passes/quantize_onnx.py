"""Quantize a float `.onnx` to int8 with onnxruntime's static quantizer.

QDQ format, per-channel int8 weights and uint8 activations, after ORT's pre-processing
(symbolic shape inference and graph optimisation, which also folds BatchNorm): on this
project's CPUs int8 activations gave no speedup and the QOperator format ran 6–11× slower
than fp32 (PITFALLS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..capture import captured_output
from ..config import Int8Config
from ..errors import ConfigError, ExportError
from ..artifact import Artifact, Context, PassBase, replace
from ..data import calibration_samples

__all__ = ["QuantizeOnnx", "quantize_onnx"]


def quantize_onnx(float_path, out_path, samples: list[list[np.ndarray]], *, per_channel: bool) -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    names = [i.name for i in ort.InferenceSession(str(float_path), providers=["CPUExecutionProvider"]).get_inputs()]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter([dict(zip(names, sample)) for sample in samples])

        def get_next(self):
            return next(self._feeds, None)

    prepared = out_path.with_name(out_path.stem + "_prepared.onnx")
    try:
        with captured_output():
            quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=False)
            quantize_static(str(prepared), str(out_path), Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=per_channel, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    except Exception as error:
        raise ExportError(f"{float_path.name}: onnxruntime quantization failed: "
                          f"{type(error).__name__}: {str(error).strip()[:200]}") from error
    finally:
        prepared.unlink(missing_ok=True)


@dataclass(frozen=True)
class QuantizeOnnx(PassBase):
    config: Int8Config
    seed: int = 0
    name: str = "int8"
    requires: tuple[str, ...] = ("path",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        from .quantize_tflite import resolve_io

        if resolve_io(self.config.io, context.target) == "int8":
            raise ConfigError("int8.io", "int8", "float with --format onnx (a QDQ graph quantizes at its edges; "
                              "int8 inputs and outputs are made for .tflite)")
        if self.config.float_ops:
            raise ConfigError("int8.float_ops", ",".join(self.config.float_ops), "nothing with --format onnx "
                              "(layers kept in float are chosen in .tflite artifacts)")
        if self.config.int16_ops:
            raise ConfigError("int8.int16_ops", ",".join(self.config.int16_ops), "nothing with --format onnx "
                              "(int16 layers are chosen in .tflite artifacts)")
        samples = calibration_samples(context.calibration_x, self.config.calibration_samples, self.seed,
                                      layout=artifact.layout)
        out_path = context.workdir / "model.onnx"
        quantize_onnx(artifact.path, out_path, samples, per_channel=self.config.per_channel)
        facts = {"quantizer": "onnxruntime.quantization", "format": "QDQ",
                 "weights": "int8 per-channel" if self.config.per_channel else "int8 per-tensor",
                 "activations": "uint8", "io": "float32", "calibration_samples": len(samples)}
        return replace(artifact, path=out_path, quantized=True), facts
