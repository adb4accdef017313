"""model/recurrent.py: nn.LSTM / nn.GRU (modules and aten graph nodes) as one input projection over
all steps plus the recurrence per step -- the same function, checked against the original."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from compressor.model.recurrent import StepwiseGRU, StepwiseLSTM, rewrite_recurrent_


class _Net(nn.Module):
    """Every output of the recurrent layer: the sequence, and the final state(s)."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, *state):
        y, final = self.rnn(x, *state) if state else self.rnn(x)
        finals = final if isinstance(final, tuple) else (final,)
        return (y, *finals)


def _close(expected, got) -> float:
    return max(float((a - b).abs().max()) for a, b in zip(expected, got))


CASES = [  # kind, layers, batch_first, bidirectional, bias
    (nn.LSTM, 1, True, False, True),
    (nn.LSTM, 3, False, True, True),
    (nn.LSTM, 2, True, True, False),
    (nn.GRU, 1, False, False, True),
    (nn.GRU, 2, True, True, True),
    (nn.GRU, 2, False, False, False),
]


@pytest.mark.parametrize("kind,layers,batch_first,bidirectional,bias", CASES)
def test_module_rewrite_is_exact(kind, layers, batch_first, bidirectional, bias):
    torch.manual_seed(0)
    net = _Net(kind(5, 8, layers, batch_first=batch_first, bidirectional=bidirectional, bias=bias)).eval()
    x = torch.randn(3, 6, 5) if batch_first else torch.randn(6, 3, 5)
    rewritten = copy.deepcopy(net)
    done, left = rewrite_recurrent_(rewritten)
    assert done == [{"rewrite": f"{kind.__name__.lower()}_stepwise", "where": "rnn"}] and left == []
    assert isinstance(rewritten.rnn, StepwiseLSTM if kind is nn.LSTM else StepwiseGRU)
    with torch.no_grad():
        expected, got = net(x), rewritten(x)
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in expected]
    assert _close(expected, got) < 1e-5
    # the input projection is one matmul over every step: a Linear per layer and direction
    projections = [n for n, m in rewritten.rnn.named_children() if n.startswith("input_projection_")]
    assert len(projections) == layers * (2 if bidirectional else 1)
    assert all(isinstance(rewritten.rnn.get_submodule(n), nn.Linear) for n in projections)


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
def test_given_initial_state_and_unbatched_input(kind):
    torch.manual_seed(1)
    net = _Net(kind(4, 6, 2)).eval()
    rewritten = copy.deepcopy(net)
    rewrite_recurrent_(rewritten)
    h0 = torch.randn(2, 2, 6)
    state = ((h0, torch.randn(2, 2, 6)),) if kind is nn.LSTM else (h0,)
    x = torch.randn(7, 2, 4)
    with torch.no_grad():
        assert _close(net(x, *state), rewritten(x, *state)) < 1e-5
        assert _close(net(x[:, 0]), rewritten(x[:, 0])) < 1e-5  # (T, I): no batch dimension


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
def test_graph_rewrite_of_a_torch_export_is_exact(kind):
    """A .pt2 holds aten.lstm / aten.gru nodes, not modules: those are rewritten too."""
    torch.manual_seed(2)
    net = _Net(kind(5, 8, 2, batch_first=True)).eval()
    x = torch.randn(1, 9, 5)
    graph = torch.export.export(net, (x,)).module()
    before = sum(p.numel() for p in graph.parameters())
    done, left = rewrite_recurrent_(graph)
    assert len(done) == 1 and done[0]["rewrite"] == f"{kind.__name__.lower()}_stepwise" and left == []
    targets = {str(node.target) for node in graph.graph.nodes}
    assert not any("lstm" in t or "gru" in t for t in targets if t.startswith("aten"))
    # the graph's own copies of the weights went with their last use: no parameter twice
    assert sum(p.numel() for p in graph.parameters()) <= before
    with torch.no_grad():
        assert _close(net(x), graph(x)) < 1e-5


def test_what_is_not_handled_is_left_and_named():
    net = nn.Sequential()
    net.add_module("projected", nn.LSTM(4, 8, proj_size=3))
    net.add_module("dropping", nn.GRU(4, 8, 2, dropout=0.5).train())
    done, left = rewrite_recurrent_(net)
    assert done == []
    assert {row["where"]: row["why"] for row in left} == {
        "projected": "proj_size (a projected hidden state) is not handled",
        "dropping": "in training mode (dropout between layers)"}
    assert type(net.projected) is nn.LSTM and type(net.dropping) is nn.GRU


def test_subclasses_are_not_rewritten():
    class MyLstm(nn.LSTM):  # may compute something else in its forward
        pass

    net = _Net(MyLstm(4, 8)).eval()
    assert rewrite_recurrent_(net) == ([], [])


def test_has_recurrent_finds_modules_and_graph_nodes():
    from compressor.model.recurrent import has_recurrent

    assert has_recurrent(_Net(nn.GRU(4, 8))) and not has_recurrent(nn.Sequential(nn.Linear(4, 8)))
    graph = torch.export.export(_Net(nn.LSTM(4, 8)).eval(), (torch.randn(3, 1, 4),)).module()
    assert has_recurrent(graph)
    rewrite_recurrent_(graph)
    assert not has_recurrent(graph)
