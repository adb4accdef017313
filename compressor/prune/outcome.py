"""Pruning: what a pruning method did, layer by layer, in one shape for every method.

The methods live in their own modules: ``channels.py`` (structured, torch-pruning's
dependency graph), ``masks.py`` (unstructured and N:M masks), ``sensitivity.py`` (per-layer
sensitivity scan for ``--prune-layers auto``).  Each ends in a ``PruneOutcome``, which the
``prune`` pass (passes/prune_model.py) puts in the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["LayerSparsity", "PruneOutcome"]


@dataclass(frozen=True)
class LayerSparsity:
    """One prunable layer: how much was asked of it and how much it gave.

    ``requested`` / ``achieved`` are fractions (0..1) of the layer's weights (channels for
    structured pruning: fraction of output channels removed).  ``skipped`` names why the
    layer was left alone (None when it was pruned).
    """

    name: str
    kind: str  # module type, e.g. "Conv2d", "Linear"
    params: int  # weights of the layer before pruning
    requested: float
    achieved: float
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "params": int(self.params),
                "requested": round(float(self.requested), 4),
                "achieved": round(float(self.achieved), 4), "skipped": self.skipped}


@dataclass(frozen=True)
class PruneOutcome:
    """What a pruning method did: overall and per-layer sparsity, and why it stopped short."""

    method: str  # "channels", "unstructured", "2:4"
    requested: float  # overall fraction asked for
    achieved: float  # overall fraction reached (of the prunable layers' weights)
    layers: tuple[LayerSparsity, ...] = ()
    notes: tuple[str, ...] = ()  # caps, skipped patterns, anything the reader must know

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "requested": round(float(self.requested), 4),
                "achieved": round(float(self.achieved), 4),
                "layers": [layer.to_dict() for layer in self.layers],
                "skipped": [{"name": layer.name, "reason": layer.skipped}
                            for layer in self.layers if layer.skipped],
                "notes": list(self.notes)}
