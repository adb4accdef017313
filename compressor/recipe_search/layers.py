"""What a model offers the search space: its prunable form and the layers a recipe can name.

``describe_layers(module)`` reads a loaded torch model once, in the driver, and returns a
frozen ``ModelLayers``: whether channel pruning can cut it (it needs ``nn.Conv``/``nn.Linear``
modules: a ``.pt2`` or TorchScript graph keeps its convolutions as graph ops, see
passes/prune_model.py), the dense k x k ``Conv2d`` layers ``--dsconv`` may substitute
(groups 1, kernel > 1: the rule of dsconv/select.py), and the weighted layers in forward order,
whose first and last convolutions are the default candidates for keeping float (``int8.float_ops``: the
int8 pass finds layers by the names the converter gives conv ops; a Linear head's op is named
after the model's output instead, so naming it fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ModelLayers", "describe_layers"]


@dataclass(frozen=True)
class ModelLayers:
    channel_prunable: bool  # nn.Conv / nn.Linear modules that torch-pruning can cut
    dense_convs: tuple[str, ...]  # Conv2d, groups 1, k > 1: what --dsconv can replace
    weighted: tuple[str, ...]  # conv and linear module paths, in definition order
    convs: tuple[str, ...] = ()  # the conv layers among them

    def to_dict(self) -> dict[str, Any]:
        return {"channel_prunable": self.channel_prunable, "dense_convs": list(self.dense_convs),
                "weighted": list(self.weighted), "convs": list(self.convs)}


def describe_layers(module: Any) -> ModelLayers:
    """The layer facts of ``module`` (a loaded model's ``module``); reads, never changes it."""
    import torch

    from ..dsconv.substitute import is_graph_module

    weighted, dense, convs = [], [], []
    for name, layer in module.named_modules():
        if isinstance(layer, (torch.nn.modules.conv._ConvNd, torch.nn.Linear)):
            weighted.append(name)
        if isinstance(layer, torch.nn.modules.conv._ConvNd):
            convs.append(name)
        if (isinstance(layer, torch.nn.Conv2d) and layer.groups == 1
                and max(layer.kernel_size) > 1):
            dense.append(name)
    prunable = bool(weighted) and not is_graph_module(module) and not isinstance(module, torch.jit.ScriptModule)
    return ModelLayers(prunable, tuple(dense), tuple(weighted), tuple(convs))
