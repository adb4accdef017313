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

import dataclasses
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import DsconvConfig, EmulateConfig, ExportConfig, FoldConfig, Int8Config, PruneConfig, Recipe, VerifyConfig, load_recipe
from .data.folders import Preprocess
from .errors import ConfigError

__all__ = ["CompressResult", "compress", "default_out_dir", "recipe_with_settings", "replay_inputs"]


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

    def _repr_html_(self) -> str:
        """The report as HTML, shown by Jupyter when the result is a cell's value."""
        html = self.out_dir / "report.html"
        return html.read_text() if html.is_file() else f"<pre>{self.out_dir}</pre>"


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


_SECTIONS = {"fold": FoldConfig, "export": ExportConfig, "int8": Int8Config, "verify": VerifyConfig,
             "emulate": EmulateConfig, "prune": PruneConfig, "dsconv": DsconvConfig}


def recipe_with_settings(recipe: Recipe, settings: Mapping[str, Any]) -> Recipe:
    """``recipe`` with typed settings replaced: a section as its config (``int8=Int8Config(io="int8")``)
    or a mapping of its fields (``int8={"io": "int8"}``), or ``seed=`` / ``passes=``.  Every value is
    validated as a recipe file's would be; a bad one is a ``ConfigError`` naming the setting."""
    changes: dict[str, Any] = {}
    for name, value in settings.items():
        if name in ("seed", "passes"):
            changes[name] = tuple(value) if name == "passes" else value
        elif name in _SECTIONS:
            config_type = _SECTIONS[name]
            if isinstance(value, config_type):
                value = dataclasses.asdict(value)
            elif not isinstance(value, Mapping):
                raise ConfigError(name, value, f"a {config_type.__name__} or a mapping of its fields")
            changes.update({f"{name}.{key}": item for key, item in value.items()})
        else:
            raise ConfigError(name, value, "a setting of the recipe: seed, passes, " + ", ".join(_SECTIONS))
    return recipe.with_overrides(**changes) if changes else recipe


def compress(model: Any, *, target: str | None = None, example_inputs: Any = None, data: Any = None,
             eval_data: Any = None, out: str | os.PathLike | None = None,
             recipe: Recipe | str | os.PathLike | None = None, preprocess: Preprocess | None = None,
             overrides: Mapping[str, Any] | None = None, arch: str | None = None,
             input_shape: tuple[int, ...] | None = None, trust_pickle: bool = False,
             progress: Callable[[Any], None] | None = None, **settings: Any) -> CompressResult:
    """Compress ``model`` for ``target`` and write artifact + report into ``out``.

    ``model``: a file (state dict + ``arch``, TorchScript, torch.export .pt2), or an object: an
    ``nn.Module`` (copied, never changed), an ``ExportedProgram`` or a ``ScriptModule``.
    ``example_inputs``: a tensor or tuple of tensors giving the input shapes when neither the
    model nor ``input_shape`` nor the data says them.  ``data`` / ``eval_data``: a path (.npz,
    .npy, a folder of images or of WAV clips), an array, an ``(x, y)`` pair, a torch Dataset,
    a DataLoader or any iterable of ``x`` / ``(x, y)`` batches (data.open_data); ``preprocess``
    says how folders become inputs (resize, mean, std, sample_rate).
    ``**settings``: typed recipe settings, e.g. ``int8=Int8Config(io="int8")``,
    ``prune=PruneConfig(method="channels", amount=0.5)``, ``seed=1`` (``recipe_with_settings``).
    ``recipe`` is a ``Recipe``, a recipe ``.toml`` or an earlier run's ``report.json``; a report
    also gives the run's target, data and preprocessing unless given here (``replay_inputs``).
    ``overrides`` replaces settings by dotted name (the CLI's flags).  ``progress`` is called
    with each step's name (a str) and, during long work (fine-tuning, evaluation), with
    ``progress.ProgressUpdate`` records (done / total, epoch, loss); ``print`` will do.  Raises a ``CompressorError``
    for bad input, never exits.  A verification that fails (a regression output below
    ``recipe.verify.min_sqnr_db``, or a class output below ``recipe.verify.min_agreement``) still
    writes everything; the report's status is then "FAILED" and ``result.ok`` is False.
    """
    import torch

    from .artifact import Artifact, Context
    from .inputs import check_labels, model_record, prepare_inputs, resolve_shapes
    from .model.load import load_model, load_model_object, make_exportable
    from .pipeline import build_pipeline, check_data_given, run_passes
    from .report.build import build_report, write_report_files
    from .targets.load import load_target

    if recipe is None or isinstance(recipe, Recipe):
        recipe, previous = recipe or Recipe(), {}
    else:
        recipe, previous = load_recipe(Path(recipe))
    recipe = recipe_with_settings(recipe, settings)
    if overrides:
        recipe = recipe.with_overrides(**overrides)
    target, data, eval_data, arch = replay_inputs(previous, target=target, data=data, eval_data=eval_data, arch=arch)
    if preprocess is None:
        preprocess = Preprocess.from_dict(previous.get("preprocess"))
    is_file = isinstance(model, (str, os.PathLike))
    out_dir = Path(out) if out is not None else (default_out_dir(Path(model)) if is_file
                                                 else Path(f"{type(model).__name__}.compressed"))
    _check_out_dir(out_dir)
    profile = load_target(target)
    if recipe.file_format not in profile.formats:
        raise ConfigError("export.format", recipe.format, f"a format {profile.name} runs: {', '.join(profile.formats)}")
    passes = build_pipeline(recipe, target=profile)
    check_data_given(passes, data is not None)
    torch.manual_seed(recipe.seed)
    loaded = (load_model(Path(model), arch=arch, trust_pickle=trust_pickle) if is_file
              else load_model_object(model))
    shapes = resolve_shapes(loaded, input_shape, example_inputs)
    fine_tunes = any(step.data_needed() for step in passes)
    inputs, shapes = prepare_inputs(loaded, data=data, eval_data=eval_data, shapes=shapes, preprocess=preprocess,
                                    recipe=recipe, fine_tunes=fine_tunes)
    module = make_exportable(loaded, inputs.example_inputs)
    check_labels(loaded.module, inputs, data=data, eval_data=eval_data)

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
        record = {**model_record(model, loaded, shapes), "model_format": loaded.source_format, "arch": loaded.arch,
                  "target": profile.name, "input_shapes": [list(s) for s in shapes],
                  **_data_record(data, eval_data, inputs.records), "preprocess": preprocess.to_dict()}
        report = build_report(final, steps, recipe=recipe, inputs=record, warnings=inputs.warnings,
                              target=profile)
        write_report_files(report, workdir)
        _keep_only_outputs(workdir, final)
        _move_into_place(workdir, out_dir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return CompressResult(report, out_dir)


def _data_record(data: Any, eval_data: Any, records: dict[str, Any]) -> dict[str, Any]:
    """Paths (replayed by ``--recipe report.json``) with a sha256 of each file, and what was read."""
    from .inputs import sha256_file

    record: dict[str, Any] = {}
    for key, value in (("data", data), ("eval", eval_data)):
        is_path = isinstance(value, (str, os.PathLike))
        record[key] = str(value) if is_path else None
        record[f"{key}_sha256"] = sha256_file(Path(value)) if is_path and Path(value).is_file() else None
        record[f"{key}_source"] = records.get(key)
    return record


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
