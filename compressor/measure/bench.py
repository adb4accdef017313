"""Measure an artifact on this machine: latency (median, p90) and peak RSS in its real runtime.

    result = bench_artifact("out/model.tflite", runs=50, warmup=5, threads=1)
    result.median_ms, result.p90_ms, result.peak_rss_bytes - result.baseline_rss_bytes

``.tflite`` runs in LiteRT (``ai_edge_litert.interpreter``, its default XNNPACK delegate,
as an app runs it), ``.onnx`` in onnxruntime's CPU provider.  The inputs are random data of
the artifact's own input shapes and dtypes from a fixed seed, set once; each timed run is
one ``invoke()`` (LiteRT) or ``session.run`` (onnxruntime), measured with
``time.perf_counter``; the warm-up runs (first-run allocation, XNNPACK weight packing) are
not counted.

Peak RSS is measured in a fresh subprocess, so the number belongs to this model and not to
whatever the calling process had loaded: the child loads the runtime and the model, runs,
and reads its own high-water mark (``VmHWM`` in ``/proc/self/status``; ``ru_maxrss`` where
there is no ``/proc``).  A second child imports the same runtime (and numpy) but loads no model:
its peak is the ``baseline_rss_bytes``, and ``model_rss_bytes`` is the difference.

Host timings are this host's, never a phone's (that is what the target estimate is for):
``cpu`` names the CPU and its SIMD flags with every result.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ConfigError, VerificationError
from ..files import artifact_suffix

__all__ = ["ORT_DTYPES", "BenchResult", "bench_artifact", "cpu_description", "make_inputs", "onnx_feed", "open_invoker",
           "percentile", "time_interleaved"]

_SIMD_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm", "sve")
_FORMATS = {".tflite": "litert", ".onnx": "onnxruntime"}
# onnxruntime's tensor types -> numpy dtype names: what bench feeds, and the runtime wrapper's specs.
ORT_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
              "tensor(uint8)": "uint8", "tensor(int8)": "int8", "tensor(int16)": "int16", "tensor(uint16)": "uint16",
              "tensor(int32)": "int32", "tensor(uint32)": "uint32", "tensor(int64)": "int64", "tensor(uint64)": "uint64",
              "tensor(bool)": "bool"}
_INPUT_SEED = 0


@dataclass(frozen=True)
class BenchResult:
    artifact: str
    runtime: str  # "litert" | "onnxruntime"
    runs: int
    warmup: int
    threads: int
    median_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    peak_rss_bytes: int  # the child that loaded and ran the model
    baseline_rss_bytes: int  # a child with the same runtime imported, no model loaded
    cpu: str
    input_shapes: tuple[tuple[int, ...], ...] = ()  # the shapes the inputs were fed at
    notes: tuple[str, ...] = field(default=())  # what was assumed (a dynamic batch dim fed as 1)

    @property
    def model_rss_bytes(self) -> int:
        return max(0, self.peak_rss_bytes - self.baseline_rss_bytes)

    def to_dict(self) -> dict:
        return {**asdict(self), "model_rss_bytes": self.model_rss_bytes}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def cpu_description() -> str:
    """``model name [simd flags]`` of this machine, from /proc/cpuinfo."""
    import platform

    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            if key.strip() in ("flags", "Features") and not flags:
                flags.update(value.split())
    except OSError:
        pass
    simd = [flag for flag in _SIMD_FLAGS if flag in flags]
    return f"{model} [{' '.join(simd) or 'no SIMD flags read'}]"


def make_inputs(specs: Sequence[tuple[tuple[int, ...], str]], *, seed: int = _INPUT_SEED) -> list:
    """Random arrays of the given (shape, dtype) pairs: normal floats, integers over their range."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = []
    for shape, dtype in specs:
        kind = np.dtype(dtype)
        if kind.kind == "f":
            arrays.append(rng.standard_normal(shape).astype(kind))
        elif kind.kind in "iu" and kind.itemsize == 1:
            info = np.iinfo(kind)
            arrays.append(rng.integers(info.min, info.max, size=shape, endpoint=True).astype(kind))
        elif kind.kind in "iu":  # indices, lengths: small non-negative values stay valid
            arrays.append(rng.integers(0, 8, size=shape).astype(kind))
        elif kind.kind == "b":
            arrays.append(rng.integers(0, 2, size=shape).astype(kind))
        else:
            raise VerificationError(f"cannot make random input of dtype {dtype}")
    return arrays


def open_invoker(path: Path, *, threads: int, load_model: bool = True,
                 input_shapes: tuple[tuple[int, ...], ...] | None = None,
                 input_values: dict[str, float] | None = None) -> Callable[[], None]:
    """Load ``path`` in its runtime with random inputs set; return a function that runs it once.

    With ``load_model=False`` only the runtime is imported and the inputs made (the baseline).
    Dynamic input dims follow ``graph.shapes.resolve_input_shapes`` (a dynamic batch is fed
    as 1, any other needs ``input_shapes``): the function's ``input_shapes`` and ``notes``
    attributes say what was fed.  ``input_values`` (input name -> number) fills those inputs with
    that value instead of random ones (Silero VAD's sample rate must be 16000 for its 16 kHz graph).
    """
    path = Path(path)
    suffix = artifact_suffix(path)
    if suffix not in _FORMATS:
        raise VerificationError(f"{path}: no runtime for a {path.suffix or 'suffix-less'} file "
                                "(expected a .tflite or .onnx model)")
    try:
        if suffix == ".tflite":
            return _litert_invoker(path, threads, load_model, input_shapes, input_values or {})
        return _onnx_invoker(path, threads, load_model, input_shapes, input_values or {})
    except (VerificationError, ConfigError):
        raise
    except Exception as error:  # the runtimes raise their own types (ORT: InvalidProtobuf, Fail, ...)
        raise VerificationError(f"{path}: the runtime could not load it: {str(error).strip()[:300]}") from error


def _litert_invoker(path: Path, threads: int, load_model: bool, input_shapes, values) -> Callable[[], None]:
    from ai_edge_litert.interpreter import Interpreter

    from ..graph.shapes import InputSpec, resolve_input_shapes

    if not load_model:
        return lambda: None
    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    details = interpreter.get_input_details()
    specs = []
    for detail in details:
        signature = detail.get("shape_signature")
        dims = [int(d) for d in (signature if signature is not None and len(signature) else detail["shape"])]
        specs.append(InputSpec(detail["name"], tuple(d if d > 0 else None for d in dims)))
    shapes, notes = resolve_input_shapes(tuple(specs), input_shapes, path=path, resizable=True)
    for detail, shape in zip(details, shapes):
        if tuple(int(d) for d in detail["shape"]) != shape:
            interpreter.resize_tensor_input(detail["index"], list(shape), strict=False)
    interpreter.allocate_tensors()
    arrays = _with_values(make_inputs([(shape, detail["dtype"]) for shape, detail in zip(shapes, details)]),
                          [detail["name"] for detail in details], values, path)
    for detail, array in zip(details, arrays):
        interpreter.set_tensor(detail["index"], array)
    return _described(interpreter.invoke, shapes, notes)


def _described(invoke: Callable[[], None], shapes, notes) -> Callable[[], None]:
    def run() -> None:
        invoke()

    run.input_shapes, run.notes = tuple(shapes), tuple(notes)
    return run


def _with_values(arrays: list, names: list[str], values: dict[str, float], path: Path) -> list:
    """``arrays`` with the inputs named in ``values`` filled with their value; a name that is not
    an input is a ConfigError listing the inputs."""
    import numpy as np

    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError("input_value", unknown[0], f"the name of an input of {path.name} ({', '.join(names)})")
    return [np.full(a.shape, values[n], dtype=a.dtype) if n in values else a for n, a in zip(names, arrays)]


def _onnx_invoker(path: Path, threads: int, load_model: bool, input_shapes, values) -> Callable[[], None]:
    import onnxruntime as ort

    if not load_model:
        return lambda: None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed, shapes, notes = onnx_feed(session, path, input_shapes, values)
    return _described(lambda: session.run(None, feed), shapes, notes)


def onnx_feed(session, path: Path, input_shapes=None, values: dict[str, float] | None = None) -> tuple[dict, tuple, tuple]:
    """``(feed, shapes, notes)``: what bench feeds an onnxruntime ``session`` of the file at ``path``:
    its seeded random arrays (``make_inputs``) at the shapes ``graph.shapes.resolve_input_shapes``
    gives (``input_shapes`` for the dynamic dims), ``values`` (input name -> number) filling those
    inputs; VerificationError for an input type it cannot make."""
    from ..graph.shapes import InputSpec, resolve_input_shapes

    specs = []
    for arg in session.get_inputs():
        if arg.type not in ORT_DTYPES:
            raise VerificationError(f"{path}: input {arg.name!r} has type {arg.type}, which bench cannot feed")
        specs.append(InputSpec(arg.name, tuple(d if isinstance(d, int) and d > 0 else None for d in arg.shape),
                               ORT_DTYPES[arg.type]))
    shapes, notes = resolve_input_shapes(tuple(specs), input_shapes, path=path)
    arrays = _with_values(make_inputs([(shape, spec.dtype) for shape, spec in zip(shapes, specs)]),
                          [spec.name for spec in specs], values or {}, path)
    return {spec.name: array for spec, array in zip(specs, arrays)}, shapes, notes


# Visits per invoker of an interleaved timing: its runs come in this many blocks.
VISITS = 5


def time_interleaved(invokers: Sequence[Callable[[], None]], *, runs: int, warmup: int) -> list[list[float]]:
    """Milliseconds per run of each invoker (``runs`` each), taking turns in blocks (a a a, b b b,
    a a a, ...) after ``warmup`` untimed rounds, so drift on a shared machine hits all alike.
    Each visit starts with one untimed run: every session packs its own weights, and a run
    timed right after another session's finds them evicted, as a model running alone never
    does (runs interleaved one by one timed a GRU with 40 MB of packed weights at 4.7 ms that
    runs 2.1 alone on a Xeon, MobileNetV2 at 7.5 ms for 6.7)."""
    for _ in range(warmup):
        for invoke in invokers:
            invoke()
    times: list[list[float]] = [[] for _ in invokers]
    block = max(1, -(-runs // VISITS))
    while len(times[0]) < runs:
        for invoke, out in zip(invokers, times):
            if len(invokers) > 1:
                invoke()  # back in cache after the others' runs
            for _ in range(min(block, runs - len(out))):
                start = time.perf_counter()
                invoke()
                out.append((time.perf_counter() - start) * 1e3)
    return times


def _peak_rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # the kernel prints kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _child_main(argv: list[str]) -> None:
    """``python -m compressor.measure.bench PATH THREADS RUNS WARMUP MODE``: one JSON line on stdout."""
    from ..errors import CompressorError

    path, threads, runs, warmup, mode = Path(argv[0]), int(argv[1]), int(argv[2]), int(argv[3]), argv[4]
    shapes = json.loads(argv[5]) if len(argv) > 5 else None
    values = json.loads(argv[6]) if len(argv) > 6 else None
    try:
        invoke = open_invoker(path, threads=threads, load_model=mode == "model",
                              input_shapes=tuple(map(tuple, shapes)) if shapes is not None else None,
                              input_values=values)
    except CompressorError as error:
        typed = ({"field": error.field, "value": error.value, "expected": error.expected}
                 if isinstance(error, ConfigError) else {})
        print(json.dumps({"error": " ".join(str(error).split()), **typed}))
        sys.exit(2)
    times = time_interleaved([invoke], runs=runs, warmup=warmup)[0] if mode == "model" else []
    print(json.dumps({"times_ms": times, "peak_rss_bytes": _peak_rss_bytes(),
                      "input_shapes": getattr(invoke, "input_shapes", ()), "notes": getattr(invoke, "notes", ())}))


def _run_child(path: Path, threads: int, runs: int, warmup: int, mode: str, input_shapes=None,
               input_values=None) -> dict:
    command = [sys.executable, "-m", "compressor.measure.bench", str(path.resolve()), str(threads), str(runs),
               str(warmup), mode, json.dumps(input_shapes), json.dumps(input_values)]
    done = subprocess.run(command, capture_output=True, text=True)
    last_line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}"
    if done.returncode == 2 and last_line.startswith('{"error"'):
        reply = json.loads(last_line)
        if "field" in reply:  # a ConfigError (a dynamic dim without --input-shape) keeps its type
            raise ConfigError(reply["field"], reply["value"], reply["expected"])
        raise VerificationError(reply["error"])
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {done.returncode}"
        # A CompressorError raised in the child ends with "compressor.errors.X: message".
        raise VerificationError(f"{path}: the {mode} run failed: {last.split(': ', 1)[-1][:300]}")
    return json.loads(last_line)


def bench_artifact(path, *, runs: int = 50, warmup: int = 5, threads: int = 1,
                   input_shapes: tuple[tuple[int, ...], ...] | None = None,
                   input_values: dict[str, float] | None = None) -> BenchResult:
    """Time ``path`` ``runs`` times after ``warmup`` runs, and measure its peak RSS, each in a fresh process.

    ``input_shapes`` (one per input) fixes dynamic input dims; a dynamic batch is otherwise 1
    (``notes`` says so) and any other dynamic dim a ``ConfigError`` naming the input;
    ``input_values`` (name -> number) feeds those inputs that value (open_invoker)."""
    path = Path(path)
    for setting, value, least in (("runs", runs, 1), ("warmup", warmup, 0), ("threads", threads, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(setting, value, f"an integer >= {least}")
    if not path.is_file():
        raise VerificationError(f"{path}: no such file")
    suffix = artifact_suffix(path)
    if suffix not in _FORMATS:
        raise VerificationError(f"{path}: no runtime for a {path.suffix or 'suffix-less'} file "
                                "(expected a .tflite or .onnx model)")
    if input_shapes is not None:
        input_shapes = [list(map(int, shape)) for shape in input_shapes]
    measured = _run_child(path, threads, runs, warmup, "model", input_shapes, input_values)
    baseline = _run_child(path, threads, 0, 0, "baseline")
    times = measured["times_ms"]
    return BenchResult(artifact=str(path), runtime=_FORMATS[suffix], runs=runs, warmup=warmup, threads=threads,
                       median_ms=statistics.median(times), p90_ms=percentile(times, 90),
                       mean_ms=statistics.fmean(times), min_ms=min(times), max_ms=max(times),
                       peak_rss_bytes=int(measured["peak_rss_bytes"]),
                       baseline_rss_bytes=int(baseline["peak_rss_bytes"]), cpu=cpu_description(),
                       input_shapes=tuple(tuple(s) for s in measured.get("input_shapes", ())),
                       notes=tuple(measured.get("notes", ())))


if __name__ == "__main__":
    _child_main(sys.argv[1:])
