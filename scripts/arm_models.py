"""Standard architectures of the published ARM figures, written here from their papers (random
weights: latency only), for scripts/arm_published_check.py.

MobileNet v1 (Howard et al. 2017, Table 1), v2 (Sandler et al. 2018, Table 2), v3 Large /
Small (Howard et al. 2019, Tables 1-2), ResNet-50 (He et al. 2016, Table 1, v1: stride in the
1x1), SqueezeNet 1.1 (Iandola et al. 2016; v1.1 per the reference repo: conv1 3x3/64, pools
after fire 3 and 5), SSD MobileNet v1 (Liu et al. 2016 + MobileNet v1 backbone, 300x300, 6
feature maps, 21 classes as the Caffe MobileNet-SSD).  BatchNorm is left out: every runtime
folds it into the conv.
"""

from __future__ import annotations

from torch import nn


def _cbr(cin, cout, k=3, s=1, groups=1, act=nn.ReLU):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, groups=groups), act())


class MobileNetV1(nn.Module):
    def __init__(self, classes=1000, features_only=False):
        super().__init__()
        cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
        layers, cin = [_cbr(3, 32, 3, 2)], 32
        for cout, s in cfg:
            layers += [_cbr(cin, cin, 3, s, groups=cin), _cbr(cin, cout, 1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = None if features_only else nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                                              nn.Linear(1024, classes))

    def forward(self, x):
        x = self.features(x)
        return x if self.head is None else self.head(x)


class _InvertedResidual(nn.Module):
    def __init__(self, cin, cexp, cout, k, s, act=nn.ReLU6, se=False):
        super().__init__()
        layers = [] if cexp == cin else [_cbr(cin, cexp, 1, act=act)]
        layers.append(_cbr(cexp, cexp, k, s, groups=cexp, act=act))
        self.se = _SqueezeExcite(cexp) if se else None
        self.pre, self.project = nn.Sequential(*layers), nn.Conv2d(cexp, cout, 1)
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        y = self.pre(x)
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


class _SqueezeExcite(nn.Module):
    def __init__(self, c):
        super().__init__()
        squeeze = max(8, (c // 4 + 7) // 8 * 8)
        self.body = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, squeeze, 1), nn.ReLU(),
                                  nn.Conv2d(squeeze, c, 1), nn.Hardsigmoid())

    def forward(self, x):
        return x * self.body(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        layers, cin = [_cbr(3, 32, 3, 2, act=nn.ReLU6)], 32
        for t, c, n, s in cfg:
            for i in range(n):
                layers.append(_InvertedResidual(cin, cin * t, c, 3, s if i == 0 else 1))
                cin = c
        layers += [_cbr(cin, 1280, 1, act=nn.ReLU6), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, classes)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


_V3_LARGE = [(3, 16, 16, False, "RE", 1), (3, 64, 24, False, "RE", 2), (3, 72, 24, False, "RE", 1),
             (5, 72, 40, True, "RE", 2), (5, 120, 40, True, "RE", 1), (5, 120, 40, True, "RE", 1),
             (3, 240, 80, False, "HS", 2), (3, 200, 80, False, "HS", 1), (3, 184, 80, False, "HS", 1),
             (3, 184, 80, False, "HS", 1), (3, 480, 112, True, "HS", 1), (3, 672, 112, True, "HS", 1),
             (5, 672, 160, True, "HS", 2), (5, 960, 160, True, "HS", 1), (5, 960, 160, True, "HS", 1)]
_V3_SMALL = [(3, 16, 16, True, "RE", 2), (3, 72, 24, False, "RE", 2), (3, 88, 24, False, "RE", 1),
             (5, 96, 40, True, "HS", 2), (5, 240, 40, True, "HS", 1), (5, 240, 40, True, "HS", 1),
             (5, 120, 48, True, "HS", 1), (5, 144, 48, True, "HS", 1), (5, 288, 96, True, "HS", 2),
             (5, 576, 96, True, "HS", 1), (5, 576, 96, True, "HS", 1)]


class MobileNetV3(nn.Module):
    def __init__(self, large=True, classes=1000):
        super().__init__()
        cfg, last, head = (_V3_LARGE, 960, 1280) if large else (_V3_SMALL, 576, 1024)
        layers, cin = [_cbr(3, 16, 3, 2, act=nn.Hardswish)], 16
        for k, exp, cout, se, act, s in cfg:
            layers.append(_InvertedResidual(cin, exp, cout, k, s, act=nn.ReLU if act == "RE" else nn.Hardswish, se=se))
            cin = cout
        layers += [_cbr(cin, last, 1, act=nn.Hardswish), nn.AdaptiveAvgPool2d(1), nn.Conv2d(last, head, 1),
                   nn.Hardswish(), nn.Flatten(), nn.Linear(head, classes)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class _Bottleneck(nn.Module):
    def __init__(self, cin, mid, s):
        super().__init__()
        self.body = nn.Sequential(_cbr(cin, mid, 1, s), _cbr(mid, mid, 3), nn.Conv2d(mid, mid * 4, 1))
        self.short = nn.Conv2d(cin, mid * 4, 1, s) if s != 1 or cin != mid * 4 else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.body(x) + self.short(x))


class ResNet50(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        layers, cin = [_cbr(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1)], 64
        for mid, n, s in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            for i in range(n):
                layers.append(_Bottleneck(cin, mid, s if i == 0 else 1))
                cin = mid * 4
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, classes)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class _Fire(nn.Module):
    def __init__(self, cin, squeeze, expand):
        super().__init__()
        self.squeeze, self.e1, self.e3 = _cbr(cin, squeeze, 1), _cbr(squeeze, expand, 1), _cbr(squeeze, expand, 3)

    def forward(self, x):
        import torch

        x = self.squeeze(x)
        return torch.cat([self.e1(x), self.e3(x)], 1)


class SqueezeNet11(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True), _Fire(64, 16, 64), _Fire(128, 16, 64),
            nn.MaxPool2d(3, 2, ceil_mode=True), _Fire(128, 32, 128), _Fire(256, 32, 128),
            nn.MaxPool2d(3, 2, ceil_mode=True), _Fire(256, 48, 192), _Fire(384, 48, 192), _Fire(384, 64, 256),
            _Fire(512, 64, 256), nn.Conv2d(512, classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x):
        return self.body(x)


class SSDMobileNetV1(nn.Module):
    """MobileNet v1 backbone (features of the 19x19 and 10x10 maps), 4 extra layers, 3x3 heads
    with 6 boxes x (21 classes + 4) per cell (3 on the first map), as the Caffe MobileNet-SSD."""

    def __init__(self, classes=21):
        super().__init__()
        backbone = MobileNetV1(features_only=True).features
        self.stage1, self.stage2 = backbone[:23], backbone[23:]  # stem + 11 dw/pw pairs: 19x19x512; then 10x10x1024
        extras, cin = [], 1024
        for mid, cout in [(256, 512), (128, 256), (128, 256), (64, 128)]:
            extras.append(nn.Sequential(_cbr(cin, mid, 1), _cbr(mid, cout, 3, 2)))
            cin = cout
        self.extras = nn.ModuleList(extras)
        maps = [512, 1024, 512, 256, 256, 128]
        boxes = [3, 6, 6, 6, 6, 6]
        self.heads = nn.ModuleList(nn.Conv2d(c, b * (classes + 4), 3, 1, 1) for c, b in zip(maps, boxes))

    def forward(self, x):
        feats = [self.stage1(x)]
        feats.append(self.stage2(feats[-1]))
        for extra in self.extras:
            feats.append(extra(feats[-1]))
        return [head(f) for head, f in zip(self.heads, feats)]


# published model name -> (builder, input size (H = W)); the figures' input_shape overrides the size.
ARCHITECTURES = {"MobileNet v1": MobileNetV1, "MobileNet v2": MobileNetV2,
                 "MobileNet v3 Large": lambda: MobileNetV3(large=True),
                 "MobileNet v3 Small": lambda: MobileNetV3(large=False), "ResNet-50": ResNet50,
                 "SqueezeNet v1.1": SqueezeNet11, "SSD MobileNet v1": SSDMobileNetV1}
