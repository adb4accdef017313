"""A sensitivity scan kept in a file, so runs on the same model and data share one (``prune.sensitivity_cache``).

The scan (sensitivity.py) is the costly part of ``--prune-layers auto`` (4-10 s on the zoo with
one thread, a third of a short trial), and it does not depend on the prune amount: the amount
only changes how ``allocate_amounts`` spends it.  So ``compress search`` points every pruned
trial at one file and the scan runs once per search.

The file holds one scan and the key it was made for: the model (SHA-256 of its class, module
structure and every parameter and buffer, names, dtypes, shapes and bytes), the data the scan
ran on (SHA-256 of the first ``SCAN_SAMPLES`` inputs and the example inputs' shapes), the
target's channel multiple, the scan itself (importance "magnitude", ``SCAN_AMOUNTS``, layer
selection) and what changes its float sums (torch version, intra-op threads).  The scan draws no
random numbers, so the seed is not part of it.  A file made for any other key is never used: the
scan runs again and replaces it.  The errors are stored at full precision (JSON floats round-trip
exactly), so a run that reads the file allocates exactly as a run that scanned.

Concurrent runs (a search's workers) take an exclusive lock (``fcntl.flock``) on ``PATH.lock``
around read-or-scan-and-write: the first scans, the others wait and read.  The file is written
whole (temporary file, rename).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..files import write_atomically
from .sensitivity import SCAN_AMOUNTS, SCAN_SAMPLES, SensitivityRow

__all__ = ["SCAN_CACHE_SCHEMA", "model_sha256", "scan_key", "scan_with_cache"]

SCAN_CACHE_SCHEMA = 1


def model_sha256(module: Any) -> str:
    """SHA-256 of a torch module's class, structure and state (every tensor's name, dtype, shape, bytes)."""
    import torch

    digest = hashlib.sha256()
    digest.update(f"{type(module).__module__}.{type(module).__qualname__}\n{module}\n".encode())
    for name, tensor in sorted(module.state_dict().items()):
        if not isinstance(tensor, torch.Tensor):
            continue
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)}\n".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def _data_sha256(x: Any, example_inputs: tuple) -> str:
    import numpy as np

    head = np.ascontiguousarray(np.asarray(x[:SCAN_SAMPLES], dtype=np.float32))
    digest = hashlib.sha256(f"{head.shape}|{[tuple(t.shape) for t in example_inputs]}\n".encode())
    digest.update(head.tobytes())
    return digest.hexdigest()


def scan_key(module: Any, example_inputs: tuple, x: Any, *, channel_multiple: int,
             layers: str | tuple[str, ...] = "all") -> dict[str, Any]:
    """Everything the scan's result depends on (see the module docstring)."""
    import torch

    return {"schema": SCAN_CACHE_SCHEMA, "model_sha256": model_sha256(module),
            "data_sha256": _data_sha256(x, example_inputs), "channel_multiple": int(channel_multiple),
            "importance": "magnitude", "amounts": list(SCAN_AMOUNTS), "samples": SCAN_SAMPLES,
            "layers": layers if isinstance(layers, str) else list(layers),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def _key_sha256(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _row_to_json(row: SensitivityRow) -> dict[str, Any]:
    return {"layer": row.layer, "channels": row.channels, "weight": row.weight, "options": list(row.options),
            "errors": list(row.errors)}


def _row_from_json(data: dict[str, Any]) -> SensitivityRow:
    return SensitivityRow(str(data["layer"]), int(data["channels"]), int(data["weight"]),
                          tuple(int(k) for k in data["options"]), tuple(float(e) for e in data["errors"]))


def _read(path: Path, key_sha256: str) -> tuple[list[SensitivityRow] | None, str]:
    """The rows when ``path`` holds a scan for ``key_sha256``; else None and why not."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None, "absent"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"unreadable ({type(error).__name__})"
    if not isinstance(data, dict) or data.get("key_sha256") != key_sha256:
        return None, "made for another model, data or scan"
    try:
        return [_row_from_json(row) for row in data["rows"]], "valid"
    except (KeyError, TypeError, ValueError):
        return None, "malformed rows"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def scan_with_cache(path: str | os.PathLike, key: dict[str, Any],
                    scan: Callable[[], list[SensitivityRow]]) -> tuple[list[SensitivityRow], dict[str, Any]]:
    """The scan's rows from ``path`` when it holds this ``key``'s scan, else from ``scan()`` (then
    written to ``path``); with facts for the report: path, key hash, "read" or "scanned" and why."""
    path = Path(path).expanduser().resolve()
    key_sha256 = _key_sha256(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(path, f"cannot create the folder of prune.sensitivity_cache: {error.strerror}") from None
    facts: dict[str, Any] = {"path": str(path), "key_sha256": key_sha256, "model_sha256": key["model_sha256"],
                             "data_sha256": key["data_sha256"]}
    with _locked(path):
        rows, state = _read(path, key_sha256)
        if rows is not None:
            return rows, {**facts, "source": "read", "scan_seconds": 0.0}
        started = time.perf_counter()
        rows = scan()
        seconds = round(time.perf_counter() - started, 3)
        document = {"schema": SCAN_CACHE_SCHEMA, "key_sha256": key_sha256, "key": key, "scan_seconds": seconds,
                    "rows": [_row_to_json(row) for row in rows]}
        write_atomically(path, json.dumps(document, indent=1) + "\n")
    return rows, {**facts, "source": "scanned", "previous": state, "scan_seconds": seconds}
