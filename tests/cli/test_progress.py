"""Progress of long work: one callback from the library, one rich display on a terminal, none otherwise."""

from __future__ import annotations

import copy
import io

import numpy as np
import torch
from rich.console import Console

from compressor import compress
from compressor.cli.progress import ProgressDisplay
from compressor.model.recovery import RecoveryConfig, finetune_
from compressor.progress import ProgressUpdate
from tests.helpers import SmallNet


def test_fine_tuning_reports_batches_epochs_and_loss():
    torch.manual_seed(0)
    teacher = SmallNet().eval()
    x = np.random.default_rng(0).random((40, 1, 12, 12), dtype=np.float32)
    updates = []
    finetune_(copy.deepcopy(teacher), teacher, x, None, config=RecoveryConfig(epochs=2, batch_size=16),
              progress=updates.append, task="qat")
    assert [(u.task, u.done, u.total) for u in updates] == [("qat", k, 6) for k in range(1, 7)]
    assert updates[2].detail.startswith("epoch 1/2, loss ") and updates[-1].detail.startswith("epoch 2/2, loss ")
    assert str(updates[-1]).startswith("qat: 6/6 batches, epoch 2/2, loss ")


def test_verify_reports_every_sample_it_evaluates(tmp_path):
    torch.manual_seed(0)
    x = np.random.default_rng(0).random((24, 1, 12, 12), dtype=np.float32)
    updates = []
    compress(SmallNet().eval(), target="android-arm64", eval_data=x, out=tmp_path / "out",
             passes=("fold", "export", "verify"), export={"format": "onnx"},
             example_inputs=torch.zeros(1, 1, 12, 12), progress=updates.append)
    steps = [u for u in updates if isinstance(u, str)]
    bars = [u for u in updates if isinstance(u, ProgressUpdate)]
    assert steps[-1] == "verify"
    runtime = [u for u in bars if u.task == "verify: artifact (onnxruntime)"]
    assert [u.done for u in runtime] == list(range(1, 25)) and {u.total for u in runtime} == {24}
    assert [u for u in bars if u.task == "verify: original (torch)"][-1].done == 24


def _render(*, terminal: bool, quiet: bool = False, enabled: bool = True) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, quiet=quiet, width=120)
    with ProgressDisplay(console, enabled=enabled) as display:
        display.update("prune: channels:0.5")
        for k in range(1, 5):
            display.update(ProgressUpdate("recovery", k, 4, detail=f"epoch 1/1, loss {1 / k:.4f}"))
        if display.progress is not None:
            display.progress.refresh()
    return out.getvalue()


def test_the_display_shows_bars_on_a_terminal_only():
    shown = _render(terminal=True)
    assert "prune: channels:0.5" in shown and "recovery" in shown and "4/4 batches" in shown and "loss 0.2500" in shown
    assert _render(terminal=False) == ""  # piped stderr: no control characters in logs
    assert _render(terminal=True, quiet=True) == ""  # --quiet
    assert _render(terminal=True, enabled=False) == ""  # --json


def test_a_new_step_clears_the_bars_of_the_last():
    console = Console(file=io.StringIO(), force_terminal=True)
    with ProgressDisplay(console) as display:
        display.update(ProgressUpdate("recovery", 1, 4))
        assert len(display.progress.tasks) == 2
        display.update("fold")
        assert [t.description for t in display.progress.tasks] == ["fold…"]
