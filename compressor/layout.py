"""The artifact's I/O layout: the model's own (``nchw``) or channels-last (``nhwc``).

PyTorch models take channels first (N×C×H×W images, N×C×L sequences); camera pipelines and
most edge runtimes hand over channels last.  With ``--layout nhwc`` the exported model takes
and gives channels-last tensors: a wrapper permutes each 4-D (and 3-D) input to channels
first before the model and each such output back after it, and the converters cancel those
permutes against the ones they insert themselves (litert-torch computes NHWC internally), so
the artifact carries no transposes at its edges.  Inputs of other ranks (N×L audio frames,
N×F features) have no channel axis to move and are left as they are.

``to_artifact`` / ``from_artifact`` move numpy batches between the two layouts so that
calibration and verification feed the artifact what it takes and compare like with like.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LAYOUTS", "channels_last_module", "exported_form", "from_artifact", "to_artifact"]

LAYOUTS = ("nchw", "nhwc")

# channels first -> channels last, by rank (batch included)
_TO_LAST = {3: (0, 2, 1), 4: (0, 2, 3, 1)}
_TO_FIRST = {3: (0, 2, 1), 4: (0, 3, 1, 2)}


def to_artifact(x: np.ndarray, layout: str) -> np.ndarray:
    """A batch in the model's layout -> the artifact's."""
    if layout == "nchw" or x.ndim not in _TO_LAST:
        return x
    return np.ascontiguousarray(np.transpose(x, _TO_LAST[x.ndim]))


def from_artifact(x: np.ndarray, layout: str) -> np.ndarray:
    """A batch in the artifact's layout -> the model's."""
    if layout == "nchw" or x.ndim not in _TO_FIRST:
        return x
    return np.ascontiguousarray(np.transpose(x, _TO_FIRST[x.ndim]))


def exported_form(module: Any, example_inputs: tuple, layout: str) -> tuple[Any, tuple]:
    """The module and example inputs the exporter sees for ``layout``."""
    if layout == "nchw":
        return module, example_inputs
    import torch

    moved = tuple(torch.from_numpy(to_artifact(x.numpy(), layout)) for x in example_inputs)
    return channels_last_module(module), moved


def channels_last_module(module: Any) -> Any:
    """``module`` behind channels-last inputs and outputs (3-D and 4-D tensors)."""
    import torch

    from .model.outputs import flatten_outputs

    class ChannelsLastIO(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            moved = [x.permute(*_TO_FIRST[x.dim()]) if x.dim() in _TO_FIRST else x for x in inputs]
            outputs = flatten_outputs(self.inner(*moved))
            back = tuple(y.permute(*_TO_LAST[y.dim()]) if y.dim() in _TO_LAST else y for y in outputs)
            return back[0] if len(back) == 1 else back

    return ChannelsLastIO(module).eval()
