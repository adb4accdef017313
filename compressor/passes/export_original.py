"""Export the model as it was before a pass changed it, for the report's "original" column.

Pruning and depthwise substitution both change the torch model before the export pass runs,
so each writes the unchanged model's float file first, exported exactly as the export pass
would (BatchNorm folded first when the recipe folds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..artifact import Context

__all__ = ["export_baseline"]


def export_baseline(module: Any, example_inputs: tuple, context: Context, *, stem: str) -> Path:
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
