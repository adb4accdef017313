"""ResNet-style CNN of BasicBlocks for 1×32×32 digits.

Reference: K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image
Recognition", arXiv:1512.03385, 2015 (CVPR 2016).  Kept from the paper: the BasicBlock
(two 3×3 conv+BN with a ReLU between, identity added before the last ReLU), a 1×1 conv+BN
projection shortcut when a block changes resolution or width (option B of the paper), and
four stages that halve resolution and double channels.

Sized for 32×32: a 3×3 stride-1 stem (no 7×7 conv or max-pool, which would leave 8×8 after
the stem), one block per stage with 16-32-64-128 channels (ResNet-18 uses two per stage
with 64-512), ~309k parameters, ~16M MACs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BasicBlock", "RESNET_DIGITS_STAGES", "ResNet"]

# (output channels, stride of the first block, blocks) per stage.
RESNET_DIGITS_STAGES: tuple[tuple[int, int, int], ...] = ((16, 1, 1), (32, 2, 1), (64, 2, 1), (128, 2, 1))


class BasicBlock(nn.Module):
    """conv3×3-BN-ReLU-conv3×3-BN, plus the input (projected when shapes change), then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    """N×C×H×W images -> N×num_classes logits: stem, residual stages, average pool, Linear."""

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10,
                 stages: tuple[tuple[int, int, int], ...] = RESNET_DIGITS_STAGES):
        super().__init__()
        stem_channels = stages[0][0]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        channels = stem_channels
        for out_channels, stride, count in stages:
            for index in range(count):
                blocks.append(BasicBlock(channels, out_channels, stride=stride if index == 0 else 1))
                channels = out_channels
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.layers(self.stem(x)))
        return self.fc(torch.flatten(x, 1))
