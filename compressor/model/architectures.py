"""Which architecture a state dict belongs to: the zoo by shapes, or ``--arch module:Class``.

Building the model runs only code the user named (``--arch``) or the zoo's; the weights
themselves were loaded with ``weights_only=True`` by ``loading.py``.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import torch

from ..errors import ModelLoadError

__all__ = ["count_of", "cwd_importable", "first_items", "module_for_state_dict", "short_error"]

SHOWN = 3  # how many key names an error lists before "..."


def module_for_state_dict(state: dict[str, torch.Tensor], path: Path, *, arch: str | None,
                          checkpoint_key: str | None) -> tuple[torch.nn.Module, str, tuple | None]:
    """The architecture the weights belong to, built with them loaded: (module, arch, input shapes).

    ``arch`` is a zoo name or ``module:Class`` (importable from the current directory); without
    it, the one zoo architecture whose parameter shapes match the weights, else an error.
    """
    what = "a state dict" if checkpoint_key is None else f"a checkpoint (state dict under {checkpoint_key!r})"
    zoo = _zoo()
    if arch is None:
        matches = [name for name, entry in zoo.items() if _shapes_of(_build_meta(entry.build)) == _shapes_of(state)]
        if len(matches) != 1:
            known = ", ".join(zoo) or "none installed"
            raise ModelLoadError(path, f"is {what} (weights only); pass --arch module:Class (or a zoo name: "
                                       f"{known}) to say which architecture it belongs to")
        arch = matches[0]
    if arch in zoo:
        with torch.random.fork_rng(devices=[]):  # random init is overwritten; keep the caller's RNG
            module = zoo[arch].build()
        input_shapes: tuple[tuple[int, ...], ...] | None = (tuple(zoo[arch].input_shape),)
    else:
        module, input_shapes = _build_arch(arch, path), None
    mismatch = _describe_mismatch(_shapes_of(state), _shapes_of(module))
    if mismatch:
        raise ModelLoadError(path, f"the weights do not fit --arch {arch}: {mismatch}")
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:  # custom _load_from_state_dict hooks can still refuse
        raise ModelLoadError(path, f"the weights do not fit --arch {arch}: {short_error(error)}") from None
    return module.eval(), arch, input_shapes


def _zoo() -> dict[str, Any]:
    """The zoo registry, read at call time (tests swap it); empty if not installed."""
    try:
        from ..zoo import ZOO
    except ImportError:
        return {}
    return ZOO


def _build_meta(build: Any) -> torch.nn.Module | None:
    """The architecture on the meta device: shapes only, no memory, no RNG draws."""
    try:
        with torch.device("meta"):
            return build()
    except Exception:  # an entry that cannot build cannot match
        return None


def _shapes_of(source: torch.nn.Module | dict[str, torch.Tensor] | None) -> dict[str, tuple[int, ...]]:
    if source is None:
        return {}
    state = source.state_dict() if isinstance(source, torch.nn.Module) else source
    return {key: tuple(value.shape) for key, value in state.items()}


def _describe_mismatch(in_file: dict[str, tuple], in_model: dict[str, tuple]) -> str:
    missing = [key for key in in_model if key not in in_file]
    unexpected = [key for key in in_file if key not in in_model]
    shapes = [f"{key}: file {in_file[key]} vs model {in_model[key]}"
              for key in in_model if key in in_file and in_file[key] != in_model[key]]
    parts = [f"{count_of(items, label)} ({first_items(items)})"
             for items, label in ((missing, "missing key"), (unexpected, "unexpected key"),
                                  (shapes, "shape mismatch")) if items]
    return ", ".join(parts)


def _build_arch(arch: str, path: Path) -> torch.nn.Module:
    """Instantiate ``module:Attr``: an nn.Module subclass or a zero-argument factory."""
    module_name, _, attr = arch.partition(":")
    if not module_name or not attr:
        raise ModelLoadError(path, f"--arch {arch!r} is neither a zoo model ({', '.join(_zoo()) or 'none installed'}) "
                                   "nor module:Class")
    try:
        with cwd_importable():
            owner: Any = importlib.import_module(module_name)
    except BaseException as error:  # import runs user code: SyntaxError, SystemExit, ...
        if isinstance(error, KeyboardInterrupt):
            raise
        raise ModelLoadError(path, f"--arch {arch}: cannot import module {module_name!r} "
                                   f"({type(error).__name__}: {short_error(error)})") from None
    named: Any = owner
    for part in attr.split("."):
        if not hasattr(named, part):
            candidates = [name for name, value in vars(owner).items()
                          if isinstance(value, type) and issubclass(value, torch.nn.Module)]
            raise ModelLoadError(path, f"--arch {arch}: module {module_name!r} has no attribute {attr!r} "
                                       f"(its nn.Module classes: {', '.join(candidates) or 'none'})")
        named = getattr(named, part)
    if isinstance(named, torch.nn.Module):
        raise ModelLoadError(path, f"--arch {arch}: {attr} is an nn.Module instance; point --arch at its class "
                                   "or a zero-argument factory")
    if isinstance(named, type) and not issubclass(named, torch.nn.Module):
        raise ModelLoadError(path, f"--arch {arch}: {attr} is a class but not a torch.nn.Module subclass")
    if not callable(named):
        raise ModelLoadError(path, f"--arch {arch}: {attr} is a {type(named).__name__}, not an nn.Module "
                                   "class or factory")
    needed = _required_parameters(named)
    if needed:
        raise ModelLoadError(path, f"--arch {arch}: {attr}() needs arguments ({', '.join(needed)}); point "
                                   "--arch at a zero-argument factory that builds it")
    try:
        with torch.random.fork_rng(devices=[]):  # random init is overwritten; keep the caller's RNG
            built = named()
    except Exception as error:
        raise ModelLoadError(path, f"--arch {arch}: {attr}() failed: {type(error).__name__}: {short_error(error)}") from None
    if not isinstance(built, torch.nn.Module):
        raise ModelLoadError(path, f"--arch {arch}: {attr}() returned a {type(built).__name__}, not an nn.Module")
    return built


def _required_parameters(factory: Any) -> list[str]:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: just try calling
        return []
    return [p.name for p in parameters if p.default is p.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]



# --- small helpers --------------------------------------------------------------------

@contextlib.contextmanager
def cwd_importable() -> Iterator[None]:
    """Let `import` find modules in the current directory, as `python -m` would."""
    cwd = os.getcwd()
    sys.path.insert(0, cwd)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(cwd)



def short_error(error: BaseException) -> str:
    """The first line of an error message, cut short: C++ traces follow on later lines."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def first_items(items: Any) -> str:
    items = [str(item) for item in items]
    return ", ".join(items[:SHOWN]) + (", ..." if len(items) > SHOWN else "")


def count_of(items: list, label: str) -> str:
    return f"{len(items)} {label}{'' if len(items) == 1 else 'es' if label.endswith('ch') else 's'}"

