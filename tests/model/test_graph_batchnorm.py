"""BatchNorm after an activation, before a max-pool (issue 12 point 3), in module and graph form.

litert-torch lowers a BatchNorm it cannot fold as SUB, MUL, MUL, ADD, each requantized in int8.
In graph form (torch.export / TorchScript) the module rewrites never saw it; now the aten BN
moves through the max-pool, folds into the next conv when that is exact, else becomes one
depthwise op.  Each test fails on the code before the rewrite.
"""

from __future__ import annotations

import copy
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from compressor.model.graph_batchnorm import ChannelAffine, rewrite_graph_batchnorms_
from compressor.model.rewrites import rewrite_for_int8_


def _trained_bn(channels: int, *, positive: bool = True) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(channels)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5) if positive else bn.weight.uniform_(-1.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    return bn.eval()


class _PitchLike(nn.Module):
    """conv -> ReLU -> BN -> max-pool twice (CREPE's layer), then a conv without / with zero padding."""

    def __init__(self, pad_next: bool, positive: bool = True):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 8, (9, 1)), _trained_bn(8, positive=positive)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, (5, 1)), _trained_bn(8, positive=positive)
        self.pad_next = pad_next
        self.head = nn.Linear(8 * 6, 5)

    def forward(self, x):
        x = F.max_pool2d(self.bn1(F.relu(self.conv1(x))), (2, 1), (2, 1))
        if self.pad_next:
            x = F.pad(x, (0, 0, 2, 2))
        x = F.max_pool2d(self.bn2(F.relu(self.conv2(x))), (2, 1), (2, 1))
        x = x[:, :, :6, 0].flatten(1)
        return torch.sigmoid(self.head(x))


def _graph(model: nn.Module, x: torch.Tensor) -> torch.fx.GraphModule:
    return torch.export.export(model, (x,)).module()


def _ops(gm: torch.fx.GraphModule) -> Counter:
    return Counter(str(n.target).split(".")[1] for n in gm.graph.nodes if n.op == "call_function"
                   and str(n.target).startswith("aten."))


@pytest.mark.parametrize("pad_next", [False, True])
def test_graph_batchnorm_moves_through_the_pool_and_folds_or_becomes_one_op(pad_next):
    torch.manual_seed(0)
    model = _PitchLike(pad_next).eval()
    x = torch.randn(1, 1, 64, 1)
    gm = _graph(model, x)
    assert _ops(gm)["batch_norm"] == 2
    done = rewrite_graph_batchnorms_(gm)
    kinds = Counter(d["rewrite"] for d in done)
    assert kinds["move_bn_through_maxpool"] == 2
    assert _ops(gm)["batch_norm"] == 0
    with torch.no_grad():
        assert torch.allclose(gm(x), model(x), atol=1e-6)
    if pad_next:  # zero padding between: the fold would be wrong at the border, so one depthwise op
        assert kinds["fold_bn_into_next_conv"] == 0 and kinds["batchnorm_as_depthwise"] == 2
    else:  # bn1 folds into conv2 (no padding); bn2 feeds a slice, not a conv
        assert kinds["fold_bn_into_next_conv"] == 1 and kinds["batchnorm_as_depthwise"] == 1
    # The pools now read the ReLUs directly (BN after them, on half the values).
    pools = [n for n in gm.graph.nodes if n.op == "call_function" and "max_pool2d" in str(n.target)]
    assert all("relu" in str(p.args[0].target) for p in pools)


def test_a_negative_scale_does_not_move_through_the_pool():
    torch.manual_seed(1)
    model = _PitchLike(pad_next=True, positive=False).eval()
    with torch.no_grad():
        model.bn1.weight[0] = -1.0
        model.bn2.weight[0] = -1.0
    x = torch.randn(1, 1, 64, 1)
    gm = _graph(model, x)
    done = rewrite_graph_batchnorms_(gm)
    assert not any(d["rewrite"] == "move_bn_through_maxpool" for d in done)  # max(-x) != -max(x)
    with torch.no_grad():
        assert torch.allclose(gm(x), model(x), atol=1e-6)


def test_graph_form_batchnorm_exports_as_one_op_not_four(tmp_path):
    from compressor.passes.export_tflite import export_tflite
    from compressor.tflite.names import ops_by_layer

    torch.manual_seed(0)
    model = _PitchLike(pad_next=True).eval()
    x = torch.randn(1, 1, 64, 1)
    counts = {}
    for name, rewrite in (("before", False), ("after", True)):
        gm = _graph(model, x)
        if rewrite:
            rewrite_for_int8_(gm)
        export_tflite(gm, (x,), tmp_path / f"{name}.tflite")
        counts[name] = Counter(op for op, _, _ in ops_by_layer(tmp_path / f"{name}.tflite"))
    assert counts["before"]["SUB"] >= 2 and counts["before"]["MUL"] >= 4  # BN as four element-wise ops
    assert counts["after"]["SUB"] == 0 and counts["after"]["MUL"] == 0
    # one depthwise op per BN (the converter may write the 1-input-channel stem as depthwise too)
    assert counts["after"]["DEPTHWISE_CONV_2D"] == counts["before"]["DEPTHWISE_CONV_2D"] + 2


class _Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 6, 5, padding=2)
        self.bn = nn.BatchNorm1d(6)
        self.fc = nn.Linear(6, 6)
        self.bn_flat = nn.BatchNorm1d(6)
        with torch.no_grad():
            for bn in (self.bn, self.bn_flat):
                bn.running_mean.uniform_(-1, 1)
                bn.running_var.uniform_(0.5, 2)

    def forward(self, x):
        y = F.max_pool1d(self.bn(F.relu(self.conv(x))), 2)
        return self.bn_flat(F.relu(self.fc(y.mean(-1))))


def test_module_batchnorm1d_after_an_activation_becomes_one_affine_module():
    torch.manual_seed(0)
    model = _Conv1dNet().eval()
    rewritten = copy.deepcopy(model)
    done = rewrite_for_int8_(rewritten)
    assert [d["where"] for d in done if d["rewrite"] == "batchnorm_as_depthwise"] == ["bn", "bn_flat"]
    assert isinstance(rewritten.bn, ChannelAffine) and isinstance(rewritten.bn_flat, ChannelAffine)
    x = torch.randn(3, 2, 32)
    with torch.no_grad():
        assert torch.allclose(rewritten(x), model(x), atol=1e-6)


def test_batchnorm_right_after_a_conv_is_left_to_the_converter():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), _trained_bn(4), nn.ReLU()).eval()
    gm = _graph(model, torch.randn(1, 1, 8, 8))
    assert rewrite_graph_batchnorms_(gm) == []  # conv -> BN folds into the conv's weights at export
