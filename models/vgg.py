"""VGG-style plain CNN for 1×32×32 digits.

Reference: K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale
Image Recognition", arXiv:1409.1556, 2014.  The idea kept here: only stacks of small dense
3×3 convolutions and 2×2 max-pools, channels doubling after each pool.  Two changes suit
a 32×32 input and the edge toolchain: BatchNorm right after each bias-free conv (it folds
into the conv weights before export), and global average pooling with one Linear instead of
VGG's three large fully-connected layers (Lin et al., "Network In Network", 2013).

The layer list follows VGG's configuration "A" (one conv in the first two stages, two in
the later ones), scaled down: 32-64-128-128 channels, ~242k parameters, ~19M MACs.
The convolutions are deliberately dense and wide: a later pass replaces them with
depthwise-separable ones and needs real dense 3×3 convs to work on.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["VGG_DIGITS_LAYERS", "VGGNet"]

# Output channels of each 3×3 conv, "M" = 2×2 max-pool; configuration "A" of the paper,
# with its 64-128-256-512 stages scaled to 32-64-128 for 32×32 inputs.
VGG_DIGITS_LAYERS: tuple[int | str, ...] = (32, "M", 64, "M", 128, 128, "M")


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    # bias=False: the BatchNorm right after supplies the shift, and folds into the conv.
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


class VGGNet(nn.Module):
    """N×C×H×W images -> N×num_classes logits through plain conv stacks and max-pools."""

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10,
                 layers: tuple[int | str, ...] = VGG_DIGITS_LAYERS):
        super().__init__()
        stages: list[nn.Module] = []
        channels = in_channels
        for layer in layers:
            if layer == "M":
                stages.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                stages.append(_conv_bn_relu(channels, int(layer)))
                channels = int(layer)
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))
