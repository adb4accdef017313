"""Nets whose int8 is hard on purpose: conv1's output channel 0 is scaled by 1e3 (before its ReLU)
and conv2 takes that channel back with weights scaled by 1e-3, so the float function is ordinary
while one channel dominates conv1's activation range (the other seven keep a few int8 steps) and
sets conv2's per-output-channel weight scale (the 1e-3 weights round to zero).  Shared by the
remedies, shipped-is-reported and fallback tests."""

from __future__ import annotations

import torch
from torch import nn


class OutlierNet(nn.Module):
    """Plain int8 about 17.5 dB; cross-layer equalization of conv1 -> conv2 (exact in float) fixes it."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 4)
        with torch.no_grad():
            self.conv1.weight[0] *= 1e3
            self.conv1.bias[0] *= 1e3
            self.conv2.weight[:, 0] *= 1e-3

    def forward(self, x):
        y = torch.relu(self.conv1(x))
        y = torch.relu(self.conv2(y))
        return self.head(y.mean(dim=(2, 3)))


class StubbornOutlierNet(nn.Module):
    """As OutlierNet, with a LeakyReLU between the convs: TFLite keeps LEAKY_RELU as its own op, so
    conv1's output is not read by a conv and no pair can be equalized.  Self-contained (no base
    class): a test writes its source out as a user's module."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.act = nn.LeakyReLU(0.01)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 4)
        with torch.no_grad():
            self.conv1.weight[0] *= 1e3
            self.conv1.bias[0] *= 1e3
            self.conv2.weight[:, 0] *= 1e-3

    def forward(self, x):
        y = torch.relu(self.conv2(self.act(self.conv1(x))))
        return self.head(y.mean(dim=(2, 3)))
