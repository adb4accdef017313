"""BatchNorm in graph form (torch.export / TorchScript models): one op or none, never four.

A model saved with ``torch.export`` (or converted from TorchScript) reaches the pipeline as a
GraphModule of aten ops: its BatchNorms are ``aten.batch_norm`` calls on constant tensors, not
``nn.BatchNorm2d`` modules, so the module rewrites (rewrites.py) cannot see them, and
litert-torch lowers each one to four element-wise ops (SUB, MUL, MUL, ADD), each requantized
in int8: a trained 1-D pitch CNN (conv -> ReLU -> BN -> max-pool) lost 2-3 dB and its exact-bin
agreement to them.  In eval mode BN is ``y = a*x + b`` per channel, and this module rewrites
the graph, exactly:

1. **Through a max-pool** when every ``a > 0``: ``maxpool(a*x + b) == a*maxpool(x) + b``
   (max commutes with an increasing map; padding is -inf on both sides), so BN moves after
   the pool, where it touches a half or a quarter of the values, and may meet a conv.
2. **Into the next conv** when BN's output feeds only that conv (dropout in eval mode and
   other identities between are looked through) and the fold is exact: the conv pads nothing,
   or ``b == 0`` (see rewrites.py for why zero padding breaks it otherwise).
3. **Otherwise one depthwise 1x1 conv** (weight ``a``, bias ``b``) on a 3-D or 4-D input: one
   int8 op that XNNPACK, CMSIS-NN and Vela all take.  Other ranks stay as they are.

A BN right after a conv (or linear) it alone reads is left alone: the converter folds it into
that layer's weights.

Each change is recorded as ``{"rewrite": name, "where": node}``; the pass around it checks the
outputs on the example input and undoes everything if they moved (rewrite_graph.py).
"""

from __future__ import annotations

from operator import getitem as _getitem  # the target fx records for ``result[index]``

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

__all__ = ["ChannelAffine", "batchnorm_affine", "folded_into_conv", "rewrite_graph_batchnorms_"]

_aten = torch.ops.aten
_BATCHNORM_OPS = (_aten.batch_norm.default, _aten._native_batch_norm_legit_no_training.default)
_MAXPOOL_OPS = (_aten.max_pool1d.default, _aten.max_pool2d.default, _aten.max_pool3d.default)
_MAXPOOL_WITH_INDICES = (_aten.max_pool2d_with_indices.default, _aten.max_pool3d_with_indices.default)
_CONV_OPS = (_aten.conv1d.default, _aten.conv2d.default, _aten.conv3d.default, _aten.convolution.default)
_IDENTITY_OPS = (_aten.dropout.default, _aten.clone.default, _aten.alias.default, _aten.contiguous.default)


class ChannelAffine(nn.Module):
    """``x * scale + shift`` per channel (dim 1), as one depthwise 1x1 conv where the rank has one.

    The rank is fixed when the model is exported, so the graph holds one op: DEPTHWISE_CONV_2D
    for 3-D and 4-D inputs (litert-torch lowers conv1d to the 2-D op), MUL + ADD otherwise.
    """

    def __init__(self, scale: torch.Tensor, shift: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(scale.detach().clone())
        self.bias = nn.Parameter(shift.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = self.weight.numel()
        if x.dim() == 3:
            return F.conv1d(x, self.weight.view(channels, 1, 1), self.bias, groups=channels)
        if x.dim() == 4:
            return F.conv2d(x, self.weight.view(channels, 1, 1, 1), self.bias, groups=channels)
        view = [1, channels] + [1] * (x.dim() - 2)
        return x * self.weight.view(view) + self.bias.view(view)


def rewrite_graph_batchnorms_(gm: torch.fx.GraphModule) -> list[dict[str, str]]:
    """Rewrite the eval-mode aten BatchNorms of ``gm`` in place; what was done, in order."""
    done: list[dict[str, str]] = []
    for node in list(gm.graph.nodes):
        found = _batchnorm(gm, node)
        if found is None:
            continue
        source, out, scale, shift = found
        if _fed_by_layer(gm, source):
            continue  # conv -> BN: the converter folds it into the conv itself
        original_out, where, rank = out, node.name, _rank(source)
        conv = _only_conv_consumer(out)
        if rank in (3, 4) and bool((scale > 0).all()):
            moved = _move_through_maxpool(gm.graph, source, out)
            if moved is not None:
                source, out = moved
                conv = _only_conv_consumer(out)
                done.append({"rewrite": "move_bn_through_maxpool", "where": where})
        if conv is not None and _fold_into_conv_(gm, conv, scale, shift):
            out.replace_all_uses_with(source)
            done.append({"rewrite": "fold_bn_into_next_conv", "where": f"{where} -> {conv.name}"})
        elif rank in (3, 4):
            _as_depthwise_(gm, source, out, scale, shift, where)
            done.append({"rewrite": "batchnorm_as_depthwise", "where": where})
        else:
            continue  # rank unknown or not 3-D/4-D, and nothing to fold into: BN stays as it was
        for dead in dict.fromkeys((out, original_out, node)):  # in order, each once
            if not dead.users:
                gm.graph.erase_node(dead)
    if done:
        gm.graph.eliminate_dead_code()
        gm.graph.lint()
        gm.recompile()
    return done


# --- finding --------------------------------------------------------------------------------

def _batchnorm(gm: torch.fx.GraphModule, node: torch.fx.Node):
    """(input node, output node, scale, shift) of an eval-mode BatchNorm on constants, else None."""
    if node.op != "call_function" or node.target not in _BATCHNORM_OPS:
        return None
    args = list(node.args)
    if node.target is _aten.batch_norm.default:
        if len(args) < 8 or args[5] is not False:
            return None  # training-mode BN normalises by the batch: not an affine map
        out, eps = node, float(args[7])
    else:
        users = list(node.users)
        if not users or any(u.target is not _getitem or u.args[1] != 0 for u in users) or len(users) != 1:
            return None
        out, eps = users[0], float(args[6])
    tensors = [_constant(gm, a) for a in args[1:5]]
    mean, var = tensors[2], tensors[3]
    if mean is None or var is None or any(a is not None and t is None for a, t in zip(args[1:3], tensors[:2])):
        return None
    return (args[0], out, *batchnorm_affine(tensors[0], tensors[1], mean, var.float(), eps))


def batchnorm_affine(weight, bias, mean: torch.Tensor, var: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode BatchNorm as ``y = scale*x + shift`` per channel (``weight``/``bias`` may be None)."""
    with torch.no_grad():
        scale = torch.rsqrt(var + eps)
        if weight is not None:
            scale = scale * weight
        shift = -mean * scale
        if bias is not None:
            shift = shift + bias
    return scale.detach().clone(), shift.detach().clone()


def folded_into_conv(weight: torch.Tensor, groups: int, scale: torch.Tensor,
                     shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight', extra bias) with ``conv_W(scale*x + shift) == conv_W'(x) + extra`` for a conv whose
    padding sees no shift; ``weight`` is (out, in / groups, *kernel)."""
    out_channels, in_per_group = weight.shape[:2]
    # Input channel read by weight[o, j]: (group of o) * in_per_group + j.
    group_of_out = torch.arange(out_channels, device=weight.device) // (out_channels // groups)
    channel = group_of_out[:, None] * in_per_group + torch.arange(in_per_group, device=weight.device)[None, :]
    view = (out_channels, in_per_group) + (1,) * (weight.dim() - 2)
    with torch.no_grad():
        scale, shift = scale.to(weight), shift.to(weight)
        return weight * scale[channel].view(view), (weight * shift[channel].view(view)).flatten(1).sum(1)


def _fed_by_layer(gm: torch.fx.GraphModule, source) -> bool:
    """Whether ``source`` is a conv or linear (an aten op, or a module lifted from one) read only here."""
    if not isinstance(source, torch.fx.Node) or len(source.users) != 1:
        return False
    if source.op == "call_module":  # e.g. a dsconv pair: a container whose last layer is the conv
        leaves = [m for m in gm.get_submodule(source.target).modules() if not list(m.children())]
        return bool(leaves) and isinstance(leaves[-1], (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear))
    return source.op == "call_function" and source.target in (*_CONV_OPS, _aten.linear.default)


def _constant(gm: torch.fx.GraphModule, arg) -> torch.Tensor | None:
    if not isinstance(arg, torch.fx.Node) or arg.op != "get_attr":
        return None
    value = gm
    for part in arg.target.split("."):
        value = getattr(value, part, None)
    return value if isinstance(value, torch.Tensor) else None


def _rank(node: torch.fx.Node) -> int | None:
    value = node.meta.get("val")
    if value is None:
        meta = node.meta.get("tensor_meta")
        return len(meta.shape) if meta is not None else None
    if isinstance(value, (tuple, list)):
        value = value[0]
    return value.dim() if isinstance(value, torch.Tensor) else None


# --- 1. through a max-pool --------------------------------------------------------------

def _move_through_maxpool(graph: torch.fx.Graph, source: torch.fx.Node, out: torch.fx.Node):
    """Make the pool read BN's input; return (pool output, node standing for BN's output)."""
    users = list(out.users)
    if len(users) != 1:
        return None
    pool = users[0]
    if pool.op != "call_function" or pool.args[0] is not out:
        return None
    if pool.target in _MAXPOOL_OPS:
        pooled = pool
    elif pool.target in _MAXPOOL_WITH_INDICES:
        taken = list(pool.users)
        if len(taken) != 1 or taken[0].target is not _getitem or taken[0].args[1] != 0:
            return None  # the indices are used: they would not change, but keep it simple
        pooled = taken[0]
    else:
        return None
    pool.args = (source,) + tuple(pool.args[1:])
    # BN's output now stands after the pool: a placeholder node the caller replaces or folds.
    with graph.inserting_after(pooled):
        standin = graph.call_function(_aten.alias.default, (pooled,))
    pooled.replace_all_uses_with(standin, delete_user_cb=lambda user: user is not standin)
    return pooled, standin


# --- 2. into the next conv ---------------------------------------------------------------

def _only_conv_consumer(out: torch.fx.Node) -> torch.fx.Node | None:
    node = out
    while True:
        users = list(node.users)
        if len(users) != 1:
            return None
        user = users[0]
        if user.op == "call_function" and user.target in _IDENTITY_OPS and user.args[0] is node:
            if user.target is _aten.dropout.default and (len(user.args) < 3 or user.args[2] is not False):
                return None
            node = user
            continue
        return user if user.op == "call_function" and user.target in _CONV_OPS and user.args[0] is node else None


def _fold_into_conv_(gm: torch.fx.GraphModule, conv: torch.fx.Node, scale: torch.Tensor, shift: torch.Tensor) -> bool:
    args = list(conv.args)
    weight_node = args[1]
    weight = _constant(gm, weight_node)
    if weight is None or len(weight_node.users) != 1 or _attr_shared(gm, weight_node):
        return False
    if conv.target is _aten.convolution.default:
        if len(args) < 9 or args[6]:
            return False  # transposed
        padding, groups = args[4], int(args[8])
    else:
        padding = args[4] if len(args) > 4 else 0
        groups = int(args[6]) if len(args) > 6 else 1
    pads = [padding] if isinstance(padding, int) else list(padding)
    if not (all(p == 0 for p in pads) or not bool(shift.any())) or isinstance(padding, str):
        return False
    if weight.shape[1] * groups != scale.numel():
        return False
    bias_node = args[2] if len(args) > 2 else None
    bias = _constant(gm, bias_node)
    if bias_node is not None and (bias is None or len(bias_node.users) != 1 or _attr_shared(gm, bias_node)):
        return False
    folded, extra = folded_into_conv(weight, groups, scale, shift)
    # new tensors, not in place: the graph's parameters may share storage with the user's model
    _set_attr(gm, weight_node.target, folded)
    with torch.no_grad():
        if bias is not None:
            _set_attr(gm, bias_node.target, bias + extra)
            return True
    name = _fresh_name(gm, f"{weight_node.target.replace('.', '_')}_folded_bias")
    gm.register_parameter(name, nn.Parameter(extra.detach().clone(), requires_grad=False))
    with gm.graph.inserting_before(conv):
        args_list = list(conv.args) + [None] * max(0, 3 - len(conv.args))
        args_list[2] = gm.graph.get_attr(name)
    conv.args = tuple(args_list)
    return True


def _set_attr(gm: torch.fx.GraphModule, target: str, value: torch.Tensor) -> None:
    owner_path, _, name = target.rpartition(".")
    owner = gm.get_submodule(owner_path) if owner_path else gm
    if isinstance(getattr(owner, name), nn.Parameter):
        setattr(owner, name, nn.Parameter(value.detach().clone(), requires_grad=False))
    else:
        setattr(owner, name, value.detach().clone())


def _attr_shared(gm: torch.fx.GraphModule, node: torch.fx.Node) -> bool:
    return sum(1 for n in gm.graph.nodes if n.op == "get_attr" and n.target == node.target) > 1


def _fresh_name(gm: torch.fx.GraphModule, base: str) -> str:
    name, k = base, 1
    while hasattr(gm, name):
        name, k = f"{base}_{k}", k + 1
    return name


# --- 3. one depthwise conv ---------------------------------------------------------------

def _as_depthwise_(gm: torch.fx.GraphModule, source: torch.fx.Node, out: torch.fx.Node,
                   scale: torch.Tensor, shift: torch.Tensor, where: str) -> None:
    rank = _rank(source) or _rank(out)
    channels = scale.numel()
    shape = (channels, 1, 1) if rank == 3 else (channels, 1, 1, 1)
    op = _aten.conv1d.default if rank == 3 else _aten.conv2d.default
    ones = [1] if rank == 3 else [1, 1]
    zeros = [0] if rank == 3 else [0, 0]
    names = [_fresh_name(gm, f"{where}_affine_weight")]
    gm.register_parameter(names[0], nn.Parameter(scale.view(shape).clone(), requires_grad=False))
    names.append(_fresh_name(gm, f"{where}_affine_bias"))
    gm.register_parameter(names[1], nn.Parameter(shift.clone(), requires_grad=False))
    with gm.graph.inserting_before(out):
        weight, bias = gm.graph.get_attr(names[0]), gm.graph.get_attr(names[1])
        conv = gm.graph.call_function(op, (source, weight, bias, ones, zeros, ones, channels))
    out.replace_all_uses_with(conv)
