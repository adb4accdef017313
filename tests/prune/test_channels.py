"""Structured pruning on residual, concat, split, grouped-conv and SE patterns, and the scan."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compressor.prune.channels import prune_channels_
from compressor.prune.sensitivity import allocate_amounts, scan_sensitivity
from tests.prune_patterns import PATTERNS, Residual, WithCustomLayer

MULTIPLE = 8


def _model(cls):
    torch.manual_seed(0)
    model = cls().eval()
    for module in model.modules():  # BatchNorm statistics as after training, so channels differ
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.2, 1.5)
    return model


def _convs(model):
    return {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)}


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_pattern_pruned_to_channel_multiple_and_runs_in_litert(pattern, tmp_path):
    from compressor.passes.export_tflite import export_tflite
    from compressor.measure.runtime import open_runtime

    model = _model(PATTERNS[pattern])
    x = torch.randn(4, 1, 16, 16)
    params_before = sum(p.numel() for p in model.parameters())
    outcome = prune_channels_(model, (x[:1],), amount=0.5, channel_multiple=MULTIPLE)
    assert sum(p.numel() for p in model.parameters()) < 0.5 * params_before
    assert abs(outcome.achieved - 0.5) <= 0.02, outcome
    for name, conv in _convs(model).items():
        assert conv.out_channels % MULTIPLE == 0, (name, conv.out_channels)
        assert conv.out_channels < 64
    head = next(layer for layer in outcome.layers if layer.name == "head")
    assert head.skipped and "output" in head.skipped and model.head.out_features == 4
    with torch.no_grad():
        expected = model(x[:1]).numpy()
    path = tmp_path / "pruned.tflite"
    export_tflite(model, (x[:1],), path)
    got = open_runtime(path, num_threads=1).run([x[:1].numpy()])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_split_cuts_both_halves_alike():
    model = _model(PATTERNS["split"])
    prune_channels_(model, (torch.randn(1, 1, 16, 16),), amount=0.5, channel_multiple=MULTIPLE)
    convs = _convs(model)
    assert convs["stem.0"].out_channels == 2 * convs["a.0"].in_channels == 2 * convs["b.0"].in_channels


def test_unsupported_layer_is_skipped_and_named_not_a_crash():
    model = _model(WithCustomLayer)
    x = torch.randn(2, 1, 16, 16)
    outcome = prune_channels_(model, (x[:1],), amount=0.5, channel_multiple=MULTIPLE)
    reasons = {layer.name: layer.skipped for layer in outcome.layers}
    assert "scale.gain" in reasons["stem.0"] and "Scale" in reasons["stem.0"]
    assert "scale.gain" in reasons and model.stem[0].out_channels == 32 and model.scale.gain.shape[1] == 32
    assert model.body[0].out_channels == 16  # the rest still pruned
    assert model(x).shape == (2, 4)
    assert {s["name"] for s in outcome.to_dict()["skipped"]} >= {"stem.0", "scale.gain", "head"}


def test_layer_list_limits_pruning_and_taylor_importance_runs():
    model = _model(Residual)
    x = torch.randn(16, 1, 16, 16)
    outcome = prune_channels_(model, (x[:1],), amount=0.5, channel_multiple=MULTIPLE, layers=("a.0",),
                              importance="taylor", x=x)
    assert model.a[0].out_channels == 16 and model.stem[0].out_channels == 32
    assert dict((layer.name, layer.skipped) for layer in outcome.layers)["stem.0"] == "not in --prune-layers"


def test_sensitivity_scan_allocates_the_global_amount():
    model = _model(PATTERNS["concat"])
    x = torch.randn(32, 1, 16, 16)
    rows = scan_sensitivity(model, (x[:1],), x, channel_multiple=MULTIPLE)
    assert {row.layer for row in rows} >= {"stem.0", "left.0", "fuse.0"}
    assert all(len(row.errors) == 3 and row.errors[2] >= 0 for row in rows)
    assert all(m.out_channels in (32, 16) for m in _convs(model).values())  # scanned on a copy
    rows, amounts = allocate_amounts(rows, 0.5)
    outcome = prune_channels_(model, (x[:1],), amount=0.5, channel_multiple=MULTIPLE, layer_amounts=amounts)
    assert abs(outcome.achieved - 0.5) <= 0.1
    assert model(x).shape == (32, 4)
