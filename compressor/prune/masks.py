"""Unstructured and 2:4 weight masks: zero weights in place, step by step, then for good.

Unstructured: magnitude pruning with one GLOBAL |w| ranking over the chosen layers' weights,
raised along the cubic schedule of Zhu & Gupta ("To prune, or not to prune", 2017, eq. 1):
``s_t = s_f * (1 - (1 - t / (0.8 T))^3)``, so sparsity rises fast while the weights are
redundant, reaches the request at 0.8 T and is held for the last fifth of fine-tuning, which
recovers at the final sparsity.  Masks are monotone: each step ranks only the weights still
alive and adds the smallest to the mask.  A global ranking can empty a layer (PITFALLS.md,
"Pruning"), so a layer loses at most ``MAX_LAYER_AMOUNT`` of its weights and the input layer
at most ``min(amount, FIRST_LAYER_MAX_AMOUNT)`` (it has few weights and every feature
depends on it); what a cap keeps goes to the other layers' next-smallest weights.

2:4: NVIDIA's semi-structured pattern (Mishra et al., "Accelerating Sparse Deep Neural
Networks", arXiv:2104.08378, 2021): in every group of four consecutive weights along the
INPUT dimension (for a conv, the input channels at one output channel and kernel position)
the two largest |w| stay.  The full pattern is applied at the first step (not ramped: a
half-way 2:4 pattern does not exist) from the weights as they are then, and kept fixed, so
fine-tuning adapts the survivors to it.

Masks are applied by zeroing weights in place (``masked_fill_`` under no_grad) after every
optimizer step, through recovery.finetune_'s ``on_step``: no hooks or parametrizations, so
the state dict keeps its keys and the exported graph is the plain model.  The model's output
layer (the last conv/linear in ``named_modules()`` order) and layers with fewer than
``MIN_LAYER_WEIGHTS`` weights are left dense.  Deterministic: ties go to the lower index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .outcome import LayerSparsity, PruneOutcome

__all__ = ["FIRST_LAYER_MAX_AMOUNT", "MASK_METHODS", "MAX_LAYER_AMOUNT", "MIN_LAYER_WEIGHTS", "RAMP_END",
           "MaskPruner", "MaskedLayer", "cubic_sparsity", "keep_2to4", "make_mask_pruner"]

MASK_METHODS = ("unstructured", "2:4")
# A layer left with under 5% of its weights rarely recovers; channels.py caps at 90% of channels.
MAX_LAYER_AMOUNT = 0.95
# The input conv is tiny (e.g. 1x32x3x3 = 288 weights) and everything downstream reads it.
FIRST_LAYER_MAX_AMOUNT = 0.5
# Smaller layers save next to nothing and are often bottlenecks (a 8x8 linear holds 64 weights).
MIN_LAYER_WEIGHTS = 128
# Zhu & Gupta reach the final sparsity before the end and fine-tune at it; 0.8 of the steps.
RAMP_END = 0.8
_CLASSIFIER = "classifier output layer"


@dataclass
class MaskedLayer:
    """One conv/linear layer under a mask: ``keep`` is a bool tensor shaped like its weight."""

    name: str
    module: Any
    kind: str
    params: int
    cap: float  # most of its weights it may lose (fraction)
    skipped: str | None = None
    keep: Any = None

    @property
    def max_zeros(self) -> int:
        return math.floor(self.cap * self.params + 1e-9)

    def zeros(self) -> int:
        return int((self.module.weight.detach() == 0).sum())


def cubic_sparsity(step: int, total: int, amount: float, *, ramp_end: float = RAMP_END) -> float:
    """Zhu & Gupta's cubic schedule: 0 at step 0, ``amount`` from ``ramp_end * total`` on."""
    if total <= 0:
        return amount
    progress = min(max(step / (ramp_end * total), 0.0), 1.0)
    return amount * (1.0 - (1.0 - progress) ** 3)


def keep_2to4(weight: Any) -> Any:
    """Bool mask keeping the 2 largest |w| of every 4 consecutive weights along the input axis.

    ``weight`` is [out, in] (Linear) or [out, in/groups, *kernel] (conv); dim 1 must be a
    multiple of 4.  A stable sort keeps the lower index among equal magnitudes.
    """
    import torch

    moved = weight.detach().abs().movedim(1, -1)  # [out, *kernel, in]
    groups = moved.reshape(*moved.shape[:-1], moved.shape[-1] // 4, 4)
    order = torch.sort(groups, dim=-1, descending=True, stable=True).indices
    keep = torch.zeros(groups.shape, dtype=torch.bool, device=weight.device)
    keep.scatter_(-1, order[..., :2], True)
    return keep.reshape(moved.shape).movedim(-1, 1).contiguous()


class MaskPruner:
    """Masks on a model's conv/linear weights: ``step(t, T)`` after each optimizer step, then ``finalize_()``."""

    def __init__(self, method: str, amount: float, layers: list[MaskedLayer], *, total_steps: int,
                 notes: list[str]):
        self.method, self.amount, self.layers = method, amount, layers
        self.total_steps = max(int(total_steps), 1)
        self._notes = notes
        self._capped: list[str] = []  # layers whose cap kept weights the global ranking wanted
        self._started = False
        self._outcome: PruneOutcome | None = None

    @property
    def active(self) -> list[MaskedLayer]:
        return [layer for layer in self.layers if layer.skipped is None]

    def sparsity_at(self, step: int, total: int | None = None) -> float:
        """The fraction of the active layers' weights masked after ``step`` of ``total``."""
        if self.method == "2:4":
            return 0.5
        return cubic_sparsity(step, total or self.total_steps, self.amount)

    def step(self, step: int, total: int | None = None) -> None:
        """Grow the masks to the schedule's sparsity at ``step`` and zero the masked weights."""
        if self._outcome is not None:
            raise RuntimeError("MaskPruner.step after finalize_: the masks are already permanent")
        if self.method == "2:4":
            if not self._started:
                for layer in self.active:
                    layer.keep = keep_2to4(layer.module.weight)
        else:
            self._grow_to_(self.sparsity_at(step, total))
        self._started = True
        self._apply_()

    def finalize_(self) -> PruneOutcome:
        """Reach the full amount, zero the masked weights for good, and say what was done."""
        if self._outcome is not None:
            return self._outcome
        if self.method == "2:4" and not self._started:
            self.step(self.total_steps, self.total_steps)
        elif self.method == "unstructured":
            self._grow_to_(self.amount)  # no-op when the schedule already got there
            self._apply_()
        self._outcome = self._describe()
        return self._outcome

    def _apply_(self) -> None:
        import torch

        with torch.no_grad():
            for layer in self.active:
                layer.module.weight.masked_fill_(~layer.keep, 0.0)

    def _grow_to_(self, sparsity: float) -> None:
        """Mask the globally smallest alive |w| until ``sparsity`` of the active weights are masked."""
        import torch

        active = self.active
        masked = sum(layer.params - int(layer.keep.sum()) for layer in active)
        need = round(sparsity * sum(layer.params for layer in active)) - masked
        if need <= 0:
            return
        values, owners, positions, rests = [], [], [], []
        for index, layer in enumerate(active):
            alive = torch.nonzero(layer.keep.reshape(-1)).squeeze(1)
            room = layer.max_zeros - (layer.params - len(alive))
            if room <= 0:
                continue
            magnitudes = layer.module.weight.detach().reshape(-1)[alive].abs().float()
            ordered, order = torch.sort(magnitudes, stable=True)
            values.append(ordered[:room])
            positions.append(alive[order[:room]])
            owners.append(torch.full((min(room, len(alive)),), index, dtype=torch.long))
            rests.append((index, float(ordered[room]) if room < len(alive) else None))
        if not values:
            return
        candidates = torch.cat(values)
        chosen = torch.sort(candidates, stable=True).indices[:need]  # ties: earlier layer, lower index
        threshold = float(candidates[chosen[-1]])
        owner_of, position_of = torch.cat(owners)[chosen], torch.cat(positions)[chosen]
        for index, layer in enumerate(active):
            picked = position_of[owner_of == index]
            layer.keep.view(-1)[picked] = False
        for index, next_value in rests:
            name = active[index].name
            if next_value is not None and next_value <= threshold and name not in self._capped \
                    and active[index].max_zeros == active[index].params - int(active[index].keep.sum()):
                self._capped.append(name)

    def _describe(self) -> PruneOutcome:
        requested = 0.5 if self.method == "2:4" else self.amount
        records, zeros, total = [], 0, 0
        for layer in self.layers:
            layer_zeros = layer.zeros()
            asked = 0.0 if layer.skipped else min(requested, layer.cap)
            records.append(LayerSparsity(layer.name, layer.kind, layer.params, asked,
                                         layer_zeros / layer.params, layer.skipped))
            if layer.skipped is None:
                zeros, total = zeros + layer_zeros, total + layer.params
        achieved = zeros / total if total else 0.0
        notes = list(self._notes)
        for name in self._capped:
            cap = next(layer.cap for layer in self.layers if layer.name == name)
            notes.append(f"{name}: the per-layer cap ({cap:.0%} of its weights) bound; the global ranking "
                         "took the other layers' next-smallest weights instead")
        if not total:
            notes.append("no layer could be masked (see the skipped layers)")
        elif achieved < requested - 0.005:
            notes.append(f"reached {achieved:.1%} of the masked layers' weights for {requested:.1%} requested: "
                         "the per-layer caps leave no more weights to remove")
        return PruneOutcome(self.method, requested, achieved, tuple(records), tuple(notes))


def _kind(module: Any) -> str:
    name, groups = type(module).__name__, getattr(module, "groups", 1)
    if groups > 1:
        return f"{name} depthwise" if groups == module.out_channels else f"{name} groups={groups}"
    return name


def _prunable_modules(model: Any) -> list[tuple[str, Any]]:
    import torch

    types = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear)
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, types) and isinstance(getattr(m, "weight", None), torch.nn.Parameter)]


def _names_layer(selector: str, name: str) -> bool:
    """A --prune-layers name picks a layer by its module name, its weight's name, or a parent module."""
    return selector in (name, f"{name}.weight") or name.startswith(selector + ".")


def _skip_reason(name: str, module: Any, *, method: str, classifier: str, shared: dict[int, str]) -> str | None:
    params = module.weight.numel()
    if name == classifier:
        return _CLASSIFIER
    if id(module.weight) in shared:
        return f"shares its weight with {shared[id(module.weight)]}"
    if params < MIN_LAYER_WEIGHTS:
        return f"too small ({params} weights)"
    inputs = module.weight.shape[1]
    if method == "2:4" and inputs % 4:
        what = " (depthwise)" if getattr(module, "groups", 1) > 1 and inputs == 1 else ""
        return (f"2:4 groups run along the inputs: {inputs} input{'s' if inputs != 1 else ''} per output"
                f"{what} is not a multiple of 4")
    return None


def make_mask_pruner(model: Any, *, method: str, amount: float, layers: str | tuple[str, ...] = "all",
                     total_steps: int = 1, classifier: str | None = "last") -> MaskPruner:
    """A ``MaskPruner`` over ``model``'s Conv1d/2d/3d and Linear weights (masks start empty).

    ``layers``: "all", "auto" (the same as "all" for masks: sensitivity allocation is for
    channels) or a tuple of module / parameter names; a module name takes the layers inside it.
    ``classifier``: the output layer, left dense: "last" (the last prunable module), a module
    name, or None when it is not among the modules (a graph whose head is an op).
    """
    if method not in MASK_METHODS:
        raise ConfigError("prune", method, "a mask method: " + ", ".join(MASK_METHODS))
    if not 0.0 < amount < 1.0 or (method == "2:4" and amount != 0.5):
        raise ConfigError("prune", f"{method}:{amount}", "an amount strictly between 0 and 1 "
                          "(2:4 always removes half)")
    import torch

    candidates = _prunable_modules(model)
    if not candidates:
        raise ConfigError("prune", method, "a model with nn.Conv/nn.Linear layers to mask; this one has none "
                          "(save its state dict and give it with --arch module:Class)")
    selectors = layers if isinstance(layers, tuple) else None
    for selector in selectors or ():
        if not any(_names_layer(selector, name) for name, _ in candidates):
            raise ConfigError("prune.layers", selector, "a Conv/Linear layer or a module holding one (e.g. "
                              + ", ".join(name for name, _ in candidates[:4]) + ")")
    first = candidates[0][0]
    if classifier == "last":
        classifier = candidates[-1][0]
    shared: dict[int, str] = {}
    chosen: list[MaskedLayer] = []
    notes: list[str] = []
    for name, module in candidates:
        if selectors is not None and not any(_names_layer(s, name) for s in selectors):
            continue
        reason = _skip_reason(name, module, method=method, classifier=classifier, shared=shared)
        shared.setdefault(id(module.weight), name)
        cap = min(amount, FIRST_LAYER_MAX_AMOUNT) if name == first else MAX_LAYER_AMOUNT
        layer = MaskedLayer(name, module, _kind(module), module.weight.numel(), cap, reason)
        if reason is None:
            layer.keep = torch.ones_like(module.weight, dtype=torch.bool)
            if method == "unstructured" and name == first:
                notes.append(f"{name}: the input layer keeps at least {1 - cap:.0%} of its weights "
                             f"(capped at {cap:.0%}: it is small and everything downstream reads it)")
        chosen.append(layer)
    if method == "unstructured":
        notes.insert(0, f"global magnitude ranking, cubic schedule reaching {amount:.0%} at {RAMP_END:.0%} "
                        f"of the steps; at most {MAX_LAYER_AMOUNT:.0%} of any layer's weights")
    else:
        dense = [layer for layer in chosen if layer.skipped and layer.skipped.startswith("2:4")]
        notes.append("2:4 along the input axis, full pattern from the first step, fixed after it")
        if dense:
            notes.append(f"{len(dense)} layer(s) left dense ({sum(layer.params for layer in dense)} weights): "
                         "their inputs per output are not a multiple of 4")
    return MaskPruner(method, amount, chosen, total_steps=total_steps, notes=notes)
