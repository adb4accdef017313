"""More architectures for the fidelity corpus, written here from their papers at their real
input sizes (random weights: latency only).  With scripts/arm_models.py they make the zoo
``scripts/build_corpus.py`` exports; CORPUS below is the list, one line per model.

ResNet-18 (He et al. 2016), DS-CNN-S keyword spotting (Zhang et al., "Hello Edge", 2017: 49x10
MFCC, 64 channels), a CRNN (Shi et al. 2015: conv stack + BiLSTM over the width), a small
transformer encoder (Vaswani et al. 2017: 4 layers, d=128, 4 heads, 64 tokens), LSTM and GRU
nets (2 layers, 100 steps), a 1-D audio CNN (M5, Dai et al. 2017, 16 kHz x 1 s), a UNet-style
segmenter (Ronneberger et al. 2015, 4 levels from 16 channels, 128x128), a YOLO-style detector
(a tiny CSP backbone + 3-scale 1x1 heads, 320x320), ShuffleNet v2 1.0x (Ma et al. 2018),
EfficientNet-Lite0 (Tan & Le 2019, lite: no SE, ReLU6) and DeiT-Tiny (Touvron et al. 2021:
patch 16, d=192, 12 layers, 3 heads); a CRNN with a GRU.  scripts/corpus_models_more.py holds the
other 22 (MORE, appended to CORPUS), one idea per module under 400 lines.
"""

from __future__ import annotations

import torch
from torch import nn

from corpus_models_more import MORE
from arm_models import (ARCHITECTURES, MobileNetV2, _Bottleneck, _cbr,  # noqa: F401  (re-exported)
                        _InvertedResidual)


class _Basic(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.body = nn.Sequential(_cbr(cin, cout, 3, s), nn.Conv2d(cout, cout, 3, 1, 1))
        self.short = nn.Conv2d(cin, cout, 1, s) if s != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [_cbr(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1)], 64
        for c, s in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [_Basic(cin, c, s), _Basic(c, c, 1)]
            cin = c
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000))

    def forward(self, x):
        return self.body(x)


class DSCNN(nn.Module):
    def __init__(self, classes=12):
        super().__init__()
        layers = [nn.Conv2d(1, 64, (10, 4), (2, 2), (5, 1)), nn.ReLU()]
        for _ in range(4):
            layers += [_cbr(64, 64, 3, groups=64), _cbr(64, 64, 1)]
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))

    def forward(self, x):
        return self.body(x)


class CRNN(nn.Module):
    def __init__(self, classes=37, cell=nn.LSTM):
        super().__init__()
        self.conv = nn.Sequential(_cbr(1, 64), nn.MaxPool2d(2), _cbr(64, 128), nn.MaxPool2d(2), _cbr(128, 256),
                                  _cbr(256, 256), nn.MaxPool2d((2, 1)), _cbr(256, 256), nn.MaxPool2d((4, 1)))
        self.rnn = cell(256, 128, bidirectional=True)
        self.fc = nn.Linear(256, classes)

    def forward(self, x):
        f = self.conv(x).squeeze(2).permute(2, 0, 1)  # [W, N, C]
        return self.fc(self.rnn(f)[0])


class Encoder(nn.Module):
    def __init__(self, d=128, heads=4, layers=4, ff=512):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x):
        return self.body(x)


class Recurrent(nn.Module):
    def __init__(self, cell, features=40, hidden=128):
        super().__init__()
        self.rnn = cell(features, hidden, num_layers=2)
        self.fc = nn.Linear(hidden, 12)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][-1])


class M5(nn.Module):
    def __init__(self, classes=35):
        super().__init__()
        def block(cin, cout, k, s=1):
            return nn.Sequential(nn.Conv1d(cin, cout, k, s, k // 2), nn.ReLU(), nn.MaxPool1d(4))
        self.body = nn.Sequential(block(1, 128, 80, 4), block(128, 128, 3), block(128, 256, 3), block(256, 512, 3),
                                  nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(512, classes))

    def forward(self, x):
        return self.body(x)


class UNet(nn.Module):
    def __init__(self, base=16):
        super().__init__()
        chans = [base * 2 ** i for i in range(4)]
        self.downs, cin = nn.ModuleList(), 3
        for c in chans:
            self.downs.append(nn.Sequential(_cbr(cin, c), _cbr(c, c)))
            cin = c
        self.mid = nn.Sequential(_cbr(cin, cin * 2), _cbr(cin * 2, cin * 2))
        self.ups, self.decs, cin = nn.ModuleList(), nn.ModuleList(), cin * 2
        for c in reversed(chans):
            self.ups.append(nn.ConvTranspose2d(cin, c, 2, 2))
            self.decs.append(nn.Sequential(_cbr(2 * c, c), _cbr(c, c)))
            cin = c
        self.out = nn.Conv2d(cin, 1, 1)

    def forward(self, x):
        skips = []
        for down in self.downs:
            x = down(x); skips.append(x); x = nn.functional.max_pool2d(x, 2)
        x = self.mid(x)
        for up, dec, skip in zip(self.ups, self.decs, reversed(skips)):
            x = dec(torch.cat([up(x), skip], 1))
        return self.out(x)


class TinyYOLO(nn.Module):
    def __init__(self, classes=80):
        super().__init__()
        act = nn.SiLU
        self.stem = nn.Sequential(_cbr(3, 16, 3, 2, act=act), _cbr(16, 32, 3, 2, act=act), _cbr(32, 32, act=act))
        self.p3 = nn.Sequential(_cbr(32, 64, 3, 2, act=act), _cbr(64, 64, act=act))
        self.p4 = nn.Sequential(_cbr(64, 128, 3, 2, act=act), _cbr(128, 128, act=act))
        self.p5 = nn.Sequential(_cbr(128, 256, 3, 2, act=act), _cbr(256, 256, act=act))
        self.heads = nn.ModuleList(nn.Conv2d(c, 3 * (classes + 5), 1) for c in (64, 128, 256))

    def forward(self, x):
        p3 = self.p3(self.stem(x)); p4 = self.p4(p3); p5 = self.p5(p4)
        return [h(p) for h, p in zip(self.heads, (p3, p4, p5))]


class _ShuffleUnit(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.s, half = s, cout // 2
        src = cin if s == 2 else half
        self.branch = nn.Sequential(_cbr(src, half, 1), nn.Conv2d(half, half, 3, s, 1, groups=half), _cbr(half, half, 1))
        self.short = nn.Sequential(nn.Conv2d(cin, cin, 3, s, 1, groups=cin), _cbr(cin, half, 1)) if s == 2 else None

    def forward(self, x):
        if self.s == 1:
            a, b = x.chunk(2, 1)
            out = torch.cat([a, self.branch(b)], 1)
        else:
            out = torch.cat([self.short(x), self.branch(x)], 1)
        n, c, h, w = out.shape
        return out.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [_cbr(3, 24, 3, 2), nn.MaxPool2d(3, 2, 1)], 24
        for cout, n in [(116, 4), (232, 8), (464, 4)]:
            for i in range(n):
                layers.append(_ShuffleUnit(cin, cout, 2 if i == 0 else 1)); cin = cout
        self.body = nn.Sequential(*layers, _cbr(cin, 1024, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(1024, 1000))

    def forward(self, x):
        return self.body(x)


class EfficientNetLite0(nn.Module):
    def __init__(self):
        super().__init__()
        cfg = [(1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3), (6, 112, 3, 1, 5),
               (6, 192, 4, 2, 5), (6, 320, 1, 1, 3)]
        layers, cin = [_cbr(3, 32, 3, 2, act=nn.ReLU6)], 32
        for t, c, n, s, k in cfg:
            for i in range(n):
                layers.append(_InvertedResidual(cin, cin * t, c, k, s if i == 0 else 1)); cin = c
        self.body = nn.Sequential(*layers, _cbr(cin, 1280, 1, act=nn.ReLU6), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(1280, 1000))

    def forward(self, x):
        return self.body(x)


class DeiTTiny(nn.Module):
    def __init__(self, d=192, layers=12, heads=3):
        super().__init__()
        self.patch = nn.Conv2d(3, d, 16, 16)
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.zeros(1, 197, d))
        self.head = nn.Linear(d, 1000)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls, x], 1) + self.pos
        return self.head(self.body(x)[:, 0])


# name -> (family, builder, input shape NCHW / as the model takes it).  One line per model.
CORPUS = {
    "mobilenet_v1": ("mobile CNN", ARCHITECTURES["MobileNet v1"], (1, 3, 224, 224)),
    "mobilenet_v2": ("mobile CNN", ARCHITECTURES["MobileNet v2"], (1, 3, 224, 224)),
    "mobilenet_v3_large": ("mobile CNN", ARCHITECTURES["MobileNet v3 Large"], (1, 3, 224, 224)),
    "mobilenet_v3_small": ("mobile CNN", ARCHITECTURES["MobileNet v3 Small"], (1, 3, 224, 224)),
    "efficientnet_lite0": ("mobile CNN", EfficientNetLite0, (1, 3, 224, 224)),
    "shufflenet_v2": ("mobile CNN", ShuffleNetV2, (1, 3, 224, 224)),
    "squeezenet_1_1": ("classic CNN", ARCHITECTURES["SqueezeNet v1.1"], (1, 3, 227, 227)),
    "resnet18": ("classic CNN", ResNet18, (1, 3, 224, 224)),
    "resnet50": ("classic CNN", ARCHITECTURES["ResNet-50"], (1, 3, 224, 224)),
    "ssd_mobilenet_v1": ("detector", ARCHITECTURES["SSD MobileNet v1"], (1, 3, 300, 300)),
    "tiny_yolo": ("detector", TinyYOLO, (1, 3, 320, 320)),
    "unet": ("segmenter", UNet, (1, 3, 128, 128)),
    "ds_cnn_kws": ("keyword spotting", DSCNN, (1, 1, 49, 10)),
    "crnn": ("CRNN", CRNN, (1, 1, 32, 128)),
    "crnn_gru": ("CRNN", lambda: CRNN(cell=nn.GRU), (1, 1, 32, 128)),
    "m5_audio": ("1-D audio CNN", M5, (1, 1, 16000)),
    "transformer_encoder": ("transformer", Encoder, (1, 64, 128)),
    "lstm": ("RNN", lambda: Recurrent(nn.LSTM), (100, 1, 40)),
    "gru": ("RNN", lambda: Recurrent(nn.GRU), (100, 1, 40)),
    "deit_tiny": ("transformer", DeiTTiny, (1, 3, 224, 224)),
    **MORE,
}
