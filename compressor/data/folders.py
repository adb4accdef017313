"""What image and WAV folders share: preprocessing options, listing files, labels from folders.

A folder is either flat (samples, no labels) or holds one subfolder per class (labels from
the sorted folder names; names that are all integers are taken as the class index itself, so
a folder holding only classes ``3`` and ``7`` still labels them 3 and 7).  The file list is
hashed (relative path and size of each file) into the report, so a rerun can tell it read
the same files.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError

__all__ = ["FolderListing", "Preprocess", "list_folder", "parse_floats", "parse_size"]


@dataclass(frozen=True)
class Preprocess:
    """How folder samples become model inputs (the model's own normalisation).

    ``resize``: (H, W) every image is resized to (bilinear); without it all images must share
    one size.  ``mean`` / ``std``: per channel (or one value for all), applied after pixels
    are scaled to [0, 1].  ``sample_rate``: Hz WAV clips are resampled to.
    """

    resize: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    sample_rate: int | None = None

    def __post_init__(self) -> None:
        if self.resize is not None:
            resize = tuple(self.resize)
            if len(resize) != 2 or not all(isinstance(v, int) and 0 < v <= 8192 for v in resize):
                raise ConfigError("resize", self.resize, "H,W: two positive integers, e.g. 96,96")
            object.__setattr__(self, "resize", resize)
        for name in ("mean", "std"):
            value = getattr(self, name)
            if value is None:
                continue
            value = tuple(float(v) for v in (value if isinstance(value, (list, tuple)) else (value,)))
            if not 1 <= len(value) <= 4 or (name == "std" and not all(v > 0 for v in value)):
                raise ConfigError(name, getattr(self, name), "one number per channel (or one for all)"
                                  + (", each positive" if name == "std" else ""))
            object.__setattr__(self, name, value)
        if self.sample_rate is not None and not (isinstance(self.sample_rate, int) and 100 <= self.sample_rate <= 1_000_000):
            raise ConfigError("sample_rate", self.sample_rate, "a rate in Hz from 100 to 1000000, e.g. 16000")

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Preprocess:
        data = dict(data or {})
        if data.get("resize") is not None:
            data["resize"] = tuple(data["resize"])
        return cls(**{k: data.get(k) for k in ("resize", "mean", "std", "sample_rate")})


def parse_size(text: str) -> tuple[int, int]:
    """``"96,96"`` -> (96, 96)."""
    parts = [part.strip() for part in str(text).replace("x", ",").split(",")]
    if len(parts) != 2 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ConfigError("resize", text, "H,W: two positive integers, e.g. 96,96")
    return int(parts[0]), int(parts[1])


def parse_floats(text: str, name: str) -> tuple[float, ...]:
    """``"0.485,0.456,0.406"`` -> a tuple of floats."""
    try:
        return tuple(float(part) for part in str(text).split(","))
    except ValueError:
        raise ConfigError(name, text, "comma-separated numbers, one per channel, e.g. 0.5,0.5,0.5") from None


@dataclass(frozen=True)
class FolderListing:
    root: Path
    files: tuple[Path, ...]  # sorted
    labels: tuple[int, ...] | None  # one per file; None for a flat folder
    classes: tuple[str, ...]  # class folder names, sorted

    def record(self, kind: str) -> dict[str, Any]:
        digest = hashlib.sha256()
        for path in self.files:
            digest.update(f"{path.relative_to(self.root).as_posix()}\0{path.stat().st_size}\n".encode())
        return {"kind": kind, "path": str(self.root), "files": len(self.files),
                "classes": list(self.classes), "files_sha256": digest.hexdigest()}


def list_folder(root: Path, suffixes: tuple[str, ...], what: str) -> FolderListing:
    """The files of ``root`` (flat) or of its class subfolders; a file of another kind is an error."""
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    folders = [p for p in entries if p.is_dir()]
    if folders:
        strays = [p for p in entries if not p.is_dir()]
        if strays:
            raise DataError(strays[0], f"is a file beside the class folders of {root}: put every {what} "
                                       "in its class folder")
        classes = tuple(p.name for p in folders)
        numbered = all(name.isdigit() for name in classes)
        files: list[Path] = []
        labels: list[int] = []
        for index, folder in enumerate(folders):
            inside = _files_of(folder, suffixes, what)
            if not inside:
                raise DataError(folder, f"is an empty class folder: no {what} in it (remove it, or add samples)")
            files += inside
            labels += [int(folder.name) if numbered else index] * len(inside)
        return FolderListing(root, tuple(files), tuple(labels), classes)
    files = _files_of(root, suffixes, what)
    if not files:
        raise DataError(root, f"has no {what} (and no class folders)")
    return FolderListing(root, tuple(files), None, ())


def _files_of(folder: Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue  # .DS_Store and the like
        if path.is_dir():
            raise DataError(path, f"is a folder inside a class folder; one level of class folders holds the {what}")
        if path.suffix.lower() not in suffixes:
            raise DataError(path, f"is not a {what} (expected {', '.join(suffixes)} files only)")
        found.append(path)
    return found
