"""The zoo's data set: scikit-learn's handwritten digits, upsampled to 32×32.

`sklearn.datasets.load_digits` ships with scikit-learn (no download): 1,797 real handwritten
digits from the UCI "Optical Recognition of Handwritten Digits" set, 8×8 pixels with values
0..16.  We scale them to [0, 1] and replicate each pixel into a 4×4 block (nearest-neighbour
upsampling), so the models see a common 32×32 edge-vision input size while the arrays stay
highly compressible on disk.  The test split is stratified, 20%, seed 0: 1,437 train and
360 test images.

scikit-learn is a test/training dependency only, so it is imported lazily here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DigitsSplit",
    "IMAGE_SIDE_PX",
    "NUM_CLASSES",
    "load_digits_32",
    "load_digits_npz",
    "save_digits_npz",
    "split_digits",
]

NUM_CLASSES = 10
SOURCE_SIDE_PX = 8
UPSAMPLE_FACTOR = 4  # 8 px -> 32 px by pixel replication
IMAGE_SIDE_PX = SOURCE_SIDE_PX * UPSAMPLE_FACTOR
MAX_PIXEL_VALUE = 16.0  # load_digits counts set bits in 4×4 blocks of a 32×32 bitmap: 0..16
TEST_FRACTION = 0.2
SPLIT_SEED = 0


@dataclass(frozen=True)
class DigitsSplit:
    """Images N×1×32×32 float32 in [0, 1] and labels N int64, for one split."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if self.x.ndim != 4 or self.x.shape[1:] != (1, IMAGE_SIDE_PX, IMAGE_SIDE_PX):
            raise ValueError(f"x: got shape {self.x.shape}, expected N×1×{IMAGE_SIDE_PX}×{IMAGE_SIDE_PX}")
        if self.y.shape != (self.x.shape[0],):
            raise ValueError(f"y: got shape {self.y.shape}, expected ({self.x.shape[0]},)")
        if self.x.dtype != np.float32 or self.y.dtype != np.int64:
            raise ValueError(f"dtypes: got x {self.x.dtype}, y {self.y.dtype}, expected float32, int64")


def load_digits_32() -> DigitsSplit:
    """All 1,797 digits as N×1×32×32 float32 in [0, 1] with int64 labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = (digits.images / MAX_PIXEL_VALUE).astype(np.float32)[:, None]  # N×1×8×8
    x = small.repeat(UPSAMPLE_FACTOR, axis=2).repeat(UPSAMPLE_FACTOR, axis=3)
    return DigitsSplit(x=np.ascontiguousarray(x), y=digits.target.astype(np.int64))


def split_digits() -> dict[str, DigitsSplit]:
    """The fixed stratified split: {"train": 80%, "test": 20%}, seed 0."""
    from sklearn.model_selection import train_test_split

    full = load_digits_32()
    x_train, x_test, y_train, y_test = train_test_split(
        full.x, full.y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=full.y)
    return {"train": DigitsSplit(x=x_train, y=y_train), "test": DigitsSplit(x=x_test, y=y_test)}


def save_digits_npz(split: DigitsSplit, path: Path) -> None:
    """Write `x` and `y` compressed to `path`, atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    # A file object, not a name: np.savez_compressed would append ".npz" to the temp name.
    with open(temp, "wb") as handle:
        np.savez_compressed(handle, x=split.x, y=split.y)
    temp.replace(path)


def load_digits_npz(path: Path) -> DigitsSplit:
    """Read a split written by `save_digits_npz` (validated on construction)."""
    with np.load(path) as arrays:
        return DigitsSplit(x=arrays["x"], y=arrays["y"])
