"""Fixtures shared by the whole suite: tiny workspaces with a model, its source and data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import TINY_NET, import_source, save_labelled_data


@pytest.fixture
def residual_workspace(tiny_workspace):
    """tiny_workspace plus a residual net (tests/prune_patterns.py) saved as res.pt, with data."""
    from tests.prune_patterns import Residual

    torch.manual_seed(0)
    model = Residual().eval()
    torch.save(model.state_dict(), tiny_workspace / "res.pt")
    save_labelled_data(model, tiny_workspace, np.random.default_rng(1).random((80, 1, 16, 16), dtype=np.float32),
                       train=64)
    return tiny_workspace, model


@pytest.fixture
def tiny_workspace(tmp_path, monkeypatch):
    """tmp_path with tinynets.py importable, a trained-looking TinyNet state dict and data."""
    tinynets = import_source(tmp_path, monkeypatch, "tinynets", TINY_NET)
    torch.manual_seed(0)
    model = tinynets.TinyNet().eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
            module.running_mean.uniform_(-0.2, 0.2)
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    x = np.random.default_rng(0).random((96, 1, 16, 16), dtype=np.float32)
    save_labelled_data(model, tmp_path, x, train=64, names=("calib.npz", "test.npz"))
    return tmp_path
