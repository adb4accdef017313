"""Estimate what the artifact costs on the target: latency, peak RAM, flash, energy.

Calls ``measure.estimate.estimate_artifact``, the same function as ``compress profile``, on the
artifact and on the original's float file (the report's before/after come from one path): the cost
model over the op-level IR (``graph_ir``), the kernel check (where each op really runs),
Vela's figures for Ethos-U targets and tflite-micro's arena for MCU targets.  Not strict:
the artifact is already written, so a Vela failure or float ops on an integer-only target
become report warnings instead of stopping the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..artifact import Artifact, Context, PassBase, replace

__all__ = ["EstimateCost"]


@dataclass(frozen=True)
class EstimateCost(PassBase):
    name: str = "estimate"
    requires: tuple[str, ...] = ("path",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        from ..graph.ir import restore_names
        from ..graph.read import read_graph
        from ..measure.estimate import estimate_artifact

        graph = restore_names(read_graph(artifact.path), artifact.tensor_names)
        result = estimate_artifact(artifact.path, context.target, graph=graph, strict=False)
        # The report's "original" column is costed by the same function as the artifact.
        original = artifact.original_path or artifact.float_path
        original_result = (estimate_artifact(original, context.target, strict=False)
                           if original is not None and original != artifact.path else result)
        facts = {"target": context.target.name, "latency_ms": result.latency_ms,
                 "peak_ram_bytes": result.peak_ram_bytes, "flash_bytes": result.flash_bytes,
                 "energy_mj": result.energy_mj, "source": dict(result.source)}
        return replace(artifact, estimate=result, original_estimate=original_result, graph=graph), facts
