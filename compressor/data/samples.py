"""Samples read on demand, and seeded draws from sources too big or too opaque to hold.

``LazySamples`` looks enough like an N × per-sample-shape float32 array for the passes
(``len``, ``shape``, slicing, ``np.asarray``) while reading a sample only when it is
indexed: a folder of 10,000 images is evaluated slice by slice (``run_torch`` takes 64 at a
time, the runtimes one), never held whole.  ``head`` narrows it without reading anything.

``reservoir_sample`` draws a seeded uniform sample of ``count`` items from an iteration of
unknown length holding only ``count`` of them (Vitter's Algorithm R, "Random sampling with a
reservoir", ACM TOMS 11(1), 1985): calibration never takes the first N of a class-sorted
loader.  ``Source`` is what every kind of data resolves to (open.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["LazySamples", "Source", "reservoir_sample", "select_samples"]


class LazySamples:
    """``count`` samples, sample ``i`` read by ``read(i)`` (a float32 array of ``sample_shape``)."""

    dtype = np.dtype(np.float32)

    def __init__(self, read: Callable[[int], np.ndarray], count: int, sample_shape: tuple[int, ...],
                 *, indices: np.ndarray | None = None):
        self._read = read
        self._indices = np.arange(count) if indices is None else np.asarray(indices)
        self.sample_shape = tuple(sample_shape)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self._indices), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    def __len__(self) -> int:
        return len(self._indices)

    def head(self, count: int) -> LazySamples:
        """The first ``count`` samples, still unread."""
        return LazySamples(self._read, 0, self.sample_shape, indices=self._indices[:count])

    def subset(self, positions: Any) -> LazySamples:
        return LazySamples(self._read, 0, self.sample_shape, indices=self._indices[positions])

    def __getitem__(self, key: Any) -> np.ndarray:
        """Reads the samples ``key`` selects (an int, a slice or an index array)."""
        if isinstance(key, (int, np.integer)):
            return self._read(int(self._indices[key]))
        chosen = self._indices[key]
        out = np.empty((len(chosen), *self.sample_shape), dtype=np.float32)
        # Read in file order, placed in the order asked: a shuffled training batch still reads the
        # windows of one WAV clip in a row, so its clip is decoded once (audio.py keeps the last).
        for k in np.argsort(chosen, kind="stable"):
            out[k] = self._read(int(chosen[k]))
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """All samples in memory: only for what truly needs them together (fine-tuning reads
        batches instead: batches.TrainingBatches)."""
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        for start in range(0, len(self), batch_size):
            yield self[start:start + batch_size]


def select_samples(x: Any, positions: Any) -> Any:
    """The samples of ``x`` at ``positions``: a ``LazySamples`` stays unread, an array is indexed."""
    return x.subset(positions) if isinstance(x, LazySamples) else x[positions]


def reservoir_sample(items: Iterable[Any], count: int, seed: int) -> tuple[list[Any], int]:
    """A seeded uniform sample of ``count`` of ``items`` (in the order seen) and how many there were."""
    rng = np.random.default_rng(seed)
    kept: list[Any] = []
    slots: list[int] = []  # position in the iteration of each kept item, to restore its order
    seen = 0
    for seen, item in enumerate(items, start=1):
        if len(kept) < count:
            kept.append(item)
            slots.append(seen)
            continue
        j = int(rng.integers(0, seen))
        if j < count:
            kept[j], slots[j] = item, seen
    order = np.argsort(slots, kind="stable")
    return [kept[k] for k in order], seen


@dataclass
class Source:
    """Data resolved for a run: samples ``x`` (an array, a tuple of arrays for several inputs, or
    ``LazySamples``), labels ``y`` (or None), and ``record``: what was read and how, for the report.

    ``draw(count, seed)`` and ``take(count)`` exist for sources that are only iterable (a
    DataLoader, a generator); ``x`` is then None until ``materialize()``.
    """

    x: Any
    y: np.ndarray | None
    record: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    files: frozenset[str] = frozenset()  # resolved paths of the files read (overlap check)
    stream: Callable[[], Iterator[tuple[np.ndarray, np.ndarray | None]]] | None = None  # per sample
    # A DataLoader that only batches a map-style Dataset (stream.py): that Dataset, indexed, for
    # fine-tuning to stream by index instead of holding every sample.
    dataset: Callable[[], Source] | None = None

    @property
    def indexable(self) -> bool:
        return self.stream is None

    def draw(self, count: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """``count`` samples drawn at random (seeded) from an iterable source, holding only those."""
        assert self.stream is not None
        kept, seen = reservoir_sample(self.stream(), count, seed)
        self.record["samples"] = seen
        return _stack(kept)

    def take(self, count: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The first ``count`` samples in the source's order."""
        assert self.stream is not None
        kept = []
        for item in self.stream():
            kept.append(item)
            if len(kept) >= count:
                break
        return _stack(kept)

    def materialize(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Every sample in memory: what fine-tuning needs of a source that can only be iterated
        (an indexable one is streamed instead, batches.TrainingBatches)."""
        if self.stream is None:
            return (np.asarray(self.x) if isinstance(self.x, LazySamples) else self.x), self.y
        kept = list(self.stream())
        self.record["samples"] = len(kept)
        return _stack(kept)


def _stack(items: list[tuple[np.ndarray, Any]]) -> tuple[np.ndarray, np.ndarray | None]:
    x = np.stack([item[0] for item in items]).astype(np.float32, copy=False)
    labels = [item[1] for item in items]
    y = None if any(label is None for label in labels) else np.asarray(labels, dtype=np.int64)
    return x, y
