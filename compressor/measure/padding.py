"""What padded channels cost: the model's estimated latency as costed vs with no channel padding.

A layer whose output channels are not a multiple of its kernel's tile is costed on the padded
count (``cost.latency.padded_macs``; the kernel check warns, ``channel_multiple``).  To state that
as latency, the same kernel check (``cost.kernels.check_kernels``) costs the same graph a second
time on the target with a channel tile of 1, the target and its fallback CPU otherwise unchanged:
the difference is exactly what the padding adds, as the target's own cost model prices it (a
memory-bound layer pays nothing for padding, a compute-bound one its share).  No formula here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..graph.ir import Graph
from ..targets.types import TargetProfile

__all__ = ["channel_padding_cost", "without_channel_padding"]


def without_channel_padding(profile: TargetProfile) -> TargetProfile:
    """``profile`` (and its fallback CPU) with kernels that need no channel padding (tile 1)."""
    compute = dataclasses.replace(profile.compute, channel_multiple=1, channel_tiles={})
    fallback = without_channel_padding(profile.fallback) if profile.fallback is not None else None
    return dataclasses.replace(profile, compute=compute, fallback=fallback)


def channel_padding_cost(graph: Graph, profile: TargetProfile, kernels: Any) -> dict[str, Any] | None:
    """``kernels`` (``check_kernels(graph, profile)``) against the same check without padding:
    layers padded, estimated latency as costed and unpadded (ms), and the increase (%).  None
    when no layer pads."""
    from ..cost.kernels import check_kernels

    padded = sorted({w.name for w in kernels.warnings if w.kind == "channel_multiple"})
    if not padded:
        return None
    unpadded_ms = check_kernels(graph, without_channel_padding(profile)).latency_ms
    costed_ms = kernels.latency_ms
    increase = 100.0 * (costed_ms - unpadded_ms) / unpadded_ms if unpadded_ms > 0 else None
    return {"layers": len(padded), "names": padded, "latency_ms": float(costed_ms),
            "unpadded_latency_ms": float(unpadded_ms), "extra_ms": float(costed_ms - unpadded_ms),
            "latency_increase_percent": None if increase is None else round(increase, 3)}
