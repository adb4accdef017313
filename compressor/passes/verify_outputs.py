"""Prove the artifact computes what the original model did, by running it for real.

The artifact runs in its own runtime (LiteRT's ``Interpreter`` or an onnxruntime
``InferenceSession``), the original torch model (as loaded, before any pass) runs in torch,
both on the same samples, and every output is judged on its own:

* every output: shape, SQNR (10·log10 of signal power over error power), cosine similarity,
  max and mean absolute error;
* class outputs only: top-1 agreement (and accuracy of both models when the labels fit).
  An output is a class output when it is N×K (K ≥ 2) and either the graph ends in softmax /
  log-softmax (seen in the original's outputs: every row non-negative and summing to 1, or
  its exponentials summing to 1), or the data's labels ``y`` hold K classes (0..K-1, the
  largest present), or the user names it (``verify.classifier_output``, ``--classifier-output``).
  Sigmoid heads, embeddings, reconstructions and other regressions are judged by SQNR and
  cosine alone: top-1 of box offsets or of an embedding means nothing.

Each output is judged by the measure that means something for it: a class output is FAILED
when its agreement is below ``verify.min_agreement``, any other output when its SQNR is
below ``verify.min_sqnr_db``; the run is FAILED when any output is.  (Class outputs are not
held to the SQNR floor: a pruned or substituted classifier keeps 98% agreement with logits
~9 dB from the original's, measured on the digits zoo with ``--prune channels:0.5``.)

The report's top-level numbers (``compressed.sqnr_db``, ``agreement``, ...) describe one
output, ``Verification.summary``: the first class output, or the worst (lowest SQNR) output
when there is none.  ``worst_sqnr_db`` / ``worst_agreement`` are what the int8 remedies aim
at: the worst output, never an average.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace as replace_fields
from typing import Any

import numpy as np

from ..config import VerifyConfig
from ..data import Batch, as_inputs, head, sample_count
from ..artifact import Artifact, Context, PassBase, replace
from ..errors import ConfigError
from ..measure.runtime import open_runtime
from ..model.outputs import flatten_outputs, run_torch

__all__ = ["SQNR_CEILING_DB", "OutputComparison", "Verification", "VerifyOutputs", "classes_in_labels",
           "compare_outputs", "context_label_classes", "judge_outputs", "output_kind", "resolve_classifier_outputs",
           "verify_artifact", "candidate_evaluator", "short_of_the_bar"]

# Identical outputs have infinite SQNR; JSON has no infinity, so we report this ceiling.
SQNR_CEILING_DB = 300.0
# Softmax rows sum to 1 up to float32 rounding (~1e-7 per term); 1e-3 also takes a softmax
# computed in float16 or over a thousand classes, and no regression head sums to 1 on every sample.
_PROBABILITY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class OutputComparison:
    name: str
    sqnr_db: float
    max_abs_error: float
    mean_abs_error: float
    cosine: float
    index: int = 0
    shape: tuple[int, ...] = ()  # of one sample, batch dimension 1 (as the io contract gives shapes)
    kind: str = "regression"  # "class" (scored by top-1 agreement too) or "regression"
    why: str | None = None  # for a class output: "softmax", "log-softmax", "labels" or "named"
    agreement: float | None = None  # class outputs only
    status: str = "ok"  # "ok" or "FAILED"
    agreement_samples: int = 0  # samples the agreement was counted on (class outputs)

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"index": self.index, "name": self.name, "shape": list(self.shape), "kind": self.kind,
                               "sqnr_db": self.sqnr_db, "cosine": self.cosine, "max_abs_error": self.max_abs_error,
                               "mean_abs_error": self.mean_abs_error, "agreement": self.agreement,
                               "status": self.status}
        if self.agreement is not None:
            row["agreement_samples"] = self.agreement_samples
        if self.why is not None:
            row["class_because"] = self.why
        return row


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
                            float(np.mean(np.abs(error))) if error.size else 0.0, cosine,
                            shape=(1, *(int(d) for d in reference.shape[1:])) if reference.ndim else ())


def classes_in_labels(y: np.ndarray | None) -> int | None:
    """K when ``y`` holds class labels 0..K-1 (whole numbers, the largest present), else None."""
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0 or not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
        return None
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y != np.round(y)):
        return None
    return int(y.max()) + 1


def output_kind(reference: np.ndarray, *, label_classes: int | None = None, named: bool = False) -> str | None:
    """Why ``reference`` (N×K outputs of the original) holds class scores, or None when it does not."""
    if reference.ndim != 2 or reference.shape[1] < 2 or reference.shape[0] == 0:
        return None
    if named:
        return "named"
    rows = reference.astype(np.float64)
    if np.all(rows >= -_PROBABILITY_TOLERANCE) and np.allclose(rows.sum(axis=1), 1.0, atol=_PROBABILITY_TOLERANCE):
        return "softmax"
    if np.all(rows <= _PROBABILITY_TOLERANCE) and np.allclose(np.exp(rows).sum(axis=1), 1.0,
                                                              atol=_PROBABILITY_TOLERANCE):
        return "log-softmax"
    if label_classes is not None and label_classes == reference.shape[1]:
        return "labels"
    return None


def resolve_classifier_outputs(given: tuple[str, ...], names: list[str],
                               shapes: list[tuple[int, ...]]) -> set[int]:
    """Indexes of the outputs ``given`` names (an index, negative from the end, an output name
    of the artifact, or ``output_<index>`` whatever the format calls it); a ``ConfigError`` for
    one that does not exist or is not N×K class scores."""
    chosen: set[int] = set()
    choices = f"an output index 0..{len(names) - 1} or name ({', '.join(names)})"
    aliases = {f"output_{i}": i for i in range(len(names))}
    for entry in given:
        if entry.lstrip("-").isdigit() and -len(names) <= int(entry) < len(names):
            index = int(entry) % len(names)
        elif entry in names:
            index = names.index(entry)
        elif entry in aliases:
            index = aliases[entry]
        else:
            raise ConfigError("verify.classifier_output", entry, choices)
        shape = shapes[index]
        if len(shape) != 2 or shape[1] < 2:
            raise ConfigError("verify.classifier_output", entry, f"an output of class scores, N×K with K ≥ 2 "
                              f"({names[index]} is {'×'.join(map(str, shape))})")
        chosen.add(index)
    return chosen


def judge_outputs(comparisons: list[OutputComparison], expected: list[np.ndarray], actual: list[np.ndarray], *,
                  label_classes: int | None, named: set[int], min_sqnr_db: float,
                  min_agreement: float) -> tuple[OutputComparison, ...]:
    """Each comparison with its index, kind, agreement (class outputs) and status."""
    judged = []
    for index, (comparison, ref, got) in enumerate(zip(comparisons, expected, actual)):
        why = output_kind(ref, label_classes=label_classes, named=index in named)
        agreement = float(np.mean(np.argmax(ref, 1) == np.argmax(got, 1))) if why else None
        failed = agreement < min_agreement if agreement is not None else comparison.sqnr_db < min_sqnr_db
        judged.append(replace_fields(comparison, index=index, kind="class" if why else "regression", why=why,
                                     agreement=agreement, status="FAILED" if failed else "ok",
                                     agreement_samples=int(ref.shape[0]) if why else 0))
    return tuple(judged)


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels))


@dataclass(frozen=True)
class Verification:
    samples: int
    data_source: str  # "eval", "calibration" or "random"
    runtime: str
    outputs: tuple[OutputComparison, ...]  # judged: kind, agreement, status
    accuracy_original: float | None  # with labels that fit a class output only
    accuracy_compressed: float | None
    min_agreement: float
    io: dict[str, list[dict[str, Any]]]
    min_sqnr_db: float = 15.0

    @property
    def passed(self) -> bool:
        return all(o.status == "ok" for o in self.outputs)

    @property
    def summary(self) -> OutputComparison:
        """The output the report's top-level numbers describe: the first class output, else the worst."""
        classes = [o for o in self.outputs if o.kind == "class"]
        return classes[0] if classes else min(self.outputs, key=lambda o: o.sqnr_db)

    @property
    def agreement(self) -> float | None:
        return self.summary.agreement

    @property
    def sqnr_db(self) -> float:
        return self.summary.sqnr_db

    @property
    def max_abs_error(self) -> float:
        return self.summary.max_abs_error

    @property
    def cosine(self) -> float:
        return self.summary.cosine

    @property
    def worst_sqnr_db(self) -> float:
        return min(o.sqnr_db for o in self.outputs)

    @property
    def worst_regression_sqnr_db(self) -> float:
        """The lowest SQNR among outputs judged by SQNR (not class scores); inf when all are classes."""
        return min((o.sqnr_db for o in self.outputs if o.agreement is None), default=float("inf"))

    @property
    def worst_agreement(self) -> float | None:
        agreements = [o.agreement for o in self.outputs if o.agreement is not None]
        return min(agreements) if agreements else None

    def failures(self) -> list[str]:
        """One phrase per FAILED output, for the report's notes."""
        notes = []
        for o in self.outputs:
            if o.agreement is None and o.sqnr_db < self.min_sqnr_db:
                notes.append(f"output {o.index} ({o.name}) SQNR {o.sqnr_db:.1f} dB is below --min-sqnr "
                             f"{self.min_sqnr_db:g} dB")
            if o.agreement is not None and o.agreement < self.min_agreement:
                notes.append(f"output {o.index} ({o.name}) top-1 agreement {o.agreement:.4f} is below "
                             f"--min-agreement {self.min_agreement:g}")
        return notes

    def sample_warnings(self) -> list[str]:
        """One phrase per class output whose agreement was counted on too few samples to judge
        the bar: with n samples agreement moves in steps of 1/n, so when one miss alone takes it
        under ``min_agreement`` (1/n > 1 - min_agreement) the verdict is all-or-nothing (16
        samples: 15/16 = 0.9375 fails a 0.97 bar, the next step up is 16/16)."""
        notes = []
        for o in self.outputs:
            n = o.agreement_samples
            if o.agreement is None or n == 0 or (n - 1) / n >= self.min_agreement or self.min_agreement >= 1.0:
                continue
            needed = math.ceil(1.0 / (1.0 - self.min_agreement) - 1e-9)  # the fewest n with (n-1)/n >= the bar
            notes.append(f"verify: output {o.index} ({o.name}) top-1 agreement was counted on {n} sample(s): one "
                         f"miss ({n - 1}/{n} = {(n - 1) / n:.4f}) is already under --min-agreement "
                         f"{self.min_agreement:g}; judge it on at least {needed} --eval samples")
        return notes

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "data": self.data_source, "runtime": self.runtime,
                "agreement": self.agreement, "accuracy_original": self.accuracy_original,
                "accuracy_compressed": self.accuracy_compressed, "min_agreement": self.min_agreement,
                "min_sqnr_db": self.min_sqnr_db, "passed": self.passed, "summary_output": self.summary.index,
                "outputs": [o.to_dict() for o in self.outputs], "io": self.io, "warnings": self.sample_warnings()}


def verify_artifact(path, reference_module: Any, x: Batch, y: np.ndarray | None, *,
                    data_source: str, min_agreement: float, layout: str = "nchw", min_sqnr_db: float = 15.0,
                    label_classes: int | None = None, classifier_output: tuple[str, ...] = (),
                    progress: Callable[[Any], None] | None = None,
                    expected: list[np.ndarray] | None = None) -> Verification:
    """Run ``path`` and ``reference_module`` on ``x`` and judge every output (module docstring).

    ``y``: labels of ``x`` (accuracy); ``label_classes``: K of the labels the data has, aligned
    with ``x`` or not (which outputs are class scores; from ``y`` when not given).  ``progress``
    gets a ``ProgressUpdate`` per batch (torch) and per sample (the runtime).  ``expected``: the
    reference's outputs on ``x`` when the caller already has them (the torch run is skipped)."""
    runner = open_runtime(path, layout=layout)
    runtime = "LiteRT" if str(path).endswith(".tflite") else "onnxruntime"
    from ..progress import sample_reporter

    if expected is None:  # given: the reference's outputs on ``x``, run once for many candidates
        expected = run_torch(reference_module, as_inputs(x),
                             on_samples=sample_reporter(progress, "verify: original (torch)"))
    actual = runner.run_batch(as_inputs(x), on_samples=sample_reporter(progress, f"verify: artifact ({runtime})"))
    if len(expected) != len(actual):
        from ..errors import VerificationError

        raise VerificationError(f"{path}: the artifact has {len(actual)} outputs, the model {len(expected)}")
    actual = [got.reshape(ref.shape) for ref, got in zip(expected, actual)]
    names = [spec.name for spec in runner.outputs]
    named = resolve_classifier_outputs(classifier_output, names, [ref.shape for ref in expected])
    classes = label_classes if label_classes is not None else classes_in_labels(y)
    if classes is not None and len(expected) == 1 and expected[0].ndim == 2 and classes <= expected[0].shape[1]:
        # One output and labels within its width: class scores, though the data may lack the top class.
        classes = expected[0].shape[1]
    outputs = judge_outputs([compare_outputs(name, ref, got) for name, ref, got in zip(names, expected, actual)],
                            expected, actual, label_classes=classes, named=named, min_sqnr_db=min_sqnr_db,
                            min_agreement=min_agreement)
    accuracy_original = accuracy_compressed = None
    if y is not None and classes_in_labels(y) is not None:
        fitting = [o.index for o in outputs if o.kind == "class" and int(np.max(y)) < expected[o.index].shape[1]]
        if fitting:
            accuracy_original = _accuracy(expected[fitting[0]], y)
            accuracy_compressed = _accuracy(actual[fitting[0]], y)
    io = {"inputs": [s.to_dict() for s in runner.inputs], "outputs": [s.to_dict() for s in runner.outputs]}
    return Verification(sample_count(x), data_source, runtime, outputs, accuracy_original, accuracy_compressed,
                        min_agreement, io, min_sqnr_db)


def candidate_evaluator(artifact: Artifact, context: Context, samples: int):
    """``evaluate(path) -> (worst output's SQNR dB, worst class output's agreement or None)`` of a
    candidate file against the model it quantizes, on the first ``samples`` evaluation samples:
    what the int8 remedies improve (never an average).  Which outputs are class scores follows
    the verify pass's rules and settings.  The reference is the torch model as the earlier passes
    left it (pruned, substituted, folded), not the original: the remedies fix what quantization
    loses, and a pruned model's own change from the original is no quantization error."""
    x = head(context.eval_x, min(sample_count(context.eval_x), samples))
    # The reference runs once: the remedies and the mixed-precision search evaluate dozens of candidates.
    expected = run_torch(artifact.module, as_inputs(x))

    def evaluate(path) -> tuple[float, float | None]:
        result = _candidate_result(path, artifact.module, x, context, artifact.layout, expected=expected)
        return result.worst_sqnr_db, result.worst_agreement

    return evaluate


def short_of_the_bar(path, artifact: Artifact, context: Context, min_sqnr_db: float, samples: int) -> bool:
    """Whether ``path`` fails its outputs as verify judges them: an output scored by SQNR under
    ``min_sqnr_db``, or a class output's agreement under verify's ``min_agreement``."""
    x = head(context.eval_x, min(sample_count(context.eval_x), samples))
    result = _candidate_result(path, artifact.module, x, context, artifact.layout)
    agreement = result.worst_agreement
    return result.worst_regression_sqnr_db < min_sqnr_db or (
        agreement is not None and agreement < context.recipe.verify.min_agreement)


def _candidate_result(path, module: Any, x: Batch, context: Context, layout: str, *,
                      expected: list[np.ndarray] | None = None) -> Verification:
    return verify_artifact(path, module, x, None, data_source=context.eval_source, min_agreement=0.0,
                           layout=layout, label_classes=context_label_classes(context),
                           classifier_output=context.recipe.verify.classifier_output, expected=expected)


def context_label_classes(context: Context) -> int | None:
    """K of the labels the run was given: --eval's, else --data's (only the class count is used)."""
    labels = context.eval_y if context.eval_y is not None else context.calibration_y
    return classes_in_labels(labels)


@dataclass(frozen=True)
class VerifyOutputs(PassBase):
    config: VerifyConfig
    name: str = "verify"
    requires: tuple[str, ...] = ("path",)

    def check(self, artifact: Artifact, context: Context) -> None:
        """A --classifier-output that names no class output fails now, not after the export."""
        if not self.config.classifier_output:
            return
        import torch

        with torch.no_grad():
            outputs = flatten_outputs(context.reference(*artifact.example_inputs))
        resolve_classifier_outputs(self.config.classifier_output, [f"output_{i}" for i in range(len(outputs))],
                                   [tuple(t.shape) for t in outputs])

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        count = min(sample_count(context.eval_x), self.config.max_samples)
        y = context.eval_y[:count] if context.eval_y is not None else None
        result = verify_artifact(artifact.path, context.reference, head(context.eval_x, count), y,
                                 data_source=context.eval_source, min_agreement=self.config.min_agreement,
                                 layout=artifact.layout, min_sqnr_db=self.config.min_sqnr_db,
                                 label_classes=context_label_classes(context),
                                 classifier_output=self.config.classifier_output, progress=context.progress)
        return replace(artifact, verification=result), result.to_dict()
