"""Quantize a float `.tflite` to int8 with ai-edge-quantizer (static, calibrated).

Recipe ``static_wi8_ai8``: int8 weights (per-channel where the op has channels, since
per-tensor int8 can collapse depthwise-heavy nets, PITFALLS.md) and int8 activations from
min/max calibration on the user's data.  The graph inputs and outputs stay float32: the
quantizer adds one QUANTIZE after each input and one DEQUANTIZE before each output, so the
artifact is a drop-in replacement for the float model while everything between is int8.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..capture import captured_output
from ..config import Int8Config
from ..errors import ExportError
from ..pipeline import Artifact, Context, replace
from ..runtime import natural_key

__all__ = ["QuantizeTflite", "float_ops", "quantize_tflite"]

_IO_OPS = {"QUANTIZE", "DEQUANTIZE"}


def signature_inputs(path: Path) -> tuple[str, list[str]]:
    """The model's signature key and its input names, in argument order."""
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_path=str(path)).get_signature_list()
    key = sorted(signatures)[0]
    return key, sorted(signatures[key]["inputs"], key=natural_key)


def quantize_tflite(float_path: Path, out_path: Path, samples: list[list[np.ndarray]], *,
                    per_channel: bool) -> None:
    """Write the int8 model of ``float_path``, calibrated on ``samples`` (lists of inputs)."""
    with captured_output():
        from ai_edge_quantizer import qtyping, quantizer
        from ai_edge_quantizer.algorithm_manager import AlgorithmName

    key, names = signature_inputs(float_path)
    calibration = {key: [dict(zip(names, sample)) for sample in samples]}
    granularity = qtyping.QuantGranularity.CHANNELWISE if per_channel else qtyping.QuantGranularity.TENSORWISE
    try:
        with captured_output():
            qt = quantizer.Quantizer(str(float_path))
            # The same settings as the library's `recipe.static_wi8_ai8()`, with the weight
            # granularity made explicit.
            qt.add_static_config(regex=".*", operation_name="*", activation_num_bits=8,
                                 weight_num_bits=8, weight_granularity=granularity)
            # Float I/O: leave the graph's inputs and outputs unquantized (the quantizer then
            # inserts QUANTIZE / DEQUANTIZE at the edges and nowhere else).
            for edge in ("INPUT", "OUTPUT"):
                qt.update_quantization_recipe(regex=".*", operation_name=edge,
                                              algorithm_key=AlgorithmName.NO_QUANTIZE)
            result = qt.calibrate(calibration, num_threads=1)
            quantized = qt.quantize(result, enable_progress_bar=False, enable_progress_report=False)
            quantized.export_model(str(out_path), overwrite=True)
    except Exception as error:
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise ExportError(f"{float_path.name}: ai-edge-quantizer failed: {type(error).__name__}: {first}") from error


def float_ops(path: Path) -> list[dict[str, Any]]:
    """Ops of a `.tflite` that still compute in float (QUANTIZE/DEQUANTIZE at the I/O excepted)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    dtypes = {t["index"]: np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    found = []
    for op in interpreter._get_ops_details():  # the only op listing the Python API has
        if op["op_name"] in _IO_OPS:
            continue
        outputs = [int(i) for i in op["outputs"] if i >= 0]
        if any(dtypes.get(i, "") .startswith("float") for i in outputs):
            found.append({"op": op["op_name"], "name": names.get(outputs[0], "") if outputs else ""})
    return found


@dataclass(frozen=True)
class QuantizeTflite:
    config: Int8Config
    seed: int = 0
    name: str = "int8"
    requires: tuple[str, ...] = ("path",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        samples = calibration_samples(context.calibration_x, self.config.calibration_samples, self.seed)
        out_path = context.workdir / "model.tflite"
        quantize_tflite(artifact.path, out_path, samples, per_channel=self.config.per_channel)
        left_float = float_ops(out_path)
        facts = {"quantizer": "ai-edge-quantizer", "recipe": "static_wi8_ai8",
                 "weights": "int8 per-channel" if self.config.per_channel else "int8 per-tensor",
                 "activations": "int8", "io": "float32", "calibration_samples": len(samples),
                 "float_ops": left_float}
        return replace(artifact, path=out_path, quantized=True), facts


def calibration_samples(x, count: int, seed: int) -> list[list[np.ndarray]]:
    """``count`` samples of ``x`` (one array, or a tuple of them for several inputs)."""
    from ..data import calibration_samples as samples_of

    return samples_of(x, count, seed)
