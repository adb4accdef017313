"""Reproduce the reference zoo: the digits .npz files and the fp32 weights of every model.

    python scripts/train_zoo.py                          # everything, into the repo's models/
    python scripts/train_zoo.py --models resnet_digits   # one model (data files are rewritten too)
    python scripts/train_zoo.py --out /tmp/zoo --epochs 5 --seed 1

Writes <out>/data/digits_{train,test}.npz and <out>/weights/<name>.pt (a plain state dict),
each atomically (temp file + rename), then prints test accuracy, parameter count, MACs and
train time per model.  Training is deterministic for a given seed and thread count: each
model is seeded on its own, so `--models` picks a subset without changing the others.
About a minute per model on 2 CPU cores.  Needs the package installed (`pip install -e .`)
and scikit-learn.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from compressor.zoo import ZOO, get_entry
from compressor.zoo.digits import DigitsSplit, save_digits_npz, split_digits

REPO_MODELS_DIR = Path(__file__).resolve().parents[1] / "models"


@dataclass(frozen=True)
class TrainConfig:
    """One recipe for every zoo model: SGD with Nesterov momentum, one-cycle learning rate."""

    epochs: int = 30
    batch_size: int = 64
    peak_lr: float = 0.1          # standard for SGD + BatchNorm CNNs at batch 64-128
    momentum: float = 0.9
    weight_decay: float = 5e-4    # the VGG paper's value (Simonyan & Zisserman 2014, section 3.1)
    max_shift_px: int = 3         # < 1 source pixel (4 px): shifts digits without cutting strokes
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs: got {self.epochs}, expected >= 1")
        if self.batch_size < 2:  # BatchNorm needs more than one sample per batch
            raise ValueError(f"batch_size: got {self.batch_size}, expected >= 2")
        if self.max_shift_px < 0:
            raise ValueError(f"max_shift_px: got {self.max_shift_px}, expected >= 0")


@dataclass(frozen=True)
class TrainResult:
    """What the run prints for one model."""

    name: str
    params: int
    macs: int
    test_accuracy: float
    weights_bytes: int
    train_s: float


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates per image of one forward pass, counted with hooks on Conv2d and Linear."""
    total = 0

    def conv_hook(module: nn.Conv2d, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        kernel_h, kernel_w = module.kernel_size
        # output[0]: one image's output, so the count is per image whatever the batch.
        total += output[0].numel() * (module.in_channels // module.groups) * kernel_h * kernel_w

    def linear_hook(module: nn.Linear, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += output[0].numel() * module.in_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(input_shape))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total


def shift_randomly(x: torch.Tensor, max_shift_px: int, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by its own integer offset in [-max_shift_px, max_shift_px] per axis, zero-filled."""
    if max_shift_px == 0:
        return x
    side_h, side_w = x.shape[-2:]
    padded = F.pad(x, (max_shift_px,) * 4)
    offsets = torch.randint(0, 2 * max_shift_px + 1, (x.shape[0], 2), generator=generator).tolist()
    return torch.stack([padded[i, :, top:top + side_h, left:left + side_w] for i, (top, left) in enumerate(offsets)])


def evaluate_accuracy(model: nn.Module, split: DigitsSplit) -> float:
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(split.x)).argmax(dim=1).numpy()
    return float((predicted == split.y).mean())


def train_model(model: nn.Module, train: DigitsSplit, config: TrainConfig) -> nn.Module:
    """Train `model` in place on `train` and return it in eval mode."""
    generator = torch.Generator().manual_seed(config.seed)
    x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
    steps_per_epoch = -(-len(y) // config.batch_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.peak_lr, momentum=config.momentum,
                                nesterov=True, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.peak_lr,
                                                   total_steps=config.epochs * steps_per_epoch)
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), config.batch_size):
            batch = order[start:start + config.batch_size]
            inputs = shift_randomly(x[batch], config.max_shift_px, generator)
            loss = F.cross_entropy(model(inputs), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


def save_state_dict(model: nn.Module, path: Path) -> None:
    """torch.save the state dict to `path` atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    torch.save(model.state_dict(), temp)
    os.replace(temp, path)


def train_and_save(name: str, splits: dict[str, DigitsSplit], config: TrainConfig, out_dir: Path) -> TrainResult:
    entry = get_entry(name)
    # Seeded per model so the weights do not depend on which other models were trained first.
    torch.manual_seed(config.seed)
    model = entry.build()
    start = time.perf_counter()
    train_model(model, splits["train"], config)
    train_s = time.perf_counter() - start
    path = out_dir / "weights" / entry.weights_file
    save_state_dict(model, path)
    return TrainResult(name=name, params=sum(p.numel() for p in model.parameters()),
                       macs=count_macs(model, entry.input_shape),
                       test_accuracy=evaluate_accuracy(model, splits["test"]),
                       weights_bytes=path.stat().st_size, train_s=train_s)


def print_results(results: list[TrainResult]) -> None:
    print("| model | params | MACs | test top-1 | weights kB | train s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r.name} | {r.params:,} | {r.macs / 1e6:.2f} M | {100 * r.test_accuracy:.2f}% "
              f"| {r.weights_bytes / 1e3:.0f} | {r.train_s:.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_MODELS_DIR, help="zoo folder (default: the repo's models/)")
    parser.add_argument("--models", default=",".join(ZOO), help="comma-separated zoo names (default: all)")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--threads", type=int, default=2,
                        help="torch CPU threads; results are reproducible for a fixed count (default: 2)")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    for name in names:
        get_entry(name)  # fail on a typo before spending minutes on the others
    config = TrainConfig(epochs=args.epochs, seed=args.seed)

    # A script owns its process, so it may set torch's global switches (the library never does).
    torch.set_num_threads(args.threads)
    try:
        torch.use_deterministic_algorithms(True)
    except RuntimeError as error:  # only when the build lacks deterministic kernels
        print(f"warning: deterministic algorithms unavailable: {error}", file=sys.stderr)

    splits = split_digits()
    for split_name, split in splits.items():
        path = args.out / "data" / f"digits_{split_name}.npz"
        save_digits_npz(split, path)
        print(f"{path}: {len(split.y)} images, {path.stat().st_size / 1e3:.0f} kB")

    results = []
    for name in names:
        results.append(train_and_save(name, splits, config, args.out))
        r = results[-1]
        print(f"{name}: test top-1 {100 * r.test_accuracy:.2f}%, {r.params:,} params, {r.train_s:.1f} s", flush=True)
    print_results(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
