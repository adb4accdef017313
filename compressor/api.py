"""``compress``: the whole job as one call, the same one the CLI makes.

    from compressor import compress
    result = compress("models/weights/vgg_digits.pt", target="android-arm64",
                      data="models/data/digits_train.npz", eval_data="models/data/digits_test.npz")
    result.report["compressed"]["accuracy"], result.artifact_path

Loads the model, runs the recipe's passes (fold → export → int8 → verify → estimate) in a
temporary directory beside ``out`` and renames it into place only when everything is
written, so a failed run never leaves a half-written output directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Recipe, load_recipe
from .errors import ConfigError

__all__ = ["CompressResult", "compress"]

# Samples drawn when the user gives no data: enough for min/max calibration to settle.
RANDOM_CALIBRATION_SAMPLES = 64


@dataclass(frozen=True)
class CompressResult:
    report: dict[str, Any]
    out_dir: Path

    @property
    def ok(self) -> bool:
        return self.report["status"] == "ok"

    @property
    def artifact_path(self) -> Path:
        return self.out_dir / self.report["artifact"]


@dataclass
class _Inputs:
    """What the run was given, resolved: recorded in the report so it can be repeated."""

    example_inputs: tuple
    calibration_x: np.ndarray
    eval_x: np.ndarray
    eval_y: np.ndarray | None
    eval_source: str
    warnings: list[str] = field(default_factory=list)
    calibration_y: np.ndarray | None = None  # labels of --data, for recovery fine-tuning


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _resolve_input_shape(loaded, input_shape, calibration_path) -> tuple[tuple[int, ...], ...]:
    """Archive or zoo shape first, then --input-shape, then the first array of --data."""
    given = None
    if input_shape is not None:
        given = (tuple(input_shape),) if isinstance(input_shape[0], int) else tuple(map(tuple, input_shape))
    if loaded.input_shapes:
        recorded = tuple(tuple(s) for s in loaded.input_shapes)
        if given is not None and given != recorded:
            raise ConfigError("input_shape", ";".join(",".join(map(str, s)) for s in given),
                              "the shape the model file records, " + ";".join(",".join(map(str, s)) for s in recorded))
        return recorded
    if given is not None:
        return given
    if calibration_path is not None:
        from .data import load_npz

        return ((1, *load_npz(calibration_path).x.shape[1:]),)
    raise ConfigError("input_shape", None,
                      f"the model's input shape (e.g. 1,1,32,32; 1,3,32,32;1,16 for two inputs): {loaded.path.name} "
                      "does not record it; give --input-shape or --data")


def _prepare_inputs(loaded, *, data, eval_data, input_shape, seed: int) -> _Inputs:
    import torch

    from .data import as_inputs, load_inputs_npz, overlap_fraction

    shapes = _resolve_input_shape(loaded, input_shape, data)
    per_sample = tuple(tuple(s[1:]) for s in shapes)
    calibration = load_inputs_npz(data, per_sample) if data is not None else None
    evaluation = load_inputs_npz(eval_data, per_sample) if eval_data is not None else None
    notes: list[str] = []
    rng = np.random.default_rng(seed)
    if calibration is None:
        notes.append("No --data given: calibrated on random inputs, so int8 ranges may not match real "
                     "data and the accuracy is unknown. Pass --data with real samples.")
        randoms = tuple(rng.standard_normal((RANDOM_CALIBRATION_SAMPLES, *s)).astype(np.float32) for s in per_sample)
        calibration_x, calibration_y = (randoms if len(randoms) > 1 else randoms[0]), None
    else:
        calibration_x, calibration_y = calibration
    if evaluation is not None:
        (eval_x, eval_y), source = evaluation, "eval"
        if eval_y is None:
            notes.append(f"{eval_data} has no labels 'y': accuracy cannot be measured, only agreement.")
        if calibration is not None:
            shared = overlap_fraction(as_inputs(calibration_x)[0], as_inputs(eval_x)[0])
            if shared > 0:
                notes.append(f"{shared:.0%} of the --eval samples also occur in --data: the accuracy "
                             "measured on them is optimistic.")
    else:
        eval_x, eval_y = calibration_x, calibration_y
        source = "calibration" if calibration is not None else "random"
        if calibration is not None:
            notes.append("No --eval given: verified on the calibration data; pass --eval with held-out "
                         "samples for an honest accuracy.")
            eval_y = None  # accuracy on the data we calibrated on says little
    example = tuple(torch.from_numpy(np.ascontiguousarray(a[:1])) for a in as_inputs(calibration_x))
    return _Inputs(example, calibration_x, eval_x, eval_y, source, notes, calibration_y=calibration_y)


def _input_record(path, loaded, target_name, data, eval_data, shapes) -> dict[str, Any]:
    record: dict[str, Any] = {"model": str(path), "model_sha256": _sha256(Path(path)),
                              "model_format": loaded.source_format, "arch": loaded.arch,
                              "target": target_name, "input_shapes": [list(s) for s in shapes]}
    for key, value in (("data", data), ("eval", eval_data)):
        record[key] = str(value) if value is not None else None
        record[f"{key}_sha256"] = _sha256(Path(value)) if value is not None else None
    return record


def replay_inputs(previous: Mapping[str, Any], *, target, data, eval_data, arch) -> tuple[Any, Any, Any, Any]:
    """(target, data, eval_data, arch): what was given, else what the earlier run's report
    recorded (``previous``, its ``inputs``).  An architecture the report names as a module is
    never imported on the report's word: importing runs that module's code, so only ``arch``
    given here (``--arch``) or a zoo name is used."""
    from .targets.load import known_target_names

    target = target or previous.get("target")
    if not target:
        raise ConfigError("target", None, "a target name (" + ", ".join(known_target_names()) + ") or a .toml file")
    data = data if data is not None else _optional_path(previous.get("data"))
    eval_data = eval_data if eval_data is not None else _optional_path(previous.get("eval"))
    recorded = previous.get("arch") if previous.get("model_format") == "state_dict" else None
    if arch is None and recorded:
        if ":" in recorded:
            raise ConfigError("arch", None, f"the architecture given again: the report names {recorded}, and "
                              "importing that module runs its code; pass it yourself to allow that")
        arch = recorded
    return target, data, eval_data, arch


def _optional_path(value: Any) -> Path | None:
    return Path(value) if value else None


def default_out_dir(model_path: Path) -> Path:
    return model_path.with_name(model_path.stem + ".compressed")


def compress(model: str | os.PathLike, *, target: str | None = None,
             out: str | os.PathLike | None = None, recipe: Recipe | str | os.PathLike | None = None,
             overrides: Mapping[str, Any] | None = None,
             data: str | os.PathLike | None = None, eval_data: str | os.PathLike | None = None,
             arch: str | None = None, input_shape: tuple[int, ...] | None = None,
             trust_pickle: bool = False, progress: Callable[[str], None] | None = None) -> CompressResult:
    """Compress ``model`` for ``target`` and write artifact + report into ``out``.

    ``recipe`` is a ``Recipe``, a recipe ``.toml`` or an earlier run's ``report.json``; a report
    also gives the run's target and data files unless they are given here (``replay_inputs``).
    ``overrides`` replaces settings by dotted name (``{"int8.io": "int8"}``).  Raises a
    ``CompressorError`` (exit code 2 on the CLI) for bad input.  A verification that fails
    (an output below ``recipe.verify.min_sqnr_db``, or a class output below
    ``recipe.verify.min_agreement``) still writes everything; the report's status is then
    "FAILED" and ``result.ok`` is False.
    """
    import torch

    from .model.load import load_model, make_exportable
    from .artifact import Artifact, Context
    from .pipeline import build_pipeline, check_data_given, run_passes
    from .report.build import build_report, write_report_files
    from .targets.load import load_target

    if recipe is None or isinstance(recipe, Recipe):
        recipe, previous = recipe or Recipe(), {}
    else:
        recipe, previous = load_recipe(Path(recipe))
    if overrides:
        recipe = recipe.with_overrides(**overrides)
    target, data, eval_data, arch = replay_inputs(previous, target=target, data=data, eval_data=eval_data, arch=arch)
    model_path = Path(model)
    out_dir = Path(out) if out is not None else default_out_dir(model_path)
    _check_out_dir(out_dir)
    profile = load_target(target)
    if recipe.file_format not in profile.formats:
        raise ConfigError("export.format", recipe.format, f"a format {profile.name} runs: {', '.join(profile.formats)}")
    passes = build_pipeline(recipe, target=profile)
    check_data_given(passes, data is not None)
    torch.manual_seed(recipe.seed)
    loaded = load_model(model_path, arch=arch, trust_pickle=trust_pickle)
    inputs = _prepare_inputs(loaded, data=data, eval_data=eval_data, input_shape=input_shape, seed=recipe.seed)
    shapes = tuple(tuple(t.shape) for t in inputs.example_inputs)
    module = make_exportable(loaded, inputs.example_inputs)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        context = Context(recipe=recipe, workdir=workdir, reference=loaded.module,
                          calibration_x=inputs.calibration_x, eval_x=inputs.eval_x, eval_y=inputs.eval_y,
                          eval_source=inputs.eval_source, target=profile,
                          progress=progress or (lambda name: None),
                          calibration_y=inputs.calibration_y, data_given=data is not None)
        start = Artifact(module=module, example_inputs=inputs.example_inputs, format=recipe.file_format)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch/onnx deprecation chatter; our warnings go in the report
            final, steps = run_passes(passes, start, context)
        record = _input_record(model_path, loaded, profile.name, data, eval_data, shapes)
        report = build_report(final, steps, recipe=recipe, inputs=record, warnings=inputs.warnings,
                              target=profile)
        write_report_files(report, workdir)
        _keep_only_outputs(workdir, final)
        _move_into_place(workdir, out_dir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return CompressResult(report, out_dir)


def _check_out_dir(out_dir: Path) -> None:
    """Only ever replace a directory an earlier run wrote (or an empty one): never a user's.
    Its parents must be directories (or not exist yet): ``--out notes.txt/sub`` cannot be made."""
    for parent in out_dir.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError("out", str(out_dir), f"a directory path, but {parent} is a file, not a directory")
            break  # the nearest existing parent is a directory: mkdir can make the rest
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ConfigError("out", str(out_dir), "a directory, but a file of that name exists")
    if any(out_dir.iterdir()) and not (out_dir / "report.json").is_file():
        raise ConfigError("out", str(out_dir), "a new directory, or one an earlier compress run "
                          "wrote (this one has other files and no report.json)")


def _keep_only_outputs(workdir: Path, final) -> None:
    """Drop intermediates; keep the artifact, its float twin, and the reports."""
    keep = {final.path.name, "report.json", "report.md", "report.html", *final.extra_files}
    if final.float_path is not None:
        keep.add(final.float_path.name)
    for entry in workdir.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _move_into_place(workdir: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``workdir`` with renames only, so readers never see half of it."""
    os.chmod(workdir, 0o755)  # mkdtemp makes it 0700
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        out_dir.rename(old)
        workdir.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        workdir.rename(out_dir)
