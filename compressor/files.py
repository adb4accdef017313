"""Files as the project writes and ships them.

``write_atomically``: the data goes to a temporary file beside the target (same filesystem,
so the rename is atomic) and is renamed over it; on any failure the temporary file is
removed and the old file, if any, stays as it was.  ``gzip_size`` / ``ota_sizes``: what a
file costs compressed for an over-the-air update (mtime 0, so the number repeats run to run).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["gzip_size", "ota_sizes", "sibling_temp", "write_atomically"]


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
