"""What an artifact costs on a target: latency, peak RAM, flash and energy.

``estimate(graph, profile, artifact_size_bytes=...)`` runs the three pure models over the
op-level IR and returns a frozen ``Estimate``; nothing here reads files or prints.  Each
model states its formula and sources in its module docstring:

* ``latency``: per-op roofline, max(compute, memory) + dispatch overhead, summed;
* ``memory``: greedy-by-size activation arena (+ weights when they live in RAM); flash is
  the artifact's size;
* ``energy``: MACs × pJ/MAC + bytes × pJ/byte of their memory level + static power × time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..graph.ir import Graph
from ..targets.load import TargetProfile
from .energy import estimate_op_energy_mj
from .latency import OpLatency, estimate_op_latency
from .memory import ArenaPlan, MemoryCost, estimate_memory, plan_arena

__all__ = ["ArenaPlan", "Estimate", "MemoryCost", "OpCost", "OpLatency", "estimate", "estimate_memory",
           "estimate_op_energy_mj", "estimate_op_latency", "plan_arena"]

_MS_PER_S = 1e3


@dataclass(frozen=True)
class OpCost:
    name: str
    op_type: str
    kind: str
    macs: int
    compute_dtype: str
    latency_ms: float
    bound: str  # "compute" | "memory"
    energy_mj: float


@dataclass(frozen=True)
class Estimate:
    latency_ms: float
    peak_ram_bytes: int
    flash_bytes: int
    energy_mj: float
    per_op: tuple[OpCost, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready numbers; the report's ``estimate`` block."""
        return {
            "latency_ms": float(self.latency_ms),
            "peak_ram_bytes": int(self.peak_ram_bytes),
            "flash_bytes": int(self.flash_bytes),
            "energy_mj": float(self.energy_mj),
            "per_op": [{"op": c.op_type, "name": c.name, "kind": c.kind, "macs": int(c.macs),
                        "dtype": c.compute_dtype, "latency_ms": float(c.latency_ms), "bound": c.bound}
                       for c in self.per_op],
        }


def estimate(graph: Graph, profile: TargetProfile, *, artifact_size_bytes: int) -> Estimate:
    """Latency, peak RAM, flash and energy of ``graph`` on ``profile``."""
    per_op = []
    for op in graph.ops:
        latency = estimate_op_latency(op, profile)
        per_op.append(OpCost(name=op.name, op_type=op.op_type, kind=op.kind, macs=op.macs,
                             compute_dtype=op.compute_dtype, latency_ms=latency.latency_s * _MS_PER_S,
                             bound=latency.bound, energy_mj=estimate_op_energy_mj(op, latency, profile)))
    memory = estimate_memory(graph, profile, artifact_size_bytes=artifact_size_bytes)
    return Estimate(latency_ms=sum(c.latency_ms for c in per_op), peak_ram_bytes=memory.peak_ram_bytes,
                    flash_bytes=memory.flash_bytes, energy_mj=sum(c.energy_mj for c in per_op),
                    per_op=tuple(per_op))
