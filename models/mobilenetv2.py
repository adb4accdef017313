"""MobileNetV2-style CNN of inverted residual blocks for 1×32×32 digits.

Reference: M. Sandler, A. Howard, M. Zhu, A. Zhmoginov and L.-C. Chen, "MobileNetV2:
Inverted Residuals and Linear Bottlenecks", arXiv:1801.04381, 2018 (CVPR 2018).  Kept from
the paper: a 3×3 conv stem, then inverted residual blocks (1×1 expand -> BN -> ReLU6 ->
3×3 depthwise -> BN -> ReLU6 -> 1×1 linear projection -> BN, with the input added when the
block keeps stride 1 and width), a 1×1 conv to a wide last layer, average pool, Linear.

Sized for 32×32: the stride-2 stem and two stride-2 stages take 32×32 down to 4×4 (the
paper's five stride-2 steps take 224 to 7); the widths are the paper's first stages
(16-24-32-64-96) with a last layer of 320 channels instead of 1280; ~231k parameters,
~4.9M MACs.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["InvertedResidual", "MOBILENETV2_DIGITS_BLOCKS", "MobileNetV2"]

# (expansion t, output channels c, repeats n, stride of the first repeat s): Table 2 of the
# paper, truncated after its 96-channel stage, with strides for 32×32 inputs (16 -> 8 -> 4).
MOBILENETV2_DIGITS_BLOCKS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 2, 1),
    (6, 96, 1, 1),
)
STEM_CHANNELS = 32
# As in the paper.  The zoo's digits are 8×8 images upsampled ×4, so halving 32×32 loses no
# detail; a stride-1 stem measured 11.6M MACs and 6.4 s per training epoch on 2 cores, this 1.0 s.
STEM_STRIDE = 2
LAST_CHANNELS = 320


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1, groups: int = 1,
             relu6: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                  groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu6:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """1×1 expand, 3×3 depthwise, 1×1 linear projection; residual add when shapes match."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, expansion: int):
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:  # the paper's first block (t=1) has no expansion conv
            layers.append(_conv_bn(in_channels, hidden, 1))
        layers.append(_conv_bn(hidden, hidden, 3, stride=stride, groups=hidden))
        # Linear bottleneck: no activation after the projection (section 3.2 of the paper).
        layers.append(_conv_bn(hidden, out_channels, 1, relu6=False))
        self.block = nn.Sequential(*layers)
        # Fixed at construction, so torch.export sees no data-dependent branch.
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.block(x)
        return self.block(x)


class MobileNetV2(nn.Module):
    """N×C×H×W images -> N×num_classes logits through inverted residual blocks."""

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10,
                 blocks: tuple[tuple[int, int, int, int], ...] = MOBILENETV2_DIGITS_BLOCKS):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(in_channels, STEM_CHANNELS, 3, stride=STEM_STRIDE)]
        channels = STEM_CHANNELS
        for expansion, out_channels, repeats, stride in blocks:
            for index in range(repeats):
                layers.append(InvertedResidual(channels, out_channels, stride=stride if index == 0 else 1,
                                               expansion=expansion))
                channels = out_channels
        layers.append(_conv_bn(channels, LAST_CHANNELS, 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(LAST_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))
