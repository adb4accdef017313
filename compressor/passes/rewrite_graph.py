"""Rewrite the torch model so its int8 graph stays in the runtime's fast kernels.

Runs after ``fold`` and before ``export`` (graph_rewrites.py has the rewrites and the
measurements behind each).  Every rewrite is exact in principle; the pass checks it on the
example input as ``fold`` does and undoes the lot if the output moved by more than float
rounding, so a rewrite can only change how fast the model runs, never what it computes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..artifact import Artifact, Context, PassBase, replace

__all__ = ["RewriteGraph"]

# Largest output change allowed, relative to the output's scale: float rounding, not a change.
MAX_RELATIVE_ERROR = 1e-4


@dataclass(frozen=True)
class RewriteGraph(PassBase):
    name: str = "rewrite"
    requires: tuple[str, ...] = ("module",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        from ..model.rewrites import rewrite_for_int8_
        from ..model.outputs import relative_output_change

        artifact, recurrent = _rewrite_recurrent(artifact)
        rewritten = copy.deepcopy(artifact.module)
        try:
            # HARD_SWISH is one int8 op on NPUs and MCUs; only XNNPACK (CPU targets) lacks it.
            # LEAKY_RELU has no int8 form in ai-edge-quantizer: rewritten where float is not allowed.
            cpu = context.target.kind == "cpu"
            done = rewrite_for_int8_(rewritten, hardswish=cpu, leaky_relu=not cpu)
        except Exception as error:  # a rewrite must never stop the job: the model stays as it was
            return artifact, {"rewrites": [], "note": f"not rewritten: {type(error).__name__}: {str(error)[:120]}",
                              **recurrent}
        if not done:
            return artifact, {"rewrites": [], **recurrent}
        error = relative_output_change(artifact.module, rewritten, artifact.example_inputs)
        if error > MAX_RELATIVE_ERROR:
            return artifact, {"rewrites": [], "note": f"rewrites changed the output by {error:.2e} (relative); undone",
                              **recurrent}
        return replace(artifact, module=rewritten), {"rewrites": done, "max_relative_error": error, **recurrent}


def _rewrite_recurrent(artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    """LSTM/GRU as one input projection over all steps plus the recurrence (model/recurrent.py);
    checked on its own, so a failed check undoes only this rewrite."""
    from ..model.outputs import relative_output_change
    from ..model.recurrent import has_recurrent, rewrite_recurrent_

    if not has_recurrent(artifact.module):
        return artifact, {}
    rewritten = copy.deepcopy(artifact.module)
    try:
        done, left = rewrite_recurrent_(rewritten)
        error = relative_output_change(artifact.module, rewritten, artifact.example_inputs) if done else 0.0
    except Exception as error:  # a rewrite must never stop the job: the model stays as it was
        return artifact, {"recurrent": {"rewrites": [], "note": f"not rewritten: {type(error).__name__}: "
                                                                 f"{str(error)[:120]}"}}
    facts = {"rewrites": done, "left": left}
    if not done:
        return artifact, ({"recurrent": facts} if left else {})
    if error > MAX_RELATIVE_ERROR:
        facts = {"rewrites": [], "left": left, "note": f"changed the output by {error:.2e} (relative); undone"}
        return artifact, {"recurrent": facts}
    return replace(artifact, module=rewritten), {"recurrent": {**facts, "max_relative_error": error}}
