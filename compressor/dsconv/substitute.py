"""Swap dense convolutions for depthwise-separable pairs, in an nn.Module or a torch.export graph.

Two forms of model reach the passes (loading.py):

* an ``nn.Module`` (state dict + ``--arch``, or a trusted pickle): its ``nn.Conv2d``
  children are replaced by ``DepthwiseSeparable`` modules (``.depthwise`` then
  ``.pointwise``) at the same name;
* a ``torch.fx.GraphModule``: ``ep.module()`` of a ``.pt2`` archive, and a TorchScript
  archive after ``TS2EPConverter`` (loading.make_exportable), whose convolutions are
  ``aten.conv2d`` / ``aten.convolution`` calls on ``get_attr`` weights and have no
  modules to swap.  ``lift_convs_(gm)`` rewrites each such call into a ``call_module`` of an
  ``nn.Conv2d`` that holds the same Parameters, registered under the weight's owner name
  (``stem.0.weight`` -> module ``stem.0``) when that name is free to take, so both forms
  then share the module swap, the hooks that measure layer errors and the fine-tuning, and
  report the same layer names.  The TorchScript route is thus the graph route.
  ``lift_linears_(gm)`` does the same for fully-connected layers: ``aten.linear`` on constant
  weights, and ``aten.matmul`` / ``aten.mm`` by a constant 2-D matrix (x @ W is a Linear whose
  weight is Wᵀ), so unstructured pruning reaches a VGG's big hidden Linear too.

Bias goes to the pointwise conv (the pair's output is the dense conv's output, bias
included); a BatchNorm after the conv keeps following the pointwise conv, which has the
same output channels, and folds into it in the fold pass (or in the converter for graphs).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .factorize import Factors

__all__ = ["DepthwiseSeparable", "batch_size_works", "conv_layers", "drop_batch_guard_", "is_graph_module",
           "lift_convs_", "lift_linears_", "make_pair", "open_graph_", "order_modules_by_use_", "swap_module_"]


class DepthwiseSeparable(nn.Module):
    """A k×k depthwise conv (channel multiplier ``rank``) then a 1×1 pointwise conv."""

    def __init__(self, depthwise: nn.Conv2d, pointwise: nn.Conv2d, *, rank: int = 1):
        super().__init__()
        self.rank = rank
        self.depthwise = depthwise
        self.pointwise = pointwise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rank > 1:
            x = torch.cat([x] * self.rank, dim=1)
        return self.pointwise(self.depthwise(x))


def make_pair(conv: nn.Conv2d, factors: Factors) -> DepthwiseSeparable:
    """The pair replacing ``conv``, initialised from ``factors``; stride/padding/dilation kept."""
    cin, rank = conv.in_channels, factors.rank
    depthwise = nn.Conv2d(cin * rank, cin * rank, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                          dilation=conv.dilation, groups=cin * rank, bias=False, padding_mode=conv.padding_mode)
    pointwise = nn.Conv2d(cin * rank, conv.out_channels, 1, bias=conv.bias is not None)
    kh, kw = conv.kernel_size
    with torch.no_grad():
        # factors order depthwise channels c*R + r; the replicated input orders them r*Cin + c.
        depthwise.weight.copy_(factors.depthwise.reshape(cin, rank, 1, kh, kw).transpose(0, 1)
                               .reshape(cin * rank, 1, kh, kw))
        pointwise.weight.copy_(factors.pointwise.reshape(-1, cin, rank, 1, 1).transpose(1, 2)
                               .reshape(-1, cin * rank, 1, 1))
        if conv.bias is not None:
            pointwise.bias.copy_(conv.bias)
    return DepthwiseSeparable(depthwise, pointwise, rank=rank).to(conv.weight.device).train(conv.training)


def conv_layers(module: nn.Module) -> dict[str, nn.Conv2d]:
    """Every ``nn.Conv2d`` of ``module`` by qualified name (candidates and the rest alike)."""
    return {name: m for name, m in module.named_modules() if type(m) is nn.Conv2d}


def swap_module_(module: nn.Module, name: str, replacement: nn.Module) -> None:
    """Put ``replacement`` at the qualified ``name`` of ``module`` (in place)."""
    parent_name, _, child = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, child, replacement)


def is_graph_module(module: Any) -> bool:
    return isinstance(module, torch.fx.GraphModule)


def drop_batch_guard_(gm: torch.fx.GraphModule) -> bool:
    """Remove ``ep.module()``'s input guard call (it pins the batch to the exported one), in place.

    Fine-tuning and the error scan run batches; whether the graph itself works at another
    batch size (a ``view`` may have the batch baked in) is then checked by ``batch_size_works``.
    """
    guards = [n for n in gm.graph.nodes if n.op == "call_module" and str(n.target) == "_guards_fn" and not n.users]
    for node in guards:
        gm.graph.erase_node(node)
    if guards:
        gm.recompile()
    return bool(guards)


def batch_size_works(module: nn.Module, x: torch.Tensor) -> bool:
    """True when ``module`` on the batch ``x`` gives what it gives sample by sample."""
    try:
        with torch.no_grad():
            together = module(x)
            apart = [module(x[i:i + 1]) for i in range(len(x))]
        while isinstance(together, (tuple, list)):
            together, apart = together[0], [a[0] for a in apart]
        return torch.allclose(together, torch.cat(apart), atol=1e-5, rtol=1e-4)
    except Exception:  # a shape baked into the graph fails in many ways; all mean "batch 1 only"
        return False


_CONV_TARGETS = ("aten.conv2d.default", "aten.convolution.default", "aten._convolution.default")


def _conv_spec(node: torch.fx.Node) -> dict[str, Any] | None:
    """stride/padding/dilation/groups of a 2-D aten conv call, or None when it is not one we lift."""
    target = str(node.target)
    if node.op != "call_function" or not any(target.endswith(t) for t in _CONV_TARGETS):
        return None
    args = list(node.args)
    names = ["input", "weight", "bias", "stride", "padding", "dilation"]
    if "conv2d" in target:
        names.append("groups")
    else:
        names += ["transposed", "output_padding", "groups"]
    values = {**dict(zip(names, args)), **node.kwargs}
    if values.get("transposed"):
        return None
    weight = values.get("weight")
    bias = values.get("bias")
    if not isinstance(weight, torch.fx.Node) or weight.op != "get_attr":
        return None
    if bias is not None and (not isinstance(bias, torch.fx.Node) or bias.op != "get_attr"):
        return None
    padding = values.get("padding", 0)
    if isinstance(padding, str):
        return None
    return {"input": values["input"], "weight": weight, "bias": bias,
            "stride": _pair(values.get("stride", 1)), "padding": _pair(padding),
            "dilation": _pair(values.get("dilation", 1)), "groups": int(values.get("groups", 1))}


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        return (int(value[0]), int(value[-1])) if value else (0, 0)
    return (int(value), int(value))


def _owner_and_attr(gm: nn.Module, target: str) -> tuple[nn.Module, str]:
    owner_name, _, attr = target.rpartition(".")
    return (gm.get_submodule(owner_name) if owner_name else gm), attr


def _free_name(gm: nn.Module, preferred: str, taken: set[str]) -> str:
    """``preferred`` when that name holds nothing but this conv's weight and bias; else a new one."""
    if preferred and preferred not in taken:
        try:
            owner = gm.get_submodule(preferred)
        except AttributeError:
            owner = None
        if owner is not None and owner is not gm and type(owner) is nn.Module and not owner._modules \
                and set(owner._parameters) | set(owner._buffers) <= {"weight", "bias"}:
            return preferred
    index = 0
    while f"dsconv_lifted_{index}" in taken or hasattr(gm, f"dsconv_lifted_{index}"):
        index += 1
    return f"dsconv_lifted_{index}"


def lift_convs_(gm: torch.fx.GraphModule) -> dict[str, str]:
    """Turn 2-D aten conv calls on constant weights into ``nn.Conv2d`` call_module nodes (in place).

    Returns {layer name: module path}; the layer name is the weight's owner name
    (``stem.0`` for ``stem.0.weight``), the path where the Conv2d now lives (the same name,
    or ``dsconv_lifted_N`` when that name is taken by other attributes).
    """
    lifted: dict[str, str] = {}
    graph = gm.graph
    for node in list(graph.nodes):
        spec = _conv_spec(node)
        if spec is None:
            continue
        weight_node, bias_node = spec["weight"], spec["bias"]
        owner, attr = _owner_and_attr(gm, weight_node.target)
        weight = getattr(owner, attr)
        if not isinstance(weight, torch.Tensor) or weight.ndim != 4:
            continue
        if len(weight_node.users) > 1 or (bias_node is not None and len(bias_node.users) > 1):
            continue  # a weight shared with another op stays where it is
        bias = getattr(*_owner_and_attr(gm, bias_node.target)) if bias_node is not None else None
        cout, cin_per_group, kh, kw = weight.shape
        groups = spec["groups"]
        conv = nn.Conv2d(cin_per_group * groups, cout, (kh, kw), stride=spec["stride"], padding=spec["padding"],
                         dilation=spec["dilation"], groups=groups, bias=bias is not None)
        conv.weight = weight if isinstance(weight, nn.Parameter) else nn.Parameter(weight.detach().clone())
        if bias is not None:
            conv.bias = bias if isinstance(bias, nn.Parameter) else nn.Parameter(bias.detach().clone())
        _install_module_(gm, node, conv, weight_node, bias_node, spec["input"], lifted)
    graph.lint()
    gm.recompile()
    return lifted


def _install_module_(gm: torch.fx.GraphModule, node: Any, module: nn.Module, weight_node: Any, bias_node: Any,
                     source: Any, lifted: dict[str, str], taken: Any = ()) -> None:
    """Put ``module`` where the graph op ``node`` on constant weights was: under its weights'
    owner name where free, called on ``source``; the old weight attributes go."""
    graph = gm.graph
    layer = weight_node.target.rpartition(".")[0] or weight_node.target
    # Drop the old attributes first, so the owner is empty and its name can take the module.
    _drop_attributes_(gm, (weight_node, bias_node))
    path = _free_name(gm, layer, set(lifted.values()) | set(taken))
    if path == layer:
        swap_module_(gm, path, module)
    else:
        gm.add_submodule(path, module)
    with graph.inserting_before(node):
        call = graph.call_module(path, (source,))
    call.meta = dict(node.meta)
    node.replace_all_uses_with(call)
    graph.erase_node(node)
    for attr_node in (weight_node, bias_node):
        if attr_node is not None and not attr_node.users:
            graph.erase_node(attr_node)
    lifted[layer] = path


_LINEAR_TARGETS = ("aten.linear.default",)
_MATMUL_TARGETS = ("aten.matmul.default", "aten.mm.default")


def _constant(gm: nn.Module, node: Any) -> torch.Tensor | None:
    """The tensor a ``get_attr`` node reads (None for anything else)."""
    if not isinstance(node, torch.fx.Node) or node.op != "get_attr":
        return None
    value = getattr(*_owner_and_attr(gm, node.target))
    return value if isinstance(value, torch.Tensor) else None


def _linear_spec(gm: nn.Module, node: torch.fx.Node) -> dict[str, Any] | None:
    """input / weight node / bias node / transposed? of a Linear-shaped call on constant weights."""
    target = str(node.target)
    if node.op != "call_function":
        return None
    if any(target.endswith(t) for t in _LINEAR_TARGETS):
        values = {**dict(zip(["input", "weight", "bias"], node.args)), **node.kwargs}
        weight, bias = values.get("weight"), values.get("bias")
        if _constant(gm, weight) is None or (bias is not None and _constant(gm, bias) is None):
            return None
        return {"input": values["input"], "weight": weight, "bias": bias, "transposed": False}
    if any(target.endswith(t) for t in _MATMUL_TARGETS) and len(node.args) == 2 and not node.kwargs:
        if _constant(gm, node.args[0]) is not None or _constant(gm, node.args[1]) is None:
            return None  # a constant on the left (W @ x) is not a Linear of x
        return {"input": node.args[0], "weight": node.args[1], "bias": None, "transposed": True}
    return None


def _drop_attributes_(gm: nn.Module, nodes: tuple) -> None:
    for attr_node in nodes:
        if attr_node is not None:
            holder, name = _owner_and_attr(gm, attr_node.target)
            holder._parameters.pop(name, None)
            holder._buffers.pop(name, None)
            holder.__dict__.pop(name, None)


def lift_linears_(gm: torch.fx.GraphModule, *, taken: set[str] = frozenset()) -> dict[str, str]:
    """Turn Linear-shaped aten calls on constant 2-D weights into ``nn.Linear`` call_module nodes
    (in place), as ``lift_convs_`` does for convs.  ``taken``: module paths already used by lifted
    layers.  Returns {layer name: module path}."""
    lifted: dict[str, str] = {}
    graph = gm.graph
    for node in list(graph.nodes):
        spec = _linear_spec(gm, node)
        if spec is None:
            continue
        weight_node, bias_node = spec["weight"], spec["bias"]
        weight = _constant(gm, weight_node)
        if weight.ndim != 2 or not weight.is_floating_point():
            continue
        if len(weight_node.users) > 1 or (bias_node is not None and len(bias_node.users) > 1):
            continue  # a weight shared with another op stays where it is
        bias = _constant(gm, bias_node) if bias_node is not None else None
        out_features, in_features = weight.shape[::-1] if spec["transposed"] else weight.shape
        linear = nn.Linear(in_features, out_features, bias=bias is not None)
        if spec["transposed"]:
            linear.weight = nn.Parameter(weight.detach().t().contiguous())
        else:
            linear.weight = weight if isinstance(weight, nn.Parameter) else nn.Parameter(weight.detach().clone())
        if bias is not None:
            linear.bias = bias if isinstance(bias, nn.Parameter) else nn.Parameter(bias.detach().clone())
        _install_module_(gm, node, linear, weight_node, bias_node, spec["input"], lifted, taken)
    graph.lint()
    gm.recompile()
    return lifted


def order_modules_by_use_(gm: torch.fx.GraphModule) -> None:
    """Register ``gm``'s top-level submodules in the order the graph first calls them (in place).

    Lifted layers are registered where their weights were (``get_attr`` order, often the state
    dict's order), so ``named_modules()`` would not start at the input layer as it does for an
    nn.Module; the pruners read "first" and "last" layers from that order.
    """
    first_use: dict[str, int] = {}
    for index, node in enumerate(gm.graph.nodes):
        if node.op in ("call_module", "get_attr"):
            first_use.setdefault(str(node.target).split(".")[0], index)
    names = list(gm._modules)
    ordered = sorted(names, key=lambda name: (first_use.get(name, len(first_use) + 1 + names.index(name))))
    gm._modules = type(gm._modules)((name, gm._modules[name]) for name in ordered)


def open_graph_(gm: torch.fx.GraphModule, x: torch.Tensor) -> tuple[dict[str, str], dict[str, str], bool]:
    """Make a ``.pt2`` / TorchScript graph something passes can change and train, in place:
    its 2-D aten convs lifted into nn.Conv2d modules (``lift_convs_``), its Linear-shaped calls
    into nn.Linear modules (``lift_linears_``), the batch guard gone (``drop_batch_guard_``).
    Returns the lifted convs, the lifted linears and whether the graph runs batches (checked on
    the first samples of ``x``; False: one sample at a time only)."""
    convs = lift_convs_(gm)
    linears = lift_linears_(gm, taken=set(convs.values()))
    order_modules_by_use_(gm)
    drop_batch_guard_(gm)
    return convs, linears, batch_size_works(gm, x[:3])
