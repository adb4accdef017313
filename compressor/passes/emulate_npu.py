"""Compute the outputs as the NPU or MCU would, and compare them with the original model's.

``verify`` runs the artifact in LiteRT with its fast kernels (XNNPACK), whose int8
arithmetic may round differently from the device's.  Ethos-U (via Vela) and tflite-micro's
kernels (CMSIS-NN included) implement TFLite's *reference* integer kernels bit-exactly, so
this pass runs the same int8 ``.tflite`` on LiteRT's reference op resolver
(``OpResolverType.BUILTIN_REF``: integer-only reference kernels, no delegate) and reports
accuracy, top-1 agreement and SQNR against the original torch model under those numerics,
beside how far they are from the fast kernels' outputs.  The ops the target cannot run
(``cost.kernels``: unsupported or float ops on an NPU) are listed as CPU fallback: on the
device they run on the host CPU's reference kernels, which is what this computes for them.

Runs only for targets of kind ``npu`` or ``mcu`` (``pipeline.build_pipeline`` leaves it
out for CPUs) and only on ``.tflite`` artifacts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import EmulateConfig
from ..data import Batch, as_inputs, head, sample_count
from ..artifact import Artifact, Context, PassBase, replace
from ..measure.runtime import LiteRTRunner
from ..targets.types import TargetProfile
from .verify_outputs import context_label_classes

__all__ = ["EmulateNpu", "ReferenceKernelRunner", "emulate_artifact"]

RUNTIME_NAME = "LiteRT reference kernels (BUILTIN_REF)"


class ReferenceKernelRunner(LiteRTRunner):
    """LiteRT with the reference op resolver: integer-only reference kernels, no XNNPACK."""

    def __init__(self, path: Path):
        super().__init__(path, num_threads=1, reference_kernels=True)


def emulate_artifact(path: Path, reference_module: Any, x: Batch, y: np.ndarray | None, *,
                     target: TargetProfile, layout: str = "nchw", label_classes: int | None = None,
                     classifier_output: tuple[str, ...] = (), progress: Any = None) -> dict[str, Any]:
    """Accuracy, agreement and SQNR of ``path`` on reference integer kernels (see the docstring);
    ``progress`` gets a ``ProgressUpdate`` per emulated sample (the reference kernels are slow)."""
    from ..cost.kernels import check_kernels
    from ..errors import VerificationError
    from ..graph.read import read_graph
    from ..measure.runtime import open_runtime
    from ..model.outputs import run_torch
    from .verify_outputs import compare_outputs, judge_outputs, resolve_classifier_outputs

    try:
        emulator = ReferenceKernelRunner(path)
        if layout != "nchw":
            from ..measure.runtime import LayoutRunner

            emulator = LayoutRunner(emulator, layout)
    except (RuntimeError, ValueError) as error:
        raise VerificationError(f"{path}: the reference kernels could not load it: {error}") from error
    from ..progress import sample_reporter

    expected = run_torch(reference_module, as_inputs(x))
    emulated = [e.reshape(ref.shape) for ref, e in zip(expected, emulator.run_batch(
        as_inputs(x), on_samples=sample_reporter(progress, "emulate: integer reference kernels")))]
    fast = [f.reshape(ref.shape) for ref, f in zip(expected, open_runtime(path, layout=layout).run_batch(as_inputs(x)))]
    names = [spec.name for spec in emulator.outputs]
    # Output by output, as verify judges the fast kernels: agreement only on class outputs.
    named = resolve_classifier_outputs(classifier_output, names, [ref.shape for ref in expected])
    comparisons = judge_outputs([compare_outputs(n, ref, got) for n, ref, got in zip(names, expected, emulated)],
                                expected, emulated, label_classes=label_classes, named=named,
                                min_sqnr_db=-math.inf, min_agreement=0.0)
    versus_fast = [compare_outputs(n, f, e) for n, f, e in zip(names, fast, emulated)]
    classes = [c.index for c in comparisons if c.kind == "class"]
    agreement = accuracy = agreement_fast = None
    if classes:  # the first class output, as the report's top-level numbers
        first, first_emu, first_fast = expected[classes[0]], emulated[classes[0]], fast[classes[0]]
        agreement = float(np.mean(np.argmax(first, 1) == np.argmax(first_emu, 1)))
        agreement_fast = float(np.mean(np.argmax(first_fast, 1) == np.argmax(first_emu, 1)))
        if y is not None and int(y.max(initial=0)) < first.shape[1]:
            accuracy = float(np.mean(np.argmax(first_emu, 1) == y))
    kernels = check_kernels(read_graph(path), target)
    reasons = {w.name: w.reason for w in kernels.warnings if w.kind in ("unsupported_op", "float_op")}
    return {
        "runtime": RUNTIME_NAME, "samples": sample_count(x),
        "accuracy": accuracy, "agreement": agreement,
        "sqnr_db": min(c.sqnr_db for c in comparisons), "cosine": min(c.cosine for c in comparisons),
        "max_abs_error": max(c.max_abs_error for c in comparisons),
        "agreement_with_fast_kernels": agreement_fast,
        "max_abs_diff_vs_fast_kernels": max(c.max_abs_error for c in versus_fast),
        "identical_to_fast_kernels": all(c.max_abs_error == 0.0 for c in versus_fast),
        "cpu_fallback_ops": [{"op": op.op_type, "name": op.name, "runs_on": op.runs_on,
                              "reason": reasons.get(op.name)} for op in kernels.fallback_ops],
        "outputs": [{k: v for k, v in c.to_dict().items() if k != "status"} for c in comparisons],
    }


@dataclass(frozen=True)
class EmulateNpu(PassBase):
    config: EmulateConfig
    name: str = "emulate"
    requires: tuple[str, ...] = ("path",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        target = context.target
        if artifact.path.suffix != ".tflite":
            facts = {"skipped": f"reference-kernel emulation runs .tflite artifacts; this is {artifact.path.suffix}"}
            return replace(artifact, emulation=facts), facts
        count = min(sample_count(context.eval_x), self.config.max_samples)
        y = context.eval_y[:count] if context.eval_y is not None else None
        facts = emulate_artifact(artifact.path, context.reference, head(context.eval_x, count), y,
                                 target=target, layout=artifact.layout, label_classes=context_label_classes(context),
                                 classifier_output=context.recipe.verify.classifier_output,
                                 progress=context.progress)
        facts["data"] = context.eval_source
        return replace(artifact, emulation=facts), facts
