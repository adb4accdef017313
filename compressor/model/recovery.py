"""Recovery fine-tuning: win back what pruning (or a layer substitution) cost.

Knowledge distillation from the unchanged model (the teacher) onto the changed one (the
student): KL divergence between temperature-softened class distributions, scaled by T^2 so
its gradients keep their size as T changes (Hinton, Vinyals & Dean 2015, "Distilling the
Knowledge in a Neural Network", sec. 2), plus cross-entropy on the labels when there are
labels.  Unlabelled ``x`` is enough: distillation alone needs only the teacher.  A model
that is not a classifier (its output is not N x classes) is matched with MSE on outputs.

Streamed: the data is read a batch at a time in a seeded order per epoch
(``data.TrainingBatches``: the order of the sample indices is shuffled, not the samples), and
the teacher's outputs are computed per batch (kept per sample while they are small), so a
folder of 10,000 images never sits in memory whole.

Deterministic: the seed fixes the order (``TrainingBatches``) and the student's random state
(``torch.manual_seed``); CPU kernels run in a fixed order, so a fixed seed gives the same
weights twice.  ``on_step(step, total_steps)`` is called after every optimizer step,
which is where gradual mask schedules (prune/masks.py) hook in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["RECOVERY_DEFAULTS", "RecoveryConfig", "check_recovery", "finetune_", "recovery_config_of", "set_training_mode"]


def _check(condition: bool, name: str, value: object, expected: str) -> None:
    if not condition:
        raise ConfigError(name, value, expected)


# Recovery fine-tuning after pruning or substitution: one set of defaults and one range check,
# shared by config.py's PruneConfig and DsconvConfig and RecoveryConfig below.  Sized for the zoo on a
# 2-core CPU: ~1400 samples x 8 epochs of batch 64 ran in well under a minute per zoo model and gave
# back the accuracy channels:0.5 took away (README "Pruning").  temperature softens the teacher's
# logits (Hinton et al. used 1..20); loss = kd_weight * KD + (1 - kd_weight) * CE when labels exist.
RECOVERY_DEFAULTS = MappingProxyType({"finetune_epochs": 8, "lr": 2e-3, "batch_size": 64, "temperature": 4.0,
                                      "kd_weight": 0.7})


def check_recovery(section: str, *, finetune_epochs: Any, lr: Any, batch_size: Any, temperature: Any,
                   kd_weight: Any) -> None:
    """The range check of the recovery settings, errors naming ``section.setting``."""
    _check(isinstance(finetune_epochs, int) and 0 <= finetune_epochs <= 10_000,
           f"{section}.finetune_epochs", finetune_epochs, "an integer from 0 to 10000")
    _check(0.0 < lr < 10.0, f"{section}.lr", lr, "a learning rate in (0, 10)")
    _check(isinstance(batch_size, int) and batch_size >= 1, f"{section}.batch_size", batch_size, "a positive integer")
    _check(temperature > 0, f"{section}.temperature", temperature, "a positive number")
    _check(0.0 <= kd_weight <= 1.0, f"{section}.kd_weight", kd_weight, "a fraction from 0 to 1")



@dataclass(frozen=True)
class RecoveryConfig:
    """How to fine-tune after a model change.

    Defaults are RECOVERY_DEFAULTS, the same the pruning and substitution settings carry.
    """

    version: int = 1
    epochs: int = RECOVERY_DEFAULTS["finetune_epochs"]
    lr: float = RECOVERY_DEFAULTS["lr"]  # AdamW, cosine-decayed to 0 over the run
    batch_size: int = RECOVERY_DEFAULTS["batch_size"]
    temperature: float = RECOVERY_DEFAULTS["temperature"]
    kd_weight: float = RECOVERY_DEFAULTS["kd_weight"]
    weight_decay: float = 0.0  # pruned layers are small already; decay only shrinks them more
    seed: int = 0

    def __post_init__(self) -> None:
        check_recovery("recovery", finetune_epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
                       temperature=self.temperature, kd_weight=self.kd_weight)
        _check(self.weight_decay >= 0, "recovery.weight_decay", self.weight_decay,
               "a non-negative number")
        _check(isinstance(self.seed, int) and self.seed >= 0, "seed", self.seed,
               "a non-negative integer")


def recovery_config_of(settings: Any, *, seed: int) -> RecoveryConfig:
    """The RecoveryConfig of a pass's settings (PruneConfig, DsconvConfig: same field names)."""
    return RecoveryConfig(epochs=settings.finetune_epochs, lr=settings.lr, batch_size=settings.batch_size,
                          temperature=settings.temperature, kd_weight=settings.kd_weight, seed=seed)


def set_training_mode(module: Any, training: bool) -> None:
    # A torch.export GraphModule refuses .train()/.eval(); it keeps the mode it was exported
    # in (eval: BatchNorm uses running statistics), which still fine-tunes fine.
    try:
        module.train(training)
    except (NotImplementedError, RuntimeError):
        pass


def _first_output(output: Any) -> Any:
    while isinstance(output, (tuple, list)):
        output = output[0]
    return output


# Teacher outputs are cached per sample while they fit in this many bytes (a classifier's logits:
# 10,000 samples x 10 classes is 400 kB); larger outputs (an autoencoder's, a segmentation map)
# are recomputed for every batch instead, so memory stays one batch whatever the data's size.
TEACHER_CACHE_BYTES = 64 * 2**20


class _TeacherOutputs:
    """The teacher's (first) output per sample, computed for a batch when it is first asked for."""

    def __init__(self, teacher: Any, count: int, probe: Any):
        import torch

        self.teacher = teacher
        per_sample = probe.shape[1:]
        cacheable = count * int(np.prod(per_sample)) * 4 <= TEACHER_CACHE_BYTES
        self.cache = torch.zeros((count, *per_sample)) if cacheable else None
        self.known = np.zeros(count, dtype=bool) if cacheable else None

    def of(self, indices: np.ndarray, x: Any) -> Any:
        import torch

        if self.cache is not None and self.known[indices].all():
            return self.cache[torch.as_tensor(indices)]
        set_training_mode(self.teacher, False)
        with torch.no_grad():
            out = _first_output(self.teacher(x)).detach().float()
        if self.cache is not None:
            self.cache[torch.as_tensor(indices)] = out
            self.known[indices] = True
        return out


def finetune_(student: Any, teacher: Any, x: Any, y: np.ndarray | None, *,
              config: RecoveryConfig,
              on_step: Callable[[int, int], None] | None = None,
              progress: Callable[[Any], None] | None = None, task: str = "recovery") -> dict[str, Any]:
    """Fine-tune ``student`` in place towards ``teacher`` on ``x`` (and labels ``y``).

    ``x``: an array or ``data.LazySamples`` (a folder, a Dataset): it is read a batch at a time
    in a seeded order per epoch (``data.TrainingBatches``), never whole.  ``progress`` gets a
    ``ProgressUpdate`` after every step (``task``, batches done of the run, epoch and loss).
    Returns facts for the report: epochs, steps, loss of the first and last epoch (mean over
    its batches), whether labels/KD/MSE were used, seconds.  ``student`` is left in eval mode.
    """
    import torch
    import torch.nn.functional as F

    from ..data.batches import TrainingBatches
    from ..progress import ProgressUpdate

    started = time.perf_counter()
    data = TrainingBatches(x, y, batch_size=config.batch_size, seed=config.seed)
    n = data.count
    total = data.steps_per_epoch * config.epochs
    facts: dict[str, Any] = {"epochs": config.epochs, "steps": 0, "samples": int(n),
                             "lr": config.lr, "batch_size": data.batch_size,
                             "temperature": config.temperature, "seed": config.seed}
    if total == 0:
        facts.update(loss_first=None, loss_last=None, seconds=round(time.perf_counter() - started, 3))
        set_training_mode(student, False)
        return facts

    set_training_mode(teacher, False)
    with torch.no_grad():
        probe = _first_output(teacher(torch.as_tensor(np.ascontiguousarray(x[:1]), dtype=torch.float32))).float()
    soft_targets = _TeacherOutputs(teacher, n, probe)
    classifier = probe.ndim == 2 and probe.shape[1] > 1
    labels = data.y
    use_labels = False
    if labels is not None and classifier and np.issubdtype(labels.dtype, np.integer) \
            and len(labels) == n and labels.min() >= 0 and labels.max() < probe.shape[1]:
        use_labels = True
    elif labels is not None:
        facts["labels_ignored"] = "y is not one class index per sample for this classifier"
    facts["loss"] = ("kd+ce" if use_labels else "kd") if classifier else "mse"

    torch.manual_seed(config.seed)
    params = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + np.cos(np.pi * min(step, total) / total)))
    temperature, kd_weight = config.temperature, config.kd_weight
    epoch_losses: list[float] = []
    step = 0
    set_training_mode(student, True)
    for epoch in range(config.epochs):
        running, seen = 0.0, 0
        for batch in data.epoch(epoch):
            inputs = torch.from_numpy(batch.x)
            target = soft_targets.of(batch.indices, inputs)  # the teacher runs in eval mode
            output = _first_output(student(inputs)).float()
            if classifier:
                loss = F.kl_div(F.log_softmax(output / temperature, dim=1),
                                F.log_softmax(target / temperature, dim=1),
                                reduction="batchmean", log_target=True) * temperature ** 2
                if use_labels:
                    loss = kd_weight * loss + (1 - kd_weight) * F.cross_entropy(output, torch.as_tensor(batch.y, dtype=torch.long))
            else:
                loss = F.mse_loss(output, target.reshape(output.shape))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            running += float(loss.detach()) * len(batch.indices)
            seen += len(batch.indices)
            if on_step is not None:
                on_step(step, total)
            if progress is not None:
                progress(ProgressUpdate(task, step, total, detail=f"epoch {epoch + 1}/{config.epochs}, "
                                                                  f"loss {running / seen:.4f}"))
        epoch_losses.append(running / n)
    set_training_mode(student, False)
    facts.update(steps=step, loss_first=round(epoch_losses[0], 6), loss_last=round(epoch_losses[-1], 6),
                 loss_per_epoch=[round(v, 6) for v in epoch_losses],
                 seconds=round(time.perf_counter() - started, 3))
    return facts
