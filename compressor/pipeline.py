"""The pipeline: an ordered list of passes over one ``Artifact``.

Each pass lives in its own module under ``passes/``, declares what it ``requires`` of the
artifact, and returns a new artifact plus a record of what it did (the report's
``steps``).  ``build_pipeline`` turns a recipe into the pass list; ``run_passes`` runs it,
checking each pass's requirements first, so a pass added by a later feature (pruning,
depthwise substitution) only has to be inserted here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from .artifact import Artifact, Context, Pass, StepRecord
from .config import Recipe
from .targets.types import TargetProfile

__all__ = ["build_pipeline", "check_data_given", "run_passes"]


def build_pipeline(recipe: Recipe, *, target: TargetProfile | None = None) -> list[Pass]:
    """The recipe's passes in the one order that makes sense.

    fold works on the torch model; export writes the float file; int8 quantizes that file
    (both quantizers, ai-edge-quantizer and onnxruntime's, work on the exported graph);
    verify runs the artifact in its runtime; emulate runs it on integer reference kernels
    as an NPU/MCU would (only for targets of kind npu or mcu; left out without a target);
    estimate costs it on the target.  prune (only when the recipe's prune.method is not
    "none") runs first, on the torch model, recovery included; sparsify rewrites the int8
    .tflite's weights in the sparse tensor format after unstructured or 2:4 pruning.
    dsconv (only when recipe.dsconv.mode is not "none") runs after prune and before fold:
    pruning first, because it cuts the dense convs' channels and the factorisation then
    works on the smaller weights (pruning a depthwise pair's replicated channels is not
    something torch-pruning's dependency graph handles); before fold, because a BatchNorm
    after the conv must fold into the new pointwise conv, not the dense one.  Each of the
    two passes runs its own recovery (distilled from the original model); int8 follows on
    the exported file as always.  export_original runs first whenever prune or dsconv runs:
    it writes the model as given, the report's "original", before they change it.
    """
    from .passes.write_c_array import WriteCArray
    from .passes.emulate_npu import EmulateNpu
    from .passes.estimate_cost import EstimateCost
    from .passes.export_onnx import ExportOnnx
    from .passes.export_original import ExportOriginal
    from .passes.export_tflite import ExportTflite
    from .passes.fold_batchnorm import FoldBatchNorm
    from .passes.quantize_onnx import QuantizeOnnx
    from .passes.sparsify_tflite import SparsifyTflite, writes_sparse_format
    from .passes.quantize_tflite import QuantizeTflite
    from .passes.rewrite_graph import RewriteGraph
    from .passes.strip_tflite import StripTflite
    from .passes.verify_outputs import VerifyOutputs

    tflite = recipe.file_format == "tflite"
    changes_model = any(name in recipe.passes and enabled
                        for name, enabled in (("prune", recipe.prune.enabled), ("dsconv", recipe.dsconv.enabled)))
    builders: dict[str, Callable[[], Pass]] = {
        # The model as given, exported before pruning or substitution change it (the report's original).
        "export_original": lambda: ExportOriginal("model_unpruned_float" if recipe.prune.enabled else "model_original_float"),
        "prune": lambda: _prune_pass(recipe),
        "dsconv": lambda: _dsconv_pass(recipe),
        "fold": lambda: FoldBatchNorm(recipe.fold),
        "rewrite": lambda: RewriteGraph(),
        "qat": lambda: _qat_pass(recipe),
        "export": lambda: (ExportTflite if tflite else ExportOnnx)(recipe.export),
        "int8": lambda: (QuantizeTflite if tflite else QuantizeOnnx)(recipe.int8, seed=recipe.seed),
        "sparsify": lambda: SparsifyTflite(),
        "strip": lambda: StripTflite(),
        "verify": lambda: VerifyOutputs(recipe.verify),
        "emulate": lambda: EmulateNpu(recipe.emulate),
        "estimate": lambda: EstimateCost(),
        "c_array": lambda: WriteCArray(),
    }
    emulated = target is not None and target.kind in ("npu", "mcu")
    wanted = {"export_original": changes_model, "emulate": emulated, "prune": recipe.prune.enabled,
              "dsconv": recipe.dsconv.enabled, "sparsify": writes_sparse_format(recipe, target),
              "rewrite": "int8" in recipe.passes, "strip": tflite, "c_array": recipe.format == "c",
              "qat": "int8" in recipe.passes and recipe.int8.qat_epochs > 0}
    implied = {"export_original"}  # never named by a recipe: runs whenever what it serves runs
    return [builders[name]() for name in builders
            if (name in recipe.passes or name in implied) and wanted.get(name, True)]


def _prune_pass(recipe: Recipe) -> Pass:
    from .passes.prune_model import PruneModel

    return PruneModel(recipe.prune, seed=recipe.seed)


def _dsconv_pass(recipe: Recipe) -> Pass:
    from .passes.substitute_dsconv import SubstituteDsconv

    return SubstituteDsconv(recipe.dsconv, seed=recipe.seed)


def _qat_pass(recipe: Recipe) -> Pass:
    from .passes.qat_finetune import QatFinetune

    return QatFinetune(recipe.int8.qat_epochs, lr=recipe.int8.qat_lr, seed=recipe.seed)


def check_data_given(passes: Sequence[Pass], data_given: bool) -> None:
    """The one rule for training data: a pass that fine-tunes refuses to start without it."""
    from .errors import ConfigError

    for step in passes:
        reason = step.data_needed()
        if reason and not data_given:
            raise ConfigError("data", None, reason)


def run_passes(passes: Sequence[Pass], artifact: Artifact, context: Context
               ) -> tuple[Artifact, list[StepRecord]]:
    for step in passes:  # every refusal before any work
        step.check(artifact, context)
    steps = []
    for step in passes:
        missing = [name for name in step.requires if getattr(artifact, name) is None]
        # A recipe that breaks a pass's requirement is a bug in build_pipeline, not user input.
        assert not missing, f"pass {step.name!r} needs {missing} but no earlier pass made it"
        context.progress(step.name)
        started = time.perf_counter()
        artifact, facts = step.run(artifact, context)
        steps.append(StepRecord(step.name, time.perf_counter() - started, facts))
    return artifact, steps
