"""The rest of the fidelity corpus (scripts/corpus_models.py holds the list, CORPUS), written here
from the papers at their real input sizes; random weights, latency only.  BatchNorm is left out
where a runtime folds it into the conv (every one here does), as in arm_models.py.

EfficientNet-B0 (Tan & Le 2019, Table 1: MBConv with SE and swish), MnasNet-B1 1.0 (Tan et al.
2019, the torchvision/TF config without SE), RegNetX-400MF (Radosavovic et al. 2020: widths
32/64/160/384, depths 1/2/7/12, group width 16), ConvNeXt-T (Liu et al. 2022: 96/192/384/768,
3/3/9/3 blocks, 7x7 depthwise, LayerNorm, GELU), ResNet-34 (He et al. 2016), DenseNet-121
(Huang et al. 2017, growth 32, blocks 6/12/24/16), SqueezeNet 1.0 (Iandola et al. 2016), the
MLPerf Tiny models (Banbury et al. 2021: visual wake words MobileNet v1 0.25 at 96x96,
ResNet-8 on 32x32 CIFAR, the anomaly-detection autoencoder 640-128x4-8), TC-ResNet8 (Choi et
al. 2019: 1-D temporal convs over 40 MFCC x 98 frames), a TCN (Bai et al. 2018: dilated causal
1-D convs, 1,2,4,8), Wav2Letter (Collobert et al. 2016, the small ARM ML-zoo variant: 39 MFCC
features x 296 frames), a bidirectional GRU and a wide LSTM, a longer transformer encoder
(256 tokens, d=256), MLP-Mixer S/32 (Tolstikhin et al. 2021), DeepLab-v3-style MobileNet v2
segmenter with bilinear upsampling (Sandler et al. 2018, Sec. 6.3, 256x256), SSDLite MobileNet
v2 (Sandler et al. 2018, Sec. 6.2, 320x320 heads of depthwise + 1x1) and a YOLO-style
detector with an FPN/PAN neck (upsample + concat, 416x416).
"""

from __future__ import annotations

import torch
from torch import nn

from arm_models import MobileNetV2, _cbr, _Fire, _InvertedResidual


class _SE(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.body = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, squeeze, 1), nn.SiLU(),
                                  nn.Conv2d(squeeze, c, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.body(x)


class _MBConv(nn.Module):
    def __init__(self, cin, t, cout, k, s, act=nn.SiLU, se=True):
        super().__init__()
        mid = cin * t
        layers = [] if t == 1 else [_cbr(cin, mid, 1, act=act)]
        layers.append(_cbr(mid, mid, k, s, groups=mid, act=act))
        if se:
            layers.append(_SE(mid, max(1, cin // 4)))
        layers.append(nn.Conv2d(mid, cout, 1))
        self.body, self.residual = nn.Sequential(*layers), s == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def _mbconv_net(cfg, stem, head, act, se):
    layers, cin = [_cbr(3, stem, 3, 2, act=act)], stem
    for t, c, n, s, k in cfg:
        for i in range(n):
            layers.append(_MBConv(cin, t, c, k, s if i == 0 else 1, act=act, se=se)); cin = c
    return nn.Sequential(*layers, _cbr(cin, head, 1, act=act), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(head, 1000))


def efficientnet_b0():
    return _mbconv_net([(1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3), (6, 112, 3, 1, 5),
                        (6, 192, 4, 2, 5), (6, 320, 1, 1, 3)], 32, 1280, nn.SiLU, True)


def mnasnet_b1():
    return _mbconv_net([(1, 16, 1, 1, 3), (3, 24, 3, 2, 3), (3, 40, 3, 2, 5), (6, 80, 3, 2, 5), (6, 96, 2, 1, 3),
                        (6, 192, 4, 2, 5), (6, 320, 1, 1, 3)], 32, 1280, nn.ReLU, False)


class _XBlock(nn.Module):
    def __init__(self, cin, cout, s, group_width=16):
        super().__init__()
        self.body = nn.Sequential(_cbr(cin, cout, 1), _cbr(cout, cout, 3, s, groups=cout // group_width),
                                  nn.Conv2d(cout, cout, 1))
        self.short = nn.Conv2d(cin, cout, 1, s) if s != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def regnetx_400mf():
    layers, cin = [_cbr(3, 32, 3, 2)], 32
    for width, depth in [(32, 1), (64, 2), (160, 7), (384, 12)]:
        for i in range(depth):
            layers.append(_XBlock(cin, width, 2 if i == 0 else 1)); cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000))


class _ConvNeXtBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, 1, 3, groups=c)
        self.norm = nn.LayerNorm(c)
        self.mlp = nn.Sequential(nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c))

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        return x + self.mlp(self.norm(y)).permute(0, 3, 1, 2)


class ConvNeXtT(nn.Module):
    def __init__(self, dims=(96, 192, 384, 768), depths=(3, 3, 9, 3)):
        super().__init__()
        stages, cin = [], 3
        for i, (d, n) in enumerate(zip(dims, depths)):
            down = nn.Conv2d(cin, d, 4 if i == 0 else 2, 4 if i == 0 else 2)
            stages.append(nn.Sequential(down, *[_ConvNeXtBlock(d) for _ in range(n)])); cin = d
        self.stages, self.norm, self.head = nn.Sequential(*stages), nn.LayerNorm(cin), nn.Linear(cin, 1000)

    def forward(self, x):
        return self.head(self.norm(self.stages(x).mean((2, 3))))


class _Basic(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.body = nn.Sequential(_cbr(cin, cout, 3, s), nn.Conv2d(cout, cout, 3, 1, 1))
        self.short = nn.Conv2d(cin, cout, 1, s) if s != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def resnet34():
    layers, cin = [_cbr(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1)], 64
    for c, n, s in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(n):
            layers.append(_Basic(cin, c, s if i == 0 else 1)); cin = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000))


def resnet8_cifar():
    """MLPerf Tiny image classification: ResNet-8 (16/32/64), 32x32x3, 10 classes."""
    return nn.Sequential(_cbr(3, 16), _Basic(16, 16, 1), _Basic(16, 32, 2), _Basic(32, 64, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


class _DenseLayer(nn.Module):
    def __init__(self, cin, growth=32):
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(cin, 4 * growth, 1), nn.ReLU(), nn.Conv2d(4 * growth, growth, 3, 1, 1))

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


def densenet121():
    layers, c = [_cbr(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1)], 64
    for i, n in enumerate((6, 12, 24, 16)):
        for _ in range(n):
            layers.append(_DenseLayer(c)); c += 32
        if i < 3:
            layers += [nn.ReLU(), nn.Conv2d(c, c // 2, 1), nn.AvgPool2d(2)]; c //= 2
    return nn.Sequential(*layers, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000))


def squeezenet_1_0():
    return nn.Sequential(
        nn.Conv2d(3, 96, 7, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True), _Fire(96, 16, 64), _Fire(128, 16, 64),
        _Fire(128, 32, 128), nn.MaxPool2d(3, 2, ceil_mode=True), _Fire(256, 32, 128), _Fire(256, 48, 192),
        _Fire(384, 48, 192), _Fire(384, 64, 256), nn.MaxPool2d(3, 2, ceil_mode=True), _Fire(512, 64, 256),
        nn.Conv2d(512, 1000, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def mobilenet_v1_025_vww():
    """MLPerf Tiny visual wake words: MobileNet v1 alpha 0.25 at 96x96, 2 classes."""
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    layers, cin = [_cbr(3, 8, 3, 2)], 8
    for cout, s in cfg:
        layers += [_cbr(cin, cin, 3, s, groups=cin), _cbr(cin, cout // 4, 1)]; cin = cout // 4
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 2))


def autoencoder_ad():
    """MLPerf Tiny anomaly detection: 640 -> 128 x4 -> 8 -> 128 x4 -> 640 dense (BN folded)."""
    dims = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128]
    layers = []
    for a, b in zip(dims, dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(128, 640))


class _TCBlock(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(cin, cout, 9, s, 4), nn.ReLU(), nn.Conv1d(cout, cout, 9, 1, 4))
        self.short = nn.Sequential(nn.Conv1d(cin, cout, 1, s), nn.ReLU()) if s != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def tc_resnet8():
    """TC-ResNet8 (k=1): MFCC coefficients as channels, 1-D convs over 98 frames."""
    return nn.Sequential(nn.Conv1d(40, 16, 3, 1, 1), _TCBlock(16, 24, 2), _TCBlock(24, 32, 2), _TCBlock(32, 48, 2),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(48, 12))


class _TemporalBlock(nn.Module):
    def __init__(self, cin, cout, dilation, k=3):
        super().__init__()
        pad = (k - 1) * dilation
        self.body = nn.Sequential(nn.ConstantPad1d((pad, 0), 0.0), nn.Conv1d(cin, cout, k, dilation=dilation), nn.ReLU(),
                                  nn.ConstantPad1d((pad, 0), 0.0), nn.Conv1d(cout, cout, k, dilation=dilation), nn.ReLU())
        self.short = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def tcn():
    return nn.Sequential(*[_TemporalBlock(1 if i == 0 else 64, 64, 2 ** i) for i in range(4)],
                         nn.Conv1d(64, 10, 1))


def wav2letter_small():
    """ARM ML-zoo's small Wav2Letter: 1-D convs, 39 MFCC x 296 frames in, 29 characters out."""
    spec = [(39, 250, 48, 2), *[(250, 250, 7, 1)] * 7, (250, 2000, 32, 1), (2000, 2000, 1, 1), (2000, 29, 1, 1)]
    layers = []
    for cin, cout, k, s in spec:
        layers += [nn.Conv1d(cin, cout, k, s, k // 2), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class _Recurrent(nn.Module):
    def __init__(self, cell, features, hidden, layers, bidirectional):
        super().__init__()
        self.rnn = cell(features, hidden, num_layers=layers, bidirectional=bidirectional)
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), 12)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][-1])


def bigru():
    return _Recurrent(nn.GRU, 64, 128, 2, True)


def lstm_wide():
    return _Recurrent(nn.LSTM, 80, 512, 1, False)


class _Seq(nn.Module):
    def __init__(self, d, heads, layers, ff, activation="relu"):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation=activation, batch_first=True,
                                           norm_first=True)
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x):
        return self.body(x)


def encoder_256():
    return _Seq(256, 4, 4, 1024, "gelu")


class _MixerBlock(nn.Module):
    def __init__(self, tokens, d, token_mlp=256, channel_mlp=2048):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.tok = nn.Sequential(nn.Linear(tokens, token_mlp), nn.GELU(), nn.Linear(token_mlp, tokens))
        self.ch = nn.Sequential(nn.Linear(d, channel_mlp), nn.GELU(), nn.Linear(channel_mlp, d))

    def forward(self, x):
        x = x + self.tok(self.n1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.ch(self.n2(x))


class MixerS32(nn.Module):
    def __init__(self, d=512, layers=8):
        super().__init__()
        self.patch = nn.Conv2d(3, d, 32, 32)
        self.blocks = nn.Sequential(*[_MixerBlock(49, d) for _ in range(layers)])
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 1000)

    def forward(self, x):
        x = self.blocks(self.patch(x).flatten(2).transpose(1, 2))
        return self.head(self.norm(x).mean(1))


class DeepLabMNv2(nn.Module):
    """MobileNet v2 features to stride 32, an ASPP-lite head (1x1 + image pooling), x32 bilinear."""

    def __init__(self, classes=21):
        super().__init__()
        self.features = MobileNetV2().body[:-4]  # up to the last inverted residual: 320 channels
        self.aspp = _cbr(320, 256, 1)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(320, 256, 1), nn.ReLU())
        self.out = nn.Conv2d(256, classes, 1)

    def forward(self, x):
        f = self.features(x)
        y = self.out(self.aspp(f) + self.pool(f))
        return nn.functional.interpolate(y, scale_factor=32.0, mode="bilinear", align_corners=False)


class SSDLiteMNv2(nn.Module):
    """MobileNet v2 backbone (19->20x20 at 320 via stride 16, 10x10), 4 extras, SSDLite heads."""

    def __init__(self, classes=91):
        super().__init__()
        body = MobileNetV2().body
        self.stage1, self.stage2 = body[:14], body[14:18]  # 96 ch at stride 16; 320 ch at stride 32
        extras, cin = [], 320
        for mid, cout in [(256, 512), (128, 256), (128, 256), (64, 128)]:
            extras.append(nn.Sequential(_cbr(cin, mid, 1, act=nn.ReLU6), _cbr(mid, mid, 3, 2, groups=mid, act=nn.ReLU6),
                                        _cbr(mid, cout, 1, act=nn.ReLU6)))
            cin = cout
        self.extras = nn.ModuleList(extras)
        self.heads = nn.ModuleList(nn.Sequential(_cbr(c, c, 3, groups=c, act=nn.ReLU6), nn.Conv2d(c, 6 * (classes + 4), 1))
                                   for c in (96, 320, 512, 256, 256, 128))

    def forward(self, x):
        feats = [self.stage1(x)]
        feats.append(self.stage2(feats[-1]))
        for extra in self.extras:
            feats.append(extra(feats[-1]))
        return [head(f) for head, f in zip(self.heads, feats)]


class YoloFPN(nn.Module):
    """A CSP-less YOLO-style net: stride-2 conv backbone, FPN top-down (upsample + concat) and PAN
    bottom-up (stride-2 conv + concat) necks, 3 heads of 3 x 85."""

    def __init__(self, classes=80):
        super().__init__()
        act = nn.SiLU
        self.b3 = nn.Sequential(_cbr(3, 16, 3, 2, act=act), _cbr(16, 32, 3, 2, act=act), _cbr(32, 32, act=act),
                                _cbr(32, 64, 3, 2, act=act), _cbr(64, 64, act=act))
        self.b4 = nn.Sequential(_cbr(64, 128, 3, 2, act=act), _cbr(128, 128, act=act))
        self.b5 = nn.Sequential(_cbr(128, 256, 3, 2, act=act), _cbr(256, 256, act=act))
        self.lat5, self.top4 = _cbr(256, 128, 1, act=act), _cbr(256, 128, act=act)
        self.lat4, self.top3 = _cbr(128, 64, 1, act=act), _cbr(128, 64, act=act)
        self.down3, self.bot4 = _cbr(64, 64, 3, 2, act=act), _cbr(128, 128, act=act)
        self.down4, self.bot5 = _cbr(128, 128, 3, 2, act=act), _cbr(256, 256, act=act)
        self.heads = nn.ModuleList(nn.Conv2d(c, 3 * (classes + 5), 1) for c in (64, 128, 256))

    def forward(self, x):
        up = nn.functional.interpolate
        c3 = self.b3(x); c4 = self.b4(c3); c5 = self.b5(c4)
        p5 = self.lat5(c5)
        p4 = self.top4(torch.cat([up(p5, scale_factor=2.0, mode="nearest"), c4], 1))
        q4 = self.lat4(p4)
        p3 = self.top3(torch.cat([up(q4, scale_factor=2.0, mode="nearest"), c3], 1))
        n4 = self.bot4(torch.cat([self.down3(p3), q4], 1))
        n5 = self.bot5(torch.cat([self.down4(n4), p5], 1))
        return [h(p) for h, p in zip(self.heads, (p3, n4, n5))]


def mobilenet_v2_035_96():
    """MobileNet v2 width 0.35 at 96x96 (Sandler et al. 2018, Table 6's smallest), 1000 classes."""
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    def width(c):
        return max(8, int(c * 0.35 + 4) // 8 * 8)
    layers, cin = [_cbr(3, width(32), 3, 2, act=nn.ReLU6)], width(32)
    for t, c, n, s in cfg:
        for i in range(n):
            layers.append(_InvertedResidual(cin, cin * t, width(c), 3, s if i == 0 else 1)); cin = width(c)
    return nn.Sequential(*layers, _cbr(cin, 1280, 1, act=nn.ReLU6), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(1280, 1000))


def ds_cnn_l():
    """DS-CNN-L keyword spotting (Zhang et al. 2017, Table 3): 276 channels, 5 dw/pw pairs."""
    layers = [nn.Conv2d(1, 276, (10, 4), (2, 1), (5, 1)), nn.ReLU()]
    for _ in range(5):
        layers += [_cbr(276, 276, 3, groups=276), _cbr(276, 276, 1)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(276, 12))


# name -> (family, builder, input shape as the model takes it).  corpus_models.CORPUS adds these.
MORE = {
    "efficientnet_b0": ("mobile CNN", efficientnet_b0, (1, 3, 224, 224)),
    "mnasnet_b1": ("mobile CNN", mnasnet_b1, (1, 3, 224, 224)),
    "regnetx_400mf": ("mobile CNN", regnetx_400mf, (1, 3, 224, 224)),
    "mobilenet_v1_025_vww": ("MCU vision", mobilenet_v1_025_vww, (1, 3, 96, 96)),
    "mobilenet_v2_035_96": ("MCU vision", mobilenet_v2_035_96, (1, 3, 96, 96)),
    "resnet8_cifar": ("MCU vision", resnet8_cifar, (1, 3, 32, 32)),
    "resnet34": ("classic CNN", resnet34, (1, 3, 224, 224)),
    "densenet121": ("classic CNN", densenet121, (1, 3, 224, 224)),
    "squeezenet_1_0": ("classic CNN", squeezenet_1_0, (1, 3, 224, 224)),
    "convnext_t": ("transformer-era CNN", ConvNeXtT, (1, 3, 224, 224)),
    "mixer_s32": ("transformer", MixerS32, (1, 3, 224, 224)),
    "encoder_256": ("transformer", encoder_256, (1, 256, 256)),
    "deeplab_mnv2": ("segmenter", DeepLabMNv2, (1, 3, 256, 256)),
    "ssdlite_mnv2": ("detector", SSDLiteMNv2, (1, 3, 320, 320)),
    "yolo_fpn": ("detector", YoloFPN, (1, 3, 416, 416)),
    "ds_cnn_l": ("keyword spotting", ds_cnn_l, (1, 1, 49, 10)),
    "tc_resnet8": ("keyword spotting", tc_resnet8, (1, 40, 98)),
    "autoencoder_ad": ("MCU MLP", autoencoder_ad, (1, 640)),
    "tcn": ("1-D audio CNN", tcn, (1, 1, 4000)),
    "wav2letter_small": ("1-D audio CNN", wav2letter_small, (1, 39, 296)),
    "bigru": ("RNN", bigru, (50, 1, 64)),
    "lstm_wide": ("RNN", lstm_wide, (50, 1, 80)),
}
