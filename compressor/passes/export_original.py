"""Export the model as given, before any pass changes it: the report's "original" column.

Pruning and depthwise substitution change the torch model before the export pass runs, so
this pass runs first whenever either is in the pipeline: it writes the unchanged model's
float file, exported exactly as the export pass will export the changed one (BatchNorm folded
first when the recipe folds), and records it as ``original_path``.  Without those passes the
float export itself is the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..artifact import Artifact, Context, PassBase, replace

__all__ = ["ExportOriginal", "export_float"]


@dataclass(frozen=True)
class ExportOriginal(PassBase):
    stem: str  # file name without suffix: the report names the file it measured
    name: str = "export_original"
    requires: tuple[str, ...] = ("module",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        path = export_float(artifact.module, artifact.example_inputs, context, stem=self.stem)
        facts = {"file": path.name, "size_bytes": path.stat().st_size}
        return replace(artifact, original_path=path), facts


def export_float(module: Any, example_inputs: tuple, context: Context, *, stem: str) -> Path:
    """Write ``module``'s float export to ``context.workdir / f"{stem}.{format}"``; its path."""
    import torch

    from .fold_batchnorm import fold_batchnorm

    if "fold" in context.recipe.passes:
        module, _ = fold_batchnorm(module)
    fmt = context.recipe.file_format
    path = context.workdir / f"{stem}.{fmt}"
    if fmt == "tflite":
        from .export_tflite import export_tflite

        export_tflite(module, example_inputs, path)
    else:
        from ..model.outputs import flatten_outputs
        from .export_onnx import export_onnx

        with torch.no_grad():
            count = len(flatten_outputs(module(*example_inputs)))
        export_onnx(module, example_inputs, path, opset=context.recipe.export.opset, output_count=count)
    return path
