"""Run a torch model on numpy batches and flatten whatever it returns into arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["flatten_outputs", "relative_output_change", "run_torch"]


def flatten_outputs(outputs: Any) -> list:
    """Tensors of a model's output in order: a tensor, or nested tuples/lists/dicts of them."""
    import torch

    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return [t for item in outputs for t in flatten_outputs(item)]
    return []


def run_torch(module: Any, inputs: list[np.ndarray], *, batch_size: int = 64,
              on_samples: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    """Outputs of ``module`` on N samples (each input array N × per-sample shape);
    ``on_samples(done, N)`` after each batch."""
    import torch

    count = len(inputs[0])
    chunks: list[list[np.ndarray]] = []
    with torch.no_grad():
        start = 0
        while start < count:
            batch = [torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size])) for x in inputs]
            try:
                outputs = flatten_outputs(module(*batch))
            except Exception:
                # Graphs from torch.export or TorchScript traces often fix the batch at 1.
                if batch_size == 1:
                    raise
                batch_size = 1
                continue
            chunks.append([t.float().numpy() for t in outputs])
            start += len(batch[0])
            if on_samples is not None:
                on_samples(start, count)
    return [np.concatenate([chunk[k] for chunk in chunks]) for k in range(len(chunks[0]))]


def relative_output_change(before: Any, after: Any, example_inputs: tuple) -> float:
    """Largest change of any output between two modules on the example input, relative to
    that output's largest magnitude: what a rewrite that should be exact may leave (float rounding)."""
    import torch

    with torch.no_grad():
        expected = flatten_outputs(before(*example_inputs))
        got = flatten_outputs(after(*example_inputs))
    return max(float((a - b).abs().max() / (a.abs().max() + 1e-12)) for a, b in zip(expected, got))
