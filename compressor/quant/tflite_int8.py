"""Quantize a float `.tflite` to int8 with ai-edge-quantizer (static, calibrated).

Recipe ``static_wi8_ai8``: int8 weights (per-channel where the op has channels, since
per-tensor int8 can collapse depthwise-heavy nets, PITFALLS.md) and int8 activations from
min/max calibration on the user's data.  With ``io="float"`` the graph inputs and outputs
stay float32: the quantizer adds one QUANTIZE after each input and one DEQUANTIZE before
each output, so the artifact is a drop-in replacement for the float model while everything
between is int8.  With ``io="int8"`` the inputs and outputs themselves are int8 (the caller
quantizes with the tensors' scale and zero-point), as MCU and NPU runtimes want them.

Ranges come from one recorded calibration pass, by one of three methods (``RANGE_METHODS``).
``min_max`` keeps the true minimum and maximum over all samples.  The library's default
(`Quantizer.calibrate`) keeps an exponential moving average (factor 0.95) of each sample's
min/max instead (``moving_average``); with our batch-of-1 samples that is a typical sample's
range, so every larger activation is clipped: output SQNR 17 dB instead of 38 dB on the zoo
(the ranges were 25-40 % too narrow at every layer, logits clipped by up to 7).  Yet on other
nets the clipping pays (the int8 step shrinks for the common values), so the int8 pass's
``calibration = "auto"`` quantizes with each method and keeps the one whose worst output has
the highest SQNR (``choose_range_method``), and never ships below the hand route's default.
``percentile`` clips min/max at the 99.99th percentile of each activation's magnitude.

``Int8Tweaks`` carries the departures the accuracy remedies (``quant_remedies.py``) make:
activation ranges set by the caller, some layers in int16 activations (int16x8), some in float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..capture import captured_output
from ..errors import ConfigError, ExportError
from ..measure.runtime import natural_key
from ..tflite.names import layer_paths, ops_by_layer
from .symmetric_matmul import matmul_operand_tensors, symmetric_ranges

__all__ = ["MIN_CALIBRATION_SAMPLES", "RANGE_METHODS", "bounded_samples", "Calibration", "Int8Tweaks", "calibrate_min_max", "calibrate_recorded", "derive_ranges", "check_int8_edges", "compute_op_count", "float_ops",
           "layers_by_name", "quantize_tflite", "signature_inputs", "supports_int16"]

_IO_OPS = {"QUANTIZE", "DEQUANTIZE"}
IO_CHOICES = ("float", "int8")
# How activation ranges come from calibration (Calibration.method); "auto" (config) measures them.
RANGE_METHODS = ("min_max", "moving_average", "percentile")


@dataclass(frozen=True)
class Int8Tweaks:
    """Departures from the plain recipe; layers are named by their op's first output tensor."""

    # (tensor name, min, max): activation ranges that replace the calibrated min/max.
    range_overrides: tuple[tuple[str, float, float], ...] = ()
    int16_layers: tuple[str, ...] = ()  # ops computed with int16 activations, int8 weights
    float_layers: tuple[str, ...] = ()  # ops left in float32
    # op types (e.g. "DEPTHWISE_CONV_2D") whose weights get one scale per tensor, not per channel
    per_tensor_ops: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, low, high in self.range_overrides:
            if not low <= 0.0 <= high or low == high:
                raise ConfigError(f"range_overrides[{name!r}]", (low, high), "min <= 0 <= max, min < max")
        both = set(self.int16_layers) & set(self.float_layers)
        if both:
            raise ConfigError("int16_layers", sorted(both), "layers not also in float_layers")


def signature_inputs(path: Path) -> tuple[str, list[str]]:
    """The model's signature key and its input names, in argument order."""
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_path=str(path)).get_signature_list()
    key = sorted(signatures)[0]
    return key, sorted(signatures[key]["inputs"], key=natural_key)


def supports_int16(op_type: str) -> bool:
    """Whether ai-edge-quantizer can give ``op_type`` (a TFLite op name) int16 activations."""
    with captured_output():
        from ai_edge_quantizer import algorithm_manager, qtyping

    try:
        algorithm_manager.check_op_quantization_config(
            algorithm_manager.AlgorithmName.MIN_MAX_UNIFORM_QUANT, qtyping.TFLOperationName(op_type),
            _op_config(qtyping, 16, per_channel=True))
    except ValueError:
        return False
    return True


def _op_config(qtyping: Any, activation_bits: int, *, per_channel: bool) -> Any:
    """As the library's ``add_static_config``: int16 activations symmetric, int8 asymmetric."""
    granularity = qtyping.QuantGranularity.CHANNELWISE if per_channel else qtyping.QuantGranularity.TENSORWISE
    return qtyping.OpQuantizationConfig(
        activation_tensor_config=qtyping.TensorQuantizationConfig(
            num_bits=activation_bits, symmetric=activation_bits == 16),
        weight_tensor_config=qtyping.TensorQuantizationConfig(num_bits=8, symmetric=True, granularity=granularity),
        compute_precision=qtyping.ComputePrecision.INTEGER)


def _layer_regex(name: str) -> str:
    # The library matches regexes against an op's scope: its output names, each ending in ";".
    return f"(^|;){re.escape(name)};"


def _op_types(path: Path) -> dict[str, str]:
    """First output tensor name -> op type, for every op of a `.tflite`."""
    return {name: op_type for op_type, name, _ in ops_by_layer(path)}


def _build_quantizer(float_path: Path, *, per_channel: bool, io: str, tweaks: Int8Tweaks,
                     activation_bits: int = 8) -> Any:
    from ai_edge_quantizer import qtyping, quantizer
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    qt = quantizer.Quantizer(str(float_path))
    # The same settings as the library's `recipe.static_wi8_ai8()` (or `static_wi8_ai16()` with
    # activation_bits=16), granularity made explicit.
    qt.update_quantization_recipe(regex=".*", operation_name="*",
                                  op_config=_op_config(qtyping, activation_bits, per_channel=per_channel))
    if io == "float":
        # Leave the graph's inputs and outputs unquantized (the quantizer then inserts
        # QUANTIZE / DEQUANTIZE at the edges and nowhere else).
        for edge in ("INPUT", "OUTPUT"):
            qt.update_quantization_recipe(regex=".*", operation_name=edge, algorithm_key=AlgorithmName.NO_QUANTIZE)
    for op_type in tweaks.per_tensor_ops:
        qt.update_quantization_recipe(regex=".*", operation_name=op_type,
                                      op_config=_op_config(qtyping, 8, per_channel=False))
    # Per layer: added after the ".*" rules, so they win; named by op type, so the INPUT /
    # OUTPUT pseudo-ops (whose scope is the same tensor name) keep their rule.
    op_types = _op_types(float_path) if tweaks.int16_layers or tweaks.float_layers else {}
    for name in (*tweaks.int16_layers, *tweaks.float_layers):
        if name not in op_types:
            raise ConfigError("int16_layers" if name in tweaks.int16_layers else "float_layers", name,
                              f"the first output tensor of an op of {float_path.name}")
    for name in tweaks.int16_layers:
        qt.update_quantization_recipe(regex=_layer_regex(name), operation_name=op_types[name],
                                      op_config=_op_config(qtyping, 16, per_channel=per_channel))
    for name in tweaks.float_layers:
        qt.update_quantization_recipe(regex=_layer_regex(name), operation_name=op_types[name],
                                      algorithm_key=AlgorithmName.NO_QUANTIZE)
    return qt


def calibrate_min_max(qt: Any, float_path: Path, samples: list[list[np.ndarray]]) -> dict[str, Any]:
    """Each activation's true min and max over ``samples`` (see the module docstring for why)."""
    return derive_ranges(calibrate_recorded(qt, float_path, samples), "min_max")


def calibrate_recorded(qt: Any, float_path: Path, samples: list[list[np.ndarray]]) -> dict[str, Any]:
    """One calibration pass that keeps every update of every tensor's range (``_seq``), so
    min/max and the library's moving average both come from it (``derive_ranges``)."""
    from ai_edge_quantizer import calibrator, recipe_manager

    key, names = signature_inputs(float_path)
    manager = recipe_manager.RecipeManager()
    manager.load_quantization_recipe(qt.get_quantization_recipe())
    calib = calibrator.Calibrator(str(float_path), num_threads=1, qsv_update_func=_recording_update)
    calib.calibrate({key: [dict(zip(names, sample)) for sample in samples]}, manager)
    return calib.get_model_qsvs()


def _recording_update(qsv: dict[str, Any], new_qsv: dict[str, Any]) -> dict[str, Any]:
    sequence = qsv.get("_seq") or [(qsv["min"], qsv["max"])]
    sequence.append((new_qsv["min"], new_qsv["max"]))
    return {**qsv, "min": np.minimum(qsv["min"], new_qsv["min"]), "max": np.maximum(qsv["max"], new_qsv["max"]),
            "_seq": sequence}


def derive_ranges(recorded: dict[str, Any], method: str) -> dict[str, Any]:
    """Ranges by ``method`` from a recorded calibration: "min_max" (true extremes) or
    "moving_average" (ai-edge-quantizer's default: each update folded in with factor 0.95, in
    the order the library's own calibration applies them, so it equals the hand route's)."""
    from ai_edge_quantizer.utils import qsv_utils

    ranges = {}
    for name, qsv in recorded.items():
        plain = {k: v for k, v in qsv.items() if k != "_seq"}
        sequence = qsv.get("_seq")
        if method == "moving_average" and sequence:
            folded: dict[str, Any] = {}
            for low, high in sequence:
                folded = qsv_utils.moving_average_update(folded, {"min": low, "max": high})
            plain.update(min=folded["min"], max=folded["max"])
        ranges[name] = plain
    return ranges


# Fewest calibration samples the cost budget may leave: min/max over fewer is a guess.
MIN_CALIBRATION_SAMPLES = 8


def bounded_samples(samples: list, ops: int, budget: int) -> tuple[list, dict[str, Any]]:
    """At most ``budget // ops`` of ``samples`` (never under MIN_CALIBRATION_SAMPLES): calibration
    visits every op's output of every sample in Python, so its cost is ops x samples."""
    count = min(len(samples), max(MIN_CALIBRATION_SAMPLES, budget // max(ops, 1)))
    return samples[:count], {"ops": ops, "samples": count, "samples_requested": len(samples),
                             "cost": ops * count, "budget": budget}


def compute_op_count(float_path: Path) -> int:
    """Ops whose outputs calibration records (all but QUANTIZE / DEQUANTIZE): the cost of one sample."""
    return sum(1 for op_type, _, _ in ops_by_layer(float_path) if op_type not in _IO_OPS)


class Calibration:
    """Activation ranges of each float file, calibrated once and reused by every candidate.

    ai-edge-quantizer's calibration runs the float model in Python tensor by tensor, per
    sample: an LSTM unrolled over 160 steps (7,700 ops) took ~3 s a sample here, and the
    remedies re-quantize several times.  Ranges are recorded for every op (the plain recipe),
    so a candidate that keeps some layers float or gives them int16 activations reuses them
    (min/max do not depend on the bits); a new float file (equalized, bias-corrected)
    calibrates once.  ``method`` picks how ranges come from the recorded pass (RANGE_METHODS:
    "min_max", "moving_average", or "percentile": min/max clipped at the 99.99th percentile of
    each activation's magnitude, sensitivity.percentile_ranges); every method of one float file
    costs one calibration.  ``log`` has one row per calibration: ops, samples, cost (ops x
    samples) and seconds.
    """

    def __init__(self, samples: list[list[np.ndarray]], *, io: str = "float", method: str = "min_max"):
        if method not in RANGE_METHODS:
            raise ConfigError("int8.calibration", method, " or ".join(RANGE_METHODS))
        self.samples, self.io, self.method = samples, io, method
        self._recorded: dict[str, dict[str, Any]] = {}
        self._ranges: dict[tuple[str, str], dict[str, Any]] = {}
        self._means: dict[str, dict[str, np.ndarray]] = {}
        self.log: list[dict[str, Any]] = []

    def ranges(self, float_path: Path, method: str | None = None) -> dict[str, Any]:
        import hashlib
        import time

        method = method or self.method
        key = hashlib.sha256(Path(float_path).read_bytes()).hexdigest()
        if key not in self._recorded:
            start = time.monotonic()
            with captured_output():
                qt = _build_quantizer(Path(float_path), per_channel=True, io=self.io, tweaks=Int8Tweaks())
                self._recorded[key] = calibrate_recorded(qt, Path(float_path), self.samples)
            ops = compute_op_count(Path(float_path))
            self.log.append({"ops": ops, "samples": len(self.samples), "cost": ops * len(self.samples),
                             "seconds": round(time.monotonic() - start, 3)})
        if (key, method) not in self._ranges:
            if method == "percentile":
                from .sensitivity import percentile_ranges

                clipped = percentile_ranges(Path(float_path), self.samples)
                self._ranges[key, method] = _override_ranges(self.ranges(float_path, "min_max"), clipped)
            else:
                self._ranges[key, method] = derive_ranges(self._recorded[key], method)
        return self._ranges[key, method]

    def input_means(self, float_path: Path) -> dict[str, np.ndarray]:
        """Per-channel mean input of each conv / fully-connected op of ``float_path`` on the
        samples, once per float file (bias correction of the fallback schemes' int8 weights)."""
        import hashlib

        from .bias_correct import layer_input_means

        key = hashlib.sha256(Path(float_path).read_bytes()).hexdigest()
        if key not in self._means:
            self._means[key] = layer_input_means(Path(float_path), self.samples)
        return self._means[key]

    def seconds(self) -> float:
        """The cost of calibrating one more float file, as the last one took."""
        return float(self.log[-1]["seconds"]) if self.log else 0.0


def _override_ranges(qsvs: dict[str, Any], overrides: tuple[tuple[str, float, float], ...]) -> dict[str, Any]:
    result = dict(qsvs)
    for name, low, high in overrides:
        if name in result:
            shape = np.shape(result[name]["min"])
            result[name] = {**result[name], "min": np.full(shape, low, np.float32),
                            "max": np.full(shape, high, np.float32)}
    return result


def quantize_tflite(float_path: Path, out_path: Path, samples: list[list[np.ndarray]], *,
                    per_channel: bool, io: str = "float", tweaks: Int8Tweaks | None = None,
                    calibration: Calibration | None = None, activation_bits: int = 8) -> None:
    """Write the int8 model of ``float_path``, calibrated on ``samples`` (lists of inputs).

    ``io``: "float" (float32 graph inputs/outputs) or "int8" (int8 ones, with scale/zero-point).
    ``calibration``: ranges calibrated once per float file (its samples are used instead of
    ``samples``).  ``activation_bits`` 16: every activation int16 (int16x8), the int16 scheme.
    """
    if io not in IO_CHOICES:
        raise ConfigError("io", io, " or ".join(repr(c) for c in IO_CHOICES))
    tweaks = tweaks or Int8Tweaks()
    try:
        with captured_output():
            qt = _build_quantizer(float_path, per_channel=per_channel, io=io, tweaks=tweaks,
                                  activation_bits=activation_bits)
            ranges = (calibration.ranges(float_path) if calibration is not None
                      else calibrate_min_max(qt, float_path, samples))
            if activation_bits == 8:  # XNNPACK's int8 BATCH_MATMUL wants a symmetric right-hand side
                ranges = symmetric_ranges(ranges, matmul_operand_tensors(float_path))
            qsvs = _override_ranges(ranges, tweaks.range_overrides)
            quantized = qt.quantize(qsvs, enable_progress_bar=False, enable_progress_report=False)
            quantized.export_model(str(out_path), overwrite=True)
    except ConfigError:
        raise
    except Exception as error:
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise ExportError(f"{float_path.name}: ai-edge-quantizer failed: {type(error).__name__}: {first}") from error
    if io == "int8":
        check_int8_edges(out_path)


def check_int8_edges(path: Path) -> None:
    """Raise unless every graph input and output is int8 with a scale.

    A QUANTIZE right after an int8 input is allowed: it requantizes to int16 for a layer the
    remedies gave int16 activations (integer to integer, which the NPU runs); a float edge
    could only come with a float input or output, which the dtype check refuses.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    edges = {"input": interpreter.get_input_details(), "output": interpreter.get_output_details()}
    for kind, details in edges.items():
        for detail in details:
            scale, _ = detail["quantization"]
            if np.dtype(detail["dtype"]) != np.int8 or scale <= 0.0:
                raise ExportError(f"{path.name}: graph {kind} {detail['name']!r} is "
                                  f"{np.dtype(detail['dtype']).name} (scale {scale}), not int8")


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
            name = names.get(outputs[0], "") if outputs else ""
            found.append({"op": op["op_name"], "name": name, "layers": layer_paths(name)})
    return found


def layers_by_name(float_path: Path, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Each name (a module path like ``features.0``, or a tensor name) -> the output tensors of its ops."""
    ops = [(tensor, paths) for op_type, tensor, paths in ops_by_layer(float_path) if op_type not in _IO_OPS]
    found: dict[str, list[str]] = {}
    for name in names:
        tensors = [tensor for tensor, paths in ops if tensor == name
                   or any(p == name or p.startswith(name + ".") for p in paths)]
        if not tensors:
            known = sorted({p for _, paths in ops for p in paths})
            raise ConfigError("int8.float_ops", name, f"a layer of {float_path.name}: "
                              + ", ".join(known[:6]) + (", ..." if len(known) > 6 else ""))
        found[name] = sorted(set(tensors), key=tensors.index)
    return found
