"""One file of a fallback scheme: a float `.tflite` quantized by dynamic-range, int16-activation
or weight-only int8 (ai-edge-quantizer's recipes), some layers kept float, biases corrected.

Which scheme ships, and which layers it keeps float, is schemes.py's question; this module only
makes the file for a given choice, and names the float file's weight layers the choice is made of.

Bias correction (``bias_correction=True``; Nagel et al. 2019, §4.2, as bias_correct.py does for
static int8): dynamic-range and weight-only int8 keep float biases beside int8 weights, so each
quantized layer's bias absorbs (W_q - W) E[x], with W_q read from the quantized file and E[x]
measured once per float file on the calibration samples (``Calibration.input_means``).  Layers
kept float are left alone.  schemes.py keeps it for a scheme only when it measures better.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..capture import captured_output
from ..errors import CompressorError, ExportError
from .tflite_int8 import Calibration, quantize_tflite

__all__ = ["SCHEMES", "ops_regex", "quantize_scheme", "weight_layers"]

# name -> (ai-edge-quantizer recipe it follows, what it computes in)
SCHEMES: dict[str, tuple[str, str]] = {
    "static_int8": ("static_wi8_ai8", "int8 weights, int8 activations (calibrated)"),
    "dynamic_range": ("dynamic_wi8_afp32", "int8 weights, activations quantized to int8 on the fly per op"),
    "int16_activations": ("static_wi8_ai16", "int8 weights, int16 activations (calibrated)"),
    "weight_only": ("weight_only_wi8_afp32", "int8 weights dequantized to float at load, float compute"),
}


def quantize_scheme(float_path: Path, out_path: Path, scheme: str, *, calibration: Calibration | None,
                    per_channel: bool = True, float_ops: tuple[str, ...] = (),
                    only_ops: tuple[str, ...] | None = None, bias_correction: bool = False) -> None:
    """Write ``float_path`` quantized with ``scheme`` (a key of SCHEMES other than static_int8).

    ``float_ops`` (first output tensor names) stay float; with ``only_ops`` every op but those
    stays float (dynamic-range and weight-only only).  ``bias_correction`` (dynamic-range and
    weight-only; needs ``calibration``): the float bias of every layer whose weights went int8
    absorbs the mean output shift its rounding makes, measured on the calibration samples."""
    if scheme == "int16_activations":
        quantize_tflite(float_path, out_path, calibration.samples, per_channel=per_channel, io="float",
                        calibration=calibration, activation_bits=16)
        return
    try:
        with captured_output():
            from ai_edge_quantizer import qtyping, quantizer, recipe
            from ai_edge_quantizer.algorithm_manager import AlgorithmName

            recipes = {"dynamic_range": recipe.dynamic_wi8_afp32, "weight_only": recipe.weight_only_wi8_afp32}
            qt = quantizer.Quantizer(str(float_path), recipes[scheme]())
            rules = list(qt.get_quantization_recipe())
            if only_ops is not None:
                qt.update_quantization_recipe(regex=".*", operation_name="*", algorithm_key=AlgorithmName.NO_QUANTIZE)
                for rule in rules:  # the scheme's own rules, for these ops alone
                    qt.update_quantization_recipe(regex=ops_regex(only_ops), operation_name=rule["operation"],
                                                  op_config=qtyping.OpQuantizationConfig.from_dict(rule["op_config"]),
                                                  algorithm_key=rule["algorithm_key"])
            if float_ops:  # added after the ".*" rules, so it wins
                qt.update_quantization_recipe(regex=ops_regex(float_ops), operation_name="*",
                                              algorithm_key=AlgorithmName.NO_QUANTIZE)
            qt.quantize().export_model(str(out_path), overwrite=True)
        if bias_correction:
            from .bias_correct import correct_quantized_biases

            correct_quantized_biases(float_path, out_path, calibration.input_means(float_path))
    except CompressorError:
        raise
    except Exception as error:
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise ExportError(f"{Path(float_path).name}: ai-edge-quantizer failed on {SCHEMES[scheme][0]}: "
                          f"{type(error).__name__}: {first}") from error


def weight_layers(float_path: Path) -> dict[str, dict[str, Any]]:
    """Weight layers of a float `.tflite`: a name (the module path, else the weight tensor's
    name) -> its ops' first output tensor names and its weight elements.  Every op that reads
    the same weight tensor (a recurrent matmul called once per step) belongs to one layer."""
    from ..graph.ir import elements
    from ..graph.read import read_graph
    from ..tflite.names import layer_path

    graph = read_graph(float_path)
    layers: dict[str, dict[str, Any]] = {}
    by_tensor: dict[int, str] = {}
    for op in graph.ops:
        if not op.weights or graph.tensors[op.weights[0]].dtype not in ("float32", "float16"):
            continue
        weight = op.weights[0]
        if weight not in by_tensor:
            path = layer_path(op.name) or graph.tensors[weight].name
            name, count = path, 1
            while name in layers:  # two weight tensors under one module path
                count += 1
                name = f"{path}#{count}"
            by_tensor[weight] = name
            layers[name] = {"ops": [], "elements": elements(graph.tensors[weight].shape)}
        layers[by_tensor[weight]]["ops"].append(op.name)
    return layers


def ops_regex(names: tuple[str, ...]) -> str:
    # ai-edge-quantizer matches a rule's regex against an op's scope: its output names, each ending in ";".
    return "(^|;)(" + "|".join(re.escape(name) for name in names) + ");"
