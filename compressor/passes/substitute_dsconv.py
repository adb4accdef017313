"""The dsconv pass: replace dense convolutions by depthwise-separable pairs where it pays, recover.

Runs on the torch model, after "prune" and before "fold" (pipeline.py says why):

1. graph models (``.pt2``, TorchScript via TS2EPConverter) get their aten conv calls lifted
   to ``nn.Conv2d`` modules (dsconv/substitute.py), so every form takes the same route;
2. ``dsconv/select.py`` picks layers and ranks from the target's cost model and the layer
   errors on the data (80% of ``--data``; 20% is held out for step 5);
3. each chosen conv becomes a depthwise k×k conv (rank R channel multiplier, as R copies of
   the input) + a 1×1 conv, initialised by SVD from its weights (dsconv/factorize.py);
4. recovery: distillation from the original model (recovery.finetune_, the one
   implementation pruning uses too) on the training part of the data;
5. acceptance: on the held-out part the accuracy (top-1 agreement without labels) may drop
   at most ``max_accuracy_drop`` below the original's; otherwise the layer with the largest
   initial error is left dense and steps 3-5 run again.

Facts: per layer name, k, Cin, Cout, rank, MACs before/after, estimated latency of the dense
conv and the pair on the target, relative output error after initialisation and after
recovery (the layer's output against the original model's same layer, both run end to end
on held-out data); totals; skipped layers with the reason.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import DsconvConfig
from .prune_model import refuse_several_inputs
from ..artifact import Artifact, Context, PassBase, replace

__all__ = ["SubstituteDsconv"]

HELD_OUT_FRACTION = 0.2  # of --data kept out of fine-tuning for the acceptance check
ERROR_BATCH = 128  # samples per forward pass of the error scan and the checks
MIN_HELD_OUT = 10  # fewer samples than this say nothing about a 1-point drop: check on all data


@dataclass(frozen=True)
class SubstituteDsconv(PassBase):
    config: DsconvConfig
    seed: int = 0
    name: str = "dsconv"
    requires: tuple[str, ...] = ("module", "original_path")

    def data_needed(self) -> str | None:
        config = self.config
        if config.finetune_epochs == 0:
            return None
        return (f"a training .npz: --dsconv {config.mode} measures layer errors and fine-tunes for "
                f"{config.finetune_epochs} epochs on it to recover")

    def check(self, artifact: Artifact, context: Context) -> None:
        refuse_several_inputs(artifact, "--dsconv")

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        import torch

        from ..dsconv.select import select_layers
        from ..dsconv.substitute import is_graph_module, open_graph_

        config = self.config
        started = time.perf_counter()
        torch.manual_seed(self.seed)
        base = copy.deepcopy(artifact.module)
        form = "graph" if is_graph_module(base) else "module"
        x, y = context.calibration_x, context.calibration_y
        lifted, batches = {}, True
        if form == "graph":
            lifted, _, batches = open_graph_(base, torch.as_tensor(x[:3], dtype=torch.float32))
        batch, notes = ERROR_BATCH, []
        if not batches:
            batch = 1
            notes.append("the graph runs one sample at a time only (a shape has the batch baked in): "
                         "error scan and recovery ran with batch 1")
        train, held = _split(len(x), self.seed)
        from ..data import select_samples

        x_train, x_held = select_samples(x, train), select_samples(x, held)  # still unread for a folder
        dtype = "int8" if "int8" in context.recipe.passes else "float32"
        context.progress("dsconv: choosing layers and ranks")
        choices = select_layers(base, x_train, mode=config.selection, rank=config.rank,
                                max_error=config.max_error, target=context.target, dtype=dtype, batch=batch)
        chosen = [c for c in choices if c.rank is not None]
        reverted: list[dict[str, Any]] = []
        # The original model teaches; a graph model's own copy has its batch guard dropped (above).
        teacher = context.reference if form == "module" else copy.deepcopy(base)
        from ..model.recovery import recovery_config_of

        recovery = recovery_config_of(self.config, seed=self.seed)
        if batch == 1:
            recovery = dataclasses.replace(recovery, batch_size=1)
        while True:
            student = _substitute(base, chosen)
            recovered = None
            if chosen and config.finetune_epochs > 0:
                context.progress(f"dsconv: recovery of {len(chosen)} layers")
                recovered = _finetune(student, teacher, x_train, None if y is None else y[train],
                                      recovery, context)
            check = _held_out_check(student, teacher, x_held, None if y is None else y[held], config,
                                    checked=context.data_given, batch=batch)
            if not chosen or check.get("passed", True) or config.selection != "auto":
                break
            worst = max(chosen, key=lambda c: c.error_init or 0.0)
            reverted.append({"name": worst.name, "reason": f"left dense: held-out {check['metric']} fell "
                             f"{check['drop_points']:.2f} points with it substituted"})
            chosen = [c for c in chosen if c is not worst]
        after_errors = _layer_errors(student, base, x_held, [c.name for c in chosen], batch) if chosen else {}
        layers = []
        for choice in choices:
            row = choice.to_dict()
            if any(r["name"] == choice.name for r in reverted):
                row.update(rank=None, macs_after=row["macs_before"], latency_after_ms=None,
                           skipped=next(r["reason"] for r in reverted if r["name"] == choice.name))
            row["error_after_recovery"] = _round(after_errors.get(choice.name))
            layers.append(row)
        done = [row for row in layers if row["rank"] is not None]
        before = sum(row["macs_before"] for row in done)
        after = sum(row["macs_after"] for row in done)
        facts: dict[str, Any] = {
            "mode": config.mode, "rank_setting": config.rank, "max_error": config.max_error,
            "model_form": form, "lifted_graph_convs": len(lifted), "dtype_costed": dtype,
            "substituted": len(done), "layers": layers,
            "skipped": [{"name": row["name"], "reason": row["skipped"]} for row in layers if row["rank"] is None],
            "macs_before": before, "macs_after": after,
            "latency_before_ms": _round(sum(row["latency_before_ms"] or 0 for row in done)),
            "latency_after_ms": _round(sum(row["latency_after_ms"] or 0 for row in done)),
            "recovery": recovered, "held_out": check, "notes": notes, "seconds_total": round(time.perf_counter() - started, 3),
        }
        if not done:
            facts["note"] = "no layer substituted: the model is unchanged"
            return artifact, facts
        return replace(artifact, module=student), facts


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, held-out) indices: a seeded 20% held out, or all for both when that is too few."""
    held_count = int(n * HELD_OUT_FRACTION)
    everything = np.arange(n)
    if held_count < MIN_HELD_OUT:
        return everything, everything
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[held_count:]), np.sort(order[:held_count])


def _substitute(base: Any, chosen: list) -> Any:
    from ..dsconv.factorize import factorize_conv_weight
    from ..dsconv.substitute import make_pair, swap_module_

    student = copy.deepcopy(base)
    for choice in chosen:
        conv = student.get_submodule(choice.name)
        swap_module_(student, choice.name, make_pair(conv, factorize_conv_weight(conv.weight, choice.rank)))
    return student


def _finetune(student, teacher, x, y, recovery, context: Context):
    from ..model.recovery import finetune_

    return finetune_(student, teacher, x, y, config=recovery, progress=context.progress)


def _outputs(module: Any, x: np.ndarray, batch: int) -> Any:
    import torch

    try:
        module.eval()
    except (NotImplementedError, RuntimeError):  # a torch.export GraphModule keeps its exported mode
        pass
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), batch):  # read a batch at a time: x may be a folder (LazySamples)
            out = module(torch.as_tensor(np.ascontiguousarray(x[start:start + batch]), dtype=torch.float32))
            while isinstance(out, (tuple, list)):
                out = out[0]
            parts.append(out)
    return torch.cat(parts)


def _held_out_check(student, teacher, x, y, config: DsconvConfig, *, checked: bool, batch: int) -> dict[str, Any]:
    """Accuracy (or top-1 agreement) of the student on held-out data against the original's."""
    if not checked or len(x) == 0:
        return {"checked": False, "reason": "no --data: nothing to check against"}
    got, want = _outputs(student, x, batch), _outputs(teacher, x, batch)
    if got.ndim != 2 or got.shape[1] < 2:
        error = float((got - want).norm() / (want.norm() + 1e-12))
        return {"checked": False, "reason": "not a classifier", "relative_output_error": round(error, 6)}
    labels = np.asarray(y).reshape(-1) if y is not None else None
    if labels is not None and np.issubdtype(labels.dtype, np.integer) and len(labels) == len(x):
        original = float((want.argmax(1).numpy() == labels).mean())
        now = float((got.argmax(1).numpy() == labels).mean())
        metric = "accuracy"
    else:
        original, now, metric = 1.0, float((got.argmax(1) == want.argmax(1)).float().mean()), "top-1 agreement"
    drop = original - now
    return {"checked": True, "metric": metric, "samples": int(len(x)), "original": round(original, 6),
            "substituted": round(now, 6), "drop_points": round(100 * drop, 3),
            "passed": drop <= config.max_accuracy_drop + 1e-9}


def _layer_errors(student, base, x, names: list[str], batch: int) -> dict[str, float]:
    """Relative error of each named layer's output, student vs the original, run end to end on ``x``."""
    import torch

    outputs: dict[tuple[str, str], list] = {}
    hooks = []
    for tag, model in (("s", student), ("b", base)):
        for name in names:
            hooks.append(model.get_submodule(name).register_forward_hook(
                lambda _m, _a, out, key=(tag, name): outputs.setdefault(key, []).append(out.detach())))
    try:
        _outputs(student, x[:256], batch)
        _outputs(base, x[:256], batch)
    finally:
        for hook in hooks:
            hook.remove()
    errors = {}
    for name in names:
        if ("s", name) in outputs and ("b", name) in outputs:
            got, want = torch.cat(outputs["s", name]), torch.cat(outputs["b", name])
            errors[name] = float((got - want).norm() / (want.norm() + 1e-12))
    return errors

