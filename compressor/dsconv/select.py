"""Which dense convolutions to substitute, and at what rank: the target's cost model and the data decide.

For every ``nn.Conv2d`` of the model (graph models are lifted to modules first, see
substitute.py) ``select_layers`` returns one ``LayerChoice``: substituted at a rank, or
skipped with the reason.  In ``auto`` mode a layer is skipped when

* it is not a dense k×k conv: ``groups != 1`` (already depthwise or grouped) or 1×1;
* it has few input channels, fewer than the target's ``compute.channel_multiple``: the
  depthwise and pointwise kernels would run mostly padding (the usual first conv on 1-3
  input channels; a dense conv on so few channels is cheap already);
* the target's cost model says the dense conv is memory-bound: fewer MACs would not make it
  faster (``cost.latency.estimate_op_latency``: roofline max(compute, memory));
* no rank pays: the estimated latency of the pair (depthwise + pointwise, plus the
  CONCATENATION that replicates the input for ranks > 1, see substitute.py) is not below the
  dense conv's on the target profile, in the dtype the artifact will compute in;
* the relative output error on the data stays above ``max_error`` at every rank that pays.

Rank ``auto`` is the smallest paying rank whose relative output error on the data,
||conv(X, W_R) − conv(X, W)|| / ||conv(X, W)||, is at most ``max_error``: the smallest rank
saves the most MACs and latency, and the error bound is what recovery fine-tuning can win
back.  All inputs X are the layer's real inputs on (up to 128 samples of) the data.
Modes ``all`` and ``NAME,...`` substitute every (named) dense k×k conv, whatever the cost.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..targets.types import TargetProfile

__all__ = ["LayerChoice", "capture_conv_inputs", "estimate_pair_ms", "select_layers"]

ERROR_SAMPLES = 128  # layer inputs kept per layer for the error scan; errors settle well before


@dataclass(frozen=True)
class LayerChoice:
    name: str
    kernel: tuple[int, int]
    cin: int
    cout: int
    stride: tuple[int, int]
    output_hw: tuple[int, int]
    rank: int | None  # None when skipped
    macs_before: int
    macs_after: int
    latency_before_ms: float | None  # target estimate of the dense conv
    latency_after_ms: float | None  # target estimate of the substituted pair
    errors: dict[int, float]  # relative output error on the data by rank (after initialisation)
    skipped: str | None = None

    @property
    def error_init(self) -> float | None:
        return self.errors.get(self.rank) if self.rank is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "k": list(self.kernel), "cin": self.cin, "cout": self.cout,
                "stride": list(self.stride), "output_hw": list(self.output_hw), "rank": self.rank,
                "macs_before": int(self.macs_before), "macs_after": int(self.macs_after),
                "latency_before_ms": _round(self.latency_before_ms), "latency_after_ms": _round(self.latency_after_ms),
                "error_init": _round(self.error_init), "skipped": self.skipped,
                "errors_by_rank": {str(r): round(e, 4) for r, e in sorted(self.errors.items())}}


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def capture_conv_inputs(module: Any, x: np.ndarray, names: list[str], *, batch: int = ERROR_SAMPLES
                        ) -> dict[str, Any]:
    """(input tensor, output H×W) of each named conv on up to ``ERROR_SAMPLES`` samples of ``x``."""
    import torch

    captured: dict[str, list] = {name: [] for name in names}
    shapes: dict[str, tuple] = {}

    def keep(name, args, out):
        captured[name].append(args[0].detach())
        shapes[name] = tuple(out.shape[2:])

    hooks = [module.get_submodule(name).register_forward_hook(
        lambda _m, args, out, name=name: keep(name, args, out)) for name in names]
    data = torch.as_tensor(np.ascontiguousarray(x[:ERROR_SAMPLES]), dtype=torch.float32)
    try:
        with torch.no_grad():
            for start in range(0, len(data), batch):
                module(data[start:start + batch])
    finally:
        for hook in hooks:
            hook.remove()
    return {name: (torch.cat(parts), shapes[name]) for name, parts in captured.items() if parts}


def _rank_errors(conv: Any, inputs: Any, ranks: range) -> dict[int, float]:
    import torch
    import torch.nn.functional as F

    from .factorize import factorize_conv_weight, reconstruct_weight

    errors = {}
    with torch.no_grad():
        exact = F.conv2d(inputs, conv.weight, None, conv.stride, conv.padding, conv.dilation)
        scale = float(exact.norm()) or 1.0
        for rank in ranks:
            delta = reconstruct_weight(factorize_conv_weight(conv.weight, rank)) - conv.weight
            errors[rank] = float(F.conv2d(inputs, delta, None, conv.stride, conv.padding, conv.dilation).norm()) / scale
    return errors


def _op(kind: str, op_type: str, *, macs: int, dtype: str, weight_elems: int, in_elems: int, out_elems: int,
        out_channels: int) -> Any:
    from ..graph.ir import Op

    size = 1 if dtype == "int8" else 4
    extra = {"out_channels": out_channels} if "out_channels" in {f.name for f in dataclasses.fields(Op)} else {}
    return Op(name=op_type.lower(), op_type=op_type, kind=kind, inputs=(), outputs=(), macs=int(macs),
              compute_dtype=dtype, weight_bytes=weight_elems * size, input_bytes=in_elems * size,
              output_bytes=out_elems * size, **extra)


def _dense_op(c: LayerShape, dtype: str) -> Any:
    return _op("conv", "CONV_2D", macs=c.macs, dtype=dtype, weight_elems=c.cout * c.cin * c.k_elems,
               in_elems=c.in_pixels * c.cin, out_elems=c.out_pixels * c.cout, out_channels=c.cout)


def _pair_ops(c: LayerShape, rank: int, dtype: str) -> list[Any]:
    from .factorize import pair_macs

    mid = c.cin * rank
    dw_macs, pw_macs = pair_macs(cin=c.cin, cout=c.cout, kernel_elements=c.k_elems, rank=rank,
                                 output_pixels=c.out_pixels)
    ops = [_op("depthwise", "DEPTHWISE_CONV_2D", macs=dw_macs, dtype=dtype, weight_elems=mid * c.k_elems,
               in_elems=c.in_pixels * mid, out_elems=c.out_pixels * mid, out_channels=mid),
           _op("pointwise", "CONV_2D", macs=pw_macs, dtype=dtype, weight_elems=mid * c.cout,
               in_elems=c.out_pixels * mid, out_elems=c.out_pixels * c.cout, out_channels=c.cout)]
    if rank > 1:
        ops.insert(0, _op("reshape", "CONCATENATION", macs=0, dtype=dtype, weight_elems=0,
                          in_elems=c.in_pixels * c.cin * rank, out_elems=c.in_pixels * mid, out_channels=mid))
    return ops


@dataclass(frozen=True)
class LayerShape:
    cin: int
    cout: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]

    @property
    def k_elems(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def in_pixels(self) -> int:
        return self.in_hw[0] * self.in_hw[1]

    @property
    def out_pixels(self) -> int:
        return self.out_hw[0] * self.out_hw[1]

    @property
    def macs(self) -> int:
        return self.out_pixels * self.cin * self.cout * self.k_elems


def estimate_pair_ms(shape: LayerShape, rank: int | None, target: TargetProfile, dtype: str) -> float:
    """Estimated latency on ``target`` of the dense conv (rank None) or its rank-``rank`` pair."""
    from ..cost.latency import estimate_op_latency

    ops = [_dense_op(shape, dtype)] if rank is None else _pair_ops(shape, rank, dtype)
    return sum(estimate_op_latency(op, target).latency_s for op in ops) * 1e3


def _structural_skip(conv: Any) -> str | None:
    if conv.groups != 1:
        return f"groups={conv.groups}: already depthwise or grouped"
    if conv.kernel_size == (1, 1):
        return "1x1 conv: already pointwise"
    if conv.padding_mode != "zeros" and conv.padding != (0, 0):
        return f"padding_mode={conv.padding_mode!r}"
    return None


def select_layers(module: Any, x: np.ndarray, *, mode: str | tuple[str, ...], rank: str, max_error: float,
                  target: TargetProfile, dtype: str, batch: int = ERROR_SAMPLES) -> list[LayerChoice]:
    """One ``LayerChoice`` per Conv2d of ``module`` (see the module docstring)."""
    from .factorize import pair_macs
    from .substitute import conv_layers

    convs = conv_layers(module)
    if isinstance(mode, tuple):
        unknown = [name for name in mode if name not in convs]
        if unknown:
            raise ConfigError("dsconv.mode", unknown[0], "a Conv2d layer name of the model ("
                              + ", ".join(list(convs)[:6]) + (", ..." if len(convs) > 6 else "") + ")")
    fixed_rank = None if rank == "auto" else int(rank)
    eligible = [name for name, conv in convs.items() if _structural_skip(conv) is None]
    inputs = capture_conv_inputs(module, x, eligible, batch=batch) if eligible else {}
    multiple = target.compute.channel_multiple
    choices = []
    for name, conv in convs.items():
        kernel = tuple(conv.kernel_size)
        reason = _structural_skip(conv)
        if isinstance(mode, tuple) and name not in mode:
            reason = reason or "not named in --dsconv"
        elif isinstance(mode, tuple) and reason:
            raise ConfigError("dsconv.mode", name, f"a dense k x k conv; this one cannot be substituted ({reason})")
        if reason is not None or name not in inputs:
            choices.append(LayerChoice(name, kernel, conv.in_channels, conv.out_channels, tuple(conv.stride), (0, 0),
                                       None, 0, 0, None, None, {}, reason or "not run on the data"))
            continue
        inp, out_hw = inputs[name]
        shape = LayerShape(conv.in_channels, conv.out_channels, kernel, tuple(conv.stride), tuple(inp.shape[2:]), out_hw)
        max_rank = min(shape.k_elems, conv.out_channels)
        ranks = range(fixed_rank, fixed_rank + 1) if fixed_rank else range(1, max_rank + 1)
        errors = _rank_errors(conv, inp, ranks)
        dense_ms = estimate_pair_ms(shape, None, target, dtype)
        pair_ms = {r: estimate_pair_ms(shape, r, target, dtype) for r in ranks}
        chosen, reason = _choose(mode, shape, conv, target, dtype, multiple, errors, dense_ms, pair_ms, max_error,
                                 fixed_rank)
        after = sum(pair_macs(cin=shape.cin, cout=shape.cout, kernel_elements=shape.k_elems, rank=chosen,
                              output_pixels=shape.out_pixels)) if chosen else shape.macs
        choices.append(LayerChoice(name, kernel, shape.cin, shape.cout, shape.stride, out_hw, chosen, shape.macs,
                                   after, dense_ms, pair_ms.get(chosen) if chosen else None, errors, reason))
    return choices


def _choose(mode, shape: LayerShape, conv, target, dtype, multiple, errors, dense_ms, pair_ms, max_error,
            fixed_rank) -> tuple[int | None, str | None]:
    from ..cost.latency import estimate_op_latency

    if mode != "auto":  # "all" or names: substitute, at the fixed rank or the smallest under the bound
        if fixed_rank:
            return fixed_rank, None
        under = [r for r in sorted(errors) if errors[r] <= max_error]
        return (under[0] if under else max(errors)), None
    if shape.cin < multiple:
        return None, (f"few input channels ({shape.cin} < the target's channel multiple {multiple}): "
                      "depthwise/pointwise kernels would run mostly padding")
    if estimate_op_latency(_dense_op(shape, dtype), target).bound == "memory":
        return None, f"memory-bound on {target.name}: fewer MACs would not make it faster"
    paying = [r for r in sorted(pair_ms) if pair_ms[r] < dense_ms]
    if not paying:
        best = min(pair_ms, key=pair_ms.get)
        return None, (f"does not pay on {target.name}: pair {pair_ms[best] * 1e3:.2f} us at rank {best} vs "
                      f"dense {dense_ms * 1e3:.2f} us (estimated)")
    under = [r for r in paying if errors[r] <= max_error]
    if not under:
        worst = max(paying)
        return None, (f"output error {errors[worst]:.3f} at rank {worst} (the largest that pays) exceeds "
                      f"the bound {max_error:g}")
    return under[0], None
