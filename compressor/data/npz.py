"""Read calibration and evaluation samples from an ``.npz`` file, and check them.

(The folder and torch sources live beside this module: images.py, audio.py, stream.py, open.py.)

The file holds ``x`` (N × the model's per-sample shape, any layout the model takes:
images N×C×H×W, audio N×L, ...) and optionally ``y`` (N integer labels).  A model with
several inputs takes ``x0``, ``x1``, ... instead of ``x``, in the order of its ``forward``
arguments, each with the same N.  Samples of such a model travel as a tuple of arrays
(``Batch``); ``as_inputs``, ``sample_count`` and ``head`` treat both forms alike.  It is read with
``allow_pickle=False``: an ``.npz`` is data, and object arrays would run code on load.
Every problem is a ``DataError`` naming the file, so the CLI prints one line.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from .samples import LazySamples

__all__ = [
    "Batch",
    "Dataset",
    "as_inputs",
    "calibration_samples",
    "checked_x",
    "checked_y",
    "head",
    "load_inputs_npz",
    "load_npz",
    "overlap_fraction",
    "parse_input_shape",
    "parse_input_shapes",
    "parse_input_values",
    "sample_count",
]

_HOW_TO_SAVE = "save one with numpy.savez(path, x=samples, y=labels)"


# One array (single-input model) or one array per input, all with the same N samples.
Batch = np.ndarray | tuple[np.ndarray, ...]


def as_inputs(x: Batch) -> list[np.ndarray]:
    return list(x) if isinstance(x, tuple) else [x]


def sample_count(x: Batch) -> int:
    return len(as_inputs(x)[0])


def head(x: Batch, count: int) -> Batch:
    """The first ``count`` samples, in the same form (a lazy source stays lazy: samples.py)."""
    if isinstance(x, tuple):
        return tuple(head(a, count) for a in x)
    return x.head(count) if isinstance(x, LazySamples) else x[:count]


def calibration_samples(x: Batch, count: int, seed: int, *, layout: str = "nchw") -> list[list[np.ndarray]]:
    """``count`` samples of ``x``, each a list of batch-of-1 inputs (a seeded choice, so
    class-sorted files still calibrate well), in the artifact's ``layout`` (layout.py)."""
    from ..layout import to_artifact

    inputs = as_inputs(x)
    order = np.sort(np.random.default_rng(seed).permutation(len(inputs[0]))[: min(count, len(inputs[0]))])
    return [[to_artifact(np.ascontiguousarray(a[i : i + 1], dtype=np.float32), layout) for a in inputs]
            for i in order]


@dataclass(frozen=True)
class Dataset:
    """Checked samples: ``x`` float32 N × per-sample shape, ``y`` int64 labels or None."""

    x: np.ndarray
    y: np.ndarray | None
    path: Path


def load_npz(path: str | os.PathLike, *, per_sample_shape: tuple[int, ...] | None = None,
             require_labels: bool = False) -> Dataset:
    """Load and check ``x`` (and ``y`` if present) from the ``.npz`` file at ``path``.

    ``per_sample_shape`` is what the model takes without the batch dimension; None skips
    that check.  ``require_labels`` makes a missing ``y`` an error.
    """
    path = Path(path)
    x, y = _read_arrays(path)
    x = checked_x(x, path, per_sample_shape)
    if y is None:
        if require_labels:
            raise DataError(path, f"has no labels 'y' (needed to measure accuracy); {_HOW_TO_SAVE}")
        return Dataset(x=x, y=None, path=path)
    return Dataset(x=x, y=checked_y(y, path, len(x)), path=path)


def load_inputs_npz(path: str | os.PathLike, per_sample_shapes: tuple[tuple[int, ...], ...]
                    ) -> tuple[Batch, np.ndarray | None]:
    """Samples for a model with ``len(per_sample_shapes)`` inputs: ``x`` for one, ``x0``, ``x1``, ... for more."""
    if len(per_sample_shapes) == 1:
        data = load_npz(path, per_sample_shape=per_sample_shapes[0])
        return data.x, data.y
    path = Path(path)
    names = [f"x{k}" for k in range(len(per_sample_shapes))]
    _read_arrays(path, required=names[0])
    with np.load(path, allow_pickle=False) as archive:
        missing = [name for name in names if name not in archive.files]
        if missing:
            raise DataError(path, f"has no array {missing[0]!r}: a model with {len(names)} inputs takes "
                                  f"{', '.join(names)} (save with numpy.savez(path, {names[0]}=..., {names[1]}=..., y=labels))")
        xs = tuple(checked_x(_read_member(archive, name, path), path, shape, name=name)
                   for name, shape in zip(names, per_sample_shapes))
        y = _read_member(archive, "y", path) if "y" in archive.files else None
    if len({len(a) for a in xs}) > 1:
        raise DataError(path, "x0, x1, ... must hold the same number of samples, got "
                              + ", ".join(str(len(a)) for a in xs))
    return xs, (checked_y(y, path, len(xs[0])) if y is not None else None)


def overlap_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """The share of rows (samples) of ``b`` that also occur in ``a``, byte for byte.

    Rows are compared as float32 bytes, hashed, so a large ``a`` costs 16 bytes a row.
    """
    if len(b) == 0:
        return 0.0
    a, b = (np.ascontiguousarray(arr, dtype=np.float32) for arr in (a, b))
    if a.shape[1:] != b.shape[1:]:
        return 0.0  # different per-sample shapes share no rows
    seen = {_row_digest(row) for row in a}
    return sum(_row_digest(row) in seen for row in b) / len(b)


def parse_input_shapes(text: str) -> tuple[tuple[int, ...], ...]:
    """``"1,3,32,32;1,16"`` -> one shape per model input (``;`` between inputs)."""
    return tuple(parse_input_shape(part) for part in str(text).split(";"))


def parse_input_values(items) -> dict[str, float]:
    """``["sr=16000", ...]`` -> ``{"sr": 16000.0}`` (``bench --input-value``, a fidelity entry's
    ``input_value``): values to feed named inputs; ConfigError on anything but NAME=NUMBER."""
    values = {}
    for item in items:
        name, _, number = str(item).partition("=")
        try:
            values[name.strip()] = float(number)
        except ValueError:
            raise ConfigError("input_value", item, "NAME=NUMBER, e.g. sr=16000") from None
        if not name.strip():
            raise ConfigError("input_value", item, "NAME=NUMBER, e.g. sr=16000")
    return values


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``"1,1,32,32"`` -> ``(1, 1, 32, 32)``; ``"()"`` -> ``()``, a scalar input (Silero VAD's
    sample rate); ConfigError on anything but positive integers."""
    if str(text).strip() == "()":
        return ()
    parts = [part.strip() for part in str(text).split(",")]
    if not all(part.isdigit() and int(part) > 0 for part in parts):  # isdigit: no signs, no blanks
        raise ConfigError("input_shape", text, "comma-separated positive integers, e.g. 1,1,32,32 (() for a scalar input)")
    return tuple(int(part) for part in parts)


def _read_arrays(path: Path, *, required: str = "x") -> tuple[np.ndarray, np.ndarray | None]:
    if not path.exists():
        raise DataError(path, "no such file")
    if path.is_dir():
        raise DataError(path, "is a directory, not an .npz file")
    if path.stat().st_size == 0:
        raise DataError(path, "is empty (0 bytes), not an .npz file")
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError:  # numpy's words for "neither .npy nor .npz, maybe a pickle"
        raise DataError(path, f"is not a valid .npz file; {_HOW_TO_SAVE}") from None
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise DataError(path, f"is not a valid .npz file (truncated or corrupt: {_short(error)})") from None
    if isinstance(loaded, np.ndarray):
        raise DataError(path, f"is a single .npy array, not an .npz archive; {_HOW_TO_SAVE}")
    with loaded:
        if required not in loaded.files:
            raise DataError(path, f"has no array {required!r} (it has: {', '.join(loaded.files) or 'nothing'}); "
                                  + (_HOW_TO_SAVE if required == "x" else "a model with several inputs takes x0, x1, ..."))
        if required != "x":
            return np.empty((1, 1)), None  # checked only; the caller reads the members it needs
        return _read_member(loaded, "x", path), (_read_member(loaded, "y", path) if "y" in loaded.files else None)


def _read_member(archive: np.lib.npyio.NpzFile, name: str, path: Path) -> np.ndarray:
    try:
        return archive[name]
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataError(path, f"array {name!r} holds Python objects (object dtype), which we do not "
                                  "unpickle; store numbers") from None
        raise DataError(path, f"array {name!r} is corrupt: {_short(error)}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise DataError(path, f"array {name!r} is truncated or corrupt: {_short(error)}") from None


def checked_x(x: np.ndarray, path: Path, per_sample_shape: tuple[int, ...] | None, *, name: str = "x"
               ) -> np.ndarray:
    if x.dtype.kind not in "biuf":  # bool, signed, unsigned, float; not complex, strings, records
        raise DataError(path, f"{name} must be numeric, got dtype {x.dtype}")
    if x.ndim < 2:
        raise DataError(path, f"{name} must be N samples × per-sample shape (at least 2 dims), got shape {x.shape}")
    if len(x) == 0:
        raise DataError(path, f"{name} has 0 samples (shape {x.shape})")
    with np.errstate(over="ignore"):  # overflow is reported below as Inf, not as a warning
        x = np.ascontiguousarray(x, dtype=np.float32)
    # checked after the cast: float64 values beyond ±3.4e38 become Inf in float32
    nan, inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
    if nan or inf:
        raise DataError(path, f"{name} has {nan} NaN and {inf} Inf values (as float32); clean or drop those samples")
    if per_sample_shape is not None and tuple(x.shape[1:]) != tuple(per_sample_shape):
        raise DataError(path, f"{name} has per-sample shape {tuple(x.shape[1:])} but the model takes "
                              f"{tuple(per_sample_shape)}")
    return x


def checked_y(y: np.ndarray, path: Path, n_samples: int) -> np.ndarray:
    if y.ndim != 1:
        raise DataError(path, f"y must be 1-D (one label per sample), got shape {y.shape}")
    if len(y) != n_samples:
        raise DataError(path, f"y has {len(y)} labels but x has {n_samples} samples")
    if y.dtype.kind in "iu":
        return y.astype(np.int64)
    # float labels are fine when whole numbers (e.g. a CSV round trip); anything else is not a class index
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    raise DataError(path, f"y must hold integer class labels, got dtype {y.dtype}"
                          + (" with non-integer values" if y.dtype.kind == "f" else ""))


def _row_digest(row: np.ndarray) -> bytes:
    return hashlib.blake2b(row.tobytes(), digest_size=16).digest()


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
