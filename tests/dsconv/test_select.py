"""Layer and rank selection for depthwise-separable substitution: the target's cost model and the data decide."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from compressor.dsconv.select import select_layers
from compressor.errors import ConfigError
from compressor.targets.load import load_target


class _Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(1, 16, 3, padding=1)  # few input channels
        self.dense = nn.Conv2d(16, 32, 3, padding=1)  # the one that pays
        self.depthwise = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.pointwise = nn.Conv2d(32, 32, 1)
        self.head = nn.Linear(32, 3)

    def forward(self, x):
        x = torch.relu(self.first(x))
        x = torch.relu(self.dense(x))
        x = self.pointwise(torch.relu(self.depthwise(x)))
        return self.head(x.mean(dim=(2, 3)))


@pytest.fixture
def model_and_data():
    torch.manual_seed(0)
    x = np.random.default_rng(0).random((32, 1, 16, 16), dtype=np.float32)
    return _Mixed().eval(), x


def _by_name(choices):
    return {c.name: c for c in choices}


def test_auto_skips_what_does_not_pay_and_substitutes_what_does(model_and_data):
    model, x = model_and_data
    target = load_target("android-arm64")
    choices = _by_name(select_layers(model, x, mode="auto", rank="auto", max_error=0.9, target=target, dtype="int8"))
    assert "few input channels" in choices["first"].skipped
    assert "already depthwise" in choices["depthwise"].skipped
    assert "already pointwise" in choices["pointwise"].skipped
    dense = choices["dense"]
    assert dense.skipped is None and dense.rank is not None
    assert dense.macs_after < dense.macs_before
    assert dense.latency_after_ms < dense.latency_before_ms  # never worse on the target's estimate
    # auto rank: the smallest whose error is under the bound
    assert dense.errors[dense.rank] <= 0.9
    assert all(dense.errors[r] > 0.9 for r in dense.errors if r < dense.rank)


def test_auto_rank_grows_as_the_error_bound_tightens(model_and_data):
    model, x = model_and_data
    target = load_target("android-arm64")
    loose = _by_name(select_layers(model, x, mode="auto", rank="auto", max_error=0.9, target=target, dtype="int8"))
    tight = _by_name(select_layers(model, x, mode="auto", rank="auto", max_error=0.2, target=target, dtype="int8"))
    assert tight["dense"].rank is None or tight["dense"].rank > loose["dense"].rank
    none = _by_name(select_layers(model, x, mode="auto", rank="auto", max_error=1e-4, target=target, dtype="int8"))
    assert none["dense"].rank is None and "exceeds the bound" in none["dense"].skipped


def test_memory_bound_and_not_paying_layers_are_left_dense(model_and_data):
    model, x = model_and_data
    base = load_target("android-arm64")
    # A device with near-infinite compute: every conv is memory-bound, fewer MACs gain nothing.
    fast = dataclasses.replace(base, compute=dataclasses.replace(base.compute, clock_hz=1e18))
    choice = _by_name(select_layers(model, x, mode="auto", rank="auto", max_error=0.9, target=fast,
                                    dtype="int8"))["dense"]
    assert choice.rank is None and "memory-bound" in choice.skipped
    # A device whose depthwise kernels crawl: the pair never beats the dense conv.
    efficiency = {dtype: {**dict(table), "depthwise": 1e-4} for dtype, table in base.compute.efficiency.items()}
    slow_dw = dataclasses.replace(base, compute=dataclasses.replace(base.compute, efficiency=efficiency))
    choice = _by_name(select_layers(model, x, mode="auto", rank="auto", max_error=0.9, target=slow_dw,
                                    dtype="int8"))["dense"]
    assert choice.rank is None and "does not pay" in choice.skipped


def test_all_and_names_modes(model_and_data):
    model, x = model_and_data
    target = load_target("android-arm64")
    every = _by_name(select_layers(model, x, mode="all", rank="3", max_error=0.5, target=target, dtype="int8"))
    assert every["first"].rank == 3 and every["dense"].rank == 3 and every["pointwise"].rank is None
    named = _by_name(select_layers(model, x, mode=("dense",), rank="auto", max_error=0.5, target=target,
                                   dtype="float32"))
    assert named["dense"].rank is not None and named["first"].skipped == "not named in --dsconv"
    with pytest.raises(ConfigError, match="Conv2d layer name"):
        select_layers(model, x, mode=("nope",), rank="auto", max_error=0.5, target=target, dtype="int8")
    with pytest.raises(ConfigError, match="already pointwise"):
        select_layers(model, x, mode=("pointwise",), rank="auto", max_error=0.5, target=target, dtype="int8")
