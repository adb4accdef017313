"""Load a trained PyTorch model from one file, whichever way torch wrote it.

The format is read from the file's content, never its name (a state dict called
``model.onnx`` still loads; an ONNX file called ``model.pt`` is refused as ONNX):

* ``b"TFL3"`` at byte 4 -> a TFLite flatbuffer; an ONNX protobuf with graph nodes -> ONNX.
  Both are refused: ``compress`` starts from a PyTorch model.
* a zip archive (torch's default format since 1.6); its members, below one root folder,
  tell the writer apart (as written by torch 2.13):
    - ``torch.export.save``: ``archive_format`` (= "pt2"), ``models/<name>.json``,
      ``data/weights/...``, ``data/sample_inputs/<name>.pt``;
    - ``torch.jit.save``: ``constants.pkl`` and ``code/__torch__...``;
    - ``torch.save``: ``data.pkl`` and ``data/<n>`` (state dicts and full pickles alike).
* ``\\x80`` + pickle protocol byte -> a legacy (non-zip) ``torch.save`` file.

A zip with a member outside its root folder, or one its format does not define
(``archives.py``), is refused before any torch loader opens it: torch's loaders may
unpickle members they do not document.

``torch.save`` files go through ``torch.load(weights_only=True)`` first.  When that
refuses, the file pickles arbitrary objects and loading it runs code from the file: we
only do so with ``trust_pickle``, never as a silent fallback.  The same holds for
``torch.export`` archives, whose loader unpickles some members without asking.

TorchScript cannot be traced by ``torch.export``; ``make_exportable`` converts it with
the private ``TS2EPConverter`` (see PITFALLS.md, "Loading") and checks the outputs.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import os
import pickle
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

from .architectures import cwd_importable, first_items, module_for_state_dict, short_error
from .archives import foreign_member, root_folder
from ..errors import ModelLoadError

__all__ = ["SOURCE_FORMATS", "LoadedModel", "load_model", "load_model_object", "make_exportable"]

SOURCE_FORMATS = ("torch.export", "torchscript", "state_dict", "pickle", "module")  # "module": an object, not a file

# Keys under which common training loops nest the state dict in a checkpoint, in the
# order we look (Lightning/timm "state_dict", the PyTorch tutorial's "model_state_dict").
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model", "net")
# Prefixes wrappers add to every key: DataParallel/DDP ("module.") and torch.compile
# ("_orig_mod."); stripped only when every key has them.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_PICKLE_HEAD = re.compile(rb"\x80[\x02-\x05]")
# Legacy torch.save files open with this number pickled (torch/serialization.py MAGIC_NUMBER);
# a pickle without it is not a torch file, and torch.load would refuse it after unpickling.
_LEGACY_MAGIC = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_PT2_PICKLED_PREFIXES = ("custom_obj_", "opaque_obj_")  # constants the pt2 loader unpickles
_ADVICE_SAVE = "save a state dict / TorchScript / torch.export archive instead"


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run on the CPU, and what we know about where it came from."""

    module: torch.nn.Module              # callable as module(*example_inputs)
    source_format: str                   # one of SOURCE_FORMATS
    input_shapes: tuple[tuple[int, ...], ...] | None  # with batch dim; None if unknown
    arch: str | None                     # "pkg.mod:Class" or a zoo name, for state dicts
    path: Path
    checkpoint_key: str | None = None    # which key of a checkpoint dict held the state dict

    def __post_init__(self) -> None:
        assert self.source_format in SOURCE_FORMATS, self.source_format


def load_model(path: str | os.PathLike, *, arch: str | None = None,
               trust_pickle: bool = False) -> LoadedModel:
    """Load ``path`` (state dict + ``arch``, TorchScript, torch.export .pt2 or full pickle).

    Raises ``ModelLoadError`` naming the file and the problem for anything else.
    """
    path = Path(path)
    head = _read_head(path)
    if head[4:8] == b"TFL3":
        raise ModelLoadError(path, "is already a TFLite model; " + _WANTS_PYTORCH)
    if zipfile.is_zipfile(path):
        return _load_zip(path, arch=arch, trust_pickle=trust_pickle)
    if head.startswith(b"PK\x03\x04"):
        raise ModelLoadError(path, "is truncated: a zip archive without its central directory "
                                   "(was the download or copy cut short?)")
    if _PICKLE_HEAD.match(head):
        if _LEGACY_MAGIC not in head:
            raise ModelLoadError(path, "is a Python pickle that torch.save did not write (no torch magic "
                                       "number); " + _ADVICE_SAVE)
        return _load_torch_save(path, arch=arch, trust_pickle=trust_pickle)
    if _is_onnx(path):
        raise ModelLoadError(path, "is already an ONNX model; " + _WANTS_PYTORCH)
    raise ModelLoadError(path, "is not a PyTorch model file: neither a zip archive nor a pickle "
                               f"(starts with {head[:8]!r})")


def load_model_object(model: Any) -> LoadedModel:
    """An in-memory model: an ``nn.Module`` (a deep copy in eval mode: the caller's
    module and its training flag stay as they were), a ``torch.export`` ``ExportedProgram`` or a TorchScript ``ScriptModule``."""
    where = Path(f"<{type(model).__name__}>")
    if isinstance(model, torch.export.ExportedProgram):
        return LoadedModel(module=model.module(), source_format="torch.export",
                           input_shapes=_example_shapes(model.example_inputs), arch=None, path=where)
    if isinstance(model, (torch.jit.ScriptModule, torch.jit.ScriptFunction)):
        return LoadedModel(module=model.eval(), source_format="torchscript", input_shapes=None, arch=None, path=where)
    if isinstance(model, torch.nn.Module):
        return LoadedModel(module=copy.deepcopy(model).eval(), source_format="module", input_shapes=None, arch=None, path=where)
    raise ModelLoadError(where, "is not a model: pass a path, an nn.Module, an ExportedProgram or a ScriptModule")


_WANTS_PYTORCH = ("compress takes a PyTorch model (a state dict + --arch, TorchScript, a torch.export "
                  ".pt2, or a pickled nn.Module with --trust-pickle); `compress profile` takes artifacts")


def make_exportable(loaded: LoadedModel, example_inputs: tuple[torch.Tensor, ...]) -> torch.nn.Module:
    """A module ``torch.export`` can trace: the module itself, or TorchScript converted.

    The conversion uses ``torch._export.converter.TS2EPConverter`` (private API, pinned by
    tests/test_loading.py); its result must reproduce the TorchScript outputs.
    """
    if loaded.source_format != "torchscript":
        return loaded.module
    example_inputs = tuple(example_inputs)
    try:
        from torch._export.converter import TS2EPConverter

        with _quiet():
            module = TS2EPConverter(loaded.module, example_inputs).convert().module()
    except Exception as error:  # a private converter fails in many ways; all mean "cannot"
        raise ModelLoadError(loaded.path, "TorchScript could not be converted for torch.export "
                                          f"(TS2EPConverter: {short_error(error)}); save the model as a "
                                          "torch.export archive (torch.export.save) or a state dict "
                                          "instead") from None
    try:
        with torch.no_grad():
            expected, got = _flat_tensors(loaded.module(*example_inputs)), _flat_tensors(module(*example_inputs))
        same = len(expected) == len(got) and all(
            a.shape == b.shape and torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(expected, got))
    except Exception:  # the converted graph cannot even run what it was traced with
        same = False
    if not same:
        raise ModelLoadError(loaded.path, "converting the TorchScript for torch.export changed its outputs; "
                                          "save the model as a torch.export archive or a state dict instead")
    # The graph was traced from the eval-mode TorchScript (checked above), but ep.module() says
    # training=True and refuses .eval(); set the flag so converters do not warn "training mode".
    for submodule in module.modules():
        submodule.training = False
    return module


# --- reading the file ---------------------------------------------------------------

def _read_head(path: Path) -> bytes:
    if not path.exists():
        raise ModelLoadError(path, "no such file")
    if path.is_dir():
        raise ModelLoadError(path, "is a directory, not a model file")
    try:
        with open(path, "rb") as file:
            head = file.read(64)
    except OSError as error:
        raise ModelLoadError(path, f"cannot be read: {error.strerror or error}") from None
    if not head:
        raise ModelLoadError(path, "is empty (0 bytes)")
    return head


def _is_onnx(path: Path) -> bool:
    try:
        import onnx

        proto = onnx.load_model_from_string(path.read_bytes())
    except Exception:  # protobuf parse errors have no common public base class
        return False
    return proto.HasField("graph") and len(proto.graph.node) > 0


def _load_zip(path: Path, *, arch: str | None, trust_pickle: bool) -> LoadedModel:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            bad_member = archive.testzip()  # CRCs: torch itself reads damaged members silently
            if bad_member is not None:
                raise ModelLoadError(path, f"is corrupt: zip member {bad_member} fails its checksum")
            # torch writes every member below one root folder named after the file it saved to; a
            # member elsewhere (or one the format does not define, below) is refused unread (archives.py)
            root, outside = root_folder(names)
            if root is None:
                raise ModelLoadError(path, f"is a zip archive torch did not write ({outside} lies outside one root "
                                           f"folder; it holds {first_items(names)})")
            inner = [name.split("/", 1)[1] for name in names]
            kind = _archive_kind(inner)
            foreign = foreign_member(names, kind) if kind is not None else None
            if foreign is not None:
                raise ModelLoadError(path, f"is a {kind} archive with a member its format does not define ({foreign}); "
                                           "refusing to open it, since torch's loaders may unpickle such members. "
                                           + _ADVICE_SAVE)
            if kind == "torch.export":
                pickled = _pt2_pickled_member(archive, names)
                if pickled and not trust_pickle:
                    raise ModelLoadError(path, f"is a torch.export archive with pickled objects ({pickled}); "
                                               "loading it runs code from the file. Pass --trust-pickle if "
                                               "you trust it, or " + _ADVICE_SAVE)
                return _load_export(path)
            if kind == "torchscript":
                return _load_torchscript(path)
            if any(n.startswith("data/aotinductor/") for n in inner):
                raise ModelLoadError(path, "is an AOTInductor package (compiled code), not an exported "
                                           "program; " + _WANTS_PYTORCH)
            if "data.pkl" not in inner:
                raise ModelLoadError(path, "is a zip archive torch did not write (no data.pkl, TorchScript "
                                           f"code or exported program; it holds {first_items(names)})")
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ModelLoadError(path, f"is not a PyTorch model file: corrupt zip archive ({short_error(error)})") from None
    return _load_torch_save(path, arch=arch, trust_pickle=trust_pickle)


def _archive_kind(inner: list[str]) -> str | None:
    """Which writer made a zip, from its member paths below the root folder (module docstring)."""
    if any(n == "archive_format" or (n.startswith("models/") and n.endswith(".json")) for n in inner):
        return "torch.export"
    if any(n == "constants.pkl" or n.startswith("code/") for n in inner):
        return "torchscript"
    return "torch.save" if "data.pkl" in inner else None


def _pt2_pickled_member(archive: zipfile.ZipFile, names: list[str]) -> str | None:
    """The first member torch.export.load would unpickle unsafely, or None.

    torch 2.13 unpickles weights/constants marked ``use_pickle`` and custom/opaque
    objects, and retries ``*.pt`` members with ``weights_only=False`` when the safe load
    fails; we look first so a .pt2 never runs code without --trust-pickle.
    """
    for name in names:
        if name.endswith("config.json") and "/data/" in name:
            try:
                entries = dict(json.loads(archive.read(name)).get("config", {}))
            except (ValueError, AttributeError, TypeError):  # not the JSON torch writes: refuse to guess
                return f"{name} (unreadable)"
            for key, entry in entries.items():
                if not isinstance(entry, dict) or entry.get("use_pickle") or str(entry.get("path_name", "")).startswith(_PT2_PICKLED_PREFIXES):
                    return f"{key!r} in {name}"
        elif name.endswith(".pt"):
            try:
                with _quiet():
                    torch.load(io.BytesIO(archive.read(name)), map_location="cpu", weights_only=True)
            except Exception:  # anything the safe loader refuses the unsafe one would try
                return name
    return None


def _load_export(path: Path) -> LoadedModel:
    try:
        with _quiet():
            program = torch.export.load(path)
    except Exception as error:  # serde raises bare Exceptions and AssertionErrors
        raise ModelLoadError(path, f"is a torch.export archive that cannot be loaded: {short_error(error)}") from None
    # ep.module() cannot be put in eval mode: the graph is fixed in the mode it was exported in.
    return LoadedModel(module=program.module(), source_format="torch.export",
                       input_shapes=_example_shapes(program.example_inputs), arch=None, path=path)


def _example_shapes(example_inputs: Any) -> tuple[tuple[int, ...], ...] | None:
    if not example_inputs:
        return None
    args, kwargs = example_inputs
    if kwargs or not args or not all(isinstance(arg, torch.Tensor) for arg in args):
        return None
    return tuple(tuple(arg.shape) for arg in args)


def _load_torchscript(path: Path) -> LoadedModel:
    try:
        with _quiet():
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as error:  # the C++ loader raises RuntimeError with a C++ trace below line 1
        raise ModelLoadError(path, f"is a TorchScript archive that cannot be loaded: {short_error(error)}") from None
    return LoadedModel(module=module.eval(), source_format="torchscript", input_shapes=None, arch=None, path=path)


def _load_torch_save(path: Path, *, arch: str | None, trust_pickle: bool) -> LoadedModel:
    try:
        with _quiet():
            content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if not str(error).startswith("Weights only load failed"):
            raise ModelLoadError(path, f"is not a PyTorch model file: {short_error(error)}") from None
        if not trust_pickle:
            refused = _REFUSED_GLOBAL.search(str(error))
            what = f"it contains {refused.group(1)}" if refused else f"the safe loader stopped at: {_why_refused(error)}"
            raise ModelLoadError(path, f"is a full pickle ({what}); loading it runs code from the file. Pass "
                                       "--trust-pickle if you trust it, or " + _ADVICE_SAVE) from None
        content = _load_pickle(path)
    except EOFError:
        raise ModelLoadError(path, "is truncated: the pickle data ends early") from None
    except Exception as error:  # RuntimeError "invalid magic number", zip reader errors, ...
        raise ModelLoadError(path, f"is not a PyTorch model file: {short_error(error)}") from None
    return _interpret(content, path, arch=arch)


def _load_pickle(path: Path) -> Any:
    """The unsafe load, only ever reached with trust_pickle."""
    try:
        with _quiet(), cwd_importable():
            return torch.load(path, map_location="cpu", weights_only=False)
    except (AttributeError, ImportError) as error:
        raise ModelLoadError(path, f"is a pickle whose classes cannot be found ({short_error(error)}); import "
                                   "them from a module on PYTHONPATH, or " + _ADVICE_SAVE) from None
    except EOFError:
        raise ModelLoadError(path, "is truncated: the pickle data ends early") from None
    except Exception as error:  # arbitrary code ran; whatever it raised, the file is unusable
        raise ModelLoadError(path, f"is a pickle that cannot be loaded: {short_error(error)}") from None


def _interpret(content: Any, path: Path, *, arch: str | None) -> LoadedModel:
    if isinstance(content, torch.nn.Module):  # only the trusted unsafe load yields modules
        kind = "torchscript" if isinstance(content, torch.jit.ScriptModule) else "pickle"
        return LoadedModel(module=content.eval(), source_format=kind, input_shapes=None, arch=None, path=path)
    if _is_state_dict(content):
        return _loaded_from_state_dict(_strip_wrapper_prefix(content), path, arch=arch, checkpoint_key=None)
    if isinstance(content, dict):
        for key in _CHECKPOINT_KEYS:
            value = content.get(key)
            if _is_state_dict(value):
                return _loaded_from_state_dict(_strip_wrapper_prefix(value), path, arch=arch, checkpoint_key=key)
            if isinstance(value, torch.nn.Module):
                return _interpret(value, path, arch=arch)
        raise ModelLoadError(path, f"holds a dict with keys {first_items(content)} but no state dict (a dict of "
                                   f"tensors, directly or under {', '.join(map(repr, _CHECKPOINT_KEYS))})")
    raise ModelLoadError(path, f"holds a {type(content).__name__}, not a model or a state dict")


def _is_state_dict(value: Any) -> bool:
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()))


def _strip_wrapper_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in _WRAPPER_PREFIXES:
        while all(key.startswith(prefix) for key in state):
            state = {key[len(prefix):]: value for key, value in state.items()}
    return state



# --- small helpers --------------------------------------------------------------------

@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch's warnings and export log lines: loading must not print."""
    # torch._export logs "dimension ... specialized" at WARNING through torch's own stderr
    # handler; the levels are restored on exit.
    loggers = [logging.getLogger(name) for name in ("torch._export", "torch.export")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def _flat_tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [tensor for item in value for tensor in _flat_tensors(item)]
    return []


def _why_refused(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines()]
    detail = [line for line in lines if line and not line.startswith(("Weights only", "Please file", "Check the"))]
    return detail[-1][:160] if detail else "an unsupported pickle instruction"


def _loaded_from_state_dict(state: dict[str, torch.Tensor], path: Path, *, arch: str | None,
                            checkpoint_key: str | None) -> LoadedModel:
    module, arch, input_shapes = module_for_state_dict(state, path, arch=arch, checkpoint_key=checkpoint_key)
    return LoadedModel(module=module, source_format="state_dict", input_shapes=input_shapes,
                       arch=arch, path=path, checkpoint_key=checkpoint_key)
