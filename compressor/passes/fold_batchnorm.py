"""Fold BatchNorm into the convolution or linear layer before it.

In eval mode BatchNorm is an affine map per channel, y = γ (x − μ) / √(σ² + ε) + β, so
after a conv it folds exactly into that conv's weights and bias (Jacob et al., CVPR 2018,
§3.2).  We use torch.fx's ``fuse``, which rewrites Conv{1,2,3}d→BatchNorm and
Linear→BatchNorm1d pairs on a symbolically traced model.  A model fx cannot trace (or a
``torch.export`` / TorchScript graph, which has no modules to fuse) is left as it is: the
TFLite converter and onnxruntime's pre-processing fold the same pairs in the exported graph.
The fold is checked on the example input and undone if it changed the output by more than
float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import FoldConfig
from ..artifact import Artifact, Context, PassBase, replace

__all__ = ["FoldBatchNorm", "fold_batchnorm"]

_BATCHNORMS = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")


def _count_batchnorms(module: Any) -> int:
    return sum(type(m).__name__ in _BATCHNORMS for m in module.modules())


def fold_batchnorm(module: Any) -> tuple[Any, str | None]:
    """A new module with BatchNorms folded, or the same module and why not."""
    import torch
    from torch.fx.experimental.optimization import fuse

    if _count_batchnorms(module) == 0:
        return module, "no BatchNorm modules"
    try:
        folded = fuse(module, inplace=False)
    except Exception as error:  # fx tracing fails on data-dependent control flow and more
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return module, f"torch.fx cannot trace the model ({first_line[:120]})"
    if not isinstance(folded, torch.nn.Module):
        return module, "torch.fx returned no module"
    return folded, None


@dataclass(frozen=True)
class FoldBatchNorm(PassBase):
    config: FoldConfig
    name: str = "fold"
    requires: tuple[str, ...] = ("module",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        from ..model.outputs import relative_output_change

        before = _count_batchnorms(artifact.module)
        folded, reason = fold_batchnorm(artifact.module)
        if reason is None:
            error = relative_output_change(artifact.module, folded, artifact.example_inputs)
            if error > self.config.max_relative_error:
                folded, reason = artifact.module, f"folding changed the output by {error:.2e} (relative); undone"
        after = _count_batchnorms(folded)
        facts = {"batchnorms_before": before, "batchnorms_folded": before - after}
        if reason is not None:
            facts["note"] = reason
        return replace(artifact, module=folded), facts

