"""Prove the artifact computes what the original model did, by running it for real.

The artifact runs in its own runtime (LiteRT's ``Interpreter`` or an onnxruntime
``InferenceSession``), the original torch model (as loaded, before any pass) runs in torch,
both on the same samples.  Per output: SQNR (10·log10 of signal power over error power),
max and mean absolute error, cosine similarity; these hold for any model.  For a
classifier (first output N×K, K ≥ 2): top-1 agreement, and accuracy of both with labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import VerifyConfig
from ..data import Batch, as_inputs, head, sample_count
from ..artifact import Artifact, Context, PassBase, replace
from ..measure.runtime import open_runtime
from ..model.outputs import run_torch

__all__ = ["OutputComparison", "Verification", "VerifyOutputs", "compare_outputs", "is_classifier"]

# Identical outputs have infinite SQNR; JSON has no infinity, so we report this ceiling.
SQNR_CEILING_DB = 300.0


@dataclass(frozen=True)
class OutputComparison:
    name: str
    sqnr_db: float
    max_abs_error: float
    mean_abs_error: float
    cosine: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sqnr_db": self.sqnr_db, "max_abs_error": self.max_abs_error,
                "mean_abs_error": self.mean_abs_error, "cosine": self.cosine}


def compare_outputs(name: str, reference: np.ndarray, actual: np.ndarray) -> OutputComparison:
    ref = reference.astype(np.float64).ravel()
    got = actual.astype(np.float64).ravel()
    error = got - ref
    noise = float(np.sum(error**2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        sqnr = SQNR_CEILING_DB
    elif signal == 0.0:
        sqnr = -SQNR_CEILING_DB
    else:
        sqnr = min(SQNR_CEILING_DB, 10.0 * math.log10(signal / noise))
    norms = float(np.linalg.norm(ref) * np.linalg.norm(got))
    cosine = float(np.dot(ref, got) / norms) if norms > 0 else float(noise == 0.0)
    return OutputComparison(name, round(sqnr, 3), float(np.max(np.abs(error), initial=0.0)),
                            float(np.mean(np.abs(error))) if error.size else 0.0, cosine)


def is_classifier(output: np.ndarray, inputs: list[np.ndarray]) -> bool:
    """An N×K first output (K >= 2) scores classes, unless it has an input's shape: then it is a
    reconstruction (an autoencoder), where top-1 agreement means nothing."""
    if output.ndim != 2 or output.shape[1] < 2:
        return False
    return not any(a.shape[1:] == output.shape[1:] for a in inputs)


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels))


@dataclass(frozen=True)
class Verification:
    samples: int
    data_source: str  # "eval", "calibration" or "random"
    runtime: str
    outputs: tuple[OutputComparison, ...]
    agreement: float | None  # classifiers only
    accuracy_original: float | None  # with labels only
    accuracy_compressed: float | None
    min_agreement: float
    io: dict[str, list[dict[str, Any]]]

    @property
    def passed(self) -> bool:
        return self.agreement is None or self.agreement >= self.min_agreement

    @property
    def sqnr_db(self) -> float:
        return min(o.sqnr_db for o in self.outputs)

    @property
    def max_abs_error(self) -> float:
        return max(o.max_abs_error for o in self.outputs)

    @property
    def cosine(self) -> float:
        return min(o.cosine for o in self.outputs)

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "data": self.data_source, "runtime": self.runtime,
                "agreement": self.agreement, "accuracy_original": self.accuracy_original,
                "accuracy_compressed": self.accuracy_compressed, "min_agreement": self.min_agreement,
                "passed": self.passed, "outputs": [o.to_dict() for o in self.outputs], "io": self.io}


def verify_artifact(path, reference_module: Any, x: Batch, y: np.ndarray | None, *,
                    data_source: str, min_agreement: float, layout: str = "nchw") -> Verification:
    runner = open_runtime(path, layout=layout)
    expected = run_torch(reference_module, as_inputs(x))
    actual = runner.run_batch(as_inputs(x))
    if len(expected) != len(actual):
        from ..errors import VerificationError

        raise VerificationError(f"{path}: the artifact has {len(actual)} outputs, the model {len(expected)}")
    comparisons = tuple(compare_outputs(spec.name, ref, got.reshape(ref.shape))
                        for spec, ref, got in zip(runner.outputs, expected, actual))
    first_ref, first_got = expected[0], actual[0].reshape(expected[0].shape)
    classifier = is_classifier(first_ref, as_inputs(x))
    agreement = accuracy_original = accuracy_compressed = None
    if classifier:
        agreement = float(np.mean(np.argmax(first_ref, 1) == np.argmax(first_got, 1)))
        if y is not None and int(y.max(initial=0)) < first_ref.shape[1]:
            accuracy_original = _accuracy(first_ref, y)
            accuracy_compressed = _accuracy(first_got, y)
    runtime = "LiteRT" if str(path).endswith(".tflite") else "onnxruntime"
    io = {"inputs": [s.to_dict() for s in runner.inputs], "outputs": [s.to_dict() for s in runner.outputs]}
    return Verification(sample_count(x), data_source, runtime, comparisons, agreement, accuracy_original,
                        accuracy_compressed, min_agreement, io)


@dataclass(frozen=True)
class VerifyOutputs(PassBase):
    config: VerifyConfig
    name: str = "verify"
    requires: tuple[str, ...] = ("path",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        count = min(sample_count(context.eval_x), self.config.max_samples)
        y = context.eval_y[:count] if context.eval_y is not None else None
        result = verify_artifact(artifact.path, context.reference, head(context.eval_x, count), y,
                                 data_source=context.eval_source, min_agreement=self.config.min_agreement,
                                 layout=artifact.layout)
        return replace(artifact, verification=result), result.to_dict()
