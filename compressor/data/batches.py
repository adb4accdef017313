"""Training batches read when they are due: fine-tuning streams its data as evaluation does.

``TrainingBatches(x, y, batch_size=, seed=)`` takes the samples a run resolved (an array, or
``samples.LazySamples`` over a folder, a ``.npy`` or a torch ``Dataset``) and yields, epoch by
epoch, batches of ``batch_size`` in a seeded random order.  Only the ORDER is shuffled (a
permutation of the sample indices, ``numpy.random.default_rng((seed, epoch))``): each batch is
read by index when it is due, so a folder of 10,000 images never sits in memory whole, and
the same seed gives the same batches, hence the same weights, byte for byte.  Labels (one
int64 per sample) are small and stay in memory.  ``in_order(batch_size)`` reads the samples
in their own order, a batch at a time (QAT's calibration pass).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TrainingBatch", "TrainingBatches"]


@dataclass(frozen=True)
class TrainingBatch:
    indices: np.ndarray  # positions of the batch's samples in the data (for per-sample caches)
    x: np.ndarray  # float32, batch × per-sample shape
    y: np.ndarray | None  # int64 labels, or None


class TrainingBatches:
    """Re-iterable, seeded-shuffled batches over ``x`` (anything ``len``-able that reads by index
    array: an ndarray or ``LazySamples``) and labels ``y`` (or None)."""

    def __init__(self, x: Any, y: np.ndarray | None, *, batch_size: int, seed: int):
        self.x = x
        self.y = None if y is None else np.asarray(y).reshape(-1)
        self.count = len(x)
        self.batch_size = min(int(batch_size), max(self.count, 1))
        self.seed = int(seed)

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.count // self.batch_size) if self.count else 0

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch``: a permutation of 0..count-1, fixed by (seed, epoch)."""
        return np.random.default_rng((self.seed, epoch)).permutation(self.count)

    def epoch(self, epoch: int) -> Iterator[TrainingBatch]:
        """The batches of ``epoch``, each read when the iteration reaches it."""
        order = self.order(epoch)
        for start in range(0, self.count, self.batch_size):
            yield self._read(order[start:start + self.batch_size])

    def in_order(self, batch_size: int) -> Iterator[TrainingBatch]:
        for start in range(0, self.count, batch_size):
            yield self._read(np.arange(start, min(start + batch_size, self.count)))

    def _read(self, indices: np.ndarray) -> TrainingBatch:
        x = np.ascontiguousarray(self.x[indices], dtype=np.float32)
        return TrainingBatch(indices, x, None if self.y is None else self.y[indices])
