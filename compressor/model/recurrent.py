"""nn.LSTM / nn.GRU rewritten as one input projection over all steps plus the recurrence per step.

litert-torch (0.10) has no composite for ``aten.lstm`` / ``aten.gru`` (no fused
UNIDIRECTIONAL_SEQUENCE_LSTM) and no ``while`` lowering: it unrolls them over time.  The input
projection ``x @ W_ih^T`` does not depend on the recurrence, so it is computed for all T steps
at once, exactly: one Linear over a T x I matrix (for an LSTM the sum ``b_ih + b_hh`` folded
into its bias); per step only the recurrent matmul and the gate arithmetic are left.

What that buys, measured (ai-edge-litert 2.3, litert-torch 0.10): litert-torch's own unrolling
of an LSTM already batches the input projection, so an LSTM exports to as many ops either way
(resemblyzer, 3 layers x 160 steps: 7,680 vs 7,684) and its export takes as long; a GRU loses
one RESHAPE per step (36 vs 38 ops per step for 2 layers).  The gain is in naming: each layer
and direction becomes two Linears named as nn.LSTM names its weights (``input_projection_l0``,
``recurrent_l1_reverse``), so the int8 step's per-layer search (quant/schemes.py) and the
report name the matmul they keep float -- on resemblyzer, the first layer's input projection,
the one matmul that meets the raw mel power input.

Rewritten, in two spellings of the same thing:

* ``nn.LSTM`` / ``nn.GRU`` submodules of an nn.Module (exact types: a subclass may compute
  something else), replaced by :class:`StepwiseLSTM` / :class:`StepwiseGRU`, which take and
  return what ``nn.LSTM`` / ``nn.GRU`` do;
* ``aten.lstm.input`` / ``aten.gru.input`` nodes of a ``torch.fx.GraphModule`` (a model loaded
  from a ``torch.export`` ``.pt2`` or TorchScript), whose weights are the graph module's own
  attributes; the node becomes a call of the same module returning the op's flat tuple.

Handled: any number of layers, ``batch_first`` or not, bidirectional, with or without biases,
batched or unbatched input, given or zero initial state.  Left as they are, and named in what
the rewrite returns: LSTMs with ``proj_size`` (a projected hidden state), layers in training
mode (dropout between layers), and graph nodes whose weights are not constants of the graph.
Every rewrite is checked on the example input by the ``rewrite`` pass and undone if the
output moves by more than float rounding.
"""

from __future__ import annotations

# Top-level torch: this module defines nn.Modules, which must be real importable classes.
import torch
import torch.fx
from torch import nn

__all__ = ["StepwiseGRU", "StepwiseLSTM", "has_recurrent", "rewrite_recurrent_"]

_GATES = {"lstm": 4, "gru": 3}


def _projections(w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor | None, b_hh: torch.Tensor | None,
                 kind: str) -> tuple[nn.Linear, nn.Linear]:
    """One layer in one direction: the input projection (all steps at once) and the recurrent matmul."""
    gates, hidden = w_hh.shape[0], w_hh.shape[1]
    projection = nn.Linear(w_ih.shape[1], gates, bias=b_ih is not None or b_hh is not None)
    recurrent = nn.Linear(hidden, gates, bias=kind == "gru" and b_hh is not None)
    with torch.no_grad():
        projection.weight.copy_(w_ih)
        recurrent.weight.copy_(w_hh)
        zero = torch.zeros(gates, dtype=w_ih.dtype)
        if kind == "lstm" and projection.bias is not None:
            # LSTM: both biases are added to the same sum, so they fold into one.
            projection.bias.copy_((b_ih if b_ih is not None else zero) + (b_hh if b_hh is not None else zero))
        elif kind == "gru" and projection.bias is not None:
            # GRU: b_hn sits inside r * (W_hn h + b_hn), so b_hh stays with the recurrent matmul.
            projection.bias.copy_(b_ih if b_ih is not None else zero)
            if recurrent.bias is not None:
                recurrent.bias.copy_(b_hh)
    return projection, recurrent


class _Stepwise(nn.Module):
    """Shared layer/direction loop of StepwiseLSTM and StepwiseGRU."""

    kind = ""

    def __init__(self, weights: list[tuple[torch.Tensor, ...]], *, num_layers: int, bidirectional: bool,
                 batch_first: bool, flat_outputs: bool = False) -> None:
        super().__init__()
        self.num_layers, self.bidirectional, self.batch_first = num_layers, bidirectional, batch_first
        self.hidden_size = weights[0][1].shape[1]
        self.flat_outputs = flat_outputs  # aten.lstm's (output, h_n, c_n) instead of nn.LSTM's nesting
        # Named as nn.LSTM names its weights (weight_ih_l1_reverse): the int8 step and the report
        # name layers by module path, and each Linear here is one such layer.
        directions = ("", "_reverse") if bidirectional else ("",)
        self.suffixes = [f"l{layer}{d}" for layer in range(num_layers) for d in directions]
        for suffix, w in zip(self.suffixes, weights):
            projection, recurrent = _projections(*w, kind=self.kind)
            self.add_module(f"input_projection_{suffix}", projection)
            self.add_module(f"recurrent_{suffix}", recurrent)

    def _run(self, x: torch.Tensor, states: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, list]:
        """``x`` batch-first (B, T, I); ``states`` one tuple of (B, H) per layer and direction.

        Steps and states stay (B, 1, ...): ``narrow`` exports as one SLICE where ``unbind`` /
        ``select`` add a RESHAPE per step (478 more ops on a 3-layer LSTM at 160 steps)."""
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                suffix = self.suffixes[index]
                recurrent = self.get_submodule(f"recurrent_{suffix}")
                projected = self.get_submodule(f"input_projection_{suffix}")(x)  # one matmul, all steps
                count = projected.shape[1]
                steps = range(count - 1, -1, -1) if direction else range(count)
                state, hs = tuple(s.unsqueeze(1) for s in states[index]), [None] * count
                for t in steps:
                    state = self._step(recurrent, projected.narrow(1, t, 1), state)
                    hs[t] = state[0]
                outputs.append(torch.cat(hs, 1))
                finals.append(tuple(s.squeeze(1) for s in state))
            x = outputs[0] if directions == 1 else torch.cat(outputs, 2)
        return x, finals

    def _inputs(self, x: torch.Tensor, hx: torch.Tensor | None, count: int):
        if isinstance(x, nn.utils.rnn.PackedSequence):
            raise TypeError(f"{type(self).__name__} does not take a PackedSequence")
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(0 if self.batch_first else 1)
        if not self.batch_first:
            x = x.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, x.shape[0], self.hidden_size)
        given = [] if hx is None else list(hx) if isinstance(hx, (tuple, list)) else [hx]
        given = [h.unsqueeze(1) if unbatched else h for h in given]
        while len(given) < count:
            given.append(x.new_zeros(shape))
        states = [tuple(h[i] for h in given) for i in range(shape[0])]
        return x, states, unbatched

    def _outputs(self, y: torch.Tensor, finals: list, unbatched: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if not self.batch_first:
            y = y.transpose(0, 1)
        stacked = [torch.stack([state[k] for state in finals]) for k in range(len(finals[0]))]
        if unbatched:
            y = y.squeeze(0 if self.batch_first else 1)
            stacked = [s.squeeze(1) for s in stacked]
        return y, stacked


class StepwiseLSTM(_Stepwise):
    """nn.LSTM (no proj_size) with each layer's input projection computed for all steps at once."""

    kind = "lstm"

    @staticmethod
    def _step(recurrent: nn.Linear, projected: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple:
        h, c = state
        i, f, g, o = (projected + recurrent(h)).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def forward(self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None):
        x, states, unbatched = self._inputs(x, hx, 2)
        y, finals = self._run(x, states)
        y, (h, c) = self._outputs(y, finals, unbatched)
        return (y, h, c) if self.flat_outputs else (y, (h, c))


class StepwiseGRU(_Stepwise):
    """nn.GRU with each layer's input projection computed for all steps at once."""

    kind = "gru"

    @staticmethod
    def _step(recurrent: nn.Linear, projected: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple:
        (h,) = state
        x_r, x_z, x_n = projected.chunk(3, dim=-1)
        h_r, h_z, h_n = recurrent(h).chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return (n + z * (h - n),)  # = (1 - z) * n + z * h

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None):
        x, states, unbatched = self._inputs(x, hx, 1)
        y, finals = self._run(x, states)
        y, (h,) = self._outputs(y, finals, unbatched)
        return y, h


def has_recurrent(module: nn.Module) -> bool:
    """Whether ``module`` holds an nn.LSTM / nn.GRU or an aten.lstm / aten.gru graph node."""
    if any(type(child) in (nn.LSTM, nn.GRU) for child in module.modules()):
        return True
    ops = (torch.ops.aten.lstm.input, torch.ops.aten.gru.input)
    return isinstance(module, torch.fx.GraphModule) and any(
        node.op == "call_function" and node.target in ops for node in module.graph.nodes)


def rewrite_recurrent_(module: nn.Module) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Replace every LSTM/GRU in ``module`` (in place) by its stepwise form.

    Returns what was rewritten and what was left, each as ``{"rewrite"|"left": kind,
    "where": path or node, "why": ...}``.
    """
    done, left = [], []
    for path, child in list(module.named_modules()):
        kind = {nn.LSTM: "lstm", nn.GRU: "gru"}.get(type(child))
        if kind is None or not path:
            continue
        why = _why_not(kind, child.proj_size if kind == "lstm" else 0, child.training)
        if why:
            left.append({"left": kind, "where": path, "why": why})
            continue
        new = _stepwise(kind, _module_weights(child), num_layers=child.num_layers,
                        bidirectional=child.bidirectional, batch_first=child.batch_first)
        _set_child(module, path, new)
        done.append({"rewrite": f"{kind}_stepwise", "where": path})
    if isinstance(module, torch.fx.GraphModule):
        graph_done, graph_left = _rewrite_graph_nodes_(module)
        done, left = done + graph_done, left + graph_left
    return done, left


# --- nn.LSTM / nn.GRU modules --------------------------------------------------------------

def _why_not(kind: str, proj_size: int, training: bool) -> str | None:
    if proj_size:
        return "proj_size (a projected hidden state) is not handled"
    if training:
        return "in training mode (dropout between layers)"
    return None


def _module_weights(rnn: nn.Module) -> list[tuple[torch.Tensor, ...]]:
    weights = []
    for layer in range(rnn.num_layers):
        for suffix in ("", "_reverse")[: 2 if rnn.bidirectional else 1]:
            names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
            biases = [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
            weights.append(tuple(getattr(rnn, n).detach() for n in names)
                           + tuple(getattr(rnn, n).detach() if rnn.bias else None for n in biases))
    return weights


def _stepwise(kind: str, weights: list, *, num_layers: int, bidirectional: bool, batch_first: bool,
              flat_outputs: bool = False) -> _Stepwise:
    if kind == "lstm":
        return StepwiseLSTM(weights, num_layers=num_layers, bidirectional=bidirectional,
                            batch_first=batch_first, flat_outputs=flat_outputs)
    return StepwiseGRU(weights, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)


# --- aten.lstm / aten.gru nodes of a graph module -----------------------------------------

def _rewrite_graph_nodes_(graph_module: torch.fx.GraphModule) -> tuple[list, list]:
    """``aten.lstm.input(x, [h0, c0], params, has_biases, num_layers, dropout, train, bidirectional,
    batch_first)`` and ``aten.gru.input(x, h0, ...)`` nodes -> calls of a stepwise module."""
    ops = {torch.ops.aten.lstm.input: "lstm", torch.ops.aten.gru.input: "gru"}
    done, left, stale = [], [], set()
    for node in list(graph_module.graph.nodes):
        kind = ops.get(node.target) if node.op == "call_function" else None
        if kind is None:
            continue
        x, hx, params, has_biases, num_layers, _dropout, train, bidirectional, batch_first = node.args[:9]
        weights = _constant_weights(graph_module, params)
        why = "weights are not constants of the graph" if weights is None else _why_not(kind, 0, bool(train))
        if why is None and weights[0].shape[0] != _GATES[kind] * weights[1].shape[1]:
            why = "proj_size (a projected hidden state) is not handled"
        if why:
            left.append({"left": kind, "where": node.name, "why": why})
            continue
        per = 4 if has_biases else 2
        grouped = [tuple(weights[i:i + per]) + ((None, None) if per == 2 else ()) for i in range(0, len(weights), per)]
        name = _free_name(graph_module, f"{kind}_stepwise")
        graph_module.add_submodule(name, _stepwise(kind, grouped, num_layers=num_layers, bidirectional=bidirectional,
                                                   batch_first=batch_first, flat_outputs=True))
        with graph_module.graph.inserting_before(node):
            states = tuple(hx) if kind == "lstm" else (hx,)
            call = graph_module.graph.call_module(name, (x, states))
        node.replace_all_uses_with(call)
        graph_module.graph.erase_node(node)
        stale.update(p.target for p in params)
        done.append({"rewrite": f"{kind}_stepwise", "where": node.name})
    if done:
        graph_module.graph.eliminate_dead_code()
        # The stepwise modules hold the weights now; the graph's own copies go with their last use.
        used = {n.target for n in graph_module.graph.nodes if n.op == "get_attr"}
        for target in stale - used:
            owner_path, _, attr = target.rpartition(".")
            delattr(graph_module.get_submodule(owner_path) if owner_path else graph_module, attr)
        graph_module.recompile()
    return done, left


def _constant_weights(graph_module: torch.fx.GraphModule, params) -> list[torch.Tensor] | None:
    values = []
    for param in params:
        if not isinstance(param, torch.fx.Node) or param.op != "get_attr":
            return None
        value = _buffer_or_attr(graph_module, param.target)
        if value is None:
            return None
        values.append(value)
    return values


def _buffer_or_attr(root: nn.Module, target: str):
    value = root
    for part in target.split("."):
        value = getattr(value, part, None)
    return value.detach() if isinstance(value, torch.Tensor) else None


def _free_name(root: nn.Module, stem: str) -> str:
    names = dict(root.named_children())
    index = 0
    while f"{stem}_{index}" in names:
        index += 1
    return f"{stem}_{index}"


def _set_child(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, name, new)
