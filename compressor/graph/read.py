"""``read_graph(path)``: a `.tflite` or `.onnx` file read into the op-level ``Graph`` (ir.py)."""

from __future__ import annotations

from pathlib import Path

from ..errors import CompressorError, ExportError
from ..files import artifact_suffix
from .ir import Graph

__all__ = ["read_graph"]


def read_graph(path, *, input_shapes: tuple[tuple[int, ...], ...] | None = None, as_run: bool = False,
               input_values: dict[str, float] | None = None) -> Graph:
    """Read a `.tflite` or `.onnx` file into a ``Graph``; ``ExportError`` if it cannot be read.

    ``input_shapes`` (one per model input) fixes dynamic input dims; without it a dynamic
    batch dim is costed as 1 (noted in ``Graph.notes``) and any other dynamic dim is a
    ``ConfigError`` on ``input_shape`` (shapes.py).

    ``input_values`` (input name -> number, ``--input-value``): what a control-flow condition that
    depends on those inputs is evaluated on (an If's branch: onnx_control.py, tflite_control.py).

    ``as_run``: the graph the runtime executes: for an ``.onnx``, onnxruntime's optimized
    graph (its fusions and layout ops, ort_optimized.py); a ``.tflite`` runs as written.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    suffix = artifact_suffix(path)
    try:
        if suffix == ".tflite":
            from .tflite_reader import read_tflite

            return read_tflite(path, input_shapes=input_shapes, input_values=input_values)
        if suffix == ".onnx":
            from .onnx_reader import read_onnx

            return read_onnx(path, input_shapes=input_shapes, as_run=as_run, input_values=input_values)
    except CompressorError:
        raise
    except Exception as error:  # a corrupt file surfaces as anything from struct.error up
        raise ExportError(f"{path}: cannot read as {suffix[1:]}: {type(error).__name__}: "
                          f"{str(error).strip()[:200]}") from error
    raise ExportError(f"{path}: unknown artifact type {suffix!r} (expected .tflite or .onnx)")
