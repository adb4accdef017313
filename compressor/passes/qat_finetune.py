"""Quantization-aware fine-tuning of the torch model before export (``--qat-epochs N``).

Runs ``qat.qat_finetune_`` on a copy of the model: simulated int8 in the forward pass,
distillation from the model as it came into this pass (the teacher) plus cross-entropy on
the ``--data`` labels, then every fake-quant hook removed.  The result is a plain float
module with the same structure, so export and post-training int8 follow as always; only
its weights have moved to where int8 rounding hurts less.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..artifact import Artifact, Context, PassBase, replace

__all__ = ["QatFinetune"]


@dataclass(frozen=True)
class QatFinetune(PassBase):
    epochs: int
    # The model is trained already: QAT only nudges it.  On the zoo (int8 at ~38.5 dB SQNR already)
    # 2 epochs at 1e-5 gained 0.5-0.8 dB, at 1e-4 lost up to 7 dB (drift); a model whose int8 is
    # badly off (weight outliers, tests/test_qat.py) needed 1e-3 to gain (+12 dB; 1e-4: none).
    lr: float = 1e-5
    seed: int = 0
    batch_size: int = 64
    name: str = "qat"
    requires: tuple[str, ...] = ("module",)

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= 10_000:
            raise ConfigError("int8.qat_epochs", self.epochs, "an integer from 1 to 10000")
        if not 0 < self.lr < 10:
            raise ConfigError("qat.lr", self.lr, "a learning rate in (0, 10)")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError("qat.batch_size", self.batch_size, "a positive integer")

    def data_needed(self) -> str | None:
        return f"a training .npz: --qat-epochs {self.epochs} fine-tunes on it"

    def check(self, artifact: Artifact, context: Context) -> None:
        if isinstance(context.calibration_x, (tuple, list)):
            raise ConfigError("int8.qat_epochs", self.epochs, "a single-input model")

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        from ..quant.qat import qat_finetune_

        teacher = artifact.module
        student = copy.deepcopy(teacher)
        facts = qat_finetune_(student, teacher, context.calibration_x, context.calibration_y,
                              epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, seed=self.seed,
                              progress=context.progress)
        return replace(artifact, module=student), facts
