"""Rewrite the pruned int8 `.tflite`'s mostly-zero conv weights in TFLite's sparse format.

Runs after unstructured or 2:4 pruning (pipeline.py).  The writer is ``sparse_tflite``; this
pass keeps its file only when it is smaller and LiteRT, with its default delegate (XNNPACK) as
an app runs it, gives outputs identical to the dense file on the first eval samples.  It
reports both sizes and their gzip / zstd sizes (what an over-the-air update would ship),
and warns that the target gains nothing at run time: no shipped profile declares sparse
kernels, and LiteRT densifies the weights once at load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data import as_inputs, head
from ..errors import ConfigError, VerificationError
from ..artifact import Artifact, Context, PassBase, replace
from ..config import Recipe
from ..targets.types import TargetProfile
from ..measure.runtime import outputs_identical
from ..files import ota_sizes
from ..tflite.sparse import SparsifyResult, sparsify_tflite

__all__ = ["SPARSE_METHODS", "SparsifyTflite", "dense_file_reason", "writes_sparse_format"]

SPARSE_METHODS = ("unstructured", "2:4")  # the pruning methods whose zeros the sparse format stores


def dense_file_reason(recipe: Recipe, target: TargetProfile | None) -> str | None:
    """Why the pruned zeros must ship dense (no runtime of the target reads the sparse format), or
    None.  The one rule behind both the pipeline's choice and the prune pass's warning."""
    if target is not None and target.kind in ("mcu", "npu"):
        readers = " and Vela, which have" if target.kind == "npu" else ", which has"
        return f"{target.name} runs tflite-micro{readers} no DENSIFY kernel for TFLite's sparse format"
    if recipe.format == "c":
        return "--format c is for tflite-micro, which has no DENSIFY kernel for TFLite's sparse format"
    return None


def writes_sparse_format(recipe: Recipe, target: TargetProfile | None) -> bool:
    """Whether the sparsify pass runs: sparse pruning, a .tflite, and a runtime with DENSIFY."""
    return (recipe.file_format == "tflite" and recipe.prune.method in SPARSE_METHODS
            and dense_file_reason(recipe, target) is None)


def _stripped(path):
    """``path`` as the strip pass will ship it, in a temporary file beside it."""
    from ..tflite.strip import strip_tflite

    out = path.with_name(path.stem + ".sizecheck.tflite")
    strip_tflite(path, out)
    return out

_CHECK_SAMPLES = 8


@dataclass(frozen=True)
class SparsifyTflite(PassBase):
    min_sparsity: float = 0.5  # a weight with fewer zeros than this stays dense
    name: str = "sparsify"
    requires: tuple[str, ...] = ("path",)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_sparsity <= 1.0:
            raise ConfigError("sparsify.min_sparsity", self.min_sparsity, "a fraction in [0, 1]")

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        sparse_path = context.workdir / "model_sparse.tflite"
        result = sparsify_tflite(artifact.path, sparse_path, min_sparsity=self.min_sparsity)
        identical, problem = self._check(artifact, sparse_path, result, context)
        # Both as they would ship, after the strip pass (names, metadata, shared quantization
        # vectors): the sparse writer re-packs the file, so only stripped sizes compare fairly.
        shipped = {"dense": _stripped(artifact.path), "sparse": _stripped(sparse_path)}
        try:
            if problem is None and shipped["sparse"].stat().st_size >= shipped["dense"].stat().st_size:
                problem = "the sparse file is no smaller once both are stripped"
            kept = problem is None
            ota = {kind: ota_sizes(path) for kind, path in shipped.items()}
            sizes = {kind: path.stat().st_size for kind, path in shipped.items()}
        finally:
            for path in shipped.values():
                path.unlink(missing_ok=True)
        facts = {"kept": kept, "dense_size_bytes": sizes["dense"], "sparse_size_bytes": sizes["sparse"],
                 "dense_size_unstripped_bytes": result.size_before, "sparse_size_unstripped_bytes": result.size_after,
                 "outputs_identical": identical,
                 "tensors_rewritten": [t._asdict() for t in result.rewritten],
                 "tensors_skipped": len(result.skipped),
                 "ota_bytes": ota, "ota_bytes_final": ota["sparse" if kept else "dense"],
                 "warnings": self._warnings(context, ota, kept, problem)}
        return (replace(artifact, path=sparse_path) if kept else artifact), facts

    @staticmethod
    def _check(artifact: Artifact, sparse_path, result: SparsifyResult, context: Context
               ) -> tuple[bool | None, str | None]:
        """(outputs identical?, why the dense file stays or None)."""
        if not result.rewritten:
            return None, "no weight was sparse enough to make the file smaller"
        inputs = as_inputs(head(context.eval_x, _CHECK_SAMPLES))
        try:
            identical = outputs_identical(artifact.path, sparse_path, inputs, layout=artifact.layout)
        except (RuntimeError, ValueError, VerificationError) as error:
            return None, f"LiteRT could not run the sparse file: {str(error).strip()[:200]}"
        if not identical:
            return False, "its outputs differ from the dense file's"
        return True, None

    @staticmethod
    def _warnings(context: Context, ota: dict[str, dict[str, int]], kept: bool, problem: str | None) -> list[str]:
        warnings = []
        if problem is not None:
            warnings.append(f"kept the dense file: {problem}")
        if kept:  # LiteRT's DENSIFY runs once at load: no runtime we target computes on sparse weights
            warnings.append(f"sparse weights make the file smaller, not faster: "
                            f"{context.target.name} has no sparse kernels; LiteRT "
                            f"densifies them once at load, so latency and weight RAM stay those of the "
                            f"dense model")
        if kept and ota["sparse"]["zstd"] >= ota["dense"]["zstd"]:
            warnings.append(f"compressed for download the dense file is smaller (zstd "
                            f"{ota['dense']['zstd']} B vs sparse {ota['sparse']['zstd']} B): zeros "
                            f"compress better than index arrays")
        return warnings
