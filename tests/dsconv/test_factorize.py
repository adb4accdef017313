"""SVD factorisation of dense convs into depthwise + pointwise, and the module / graph swaps."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from compressor.dsconv.factorize import factorize_conv_weight, pair_macs, reconstruct_weight
from compressor.dsconv.substitute import DepthwiseSeparable, conv_layers, lift_convs_, make_pair, swap_module_


def _conv(cin=6, cout=12, k=3, stride=1, padding=1, bias=True, seed=0):
    torch.manual_seed(seed)
    return nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=bias).eval()


@pytest.mark.parametrize("cout,k", [(12, 3), (20, 3), (5, 3), (30, 5)])
def test_full_rank_is_exact(cout, k):
    """At R = k^2 the depthwise/pointwise pair computes exactly the dense conv."""
    conv = _conv(cout=cout, k=k, padding=k // 2)
    pair = make_pair(conv, factorize_conv_weight(conv.weight, k * k))
    x = torch.randn(3, 6, 11, 9)
    with torch.no_grad():
        expected, got = conv(x), pair(x)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)
    assert torch.allclose(reconstruct_weight(factorize_conv_weight(conv.weight, k * k)), conv.weight, atol=1e-6)


def test_low_rank_pair_equals_the_truncated_dense_conv_and_error_falls_with_rank():
    conv = _conv(cout=16, stride=2)
    x = torch.randn(2, 6, 12, 12)
    errors = []
    for rank in range(1, 10):
        factors = factorize_conv_weight(conv.weight, rank)
        pair = make_pair(conv, factors)
        with torch.no_grad():
            truncated = F.conv2d(x, reconstruct_weight(factors), conv.bias, conv.stride, conv.padding)
            got = pair(x)
            assert torch.allclose(got, truncated, atol=1e-5, rtol=1e-4), rank
            errors.append(float((got - conv(x)).norm() / conv(x).norm()))
    assert all(a >= b - 1e-6 for a, b in zip(errors, errors[1:]))
    assert errors[0] > 0.05 and errors[-1] < 1e-5


def test_pair_structure_and_macs():
    conv = _conv(cin=8, cout=32, bias=False)
    pair = make_pair(conv, factorize_conv_weight(conv.weight, 2))
    assert isinstance(pair, DepthwiseSeparable)
    assert pair.depthwise.groups == 16 and pair.depthwise.in_channels == 16 and pair.depthwise.out_channels == 16
    assert pair.pointwise.kernel_size == (1, 1) and pair.pointwise.bias is None
    dw, pw = pair_macs(cin=8, cout=32, kernel_elements=9, rank=2, output_pixels=100)
    assert (dw, pw) == (100 * 8 * 2 * 9, 100 * 16 * 32)


def test_module_swap_keeps_the_following_batchnorm_consistent():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()).eval()
    model[1].running_mean.uniform_(-1, 1)
    model[1].running_var.uniform_(0.5, 2)
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        expected = model(x)
        conv = conv_layers(model)["0"]
        swap_module_(model, "0", make_pair(conv, factorize_conv_weight(conv.weight, 9)))
        got = model(x)
    assert isinstance(model[0], DepthwiseSeparable)
    assert torch.allclose(got, expected, atol=1e-5)
    from compressor.passes.fold_batchnorm import fold_batchnorm

    folded, reason = fold_batchnorm(model)
    assert reason is None and not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    with torch.no_grad():
        assert torch.allclose(folded(x), expected, atol=1e-4)


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.body = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16))
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(torch.relu(self.body(self.stem(x))).mean(dim=(2, 3)))


@pytest.mark.parametrize("form", ["pt2", "torchscript"])
def test_graph_models_are_lifted_to_modules_and_substituted(form):
    """torch.export and TorchScript graphs: aten conv calls become Conv2d modules, then swap."""
    torch.manual_seed(0)
    model = _Net().eval()
    x = torch.randn(2, 1, 12, 12)
    if form == "pt2":
        gm = torch.export.export(model, (x[:1],)).module()
    else:
        from torch._export.converter import TS2EPConverter

        gm = TS2EPConverter(torch.jit.script(model), (x[:1],)).convert().module()
    with torch.no_grad():
        expected = model(x)
    lifted = lift_convs_(gm)
    from compressor.dsconv.substitute import batch_size_works, drop_batch_guard_

    assert not batch_size_works(gm, x)  # the exported graph guards its batch of 1
    assert drop_batch_guard_(gm) and batch_size_works(gm, x)
    assert lifted == {"stem.0": "stem.0", "body.0": "body.0"}
    assert set(conv_layers(gm)) == {"stem.0", "body.0"}
    with torch.no_grad():
        assert torch.allclose(gm(x), expected, atol=1e-5)
        conv = gm.get_submodule("body.0")
        swap_module_(gm, "body.0", make_pair(conv, factorize_conv_weight(conv.weight, 9)))
        assert torch.allclose(gm(x), expected, atol=1e-4)
    # the rewritten graph still exports (torch.export re-traces it) with depthwise + pointwise convs
    program = torch.export.export(gm, (x[:1],))
    convs = [n for n in program.graph.nodes if "conv" in str(n.target)]
    assert len(convs) == 3
