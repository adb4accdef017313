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

The same offset is made by the int8 weights of the weight-quantizing fallback schemes
(dynamic-range, weight-only: schemes.py), whose biases stay float in the quantized file.
``correct_quantized_biases`` corrects such a file after quantization, with the weights as
the quantizer actually rounded them (not a simulation) and only on the layers it quantized
(a layer kept float has no rounding error, so a shift there would be an error of its own).
Real EfficientNet-Lite0 (ImageNet weights): dynamic-range int8 with its depthwise convs float
went 21.6 -> 26.4 dB at the logits; its first convs feed channels that are constant (BatchNorm
folded to near-zero weights, so the output is the bias), where the mean is the whole signal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["bias_correct_tflite", "correct_quantized_biases", "layer_input_means"]

_LAYERS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_MAX_SAMPLES = 32
_INT8 = 9  # schema.TensorType.INT8


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
    shifts = []
    for op, kind in layers:
        weights, bias = float_constant(model, sub, int(op.inputs[1])), float_constant(model, sub, int(op.inputs[2]))
        mean = means.get(int(op.inputs[0]))
        shift = None if mean is None else _output_shift(kind, weights[1], mean)
        if shift is not None and shift.shape == bias[1].shape:
            shifts.append((op, shift))
    done = _subtract_shifts(model, sub, shifts)
    write_atomically(Path(out_path), pack_model(model, Path(in_path).stat().st_size))
    return done


def layer_input_means(float_path: Path, samples: list[list[np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-channel mean input of every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op of the
    float file on the samples (at most 32), keyed by the op's first output tensor name (the
    name the quantizer keeps)."""
    from .sensitivity import open_all_tensors, run_all_tensors
    from ..tflite.flatbuffer import op_names, read_model

    model = read_model(float_path)
    sub = model.subgraphs[0]
    names = op_names(model)
    layers = {_name(sub, op): int(op.inputs[0]) for op in sub.operators if names[op.opcodeIndex] in _LAYERS}
    if not layers or not samples:
        return {}
    means = _input_means(open_all_tensors(float_path), list(layers.values()), samples, run_all_tensors)
    return {name: means[index] for name, index in layers.items() if index in means}


def correct_quantized_biases(float_path: Path, quantized_path: Path, means: dict[str, np.ndarray]
                             ) -> list[dict[str, Any]]:
    """Subtract (W_q - W) E[x] from the float bias of every layer whose weights ``quantized_path``
    holds in int8 (read as the quantizer rounded them, through a DEQUANTIZE op or not); W from
    ``float_path``, E[x] from ``means`` (``layer_input_means`` of the float file).  Rewrites
    ``quantized_path`` in place (atomically); returns the layers corrected."""
    from ..files import write_atomically
    from ..tflite.flatbuffer import float_constant, op_names, pack_model, read_model

    floats = read_model(float_path)
    float_sub, float_names = floats.subgraphs[0], op_names(floats)
    float_weights = {_name(float_sub, op): float_constant(floats, float_sub, int(op.inputs[1]))
                     for op in float_sub.operators if float_names[op.opcodeIndex] in _LAYERS and len(op.inputs) > 1}
    model = read_model(quantized_path)
    sub, names = model.subgraphs[0], op_names(model)
    writers = {int(out): op for op in sub.operators for out in op.outputs}
    shifts = []
    for op in sub.operators:
        kind, name = names[op.opcodeIndex], _name(sub, op)
        if kind not in _LAYERS or len(op.inputs) < 3 or op.inputs[2] < 0 or name not in means:
            continue
        quantized, weights = _int8_weights(model, sub, int(op.inputs[1]), writers, names), float_weights.get(name)
        bias = float_constant(model, sub, int(op.inputs[2]))
        if quantized is None or weights is None or bias is None or quantized.shape != weights[1].shape:
            continue
        shift = _shift(kind, quantized - weights[1], means[name])
        if shift is not None and shift.shape == bias[1].shape:
            shifts.append((op, shift))
    done = _subtract_shifts(model, sub, shifts)
    if done:
        write_atomically(Path(quantized_path), pack_model(model, Path(quantized_path).stat().st_size))
    return done


def _subtract_shifts(model: Any, sub: Any, shifts: list[tuple[Any, np.ndarray]]) -> list[dict[str, Any]]:
    """Subtract each op's shift from its bias, once per layer (one weight tensor and its bias): ops
    that share both (a recurrent matmul unrolled over time steps: one weight, one bias, a different
    input mean at every step) get the mean of their shifts; subtracting each in turn would add them
    up (NSNet2's GRU, dynamic-range: 36.2 -> 13.8 dB).  A bias tensor that other layers also read
    (a constant the converter wrote once), or whose buffer other tensors read, is copied first."""
    import copy

    from ai_edge_litert import schema_py_generated as schema

    from ..tflite.flatbuffer import float_constant

    layers: dict[tuple[int, int], list[tuple[Any, np.ndarray]]] = {}
    for op, shift in shifts:
        layers.setdefault((int(op.inputs[2]), int(op.inputs[1])), []).append((op, shift))
    bias_layers: dict[int, int] = {}
    for bias_index, _ in layers:
        bias_layers[bias_index] = bias_layers.get(bias_index, 0) + 1
    readers: dict[int, int] = {}
    for tensor in sub.tensors:
        readers[tensor.buffer] = readers.get(tensor.buffer, 0) + 1
    done = []
    for (index, _), rows in layers.items():
        shift = np.mean([row[1] for row in rows], axis=0)
        bias = float_constant(model, sub, index)[1]
        if bias_layers[index] > 1:  # another layer reads this bias too: this one gets a copy
            bias_layers[index] -= 1
            twin = copy.copy(sub.tensors[index])
            twin.name = f"{_name(sub, rows[0][0])}/bias"  # tensor names are what the quantizer keys on
            readers[twin.buffer] = readers.get(twin.buffer, 0) + 1
            sub.tensors.append(twin)
            index = len(sub.tensors) - 1
            for op, _ in rows:
                op.inputs[2] = index
        tensor = sub.tensors[index]
        if readers.get(tensor.buffer, 0) > 1:
            readers[tensor.buffer] -= 1
            model.buffers.append(schema.BufferT())
            tensor.buffer = len(model.buffers) - 1
        model.buffers[tensor.buffer].data = np.frombuffer((bias - shift).astype(np.float32).tobytes(), np.uint8)
        done.append({"tensor": _name(sub, rows[0][0]), "ops": len(rows), "max_shift": float(np.abs(shift).max())})
    return done


def _name(sub: Any, op: Any) -> str:
    name = sub.tensors[int(op.outputs[0])].name
    return name.decode() if isinstance(name, bytes) else str(name)


def _int8_weights(model: Any, sub: Any, index: int, writers: dict[int, Any], names: list[str]) -> np.ndarray | None:
    """The dequantized values of an int8 constant at ``index``, or behind the DEQUANTIZE op that
    writes it (weight-only files); None for anything else (float weights: a layer kept float)."""
    writer = writers.get(index)
    if writer is not None:
        if names[writer.opcodeIndex] != "DEQUANTIZE":
            return None
        index = int(writer.inputs[0])
    tensor = sub.tensors[index]
    buffer, params = model.buffers[tensor.buffer], tensor.quantization
    if tensor.type != _INT8 or buffer.data is None or len(buffer.data) == 0 or params is None or params.scale is None:
        return None
    values = np.frombuffer(np.asarray(buffer.data, np.uint8).tobytes(), np.int8).astype(np.float64)
    values = values.reshape(tuple(int(d) for d in tensor.shape))
    scale = np.asarray(params.scale, np.float64)
    zero = np.asarray(params.zeroPoint if params.zeroPoint is not None else np.zeros_like(scale), np.float64)
    if scale.size > 1:
        shape = [1] * values.ndim
        shape[int(params.quantizedDimension)] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (values - zero) * scale


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
    """(W_q - W) E[x] per output channel with W_q simulated (``_simulated_int8``)."""
    axis = 3 if kind == "DEPTHWISE_CONV_2D" else 0
    return _shift(kind, _simulated_int8(weights, axis) - weights, mean)


def _shift(kind: str, error: np.ndarray, mean: np.ndarray) -> np.ndarray | None:
    """``error`` (W_q - W, in the layer's weight layout) times E[x], per output channel."""
    if kind == "FULLY_CONNECTED":  # [O, I]
        if error.ndim != 2 or error.shape[1] != mean.shape[0]:
            return None
        return error @ mean
    if kind == "CONV_2D":  # [O, H, W, I]
        if error.ndim != 4 or error.shape[3] != mean.shape[0]:
            return None
        return error.sum(axis=(1, 2)) @ mean
    # DEPTHWISE_CONV_2D [1, H, W, C·m]: output channel c reads input channel c // m
    multiplier = error.shape[3] // max(mean.shape[0], 1)
    if multiplier < 1 or error.shape[3] != mean.shape[0] * multiplier:
        return None
    return error.sum(axis=(0, 1, 2)) * np.repeat(mean, multiplier)
