"""Lifting a graph's aten convs and Linear-shaped calls into modules (dsconv/substitute.py)."""

from __future__ import annotations

import torch
from torch import nn

from compressor.dsconv.substitute import lift_convs_, lift_linears_, open_graph_


class MatmulNet(nn.Module):
    """A conv, a Linear, and a hand-written x @ W with a constant W (no nn.Linear)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 6 * 6, 16)
        self.proj = nn.Parameter(torch.randn(16, 5))

    def forward(self, x):
        y = torch.flatten(torch.relu(self.conv(x)), 1)
        return torch.relu(self.fc(y)) @ self.proj


def test_linears_and_constant_matmuls_become_modules_with_the_same_outputs():
    torch.manual_seed(0)
    model = MatmulNet().eval()
    x = torch.randn(3, 1, 6, 6)
    gm = torch.export.export(model, (x[:1],)).module()
    convs, linears, batches = open_graph_(gm, x)
    assert set(convs) == {"conv"} and set(linears) == {"fc", "proj"} and batches
    assert isinstance(gm.get_submodule(linears["fc"]), nn.Linear)
    proj = gm.get_submodule(linears["proj"])
    assert isinstance(proj, nn.Linear) and proj.weight.shape == (5, 16)  # x @ W is Linear(weight=Wᵀ)
    assert not any("linear" in str(n.target) or "matmul" in str(n.target) for n in gm.graph.nodes)
    # the input layer comes first, as in an nn.Module (the pruners read first/last from this order)
    assert [name for name, m in gm.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))][0] == "conv"
    with torch.no_grad():
        assert torch.allclose(gm(x), model(x), atol=1e-6)


def test_a_constant_on_the_left_of_a_matmul_is_not_a_linear():
    class LeftConstant(nn.Module):
        def __init__(self):
            super().__init__()
            self.mix = nn.Parameter(torch.randn(3, 3))

        def forward(self, x):
            return self.mix @ x

    gm = torch.export.export(LeftConstant(), (torch.randn(3, 4),)).module()
    assert lift_linears_(gm, taken=set(lift_convs_(gm).values())) == {}
