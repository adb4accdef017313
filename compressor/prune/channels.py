"""Structured pruning: remove whole output channels, so the exported graph is dense and smaller.

Which channels must go together comes from torch-pruning's ``DependencyGraph`` (Fang et al.,
"DepGraph: Towards Any Structural Pruning", CVPR 2023): a residual add couples the channels of
every branch it sums, a concatenation maps index ranges onto its inputs, a split (torch.chunk)
back onto its source, a depthwise conv shares its input's channels, and an SE block's
channel-wise product ties its last layer to the features it scales.  One "group" is a set of
channels removed together; we rank channels inside a group by importance (L2 magnitude, or
first-order Taylor |w * dL/dw| on the data, Molchanov et al., CVPR 2019) and cut the weakest.

How many channels per group: the request, rounded to the target's ``channel_multiple`` (its
kernels work on channel blocks of that size, so 13 channels cost as much as 16), never below
one multiple and never more than ``MAX_LAYER_AMOUNT`` of a layer, then adjusted group by group
so the overall fraction lands as close to the request as the rounding allows.  The model's
output layer keeps its outputs.  A group touching a parameter torch-pruning does not own (a
custom layer) is skipped and named, never guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .dependency import build_dependency_graph, form_groups, unmappable_ops
from .outcome import LayerSparsity, PruneOutcome

__all__ = ["MAX_LAYER_AMOUNT", "ChannelGroup", "channel_importance", "find_channel_groups", "keep_options",
           "prune_channels_"]

# At most this fraction of one layer's channels goes: global rankings can empty a layer
# (PITFALLS.md, "Pruning"), and a layer left with a sliver of channels rarely recovers.
MAX_LAYER_AMOUNT = 0.9
_KNOWN_PARAM_OWNERS = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
                       "Linear", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm",
                       "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "PReLU", "Embedding")


@dataclass
class ChannelGroup:
    """One set of coupled channels, named by its root layer (the first conv/linear cutting it)."""

    root: str
    module: Any  # the root nn.Module
    channels: int  # output channels of the root now
    channel_groups: int  # grouped convs: channels are cut in the same place in every conv group
    members: tuple[str, ...]  # layers whose output channels this group cuts
    skipped: str | None = None
    group: Any = None  # torch_pruning Group with all indices


def _kind(module: Any) -> str:
    name = type(module).__name__
    groups = getattr(module, "groups", 1)
    if groups > 1:
        return f"{name} depthwise" if groups == getattr(module, "out_channels", 0) else f"{name} groups={groups}"
    return name


def _output_layers(model: Any, example_inputs: tuple) -> set[Any]:
    """Conv/linear layers whose output is the model's output (directly): the classifier."""
    import torch

    produced: dict[int, Any] = {}
    order: list[Any] = []

    def hook(module, inputs, output):
        if isinstance(output, torch.Tensor):
            produced[id(output)] = module
            order.append(module)

    layers = [m for m in model.modules() if isinstance(m, (torch.nn.modules.conv._ConvNd, torch.nn.Linear))]
    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        with torch.no_grad():
            output = model(*example_inputs)
    finally:
        for handle in handles:
            handle.remove()
    outputs = output if isinstance(output, (tuple, list)) else (output,)
    found = {produced[id(t)] for t in outputs if isinstance(t, torch.Tensor) and id(t) in produced}
    # An output computed after the last layer (a mean, a softmax) still comes from the last layer run.
    return found or ({order[-1]} if order else set())


def _unsupported_params(model: Any) -> dict[int, str]:
    """id(parameter) -> "name (Type)" for parameters no torch-pruning pruner owns."""
    found = {}
    for module_name, module in model.named_modules():
        if type(module).__name__ in _KNOWN_PARAM_OWNERS:
            continue
        for param_name, param in module.named_parameters(recurse=False):
            where = f"{module_name}.{param_name}" if module_name else param_name
            found[id(param)] = f"{where} ({type(module).__name__})"
    return found


def find_channel_groups(model: Any, example_inputs: tuple) -> tuple[Any, list[ChannelGroup], dict[str, str]]:
    """The dependency graph, its channel groups, and layers skipped before grouping (name -> why)."""
    import torch
    import torch_pruning as tp

    names = {module: name for name, module in model.named_modules()}
    outputs = _output_layers(model, example_inputs)
    skipped = {names[m]: "output layer: the model's outputs stay as they are" for m in outputs}
    unsupported = _unsupported_params(model)
    graph, failed = build_dependency_graph(model, example_inputs)
    rearranging = unmappable_ops(graph, failed)
    roots = (torch.nn.modules.conv._ConvNd, torch.nn.Linear)
    groups = []
    for root, group, failure in form_groups(graph, ignored=list(outputs), root_types=roots):
        if group is None:
            reason = f"group of {names[root]}: {failure}"
            groups.append(ChannelGroup(names[root], root, graph.get_out_channels(root), 1, (names[root],),
                                       skipped=reason))
            skipped.setdefault(names[root], reason)
            continue
        members, blocked = [], None
        for dep, _ in group:
            target = dep.target.module
            for node in (dep.source, dep.target):
                if node in rearranging and blocked is None:
                    blocked = rearranging[node]
            if dep.target.type == tp.ops.OPTYPE.PARAMETER:
                blocked = blocked or unsupported.get(id(target), "an unwrapped parameter")
            if graph.is_out_channel_pruning_fn(dep.handler) and isinstance(target, roots):
                members.append(names.get(target, "?"))
        channels = graph.get_out_channels(root)
        channel_groups = 1
        for dep, _ in group:
            target = dep.target.module
            if dep.target.type == tp.ops.OPTYPE.SPLIT and target.split_sizes:
                # The model's own code splits (torch.chunk / torch.split) at run time: cut the same
                # places in every section so equal sections stay equal; unequal ones are fixed in code.
                sizes = list(target.split_sizes)
                if len(set(sizes)) == 1:
                    channel_groups = max(channel_groups, len(sizes))
                else:
                    blocked = blocked or f"a split into unequal sections {sizes} fixed in the model's code"
                continue
            pruner = graph.get_pruner_of_module(target)
            if pruner is None or not isinstance(target, torch.nn.Module):
                continue
            if isinstance(target, torch.nn.modules.conv._ConvNd) and target.groups == target.out_channels:
                continue  # depthwise: one channel per group, cut freely
            if graph.is_out_channel_pruning_fn(dep.handler):
                channel_groups = max(channel_groups, pruner.get_out_channel_groups(target) or 1)
            elif graph.is_in_channel_pruning_fn(dep.handler):
                channel_groups = max(channel_groups, pruner.get_in_channel_groups(target) or 1)
        item = ChannelGroup(names[root], root, channels, channel_groups, tuple(dict.fromkeys(members)),
                            group=group)
        if blocked:
            item.skipped = f"group of {item.root}: coupled to {blocked}" + _why_not(blocked, rearranging)
            for member in item.members:
                skipped.setdefault(member, item.skipped)
        groups.append(item)
    for name in unsupported.values():
        skipped.setdefault(name.split(" (")[0], f"{name.split(' (')[1][:-1]} is not a layer torch-pruning can cut")
    return graph, groups, skipped


def _why_not(blocked: str, rearranging: dict[Any, str]) -> str:
    if blocked.startswith("a split"):
        return ""
    if blocked in rearranging.values():
        return ", which torch-pruning cannot follow channel indices through"
    return ", which torch-pruning has no pruner for"


def keep_options(group: ChannelGroup, multiple: int) -> list[int]:
    """Channel counts this group may keep: on the multiple, at least one multiple, within the cap."""
    c, g = group.channels, group.channel_groups
    lowest = max(multiple, math.ceil(c * (1 - MAX_LAYER_AMOUNT)))
    return [k for k in range(c - 1, 0, -1) if k % g == 0 and k % multiple == 0 and k >= lowest]


def _choose_keeps(groups: list[ChannelGroup], amounts: dict[str, float], multiple: int, *,
                  balance: bool) -> dict[str, int]:
    """Channels each group keeps: nearest allowed count to its request, then (balance) moved
    one step at a time while that brings the overall removed fraction nearer the request."""
    options = {g.root: [g.channels] + keep_options(g, multiple) for g in groups}
    weight = {g.root: max(len(g.members), 1) for g in groups}  # layers whose outputs shrink
    keep = {}
    for g in groups:
        want = g.channels * (1 - amounts[g.root])
        keep[g.root] = min(options[g.root], key=lambda k: (abs(k - want), k))
    if not balance:
        return keep
    total = sum(weight[g.root] * g.channels for g in groups)
    target = sum(weight[g.root] * g.channels * amounts[g.root] for g in groups)

    def removed(state):
        return sum(weight[g.root] * (g.channels - state[g.root]) for g in groups)

    while True:
        error, best = abs(removed(keep) - target), None
        for g in groups:
            allowed = options[g.root]
            index = allowed.index(keep[g.root])
            for step in (-1, 1):
                if 0 <= index + step < len(allowed):
                    trial = dict(keep)
                    trial[g.root] = allowed[index + step]
                    trial_error = abs(removed(trial) - target)
                    if trial_error < error - 1e-9:
                        error, best = trial_error, trial
        if best is None or total == 0:
            return keep
        keep = best


def channel_importance(kind: str):
    import torch
    import torch_pruning as tp

    types = [torch.nn.modules.conv._ConvNd, torch.nn.Linear, torch.nn.modules.batchnorm._BatchNorm,
             torch.nn.LayerNorm]
    if kind == "taylor":
        return tp.importance.GroupTaylorImportance(group_reduction="mean", normalizer="mean", target_types=types)
    return tp.importance.GroupMagnitudeImportance(p=2, group_reduction="mean", normalizer="mean", target_types=types)


def _taylor_gradients_(model: Any, x: Any, y: Any) -> None:
    """Fill .grad with dL/dw on the data: cross-entropy on the labels, or on the model's own
    top-1 when there are none (KD against itself would have zero gradient)."""
    import torch.nn.functional as F

    model.zero_grad(set_to_none=True)
    for start in range(0, len(x), 64):
        output = model(x[start:start + 64])
        if output.ndim == 2 and output.shape[1] > 1:
            target = y[start:start + 64] if y is not None else output.detach().argmax(1)
            loss = F.cross_entropy(output, target, reduction="sum") / len(x)
        else:
            loss = 0.5 * output.pow(2).sum() / len(x)
        loss.backward()


def rank_channels(group: ChannelGroup, importance: Any) -> Any:
    """Channel indices of one group, least important first (per conv group for grouped convs)."""
    import torch

    score = importance(group.group)
    if score is None:
        return None
    if group.channel_groups > 1:
        score = score.view(group.channel_groups, -1).mean(dim=0)
    return torch.argsort(score.cpu(), stable=True)


def prune_channels_(model: Any, example_inputs: tuple, *, amount: float, channel_multiple: int,
                    layers: str | tuple[str, ...] = "all", layer_amounts: dict[str, float] | None = None,
                    importance: str = "magnitude", x: Any = None, y: Any = None) -> PruneOutcome:
    """Remove output channels of ``model`` in place; returns what was asked and what was cut.

    ``layer_amounts`` (root name -> fraction) overrides ``amount`` per group, as the
    sensitivity scan (``--prune-layers auto``) allocates; ``layers`` (a tuple of names) limits
    pruning to groups rooted at, or containing, those layers.  ``x`` (tensor) feeds Taylor importance.
    """
    import torch

    before = {name: m for name, m in model.named_modules()
              if isinstance(m, (torch.nn.modules.conv._ConvNd, torch.nn.Linear))}
    out_before = {name: _out_channels(m) for name, m in before.items()}
    params_before = {name: m.weight.numel() for name, m in before.items()}
    kinds = {name: _kind(m) for name, m in before.items()}
    graph, groups, skipped = find_channel_groups(model, example_inputs)
    notes = [f"channel counts rounded to multiples of {channel_multiple} (the target's channel_multiple); "
             f"at most {MAX_LAYER_AMOUNT:.0%} of a layer's channels removed"]
    unmapped = [g.root for g in groups if g.skipped and "torch-pruning cannot follow" in g.skipped]
    if unmapped:
        notes.append(f"{len(unmapped)} channel groups skipped, their channels pass through ops torch-pruning "
                     f"cannot map (channel shuffles, channel-axis transposes): {', '.join(unmapped)}")
    selected = []
    for group in groups:
        if group.skipped:
            continue
        if isinstance(layers, tuple) and not set(layers) & {group.root, *group.members}:
            group.skipped = "not in --prune-layers"
        elif not keep_options(group, channel_multiple):
            group.skipped = (f"{group.channels} channels: no smaller count on a multiple of {channel_multiple}"
                             + (f" and of its {group.channel_groups} conv groups" if group.channel_groups > 1 else ""))
        if group.skipped:
            for member in group.members:
                skipped.setdefault(member, group.skipped)
        else:
            selected.append(group)
    amounts = {g.root: (layer_amounts or {}).get(g.root, amount) for g in selected}
    keep = _choose_keeps(selected, amounts, channel_multiple, balance=layer_amounts is None)
    if importance == "taylor" and x is not None:
        _taylor_gradients_(model, x, y)
    scorer = channel_importance(importance)
    orders = {g.root: rank_channels(g, scorer) for g in selected}
    requested_of = {}
    for group in selected:
        order = orders[group.root]
        cut = group.channels - keep[group.root]
        for member in group.members:
            requested_of[member] = amounts[group.root]
        if order is None or cut <= 0:
            continue
        per_group = cut // group.channel_groups
        size = group.channels // group.channel_groups
        idxs = torch.cat([order[:per_group] + k * size for k in range(group.channel_groups)]).tolist()
        handler = group.group[0].dep.handler
        pruning = graph.get_pruning_group(group.module, handler, sorted(idxs))
        if graph.check_pruning_group(pruning):
            pruning.prune()
        else:
            for member in group.members:
                skipped.setdefault(member, "torch-pruning refused the cut (it would empty a coupled layer)")
    model.zero_grad(set_to_none=True)
    after = {name: _out_channels(m) for name, m in model.named_modules() if name in before}
    records, removed, total = [], 0, 0
    for name in before:
        reason = skipped.get(name)
        achieved = 1 - after[name] / out_before[name]
        if reason is None and name not in requested_of:
            reason = "in no channel group torch-pruning found (its outputs feed no prunable path)"
        records.append(LayerSparsity(name, kinds[name], params_before[name], requested_of.get(name, 0.0),
                                     achieved, reason))
        if reason is None:
            removed += out_before[name] - after[name]
            total += out_before[name]
    for name, reason in skipped.items():
        if name not in before:
            records.append(LayerSparsity(name, "parameter", 0, 0.0, 0.0, reason))
    overall = removed / total if total else 0.0
    requested = amount if layer_amounts is None else amount
    if total and abs(overall - requested) > 0.02:
        notes.append(f"achieved {overall:.1%} of the prunable channels for {requested:.1%} requested: "
                     f"rounding to multiples of {channel_multiple} and the {MAX_LAYER_AMOUNT:.0%} per-layer cap "
                     "leave no closer choice for these layer widths")
    return PruneOutcome("channels", requested, overall, tuple(records), tuple(notes))


def _out_channels(module: Any) -> int:
    return int(getattr(module, "out_channels", None) or module.out_features)
