"""The exact tensor arena of a ``.tflite`` in tflite-micro, measured by its Python interpreter.

``measure_tflm_arena(path)`` loads the model in ``tflite_micro``'s interpreter (recording
allocator), runs one inference on zeros and reads what its ``RecordingMicroAllocator``
prints (``print_allocations``; the Python API exposes no getter):

* ``planned_bytes`` ("Arena allocation head"): the non-persistent part, i.e. the tensors'
  memory plan (``GreedyMemoryPlanner``) plus kernel scratch buffers.  Tensor sizes and the
  planner are the same on the device, so this is the device's figure too;
* ``persistent_bytes`` ("tail"): the runtime's own structures (``TfLiteEvalTensor``, node
  and registration structs, kernels' per-channel quantization buffers).  They hold
  pointers, so this 64-bit host build needs more than a 32-bit Cortex-M: an upper bound;
* ``total_bytes``: head + tail, the arena this interpreter needed.

Our estimate (``memory.plan_arena``) models the planned part; ``arena_comparison`` puts the
two side by side.

Two things tflite-micro's Python package gets wrong silently, handled here:
* a model whose weights sit outside the flatbuffer (``Buffer.offset``/``size``, as
  ai-edge-quantizer writes some of them) is read as if those weights were empty *activation*
  tensors: the arena grows by their size and the outputs are garbage (measured on the zoo's
  int8 ResNet: 355,392 instead of 51,264 bytes, all-zero logits).  ``tflite.flatbuffer.inline_external_buffers``
  copies them into the flatbuffer first; LiteRT and Vela read both layouts.
* its default arena is 10 x the file size, too small for small-weight, large-activation
  models; we pass a size from the graph's tensors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExportError
from ..files import artifact_suffix

__all__ = ["TflmArena", "arena_comparison", "measure_tflm_arena"]

_ALLOCATION = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
# Headroom for the runtime's own structures when sizing the arena we hand to the interpreter.
_SLACK_BYTES = 1 << 20


@dataclass(frozen=True)
class TflmArena:
    total_bytes: int
    planned_bytes: int  # "head": tensors and scratch buffers, as planned
    persistent_bytes: int  # "tail": runtime structures (64-bit host build)
    version: str

    def to_dict(self) -> dict[str, Any]:
        return {"total_bytes": self.total_bytes, "planned_bytes": self.planned_bytes,
                "persistent_bytes": self.persistent_bytes, "version": self.version}


def measure_tflm_arena(path: Path | str, *, arena_size_bytes: int | None = None) -> TflmArena:
    """Load ``path`` in tflite-micro, run it once on zeros and return the arena it used.

    ``ExportError`` (naming the file and tflite-micro's message) when tflite-micro cannot
    load or run it, e.g. an op it has no kernel for.
    """
    import numpy as np

    from ..capture import captured_output
    from ..graph.read import read_graph

    path = Path(path)
    if artifact_suffix(path) != ".tflite":
        raise ExportError(f"{path}: tflite-micro runs .tflite files only")
    graph = read_graph(path)  # ExportError for a missing file or one that is not a TFLite model
    from ..tflite.flatbuffer import inline_external_buffers

    data = inline_external_buffers(path.read_bytes())
    size = arena_size_bytes or _arena_size(graph, len(data))
    with captured_output() as log:
        try:
            from tflite_micro.python.tflite_micro import runtime

            interpreter = runtime.Interpreter.from_bytes(data, arena_size=size)
            index = 0
            while True:
                try:
                    detail = interpreter.get_input_details(index)
                except (IndexError, RuntimeError, ValueError):
                    break
                interpreter.set_input(np.zeros(tuple(detail["shape"]), dtype=detail["dtype"]), index)
                index += 1
            interpreter.invoke()
            interpreter.print_allocations()
            failure = None
        except Exception as error:  # the C++ side raises RuntimeError/ValueError with its log
            failure = error
    if failure is not None:
        detail = _last_line(log.text) or str(failure)
        raise ExportError(f"{path}: tflite-micro cannot run it: {detail}")
    found = dict((kind, int(value)) for kind, value in _ALLOCATION.findall(log.text))
    if set(found) != {"total", "head", "tail"}:
        raise ExportError(f"{path}: tflite-micro printed no arena figures ({_last_line(log.text)!r})")
    return TflmArena(total_bytes=found["total"], planned_bytes=found["head"], persistent_bytes=found["tail"],
                     version=_version())


def arena_comparison(measured: TflmArena, estimate_bytes: int) -> dict[str, Any]:
    """Our planned arena beside tflite-micro's: bytes and estimate / measured."""
    ratio = estimate_bytes / measured.planned_bytes if measured.planned_bytes else None
    return {"tflm_arena_bytes": measured.total_bytes, "tflm_planned_bytes": measured.planned_bytes,
            "tflm_persistent_bytes": measured.persistent_bytes, "arena_estimate_bytes": int(estimate_bytes),
            "arena_estimate_ratio": None if ratio is None else round(ratio, 4)}


def _arena_size(graph: Any, file_bytes: int) -> int:
    activations = sum(t.size_bytes for t in graph.tensors if not t.is_constant)
    # Every activation at once, twice (scratch), plus the file: never too small to plan.
    return max(10 * file_bytes, 2 * activations + file_bytes + _SLACK_BYTES)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("tflite-micro")
    except metadata.PackageNotFoundError:
        return "unknown"
