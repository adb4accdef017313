"""Cross-layer equalization (Nagel et al., "Data-Free Quantization", ICCV 2019) on a float `.tflite`.

For two convolutions in a row, A -> (ReLU or nothing) -> B, scaling A's output channel i by
1/s_i and B's input channel i by s_i computes the same function, because ReLU is positively
homogeneous: relu(x / s) = relu(x) / s for s > 0.  Choosing s_i = sqrt(r1_i / r2_i), with r1_i
the range of A's weights for output channel i and r2_i the range of B's weights reading input
channel i, gives both the same range sqrt(r1_i · r2_i): a channel that is 1000× the others in
A (and so in the activations between A and B) is brought back in line, which per-tensor
activation scales need.  Depthwise-heavy nets are where the literature saw int8 collapse
without it.

Only pairs where it is exact are touched: A is CONV_2D or DEPTHWISE_CONV_2D (any multiplier)
with no fused activation or ReLU (ReLU6 clips at 6 and is not homogeneous), A's output is
read by B alone and is not a graph output, B is CONV_2D or DEPTHWISE_CONV_2D (multiplier 1).
Weights are rewritten in the float file; the int8 quantizer then works on the equalized file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..tflite.flatbuffer import float_constant

__all__ = ["equalize_tflite"]

_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")
# schema.ActivationFunctionType: NONE = 0, RELU = 1 (positively homogeneous)
_HOMOGENEOUS = (0, 1)
# Scales are kept in this band, so a dead channel (range 0) is not blown up.
_SCALE_LIMITS = (1e-4, 1e4)


def equalize_tflite(in_path: Path, out_path: Path) -> list[dict[str, Any]]:
    """Write ``in_path`` with every exact conv pair equalized to ``out_path``; the pairs done."""
    from ..files import write_atomically
    from ..tflite.flatbuffer import op_names, pack_model, read_model

    model = read_model(in_path)
    sub = model.subgraphs[0]
    names = op_names(model)
    consumers: dict[int, list] = {}
    for op in sub.operators:
        for t in op.inputs if op.inputs is not None else []:
            if t >= 0:
                consumers.setdefault(int(t), []).append(op)
    outputs = set(int(t) for t in sub.outputs)
    done = []
    for a in sub.operators:
        if names[a.opcodeIndex] not in _CONVS or _activation(a) not in _HOMOGENEOUS:
            continue
        out = int(a.outputs[0])
        readers = consumers.get(out, [])
        if out in outputs or len(readers) != 1 or names[readers[0].opcodeIndex] not in _CONVS:
            continue
        b = readers[0]
        if int(b.inputs[0]) != out:
            continue
        pair = _equalize_pair(model, sub, a, names[a.opcodeIndex], b, names[b.opcodeIndex])
        if pair is not None:
            done.append(pair)
    write_atomically(Path(out_path), pack_model(model, Path(in_path).stat().st_size))
    return done


def _activation(op: Any) -> int:
    options = op.builtinOptions
    return int(getattr(options, "fusedActivationFunction", 0)) if options is not None else 0


def _equalize_pair(model: Any, sub: Any, a: Any, a_type: str, b: Any, b_type: str) -> dict[str, Any] | None:
    """Scale A's output channels by 1/s and B's input channels by s, in place; None if not exact."""
    wa, wb = float_constant(model, sub, int(a.inputs[1])), float_constant(model, sub, int(b.inputs[1]))
    if wa is None or wb is None:
        return None
    (buf_a, a_w), (buf_b, b_w) = wa, wb
    # A's output channels: axis 0 of a CONV_2D filter [O, H, W, I], axis 3 of a DEPTHWISE one [1, H, W, C].
    a_axis = 0 if a_type == "CONV_2D" else 3
    channels = a_w.shape[a_axis]
    if b_w.shape[3] != channels:
        return None  # B depthwise with a channel multiplier: its filter channels are not A's outputs
    r1 = np.abs(np.moveaxis(a_w, a_axis, 0)).reshape(channels, -1).max(axis=1)
    r2 = np.abs(np.moveaxis(b_w, 3, 0)).reshape(channels, -1).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(r1 / r2)
    s = np.where(np.isfinite(s) & (s > 0), s, 1.0).clip(*_SCALE_LIMITS).astype(np.float32)
    shape_a = [1] * a_w.ndim
    shape_a[a_axis] = channels
    a_w /= s.reshape(shape_a)
    b_w *= s.reshape(1, 1, 1, channels)
    buf_a.data = np.frombuffer(a_w.astype(np.float32).tobytes(), np.uint8)
    buf_b.data = np.frombuffer(b_w.astype(np.float32).tobytes(), np.uint8)
    if len(a.inputs) > 2 and a.inputs[2] >= 0:
        bias = float_constant(model, sub, int(a.inputs[2]))
        if bias is not None:
            buf, values = bias
            buf.data = np.frombuffer((values / s).astype(np.float32).tobytes(), np.uint8)
    name = sub.tensors[int(a.outputs[0])].name
    return {"tensor": name.decode() if isinstance(name, bytes) else str(name),
            "channels": int(channels), "scale_min": float(s.min()), "scale_max": float(s.max())}
