"""Architectures people ship, at their real sizes, for the conversion matrix.

Random weights, no downloads: each class is written here from its paper's layer table and
builds with its default arguments, so ``--arch models.matrix:ClassName`` plus a state dict
is enough for ``compress``.  ``make_model(name)`` gives a model whose BatchNorms carry
non-trivial statistics (random affine parameters, running stats from a few train-mode
passes on random data), so BN folding is exercised for real.  scripts/conversion_matrix.py
runs the whole job on each.

Random weights are not trained ones: a random network with BatchNorm is chaotic (a small
input perturbation grows layer by layer; Yang et al., "A Mean Field Theory of Batch
Normalization", ICLR 2019), so int8 SQNR and top-1 agreement on these models are lower
bounds of what trained weights give (MobileNetV2 here turns 40 dB of input noise into
12 dB at its output).

References (layer configurations follow these):

* ResNet-18: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, Table 1.
* MobileNetV3-Small: Howard et al., "Searching for MobileNetV3", ICCV 2019, Table 2
  (squeeze channels and the 1024-wide head as in torchvision's implementation).
* MobileNetV2: Sandler et al., "MobileNetV2", CVPR 2018, Table 2 (width 1.0).
* DS-CNN: Zhang et al., "Hello Edge: Keyword Spotting on Microcontrollers", 2017, as the
  MLPerf Tiny KWS reference (conv 10x4 stride 2 "same", 4 depthwise-separable blocks of 64).
* Anomaly-detection autoencoder: MLPerf Tiny AD reference (DCASE 2020 task 2 baseline).
* 1-D audio CNN: Dai et al., "Very Deep CNNs for Raw Waveforms", ICASSP 2017, model M5.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["MATRIX", "AnomalyAutoencoder", "AttentionBlock", "AudioCNN1d", "DSCNN", "GRUBlock",
           "MobileNetV2", "MobileNetV3Small", "MultiInputNet", "ResNet18", "make_model"]


def _conv_bn(cin: int, cout: int, k: int, *, stride: int = 1, groups: int = 1, act: type | None = nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# --- ResNet-18 ------------------------------------------------------------------------

class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(_conv_bn(cin, cout, 3, stride=stride), _conv_bn(cout, cout, 3, act=None))
        self.shortcut = (_conv_bn(cin, cout, 1, stride=stride, act=None)
                         if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet18(nn.Module):
    """3×224×224 -> 1000 logits: 7×7 stem, max pool, 4 stages of 2 basic blocks (64-512); 11.7M params."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        stem = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
        blocks, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [_BasicBlock(cin, cout, stride), _BasicBlock(cout, cout, 1)]
            cin = cout
        self.features = nn.Sequential(*stem, *blocks)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=(2, 3)))


# --- MobileNetV3-Small ----------------------------------------------------------------

def _divisible(value: float, divisor: int = 8) -> int:
    """Round to a multiple of 8, never below 90% of ``value`` (the MobileNet reference code)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class _SqueezeExcite(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        squeeze = _divisible(channels // 4)
        self.reduce, self.expand = nn.Conv2d(channels, squeeze, 1), nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.relu(self.reduce(x.mean(dim=(2, 3), keepdim=True)))
        return x * self.gate(self.expand(scale))


class _Bneck(nn.Module):
    """MobileNetV3 block: 1×1 expand, k×k depthwise, optional SE, 1×1 linear projection."""

    def __init__(self, cin: int, k: int, expand: int, cout: int, se: bool, act: type, stride: int):
        super().__init__()
        layers: list[nn.Module] = [] if expand == cin else [_conv_bn(cin, expand, 1, act=act)]
        layers.append(_conv_bn(expand, expand, k, stride=stride, groups=expand, act=act))
        if se:
            layers.append(_SqueezeExcite(expand))
        layers.append(_conv_bn(expand, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_residual else self.block(x)


# (kernel, expansion, out, SE, activation, stride): Table 2 of the paper.
_RE, _HS = nn.ReLU, nn.Hardswish
MOBILENETV3_SMALL_BLOCKS = (
    (3, 16, 16, True, _RE, 2), (3, 72, 24, False, _RE, 2), (3, 88, 24, False, _RE, 1),
    (5, 96, 40, True, _HS, 2), (5, 240, 40, True, _HS, 1), (5, 240, 40, True, _HS, 1),
    (5, 120, 48, True, _HS, 1), (5, 144, 48, True, _HS, 1), (5, 288, 96, True, _HS, 2),
    (5, 576, 96, True, _HS, 1), (5, 576, 96, True, _HS, 1),
)


class MobileNetV3Small(nn.Module):
    """3×224×224 -> 1000 logits: hard-swish stem, 11 bnecks with SE, 576 -> 1024 head; 2.5M params."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 16, 3, stride=2, act=_HS)]
        cin = 16
        for k, expand, cout, se, act, stride in MOBILENETV3_SMALL_BLOCKS:
            layers.append(_Bneck(cin, k, expand, cout, se, act, stride))
            cin = cout
        layers.append(_conv_bn(cin, 576, 1, act=_HS))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(576, 1024), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(1024, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


# --- MobileNetV2 ----------------------------------------------------------------------

class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        layers: list[nn.Module] = [] if expansion == 1 else [_conv_bn(cin, hidden, 1, act=nn.ReLU6)]
        layers += [_conv_bn(hidden, hidden, 3, stride=stride, groups=hidden, act=nn.ReLU6),
                   _conv_bn(hidden, cout, 1, act=None)]
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_residual else self.block(x)


# (expansion t, channels c, repeats n, first stride s): Table 2 of the paper.
MOBILENETV2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                      (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class MobileNetV2(nn.Module):
    """Images -> 1000 logits: 17 inverted residual blocks, 1280-wide last conv; 3.5M params."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, stride=2, act=nn.ReLU6)]
        cin = 32
        for t, c, n, s in MOBILENETV2_BLOCKS:
            for i in range(n):
                layers.append(_InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_conv_bn(cin, 1280, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(2, 3)))


# --- MLPerf Tiny: keyword spotting and anomaly detection ------------------------------

class DSCNN(nn.Module):
    """1×49×10 MFCC -> 12 keyword logits: conv 10×4/2 ("same"), 4 DS blocks of 64, avg pool, FC."""

    def __init__(self, num_classes: int = 12):
        super().__init__()
        # TF's "same" for a 10×4 kernel, stride 2 on 49×10 pads 4/5 rows and 1/1 columns -> 25×5.
        layers: list[nn.Module] = [nn.ZeroPad2d((1, 1, 4, 5)), nn.Conv2d(1, 64, (10, 4), 2, bias=False),
                                   nn.BatchNorm2d(64), nn.ReLU()]
        for _ in range(4):
            layers += [_conv_bn(64, 64, 3, groups=64), _conv_bn(64, 64, 1)]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=(2, 3)))


def _dense_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cin, cout), nn.BatchNorm1d(cout), nn.ReLU())


class AnomalyAutoencoder(nn.Module):
    """640 log-mel features -> 640 reconstruction: 4×128, bottleneck 8, 4×128, dense BN+ReLU."""

    def __init__(self, features: int = 640):
        super().__init__()
        widths = (features, 128, 128, 128, 128, 8, 128, 128, 128, 128)
        self.body = nn.Sequential(*(_dense_bn(a, b) for a, b in zip(widths, widths[1:])))
        self.out = nn.Linear(128, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


# --- audio, multi-input, recurrent and attention blocks -------------------------------

class AudioCNN1d(nn.Module):
    """N×16000 raw audio -> 10 logits: M5 (conv 80/4, then 3-tap convs, 128-128-256-512, max pools)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout, k, stride in ((1, 128, 80, 4), (128, 128, 3, 1), (128, 256, 3, 1), (256, 512, 3, 1)):
            layers += [nn.Conv1d(cin, cout, k, stride, bias=False), nn.BatchNorm1d(cout), nn.ReLU(), nn.MaxPool1d(4)]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x.unsqueeze(1)).mean(dim=2))


class MultiInputNet(nn.Module):
    """(3×32×32 image, 16 features) -> (10 class logits, 1 regression value)."""

    def __init__(self):
        super().__init__()
        self.image = nn.Sequential(_conv_bn(3, 16, 3), _conv_bn(16, 32, 3, stride=2))
        self.vector = _dense_bn(16, 32)
        self.classify, self.regress = nn.Linear(64, 10), nn.Linear(64, 1)

    def forward(self, image: torch.Tensor, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joint = torch.cat([self.image(image).mean(dim=(2, 3)), self.vector(features)], dim=1)
        return self.classify(joint), self.regress(joint)


class GRUBlock(nn.Module):
    """49×10 MFCC frames -> 12 logits: one GRU layer of 64, last step, FC."""

    def __init__(self, num_classes: int = 12):
        super().__init__()
        self.gru = nn.GRU(10, 64, batch_first=True)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence, _ = self.gru(x)
        return self.fc(sequence[:, -1])


class AttentionBlock(nn.Module):
    """16 tokens × 32 -> 10 logits: one pre-norm transformer block (4-head attention, MLP 64), mean pool."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(32), nn.LayerNorm(32)
        self.attention = nn.MultiheadAttention(32, 4, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 32))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.attention(y, y, y, need_weights=False)[0]
        x = x + self.mlp(self.norm2(x))
        return self.fc(x.mean(dim=1))


# --- the matrix ----------------------------------------------------------------------

# name -> (class, input shapes with batch 1): big image models first, then MLPerf Tiny and the rest.
MATRIX: dict[str, tuple[type[nn.Module], tuple[tuple[int, ...], ...]]] = {
    "resnet18": (ResNet18, ((1, 3, 224, 224),)),
    "mobilenetv3_small": (MobileNetV3Small, ((1, 3, 224, 224),)),
    "mobilenetv2": (MobileNetV2, ((1, 3, 96, 96),)),
    "ds_cnn": (DSCNN, ((1, 1, 49, 10),)),
    "ad_autoencoder": (AnomalyAutoencoder, ((1, 640),)),
    "audio_cnn_1d": (AudioCNN1d, ((1, 16000),)),
    "multi_io": (MultiInputNet, ((1, 3, 32, 32), (1, 16))),
    "gru": (GRUBlock, ((1, 49, 10),)),
    "attention": (AttentionBlock, ((1, 16, 32),)),
}

# Train-mode passes that set the BatchNorm running statistics.  A BatchNorm1d after a Linear
# sees one value per channel and sample, so a small batch gives noisy variances (4 samples ×
# 3 passes left channels with 2-3× the expected spread); batches of up to 64 samples, fewer
# for big inputs (6 at 3×224×224, where every channel still sees millions of values).
_BN_PASSES = 3
_BN_BATCH_VALUES = 1 << 20  # input values per batch
_BN_BATCH_RANGE = (4, 64)


def _bn_batch_size(shapes: tuple[tuple[int, ...], ...]) -> int:
    per_sample = sum(math.prod(shape[1:]) for shape in shapes)
    low, high = _BN_BATCH_RANGE
    return max(low, min(high, _BN_BATCH_VALUES // per_sample))


def make_model(name: str, *, seed: int = 0) -> tuple[nn.Module, tuple[tuple[int, ...], ...]]:
    """``MATRIX[name]`` built from ``seed``, BatchNorms given real statistics, in eval mode."""
    if name not in MATRIX:
        raise KeyError(f"unknown matrix model {name!r}; known: {', '.join(MATRIX)}")
    cls, shapes = MATRIX[name]
    with torch.random.fork_rng(devices=[]):  # seeded, and the caller's RNG left as it was
        torch.manual_seed(seed)
        model = cls()
        _set_batchnorm_statistics_(model, shapes, torch.Generator().manual_seed(seed))
    return model.eval(), shapes


def _set_batchnorm_statistics_(model: nn.Module, shapes: tuple[tuple[int, ...], ...],
                               generator: torch.Generator) -> None:
    """Random γ, β; running mean/var averaged over train-mode passes on random inputs."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    with torch.no_grad():
        for norm in norms:
            norm.weight.copy_(0.5 + torch.rand(norm.weight.shape, generator=generator))
            norm.bias.copy_(0.1 * torch.randn(norm.bias.shape, generator=generator))
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average over the passes below
        model.train()
        batch = _bn_batch_size(shapes)
        for _ in range(_BN_PASSES):
            model(*(torch.randn((batch, *s[1:]), generator=generator) for s in shapes))
        for norm in norms:
            norm.momentum = 0.1  # back to the default, so the saved module is the usual one
    model.eval()
