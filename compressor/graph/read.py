"""``read_graph(path)``: a `.tflite` or `.onnx` file read into the op-level ``Graph`` (ir.py)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ExportError
from .ir import Graph

__all__ = ["read_graph"]


def read_graph(path) -> Graph:
    """Read a `.tflite` or `.onnx` file into a ``Graph``; ``ExportError`` if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".tflite":
            from .tflite_reader import read_tflite

            return read_tflite(path)
        if suffix == ".onnx":
            from .onnx_reader import read_onnx

            return read_onnx(path)
    except ExportError:
        raise
    except Exception as error:  # a corrupt file surfaces as anything from struct.error up
        raise ExportError(f"{path}: cannot read as {suffix[1:]}: {type(error).__name__}: "
                          f"{str(error).strip()[:200]}") from error
    raise ExportError(f"{path}: unknown artifact type {suffix!r} (expected .tflite or .onnx)")
