"""The prune pass: prune the torch model, recover it by distillation, record what changed.

Dispatches on ``PruneConfig.method``: "channels" removes whole channels (prune/channels.py,
amounts per layer from prune/sensitivity.py with ``--prune-layers auto``); "unstructured" and
"2:4" put masks on the weights (prune/masks.py), raised along a schedule during fine-tuning
and made permanent after it.  Recovery (recovery.py) distils the unpruned model into the
pruned one on ``--data``.  The unpruned model is also exported once, so the report's
"original" column is the model as given, not the pruned float file.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any

from ..config import PruneConfig
from ..errors import ConfigError
from ..artifact import Artifact, Context, PassBase, replace

__all__ = ["PruneModel", "count_params_and_macs"]

_STATE_DICT_ADVICE = ("save the model's state dict (torch.save(model.state_dict(), path)) and give it "
                      "with --arch module:Class")


_BN_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def count_params_and_macs(module: Any, example_inputs: tuple) -> tuple[int, int]:
    """Parameters and multiply-accumulates of one forward pass (torch-pruning's op counter).

    torch-pruning counts through hooks on nn.Conv/nn.Linear/norm modules, which a ``.pt2`` /
    TorchScript graph does not have (it counted 0): a graph is counted on a copy with its convs
    and linears lifted into modules (MACs), and by the weight tensors it holds (parameters).
    """
    import torch_pruning as tp

    from ..dsconv.substitute import is_graph_module, lift_convs_, lift_linears_

    graph = is_graph_module(module)
    if graph:
        # A TorchScript graph holds its weights as buffers: count every weight tensor, not the
        # BatchNorm statistics (torch-pruning does not count those for an nn.Module either).
        tensors = {id(t): t for name, t in [*module.named_parameters(), *module.named_buffers()]
                   if t.is_floating_point() and not name.endswith(_BN_STATISTICS)}
        params = sum(t.numel() for t in tensors.values())
        module = copy.deepcopy(module)
        lift_linears_(module, taken=set(lift_convs_(module).values()))
    macs, counted = tp.utils.count_ops_and_params(module, example_inputs[0] if len(example_inputs) == 1
                                                  else list(example_inputs))
    return int(params if graph else counted), int(macs)


def _has_prunable_layers(module: Any) -> bool:
    import torch

    return any(isinstance(m, (torch.nn.modules.conv._ConvNd, torch.nn.Linear)) for m in module.modules())


def _check_structure(module: Any, reference: Any, config: PruneConfig) -> None:
    """Channel pruning cuts nn.Conv/nn.Linear modules; a .pt2 / TorchScript graph may have none."""
    if config.method != "channels" or _has_prunable_layers(module):
        return
    import torch

    form = "TorchScript" if isinstance(reference, torch.jit.ScriptModule) else "torch.export (.pt2)"
    raise ConfigError("prune", f"channels:{config.amount:g}",
                      f"a model with nn.Conv/nn.Linear layers; this {form} graph keeps its convolutions as "
                      f"graph ops that torch-pruning cannot cut: {_STATE_DICT_ADVICE}")


def refuse_several_inputs(artifact: Artifact, flag: str) -> None:
    """Recovery fine-tuning trains on one input array: a multi-input model cannot use it yet."""
    count = len(artifact.example_inputs)
    if count > 1:
        raise ConfigError(flag, None, f"a single-input model: this model takes {count} inputs, and {flag} "
                          "recovery trains on one input array (run without it: int8 handles several inputs)")


def _check_layer_names(module: Any, names: tuple[str, ...]) -> None:
    known = {name for name, _ in module.named_modules()} | {name for name, _ in module.named_parameters()}
    for name in names:
        if name not in known:
            layers = [n for n, m in module.named_modules() if n and hasattr(m, "weight")]
            raise ConfigError("prune.layers", name, "a layer name of the model (e.g. "
                              + ", ".join(layers[:4]) + (", ..." if len(layers) > 4 else "") + ")")



@dataclass(frozen=True)
class PruneModel(PassBase):
    config: PruneConfig
    seed: int = 0
    name: str = "prune"
    requires: tuple[str, ...] = ("module", "original_path")

    def data_needed(self) -> str | None:
        config = self.config
        if config.finetune_epochs == 0:
            return None
        return (f"a training .npz: --prune {config.method} fine-tunes for {config.finetune_epochs} epochs "
                "on it to recover (or give --finetune-epochs 0)")

    def check(self, artifact: Artifact, context: Context) -> None:
        config = self.config
        refuse_several_inputs(artifact, "--prune")
        _check_structure(artifact.module, context.reference, config)
        if isinstance(config.layer_selection, tuple):
            _check_layer_names(artifact.module, config.layer_selection)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        import torch

        config = self.config
        teacher = artifact.module
        selection = config.layer_selection
        torch.manual_seed(self.seed)
        student = copy.deepcopy(teacher)
        example = artifact.example_inputs
        params_before, macs_before = count_params_and_macs(teacher, example)
        # Scoring and the sensitivity scan read the first 256 samples; recovery streams them all.
        from ..data import head, sample_count

        x = torch.as_tensor(head(context.calibration_x, 256)[:], dtype=torch.float32)
        y = torch.as_tensor(context.calibration_y, dtype=torch.long) if context.calibration_y is not None else None
        count = sample_count(context.calibration_x)
        from ..model.recovery import recovery_config_of

        recovery = recovery_config_of(self.config, seed=self.seed)
        facts: dict[str, Any] = {}
        started = time.perf_counter()
        if config.method == "channels":
            outcome, table, scan_facts = self._prune_channels(student, example, x, y, context)
            if table is not None:
                facts["sensitivity"] = table
            facts.update(scan_facts)
            facts["prune_seconds"] = round(time.perf_counter() - started, 3)
            recovered = self._recover(student, teacher, context, recovery, on_step=None)
        else:
            from ..prune.masks import make_mask_pruner

            lifted = _lift_graph_layers_(student, x, recovery)
            guide = teacher
            if lifted is not None:
                facts["lifted_graph_convs"], facts["lifted_graph_linears"], recovery = lifted
                from ..dsconv.substitute import drop_batch_guard_

                guide = copy.deepcopy(teacher)  # the teacher runs batches in recovery too
                drop_batch_guard_(guide)
            steps = max(recovery.epochs * math.ceil(count / min(recovery.batch_size, max(count, 1))), 1)
            pruner = make_mask_pruner(student, method=config.method, amount=config.amount,
                                      layers=selection, total_steps=steps, classifier=_output_layer(student))
            if recovery.epochs > 0:
                recovered = self._recover(student, guide, context, recovery, on_step=pruner.step)
            else:
                pruner.step(steps, steps)
                recovered = None
            outcome = pruner.finalize_()
        params_after, macs_after = count_params_and_macs(student, example)
        facts = {**outcome.to_dict(), **facts,
                 "channel_multiple": context.target.compute.channel_multiple,
                 "importance": config.importance if config.method == "channels" else "magnitude",
                 "layers_selected": config.layers,
                 "params_before": params_before, "params_after": params_after,
                 "macs_before": macs_before, "macs_after": macs_after,
                 "float_size_bytes_before": artifact.original_path.stat().st_size,
                 "recovery": recovered,
                 "warnings": _shortfall_warnings(outcome) + _dense_file_warning(config, context)}
        return replace(artifact, module=student), facts

    def _prune_channels(self, student, example, x, y, context: Context):
        from ..prune.channels import prune_channels_
        from ..prune.sensitivity import allocate_amounts

        config, multiple = self.config, context.target.compute.channel_multiple
        layer_amounts, table, scan_facts = None, None, {}
        if config.layers == "auto":
            context.progress("prune: sensitivity scan")
            rows, shared = _scan(student, example, x, multiple, config.sensitivity_cache)
            rows, layer_amounts = allocate_amounts(rows, config.amount)
            table = [row.to_dict() for row in rows]
            if shared is not None:
                scan_facts["sensitivity_scan"] = shared
        selection = config.layer_selection
        context.progress(f"prune: channels:{config.amount:g}")
        outcome = prune_channels_(student, example, amount=config.amount, channel_multiple=multiple,
                                  layers=selection if isinstance(selection, tuple) else "all",
                                  layer_amounts=layer_amounts, importance=config.importance,
                                  x=x[:256], y=y[:256] if y is not None else None)
        return outcome, table, scan_facts

    def _recover(self, student, teacher, context: Context, recovery, *, on_step):
        from ..model.recovery import finetune_

        if recovery.epochs == 0:
            return None
        y = context.calibration_y
        return finetune_(student, teacher, context.calibration_x, y, config=recovery, on_step=on_step,
                         progress=context.progress)


def _scan(student, example, x, multiple: int, cache: str):
    """The sensitivity rows, through the ``prune.sensitivity_cache`` file when one is set (then
    with its facts: path, key hash, read or scanned)."""
    from ..prune.sensitivity import scan_sensitivity

    if not cache:
        return scan_sensitivity(student, example, x, channel_multiple=multiple), None
    from ..prune.scan_cache import scan_key, scan_with_cache

    key = scan_key(student, example, x, channel_multiple=multiple)
    return scan_with_cache(cache, key, lambda: scan_sensitivity(student, example, x, channel_multiple=multiple))


def _output_layer(module) -> str | None:
    """The model's output layer for the masks to leave dense: the last prunable module, unless
    the module is a graph whose last weighted op is a call (aten.linear) rather than a module."""
    import torch

    from ..dsconv.substitute import is_graph_module

    if not is_graph_module(module):
        return "last"
    layers = {name for name, m in module.named_modules()
              if isinstance(m, (torch.nn.modules.conv._ConvNd, torch.nn.Linear))}
    last = None
    for node in module.graph.nodes:
        if node.op == "call_module" and node.target in layers:
            last = node.target
        elif node.op == "call_function" and any(t in str(node.target) for t in ("linear", "conv", "addmm", "matmul")):
            last = None
    return last


def _lift_graph_layers_(student, x, recovery):
    """A ``.pt2`` / TorchScript graph keeps its convs and linears as aten calls: lift them into
    nn.Conv2d / nn.Linear modules (as --dsconv does) so masks can hold their weights.  None for an
    nn.Module; else (convs lifted, linears lifted, the recovery settings, batch 1 when the graph
    has its batch baked in)."""
    import dataclasses

    from ..dsconv.substitute import is_graph_module, open_graph_

    if not is_graph_module(student):
        return None
    convs, linears, batches = open_graph_(student, x)
    if not batches:
        recovery = dataclasses.replace(recovery, batch_size=1)
    return len(convs), len(linears), recovery


def _dense_file_warning(config: PruneConfig, context: Context) -> list[str]:
    """Sparse pruning whose zeros ship dense (sparsify_tflite.dense_file_reason says why)."""
    from .sparsify_tflite import SPARSE_METHODS, dense_file_reason

    if config.method not in SPARSE_METHODS or context.recipe.file_format != "tflite":
        return []
    reason = dense_file_reason(context.recipe, context.target)
    if reason is None:
        return []
    return [f"prune: {config.method} weights stay dense in the file: {reason}; "
            "the zeros pay out in the compressed (gzip) size only"]


def _shortfall_warnings(outcome) -> list[str]:
    """A report warning when the achieved overall amount is more than 2 points off the request."""
    if abs(outcome.achieved - outcome.requested) <= 0.02:
        return []
    return [f"prune: {outcome.method} achieved {outcome.achieved:.1%} for {outcome.requested:.1%} requested "
            f"({'; '.join(outcome.notes) or 'see the per-layer table'})"]



