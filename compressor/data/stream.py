"""Data from Python: a torch ``Dataset``, a ``DataLoader``, or any iterable of batches.

A map-style ``Dataset`` (``len`` and ``ds[i]``) is indexed: items are read when a sample is
asked for.  Anything else is iterated: each batch is ``x`` or ``(x, y)`` / ``[x, y]`` as a
DataLoader yields them (tensors or arrays, batch dimension first), split into samples;
calibration then draws a seeded reservoir sample over one pass (samples.Source.draw).

A DataLoader that only batches a map-style Dataset (default collate, every item once) also
offers that Dataset (``Source.dataset``): fine-tuning reads it by index, a batch at a time, in
its own seeded order, instead of holding every sample of the loader.

Two things make a run unrepeatable and are named in the report: a loader that shuffles
(its sampler is a ``RandomSampler``) and random transforms (the same item read twice differs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..errors import DataError
from .samples import LazySamples, Source

__all__ = ["open_python_source"]


def _numpy(value: Any, what: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch.Tensor, without importing torch for arrays
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise DataError(what, f"holds {array.dtype} values; numbers (tensors or arrays) expected")
    return array


def _split(item: Any, what: str) -> tuple[Any, Any]:
    if isinstance(item, (tuple, list)):
        if len(item) != 2:
            raise DataError(what, f"yields {len(item)}-element items; expected x or (x, y)")
        return item[0], item[1]
    if isinstance(item, dict):
        raise DataError(what, "yields dicts; expected x or (x, y) (map them with a transform or a generator)")
    return item, None


def _is_map_dataset(data: Any) -> bool:
    return hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, (str, bytes, dict))


def _reproducibility_notes(data: Any, name: str) -> list[str]:
    notes = []
    sampler = getattr(data, "sampler", None)
    if sampler is not None and type(sampler).__name__ == "RandomSampler":
        notes.append(f"{name} shuffles (its sampler is a RandomSampler): calibration and the reported numbers are "
                     "not reproducible; pass a loader with shuffle=False")
    dataset = getattr(data, "dataset", None) if sampler is not None else data
    if _is_map_dataset(dataset) and len(dataset) > 0:
        first, again = (_numpy(_split(dataset[0], name)[0], name) for _ in range(2))
        if first.shape != again.shape or not np.array_equal(first, again):
            notes.append(f"{name} applies random transforms (item 0 read twice differs): calibration and the "
                         "reported numbers are not reproducible; use the evaluation transforms")
    return notes


def open_python_source(data: Any, *, name: str) -> Source:
    """``data``: a map-style Dataset (indexed), or an iterable of batches (a DataLoader, a generator)."""
    record: dict[str, Any] = {"kind": type(data).__name__, "module": type(data).__module__}
    notes = _reproducibility_notes(data, name)
    record["reproducible"] = not notes
    is_loader = hasattr(data, "sampler") and hasattr(data, "dataset")
    if _is_map_dataset(data) and not is_loader:
        count = len(data)
        if count == 0:
            raise DataError(name, "is empty (len 0)")
        x0, y0 = _split(data[0], name)
        shape = _numpy(x0, name).shape
        labels: dict[int, int] = {}

        def read(index: int) -> np.ndarray:
            x, y = _split(data[index], name)
            if y is not None:
                labels[index] = int(_numpy(y, name))
            array = _numpy(x, name).astype(np.float32)
            if array.shape != shape:
                raise DataError(name, f"item {index} has shape {array.shape}, item 0 {shape}")
            return array

        record["samples"] = count
        source = Source(LazySamples(read, count, shape), None, record, notes)
        if y0 is not None:  # labels cost a read of every item: only the first 100,000 are kept here
            source.y = np.asarray([int(_numpy(_split(data[i], name)[1], name)) for i in range(count)], dtype=np.int64)
        return source
    if not isinstance(data, Iterable):
        raise DataError(name, f"is a {type(data).__name__}: expected a path, an array, an (x, y) pair, a torch "
                              "Dataset, a DataLoader or an iterable of batches")

    def samples() -> Iterator[tuple[np.ndarray, int | None]]:
        for batch in data:
            x, y = _split(batch, name)
            x = _numpy(x, name).astype(np.float32, copy=False)
            y = _numpy(y, name).reshape(-1) if y is not None else None
            if y is not None and len(y) != len(x):
                raise DataError(name, f"yields a batch of {len(x)} inputs with {len(y)} labels")
            for k in range(len(x)):
                yield x[k].copy(), (int(y[k]) if y is not None else None)

    def dataset() -> Source:
        return open_python_source(data.dataset, name=f"{name}'s dataset")

    return Source(None, None, record, notes, stream=samples,
                  dataset=dataset if is_loader and _only_batches(data) else None)


def _only_batches(loader: Any) -> bool:
    """True when ``loader`` yields every item of a map-style Dataset once, stacked by the default
    collate (in order, or shuffled without replacement): reading ``loader.dataset`` by index
    then gives the same samples, so fine-tuning can stream them (a subset sampler, a custom
    collate or an IterableDataset do not qualify)."""
    from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler, default_collate

    sampler, dataset = loader.sampler, loader.dataset
    if not _is_map_dataset(dataset) or loader.collate_fn is not default_collate or loader.batch_size is None:
        return False
    if type(loader.batch_sampler) is not BatchSampler or loader.drop_last:
        return False
    if type(sampler) is SequentialSampler:
        return True
    return type(sampler) is RandomSampler and not sampler.replacement and sampler.num_samples == len(dataset)
