"""Subnormal fp32 weights (0 < |w| < 1.18e-38, as training leaves some): on x86 every multiply
by one takes a microcode assist, which onnxruntime's MLAS pays per 16-wide FMA whose weight
vector holds one (``Op.subnormal_vectors``, ``RuntimeCost.subnormal_vector_ns``)."""

from __future__ import annotations

__all__ = ["subnormal_mask", "subnormal_vectors"]


def subnormal_mask(values):
    """Where a float32 array holds subnormals: nonzero, below float32's smallest normal."""
    import numpy as np

    return (values != 0) & (np.abs(values) < np.finfo(np.float32).tiny)


# Output channels MLAS's fp32 kernels multiply at once: its NCHWc block and its SGEMM's packed
# columns (AVX-512: 16 floats).
VECTOR = 16


def subnormal_vectors(weight, *, nchwc: bool, output_axis: int = 0) -> int:
    """How many of ``weight``'s (an initializer) VECTOR-wide output-channel vectors hold a
    subnormal float: one per input channel and tap and block of VECTOR outputs.  onnxruntime's
    optimized NCHWc weights are stored with the output channels of a block innermost
    (OIHW16i16o), every other weight as the file has it (``output_axis`` the outputs').
    PP-OCRv6's text detector holds 186 k of them in one 768 -> 384 pointwise conv."""
    import numpy as np
    from onnx import numpy_helper

    if weight.data_type != 1 or not weight.dims:  # float32 only
        return 0
    try:
        values = numpy_helper.to_array(weight)
    except Exception:  # noqa: BLE001 - external data not loaded: nothing to count
        return 0
    tiny = subnormal_mask(values)
    if not tiny.any():
        return 0
    if nchwc:
        flat = tiny.reshape(-1)
        return int(flat[: flat.size // VECTOR * VECTOR].reshape(-1, VECTOR).any(axis=1).sum())
    moved = np.moveaxis(tiny, output_axis, 0)
    outputs = moved.shape[0]
    padded = np.zeros((-(-outputs // VECTOR) * VECTOR, *moved.shape[1:]), dtype=bool)
    padded[:outputs] = moved
    return int(padded.reshape(-1, VECTOR, *moved.shape[1:]).any(axis=1).sum())
