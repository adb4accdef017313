"""Channel pruning through ops torch-pruning cannot map (issue 12, point 4): a ShuffleNetV2's
channel shuffle (view / transpose / view).  The groups crossing a shuffle are skipped and
named; the rest is pruned; no internal error."""

from __future__ import annotations

import json

import numpy as np
import torch
from click.testing import CliRunner

from compressor.cli.main import cli
from compressor.prune.channels import find_channel_groups, prune_channels_
from tests.helpers import save_labelled_data
from tests.prune_patterns import TinyShuffleNet


def test_torch_pruning_alone_fails_on_a_channel_shuffle():
    """The bug this guards against: torch-pruning's own graph build divides by zero here."""
    import pytest
    import torch_pruning as tp

    model = TinyShuffleNet().eval()
    with pytest.raises(ZeroDivisionError):
        tp.DependencyGraph().build_dependency(model, example_inputs=[torch.zeros(1, 1, 16, 16)], verbose=False)


def test_groups_across_a_shuffle_are_skipped_and_the_rest_is_cut_consistently():
    torch.manual_seed(0)
    model = TinyShuffleNet().eval()
    _, groups, skipped = find_channel_groups(model, (torch.zeros(1, 1, 16, 16),))
    # every unit's last conv feeds the concat + shuffle: never cut, and named by its group
    for layer in ("stages.1.0.right.5", "stages.2.1.right.5", "stages.1.0.left.2", "stages.0.0.left.2"):
        assert skipped[layer].startswith("group of ") and "channel shuffle" in skipped[layer], layer
    assert all(g.skipped.startswith(f"group of {g.root}:") for g in groups if g.skipped)
    # a branch's inner channels (1x1 -> depthwise -> 1x1) do not cross it: cut
    assert "stages.2.1.right.0" not in skipped and "conv5.0" not in skipped
    x = torch.randn(4, 1, 16, 16)
    before = sum(p.numel() for p in model.parameters())
    outcome = prune_channels_(model, (x[:1],), amount=0.5, channel_multiple=8)
    assert model(x).shape == (4, 4)  # the cut layers still fit together
    assert sum(p.numel() for p in model.parameters()) <= 0.6 * before
    assert any("channel shuffles" in note and "stages.1.1.right.5" in note for note in outcome.notes)


def test_shufflenet_channel_prune_at_half_exits_0_and_names_the_skipped_groups(tiny_workspace):
    workspace = tiny_workspace
    torch.manual_seed(0)
    model = TinyShuffleNet().eval()
    torch.save(model.state_dict(), workspace / "shuffle.pt")
    save_labelled_data(model, workspace, np.random.default_rng(2).random((48, 1, 16, 16), dtype=np.float32), train=32)
    result = CliRunner().invoke(cli, ["shuffle.pt", "--arch", "tests.prune_patterns:TinyShuffleNet", "--target",
                                      "android-arm64", "--format", "onnx", "--prune", "channels:0.5", "--finetune-epochs", "0",
                                      "--data", "train.npz", "--eval", "heldout.npz", "--min-agreement", "0",
                                      "--out", "s", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((workspace / "s" / "report.json").read_text())
    prune = next(step for step in report["steps"] if step["name"] == "prune")
    assert prune["params_after"] <= 0.6 * prune["params_before"]
    named = {s["name"]: s["reason"] for s in prune["skipped"]}
    assert "stages.1.0.right.5" in named and "channel shuffle" in named["stages.1.0.right.5"]
    assert any("channel shuffles" in note for note in prune["notes"])
