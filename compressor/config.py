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

__all__ = [
    "DEFAULT_PASSES",
    "ExportConfig",
    "FoldConfig",
    "Int8Config",
    "KNOWN_PASSES",
    "Recipe",
    "VerifyConfig",
    "load_recipe",
]

# The order passes run in is fixed by the pipeline (pipeline.py); a recipe only says which.
KNOWN_PASSES = ("fold", "export", "int8", "verify", "estimate")
DEFAULT_PASSES = KNOWN_PASSES
FORMATS = ("tflite", "onnx")


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

    def __post_init__(self) -> None:
        _check(self.format in FORMATS, "format", self.format, " or ".join(FORMATS))
        _check(13 <= self.opset <= 23, "export.opset", self.opset, "an ONNX opset from 13 to 23")


@dataclass(frozen=True)
class Int8Config:
    """Static int8: per-channel int8 weights, 8-bit activations calibrated on data."""

    version: int = 1
    calibration_samples: int = 200  # min/max settle well before this on small models
    per_channel: bool = True

    def __post_init__(self) -> None:
        _check(1 <= self.calibration_samples <= 100_000, "int8.calibration_samples",
               self.calibration_samples, "an integer from 1 to 100000")


@dataclass(frozen=True)
class VerifyConfig:
    version: int = 1
    min_agreement: float = 0.97  # top-1 agreement below this marks the run FAILED (exit 1)
    max_samples: int = 1000  # samples of the eval data run through both models

    def __post_init__(self) -> None:
        _check(0.0 <= self.min_agreement <= 1.0, "min_agreement", self.min_agreement,
               "a fraction from 0 to 1")
        _check(self.max_samples >= 1, "verify.max_samples", self.max_samples, "a positive integer")


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

    def __post_init__(self) -> None:
        _check(self.version == 1, "recipe.version", self.version, "1")
        for name in self.passes:
            _check(name in KNOWN_PASSES, "recipe.passes", name, "one of " + ", ".join(KNOWN_PASSES))
        _check("export" in self.passes, "recipe.passes", list(self.passes), "a list that includes 'export'")
        _check(isinstance(self.seed, int) and self.seed >= 0, "seed", self.seed, "a non-negative integer")

    @property
    def format(self) -> str:
        return self.export.format

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
        return Recipe.from_dict(data)


_SECTIONS = {"fold": FoldConfig, "export": ExportConfig, "int8": Int8Config, "verify": VerifyConfig}


def _build(cls: type, data: Any, source: str, prefix: str = "") -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {prefix or 'recipe'}", data, "a table of settings")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{source}: {prefix}{unknown[0]}", data[unknown[0]],
                          "a known key (" + ", ".join(known) + ")")
    values = {}
    for name, value in data.items():
        if cls is Recipe and name in _SECTIONS:
            values[name] = _build(_SECTIONS[name], value, source, f"{name}.")
        elif name == "passes":
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{source}: passes", value, "a list of pass names")
            values[name] = tuple(value)
        else:
            expected = type(getattr(cls(), name)) if cls is not Recipe else int
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(f"{source}: {prefix}{name}", value, f"a {expected.__name__}")
            values[name] = value
    try:
        return cls(**values)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error.field}", error.value, error.expected) from None


def load_recipe(path: Path) -> tuple[Recipe, dict[str, Any]]:
    """Read a recipe from a TOML file or from an earlier run's report.json.

    Returns the recipe and, for a report, the run's other inputs (target, data files) so a
    run can be repeated from the report alone.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError("--recipe", str(path), f"a readable file ({error.strerror})") from None
    if path.suffix == ".json":
        try:
            report = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError("--recipe", str(path), f"valid JSON (line {error.lineno}: {error.msg})") from None
        if not isinstance(report, dict) or "recipe" not in report:
            raise ConfigError("--recipe", str(path), "a report.json with a 'recipe' key")
        return Recipe.from_dict(report["recipe"], source=str(path)), dict(report.get("inputs") or {})
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("--recipe", str(path), f"valid TOML ({error})") from None
    return Recipe.from_dict(data, source=str(path)), {}
