"""Check everything a search is given before any trial runs, so bad input is one error, not N failed trials.

``resolve_inputs`` loads the target, the budgets (gate/budgets.py, as ``compress check`` reads
them), the model (to know its layers), the space, and checks the data files and the numbers;
every problem is a ``CompressorError`` naming the flag or file (exit 2 on the CLI).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError
from ..inputs import sha256_file
from ..targets.types import TargetProfile
from .layers import ModelLayers
from .space import SearchSpace

__all__ = ["SearchInputs", "resolve_inputs"]


@dataclass(frozen=True)
class SearchInputs:
    model: Path
    model_sha256: str
    target: TargetProfile
    target_arg: str  # as given (a name or a .toml path): what trials and the repeat command pass
    budgets: Any  # Budgets
    layers: ModelLayers
    space: SearchSpace
    data: Path
    eval_data: Path
    labelled: bool  # --eval has y: the score is accuracy, else agreement


def _npz_members(path: Path | None, name: str) -> set[str]:
    if path is None:
        raise ConfigError(name, None, "an .npz file: the search calibrates, recovers and scores every recipe on it")
    path = Path(path)
    if not path.is_file():
        raise DataError(path, f"{name} file not found")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {member.removesuffix(".npy") for member in archive.namelist()}
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(path, f"not an .npz archive ({name}): {error}") from None
    if "x" not in members and "x0" not in members:
        raise DataError(path, f"no array 'x' ({name}): save one with numpy.savez(path, x=samples, y=labels)")
    return members


def resolve_inputs(model: str | os.PathLike, *, target: str, budget: str | os.PathLike, data, eval_data,
                   space: str | os.PathLike | None, arch: str | None, trust_pickle: bool,
                   trials: int, workers: int, timeout_s: float | None) -> SearchInputs:
    from ..gate.budgets import load_budgets
    from ..model.load import load_model
    from ..targets.load import load_target
    from .layers import describe_layers
    from .space import default_space, load_space

    for name, value, low in (("trials", trials, 1), ("workers", workers, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(name, value, f"an integer >= {low}")
    if timeout_s is not None and not timeout_s > 0:
        raise ConfigError("timeout_s", timeout_s, "seconds > 0")
    if not target:
        from ..targets.load import known_target_names

        raise ConfigError("target", None, "a target name (" + ", ".join(known_target_names()) + ") or a .toml file")
    model_path = Path(model)
    if not model_path.is_file():
        raise DataError(model_path, "model file not found")
    profile = load_target(target)
    if budget is None:
        raise ConfigError("budget", None, "a budgets .toml file (the one `compress check` reads)")
    budgets = load_budgets(budget, target=profile.name)
    if not [key for key in budgets.keys_set() if key != "max_regression"]:
        raise ConfigError("budget", str(budget), "at least one budget (max_latency_ms, max_flash, min_accuracy, ...); "
                          "max_regression alone needs a baseline, which a search does not have")
    _npz_members(data, "data")
    labelled = "y" in _npz_members(eval_data, "eval")
    if budgets.min_accuracy is not None and not labelled:
        raise ConfigError("budget", str(budget), f"min_accuracy only with labels: {eval_data} has no 'y' "
                          "(use min_agreement, or give evaluation data with labels)")
    loaded = load_model(model_path, arch=arch, trust_pickle=trust_pickle)
    layers = describe_layers(loaded.module)
    chosen = load_space(space, layers, profile) if space is not None else default_space(layers, profile)
    return SearchInputs(model_path.resolve(), sha256_file(model_path), profile, target, budgets, layers, chosen,
                        Path(data).resolve(), Path(eval_data).resolve(), labelled)
