"""Quantization-aware fine-tuning: make a float model's weights robust to int8, then undo the simulation.

Post-training int8 (ai-edge-quantizer / onnxruntime, min/max calibration) rounds every weight
to one of 255 levels per output channel and every activation to 256 levels per tensor.  QAT
lets the weights adapt to that rounding before the real quantizer sees them (Jacob et al.,
"Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
Inference", CVPR 2018, sec. 3; Krishnamoorthi, "Quantizing deep convolutional networks for
efficient inference: A whitepaper", arXiv:1806.08342, sec. 3):

* weights of every Conv1d/Conv2d/Linear are fake-quantized per output channel, symmetric,
  levels -127..127 (the TFLite int8 weight spec), through a parametrization;
* activations are fake-quantized per tensor, asymmetric, 256 levels, with ranges from
  running min/max: one calibration pass (plain min/max, as the real calibrator), then
  momentum 0.9 while training, frozen for the last epoch;
* BatchNorm runs on its running statistics throughout (a pre-hook keeps it in eval mode):
  those are what folds into the int8 conv, and batch statistics change the function the
  teacher computes (zoo VGG, 2 epochs at lr 1e-4: float output 31.1 dB SQNR vs the teacher
  with batch statistics, 33.8 dB with running ones);
* ``torch.fake_quantize_*`` pass gradients straight through inside the range.

An activation is observed where the int8 graph will have it: after a Conv/Linear, the
BatchNorm that folds into it and a ReLU/ReLU6 that fuses into it (found by torch.fx; a model
fx cannot trace is observed at the Conv/Linear output).  A ReLU that is a function, not a
module, is simulated by clamping the range at 0.  Per-channel symmetric rounding commutes
with a per-channel positive scale, so fake-quantizing a conv's weight before its BatchNorm
is folded is the same as fake-quantizing the folded weight.

Training is ``recovery.finetune_`` (distillation from the teacher, plus cross-entropy with
labels) on the fake-quantized student, streamed: ``x`` (an array or ``data.LazySamples`` over a
folder or a Dataset) is read a batch at a time, for the calibration pass and every epoch.  Afterwards every parametrization and hook is removed:
the module is a plain float ``nn.Module`` with its original structure and state-dict keys,
and the normal export + post-training quantization follow.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["hooks_left", "qat_finetune_"]

WEIGHT_QMAX = 127  # int8 weights: symmetric, zero-point 0, levels -127..127 (TFLite int8 spec)
ACTIVATION_LEVELS = 255  # 256 levels: int8 -128..127 with a zero-point, i.e. uint8's 0..255
OBSERVER_MOMENTUM = 0.9  # weight of the old range in the running min/max while training
CALIBRATION_BATCH = 128  # samples per forward pass of the calibration pass
_LAYERS = ("Conv1d", "Conv2d", "Linear")
_NORMS = ("BatchNorm1d", "BatchNorm2d")
_RELU_FUNCTIONS = ("relu", "relu_", "relu6")


@dataclass
class _Observer:
    """Running range of one activation tensor, and its fake quantization."""

    floor_at_zero: bool = False  # a functional ReLU follows: the int8 tensor is >= 0
    low: float | None = None
    high: float | None = None
    mode: str = "calibrate"  # "calibrate": min/max, no rounding; "train": momentum + rounding; "frozen"

    def observe(self, output: Any) -> None:
        low, high = float(output.detach().min()), float(output.detach().max())
        if self.floor_at_zero:
            low = max(low, 0.0)
        if self.low is None or self.high is None:
            self.low, self.high = low, high
        elif self.mode == "calibrate":
            self.low, self.high = min(self.low, low), max(self.high, high)
        else:
            self.low = OBSERVER_MOMENTUM * self.low + (1 - OBSERVER_MOMENTUM) * low
            self.high = OBSERVER_MOMENTUM * self.high + (1 - OBSERVER_MOMENTUM) * high

    def __call__(self, module: Any, inputs: Any, output: Any) -> Any:
        import torch

        if not isinstance(output, torch.Tensor) or not output.is_floating_point():
            return None
        if self.mode != "frozen":
            self.observe(output)
        if self.mode == "calibrate" or self.low is None or self.high is None:
            return None
        low, high = min(self.low, 0.0), max(self.high, 0.0)  # the range must hold 0 exactly
        scale = max((high - low) / ACTIVATION_LEVELS, 1e-8)
        zero_point = int(np.clip(round(-low / scale), 0, ACTIVATION_LEVELS))
        return torch.fake_quantize_per_tensor_affine(output, scale, zero_point, 0, ACTIVATION_LEVELS)


def _weight_rounding() -> Any:
    """A parametrization module: per-output-channel symmetric int8 rounding of a weight (axis 0)."""
    import torch

    class FakeQuantWeight(torch.nn.Module):
        def forward(self, weight: torch.Tensor) -> torch.Tensor:
            # The scale is a constant of the step (no gradient), as in the real quantizer.
            flat = weight.detach().reshape(weight.shape[0], -1)
            scale = (flat.abs().amax(dim=1) / WEIGHT_QMAX).clamp_min(1e-12).float()
            zero_point = torch.zeros(weight.shape[0], dtype=torch.int32)
            return torch.fake_quantize_per_channel_affine(weight, scale, zero_point, 0, -WEIGHT_QMAX, WEIGHT_QMAX)

    return FakeQuantWeight()


def _chain_end(modules: dict[str, Any], calls: dict[str, int], node: Any) -> tuple[str, bool]:
    """Where the int8 graph has the output of ``node``'s layer: (module name, floor at 0).

    The chain layer -> BatchNorm -> ReLU/ReLU6 is one int8 op after folding and fusing; a
    module called more than once (one ReLU shared by several layers) is not hooked, since one
    observer would mix the ranges of different tensors: its ReLU becomes a floor at 0.
    """
    for _ in range(2):  # at most BatchNorm, then ReLU
        users = list(node.users)
        if len(users) != 1:
            break
        user = users[0]
        kind = type(modules.get(user.target)).__name__ if user.op == "call_module" else None
        if kind in ("ReLU", "ReLU6"):
            if calls.get(user.target, 0) == 1:
                return user.target, False
            return node.target, True
        if kind in _NORMS and calls.get(user.target, 0) == 1:
            node = user
            continue
        name = getattr(user.target, "__name__", str(user.target))
        if user.op in ("call_function", "call_method") and name in _RELU_FUNCTIONS:
            return node.target, True
        break
    return node.target, False


def _observation_points(module: Any) -> tuple[dict[str, bool], str | None]:
    """Module name -> floor-at-zero for every activation to observe, and a note if fx failed."""
    import torch

    layers = [name for name, m in module.named_modules() if type(m).__name__ in _LAYERS]
    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception as error:  # fx fails on data-dependent control flow and more
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
        return {name: False for name in layers}, f"torch.fx cannot trace the model ({first}): " \
                                                  "activations observed at each layer's own output"
    modules = dict(module.named_modules())
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    points: dict[str, bool] = {}
    for node in graph.nodes:
        if node.op == "call_module" and node.target in layers:
            name, floor = _chain_end(modules, calls, node)
            points[name] = points.get(name, True) and floor
    for name in layers:  # a layer fx saw no call of still gets observed
        if name not in calls:
            points.setdefault(name, False)
    return points, None


def _attach_(module: Any) -> tuple[list[Any], dict[str, _Observer], str | None]:
    """Parametrize every layer's weight, hook every observation point and BatchNorm; returns what to remove."""
    from torch.nn.utils import parametrize

    points, note = _observation_points(module)
    modules = dict(module.named_modules())
    layers = [m for m in modules.values() if type(m).__name__ in _LAYERS]
    orders = [list(layer._parameters) for layer in layers]
    for layer in layers:
        parametrize.register_parametrization(layer, "weight", _weight_rounding())
    observers = {name: _Observer(floor_at_zero=floor) for name, floor in points.items()}
    handles = [modules[name].register_forward_hook(observer) for name, observer in observers.items()]
    handles += [m.register_forward_pre_hook(_keep_eval) for m in modules.values() if type(m).__name__ in _NORMS]
    return [layers, handles, orders], observers, note


def _keep_eval(module: Any, inputs: Any) -> None:
    """Forward pre-hook: BatchNorm normalizes with (and keeps) its running statistics."""
    module.training = False


def _detach_(module: Any, attached: list[Any]) -> None:
    """Remove every hook and parametrization, keeping the trained float weights."""
    from torch.nn.utils import parametrize

    layers, handles, orders = attached
    for handle in handles:
        handle.remove()
    for layer, order in zip(layers, orders):
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
        for name in order:  # removal re-registers the weight last: restore state-dict key order
            layer._parameters[name] = layer._parameters.pop(name)


def _hook_counts(module: Any) -> dict[str, int]:
    """Hooks plus parametrizations per submodule name (only those that have any)."""
    from torch.nn.utils import parametrize

    counts = {}
    for name, m in module.named_modules():
        hooks = (m._forward_hooks, m._forward_pre_hooks, m._backward_hooks,
                 getattr(m, "_backward_pre_hooks", {}))
        count = sum(len(h) for h in hooks) + int(parametrize.is_parametrized(m))
        if count:
            counts[name or "<root>"] = count
    return counts


def hooks_left(module: Any) -> list[str]:
    """Names of submodules that carry hooks or parametrizations (none on a plain nn.Module after QAT)."""
    return list(_hook_counts(module))


def _calibrate(module: Any, x: Any, observers: dict[str, _Observer]) -> None:
    """One pass over ``x`` (an array or ``data.LazySamples``), a batch at a time, in order."""
    import torch

    from ..data.batches import TrainingBatches
    from ..model.recovery import set_training_mode

    set_training_mode(module, False)
    with torch.no_grad():
        for batch in TrainingBatches(x, None, batch_size=CALIBRATION_BATCH, seed=0).in_order(CALIBRATION_BATCH):
            module(torch.from_numpy(batch.x))
    for observer in observers.values():
        observer.mode = "train"


def _freezer(observers: dict[str, _Observer], freeze_at_step: int) -> Callable[[int, int], None]:
    """on_step callback: after ``freeze_at_step`` steps (all epochs but the last), freeze the ranges."""

    def on_step(step: int, total: int) -> None:
        if step == freeze_at_step:
            for observer in observers.values():
                observer.mode = "frozen"

    return on_step


def _train_(student: Any, teacher: Any, x: Any, y: np.ndarray | None, config: Any,
            progress: Callable[[Any], None] | None
            ) -> tuple[dict[str, Any], list[Any], dict[str, _Observer], str | None]:
    """Attach the fake quantization, calibrate, train with ``finetune_``, detach (always)."""
    from ..model.recovery import finetune_

    attached, observers, note = _attach_(student)
    try:
        if not attached[0]:
            return {}, attached, observers, note
        _calibrate(student, x, observers)
        batch = min(config.batch_size, len(x))
        steps_per_epoch = (len(x) + batch - 1) // batch
        on_step = _freezer(observers, steps_per_epoch * (config.epochs - 1))
        if config.epochs == 1:  # the one epoch is the last one: ranges stay as calibrated
            on_step(0, 0)
        trained = finetune_(student, teacher, x, y, config=config, on_step=on_step, progress=progress, task="qat")
    finally:
        _detach_(student, attached)
    return trained, attached, observers, note


def qat_finetune_(student: Any, teacher: Any, x: Any, y: np.ndarray | None, *,
                  epochs: int, lr: float, batch_size: int = 64, seed: int = 0,
                  progress: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Fine-tune ``student`` in place with simulated int8, distilled from ``teacher``.

    ``student`` ends as a plain float module (no hooks, no parametrizations, same state-dict
    keys) in eval mode.  Returns facts for the report: epochs, seconds, loss_first/loss_last,
    layers (weights fake-quantized), activations (observed tensors), hooks_removed.  A model
    with no Conv1d/Conv2d/Linear modules (a torch.export graph calls aten ops instead) is
    left untouched: training it without simulated int8 would only make it drift.
    """
    import torch

    from ..model.recovery import RecoveryConfig, set_training_mode

    if not isinstance(epochs, int) or not 1 <= epochs <= 10_000:
        raise ConfigError("int8.qat_epochs", epochs, "an integer from 1 to 10000")
    if len(x) == 0:
        raise ConfigError("data", 0, "at least one sample to fine-tune on")
    started = time.perf_counter()
    if teacher is student:
        teacher = copy.deepcopy(student)
    config = RecoveryConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    torch.manual_seed(seed)
    hooks_before = _hook_counts(student)  # a torch.export graph brings hooks of its own
    trained, attached, observers, note = _train_(student, teacher, x, y, config, progress)
    set_training_mode(student, False)
    facts: dict[str, Any] = {
        "epochs": epochs if trained else 0, "lr": lr, "seed": seed, "samples": int(len(x)),
        "loss": trained.get("loss"), "loss_first": trained.get("loss_first"), "loss_last": trained.get("loss_last"),
        "layers": len(attached[0]), "activations": len(observers),
        "activations_floored_at_zero": sum(o.floor_at_zero for o in observers.values()),
        "hooks_removed": _hook_counts(student) == hooks_before, "seconds": round(time.perf_counter() - started, 3),
    }
    if not attached[0]:
        note = "skipped: no Conv1d/Conv2d/Linear modules to fake-quantize (a torch.export graph has none)"
    if note:
        facts["note"] = note
    return facts
