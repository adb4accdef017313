"""LiteRT on the file itself, for what the flatbuffer does not say: every tensor's shape at the
input shapes asked for, the shapes a run gives tensors whose size depends on values (a SHAPE ->
RANGE -> RESHAPE framing of audio, a FILL), and the value of an IF's condition.

One interpreter per file read, on one thread; the run (zeros, or the numbers the user gave per
input) is made only when something needs it, and only once.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..capture import captured_output
from ..errors import ExportError

__all__ = ["LiteRTRun", "allocation_stalled", "value_dependent_shapes"]


def value_dependent_shapes(sub) -> bool:
    """Whether subgraph ``sub`` (a flatbuffer subgraph) holds a tensor whose converter-recorded
    shape signature is open (-1) past its batch dimension: a size LiteRT learns only by running
    (BirdNET's 144,000-sample clip framed into 511 frames reads [1, 1, 1, 2048] before)."""
    inputs = {int(sub.Inputs(j)) for j in range(sub.InputsLength())}
    for i in range(sub.TensorsLength()):
        if i in inputs:
            continue
        t = sub.Tensors(i)
        if any(int(t.ShapeSignature(k)) < 0 for k in range(1, t.ShapeSignatureLength())):
            return True
    return False


def allocation_stalled(sub, allocated: dict[int, tuple[int, ...]]) -> bool:
    """Whether allocating at resized inputs left a tensor of subgraph ``sub`` whose shape signature
    is open at its file's own shape: LiteRT sizes a tensor a GATHER or a segment sum makes only when
    it runs (claws-tokenizer's relational GCN gathers [edges, 4, 128, 128] weights per edge: 78 edges
    read [1, 4, 128, 128] after allocating, 78x its bytes)."""
    if not allocated:
        return False
    inputs = {int(sub.Inputs(j)) for j in range(sub.InputsLength())}
    for i in range(sub.TensorsLength()):
        t = sub.Tensors(i)
        if i in inputs or not any(int(t.ShapeSignature(k)) < 0 for k in range(t.ShapeSignatureLength())):
            continue
        if allocated.get(i) == tuple(int(t.Shape(k)) for k in range(t.ShapeLength())):
            return True
    return False


class LiteRTRun:
    """``path`` in LiteRT with its inputs resized to ``shapes``; ``fill``: a number per input
    for the run (zeros for the rest)."""

    def __init__(self, path: Path, shapes, fill=()) -> None:
        self.path, self.shapes, self.fill = path, shapes, list(fill)
        self._run: list = []

    def _interpreter(self, **options):
        """LiteRT's interpreter at ``self.shapes``, without its default delegate where it can: when
        XNNPACK takes the whole graph, allocating leaves the inner tensors at the file's own shapes
        (an MLP resized to batch 64 read as batch 1, silently); with a custom op only a delegate
        runs (MediaPipe's transposed conv), with it."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        def made(**more):
            interpreter = Interpreter(model_path=str(self.path), num_threads=1, **options, **more)
            for detail, shape in zip(interpreter.get_input_details(), self.shapes):
                interpreter.resize_tensor_input(detail["index"], list(shape), strict=False)
            interpreter.allocate_tensors()
            return interpreter

        try:
            return made(experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        except Exception:  # noqa: BLE001 - an op only the delegate runs: as LiteRT runs the file
            return made()

    def allocated_shapes(self) -> dict[int, tuple[int, ...]]:
        """Tensor index -> shape after LiteRT resizes the inputs and allocates (no run)."""
        try:
            interpreter = self._interpreter()
        except Exception as error:  # LiteRT's own words: a custom op, a shape the graph refuses
            raise ExportError(f"{self.path}: LiteRT could not run it at input shape(s) "
                              f"{';'.join(','.join(map(str, s)) for s in self.shapes)}: "
                              f"{str(error).strip()[:200]}") from error
        return {int(d["index"]): tuple(int(x) for x in d["shape"]) for d in interpreter.get_tensor_details()}

    def ran(self):
        """The interpreter after its one run (every tensor kept), None where LiteRT cannot run it."""
        import numpy as np

        if not self._run:
            try:
                # (LiteRT warns that keeping every tensor is for debugging: here it is the point)
                with captured_output(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    interpreter = self._interpreter(experimental_preserve_all_tensors=True)
                    details = interpreter.get_input_details()
                    for detail, shape, number in zip(details, self.shapes, [*self.fill, *[0] * len(details)]):
                        interpreter.set_tensor(detail["index"], np.full(shape, number, detail["dtype"]))
                    interpreter.invoke()
                self._run.append(interpreter)
            except Exception:  # noqa: BLE001 - whatever stops the run, the caller falls back
                self._run.append(None)
        return self._run[0]

    def run_shapes(self) -> dict[int, tuple[int, ...]] | None:
        """Tensor index -> shape after the run; None where LiteRT cannot run the file."""
        interpreter = self.ran()
        if interpreter is None:
            return None
        return {int(d["index"]): tuple(int(x) for x in d["shape"]) for d in interpreter.get_tensor_details()}

    def _scalar(self, index: int):
        """Main-subgraph tensor ``index`` after the run as its one element; None where the file cannot
        run, LiteRT does not keep the tensor, or it is not one value."""
        import numpy as np

        interpreter = self.ran()
        if interpreter is None:
            return None
        try:
            tensor = np.asarray(interpreter.get_tensor(index))
        except Exception:  # noqa: BLE001 - a tensor LiteRT does not keep
            return None
        return tensor.reshape(-1)[0] if tensor.size == 1 else None

    def number(self, index: int) -> float | None:
        """Main-subgraph tensor ``index`` after the run as a number (a WHILE's loop counter); None
        where the file cannot run or the tensor is not one integer or float value."""
        element = self._scalar(index)
        return float(element) if element is not None and element.dtype.kind in "iuf" else None

    def value(self, index: int) -> bool | None:
        """Main-subgraph bool tensor ``index`` after the run (an IF's condition; None: the weights
        decide); None where the file cannot run or the tensor is not one value."""
        element = self._scalar(index)
        return None if element is None else bool(element)
