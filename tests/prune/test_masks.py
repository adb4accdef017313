"""Unstructured and 2:4 weight masks (compressor/prune/masks.py) on small real torch models."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from compressor.errors import ConfigError
from compressor.prune.masks import FIRST_LAYER_MAX_AMOUNT, MAX_LAYER_AMOUNT, cubic_sparsity, keep_2to4, make_mask_pruner


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)  # 432 weights, 3 inputs: no 2:4
        self.conv = nn.Conv2d(16, 32, 3, padding=1)  # 4608
        self.depthwise = nn.Conv2d(32, 32, 3, padding=1, groups=32)  # 288, 1 input per output
        self.pointwise = nn.Conv2d(32, 32, 1)  # 1024
        self.head = nn.Linear(32, 10)  # 320, the classifier

    def forward(self, x):
        y = torch.relu(self.conv(torch.relu(self.stem(x))))
        y = torch.relu(self.pointwise(self.depthwise(y)))
        return self.head(y.mean(dim=(2, 3)))


class SmallMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                  nn.Linear(32, 8), nn.ReLU())  # 2048, 2048, 256
        self.tiny = nn.Linear(8, 8)  # 64 weights: too small
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        return self.head(torch.relu(self.tiny(self.body(x))))


def make(cls):
    torch.manual_seed(0)
    return cls()


def zero_fraction(module: nn.Module) -> float:
    return float((module.weight == 0).float().mean())


def by_name(outcome):
    return {layer.name: layer for layer in outcome.layers}


def test_unstructured_reaches_the_amount_and_leaves_the_classifier():
    model = make(SmallCNN)
    head = model.head.weight.detach().clone()
    pruner = make_mask_pruner(model, method="unstructured", amount=0.8, layers="all", total_steps=10)
    pruner.step(10, 10)
    outcome = pruner.finalize_()
    assert 0.78 <= outcome.achieved <= 0.82
    layers = by_name(outcome)
    assert layers["head"].skipped == "classifier output layer"
    assert torch.equal(model.head.weight, head)
    assert zero_fraction(model.stem) <= FIRST_LAYER_MAX_AMOUNT + 1e-9
    assert any("stem" in note and "input layer" in note for note in outcome.notes)
    for name in ("conv", "depthwise", "pointwise"):
        assert layers[name].skipped is None
        assert layers[name].achieved == pytest.approx(zero_fraction(getattr(model, name)))
        assert layers[name].achieved <= MAX_LAYER_AMOUNT + 1e-9
    zeros = sum(int((getattr(model, n).weight == 0).sum()) for n in ("stem", "conv", "depthwise", "pointwise"))
    assert outcome.achieved == pytest.approx(zeros / (432 + 4608 + 288 + 1024))


def test_cap_binds_and_the_rest_goes_to_other_layers():
    model = make(SmallCNN)
    with torch.no_grad():
        model.pointwise.weight.mul_(1e-3)  # the global ranking would empty this layer first
    pruner = make_mask_pruner(model, method="unstructured", amount=0.8, total_steps=1)
    pruner.step(1, 1)
    outcome = pruner.finalize_()
    assert zero_fraction(model.pointwise) == pytest.approx(int(0.95 * 1024) / 1024)
    assert any(note.startswith("pointwise: the per-layer cap") for note in outcome.notes)
    assert 0.78 <= outcome.achieved <= 0.82  # the cap's share came from the other layers
    assert not any("cap" in note and note.startswith("conv:") for note in outcome.notes)


def test_caps_can_leave_the_request_short_and_say_so():
    model = make(SmallMLP)
    pruner = make_mask_pruner(model, method="unstructured", amount=0.99, layers=("body.0",), total_steps=1)
    outcome = pruner.finalize_()  # finalize_ alone reaches the full amount
    assert outcome.achieved == pytest.approx(0.5)  # body.0 is the input layer: capped at 50%
    assert any("reached 50.0%" in note for note in outcome.notes)


def test_cubic_schedule_values():
    assert cubic_sparsity(0, 100, 0.8) == 0.0
    assert cubic_sparsity(40, 100, 0.8) == pytest.approx(0.8 * (1 - 0.5 ** 3))
    assert cubic_sparsity(80, 100, 0.8) == pytest.approx(0.8)
    assert cubic_sparsity(100, 100, 0.8) == pytest.approx(0.8)
    values = [cubic_sparsity(t, 100, 0.8) for t in range(101)]
    assert all(a <= b for a, b in zip(values, values[1:]))


def test_schedule_raises_masks_monotonically_during_training():
    model = make(SmallMLP)
    total = 10
    pruner = make_mask_pruner(model, method="unstructured", amount=0.7, total_steps=total)
    layers = [model.body[0], model.body[2], model.body[4]]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 32, generator=generator), torch.randint(0, 4, (32,), generator=generator)
    previous = [torch.zeros_like(layer.weight, dtype=torch.bool) for layer in layers]
    fractions = []
    for step in range(1, total + 1):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        pruner.step(step, total)
        zeros = [layer.weight == 0 for layer in layers]
        for now, before in zip(zeros, previous):
            assert bool(now[before].all())  # once masked, stays zero despite the optimizer
        previous = zeros
        fractions.append(sum(int(z.sum()) for z in zeros) / sum(z.numel() for z in zeros))
    assert fractions[0] == pytest.approx(cubic_sparsity(1, total, 0.7), abs=1e-3)
    assert fractions[-1] == pytest.approx(0.7, abs=1e-3)
    assert fractions[6] < 0.7 - 1e-3 and fractions[7] == pytest.approx(0.7, abs=1e-3)  # 0.8 T, held
    assert fractions[2] < fractions[4] < fractions[6]
    outcome = pruner.finalize_()
    assert outcome.achieved == pytest.approx(0.7, abs=1e-3)
    assert by_name(outcome)["tiny"].skipped == "too small (64 weights)"


def groups_along_inputs(weight: torch.Tensor) -> torch.Tensor:
    """[groups, 4] views of a weight along its input axis, built independently of the module."""
    if weight.ndim == 4:
        weight = weight.permute(0, 2, 3, 1)
    return weight.reshape(-1, 4)


def test_2to4_keeps_the_two_largest_in_every_group_of_four():
    model = make(SmallCNN)
    before = copy.deepcopy(model)
    pruner = make_mask_pruner(model, method="2:4", amount=0.5, total_steps=5)
    pruner.step(1, 5)
    outcome = pruner.finalize_()
    layers = by_name(outcome)
    assert "multiple of 4" in layers["depthwise"].skipped and "depthwise" in layers["depthwise"].skipped
    assert "3 inputs" in layers["stem"].skipped
    assert layers["head"].skipped == "classifier output layer"
    assert torch.equal(model.depthwise.weight, before.depthwise.weight)
    assert outcome.requested == 0.5 and outcome.achieved == 0.5
    for name in ("conv", "pointwise"):
        after = groups_along_inputs(getattr(model, name).weight.detach())
        original = groups_along_inputs(getattr(before, name).weight.detach()).abs()
        zero = after == 0
        assert bool((zero.sum(dim=1) == 2).all())
        kept_min = original.masked_fill(zero, float("inf")).min(dim=1).values
        dropped_max = original.masked_fill(~zero, -1.0).max(dim=1).values
        assert bool((kept_min >= dropped_max).all())


def test_2to4_on_linear_and_ties_keep_the_lower_index():
    model = make(SmallMLP)
    with torch.no_grad():
        model.body[2].weight.fill_(0.5)
    pruner = make_mask_pruner(model, method="2:4", amount=0.5, total_steps=3)
    for step in range(1, 4):
        pruner.step(step, 3)
    pruner.finalize_()
    for linear in (model.body[0], model.body[2], model.body[4]):
        assert bool(((linear.weight.reshape(-1, 4) == 0).sum(dim=1) == 2).all())
    assert bool((model.body[2].weight.reshape(-1, 4)[:, :2] == 0.5).all())
    assert bool((model.body[2].weight.reshape(-1, 4)[:, 2:] == 0).all())
    conv1d = torch.arange(2 * 8 * 3, dtype=torch.float32).reshape(2, 8, 3)
    keep = keep_2to4(conv1d)
    assert keep.shape == conv1d.shape
    assert bool((keep.permute(0, 2, 1).reshape(-1, 4).sum(dim=1) == 2).all())
    assert bool(keep[:, 2:4].all() and not keep[:, 0:2].any())  # larger input indices are larger here


def test_layer_names_restrict_the_set():
    model = make(SmallCNN)
    before = copy.deepcopy(model)
    pruner = make_mask_pruner(model, method="unstructured", amount=0.6, layers=("conv.weight", "pointwise"),
                              total_steps=1)
    outcome = pruner.finalize_()
    assert [layer.name for layer in outcome.layers] == ["conv", "pointwise"]
    assert 0.59 <= outcome.achieved <= 0.61
    for name in ("stem", "depthwise", "head"):
        assert torch.equal(getattr(model, name).weight, getattr(before, name).weight)
    mlp = make(SmallMLP)
    outcome = make_mask_pruner(mlp, method="2:4", amount=0.5, layers=("body",)).finalize_()
    assert [layer.name for layer in outcome.layers] == ["body.0", "body.2", "body.4"]
    with pytest.raises(ConfigError, match="prune.layers"):
        make_mask_pruner(mlp, method="2:4", amount=0.5, layers=("body.1",))
    with pytest.raises(ConfigError, match="^prune: "):
        make_mask_pruner(mlp, method="2:4", amount=0.7)


def test_finalize_leaves_a_plain_model():
    model = make(SmallCNN)
    keys = list(model.state_dict())
    pruner = make_mask_pruner(model, method="unstructured", amount=0.5, total_steps=4)
    pruner.step(2, 4)
    outcome = pruner.finalize_()
    assert list(model.state_dict()) == keys
    assert pruner.finalize_() is outcome
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks and not module._backward_hooks
        assert not torch.nn.utils.parametrize.is_parametrized(module)
    zeros = model.conv.weight == 0
    assert bool(zeros.any())
    with torch.no_grad():
        model(torch.randn(2, 3, 8, 8)).sum()
    assert torch.equal(model.conv.weight == 0, zeros)
    assert np.signbit(model.conv.weight.detach()[zeros].numpy()).sum() == 0  # exactly +0.0
    with pytest.raises(RuntimeError):
        pruner.step(4, 4)


def test_deterministic():
    outcomes, weights = [], []
    for _ in range(2):
        model = make(SmallCNN)
        pruner = make_mask_pruner(model, method="unstructured", amount=0.75, total_steps=3)
        for step in range(1, 4):
            pruner.step(step, 3)
        outcomes.append(pruner.finalize_().to_dict())
        weights.append(model.conv.weight.detach().clone())
    assert outcomes[0] == outcomes[1]
    assert torch.equal(weights[0], weights[1])


def test_zoo_vgg_masks():
    from compressor.zoo import load_pretrained

    model = load_pretrained("vgg_digits")
    outcome = make_mask_pruner(model, method="2:4", amount=0.5).finalize_()
    layers = by_name(outcome)
    assert outcome.achieved == 0.5
    assert layers["classifier"].skipped == "classifier output layer"
    assert "1 input per output" in layers["features.0.0"].skipped
    assert [name for name, layer in layers.items() if layer.skipped is None] == \
        ["features.2.0", "features.4.0", "features.5.0"]
    model = load_pretrained("vgg_digits")
    outcome = make_mask_pruner(model, method="unstructured", amount=0.8).finalize_()
    assert 0.79 <= outcome.achieved <= 0.81
    assert by_name(outcome)["features.0.0"].achieved <= 0.5
