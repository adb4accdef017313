"""Exact torch-level rewrites so the int8 `.tflite` stays inside XNNPACK and never runs slower.

Each rewrite changes only how a layer is computed, never what it computes (torch outputs
agree to float rounding), and each answers a case measured with ``compressor.measure.delegation``
on ai-edge-litert 2.3 (XNNPACK, 1 thread):

* ``hardswish_as_mul`` -- nn.Hardswish.  The converter turns every spelling of
  ``x * relu6(x + 3) / 6`` into one HARD_SWISH op, and XNNPACK does not take HARD_SWISH in
  int8: each one splits the graph (MobileNetV3-Small: 19 of them, 20 partitions, int8 2.9x
  *slower* than float).  Written ``(x * (1/6)) * relu6(x + 3)`` it escapes the pattern:
  MUL, ADD (ReLU6 fused), MUL, all delegated (1 partition, int8 0.8x float).
* ``fold_bn_into_next_conv`` -- a BatchNorm whose output only feeds a conv (conv -> ReLU ->
  BN -> conv, where the usual conv->BN fold cannot reach).  In eval mode BN is
  ``y = a*x + b`` per channel, and ``conv_W(a*x + b) = conv_{W*a}(x) + conv_W(b)``: the
  fold is exact when the conv pads nothing, pads by copying (reflect/replicate/circular,
  which commute with a per-channel affine map), or when ``b == 0`` everywhere.  With zero
  padding and ``b != 0`` it is not: the original conv reads 0 at padded taps where the
  folded one would need ``b``, so border outputs would differ; such a BN is left to the
  next rewrite.
* ``batchnorm_as_depthwise`` -- any other BatchNorm not right after a conv (BatchNorm1d and
  3d through ``ChannelAffine``, which picks the depthwise conv of the input's rank).  The exported
  BN is four int8 elementwise ops (SUB, MUL, MUL, ADD), each requantizing; the same map as
  a 1x1 depthwise conv (weight ``a``, bias ``b``) is one op.
* ``prelu_as_relu`` -- nn.PReLU.  litert-torch lowers it as ``relu(x) - a * relu(-x)`` and
  folds the negation into the layer before it: a Linear before a PReLU is exported twice,
  once with ``-W`` (MTCNN ONet: dense5's 295k weights twice, 0.45x its fp32 weight bytes in
  int8 instead of ~0.27x).  ``relu(x) + a * (x - relu(x))`` is the same function with
  nothing to fold: RELU, SUB, MUL, ADD, one copy of the weights.
* ``zero_pad_maxpool`` -- an nn.MaxPool2d with padding, fed only by a ReLU.  The converter
  pads with the dtype's lowest value (PADV2 then MAX_POOL_2D VALID), and XNNPACK takes
  PADV2 neither in float nor in int8 (ResNet-18's stem pool: 2 partitions in both).  On
  inputs >= 0, padding with zeros gives the same maxima as padding with -inf whenever
  every window holds one real element, which PyTorch's ``padding <= kernel_size / 2``
  guarantees for dilation 1 without ceil_mode: so the pool becomes
  ``Sequential(ZeroPad2d, MaxPool2d(padding=0))``, exported as PAD (taken by XNNPACK in
  both dtypes; in int8 it pads with the zero point, i.e. with exactly 0.0).  ResNet-18
  (224x224): 1 partition in both dtypes, same outputs bit for bit, latency within noise
  (the pad is one cheap op; int8 min 4.91 -> 4.83 ms, 1 thread).  "Fed only by
  a ReLU": the pool's input is the output of nn.ReLU / nn.ReLU6 / F.relu / F.relu6 /
  torch.relu / ``.relu()`` (in-place forms too) and nothing else reads it; an in-place op
  elsewhere writing into that tensor before the pool is assumed not to happen.

Not rewritten, because no exact form stays in int8 XNNPACK: LayerNorm (SQUARED_DIFFERENCE,
RSQRT and the eps ADD are not taken in int8), GELU, SOFTMAX and BATCH_MATMUL in int8; those
ops want to stay float in the quantizer instead.  Layers reached only through functional
calls (``F.hardswish(x)``, ``F.max_pool2d(x, 3, 2, 1)`` in a forward) are left as they are.
The BatchNorm and max-pool rewrites need the dataflow, read from ``torch.fx.symbolic_trace``;
a model fx cannot trace keeps its BatchNorms and padded pools.  Models saved with torch.export
or TorchScript arrive as aten graphs: their BatchNorms are rewritten by graph_batchnorm.py
(moved through max-pools, folded, or one depthwise op).  A rewrite that cannot apply
is skipped silently; what was done is returned.
"""

from __future__ import annotations

from collections import Counter
# Top-level torch, as in dsconv/substitute.py: this module defines an nn.Module, which must be
# a real importable class (so rewritten models pickle and isinstance works).
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from .graph_batchnorm import ChannelAffine, batchnorm_affine, folded_into_conv, rewrite_graph_batchnorms_

__all__ = ["HardswishAsMul", "LeakyReluAsMax", "PReluAsRelu", "rewrite_for_int8_"]

# Exact types, not isinstance: a subclass may compute something else in its forward.
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_COPYING_PADDING = ("reflect", "replicate", "circular")
# fx node targets whose output is >= 0 (in-place spellings included).
_NONNEGATIVE_MODULES = (nn.ReLU, nn.ReLU6)
_NONNEGATIVE_FUNCTIONS = (F.relu, F.relu6, torch.relu, torch.relu_)
_NONNEGATIVE_METHODS = ("relu", "relu_")


class HardswishAsMul(nn.Module):
    """hardswish(x) = x * relu6(x + 3) / 6, spelled so the converter keeps MUL, ADD, MUL."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * (1.0 / 6.0)) * F.relu6(x + 3.0)


class LeakyReluAsMax(nn.Module):
    """leaky_relu(x, a) = max(x, a * x) for 0 <= a <= 1: MUL and MAXIMUM, which ai-edge-quantizer
    quantizes (it has no int8 LEAKY_RELU, so the op stayed float and an NPU/MCU run failed)."""

    def __init__(self, negative_slope: float):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.maximum(x, x * self.negative_slope)


class PReluAsRelu(nn.Module):
    """prelu(x) = relu(x) + a * (x - relu(x)), with ``a`` per channel (dim 1) or one for all."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(x)
        a = self.weight if self.weight.numel() == 1 or x.dim() < 2 else \
            self.weight.view([1, -1] + [1] * (x.dim() - 2))
        return y + a * (x - y)


def rewrite_for_int8_(module: nn.Module, *, hardswish: bool = True, leaky_relu: bool = False
                      ) -> list[dict[str, str]]:
    """Rewrite ``module`` in place so its int8 export stays in XNNPACK; what was done,
    as ``{"rewrite": name, "where": module path}`` in the order it was done.

    ``hardswish=False`` keeps nn.Hardswish: NPUs (Vela) and tflite-micro run HARD_SWISH in
    int8 as one op, so the three-op form only pays on CPUs.  ``leaky_relu=True`` turns
    nn.LeakyReLU into max(x, a·x): for targets that must run int8 only (on a CPU the float
    LEAKY_RELU runs inside XNNPACK as one op).
    """
    done = _fold_batchnorms_into_next_conv(module)
    done += _batchnorms_as_depthwise(module)
    if isinstance(module, torch.fx.GraphModule):  # torch.export / TorchScript: BN as aten ops
        done += rewrite_graph_batchnorms_(module)
    if hardswish:
        done += _hardswish_as_mul(module)
    if leaky_relu:
        done += _leaky_relu_as_max(module)
    done += _prelu_as_relu(module)
    done += _zero_pad_maxpools(module)
    return done


# --- nn.Hardswish ------------------------------------------------------------------------

def _hardswish_as_mul(module: nn.Module) -> list[dict[str, str]]:
    done = []
    for path, child in list(module.named_modules()):
        if type(child) is nn.Hardswish and path:
            _set_child(module, path, HardswishAsMul())
            done.append({"rewrite": "hardswish_as_mul", "where": path})
    return done


def _leaky_relu_as_max(module: nn.Module) -> list[dict[str, str]]:
    done = []
    for path, child in list(module.named_modules()):
        if type(child) is nn.LeakyReLU and path and 0.0 <= child.negative_slope <= 1.0:
            _set_child(module, path, LeakyReluAsMax(child.negative_slope))
            done.append({"rewrite": "leaky_relu_as_max", "where": path})
    return done


def _prelu_as_relu(module: nn.Module) -> list[dict[str, str]]:
    done = []
    for path, child in list(module.named_modules()):
        if type(child) is nn.PReLU and path:
            _set_child(module, path, PReluAsRelu(child.weight))
            done.append({"rewrite": "prelu_as_relu", "where": path})
    return done


# --- BatchNorm ---------------------------------------------------------------------------

def _fold_batchnorms_into_next_conv(module: nn.Module) -> list[dict[str, str]]:
    done = []
    for bn_path, conv_path in _batchnorm_conv_pairs(module):
        modules = dict(module.named_modules())
        bn, conv = modules[bn_path], modules[conv_path]
        scale, shift = _batchnorm_affine(bn)
        if not _fold_is_exact(conv, shift):
            continue
        with torch.no_grad():
            _fold_affine_into_conv(conv, scale, shift)
        _set_child(module, bn_path, nn.Identity())
        done.append({"rewrite": "fold_bn_into_next_conv", "where": f"{bn_path} -> {conv_path}"})
    return done


def _batchnorms_as_depthwise(module: nn.Module) -> list[dict[str, str]]:
    done = []
    for path in _lone_batchnorms(module):
        bn = dict(module.named_modules())[path]
        scale, shift = _batchnorm_affine(bn)
        if type(bn) is not nn.BatchNorm2d:  # 1-D: (N, C, L) or (N, C); 3-D maps: one module for each rank
            _set_child(module, path, ChannelAffine(scale, shift))
            done.append({"rewrite": "batchnorm_as_depthwise", "where": path})
            continue
        channels = scale.numel()
        conv = nn.Conv2d(channels, channels, 1, groups=channels, bias=True,
                         device=scale.device, dtype=scale.dtype)
        with torch.no_grad():
            conv.weight.copy_(scale.view(channels, 1, 1, 1))
            conv.bias.copy_(shift)
        _set_child(module, path, conv)
        done.append({"rewrite": "batchnorm_as_depthwise", "where": path})
    return done


def _batchnorm_affine(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """BN in eval mode as y = scale*x + shift, per channel."""
    return batchnorm_affine(bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.eps)


def _fold_is_exact(conv: nn.Module, shift: torch.Tensor) -> bool:
    if conv.padding_mode in _COPYING_PADDING or not bool(shift.any()):
        return True
    if conv.padding == "valid":
        return True
    if conv.padding == "same":
        return all(d * (k - 1) == 0 for d, k in zip(conv.dilation, conv.kernel_size))
    return all(p == 0 for p in conv.padding)


def _fold_affine_into_conv(conv: nn.Module, scale: torch.Tensor, shift: torch.Tensor) -> None:
    """conv(scale*x + shift) == conv'(x), for a conv whose padding sees no shift."""
    folded, extra_bias = folded_into_conv(conv.weight, conv.groups, scale, shift)
    conv.weight.copy_(folded)
    if conv.bias is None:
        conv.bias = nn.Parameter(extra_bias)
    else:
        conv.bias.add_(extra_bias)


# --- padded nn.MaxPool2d after a ReLU ------------------------------------------------------

def _zero_pad_maxpools(module: nn.Module) -> list[dict[str, str]]:
    traced = _traced_calls(module)
    if traced is None:
        return []
    calls, modules = traced
    done = []
    for node in calls:
        pool = modules[node.target]
        if not (_zero_padding_is_exact(pool) and node.args and _is_nonnegative(node.args[0], modules)
                and len(node.args[0].users) == 1):
            continue
        _set_child(module, node.target, _zero_padded(pool))
        done.append({"rewrite": "zero_pad_maxpool", "where": node.target})
    return done


def _zero_padding_is_exact(pool: nn.Module) -> bool:
    """Padded, and every window holds a real element (dilation 1, no ceil_mode), no indices."""
    if type(pool) is not nn.MaxPool2d or pool.ceil_mode or pool.return_indices:
        return False
    padding = _pair(pool.padding)
    return any(padding) and _pair(pool.dilation) == (1, 1)


def _is_nonnegative(node: object, modules: dict[str, nn.Module]) -> bool:
    if not isinstance(node, torch.fx.Node):
        return False
    if node.op == "call_module":
        return type(modules[node.target]) in _NONNEGATIVE_MODULES
    if node.op == "call_function":
        return node.target in _NONNEGATIVE_FUNCTIONS
    return node.op == "call_method" and node.target in _NONNEGATIVE_METHODS


def _zero_padded(pool: nn.MaxPool2d) -> nn.Sequential:
    pad_h, pad_w = _pair(pool.padding)
    return nn.Sequential(nn.ZeroPad2d((pad_w, pad_w, pad_h, pad_h)),
                         nn.MaxPool2d(pool.kernel_size, pool.stride, padding=0))


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


# --- dataflow from torch.fx --------------------------------------------------------------

def _traced_calls(module: nn.Module) -> tuple[list[torch.fx.Node], dict[str, nn.Module]] | None:
    """The fx nodes of ``module`` that call a submodule exactly once, or None if untraceable."""
    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception:  # fx cannot trace data-dependent control flow and more: skip silently
        return None
    calls = [node for node in graph.nodes if node.op == "call_module"]
    uses = Counter(node.target for node in calls)
    modules = dict(module.named_modules())
    # A module called twice is shared: rewriting it would change both uses.
    return [node for node in calls if uses[node.target] == 1], modules


def _only_consumer(node: torch.fx.Node) -> torch.fx.Node | None:
    users = list(node.users)
    if len(users) == 1 and users[0].args == (node,) and not users[0].kwargs:
        return users[0]
    return None


def _is_usable_batchnorm(bn: nn.Module) -> bool:
    return (type(bn) in _BATCHNORMS and bn.running_mean is not None
            and bn.running_var is not None and not bn.training)


def _batchnorm_conv_pairs(module: nn.Module) -> list[tuple[str, str]]:
    traced = _traced_calls(module)
    if traced is None:
        return []
    calls, modules = traced
    single = {node.target for node in calls}
    pairs = []
    for node in calls:
        consumer = _only_consumer(node)
        if consumer is None or consumer.op != "call_module" or consumer.target not in single:
            continue
        bn, conv = modules[node.target], modules[consumer.target]
        if (_is_usable_batchnorm(bn) and type(conv) in _CONVS
                and _BATCHNORMS.index(type(bn)) == _CONVS.index(type(conv))):
            pairs.append((node.target, consumer.target))
    return pairs


def _lone_batchnorms(module: nn.Module) -> list[str]:
    """BatchNorms that the conv->BN fold cannot take: not fed by a conv or linear they alone read."""
    traced = _traced_calls(module)
    if traced is None:
        return []
    calls, modules = traced
    lone = []
    for node in calls:
        if not _is_usable_batchnorm(modules[node.target]) or len(node.args) != 1:
            continue
        producer = node.args[0]
        # A conv subclass that pads in its forward (TF-"same", as efficientnet-lite-pytorch's
        # Conv2dStaticSamePadding) is traced through to F.conv2d: still a conv the converter folds.
        fed_by_layer = len(getattr(producer, "users", ())) == 1 and (
            (getattr(producer, "op", "") == "call_module" and type(modules[producer.target]) in _CONVS + (nn.Linear,))
            or (getattr(producer, "op", "") == "call_function" and producer.target in _CONV_FUNCTIONS))
        if not fed_by_layer:
            lone.append(node.target)
    return lone


_CONV_FUNCTIONS = (F.conv1d, F.conv2d, F.linear, torch.conv1d, torch.conv2d)


def _set_child(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, name, new)
