"""What flows through the pipeline: the ``Artifact`` each pass takes and returns, the
``Context`` every pass may read, the ``StepRecord`` of what a pass did, and the ``Pass``
protocol itself.  ``pipeline.py`` builds and runs the list; ``passes/`` holds one pass per file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import Recipe
from .targets.types import TargetProfile

__all__ = ["Artifact", "Context", "Pass", "PassBase", "StepRecord", "replace"]


@dataclass(frozen=True)
class Artifact:
    """What flows between passes: the torch model, then the exported file and its results."""

    module: Any  # torch.nn.Module, the model as the passes have changed it
    example_inputs: tuple  # tuple[torch.Tensor, ...], batch of 1
    format: str
    path: Path | None = None  # the exported file once there is one
    float_path: Path | None = None  # the float export, kept for the size/params baseline
    quantized: bool = False
    verification: Any = None  # verify_outputs.Verification
    estimate: Any = None  # measure.estimate.ArtifactEstimate of ``path`` on the target
    original_estimate: Any = None  # the same for the original's float file, by the same function
    graph: Any = None  # graph_ir.Graph of ``path``
    emulation: Any = None  # dict: outputs on integer reference kernels (passes/emulate_npu.py)
    # The unpruned model's float export, written by the prune pass: the report's "original"
    # is then the model as given, not the pruned float file.
    original_path: Path | None = None
    layout: str = "nchw"  # the artifact's I/O layout (layout.py); the torch module keeps its own
    tensor_names: tuple[str, ...] | None = None  # names by tensor index before ``strip`` shortened them
    extra_files: tuple[str, ...] = ()  # more outputs to ship beside the artifact (C sources)


@dataclass(frozen=True)
class Context:
    """What every pass may read and nothing changes: inputs, target, settings."""

    recipe: Recipe
    workdir: Path
    reference: Any  # the original torch model, as loaded: the ground truth for verification
    # N × per-sample shape, float32; a tuple of such arrays for a model with several inputs (data.Batch)
    calibration_x: Any
    eval_x: Any
    eval_y: np.ndarray | None
    eval_source: str  # "eval", "calibration" or "random": what eval_x came from
    target: TargetProfile
    # Called with a step's name (str) or a progress.ProgressUpdate (long work: done / total)
    progress: Callable[[Any], None] = field(default=lambda message: None)
    calibration_y: np.ndarray | None = None  # labels of calibration_x, when --data has y (recovery uses them)
    data_given: bool = True  # False when calibration_x is random (no --data)


@dataclass(frozen=True)
class StepRecord:
    name: str
    seconds: float
    facts: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 3), **self.facts}


class Pass(Protocol):
    name: str
    requires: tuple[str, ...]  # Artifact fields that must be set before the pass runs

    def data_needed(self) -> str | None: ...

    def check(self, artifact: Artifact, context: Context) -> None: ...

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]: ...


class PassBase:
    """What every pass inherits: a ``check`` that refuses nothing, no need of training data."""

    def data_needed(self) -> str | None:
        """Why this pass needs training data (``--data``), or None when it runs without.  Asked
        before the model is loaded (``pipeline.check_data_given``)."""
        return None

    def check(self, artifact: Artifact, context: Context) -> None:
        """Raise a ``CompressorError`` for input this pass cannot take.  ``run_passes`` calls every
        pass's check on the starting artifact before any pass runs, so bad input fails in seconds,
        not after an export or a fine-tuning."""


def replace(artifact: Artifact, **changes: Any) -> Artifact:
    return dataclasses.replace(artifact, **changes)
