"""Empirical bias correction (Nagel et al. 2019, §4.2; Finkelstein et al. 2019) on a float `.tflite`.

Rounding a layer's weights to int8 shifts its output on average: E[W_q x] - E[W x] =
(W_q - W) E[x], a per-output-channel offset that the layers after it inherit.  With the
mean of each layer's input measured on the calibration data (the float file run in LiteRT,
every tensor kept), the offset is subtracted from the layer's bias in the float file
beforehand, so that after quantization the bias and the rounding error cancel on average.

W_q is simulated as ai-edge-quantizer makes it: symmetric int8, one scale per output channel
(|w| max / 127), which is what the int8 pass uses by default; under per-tensor weights the
correction is approximate.  Zero padding is ignored (the input mean is taken over real pixels
only), so border outputs keep a little of the shift.  CONV_2D, DEPTHWISE_CONV_2D and
FULLY_CONNECTED layers with a float bias are corrected; the rest is left as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["bias_correct_tflite"]

_LAYERS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_MAX_SAMPLES = 32


def bias_correct_tflite(in_path: Path, out_path: Path, samples: list[list[np.ndarray]]) -> list[dict[str, Any]]:
    """Write ``in_path`` with corrected biases to ``out_path``; the layers corrected and by how much."""
    from ..files import write_atomically
    from .sensitivity import open_all_tensors, run_all_tensors
    from ..tflite.flatbuffer import float_constant, op_names, pack_model, read_model

    model = read_model(in_path)
    sub = model.subgraphs[0]
    names = op_names(model)
    layers = [(op, names[op.opcodeIndex]) for op in sub.operators
              if names[op.opcodeIndex] in _LAYERS and len(op.inputs) > 2 and op.inputs[2] >= 0
              and float_constant(model, sub, int(op.inputs[1])) is not None
              and float_constant(model, sub, int(op.inputs[2])) is not None]
    if not layers or not samples:
        return []
    means = _input_means(open_all_tensors(in_path), [int(op.inputs[0]) for op, _ in layers], samples,
                         run_all_tensors)
    done = []
    for op, kind in layers:
        weights, bias = float_constant(model, sub, int(op.inputs[1])), float_constant(model, sub, int(op.inputs[2]))
        mean = means.get(int(op.inputs[0]))
        if mean is None:
            continue
        shift = _output_shift(kind, weights[1], mean)
        if shift is None or shift.shape != bias[1].shape:
            continue
        bias[0].data = np.frombuffer((bias[1] - shift).astype(np.float32).tobytes(), np.uint8)
        name = sub.tensors[int(op.outputs[0])].name
        done.append({"tensor": name.decode() if isinstance(name, bytes) else str(name),
                     "max_shift": float(np.abs(shift).max())})
    write_atomically(Path(out_path), pack_model(model, Path(in_path).stat().st_size))
    return done


def _input_means(interpreter: Any, indices: list[int], samples, run) -> dict[int, np.ndarray]:
    """Per-channel (last axis) mean of each tensor in ``indices`` over the samples."""
    sums: dict[int, np.ndarray] = {}
    count = 0
    for sample in samples[:_MAX_SAMPLES]:
        run(interpreter, sample)
        count += 1
        for index in set(indices):
            value = interpreter.get_tensor(index).astype(np.float64)
            channel_mean = value.reshape(-1, value.shape[-1]).mean(axis=0)
            sums[index] = sums.get(index, 0.0) + channel_mean
    return {index: total / count for index, total in sums.items()}


def _simulated_int8(weights: np.ndarray, axis: int) -> np.ndarray:
    """Symmetric per-channel int8 along ``axis``, dequantized (as the quantizer rounds the weights)."""
    moved = np.moveaxis(weights, axis, 0)
    scale = np.abs(moved).reshape(moved.shape[0], -1).max(axis=1) / 127.0
    scale = np.where(scale > 0, scale, 1.0).reshape((-1,) + (1,) * (moved.ndim - 1))
    return np.moveaxis(np.clip(np.round(moved / scale), -127, 127) * scale, 0, axis)


def _output_shift(kind: str, weights: np.ndarray, mean: np.ndarray) -> np.ndarray | None:
    """(W_q - W) E[x] per output channel, for the layer's weight layout."""
    if kind == "FULLY_CONNECTED":  # [O, I]
        if weights.ndim != 2 or weights.shape[1] != mean.shape[0]:
            return None
        return (_simulated_int8(weights, 0) - weights) @ mean
    if kind == "CONV_2D":  # [O, H, W, I]
        if weights.shape[3] != mean.shape[0]:
            return None
        return (_simulated_int8(weights, 0) - weights).sum(axis=(1, 2)) @ mean
    # DEPTHWISE_CONV_2D [1, H, W, C·m]: output channel c reads input channel c // m
    multiplier = weights.shape[3] // max(mean.shape[0], 1)
    if multiplier < 1 or weights.shape[3] != mean.shape[0] * multiplier:
        return None
    error = (_simulated_int8(weights, 3) - weights).sum(axis=(0, 1, 2))
    return error * np.repeat(mean, multiplier)
