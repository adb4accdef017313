"""Reading measured op timings (traces) for ``compress calibrate``, mapped onto the IR ops of the model.

Traces (``read_trace``): onnxruntime profiling JSON (``SessionOptions.enable_profiling``;
its per-node ``*_kernel_time`` events, median over the runs after the first, mapped to the
IR ops of the model by node name, output-tensor name, or those with ORT's suffixes such as
``_nchwc`` stripped; IR ops fused away join the next profiled kernel), and
``edge-compressor-trace`` v1 from ``scripts/parse_benchmark_model.py`` (rows mapped by the
output tensor name; XNNPACK delegate rows, which carry no tensor names, by the order of
the compute ops).  A trace whose ops cannot be mapped to the model's is a ``DataError``.

An ``Observation`` is a set of IR ops with one measured time; ``calibrate.py`` fits the
profile to them.  Parsing lives here, apart from the fit, because it depends on each
runtime's output format (event names, name suffixes, delegate rows), which the fit does not.
``compressor.calibrate.fit`` re-exports ``Observation``, ``Trace`` and ``read_trace``.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..graph.ir import COMPUTE_KINDS, Graph, Op
from ..graph.read import read_graph

__all__ = ["Observation", "Trace", "read_trace"]

_ORT_INSERTED = ("ReorderInput", "ReorderOutput", "MemcpyToHost", "MemcpyFromHost")
_SUFFIX = re.compile(r"_[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Observation:
    ops: tuple[Op, ...]
    measured_s: float
    label: str  # the kernel's name in the trace, or the model's


@dataclass(frozen=True)
class Trace:
    path: Path
    model: Path
    source: str  # "onnxruntime-profile" | "litert-benchmark_model"
    observations: tuple[Observation, ...]
    threads: int | None = None
    device: str | None = None


def read_trace(path, *, model=None) -> Trace:
    """An onnxruntime profile or an edge-compressor-trace, mapped onto the ops of its model."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(path, f"cannot read: {error.strerror or error}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(path, f"not a JSON trace: {error}") from error
    if isinstance(data, dict) and data.get("format") == "edge-compressor-trace":
        return _read_litert_trace(path, data, model)
    events = data.get("traceEvents") if isinstance(data, dict) else data
    if isinstance(events, list) and all(isinstance(e, dict) for e in events):
        return _read_ort_profile(path, events, model)
    raise DataError(path, "not a trace: expected an onnxruntime profile (a JSON list of events) "
                          "or an edge-compressor-trace from scripts/parse_benchmark_model.py")


def _model_graph(path: Path, model, named: str | None, suffix: str) -> tuple[Path, Graph]:
    if model is None and named and Path(named).is_file():
        model = named
    if model is None:
        raise DataError(path, f"which model is this a trace of? give --model MODEL{suffix}"
                              + (f" (the trace names {named!r}, not found here)" if named else ""))
    model = Path(model)
    if model.suffix.lower() != suffix:
        raise DataError(path, f"a trace of a {suffix} model, but --model is {model}")
    return model, read_graph(model)


def _read_ort_profile(path: Path, events: list[dict], model) -> Trace:
    runs: list[dict[str, list[float]]] = [{}]
    order: list[str] = []
    op_names: dict[str, str] = {}
    for event in events:
        if event.get("cat") == "Session" and event.get("name") == "model_run":
            runs.append({})
        name = event.get("name")
        if event.get("cat") != "Node" or not isinstance(name, str) or not name.endswith("_kernel_time"):
            continue
        if not isinstance(event.get("dur"), (int, float)):
            raise DataError(path, f"event {name!r} has no numeric dur")
        node = name[: -len("_kernel_time")]
        runs[-1].setdefault(node, []).append(float(event["dur"]))
        op_names.setdefault(node, str(event.get("args", {}).get("op_name", "")))
        if node not in order:
            order.append(node)
    runs = [run for run in runs if run]
    if not runs:
        raise DataError(path, "no per-node kernel_time events (was SessionOptions.enable_profiling set "
                              "and the model run at least once?)")
    steady = runs[1:] if len(runs) > 1 else runs  # the first run warms up
    times_us = {node: statistics.median(sum(run.get(node, [0.0])) for run in steady) for node in order}
    model_path, graph = _model_graph(path, model, None, ".onnx")
    anchors: list[tuple[int | None, float, str]] = []
    for node in order:
        anchor = _find_op(node, graph)
        if anchor is None and not op_names[node].startswith(_ORT_INSERTED):
            raise DataError(path, f"trace of a different model: node {node!r} ({op_names[node]}) is not in "
                                  f"{model_path} ({len(graph.ops)} ops)")
        anchors.append((anchor, times_us[node] * 1e-6, node))
    return Trace(path=path, model=model_path, source="onnxruntime-profile",
                 observations=_group(anchors, graph, path))


def _find_op(name: str, graph: Graph) -> int | None:
    """The IR op a profiled node stands for: by op name, output tensor name, or with suffixes stripped."""
    by_name = {op.name: i for i, op in enumerate(graph.ops)}
    by_output = {graph.tensors[t].name: i for i, op in enumerate(graph.ops) for t in op.outputs}
    for _ in range(4):
        for table in (by_name, by_output):
            if name in table:
                return table[name]
        stripped = _SUFFIX.sub("", name)
        if stripped == name:
            return None
        name = stripped
    return None


def _group(anchors: list[tuple[int | None, float, str]], graph: Graph, path: Path) -> tuple[Observation, ...]:
    """Observations from (op index | None, seconds, label) in run order.

    An unanchored entry (a layout conversion the runtime inserted) adds its time to the
    previous kernel; IR ops no kernel names (fused into one) join the next anchored op.
    """
    seconds: dict[int, float] = {}
    labels: dict[int, str] = {}
    last = None
    for anchor, time_s, label in anchors:
        if anchor is None:
            if last is not None:
                seconds[last] += time_s
            continue
        seconds[anchor] = seconds.get(anchor, 0.0) + time_s
        labels.setdefault(anchor, label)
        last = anchor
    if not seconds:
        raise DataError(path, "no kernel of the trace maps to an op of the model")
    observations, pending = [], []
    for i, op in enumerate(graph.ops):
        pending.append(op)
        if i in seconds:
            observations.append([pending, seconds[i], labels[i]])
            pending = []
    if pending:
        observations[-1][0] = observations[-1][0] + pending
    return tuple(Observation(ops=tuple(ops), measured_s=s, label=label) for ops, s, label in observations if s > 0)


_XNNPACK_KIND = (("DWConv", "depthwise"), ("Depthwise", "depthwise"), ("IGEMM", "conv"), ("GEMM", "pointwise"),
                 ("Fully Connected", "fully_connected"), ("Batch Matrix Multiply", "fully_connected"),
                 ("Convolution", "conv"), ("Deconvolution", "conv"))
_TFLITE_COMPUTE = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "depthwise", "FULLY_CONNECTED": "fully_connected",
                   "BATCH_MATMUL": "fully_connected", "TRANSPOSE_CONV": "conv", "CONV_3D": "conv"}


def _row_kind(node_type: str) -> str | None:
    if node_type in _TFLITE_COMPUTE:
        return _TFLITE_COMPUTE[node_type]
    return next((kind for word, kind in _XNNPACK_KIND if word in node_type), None)


def _read_litert_trace(path: Path, data: dict, model) -> Trace:
    if data.get("version") != 1:
        raise DataError(path, f"edge-compressor-trace version {data.get('version')!r}; this reads version 1")
    rows = data.get("ops")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("avg_ms"), (int, float))
                                             and isinstance(r.get("node_type"), str) for r in rows):
        raise DataError(path, "ops: expected a list of rows with node_type and a numeric avg_ms")
    model_path, graph = _model_graph(path, model, data.get("model"), ".tflite")
    threads = data.get("threads") if isinstance(data.get("threads"), int) else None
    common = dict(path=path, model=model_path, source="litert-benchmark_model", threads=threads,
                  device=data.get("device") if isinstance(data.get("device"), str) else None)
    if not rows:
        total = data.get("total_ms")
        if not isinstance(total, (int, float)) or total <= 0:
            raise DataError(path, "no op rows and no total_ms to fit")
        return Trace(observations=(Observation(graph.ops, total * 1e-3, model_path.name),), **common)
    by_name = [_find_op(str(r.get("name", "")), graph) for r in rows]
    if all(anchor is not None for anchor in by_name):
        anchors = [(a, r["avg_ms"] * 1e-3, str(r.get("name"))) for a, r in zip(by_name, rows)]
        return Trace(observations=_group(anchors, graph, path), **common)
    # Delegate rows (XNNPACK) carry operator names, not tensors: align the compute rows with
    # the model's compute ops in order; everything else is one observation.
    compute_rows = [r for r in rows if _row_kind(r["node_type"])]
    compute_ops = [op for op in graph.ops if op.macs and op.kind in COMPUTE_KINDS]
    if len(compute_rows) != len(compute_ops):
        unknown = next((r for r, a in zip(rows, by_name) if a is None), rows[0])
        raise DataError(path, f"trace of a different model: row {unknown.get('name')!r} is not an op of "
                              f"{model_path}, and its {len(compute_rows)} compute rows do not match the "
                              f"model's {len(compute_ops)} compute ops")
    for row, op in zip(compute_rows, compute_ops):
        kind = _row_kind(row["node_type"])
        if kind == "depthwise" and op.kind != "depthwise" or op.kind == "depthwise" and kind != "depthwise":
            raise DataError(path, f"trace of a different model: row {row.get('name')!r} ({row['node_type']}) "
                                  f"lines up with {op.kind} op {op.name!r} of {model_path}")
    observations = [Observation((op,), row["avg_ms"] * 1e-3, str(row.get("name"))) for row, op in
                    zip(compute_rows, compute_ops) if row["avg_ms"] > 0]
    rest_s = sum(r["avg_ms"] for r in rows if not _row_kind(r["node_type"])) * 1e-3
    rest_ops = tuple(op for op in graph.ops if not (op.macs and op.kind in COMPUTE_KINDS))
    if rest_ops and rest_s > 0:
        observations.append(Observation(rest_ops, rest_s, "all non-compute rows"))
    return Trace(observations=tuple(observations), **common)

