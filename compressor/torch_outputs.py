"""Run a torch model on numpy batches and flatten whatever it returns into arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["flatten_outputs", "run_torch"]


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


def run_torch(module: Any, inputs: list[np.ndarray], *, batch_size: int = 64) -> list[np.ndarray]:
    """Outputs of ``module`` on N samples (each input array N × per-sample shape)."""
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
    return [np.concatenate([chunk[k] for chunk in chunks]) for k in range(len(chunks[0]))]
