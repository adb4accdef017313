"""What a run was given, resolved: the model (a file or an object), its input shapes, and the
calibration and evaluation samples (any kind ``data.open_data`` takes), plus the record of all
of it for the report, so ``--recipe report.json`` can repeat the run.

Calibration from an indexable source (arrays, files, folders, Datasets) stays lazy: the int8
pass draws its seeded sample by index (data.calibration_samples).  An iterable source (a
DataLoader, a generator) is drawn in one pass with a seeded reservoir.  Passes that fine-tune
(pruning, depthwise substitution, QAT) stream an indexable source a batch at a time
(data.TrainingBatches), and so does a DataLoader that only batches a map-style Dataset (its
Dataset is indexed instead); any other iterable is read into memory for them (with a note).
Evaluation of an iterable takes its first ``verify.max_samples`` in order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, DataError

__all__ = ["RANDOM_CALIBRATION_SAMPLES", "RunInputs", "check_labels", "model_record", "prepare_inputs",
           "resolve_shapes", "sha256_file"]

# Samples drawn when the user gives no data: enough for min/max calibration to settle.
RANDOM_CALIBRATION_SAMPLES = 64


@dataclass
class RunInputs:
    example_inputs: tuple
    calibration_x: Any
    eval_x: Any
    eval_y: np.ndarray | None
    eval_source: str
    warnings: list[str] = field(default_factory=list)
    calibration_y: np.ndarray | None = None
    records: dict[str, Any] = field(default_factory=dict)  # "data"/"eval" -> Source.record


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shapes_text(shapes) -> str:
    return ";".join(",".join(map(str, s)) for s in shapes)


def resolve_shapes(loaded, input_shape, example_inputs) -> tuple[tuple[int, ...], ...] | None:
    """The model file's recorded shapes, else ``input_shape``, else ``example_inputs``' shapes, else None
    (then the data's own per-sample shape decides)."""
    given = None
    if input_shape is not None:
        given = (tuple(input_shape),) if isinstance(input_shape[0], int) else tuple(map(tuple, input_shape))
    elif example_inputs is not None:
        tensors = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
        given = tuple(tuple(t.shape) for t in tensors)
    if loaded.input_shapes:
        recorded = tuple(tuple(s) for s in loaded.input_shapes)
        if given is not None and given != recorded:
            raise ConfigError("input_shape", _shapes_text(given), "the shape the model file records, " + _shapes_text(recorded))
        return recorded
    return given


def prepare_inputs(loaded, *, data, eval_data, shapes, preprocess, recipe, fine_tunes: bool) -> tuple[RunInputs, tuple]:
    """The run's samples and the model's input shapes (with batch 1)."""
    import torch

    from .data import as_inputs, open_data, overlap_fraction

    per_sample = tuple(tuple(s[1:]) for s in shapes) if shapes else None
    calibration = open_data(data, sample_shapes=per_sample, preprocess=preprocess, name="data") if data is not None else None
    if per_sample is None:
        per_sample = _shapes_of(calibration, loaded)
    evaluation = (open_data(eval_data, sample_shapes=per_sample, preprocess=preprocess, name="eval")
                  if eval_data is not None else None)
    notes: list[str] = []
    rng = np.random.default_rng(recipe.seed)
    if calibration is None:
        notes.append("No --data given: calibrated on random inputs, so int8 ranges may not match real "
                     "data and the accuracy is unknown. Pass --data with real samples.")
        randoms = tuple(rng.standard_normal((RANDOM_CALIBRATION_SAMPLES, *s)).astype(np.float32) for s in per_sample)
        calibration_x, calibration_y = (randoms if len(randoms) > 1 else randoms[0]), None
    else:
        notes += calibration.notes
        if calibration.indexable:
            calibration_x, calibration_y = calibration.x, calibration.y
        elif fine_tunes and calibration.dataset is not None:  # a loader over a Dataset: stream the Dataset
            indexed = calibration.dataset()
            calibration_x, calibration_y = indexed.x, indexed.y
            calibration.record["samples"] = len(indexed.x)
        elif fine_tunes:
            calibration_x, calibration_y = calibration.materialize()
            notes.append(f"The data ({type(data).__name__}) can only be iterated, not indexed: fine-tuning held its "
                         f"{len(calibration_x)} samples in memory (a torch Dataset or a folder streams instead)")
        else:
            calibration_x, calibration_y = calibration.draw(recipe.int8.calibration_samples, recipe.seed)
    if evaluation is not None:
        notes += evaluation.notes
        eval_x, eval_y = ((evaluation.x, evaluation.y) if evaluation.indexable
                          else evaluation.take(recipe.verify.max_samples))
        source = "eval"
        if eval_y is None:
            notes.append(f"{_name(eval_data)} has no labels: accuracy cannot be measured, only agreement.")
        if calibration is not None:
            if calibration.files and evaluation.files:
                shared = len(calibration.files & evaluation.files) / len(evaluation.files)
            elif isinstance(calibration_x, np.ndarray) and isinstance(eval_x, np.ndarray):
                shared = overlap_fraction(as_inputs(calibration_x)[0], as_inputs(eval_x)[0])
            else:
                shared = 0.0
            if shared > 0:
                notes.append(f"{shared:.0%} of the --eval samples also occur in --data: the accuracy "
                             "measured on them is optimistic.")
    else:
        eval_x, eval_y = calibration_x, None  # accuracy on the data we calibrated on says little
        source = "calibration" if calibration is not None else "random"
        if calibration is not None:
            notes.append("No --eval given: verified on the calibration data; pass --eval with held-out "
                         "samples for an honest accuracy.")
    first = [np.ascontiguousarray(a[:1], dtype=np.float32) for a in as_inputs(calibration_x)]
    example = tuple(torch.from_numpy(a) for a in first)
    records = {key: src.record for key, src in (("data", calibration), ("eval", evaluation)) if src is not None}
    inputs = RunInputs(example, calibration_x, eval_x, eval_y, source, notes, calibration_y, records)
    return inputs, tuple(tuple(t.shape) for t in example)


def _name(spec: Any) -> str:
    return str(spec) if isinstance(spec, (str, Path)) else "the eval data"


def _shapes_of(source, loaded) -> tuple[tuple[int, ...], ...]:
    if source is not None:
        if source.indexable:
            xs = source.x if isinstance(source.x, tuple) else (source.x,)
            return tuple(tuple(a.shape[1:]) for a in xs)
        first = next(iter(source.stream()), None)
        if first is not None:
            return (tuple(first[0].shape),)
    raise ConfigError("input_shape", None,
                      f"the model's input shape (e.g. 1,1,32,32; 1,3,32,32;1,16 for two inputs): {loaded.path.name} "
                      "does not record it; give input_shape / example_inputs (--input-shape) or data (--data)")


def check_labels(module: Any, inputs: RunInputs, *, data, eval_data) -> None:
    """Labels that cannot be the model's classes are bad data, not a silent "accuracy unknown"."""
    import torch

    from .model.outputs import flatten_outputs

    with torch.no_grad():
        outputs = flatten_outputs(module(*inputs.example_inputs))
    if not outputs or outputs[0].dim() != 2 or outputs[0].shape[1] < 2:
        return  # not a classifier: labels are the user's business
    classes = int(outputs[0].shape[1])
    if any(tuple(t.shape[1:]) == (classes,) for t in inputs.example_inputs):
        return  # an autoencoder's output has its input's shape
    for key, spec, labels in (("data", data, inputs.calibration_y), ("eval", eval_data, inputs.eval_y)):
        record = inputs.records.get(key, {})
        where = str(spec) if isinstance(spec, (str, Path)) else f"the {key} argument"
        names = record.get("classes") or []
        if names and not all(n.isdigit() for n in names) and len(names) != classes:
            raise DataError(where, f"has {len(names)} class folders ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}) "
                                   f"but the model scores {classes} classes; name the folders by class index "
                                   f"(0..{classes - 1}) or give one folder per class")
        if labels is not None and len(labels) and (labels.min() < 0 or labels.max() >= classes):
            raise DataError(where, f"has labels from {labels.min()} to {labels.max()} but the model scores "
                                   f"{classes} classes (0..{classes - 1})")


def model_record(model: Any, loaded, shapes) -> dict[str, Any]:
    """A file: its path and sha256.  An object: its class, a hash of its parameters and buffers
    (names, dtypes, shapes and bytes, in state-dict order) and the example input shapes."""
    import torch

    if isinstance(model, (str, Path)):
        return {"model": str(model), "model_sha256": sha256_file(Path(model))}
    digest = hashlib.sha256()
    for name, tensor in loaded.module.state_dict().items():
        array = tensor.detach().cpu().contiguous()
        digest.update(f"{name}\0{array.dtype}\0{tuple(array.shape)}\n".encode())
        digest.update(array.view(-1).view(torch.uint8).numpy().tobytes() if array.numel() else b"")
    cls = type(model)
    return {"model": None, "model_class": f"{cls.__module__}.{cls.__qualname__}",
            "model_params_sha256": digest.hexdigest(), "example_input_shapes": [list(s) for s in shapes]}
