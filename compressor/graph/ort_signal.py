"""onnxruntime's ``DFT`` (core/providers/cpu/signal/dft.cc), read for the cost model.

A signal of a power-of-two length n is one radix-2 FFT, n log2 n butterflies a transform; any other
length takes Bluestein's chirp-z: three FFTs of the power of two M >= 2n - 1 and their chirp
products, so 320, 400 and 480 points cost what a 1,024-point transform does three times over
(40 us a transform on an EPYC Zen 4, 8 for 512 points).  Its work (``Op.macs``, priced per unit by
the runtime's ``DFT`` terms, as LiteRT's RFFT2D is) and its transforms (``Op.kernel_calls``, each a
call: its twiddles or chirp, computed per call).
"""

from __future__ import annotations

import math

__all__ = ["dft_fields"]


def dft_fields(node, opset: int, shape, constants=None) -> dict:
    """``Op`` fields of a DFT over an input of ``shape`` ([..., n, 1] real, [..., n, 2] complex):
    kind "other", ``macs`` its transforms' work, ``kernel_calls`` its transforms, ``variant``
    "bluestein" for a length not a power of two; {} where its shape or axis is not known."""
    from onnx import numpy_helper

    def constant(position: int):
        name = node.input[position] if len(node.input) > position else ""
        return int(numpy_helper.to_array(constants[name]).reshape(-1)[0]) if name and constants and name in constants else None

    if not shape or not all(isinstance(d, int) and d > 0 for d in shape) or len(shape) < 3:
        return {}
    axis = (constant(2) if opset >= 20 else next((a.i for a in node.attribute if a.name == "axis"), None))
    axis = (-2 if opset >= 20 else 1) if axis is None else axis
    axis = axis + len(shape) if axis < 0 else axis
    if not 0 < axis < len(shape) - 1:
        return {}
    n = constant(1) or shape[axis]
    transforms = math.prod(shape[:-1]) // shape[axis]
    if n & (n - 1) == 0:
        return {"kind": "other", "macs": int(transforms * n * max(math.log2(n), 1)), "kernel_calls": transforms}
    m = 1 << (2 * n - 1).bit_length()
    return {"kind": "other", "macs": int(transforms * 3 * m * math.log2(m)), "kernel_calls": transforms,
            "variant": "bluestein"}
