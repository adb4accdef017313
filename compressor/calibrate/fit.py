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

Modules.  This one holds the model, the fit and ``calibrate`` (fit, write, load back);
``calibrate_traces.py`` reads the traces into ``Observation``s (``read_trace``), and
``calibrate_toml.py`` renders the calibrated profile file (``render_calibrated_toml``).
Their public names are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .traces import Observation
from ..errors import DataError
from ..targets.load import TargetProfile

__all__ = ["PRIOR_WEIGHT", "Fit", "apply_fit", "fit_profile", "predict_observation_s"]

PRIOR_WEIGHT = 0.01  # weight of one group's prior term against one observation's residual
EFFICIENCY_BOUNDS = (1e-4, 1.0)  # the profile schema's (0, 1]


@dataclass(frozen=True)
class Fit:
    efficiency: Mapping[tuple[str, str], float]  # (dtype, kind) -> fitted fraction of peak
    dispatch_overhead_us: float
    op_counts: Mapping[tuple[str, str], int]  # ops with MACs behind each fitted group
    errors_before: tuple[float, ...]  # predicted / measured − 1 per observation, base profile
    errors_after: tuple[float, ...]  # the same with the fitted values


# ---------------------------------------------------------------------------- fitting


def predict_observation_s(observation: Observation, profile: TargetProfile) -> float:
    """The cost model's time for an observation: the sum of ``estimate_op_latency`` of its ops."""
    from ..cost.latency import estimate_op_latency

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

    from ..cost.latency import estimate_op_latency

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
