"""Small networks with the patterns structured pruning must keep consistent (tests only).

Residual add, concatenation, split (torch.chunk), grouped + depthwise convs, a squeeze-and-
excitation block, and a custom layer torch-pruning has no pruner for.
"""

import torch
from torch import nn


def cbr(i, o, k=3, g=1):
    return nn.Sequential(nn.Conv2d(i, o, k, padding=k // 2, groups=g, bias=False), nn.BatchNorm2d(o), nn.ReLU())


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.a = cbr(1, 32), cbr(32, 32)
        self.b = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32))
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        y = self.stem(x)
        y = torch.relu(self.b(self.a(y)) + y)
        return self.head(y.mean(dim=(2, 3)))


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.left, self.right = cbr(1, 32), cbr(32, 32, 1), cbr(32, 16)
        self.fuse, self.head = cbr(48, 32, 1), nn.Linear(32, 4)

    def forward(self, x):
        y = self.stem(x)
        y = torch.cat([self.left(y), self.right(y)], dim=1)
        return self.head(self.fuse(y).mean(dim=(2, 3)))


class Split(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.a, self.b = cbr(1, 64), cbr(32, 32), cbr(32, 32)
        self.head = nn.Linear(64, 4)

    def forward(self, x):
        left, right = torch.chunk(self.stem(x), 2, dim=1)
        y = torch.cat([self.a(left), self.b(right)], dim=1)
        return self.head(y.mean(dim=(2, 3)))


class Grouped(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.grouped = cbr(1, 32), cbr(32, 64, 3, g=4)
        self.depthwise, self.pointwise = cbr(64, 64, 3, g=64), cbr(64, 32, 1)
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        return self.head(self.pointwise(self.depthwise(self.grouped(self.stem(x)))).mean(dim=(2, 3)))


class SqueezeExcite(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.body = cbr(1, 32), cbr(32, 32)
        self.fc1, self.fc2 = nn.Conv2d(32, 16, 1), nn.Conv2d(16, 32, 1)
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        y = self.body(self.stem(x))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(y.mean(dim=(2, 3), keepdim=True)))))
        return self.head((y * s).mean(dim=(2, 3)))


class Scale(nn.Module):
    """A learned per-channel gain: a layer type torch-pruning has no pruner for."""

    def __init__(self, channels):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1, channels, 1, 1))

    def forward(self, x):
        return x * self.gain


class WithCustomLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.scale, self.body = cbr(1, 32), Scale(32), cbr(32, 32)
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        return self.head(self.body(self.scale(self.stem(x))).mean(dim=(2, 3)))


PATTERNS = {"residual": Residual, "concat": Concat, "split": Split, "grouped": Grouped,
            "squeeze_excite": SqueezeExcite}
