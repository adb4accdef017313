"""Energy of one op on a target, in mJ.

Model (per op; a graph's energy is the sum):

    energy_pj = macs × pj_per_mac[dtype]
              + bytes moved × (cache_pj_per_byte if the working set fits the cache else dram_pj_per_byte)
              + static_power_mw × latency_s × 1e9          (mW × s = mJ = 1e9 pJ)

The per-operation energies follow M. Horowitz, "Computing's energy problem (and what we can
do about it)", ISSCC 2014 (45 nm figures, scaled in each profile as its comments state);
the bytes are the latency model's (``moved_bytes``, ``memory_level``), so both models agree
on where data comes from.  The static term charges the power a device draws for as long as
the op runs, which is what makes a faster kernel cheaper even at equal arithmetic.
"""

from __future__ import annotations

from ..errors import TargetError
from ..graph.ir import Op
from ..targets.load import TargetProfile
from .latency import OpLatency

__all__ = ["estimate_op_energy_mj"]

_PJ_PER_MJ = 1e9


def estimate_op_energy_mj(op: Op, latency: OpLatency, profile: TargetProfile) -> float:
    """Energy of ``op`` given its latency estimate (which says where its bytes come from)."""
    energy = profile.energy
    arithmetic_pj = 0.0
    if op.macs:
        if op.compute_dtype not in energy.pj_per_mac:
            raise TargetError(f"target {profile.name} has no energy per MAC for {op.compute_dtype} "
                              f"(op {op.op_type} {op.name!r}); it lists {', '.join(profile.dtypes)}")
        arithmetic_pj = op.macs * energy.pj_per_mac[op.compute_dtype]
    per_byte = energy.cache_pj_per_byte if latency.memory_level == "cache" else energy.dram_pj_per_byte
    data_pj = latency.bytes_moved * per_byte
    static_pj = energy.static_power_mw * latency.latency_s * _PJ_PER_MJ
    return (arithmetic_pj + data_pj + static_pj) / _PJ_PER_MJ
