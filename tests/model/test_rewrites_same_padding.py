"""A conv subclass that pads in its forward (TF-"same") still has its BatchNorm folded by the converter,
not rewritten into a depthwise op of its own (EfficientNet-Lite0: 0 of 49 folded before)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compressor.model.rewrites import rewrite_for_int8_


class SamePadConv(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(F.pad(x, (0, 1, 0, 1)), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _net(conv_type):
    torch.manual_seed(0)
    net = nn.Sequential(conv_type(3, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(), nn.BatchNorm2d(8)).eval()
    for bn in (net[1], net[3]):
        bn.running_mean.uniform_(-1, 1); bn.running_var.uniform_(0.5, 2)
    return net


def test_batchnorm_after_a_padding_conv_subclass_is_left_to_the_fold():
    net = _net(SamePadConv)
    x = torch.randn(2, 3, 16, 16)
    before = net(x)
    done = rewrite_for_int8_(net)
    rewritten = [d["where"] for d in done if d["rewrite"] == "batchnorm_as_depthwise"]
    assert "1" not in rewritten  # right after the conv: the converter folds it
    assert "3" in rewritten  # after the ReLU: still one depthwise op (the control that can fail the other way)
    torch.testing.assert_close(net(x), before, rtol=1e-5, atol=1e-5)
