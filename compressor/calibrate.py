"""Fit a target profile's efficiency factors and dispatch overhead to measured op timings.

    traces = [read_trace("ort_profile.json", model="model.onnx")]
    result = calibrate(traces, target="host-x86", out="targets/my-host.toml")
    result.fit.efficiency[("int8", "conv")], result.fit.dispatch_overhead_us

Model.  ``cost/latency.py`` prices op *i* as ``max(c_i, m_i) + d`` with the compute time
``c_i = MACs / (clock × macs_per_cycle[dtype] × efficiency[dtype][kind] × threads)``, the
memory time ``m_i`` and the dispatch overhead ``d``.  Everything but the efficiencies and
``d`` is held at the profile's values, so ``c_i = a_i / e_g`` with ``a_i`` read once from
``estimate_op_latency`` under the base profile (``a_i = c_i × e_g`` there) and ``g`` the op's
(dtype, kind).  An *observation* is a set of ops with one measured time (one profiled
kernel, which may be several IR ops fused; or a whole model); it is predicted as the sum of
its ops.

Fit.  Minimise ``Σ_k (log P_k − log M_k)² + w Σ_g (log e_g − log e_g⁰)²`` over ``log e_g``
(bounded to efficiencies in [1e-4, 1], the profile's range) and ``d ≥ 0`` with
``scipy.optimize.least_squares`` (trust-region reflective, bounds), from the base profile.
Why log space: op times span three or more decades (a 1 µs reshape beside a 1 ms conv), so
plain least squares would fit the largest convolutions and ignore the rest; a log residual
weighs every observation's *relative* error alike (the fidelity goal is relative, ±20 %),
treats over- and under-estimates symmetrically, and is the maximum-likelihood fit under the
multiplicative timing noise of a shared machine.  The small prior ``w`` (``PRIOR_WEIGHT``)
keeps a group the data barely constrain (one memory-bound op, or two whole models that
differ only in it) at the profile's measured value instead of anywhere on a flat valley.

Traces (``read_trace``): onnxruntime profiling JSON (``SessionOptions.enable_profiling``;
its per-node ``*_kernel_time`` events, median over the runs after the first, mapped to the
IR ops of the model by node name, output-tensor name, or those with ORT's suffixes such as
``_nchwc`` stripped; IR ops fused away join the next profiled kernel), and
``edge-compressor-trace`` v1 from ``scripts/parse_benchmark_model.py`` (rows mapped by the
output tensor name; XNNPACK delegate rows, which carry no tensor names, by the order of
the compute ops).  A trace whose ops cannot be mapped to the model's is a ``DataError``.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from .errors import DataError, TargetError
from .graph_ir import COMPUTE_KINDS, Graph, Op, read_graph
from .targets import TargetProfile, load_target

__all__ = ["PRIOR_WEIGHT", "CalibrationResult", "Fit", "Observation", "Trace", "apply_fit", "calibrate",
           "fit_profile", "predict_observation_s", "read_trace", "render_calibrated_toml"]

PRIOR_WEIGHT = 0.01  # weight of one group's prior term against one observation's residual
EFFICIENCY_BOUNDS = (1e-4, 1.0)  # the profile schema's (0, 1]
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


@dataclass(frozen=True)
class Fit:
    efficiency: Mapping[tuple[str, str], float]  # (dtype, kind) -> fitted fraction of peak
    dispatch_overhead_us: float
    op_counts: Mapping[tuple[str, str], int]  # ops with MACs behind each fitted group
    errors_before: tuple[float, ...]  # predicted / measured − 1 per observation, base profile
    errors_after: tuple[float, ...]  # the same with the fitted values


@dataclass(frozen=True)
class CalibrationResult:
    fit: Fit
    profile: TargetProfile  # the written file, loaded back
    out: Path


# ---------------------------------------------------------------------------- fitting


def predict_observation_s(observation: Observation, profile: TargetProfile) -> float:
    """The cost model's time for an observation: the sum of ``estimate_op_latency`` of its ops."""
    from .cost.latency import estimate_op_latency

    return sum(estimate_op_latency(op, profile).latency_s for op in observation.ops)


def apply_fit(profile: TargetProfile, fit: Fit) -> TargetProfile:
    """``profile`` with the fitted efficiencies and dispatch overhead (in memory, no file)."""
    efficiency = {d: dict(kinds) for d, kinds in profile.compute.efficiency.items()}
    for (dtype, kind), value in fit.efficiency.items():
        efficiency[dtype][kind] = value
    compute = replace(profile.compute, efficiency=efficiency, dispatch_overhead_us=fit.dispatch_overhead_us)
    return replace(profile, compute=compute)


def fit_profile(observations: Sequence[Observation], profile: TargetProfile, *,
                prior_weight: float = PRIOR_WEIGHT) -> Fit:
    """Least-squares efficiencies per (dtype, kind) and dispatch overhead; see the module docstring."""
    import numpy as np
    from scipy.optimize import least_squares

    from .cost.latency import estimate_op_latency

    if not observations:
        raise DataError("traces", "no timed ops to fit")
    groups: dict[tuple[str, str], int] = {}
    rows = []  # per observation: (group index array, a_i array, m_i array, op count, measured)
    for obs in observations:
        if not obs.measured_s > 0:
            raise DataError(obs.label, f"measured time must be > 0, got {obs.measured_s!r}")
        index, scale, memory = [], [], []
        for op in obs.ops:
            latency = estimate_op_latency(op, profile)
            if op.macs:
                key = (op.compute_dtype, op.kind)
                index.append(groups.setdefault(key, len(groups)))
                scale.append(latency.compute_s * profile.compute.efficiency_of(*key))
            else:
                index.append(-1)
                scale.append(0.0)
            memory.append(latency.memory_s)
        rows.append((np.array(index, dtype=int), np.array(scale), np.array(memory), len(obs.ops), obs.measured_s))
    keys = list(groups)
    prior = np.log([profile.compute.efficiency_of(*key) for key in keys])
    d0_s = profile.compute.dispatch_overhead_us * 1e-6
    low, high = math.log(EFFICIENCY_BOUNDS[0]), math.log(EFFICIENCY_BOUNDS[1])

    def predict(theta):
        efficiency = np.exp(theta[:-1])
        out = []
        for index, scale, memory, count, _ in rows:
            compute = np.where(index >= 0, scale / efficiency[np.maximum(index, 0)], 0.0)
            out.append(float(np.maximum(compute, memory).sum()) + count * theta[-1])
        return np.array(out)

    measured = np.log([row[4] for row in rows])
    weight = math.sqrt(prior_weight)

    def residuals(theta):
        model = np.log(np.maximum(predict(theta), 1e-15)) - measured
        return np.concatenate([model, weight * (theta[:-1] - prior)])

    start = np.concatenate([np.clip(prior, low, high), [d0_s]])
    # d in seconds is ~1e-8; x_scale puts both parameter kinds on comparable steps.
    x_scale = np.concatenate([np.ones(len(keys)), [max(d0_s, 1e-7)]])
    solution = least_squares(residuals, start, bounds=(np.concatenate([np.full(len(keys), low), [0.0]]),
                                                       np.concatenate([np.full(len(keys), high), [1.0]])),
                             x_scale=x_scale, method="trf", xtol=1e-12, ftol=1e-12, gtol=1e-12)
    theta = solution.x
    counts = {key: 0 for key in keys}
    for obs in observations:
        for op in obs.ops:
            if op.macs:
                counts[(op.compute_dtype, op.kind)] += 1
    fit = Fit(efficiency={key: float(math.exp(theta[i])) for i, key in enumerate(keys)},
              dispatch_overhead_us=float(theta[-1] * 1e6), op_counts=counts,
              errors_before=tuple(float(p / m - 1) for p, m in zip(predict(start), np.exp(measured))), errors_after=())
    fitted = apply_fit(profile, fit)
    after = tuple(predict_observation_s(obs, fitted) / obs.measured_s - 1 for obs in observations)
    before = tuple(predict_observation_s(obs, profile) / obs.measured_s - 1 for obs in observations)
    return replace(fit, errors_before=before, errors_after=after)


# ---------------------------------------------------------------------------- traces


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


# ---------------------------------------------------------------------------- the profile file


def _chain_variants(path: Path) -> list[dict]:
    """The ``[[compute.variants]]`` in effect for the profile file at ``path`` (nearest file wins)."""
    import tomllib

    from ._paths import targets_dir

    seen: set[Path] = set()
    while path not in seen:
        seen.add(path)
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        variants = data.get("compute", {}).get("variants")
        if variants:
            return variants
        parent = data.get("inherits")
        if not parent:
            return []
        name = parent if parent.endswith(".toml") else f"{parent}.toml"
        path = next((found.resolve() for found in (path.parent / name, targets_dir() / name) if found.is_file()), path)
    return []


def _percent(errors: Sequence[float]) -> str:
    within = sum(abs(e) <= 0.2 for e in errors) / len(errors)
    return (f"median |error| {100 * statistics.median(abs(e) for e in errors):.1f}%, "
            f"worst {100 * max(errors, key=abs):+.1f}%, {100 * within:.0f}% within ±20%")


def render_calibrated_toml(fit: Fit, base: TargetProfile, *, name: str, traces: Sequence[Trace],
                           command: str | None = None, now: datetime | None = None) -> str:
    """A profile file that inherits ``base`` and overrides the fitted numbers, with comments on where they came from."""
    now = now or datetime.now(timezone.utc)
    shipped = base.path.parent.resolve() == _shipped_dir()
    parent = base.name if shipped else str(base.path)
    count = sum(len(t.observations) for t in traces)
    lines = [f"# Calibrated by `compress calibrate` on {now.strftime('%Y-%m-%d %H:%M UTC')}: the efficiency",
             "# factors and dispatch overhead below were FITTED (log-space least squares, see",
             f"# compressor/calibrate.py) to {count} measured timings; all else is {parent}'s.",
             f"# Base: {base.path}" + (f" (CPU variant: {base.variant})" if base.variant else "")]
    if command:
        lines.append(f"# Command: {command}")
    for trace in traces:
        extra = "".join(f", {k} {v}" for k, v in (("threads", trace.threads), ("device", trace.device)) if v)
        lines.append(f"# Trace: {trace.path} ({trace.source}, model {trace.model}, "
                     f"{len(trace.observations)} timings{extra})")
    lines += [f"# Residuals, predicted vs measured, per timing: before {_percent(fit.errors_before)};",
              f"#   after {_percent(fit.errors_after)}.",
              f'name = "{name}"',
              f'description = "{base.name} calibrated on {len(traces)} trace(s), {now.strftime("%Y-%m-%d")}"',
              f'inherits = "{parent}"', "", "[compute]",
              f"dispatch_overhead_us = {fit.dispatch_overhead_us:.6g}  # fitted (was {base.compute.dispatch_overhead_us:g})"]
    by_dtype: dict[str, list[str]] = {}
    for (dtype, kind), value in sorted(fit.efficiency.items()):
        by_dtype.setdefault(dtype, []).append(
            f"{kind} = {value:.6g}  # fitted on {fit.op_counts[(dtype, kind)]} ops "
            f"(was {base.compute.efficiency_of(dtype, kind):g})")
    for dtype, entries in by_dtype.items():
        lines += ["", f"[compute.efficiency.{dtype}]", *entries]
    variants = _chain_variants(base.path)
    if variants:
        # The parent's CPU variants would override the fitted values; one variant replaces
        # them all, repeating the fitted values over the parent's variant that applied here.
        chosen = next((v for v in variants if v.get("description") == base.variant), variants[0])
        lines += ["", "# Replaces the parent's CPU variants, so the fitted values hold on every CPU.",
                  "[[compute.variants]]", f"requires_cpu_flags = {json.dumps(list(chosen['requires_cpu_flags']))}",
                  f"description = {json.dumps(chosen['description'] + ', calibrated')}",
                  f"dispatch_overhead_us = {fit.dispatch_overhead_us:.6g}"]
        if base.variant:
            for dtype, value in sorted(chosen.get("macs_per_cycle", {}).items()):
                lines.append(f"macs_per_cycle.{dtype} = {value!r}")
        efficiency = {d: dict(k) for d, k in (chosen.get("efficiency", {}) if base.variant else {}).items()}
        for (dtype, kind), value in fit.efficiency.items():
            efficiency.setdefault(dtype, {})[kind] = value
        for dtype, kinds in sorted(efficiency.items()):
            for kind, value in sorted(kinds.items()):
                lines.append(f"efficiency.{dtype}.{kind} = {value:.6g}")
    return "\n".join(lines) + "\n"


def _shipped_dir() -> Path:
    from ._paths import targets_dir

    return targets_dir().resolve()


def calibrate(traces: Sequence[Trace], *, target: str, out, command: str | None = None) -> CalibrationResult:
    """Fit ``target`` to ``traces`` and write the calibrated profile to ``out`` (temp file, then rename)."""
    out = Path(out)
    if out.suffix != ".toml":
        raise DataError(out, "the calibrated profile must be a .toml file")
    base = load_target(target)
    if out.resolve() == base.path.resolve():
        raise DataError(out, f"would overwrite the base target {base.name}; write the calibrated profile elsewhere")
    fit = fit_profile([obs for trace in traces for obs in trace.observations], base)
    text = render_calibrated_toml(fit, base, name=out.stem, traces=traces, command=command)
    with tempfile.TemporaryDirectory() as folder:  # it must load before it replaces anything
        check = Path(folder) / out.name
        check.write_text(text, encoding="utf-8")
        loaded = load_target(check)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for (dtype, kind), value in fit.efficiency.items():
        if not math.isclose(loaded.compute.efficiency_of(dtype, kind), float(f"{value:.6g}"), rel_tol=1e-9):
            raise TargetError(f"{out}: efficiency.{dtype}.{kind} loads as {loaded.compute.efficiency_of(dtype, kind)}, "
                              f"not the fitted {value:.6g}")
    return CalibrationResult(fit=fit, profile=replace(loaded, path=out.resolve()), out=out)
