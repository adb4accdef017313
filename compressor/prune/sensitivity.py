"""Per-layer sensitivity scan for ``--prune-layers auto``: where can channels go with least damage.

For each channel group (prune/channels.py) and each trial amount, the weakest channels of
that group alone are silenced, by zeroing every weight and bias that produces them (conv
outputs, the BatchNorm scale and shift after them, depthwise convs that carry them): exactly
what removing them does to the rest of the network, without rebuilding it.  The damage is the
output error on the data against the unchanged model: KL(teacher || pruned) of the class
distributions for a classifier, relative MSE of the outputs otherwise (the layer-wise
sensitivity analysis of Li et al., "Pruning Filters for Efficient ConvNets", ICLR 2017, with
output error in place of accuracy so it is defined on unlabelled data).

``allocate_amounts`` then spends the global budget greedily: the next step of
``channel_multiple`` channels always goes from the group whose (interpolated) damage grows least
per channel removed, until the overall fraction is reached.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .channels import ChannelGroup, keep_options, find_channel_groups, rank_channels

__all__ = ["SCAN_AMOUNTS", "SensitivityRow", "allocate_amounts", "scan_sensitivity"]

SCAN_AMOUNTS = (0.25, 0.5, 0.75)  # trial fractions per group; damage in between is interpolated
SCAN_SAMPLES = 256  # output error settles well before this on the zoo (digits, 10 classes)


@dataclass(frozen=True)
class SensitivityRow:
    layer: str  # root layer of the channel group
    channels: int
    weight: int  # layers whose outputs the group shrinks
    options: tuple[int, ...]  # channel counts the group may keep (multiples, within the cap)
    errors: tuple[float, ...]  # output error at each of SCAN_AMOUNTS
    allocated: float = 0.0  # fraction of channels allocated by allocate_amounts

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "channels": self.channels,
                "errors": {f"{a:g}": round(e, 6) for a, e in zip(SCAN_AMOUNTS, self.errors)},
                "allocated": round(self.allocated, 4)}


def _output_error(reference: Any, output: Any) -> float:
    import torch.nn.functional as F

    if reference.ndim == 2 and reference.shape[1] > 1:
        return float(F.kl_div(F.log_softmax(output, 1), F.log_softmax(reference, 1),
                              reduction="batchmean", log_target=True))
    return float(((output - reference) ** 2).mean() / ((reference ** 2).mean() + 1e-12))


def _silence_(graph: Any, group: ChannelGroup, idxs: list[int]) -> list[tuple[Any, Any]]:
    """Zero what produces channels ``idxs`` of the group; returns (tensor, saved copy) to restore."""
    saved = []
    pruning = graph.get_pruning_group(group.module, group.group[0].dep.handler, idxs)
    for dep, dep_idxs in pruning:
        module = dep.target.module
        if not graph.is_out_channel_pruning_fn(dep.handler) or not hasattr(module, "weight"):
            continue
        for name in ("weight", "bias"):
            tensor = getattr(module, name, None)
            if tensor is None:
                continue
            saved.append((tensor, tensor.detach().clone()))
            if name == "weight" and getattr(module, "transposed", False):
                tensor.data[:, dep_idxs] = 0
            else:
                tensor.data[dep_idxs] = 0
    return saved


def scan_sensitivity(model: Any, example_inputs: tuple, x: Any, *, channel_multiple: int,
                     layers: str | tuple[str, ...] = "all") -> list[SensitivityRow]:
    """Output error per channel group at each of SCAN_AMOUNTS (on a copy: ``model`` is untouched)."""
    import torch

    from .channels import channel_importance

    work = copy.deepcopy(model)
    graph, groups, _ = find_channel_groups(work, example_inputs)
    x = x[:SCAN_SAMPLES]
    scorer = channel_importance("magnitude")
    rows = []
    with torch.no_grad():
        reference = work(x)
        for group in groups:
            options = keep_options(group, channel_multiple)
            if group.skipped or not options:
                continue
            if isinstance(layers, tuple) and not set(layers) & {group.root, *group.members}:
                continue
            order = rank_channels(group, scorer)
            if order is None:
                continue
            errors = []
            size = group.channels // group.channel_groups
            for amount in SCAN_AMOUNTS:
                keep = min([group.channels, *options], key=lambda k: (abs(k - group.channels * (1 - amount)), k))
                per_group = (group.channels - keep) // group.channel_groups
                idxs = torch.cat([order[:per_group] + k * size for k in range(group.channel_groups)]).tolist()
                saved = _silence_(graph, group, sorted(idxs)) if idxs else []
                errors.append(_output_error(reference, work(x)))
                for tensor, value in saved:
                    tensor.data.copy_(value)
            rows.append(SensitivityRow(group.root, group.channels, max(len(group.members), 1),
                                       tuple(options), tuple(errors)))
    return rows


def _damage(row: SensitivityRow, keep: int) -> float:
    """Error at ``keep`` channels, piecewise linear through (0, 0) and the scanned points."""
    fraction = 1 - keep / row.channels
    points = [(0.0, 0.0), *zip(SCAN_AMOUNTS, row.errors)]
    for (a0, e0), (a1, e1) in zip(points, points[1:]):
        if fraction <= a1:
            return e0 + (e1 - e0) * (fraction - a0) / (a1 - a0)
    (a0, e0), (a1, e1) = points[-2], points[-1]
    return e1 + max(e1 - e0, 0.0) * (fraction - a1) / (a1 - a0)


def allocate_amounts(rows: list[SensitivityRow], amount: float) -> tuple[list[SensitivityRow], dict[str, float]]:
    """Per-group fractions reaching ``amount`` of all groups' channels with least summed damage."""
    keep = {row.layer: row.channels for row in rows}
    total = sum(row.weight * row.channels for row in rows)
    target = amount * total
    removed = 0.0
    while removed < target:
        best, best_cost, best_next = None, float("inf"), None
        for row in rows:
            smaller = [k for k in row.options if k < keep[row.layer]]
            if not smaller:
                continue
            nxt = max(smaller)
            cost = (_damage(row, nxt) - _damage(row, keep[row.layer])) / (row.weight * (keep[row.layer] - nxt))
            if cost < best_cost - 1e-15:
                best, best_cost, best_next = row, cost, nxt
        if best is None:
            break  # every group at its cap: the report says so
        step = best.weight * (keep[best.layer] - best_next)
        if removed + step - target > target - removed:
            break  # this step would overshoot by more than it leaves short
        keep[best.layer] = best_next
        removed += step
    amounts = {row.layer: 1 - keep[row.layer] / row.channels for row in rows}
    rows = [SensitivityRow(r.layer, r.channels, r.weight, r.options, r.errors, amounts[r.layer]) for r in rows]
    return rows, amounts
