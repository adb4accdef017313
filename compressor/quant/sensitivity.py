"""Per-layer int8 sensitivity: how much each op's output in the int8 model departs from float.

Both models run on the same samples with every intermediate tensor kept
(``experimental_preserve_all_tensors``); tensors are matched by name, since
ai-edge-quantizer gives each quantized tensor the name of the float tensor it replaces
(QUANTIZE / DEQUANTIZE ops it inserts get new names and are skipped).  Integer tensors are
dequantized with their own scale and zero-point.  Per tensor, signal power (float) and noise
power (float - dequantized int8) are summed over all samples and give one SQNR in dB.

The SQNR of an op's output includes the error of everything before it, so rows also carry
``own_sqnr_db``, an estimate of the op's own loss: the noise-to-signal ratio (NSR,
10^(-SQNR/10)) of its output minus that of its worst input (graph inputs count as exact,
so the first op's share includes the input's quantization), back in dB.  Pass-through ops
(RESHAPE, TRANSPOSE) add about nothing (120 dB, "exact"); the op whose quantization loses
information scores lowest.  ``quant_remedies.py`` picks layers by it.  SQNR is power-weighted:
channels dwarfed by a large one can be lost in a tensor that still scores well, and the
loss then shows at the op that reads it (see ``quant_remedies._worst_layers``).

Layers are named by their op's first output tensor in the float `.tflite`; litert-torch
writes module paths into those names, which ``layer_path`` turns back into ``features.0``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ExportError
from ..tflite.names import layer_path

__all__ = ["EXACT_SQNR_DB", "MAX_SAMPLES", "PERCENTILE", "activation_ops", "layer_path", "layer_sensitivity",
           "open_all_tensors", "percentile_ranges", "run_all_tensors"]

PERCENTILE = 99.99  # of |activation|: clips about 1 value in 10,000 (remedies.py)
MAX_SAMPLES = 32  # enough for a stable per-tensor SQNR, and keeps the two runs under seconds
_SKIPPED_OPS = {"QUANTIZE", "DEQUANTIZE"}
# An exact tensor (noise power 0) reports this instead of infinity, so rows stay JSON numbers;
# float32 round-off alone sits near 140 dB, so anything above 120 dB is "no quantization loss".
EXACT_SQNR_DB = 120.0


@dataclass
class _Power:
    signal: float = 0.0
    noise: float = 0.0

    def sqnr_db(self) -> float:
        if self.noise <= 0.0:
            return EXACT_SQNR_DB
        if self.signal <= 0.0:
            return -EXACT_SQNR_DB
        return min(EXACT_SQNR_DB, 10.0 * math.log10(self.signal / self.noise))


def open_all_tensors(path: Path) -> Any:
    """A LiteRT interpreter that keeps every intermediate tensor (reference CPU kernels)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        with warnings.catch_warnings():  # "preserve_all_tensors is for debugging": that is what we do
            warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors", category=UserWarning)
            return Interpreter(model_path=str(path), experimental_preserve_all_tensors=True,
                               experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    except (RuntimeError, ValueError) as error:
        raise ExportError(f"{Path(path).name}: LiteRT could not load it: {error}") from error


def run_all_tensors(interpreter: Any, sample: list[np.ndarray]) -> None:
    """Run one sample (batch-1 arrays in signature argument order), quantizing integer inputs."""
    from ..measure.runtime import natural_key

    key = sorted(interpreter.get_signature_list())[0]
    runner = interpreter.get_signature_runner(key)
    details = runner.get_input_details()
    feed = {}
    for name, x in zip(sorted(details, key=natural_key), sample):
        detail = details[name]
        scale, zero_point = detail["quantization"]
        if scale:
            info = np.iinfo(detail["dtype"])
            x = np.clip(np.round(x / scale) + zero_point, info.min, info.max)
        feed[name] = np.asarray(x).astype(detail["dtype"]).reshape(detail["shape"])
    runner(**feed)


def _dequantized(interpreter: Any, detail: dict) -> np.ndarray:
    value = interpreter.get_tensor(detail["index"])
    if np.issubdtype(value.dtype, np.floating):
        return value.astype(np.float64)
    params = detail["quantization_parameters"]
    scales, zero_points = params["scales"], params["zero_points"]
    if scales.size == 0:
        return value.astype(np.float64)
    if scales.size == 1:
        return (value.astype(np.float64) - zero_points[0]) * scales[0]
    shape = [1] * value.ndim
    shape[params["quantized_dimension"]] = scales.size  # a per-channel activation (rare)
    return (value.astype(np.float64) - zero_points.reshape(shape)) * scales.reshape(shape)


def activation_ops(interpreter: Any) -> list[tuple[str, str, list[int]]]:
    """(first output tensor index, op type, input indices) of every op but (DE)QUANTIZE."""
    return [(int(op["outputs"][0]), op["op_name"], [int(i) for i in op["inputs"] if i >= 0])
            for op in interpreter._get_ops_details()  # the only op listing the Python API has
            if op["op_name"] not in _SKIPPED_OPS and len(op["outputs"]) and op["outputs"][0] >= 0]


def layer_sensitivity(float_path: Path, int8_path: Path, samples: list[list[np.ndarray]]) -> list[dict]:
    """Per-op SQNR (dB) of the int8 model's outputs against the float model's, worst first.

    ``samples``: lists of batch-1 inputs in the artifact's layout, as ``quantize_tflite``
    takes them (at most ``MAX_SAMPLES`` are used).  Rows: {"name", "layer", "op", "sqnr_db",
    "own_sqnr_db", "dtype"}; ops of the float model whose output the int8 model does not keep
    under the same name are left out.
    """
    float_run, int8_run = open_all_tensors(float_path), open_all_tensors(int8_path)
    float_details = {d["index"]: d for d in float_run.get_tensor_details()}
    int8_by_name = {d["name"]: d for d in int8_run.get_tensor_details()}
    ops = [(float_details[out]["name"], op_type, [float_details[i]["name"] for i in inputs])
           for out, op_type, inputs in activation_ops(float_run)]
    ops = [op for op in ops if op[0] in int8_by_name]
    if not ops:
        raise ExportError(f"{Path(int8_path).name}: no op output matches a tensor of {Path(float_path).name} "
                          "by name")
    float_by_name = {d["name"]: d for d in float_details.values()}
    powers = {name: _Power() for name, _, _ in ops}
    for sample in samples[:MAX_SAMPLES]:
        run_all_tensors(float_run, sample)
        run_all_tensors(int8_run, sample)
        for name, power in powers.items():
            reference = _dequantized(float_run, float_by_name[name])
            approximation = _dequantized(int8_run, int8_by_name[name]).reshape(reference.shape)
            power.signal += float(np.sum(reference ** 2))
            power.noise += float(np.sum((reference - approximation) ** 2))
    sqnr = {name: power.sqnr_db() for name, power in powers.items()}
    rows = []
    for name, op_type, inputs in ops:
        upstream_nsr = max((_nsr(sqnr[i]) for i in inputs if i in sqnr), default=0.0)
        rows.append({"name": name, "layer": layer_path(name), "op": op_type, "sqnr_db": sqnr[name],
                     "own_sqnr_db": _sqnr_db(_nsr(sqnr[name]) - upstream_nsr),
                     "dtype": np.dtype(int8_by_name[name]["dtype"]).name,
                     "inputs": [i for i in inputs if i in sqnr]})
    return sorted(rows, key=lambda row: row["sqnr_db"])


def _nsr(sqnr_db: float) -> float:
    return 10.0 ** (-sqnr_db / 10.0)


def _sqnr_db(nsr: float) -> float:
    if nsr <= _nsr(EXACT_SQNR_DB):
        return EXACT_SQNR_DB
    return -10.0 * math.log10(nsr)


def percentile_ranges(float_path: Path, samples: list[list[np.ndarray]], *,
                      percentile: float = PERCENTILE) -> tuple[tuple[str, float, float], ...]:
    """(tensor, min, max) for every op output of the float model, clipped at ``percentile``
    of |activation| over all ``samples`` (as calibration sees them), with min <= 0 <= max.

    Only the largest values decide that percentile, so each tensor keeps just its top
    ``(1 - percentile/100)`` share of |values| (plus one) and its min and max: the memory
    does not grow with the number of samples.
    """
    interpreter = open_all_tensors(float_path)
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    outputs = [index for index, _, _ in activation_ops(interpreter)]
    keep = {index: 1 + int(np.prod(details[index]["shape"]) * len(samples) * (1.0 - percentile / 100.0))
            for index in outputs}
    largest = {index: np.zeros(0, np.float32) for index in outputs}
    low = {index: 0.0 for index in outputs}
    high = {index: 0.0 for index in outputs}
    for sample in samples:
        run_all_tensors(interpreter, sample)
        for index in outputs:
            value = np.asarray(interpreter.get_tensor(index), np.float32).ravel()
            low[index], high[index] = min(low[index], float(value.min())), max(high[index], float(value.max()))
            largest[index] = _top(np.concatenate([largest[index], np.abs(value)]), keep[index])
    ranges = []
    for index in outputs:
        clip = float(largest[index].min()) if largest[index].size else 0.0  # the percentile's value
        low_clipped, high_clipped = max(low[index], -clip), min(high[index], clip)
        if low_clipped < high_clipped:
            ranges.append((details[index]["name"], low_clipped, high_clipped))
    return tuple(ranges)


def _top(values: np.ndarray, count: int) -> np.ndarray:
    if values.size <= count:
        return values
    return np.partition(values, values.size - count)[values.size - count:]
