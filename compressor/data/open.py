"""One entry for every kind of data a run takes: ``open_data(spec, ...) -> Source``.

``spec`` is a path (``.npz``; ``.npy``, memory-mapped; a folder of images or of WAV clips), an
array, an ``(x, y)`` pair (x may be a tuple of arrays for a model with several inputs), a torch
``Dataset``, a ``DataLoader`` or any iterable of batches.  Every problem is a ``DataError``
naming the file (or the argument) and what is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .audio import open_wav_folder
from .folders import Preprocess
from .images import IMAGE_SUFFIXES, open_image_folder
from .npz import checked_x, checked_y, load_inputs_npz, load_npz
from .samples import LazySamples, Source
from .stream import open_python_source

__all__ = ["open_data"]


def open_data(spec: Any, *, sample_shapes: tuple[tuple[int, ...], ...] | None, preprocess: Preprocess,
              name: str) -> Source:
    """``sample_shapes``: the model's per-sample input shapes when known; ``name``: "data" or "eval"."""
    if isinstance(spec, (str, os.PathLike)):
        return _open_path(Path(spec), sample_shapes, preprocess)
    if hasattr(spec, "detach") and hasattr(spec, "shape"):  # a torch.Tensor
        spec = spec.detach().cpu().numpy()
    if isinstance(spec, np.ndarray):
        x = checked_x(spec, Path(f"<{name} array>"), _one(sample_shapes))
        return Source(x, None, {"kind": "array", "samples": len(x)})
    if isinstance(spec, tuple) and len(spec) == 2 and not _is_dataset(spec[0]):
        return _open_pair(spec, sample_shapes, name)
    return open_python_source(spec, name=f"the {name} argument ({type(spec).__name__})")


def _is_dataset(value: Any) -> bool:
    return not isinstance(value, (np.ndarray, tuple, list)) and not (hasattr(value, "detach") and hasattr(value, "shape"))


def _array(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def _open_pair(pair: tuple, sample_shapes, name: str) -> Source:
    where = Path(f"<{name} (x, y)>")
    x, y = pair
    if isinstance(x, (tuple, list)):
        shapes = sample_shapes or (None,) * len(x)
        xs = tuple(checked_x(_array(a), where, s, name=f"x{k}") for k, (a, s) in enumerate(zip(x, shapes)))
        count = len(xs[0])
        if any(len(a) != count for a in xs):
            raise DataError(where, "the inputs of x hold different numbers of samples")
        checked: Any = xs
    else:
        checked = checked_x(_array(x), where, _one(sample_shapes))
        count = len(checked)
    labels = checked_y(_array(y), where, count) if y is not None else None
    return Source(checked, labels, {"kind": "array", "samples": count})


def _one(sample_shapes) -> tuple[int, ...] | None:
    return sample_shapes[0] if sample_shapes else None


def _open_path(path: Path, sample_shapes, preprocess: Preprocess) -> Source:
    if not path.exists():
        raise DataError(path, "no such file or folder")
    if path.is_dir():
        kind = _folder_kind(path)
        shape = _one(sample_shapes)
        source = (open_image_folder if kind == "images" else open_wav_folder)(path, sample_shape=shape,
                                                                             preprocess=preprocess)
        return source
    if path.suffix.lower() == ".npy":
        return _open_npy(path, _one(sample_shapes))
    record = {"kind": "npz", "path": str(path)}
    if sample_shapes is None:
        data = load_npz(path)
        return Source(data.x, data.y, {**record, "samples": len(data.x)})
    x, y = load_inputs_npz(path, sample_shapes)
    count = len(x[0]) if isinstance(x, tuple) else len(x)
    return Source(x, y, {**record, "samples": count})


def _folder_kind(path: Path) -> str:
    """images or wav, from the first file found (class folders first level)."""
    for entry in sorted(path.rglob("*")):
        if entry.is_file() and not entry.name.startswith("."):
            suffix = entry.suffix.lower()
            if suffix in IMAGE_SUFFIXES:
                return "images"
            if suffix == ".wav":
                return "wav"
    raise DataError(path, "is a folder without images (PNG/JPEG) or WAV files")


def _open_npy(path: Path, sample_shape: tuple[int, ...] | None) -> Source:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(path, f"is not a valid .npy file ({str(error).splitlines()[0][:200]})") from None
    if array.dtype.kind not in "biuf" or array.ndim < 2 or len(array) == 0:
        raise DataError(path, f"must hold N samples of numbers (at least 2 dims), got {array.dtype} {array.shape}")
    if sample_shape is not None and tuple(array.shape[1:]) != tuple(sample_shape):
        raise DataError(path, f"has per-sample shape {tuple(array.shape[1:])} but the model takes {tuple(sample_shape)}")

    def read(index: int) -> np.ndarray:
        sample = np.asarray(array[index], dtype=np.float32)
        if not np.all(np.isfinite(sample)):
            raise DataError(path, f"sample {index} has NaN or Inf values")
        return sample

    return Source(LazySamples(read, len(array), array.shape[1:]), None,
                  {"kind": "npy", "path": str(path), "samples": len(array)})
