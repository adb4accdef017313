"""Frozen, validated settings: one dataclass per pass, gathered in a ``Recipe``.

A recipe is the whole pipeline as data: which passes run and with what settings.  It is
stored in every report (``report.json["recipe"]``) and can be given back with
``--recipe`` (a TOML file or an old report.json) to repeat a run.  Each config carries a
``version`` so an old recipe is read the way it was written.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .model.recovery import RECOVERY_DEFAULTS, check_recovery

__all__ = ["DEFAULT_PASSES", "DsconvConfig", "EmulateConfig", "ExportConfig", "FoldConfig", "Int8Config",
           "PRUNE_METHODS", "PruneConfig", "KNOWN_PASSES", "Recipe", "VerifyConfig", "load_recipe"]

# The order passes run in is fixed by the pipeline (pipeline.py); a recipe only says which.
# "emulate" only runs for NPU and MCU targets (pipeline.build_pipeline drops it for CPUs).
# "prune" runs only when the recipe's prune.method is not "none" (first, on the torch model).
# "sparsify" runs only after unstructured / 2:4 pruning, for tflite.
# "rewrite" (exact graph rewrites for fast int8 kernels) runs only when "int8" does;
# "strip" (drop names and metadata the runtime does not read) only for tflite.
# "c_array" only with --format c; "qat" only with int8.qat_epochs > 0.
KNOWN_PASSES = ("prune", "dsconv", "fold", "rewrite", "qat", "export", "int8", "sparsify", "strip", "verify",
                "emulate", "estimate", "c_array")
DEFAULT_PASSES = KNOWN_PASSES
# "c": the .tflite artifact plus the same bytes as a C array and its TFLM op resolver (c_array.py)
FORMATS = ("tflite", "onnx", "c")


def _check(condition: bool, name: str, value: object, expected: str) -> None:
    if not condition:
        raise ConfigError(name, value, expected)


@dataclass(frozen=True)
class FoldConfig:
    """Fold BatchNorm into the preceding convolution / linear layer where exact."""

    version: int = 1
    # Largest allowed output change from folding, relative to the output's scale; a fold
    # that changes more than float rounding explains is undone.
    max_relative_error: float = 1e-4

    def __post_init__(self) -> None:
        _check(0 < self.max_relative_error < 1, "fold.max_relative_error",
               self.max_relative_error, "a number in (0, 1)")


@dataclass(frozen=True)
class ExportConfig:
    version: int = 1
    format: str = "tflite"
    opset: int = 18  # ONNX opset; 18 is what torch.onnx's exporter targets by default
    layout: str = "nchw"  # the artifact's I/O layout: the model's own, or channels-last (layout.py)

    def __post_init__(self) -> None:
        _check(self.format in FORMATS, "export.format", self.format, " or ".join(FORMATS))
        _check(self.layout in ("nchw", "nhwc"), "export.layout", self.layout, "nchw or nhwc")
        _check(13 <= self.opset <= 23, "export.opset", self.opset, "an ONNX opset from 13 to 23")


@dataclass(frozen=True)
class Int8Config:
    """Static int8: per-channel int8 weights, 8-bit activations calibrated on data."""

    version: int = 1
    calibration_samples: int = 200  # min/max settle well before this on small models
    # Activation ranges: min_max, moving_average (ai-edge-quantizer's default), percentile, or
    # auto: each measured on the model, the best worst-output SQNR kept (quant/range_method.py).
    calibration: str = "auto"
    per_channel: bool = True
    io: str = "auto"  # the artifact's I/O type: float, int8, or auto (float on CPUs, int8 on MCU/NPU)
    float_ops: tuple[str, ...] = ()  # layers (module paths) the user keeps in float
    int16_ops: tuple[str, ...] = ()  # layers with int16 activations, int8 weights (targets with int16 dtypes)
    # Below either (output SQNR vs the original, top-1 agreement), the remedies run (remedies.py).
    min_sqnr_db: float = 25.0
    min_agreement: float = 0.99
    # On CPU targets, int8 ops the CPU delegate (XNNPACK) cannot run stay float instead, so
    # no op leaves the delegate (delegation.py); an MCU/NPU gets fully int8 graphs regardless.
    float_fallback: bool = True
    # One weight scale per depthwise filter where output SQNR stays within 1 dB of per-channel.
    shrink_depthwise: bool = True
    # Quantization-aware fine-tuning (qat.py), distilled from the model as given; 0 = off.
    # 1e-5 nudges a trained model (zoo: +0.5-0.8 dB); a badly quantizing one wants ~1e-3.
    qat_epochs: int = 0
    qat_lr: float = 1e-5
    # Calibration cost is ops x samples (Python per op output): above this, fewer samples (>= 8).
    # Zoo CNN: 30-150 ops; an LSTM unrolled over 160 steps: ~7,700 (~3 s a sample on 2 cores).
    calibration_budget: int = 64_000
    search_seconds: float = 120.0  # the remedies' time after plain int8 (skipped ones are logged)
    # Static int8 short of the thresholds on a float-capable target: try dynamic-range, int16
    # activations (if the target has them), weight-only int8 (quant/schemes.py); the first (in
    # that order: fastest first) whose outputs reach fallback_min_sqnr_db (verify's bar) ships.
    fallback_schemes: bool = True
    fallback_min_sqnr_db: float = 15.0

    def __post_init__(self) -> None:
        _check(self.calibration_budget >= 1, "int8.calibration_budget", self.calibration_budget, "ops x samples >= 1")
        _check(0.0 <= self.search_seconds <= 86_400.0, "int8.search_seconds", self.search_seconds, "0 to 86400 s")
        _check(0.0 <= self.fallback_min_sqnr_db <= 200.0, "int8.fallback_min_sqnr_db", self.fallback_min_sqnr_db, "dB")
        _check(1 <= self.calibration_samples <= 100_000, "int8.calibration_samples",
               self.calibration_samples, "an integer from 1 to 100000")
        _check(self.io in ("auto", "float", "int8"), "int8.io", self.io, "float or int8")
        _check(self.calibration in ("auto", "min_max", "moving_average", "percentile"), "int8.calibration",
               self.calibration, "auto, min_max, moving_average or percentile")
        _check(0.0 <= self.min_sqnr_db <= 200.0, "int8.min_sqnr_db", self.min_sqnr_db, "dB from 0 to 200")
        _check(0.0 <= self.min_agreement <= 1.0, "int8.min_agreement", self.min_agreement, "a fraction from 0 to 1")
        _check(0 <= self.qat_epochs <= 10_000, "int8.qat_epochs", self.qat_epochs, "an integer from 0 to 10000")
        _check(0.0 < self.qat_lr < 10.0, "int8.qat_lr", self.qat_lr, "a learning rate in (0, 10)")
        object.__setattr__(self, "float_ops", tuple(self.float_ops))
        _check(all(isinstance(n, str) and n.strip() for n in self.float_ops), "int8.float_ops",
               ",".join(map(str, self.float_ops)), "comma-separated layer names, e.g. features.0.0,classifier")
        object.__setattr__(self, "int16_ops", tuple(self.int16_ops))
        _check(all(isinstance(n, str) and n.strip() for n in self.int16_ops), "int8.int16_ops",
               ",".join(map(str, self.int16_ops)), "comma-separated layer names, e.g. features.0.0,features.3")
        both = ",".join(sorted(set(self.int16_ops) & set(self.float_ops)))
        _check(not both, "int8.int16_ops", both, "layers not also in int8.float_ops (one precision each)")


@dataclass(frozen=True)
class VerifyConfig:
    """How the artifact is judged against the original, output by output (verify_outputs.py)."""
    version: int = 1
    min_agreement: float = 0.97  # a class output's top-1 agreement below this marks the run FAILED (exit 1)
    # A regression output below this SQNR marks the run FAILED: int8 keeps trained nets at 25-40 dB;
    min_sqnr_db: float = 15.0  # below 15 dB the error's RMS is a sixth of the signal's or more
    classifier_output: tuple[str, ...] = ()  # outputs ("0", "output_0") scored as classes besides the rules'
    max_samples: int = 1000  # samples of the eval data run through both models

    def __post_init__(self) -> None:
        _check(0.0 <= self.min_agreement <= 1.0, "verify.min_agreement", self.min_agreement,
               "a fraction from 0 to 1")
        _check(-300.0 <= self.min_sqnr_db <= 300.0, "verify.min_sqnr_db", self.min_sqnr_db, "dB from -300 to 300")
        names = tuple(str(n).strip() if isinstance(n, (str, int)) and not isinstance(n, bool) else n
                      for n in self.classifier_output)
        _check(all(isinstance(n, str) and n for n in names), "verify.classifier_output",
               ",".join(map(str, self.classifier_output)), "output indexes or names, e.g. 2 or output_2")
        object.__setattr__(self, "classifier_output", names)
        _check(self.max_samples >= 1, "verify.max_samples", self.max_samples, "a positive integer")


@dataclass(frozen=True)
class EmulateConfig:
    """Run the artifact on integer reference kernels, as an NPU/MCU computes it."""

    version: int = 1
    # As verify: the reference kernels ran 360 zoo samples in 0.7-1.6 s, fast enough for all.
    max_samples: int = 1000

    def __post_init__(self) -> None:
        _check(self.max_samples >= 1, "emulate.max_samples", self.max_samples, "a positive integer")


PRUNE_METHODS = ("none", "channels", "unstructured", "2:4")
PRUNE_IMPORTANCE = ("magnitude", "taylor")


def _is_name_list(text: str) -> bool:
    """A keyword or comma-separated layer names: not empty, no empty name between commas."""
    return bool(text.strip()) and all(name.strip() for name in text.split(","))


def _keyword_or_names(text: str, keywords: tuple[str, ...]) -> str | tuple[str, ...]:
    """``text`` itself when it is one of ``keywords``, else its comma-separated names."""
    if text in keywords:
        return text
    return tuple(name.strip() for name in text.split(","))


def _check_recovery(config: Any, section: str) -> None:
    check_recovery(section, finetune_epochs=config.finetune_epochs, lr=config.lr, batch_size=config.batch_size,
                   temperature=config.temperature, kd_weight=config.kd_weight)


@dataclass(frozen=True)
class PruneConfig:
    """Pruning, then recovery fine-tuning (knowledge distillation from the unpruned model).

    ``amount`` is the fraction removed: of output channels for "channels", of weights for
    "unstructured"; "2:4" always removes half (two of every four weights).  ``layers`` is
    "all", "auto" (amounts per layer from a sensitivity scan) or comma-separated layer names.
    """

    version: int = 1
    method: str = "none"
    amount: float = 0.5
    layers: str = "all"
    importance: str = "magnitude"  # channel ranking: L2 magnitude or first-order Taylor on the data
    # Recovery (recovery.RecoveryConfig): 8 epochs of the zoo's ~1400 digits took 10-40 s per
    # model on 2 cores and recovered channels:0.5 to within a point (README, "Pruning").
    finetune_epochs: int = RECOVERY_DEFAULTS["finetune_epochs"]
    lr: float = RECOVERY_DEFAULTS["lr"]
    batch_size: int = RECOVERY_DEFAULTS["batch_size"]
    temperature: float = RECOVERY_DEFAULTS["temperature"]
    kd_weight: float = RECOVERY_DEFAULTS["kd_weight"]
    # JSON file of the ``layers = "auto"`` sensitivity scan (prune/scan_cache.py): read when made for this
    # exact model and data, else written; "" = scan every run.  compress search shares one across trials.
    sensitivity_cache: str = ""

    def __post_init__(self) -> None:
        _check(self.method in PRUNE_METHODS, "prune", self.method, "a method: " + ", ".join(PRUNE_METHODS))
        _check(0.0 < self.amount < 1.0, "prune", f"{self.method}:{self.amount}",
               "METHOD:AMOUNT with AMOUNT a fraction strictly between 0 and 1 (e.g. channels:0.5)")
        _check(self.method != "2:4" or self.amount == 0.5, "prune", f"2:4:{self.amount}",
               "2:4 without an amount (it always removes half)")
        _check(self.importance in PRUNE_IMPORTANCE, "prune.importance", self.importance,
               " or ".join(PRUNE_IMPORTANCE))
        _check(_is_name_list(self.layers), "prune.layers", self.layers,
               "auto, all, or comma-separated layer names")
        _check_recovery(self, "prune")

    @property
    def enabled(self) -> bool:
        return self.method != "none"

    @property
    def layer_selection(self) -> str | tuple[str, ...]:
        """ "all", "auto", or the tuple of layer names given."""
        return _keyword_or_names(self.layers, ("all", "auto"))


@dataclass(frozen=True)
class DsconvConfig:
    """Depthwise-separable substitution (compressor/dsconv/), then recovery by distillation.

    ``mode``: "none", "auto" (where the target's cost model says it pays and the data says
    the error is recoverable), "all" (every dense k x k conv) or comma-separated layer names.
    ``rank``: "auto" (smallest rank whose output error is at most ``max_error``) or an
    integer R as text ("2").  ``max_error`` bounds the relative output error of a layer right
    after initialisation: 0.65 because recovery won back that much on the zoo (rank 1 on
    the VGG, errors 0.50-0.61 per layer, 100% -> 99.4% test accuracy after 8 epochs; README
    "Depthwise-separable substitution").  ``max_accuracy_drop``: after recovery, the held-out
    accuracy (or top-1 agreement without labels) may fall at most this much below the
    original's; otherwise the worst layer is left dense and recovery runs again.
    """

    version: int = 1
    mode: str = "none"
    rank: str = "auto"
    max_error: float = 0.65
    max_accuracy_drop: float = 0.01
    # Recovery (recovery.RecoveryConfig), the same defaults as pruning's.
    finetune_epochs: int = RECOVERY_DEFAULTS["finetune_epochs"]
    lr: float = RECOVERY_DEFAULTS["lr"]
    batch_size: int = RECOVERY_DEFAULTS["batch_size"]
    temperature: float = RECOVERY_DEFAULTS["temperature"]
    kd_weight: float = RECOVERY_DEFAULTS["kd_weight"]

    def __post_init__(self) -> None:
        _check(_is_name_list(self.mode), "dsconv.mode", self.mode,
               "auto, all, none, or comma-separated Conv2d layer names")
        _check(self.rank == "auto" or (self.rank.isdigit() and 1 <= int(self.rank) <= 1024), "dsconv.rank",
               self.rank, "auto or an integer rank from 1 (at k*k the substitution is exact)")
        _check(0.0 < self.max_error <= 1.0, "dsconv.max_error", self.max_error, "a fraction in (0, 1]")
        _check(0.0 <= self.max_accuracy_drop <= 1.0, "dsconv.max_accuracy_drop", self.max_accuracy_drop,
               "a fraction from 0 to 1")
        _check_recovery(self, "dsconv")

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    @property
    def selection(self) -> str | tuple[str, ...]:
        """ "auto", "all", or the tuple of layer names given."""
        return _keyword_or_names(self.mode, ("auto", "all", "none"))


@dataclass(frozen=True)
class Recipe:
    """Which passes run, with what settings, from which seed."""

    version: int = 1
    seed: int = 0
    passes: tuple[str, ...] = DEFAULT_PASSES
    fold: FoldConfig = field(default_factory=FoldConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    int8: Int8Config = field(default_factory=Int8Config)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    emulate: EmulateConfig = field(default_factory=EmulateConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    dsconv: DsconvConfig = field(default_factory=DsconvConfig)

    def __post_init__(self) -> None:
        _check(self.version == 1, "recipe.version", self.version, "1")
        for name in self.passes:
            _check(name in KNOWN_PASSES, "recipe.passes", name, "one of " + ", ".join(KNOWN_PASSES))
        _check("export" in self.passes, "recipe.passes", list(self.passes), "a list that includes 'export'")
        _check(isinstance(self.seed, int) and self.seed >= 0, "seed", self.seed, "a non-negative integer")

    @property
    def format(self) -> str:
        return self.export.format

    @property
    def file_format(self) -> str:
        """The model file the pipeline writes: "c" ships a .tflite too."""
        return "tflite" if self.export.format == "c" else self.export.format

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["passes"] = list(self.passes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "recipe") -> Recipe:
        return _build(cls, data, source)

    def with_overrides(self, **changes: Any) -> Recipe:
        """A copy with top-level or dotted (``"verify.min_agreement"``) fields replaced."""
        data = self.to_dict()
        for key, value in changes.items():
            section, _, name = key.rpartition(".")
            (data[section] if section else data)[name] = value
        # no source prefix: the values come from flags, whose errors name the flag itself
        return Recipe.from_dict(data, source="")


_SECTIONS = {"fold": FoldConfig, "export": ExportConfig, "int8": Int8Config, "verify": VerifyConfig,
             "emulate": EmulateConfig, "prune": PruneConfig, "dsconv": DsconvConfig}


def _at(source: str, field: str) -> str:
    """"recipe.toml: int8.io" for a file; the field (a flag) alone when the values came from flags."""
    return f"{source}: {field}" if source else field


def _build(cls: type, data: Any, source: str, prefix: str = "") -> Any:
    if not isinstance(data, dict):
        raise ConfigError(_at(source, f"{prefix or 'recipe'}"), data, "a table of settings")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(_at(source, f"{prefix}{unknown[0]}"), data[unknown[0]],
                          "a known key (" + ", ".join(known) + ")")
    values = {}
    for name, value in data.items():
        if cls is Recipe and name in _SECTIONS:
            values[name] = _build(_SECTIONS[name], value, source, f"{name}.")
        elif name == "passes":
            if not isinstance(value, (list, tuple)):
                raise ConfigError(_at(source, "passes"), value, "a list of pass names")
            values[name] = tuple(value)
        else:
            expected = type(getattr(cls(), name)) if cls is not Recipe else int
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if expected is tuple and isinstance(value, list):  # JSON and TOML have lists only
                value = tuple(value)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(_at(source, f"{prefix}{name}"), value, f"a {expected.__name__}")
            values[name] = value
    try:
        return cls(**values)
    except ConfigError as error:
        raise ConfigError(_at(source, error.field), error.value, error.expected) from None


def load_recipe(path: Path) -> tuple[Recipe, dict[str, Any]]:
    """Read a recipe from a TOML file or from an earlier run's report.json.

    Returns the recipe and, for a report, the run's other inputs (target, data files) so a
    run can be repeated from the report alone.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError("recipe", str(path), f"a readable file ({error.strerror})") from None
    if path.suffix == ".json":
        try:
            report = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError("recipe", str(path), f"valid JSON (line {error.lineno}: {error.msg})") from None
        if not isinstance(report, dict) or "recipe" not in report:
            raise ConfigError("recipe", str(path), "a report.json with a 'recipe' key")
        return Recipe.from_dict(report["recipe"], source=str(path)), dict(report.get("inputs") or {})
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("recipe", str(path), f"valid TOML ({error})") from None
    return Recipe.from_dict(data, source=str(path)), {}
