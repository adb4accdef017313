"""A folder of PNG/JPEG images (flat, or in class subfolders) as model inputs, read lazily.

Each image becomes C × H × W float32: 8-bit pixels divided by 255 (so the same pixels
saved as an ``.npz`` of ``uint8 / 255`` give bit-identical inputs), optionally resized
(bilinear, Pillow) and normalised by the model's ``mean`` / ``std``.  Channels follow the
model: 1 -> grayscale ("L"), 3 -> RGB; without a model shape, grayscale images stay one
channel and anything else becomes RGB.  The headers of all images are read first (cheap: no
pixel data), so a corrupt file or mixed sizes fail before any work; pixels are read only
when a sample is indexed (samples.LazySamples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .folders import FolderListing, Preprocess, list_folder
from .samples import LazySamples, Source

__all__ = ["IMAGE_SUFFIXES", "open_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_MODES = {1: "L", 3: "RGB"}


def open_image_folder(root: Path, *, sample_shape: tuple[int, ...] | None, preprocess: Preprocess) -> Source:
    """``sample_shape``: the model's per-sample input shape (C, H, W), when known."""
    listing = list_folder(root, IMAGE_SUFFIXES, "image (PNG/JPEG)")
    sizes, modes = _scan_headers(listing)
    channels = _channels(sample_shape, modes, root)
    height, width = _size(sample_shape, sizes, listing, preprocess)
    mode = _MODES[channels]
    shape = (channels, height, width)
    _check_normalisation(preprocess, channels)

    def read(index: int) -> np.ndarray:
        return _read_image(listing.files[index], mode, (height, width), preprocess)

    record = listing.record("image_folder")
    record["preprocess"] = {"scale": "1/255", "color": mode, "resize": [height, width] if preprocess.resize else None,
                            "mean": list(preprocess.mean) if preprocess.mean else None,
                            "std": list(preprocess.std) if preprocess.std else None}
    record["samples"] = len(listing.files)
    y = np.asarray(listing.labels, dtype=np.int64) if listing.labels is not None else None
    return Source(LazySamples(read, len(listing.files), shape), y, record,
                  files=frozenset(str(p.resolve()) for p in listing.files))


def _scan_headers(listing: FolderListing) -> tuple[list[tuple[int, int]], set[str]]:
    from PIL import Image, UnidentifiedImageError

    sizes, modes = [], set()
    for path in listing.files:
        try:
            with Image.open(path) as image:
                sizes.append((image.height, image.width))
                modes.add(image.mode)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise DataError(path, f"is not an image Pillow can read ({_first_line(error)})") from None
    return sizes, modes


def _channels(sample_shape: tuple[int, ...] | None, modes: set[str], root: Path) -> int:
    if sample_shape is not None:
        if len(sample_shape) != 3 or sample_shape[0] not in _MODES:
            raise DataError(root, f"is a folder of images, but the model takes per-sample shape {tuple(sample_shape)}, "
                                  "not C × H × W with 1 or 3 channels")
        return sample_shape[0]
    return 1 if modes <= {"L", "1", "I;16", "I"} else 3


def _size(sample_shape, sizes, listing: FolderListing, preprocess: Preprocess) -> tuple[int, int]:
    if preprocess.resize is not None:
        if sample_shape is not None and tuple(sample_shape[1:]) != preprocess.resize:
            raise DataError(listing.root, f"--resize {preprocess.resize[0]},{preprocess.resize[1]} but the model "
                                          f"takes {sample_shape[1]}×{sample_shape[2]} images")
        return preprocess.resize
    first = sizes[0]
    for path, size in zip(listing.files, sizes):
        if size != first:
            raise DataError(path, f"is {size[0]}×{size[1]} (H×W) but {listing.files[0].name} is {first[0]}×{first[1]}: "
                                  "images of mixed sizes need --resize H,W")
    if sample_shape is not None and tuple(sample_shape[1:]) != first:
        raise DataError(listing.root, f"holds {first[0]}×{first[1]} images but the model takes "
                                      f"{sample_shape[1]}×{sample_shape[2]}: pass --resize {sample_shape[1]},{sample_shape[2]}")
    return first


def _check_normalisation(preprocess: Preprocess, channels: int) -> None:
    from ..errors import ConfigError

    for name, values in (("mean", preprocess.mean), ("std", preprocess.std)):
        if values is not None and len(values) not in (1, channels):
            raise ConfigError(name, ",".join(map(str, values)), f"1 or {channels} numbers (the model takes {channels} channels)")


def _read_image(path: Path, mode: str, size: tuple[int, int], preprocess: Preprocess) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert(mode)
            if (image.height, image.width) != size:
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.float32)
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt pixel data
        raise DataError(path, f"is a corrupt image ({_first_line(error)})") from None
    x = (pixels / np.float32(255.0)).reshape(size[0], size[1], -1).transpose(2, 0, 1)
    if preprocess.mean is not None:
        x = x - np.asarray(preprocess.mean, dtype=np.float32).reshape(-1, 1, 1)
    if preprocess.std is not None:
        x = x / np.asarray(preprocess.std, dtype=np.float32).reshape(-1, 1, 1)
    return np.ascontiguousarray(x, dtype=np.float32)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]
