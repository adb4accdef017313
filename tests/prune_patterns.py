"""Small networks with the patterns structured pruning must keep consistent (tests only).

Residual add, concatenation, split (torch.chunk), grouped + depthwise convs, a squeeze-and-
excitation block, a custom layer torch-pruning has no pruner for, and ShuffleNetV2's channel
shuffle (view / transpose / view), which torch-pruning cannot map.
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


def channel_shuffle(x, groups: int):
    """ShuffleNet's channel shuffle: view as (groups, C/groups), transpose, flatten back."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2 unit (Ma et al., "ShuffleNet V2", ECCV 2018, Fig. 3c/d).

    Stride 1: split the channels in half, the right half goes 1×1 → 3×3 depthwise → 1×1, then
    concat and shuffle.  Stride 2: both halves see the whole input (left: 3×3 dw s2 → 1×1).
    """

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        half = cout // 2
        if stride > 1:
            self.left = nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                                      nn.Conv2d(cin, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())
        right_in = cin if stride > 1 else half
        self.right = nn.Sequential(nn.Conv2d(right_in, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
                                   nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False), nn.BatchNorm2d(half),
                                   nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())

    def forward(self, x):
        if self.stride == 1:
            left, right = x.chunk(2, dim=1)
            y = torch.cat([left, self.right(right)], dim=1)
        else:
            y = torch.cat([self.left(x), self.right(x)], dim=1)
        return channel_shuffle(y, 2)


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2 as in the paper's Table 5: conv1 3×3 s2, max-pool, three stages of units
    (first unit stride 2), conv5 1×1, global pool, FC.  ``widths`` = (conv1, stage2, stage3,
    stage4, conv5); the paper's 0.5× is (24, 48, 96, 192, 1024) with repeats (4, 8, 4)."""

    def __init__(self, widths=(24, 48, 96, 192, 1024), repeats=(4, 8, 4), in_channels=3, classes=1000):
        super().__init__()
        self.conv1 = cbr(in_channels, widths[0])
        self.conv1[0].stride = (2, 2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, cin = [], widths[0]
        for cout, repeat in zip(widths[1:4], repeats):
            stages.append(nn.Sequential(*[ShuffleUnit(cin if i == 0 else cout, cout, 2 if i == 0 else 1)
                                          for i in range(repeat)]))
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.conv5 = cbr(cin, widths[4], 1)
        self.fc = nn.Linear(widths[4], classes)

    def forward(self, x):
        y = self.conv5(self.stages(self.maxpool(self.conv1(x))))
        return self.fc(y.mean(dim=(2, 3)))


class TinyShuffleNet(ShuffleNetV2):
    """A ShuffleNetV2 small enough for tests: 1×16×16 inputs, 4 classes, 3-2-2 units per stage
    (deep enough that torch-pruning's own graph build fails on its shuffles)."""

    def __init__(self):
        super().__init__(widths=(16, 32, 64, 128, 128), repeats=(3, 2, 2), in_channels=1, classes=4)


class WideHead(nn.Module):
    """VGG's shape in small: convs, then a flatten into a big hidden Linear (512×1024 = 524k
    weights, most of the model) before the classifier, as in VGG's fully-connected layers."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(cbr(1, 16), nn.MaxPool2d(2), cbr(16, 32), nn.MaxPool2d(2))
        self.hidden = nn.Linear(32 * 4 * 4, 1024)
        self.head = nn.Linear(1024, 4)

    def forward(self, x):
        return self.head(torch.relu(self.hidden(torch.flatten(self.features(x), 1))))
