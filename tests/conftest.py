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


def import_source(tmp_path, monkeypatch, name: str, source: str):
    """Write ``source`` as ``tmp_path/name.py``, make it importable (cwd = tmp_path), import it fresh."""
    import importlib

    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    importlib.invalidate_caches()
    module = importlib.import_module(name)
    return importlib.reload(module)


def save_labelled_data(model, directory, x: np.ndarray, *, train: int, names=("train.npz", "heldout.npz")) -> None:
    """``x`` labelled by ``model`` itself (so the model scores 100%), split into two .npz files."""
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    np.savez(directory / names[0], x=x[:train], y=y[:train])
    np.savez(directory / names[1], x=x[train:], y=y[train:])


def save_graph_form(model, directory, form: str, example: tuple) -> str:
    """Save ``model`` as a torch.export archive (``.pt2``) or TorchScript (``.ts``); its file name."""
    if form == "torch.export":
        torch.export.save(torch.export.export(model, example), directory / "res.pt2")
        return "res.pt2"
    torch.jit.save(torch.jit.trace(model, example), directory / "res.ts")
    return "res.ts"


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
