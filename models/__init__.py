"""The reference zoo: three small image classifiers trained on 32×32 handwritten digits.

Installed as `compressor.zoo` (the repository keeps it in `models/`, see pyproject.toml).
Each `ZooEntry` says how to build its architecture, what it takes and where its shipped
fp32 state dict lives; `data_path` gives the digits splits it was trained and tested on
(see `digits.py`).  `scripts/train_zoo.py` reproduces the weights and the data files.

    from compressor.zoo import ZOO, load_pretrained, data_path
    model = load_pretrained("resnet_digits")        # eval mode, shipped weights
    test = numpy.load(data_path("test"))             # x: N×1×32×32 float32, y: N int64
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .mobilenetv2 import MobileNetV2
from .resnet import ResNet
from .vgg import VGGNet

__all__ = ["DATA_SPLITS", "ZOO", "ZooEntry", "data_path", "get_entry", "load_pretrained", "weights_path"]

_ZOO_DIR = Path(__file__).resolve().parent
DATA_SPLITS = ("train", "test")


@dataclass(frozen=True)
class ZooEntry:
    """One zoo model: how to build it, what it takes, where its weights are."""

    name: str                       # registry key, e.g. "vgg_digits"
    build: Callable[[], nn.Module]  # a fresh model with random init (train mode)
    input_shape: tuple[int, ...]    # with batch 1, e.g. (1, 1, 32, 32)
    num_classes: int
    weights_file: str               # file name under models/weights/
    description: str                # one line


def _digits_entry(name: str, build: Callable[[], nn.Module], description: str) -> ZooEntry:
    return ZooEntry(name=name, build=build, input_shape=(1, 1, 32, 32), num_classes=10,
                    weights_file=f"{name}.pt", description=description)


ZOO: dict[str, ZooEntry] = {
    entry.name: entry
    for entry in (
        _digits_entry("vgg_digits", VGGNet,
                      "VGG-style plain CNN (Simonyan & Zisserman 2014): 4 dense 3x3 convs (32-64-128-128), 242k params"),
        _digits_entry("mobilenetv2_digits", MobileNetV2,
                      "MobileNetV2-style (Sandler et al. 2018): 9 inverted residual blocks, 231k params"),
        _digits_entry("resnet_digits", ResNet,
                      "ResNet-style (He et al. 2015): 4 BasicBlocks with 1x1 projection shortcuts, 309k params"),
    )
}


def get_entry(name: str) -> ZooEntry:
    """The entry called `name`; `KeyError` naming the known models otherwise."""
    try:
        return ZOO[name]
    except KeyError:
        raise KeyError(f"unknown zoo model {name!r}; known: {', '.join(ZOO)}") from None


def weights_path(name: str) -> Path:
    """The shipped fp32 state dict of zoo model `name` (models/weights/<name>.pt)."""
    return _ZOO_DIR / "weights" / get_entry(name).weights_file


def data_path(split: str) -> Path:
    """The digits split "train" or "test" as .npz (x: N×1×32×32 float32, y: N int64)."""
    if split not in DATA_SPLITS:
        raise KeyError(f"unknown digits split {split!r}; known: {', '.join(DATA_SPLITS)}")
    return _ZOO_DIR / "data" / f"digits_{split}.npz"


def load_pretrained(name: str) -> nn.Module:
    """Zoo model `name` with its shipped weights (strict), in eval mode, on the CPU."""
    model = get_entry(name).build()
    state = torch.load(weights_path(name), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()
