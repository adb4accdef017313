"""The search space: which recipes ``compress search`` may try, as frozen data mapped onto ``Recipe``.

Every dimension is a field of the existing ``Recipe`` (config.py); nothing here invents a
pipeline feature.  Dimensions and the recipe fields they set:

    prune.methods            prune.method              none, channels, unstructured, 2:4
    prune.channels_amount    prune.amount              [low, high] fraction, step 0.05 (channels)
    prune.unstructured_amount prune.amount             [low, high] fraction, step 0.1 (unstructured)
    prune.layers             prune.layers              all, auto (per-layer amounts from the sensitivity scan)
    prune.finetune_epochs    prune/dsconv.finetune_epochs   recovery epochs (one setting, as the CLI's flag)
    dsconv.modes             dsconv.mode               none, auto, all, layers (a subset of dsconv.layers)
    dsconv.layers            dsconv.mode = "a,b"       candidate Conv2d layers for mode "layers"
    dsconv.ranks             dsconv.rank               auto or integers as text
    int8.layers              int8.float_ops, int8.int16_ops   candidate layers, each at one of int8.precisions
    int8.precisions          (per layer)               int8, int16x8 (int16 activations), float: what the target allows
    int8.float_ops           (as layers, precisions int8 and float: the first spelling of this dimension)
    int8.qat_epochs          int8.qat_epochs           quantization-aware fine-tuning epochs

``[recipe]`` holds fixed settings for every trial, as a recipe TOML holds them (seed,
verify.max_samples, ...).  What the target forbids is never sampled and is an error when a
space file asks for it: float layers on targets without ``compute.float_allowed`` (MCU/NPU),
int16x8 layers on targets without ``int16`` in their ``dtypes`` (quant/int16_layers.py), sparse
pruning (unstructured, 2:4) where no sparse format reaches the device (tflite-micro and Vela have
no DENSIFY kernel; ONNX artifacts are not written sparse), channel pruning of a graph the pruner
cannot cut.  ``prune.layers = "auto"`` takes per-layer amounts from the
sensitivity scan (one scan per search: the driver points every such trial at one
``prune.sensitivity_cache`` file, ``recipe_from_params(..., sensitivity_cache=...)``).  Not in the
space: the QAT learning rate, fixed by ``[recipe]``.  The calibration method (``int8.calibration``)
is "auto" by default, which measures min/max, moving average and percentile ranges in every
trial; ``[int8] calibration_methods`` samples them instead.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import Recipe
from ..errors import ConfigError, DataError
from ..quant.int16_layers import int16_allowed
from ..targets.types import TargetProfile
from .layers import ModelLayers

__all__ = ["PRECISIONS", "SearchSpace", "allowed_precisions", "anchor_params", "default_space", "load_space",
           "recipe_from_params", "suggest_params"]

SPARSE_METHODS = ("unstructured", "2:4")
DSCONV_MODES = ("none", "auto", "all", "layers")
PRECISIONS = ("int8", "int16x8", "float")  # per layer: -> neither list, int8.int16_ops, int8.float_ops
CHANNELS_STEP = 0.05  # channel counts round to the target's multiple anyway; finer steps repeat recipes
UNSTRUCTURED_STEP = 0.1
_TABLES = {"prune": ("methods", "channels_amount", "unstructured_amount", "layers", "finetune_epochs"),
           "dsconv": ("modes", "layers", "ranks"),
           "int8": ("layers", "precisions", "float_ops", "qat_epochs", "calibration_methods"),
           "recipe": None}
CALIBRATIONS = ("auto", "min_max", "moving_average", "percentile")  # int8.calibration


@dataclass(frozen=True)
class SearchSpace:
    prune_methods: tuple[str, ...] = ("none",)
    channels_amount: tuple[float, float] = (0.2, 0.7)
    unstructured_amount: tuple[float, float] = (0.5, 0.9)
    prune_layers: tuple[str, ...] = ("all", "auto")
    finetune_epochs: tuple[int, ...] = (8,)  # the README's tested recovery length
    dsconv_modes: tuple[str, ...] = ("none",)
    dsconv_layers: tuple[str, ...] = ()
    dsconv_ranks: tuple[str, ...] = ("auto", "1", "2")
    precision_layers: tuple[str, ...] = ()  # each sampled over `precisions` (when it has two or more)
    precisions: tuple[str, ...] = ("int8",)
    qat_epochs: tuple[int, ...] = (0,)
    # "auto" measures the three range methods in every trial and keeps the best by the outputs;
    # listing methods samples them instead (accuracy on --eval may rank them otherwise).
    calibration_methods: tuple[str, ...] = ("auto",)
    base: dict[str, Any] = field(default_factory=dict)  # fixed Recipe settings ([recipe])

    def to_dict(self) -> dict[str, Any]:
        return {key: (list(value) if isinstance(value, tuple) else value) for key, value in asdict(self).items()}

    @property
    def sha256(self) -> str:
        """Stored in the study: a changed space needs a new study."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def base_recipe(self) -> Recipe:
        return Recipe.from_dict(self.base, source="space [recipe]")


def default_space(layers: ModelLayers, target: TargetProfile, *, file_format: str = "tflite") -> SearchSpace:
    """What is worth trying on this model and target (see the module docstring)."""
    methods = ["none"]
    if layers.channel_prunable:
        methods.append("channels")
    if _sparse_allowed(target, file_format):
        methods.append("unstructured")  # a smaller file (flash); 2:4 only on request: no target runs it faster
    modes = ["none", "auto"] if layers.dense_convs or not layers.channel_prunable else ["none"]
    precisions = allowed_precisions(target)
    chosen = ()
    if len(precisions) > 1 and layers.convs:  # the stem and the last conv: where precision matters most
        chosen = tuple(dict.fromkeys((layers.convs[0], layers.convs[-1])))
    return SearchSpace(prune_methods=tuple(methods), dsconv_modes=tuple(modes), dsconv_layers=layers.dense_convs,
                       precision_layers=chosen, precisions=precisions, qat_epochs=(0, 1, 2))


def allowed_precisions(target: TargetProfile) -> tuple[str, ...]:
    """Per-layer precisions ``target`` runs: int8 always; int16x8 with int16 kernels; float where allowed."""
    return tuple(p for p, ok in zip(PRECISIONS, (True, int16_allowed(target), _float_allowed(target))) if ok)


def load_space(path: Path | str, layers: ModelLayers, target: TargetProfile) -> SearchSpace:
    """The default space with every key of the TOML file at ``path`` replacing its dimension."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(path, "space file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the space file: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise DataError(path, f"space file is not valid TOML: {error}") from None
    base = data.get("recipe", {})
    file_format = base.get("export", {}).get("format", "tflite") if isinstance(base, dict) else "tflite"
    space = default_space(layers, target, file_format=file_format)
    changes: dict[str, Any] = {}
    for table, value in data.items():
        if table not in _TABLES:
            raise ConfigError(f"{path}: {table}", value, "a table: " + ", ".join(f"[{t}]" for t in _TABLES))
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {table}", value, f"a table [{table}]")
        if table == "recipe":
            changes["base"] = value
            continue
        for key, raw in value.items():
            if key not in _TABLES[table]:
                raise ConfigError(f"{path}: {table}.{key}", raw, "one of " + ", ".join(_TABLES[table]))
            name, parsed = _parse_dimension(table, key, raw, where=f"{path}: {table}.{key}")
            changes[name] = parsed
        if table == "int8" and "float_ops" in value:  # layers each int8 or float: the first spelling
            if {"layers", "precisions"} & set(value):
                raise ConfigError(f"{path}: int8.float_ops", value["float_ops"], "either float_ops or "
                                  "layers with precisions, not both")
            changes["precisions"] = ("int8", "float")
    space = SearchSpace(**{**asdict(space), **changes})
    _check_space(space, layers, target, where=str(path))
    return space


def _parse_dimension(table: str, key: str, raw: Any, *, where: str) -> tuple[str, Any]:
    if key in ("channels_amount", "unstructured_amount"):
        ok = (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                              for v in raw) and 0 < raw[0] <= raw[1] < 1)
        if not ok:
            raise ConfigError(where, raw, "[low, high] with 0 < low <= high < 1")
        return key, (float(raw[0]), float(raw[1]))
    if not isinstance(raw, list) or not raw:
        raise ConfigError(where, raw, "a non-empty list")
    if key in ("finetune_epochs", "qat_epochs"):
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10_000 for v in raw):
            raise ConfigError(where, raw, "a list of integers from 0 to 10000")
        return key, tuple(dict.fromkeys(raw))
    if not all(isinstance(v, str) and v.strip() for v in raw):
        raise ConfigError(where, raw, "a list of strings")
    values = tuple(dict.fromkeys(v.strip() for v in raw))
    name = {("prune", "methods"): "prune_methods", ("prune", "layers"): "prune_layers",
            ("dsconv", "modes"): "dsconv_modes", ("dsconv", "layers"): "dsconv_layers",
            ("dsconv", "ranks"): "dsconv_ranks", ("int8", "float_ops"): "precision_layers",
            ("int8", "layers"): "precision_layers", ("int8", "precisions"): "precisions",
            ("int8", "calibration_methods"): "calibration_methods"}[(table, key)]
    return name, values


def _check_space(space: SearchSpace, layers: ModelLayers, target: TargetProfile, *, where: str) -> None:
    recipe = space.base_recipe()
    name = target.name
    for method in space.prune_methods:
        if method not in ("none", "channels", *SPARSE_METHODS):
            raise ConfigError(f"{where}: prune.methods", method, "none, channels, unstructured or 2:4")
        if method == "channels" and not layers.channel_prunable:
            raise ConfigError(f"{where}: prune.methods", method, "methods this model can take: its graph keeps "
                              "convolutions as graph ops that channel pruning cannot cut (give a state dict and its arch)")
        if method in SPARSE_METHODS and not _sparse_allowed(target, recipe.file_format):
            raise ConfigError(f"{where}: prune.methods", method, f"methods {name} can use: no sparse format reaches "
                              "it (tflite-micro and Vela have no DENSIFY kernel; ONNX artifacts stay dense)")
    for layer in space.prune_layers:
        if layer not in ("all", "auto"):
            raise ConfigError(f"{where}: prune.layers", layer, "all or auto")
    for mode in space.dsconv_modes:
        if mode not in DSCONV_MODES:
            raise ConfigError(f"{where}: dsconv.modes", mode, "none, auto, all or layers")
    if "layers" in space.dsconv_modes and not space.dsconv_layers:
        raise ConfigError(f"{where}: dsconv.layers", [], "candidate Conv2d names for dsconv mode 'layers'")
    for layer in space.dsconv_layers:
        if layers.dense_convs and layer not in layers.dense_convs:
            raise ConfigError(f"{where}: dsconv.layers", layer, "dense k x k Conv2d layers of the model: "
                              + ", ".join(layers.dense_convs))
    for rank in space.dsconv_ranks:
        if not (rank == "auto" or (rank.isdigit() and 1 <= int(rank) <= 1024)):
            raise ConfigError(f"{where}: dsconv.ranks", rank, "auto or an integer from 1")
    for method in space.calibration_methods:
        if method not in CALIBRATIONS:
            raise ConfigError(f"{where}: int8.calibration_methods", method, ", ".join(CALIBRATIONS))
    allowed = allowed_precisions(target)
    for precision in space.precisions:
        if precision not in PRECISIONS:
            raise ConfigError(f"{where}: int8.precisions", precision, ", ".join(PRECISIONS))
        if precision == "float" and space.precision_layers and "float" not in allowed:
            raise ConfigError(f"{where}: int8.float_ops", list(space.precision_layers),
                              f"no float layers: {name} runs int8 only")
        if precision not in allowed:
            raise ConfigError(f"{where}: int8.precisions", precision, f"precisions {name} runs: "
                              + ", ".join(allowed) + f" (its dtypes: {', '.join(target.dtypes)})")
    for layer in space.precision_layers:
        if layers.weighted and layer not in layers.weighted:
            raise ConfigError(f"{where}: int8.layers", layer, "conv or linear layers of the model (e.g. "
                              + ", ".join(layers.weighted[:4]) + ")")


def _float_allowed(target: TargetProfile) -> bool:
    return target.compute.float_allowed


def _sparse_allowed(target: TargetProfile, file_format: str) -> bool:
    """Whether the pipeline writes TFLite's sparse format here: the sparsify pass's own rule."""
    from ..passes.sparsify_tflite import dense_file_reason

    return file_format == "tflite" and dense_file_reason(Recipe(), target) is None



def _amounts(bounds: tuple[float, float], step: float) -> tuple[float, ...]:
    low, high = bounds
    count = int(round((high - low) / step)) + 1
    return tuple(round(min(low + i * step, high), 4) for i in range(count))


def suggest_params(trial: Any, space: SearchSpace) -> dict[str, Any]:
    """Ask an Optuna trial for one point of ``space``; conditional dimensions only when they apply."""
    method = trial.suggest_categorical("prune.method", list(space.prune_methods))
    if method == "channels":
        trial.suggest_categorical("prune.channels_amount", list(_amounts(space.channels_amount, CHANNELS_STEP)))
        trial.suggest_categorical("prune.layers", list(space.prune_layers))
    elif method == "unstructured":
        trial.suggest_categorical("prune.unstructured_amount",
                                  list(_amounts(space.unstructured_amount, UNSTRUCTURED_STEP)))
    mode = trial.suggest_categorical("dsconv.mode", list(space.dsconv_modes))
    if mode == "layers":
        for layer in space.dsconv_layers:
            trial.suggest_categorical(f"dsconv.layer:{layer}", [False, True])
    if mode != "none":
        trial.suggest_categorical("dsconv.rank", list(space.dsconv_ranks))
    if method != "none" or mode != "none":
        trial.suggest_categorical("recovery_epochs", list(space.finetune_epochs))
    if len(space.precisions) > 1:
        for layer in space.precision_layers:
            trial.suggest_categorical(f"int8.precision:{layer}", list(space.precisions))
    trial.suggest_categorical("int8.qat_epochs", list(space.qat_epochs))
    if len(space.calibration_methods) > 1:
        trial.suggest_categorical("int8.calibration", list(space.calibration_methods))
    return dict(trial.params)


def recipe_from_params(params: dict[str, Any], space: SearchSpace, *, sensitivity_cache: str = "") -> Recipe:
    """The ``Recipe`` one trial runs: ``space.base`` with the sampled fields set; channel-pruned
    trials with per-layer amounts (``prune.layers = "auto"``) read their scan from ``sensitivity_cache``."""
    changes: dict[str, Any] = {}
    method = params.get("prune.method", "none")
    changes["prune.method"] = method
    if method == "channels":
        changes["prune.amount"] = float(params["prune.channels_amount"])
        changes["prune.layers"] = params.get("prune.layers", "all")
    elif method == "unstructured":
        changes["prune.amount"] = float(params["prune.unstructured_amount"])
    mode = params.get("dsconv.mode", "none")
    if mode == "layers":
        chosen = [layer for layer in space.dsconv_layers if params.get(f"dsconv.layer:{layer}")]
        mode = ",".join(chosen) if chosen else "none"
    changes["dsconv.mode"] = mode
    if mode != "none":
        changes["dsconv.rank"] = params.get("dsconv.rank", "auto")
    if "recovery_epochs" in params:
        changes["prune.finetune_epochs"] = changes["dsconv.finetune_epochs"] = int(params["recovery_epochs"])
    # each candidate layer at its sampled precision; other layers keep what [recipe] gives them
    base = space.base_recipe().int8
    precision = {layer: params.get(f"int8.precision:{layer}", space.precisions[0]) for layer in space.precision_layers}
    for name, given, kind in (("float_ops", base.float_ops, "float"), ("int16_ops", base.int16_ops, "int16x8")):
        changes[f"int8.{name}"] = (*(layer for layer in given if layer not in precision),
                                   *(layer for layer, p in precision.items() if p == kind))
    changes["int8.qat_epochs"] = int(params.get("int8.qat_epochs", 0))
    changes["int8.calibration"] = params.get("int8.calibration", space.calibration_methods[0])
    if sensitivity_cache and changes["prune.method"] == "channels" and changes.get("prune.layers") == "auto":
        changes["prune.sensitivity_cache"] = sensitivity_cache  # every such trial shares one scan
    return space.base_recipe().with_overrides(**changes)


def anchor_params(space: SearchSpace) -> list[dict[str, Any]]:
    """Trials every new study starts with: plain int8 (the reference every budget is read against),
    then the README's measured good points where the space has them: channels:0.5 with
    per-layer amounts from the sensitivity scan, and --dsconv auto."""
    plain: dict[str, Any] = {"prune.method": "none", "dsconv.mode": "none",
                             **({f"int8.precision:{layer}": "int8" for layer in space.precision_layers}
                                if len(space.precisions) > 1 and "int8" in space.precisions else {}),
                             "int8.qat_epochs": 0 if 0 in space.qat_epochs else space.qat_epochs[0]}
    if "none" not in space.prune_methods or "none" not in space.dsconv_modes:
        return []
    anchors = [plain]
    epochs = 8 if 8 in space.finetune_epochs else space.finetune_epochs[-1]
    low, high = space.channels_amount
    if "channels" in space.prune_methods and low <= 0.5 <= high:
        layers = "auto" if "auto" in space.prune_layers else space.prune_layers[0]
        anchors.append({**plain, "prune.method": "channels", "prune.channels_amount": 0.5,
                        "prune.layers": layers, "recovery_epochs": epochs})
    if "auto" in space.dsconv_modes:
        anchors.append({**plain, "dsconv.mode": "auto", "dsconv.rank": space.dsconv_ranks[0],
                        "recovery_epochs": epochs})
    return anchors
