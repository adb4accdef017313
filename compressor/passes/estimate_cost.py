"""Estimate what the artifact costs on the target: latency, peak RAM, flash, energy.

Reads the exported file into the op-level IR (``graph_ir``) and hands it to the target's
pure cost models (``cost``); every number comes from the profile's data file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..pipeline import Artifact, Context, replace

__all__ = ["EstimateCost"]


@dataclass(frozen=True)
class EstimateCost:
    name: str = "estimate"
    requires: tuple[str, ...] = ("path",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        from ..cost import estimate
        from ..graph_ir import read_graph

        graph = read_graph(artifact.path)
        result = estimate(graph, context.target, artifact_size_bytes=artifact.path.stat().st_size)
        facts = {"target": context.target.name, "latency_ms": result.latency_ms,
                 "peak_ram_bytes": result.peak_ram_bytes, "flash_bytes": result.flash_bytes,
                 "energy_mj": result.energy_mj}
        return replace(artifact, estimate=result, graph=graph), facts
