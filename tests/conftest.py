"""Tiny models and data for fast end-to-end tests (the zoo's own tests live in test_zoo.py)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch

TINY_NET = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class TinyNet(nn.Module):
        """A small image classifier: conv-BN-ReLU twice with a residual add, pool, linear."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
            self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
            self.head = nn.Linear(8, 4)

        def forward(self, x):
            y = self.stem(x)
            y = torch.relu(self.body(y) + y)
            return self.head(y.mean(dim=(2, 3)))


    class TinyAudioNet(nn.Module):
        """Audio frames N×L: a 1-D conv net."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv1d(1, 8, 9, stride=2), nn.BatchNorm1d(8), nn.ReLU())
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.conv(x.unsqueeze(1)).mean(dim=2))


    class Unconvertible(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            return torch.erfinv(torch.tanh(self.conv(x)) * 0.5).mean(dim=(2, 3))
''')


@pytest.fixture
def tiny_workspace(tmp_path, monkeypatch):
    """tmp_path with tinynets.py importable, a trained-looking TinyNet state dict and data."""
    (tmp_path / "tinynets.py").write_text(TINY_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import importlib

    import tinynets

    importlib.reload(tinynets)
    torch.manual_seed(0)
    model = tinynets.TinyNet().eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
            module.running_mean.uniform_(-0.2, 0.2)
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    rng = np.random.default_rng(0)
    x = rng.random((96, 1, 16, 16), dtype=np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()  # labels the model gets right
    np.savez(tmp_path / "calib.npz", x=x[:64], y=y[:64])
    np.savez(tmp_path / "test.npz", x=x[64:], y=y[64:])
    return tmp_path
