"""Run an exported artifact in its real runtime: LiteRT for `.tflite`, onnxruntime for `.onnx`.

Both runners take and return float arrays in the model's own layout, batch of one sample at
a time (our exports have a static batch of 1, as edge runtimes use them).  Where the
artifact's I/O is integer (``--io int8``), the runner quantizes inputs and dequantizes
outputs with the tensor's own scale and zero-point, so verification compares like with like.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import VerificationError
from ..files import artifact_suffix
from .bench import ORT_DTYPES

__all__ = ["Runner", "TensorSpec", "natural_key", "open_runtime", "outputs_identical"]


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of an artifact as the runtime sees it."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0  # 0.0: not quantized
    zero_point: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "scale": self.scale, "zero_point": self.zero_point}


class Runner:
    """A loaded artifact: ``run(inputs) -> outputs`` for one sample (batch 1)."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def run_batch(self, inputs: Sequence[np.ndarray], *,
                  on_samples: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
        """Run N samples (each array N × per-sample shape) one by one; stack the outputs.
        ``on_samples(done, N)`` after each sample."""
        count = len(inputs[0])
        per_sample = []
        for i in range(count):
            per_sample.append(self.run([x[i : i + 1] for x in inputs]))
            if on_samples is not None:
                on_samples(i + 1, count)
        return [np.concatenate([outs[k] for outs in per_sample]) for k in range(len(self.outputs))]


def _quantize(x: np.ndarray, spec: TensorSpec) -> np.ndarray:
    info = np.iinfo(np.dtype(spec.dtype))
    q = np.round(x / spec.scale) + spec.zero_point
    return np.clip(q, info.min, info.max).astype(spec.dtype)


def _dequantize(x: np.ndarray, spec: TensorSpec) -> np.ndarray:
    return ((x.astype(np.float32) - spec.zero_point) * spec.scale).astype(np.float32)


class LiteRTRunner(Runner):
    """LiteRT with its default delegate (XNNPACK), the way an app runs the model.

    Inputs and outputs go through the model's signature, whose argument names
    (``args_0``, ``args_1``, ... / ``output_0``, ...) keep the torch model's order; the
    interpreter's raw tensor lists do not promise any order.
    """

    def __init__(self, path: Path, *, num_threads: int | None = None, reference_kernels: bool = False):
        # reference_kernels: LiteRT's reference op resolver (integer-only reference kernels,
        # no XNNPACK), the numerics an NPU or MCU kernel library implements.
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
        self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads,
                                        experimental_op_resolver_type=resolver)
        signatures = self._interpreter.get_signature_list()
        self._runner = self._interpreter.get_signature_runner(sorted(signatures)[0])
        in_details = self._runner.get_input_details()
        out_details = self._runner.get_output_details()
        self._in_names = sorted(in_details, key=natural_key)
        self._out_names = sorted(out_details, key=natural_key)
        self.inputs = tuple(_litert_spec(name, in_details[name]) for name in self._in_names)
        self.outputs = tuple(_litert_spec(name, out_details[name]) for name in self._out_names)

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        feed = {}
        for name, spec, x in zip(self._in_names, self.inputs, inputs):
            value = _quantize(x, spec) if spec.scale else x.astype(spec.dtype)
            feed[name] = value.reshape(spec.shape)
        results = self._runner(**feed)
        return [_dequantize(results[name], spec) if spec.scale else results[name].astype(np.float32)
                for name, spec in zip(self._out_names, self.outputs)]


def natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _litert_spec(name: str, detail: dict) -> TensorSpec:
    scale, zero_point = detail["quantization"]
    return TensorSpec(name, tuple(int(d) for d in detail["shape"]),
                      np.dtype(detail["dtype"]).name, float(scale), int(zero_point))


class OnnxRunner(Runner):
    def __init__(self, path: Path, *, num_threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = tuple(_ort_spec(i) for i in self._session.get_inputs())
        self.outputs = tuple(_ort_spec(o) for o in self._session.get_outputs())

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        feed = {spec.name: x.astype(spec.dtype) for spec, x in zip(self.inputs, inputs)}
        return [np.asarray(y, dtype=np.float32) for y in self._session.run(None, feed)]


def _ort_spec(arg) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) else 1 for d in arg.shape)
    return TensorSpec(arg.name, shape, ORT_DTYPES.get(arg.type, arg.type))


class LayoutRunner(Runner):
    """A runner fed and read in the model's layout while the artifact's I/O is channels-last."""

    def __init__(self, inner: Runner, layout: str):
        self._inner, self._layout = inner, layout
        self.inputs, self.outputs = inner.inputs, inner.outputs

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        from ..layout import from_artifact, to_artifact

        outputs = self._inner.run([to_artifact(x, self._layout) for x in inputs])
        return [from_artifact(y, self._layout) for y in outputs]


def open_runtime(path: Path, *, num_threads: int | None = None, layout: str = "nchw") -> Runner:
    """Load ``path`` in the runtime its format runs in.

    ``layout`` is the artifact's I/O layout (layout.py): with "nhwc" the runner still takes
    and returns arrays in the model's own layout and moves them at the edges.
    """
    if layout != "nchw":
        return LayoutRunner(open_runtime(path, num_threads=num_threads), layout)
    path = Path(path)
    opener = {".tflite": LiteRTRunner, ".onnx": OnnxRunner}.get(artifact_suffix(path))
    if opener is None:
        raise VerificationError(f"{path}: no runtime for a {path.suffix or 'suffix-less'} file "
                                "(expected a .tflite or .onnx model)")
    try:
        return opener(path, num_threads=num_threads)
    except (RuntimeError, ValueError) as error:
        raise VerificationError(f"{path}: the runtime could not load it: {error}") from error


def outputs_identical(path_a: Path, path_b: Path, inputs: Sequence[np.ndarray], *, layout: str = "nchw") -> bool:
    """Whether two artifacts give bit-identical outputs on ``inputs`` (N × per-sample arrays, one
    per model input): how a rewrite of the file that must not change it (strip, sparse weights)
    is checked.  One thread each, so the kernels' summation order is the same."""
    a = open_runtime(path_a, num_threads=1, layout=layout).run_batch(inputs)
    b = open_runtime(path_b, num_threads=1, layout=layout).run_batch(inputs)
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
