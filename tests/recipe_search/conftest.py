"""A tiny model, its data, budgets and a small space, shared by the search tests (one per module)."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch

from tests.helpers import TINY_NET, save_labelled_data

import optuna  # noqa: E402,F401  (fail loudly when the extra is missing)
import ray  # noqa: E402,F401

TARGET = "android-arm64"
# Small on purpose: 1 recovery epoch, two sparse amounts, QAT on or off, float stem/head or not.
SPACE_TOML = textwrap.dedent("""
    [prune]
    methods = ["none", "unstructured"]
    unstructured_amount = [0.5, 0.7]
    finetune_epochs = [1]
    [int8]
    qat_epochs = [0, 1]
    [recipe.verify]
    max_samples = 32
""")
BUDGETS_TOML = 'min_agreement = "50%"\nmax_size = "1MB"\n'


@pytest.fixture(scope="session")
def search_workspace(tmp_path_factory):
    """A directory with tinynets.py (importable: it is the cwd of every search), tiny.pt, calib.npz,
    test.npz, budgets.toml and space.toml."""
    root = tmp_path_factory.mktemp("search")
    (root / "tinynets.py").write_text(TINY_NET)
    sys.path.insert(0, str(root))
    try:
        import importlib

        tinynets = importlib.import_module("tinynets")
    finally:
        sys.path.remove(str(root))
    torch.manual_seed(0)
    model = tinynets.TinyNet().eval()
    torch.save(model.state_dict(), root / "tiny.pt")
    x = np.random.default_rng(0).random((96, 1, 16, 16), dtype=np.float32)
    save_labelled_data(model, root, x, train=64, names=("calib.npz", "test.npz"))
    (root / "budgets.toml").write_text(BUDGETS_TOML)
    (root / "space.toml").write_text(SPACE_TOML)
    return root


def search_args(root, out, *extra: str) -> list[str]:
    """`compress search` arguments for the tiny workspace."""
    return ["search", str(root / "tiny.pt"), "--arch", "tinynets:TinyNet", "--target", TARGET,
            "--data", str(root / "calib.npz"), "--eval", str(root / "test.npz"),
            "--budget", str(root / "budgets.toml"), "--space", str(root / "space.toml"),
            "--out", str(out), "--workers", "2", *extra]
