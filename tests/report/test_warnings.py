"""Padded channels are stated as estimated latency on the target, from the target's cost model."""

from __future__ import annotations

import pytest
import torch

from compressor import compress
from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.measure.padding import channel_padding_cost, without_channel_padding
from compressor.report.warnings import group_warnings
from compressor.targets.load import load_target


def _net(channels: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(16, channels, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(channels, channels, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(channels, 16)).eval()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("padding")
    return {channels: compress(_net(channels), target="android-arm64", out=root / str(channels),
                               passes=("fold", "export", "estimate"), export={"format": "onnx"},
                               example_inputs=torch.zeros(1, 16, 32, 32))
            for channels in (12, 20, 32)}


def test_padded_layers_cost_a_positive_latency_share_that_follows_the_padding(reports):
    padding = {c: r.report["estimate"]["channel_padding"] for c, r in reports.items()}
    assert padding[32] is None  # 32 and 16 are multiples of android-arm64's 16: nothing pads
    for channels in (12, 20):
        p = padding[channels]
        assert p["layers"] == 2 and p["latency_increase_percent"] > 0
        assert p["latency_ms"] == pytest.approx(reports[channels].report["estimate"]["latency_ms"])
        assert p["unpadded_latency_ms"] < p["latency_ms"]
    # 12 channels pad to 16 (4 wasted), 20 to 32 (12 wasted of 32): different shares
    assert padding[12]["latency_increase_percent"] != padding[20]["latency_increase_percent"]
    group = next(g for g in group_warnings(reports[12].report) if g.kind == "channels")
    assert len(group.items) == 2
    assert f"+{padding[12]['latency_increase_percent']:.0f}% estimated latency on android-arm64" in group.headline


def test_the_unpadded_cost_is_the_same_cost_model_with_a_tile_of_one(reports):
    path = reports[12].artifact_path
    target = load_target("android-arm64")
    graph = read_graph(path)
    kernels = check_kernels(graph, target)
    flat = without_channel_padding(target)
    assert flat.compute.channel_tile_of("float32", "conv") == 1 and flat.name == target.name
    assert not [w for w in check_kernels(graph, flat).warnings if w.kind == "channel_multiple"]
    cost = channel_padding_cost(graph, target, kernels)
    assert cost["extra_ms"] == pytest.approx(kernels.latency_ms - check_kernels(graph, flat).latency_ms)
