"""Read calibration and evaluation samples from an ``.npz`` file, and check them.

The file holds ``x`` (N × the model's per-sample shape, any layout the model takes:
images N×C×H×W, audio N×L, ...) and optionally ``y`` (N integer labels).  It is read with
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

from .errors import ConfigError, DataError

__all__ = ["Dataset", "load_npz", "overlap_fraction", "parse_input_shape"]

_HOW_TO_SAVE = "save one with numpy.savez(path, x=samples, y=labels)"


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
    x = _checked_x(x, path, per_sample_shape)
    if y is None:
        if require_labels:
            raise DataError(path, f"has no labels 'y' (needed to measure accuracy); {_HOW_TO_SAVE}")
        return Dataset(x=x, y=None, path=path)
    return Dataset(x=x, y=_checked_y(y, path, len(x)), path=path)


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


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``"1,1,32,32"`` -> ``(1, 1, 32, 32)``; ConfigError on anything but positive integers."""
    parts = [part.strip() for part in str(text).split(",")]
    if not all(part.isdigit() and int(part) > 0 for part in parts):  # isdigit: no signs, no blanks
        raise ConfigError("--input-shape", text, "comma-separated positive integers, e.g. 1,1,32,32")
    return tuple(int(part) for part in parts)


def _read_arrays(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
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
        if "x" not in loaded.files:
            raise DataError(path, f"has no array 'x' (it has: {', '.join(loaded.files) or 'nothing'}); {_HOW_TO_SAVE}")
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


def _checked_x(x: np.ndarray, path: Path, per_sample_shape: tuple[int, ...] | None) -> np.ndarray:
    if x.dtype.kind not in "biuf":  # bool, signed, unsigned, float; not complex, strings, records
        raise DataError(path, f"x must be numeric, got dtype {x.dtype}")
    if x.ndim < 2:
        raise DataError(path, f"x must be N samples × per-sample shape (at least 2 dims), got shape {x.shape}")
    if len(x) == 0:
        raise DataError(path, f"x has 0 samples (shape {x.shape})")
    with np.errstate(over="ignore"):  # overflow is reported below as Inf, not as a warning
        x = np.ascontiguousarray(x, dtype=np.float32)
    # checked after the cast: float64 values beyond ±3.4e38 become Inf in float32
    nan, inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
    if nan or inf:
        raise DataError(path, f"x has {nan} NaN and {inf} Inf values (as float32); clean or drop those samples")
    if per_sample_shape is not None and tuple(x.shape[1:]) != tuple(per_sample_shape):
        raise DataError(path, f"x has per-sample shape {tuple(x.shape[1:])} but the model takes "
                              f"{tuple(per_sample_shape)}")
    return x


def _checked_y(y: np.ndarray, path: Path, n_samples: int) -> np.ndarray:
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
