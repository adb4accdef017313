"""QAT: leaves a plain float module, is deterministic, and does not hurt (here: helps) real int8 output."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from compressor.errors import ConfigError
from compressor.passes.qat_finetune import QatFinetune
from compressor.pipeline import check_data_given
from compressor.artifact import Artifact, Context
from compressor.quant.qat import hooks_left, qat_finetune_

OUTLIER_GAIN = 100.0  # one weight per output channel this many times larger: per-channel int8 gets coarse


def _tiny(workspace: Path) -> tuple[nn.Module, np.ndarray, np.ndarray]:
    import tinynets

    model = tinynets.TinyNet().eval()
    model.load_state_dict(torch.load(workspace / "tiny.pt", weights_only=True))
    data = np.load(workspace / "calib.npz")
    return model, data["x"], data["y"]


def _no_hooks_anywhere(module: nn.Module) -> bool:
    return all(not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks)
               and not hasattr(m, "parametrizations") for m in module.modules())


def test_qat_leaves_a_plain_float_module_and_is_deterministic(tiny_workspace):
    teacher, x, y = _tiny(tiny_workspace)
    keys = list(teacher.state_dict())
    runs = []
    for _ in range(2):
        student = copy.deepcopy(teacher)
        facts = qat_finetune_(student, teacher, x, y, epochs=3, lr=1e-3, batch_size=16, seed=5)
        assert type(student) is type(teacher) and list(student.state_dict()) == keys
        assert _no_hooks_anywhere(student) and hooks_left(student) == [] and facts["hooks_removed"]
        assert not student.training
        runs.append(student.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in keys)
    assert any(not torch.equal(runs[0][k], teacher.state_dict()[k]) for k in keys)  # it did train
    # TinyNet: 2 convs + 1 linear; observed after stem's ReLU, body's BatchNorm (an add follows), head.
    assert (facts["layers"], facts["activations"], facts["activations_floored_at_zero"]) == (3, 3, 0)
    assert facts["epochs"] == 3 and facts["loss"] == "kd+ce" and facts["loss_last"] is not None


class _FunctionalRelus(nn.Module):
    """conv-BN-F.relu, then two convs sharing one nn.ReLU, then a Conv1d path and a Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)
        self.conv2, self.conv3, self.relu = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 1), nn.ReLU()
        self.conv1d = nn.Conv1d(4, 4, 3)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.conv3(self.relu(self.conv2(y))))
        return self.head(self.conv1d(y.flatten(2)).mean(2))


def test_relu_functions_and_shared_relus_floor_the_range_at_zero():
    torch.manual_seed(0)
    model = _FunctionalRelus().eval()
    x = np.random.default_rng(1).standard_normal((32, 1, 8, 8)).astype(np.float32)
    facts = qat_finetune_(model, copy.deepcopy(model), x, None, epochs=2, lr=1e-3, batch_size=16)
    # conv1 (via bn1 then F.relu), conv2 and conv3 (the shared ReLU is not hooked) are floored at 0.
    assert (facts["layers"], facts["activations"], facts["activations_floored_at_zero"]) == (5, 5, 3)
    assert facts["loss"] == "kd" and _no_hooks_anywhere(model)


def test_a_torch_export_graph_without_layer_modules_is_left_untouched():
    torch.manual_seed(0)
    x = np.random.default_rng(2).standard_normal((16, 6)).astype(np.float32)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    graph = torch.export.export(model, (torch.from_numpy(x[:1]),)).module()
    before = copy.deepcopy(graph.state_dict())
    facts = qat_finetune_(graph, copy.deepcopy(graph), x, None, epochs=1, lr=1e-3)
    assert facts["epochs"] == 0 and facts["layers"] == 0 and facts["note"].startswith("skipped")
    assert facts["hooks_removed"] and all(torch.equal(before[k], v) for k, v in graph.state_dict().items())
    with pytest.raises(ConfigError):
        qat_finetune_(model, copy.deepcopy(model), x, None, epochs=0, lr=1e-3)


def _outlier_model() -> tuple[nn.Module, np.ndarray]:
    """A small conv net trained on "which quadrant is brightest", then given weight outliers."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((160, 1, 12, 12)).astype(np.float32))
    quadrants = torch.stack([x[:, 0, :6, :6], x[:, 0, :6, 6:], x[:, 0, 6:, :6], x[:, 0, 6:, 6:]], 1)
    y = quadrants.mean((2, 3)).argmax(1)
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        for conv in (model[0], model[2]):
            conv.weight.view(conv.weight.shape[0], -1)[:, 0] *= OUTLIER_GAIN
        model[6].bias.sub_(model(x).mean(0))  # centre the logits: all four classes occur
    return model.eval(), x.numpy()


def _int8_outputs(model: nn.Module, x: np.ndarray, calibration: np.ndarray, directory: Path) -> np.ndarray:
    from compressor.passes.export_tflite import export_tflite
    from compressor.passes.quantize_tflite import quantize_tflite
    from compressor.measure.runtime import LiteRTRunner

    float_path, int8_path = directory / "float.tflite", directory / "int8.tflite"
    export_tflite(model, (torch.from_numpy(x[:1]),), float_path)
    quantize_tflite(float_path, int8_path, [[calibration[i:i + 1]] for i in range(len(calibration))],
                    per_channel=True)
    return LiteRTRunner(int8_path).run_batch([x])[0]


def _sqnr_db(reference: np.ndarray, got: np.ndarray) -> float:
    return float(10 * np.log10((reference ** 2).sum() / ((reference - got) ** 2).sum()))


def test_qat_does_not_hurt_real_int8_output_of_a_model_with_weight_outliers(tmp_path):
    teacher, x = _outlier_model()
    train, held = x[:128], x[128:]
    with torch.no_grad():
        reference = teacher(torch.from_numpy(held)).numpy()
        labels = teacher(torch.from_numpy(train)).argmax(1).numpy()
    assert len(np.unique(labels)) == 4
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    before = _sqnr_db(reference, _int8_outputs(teacher, held, train[:64], tmp_path / "before"))
    student = copy.deepcopy(teacher)
    facts = qat_finetune_(student, teacher, train, labels, epochs=4, lr=1e-3, batch_size=32)
    after = _sqnr_db(reference, _int8_outputs(student, held, train[:64], tmp_path / "after"))
    print(f"held-out int8 SQNR vs float teacher: {before:.2f} dB without QAT, {after:.2f} dB after 4 epochs "
          f"(QAT loss {facts['loss_first']} -> {facts['loss_last']})")
    assert after >= before - 0.5
    assert facts["loss_last"] < facts["loss_first"]


def _context(tmp_path: Path, x, y, *, data_given: bool = True) -> Context:
    return Context(recipe=None, workdir=tmp_path, reference=None, calibration_x=x, eval_x=x, eval_y=y,
                   eval_source="eval", target=None, calibration_y=y, data_given=data_given)


def test_pass_trains_a_copy_and_checks_its_inputs(tiny_workspace):
    model, x, y = _tiny(tiny_workspace)
    before = copy.deepcopy(model.state_dict())
    artifact = Artifact(module=model, example_inputs=(torch.from_numpy(x[:1]),), format="tflite")
    qat = QatFinetune(epochs=2, lr=1e-3, seed=1)
    new, facts = qat.run(artifact, _context(tiny_workspace, x, y))
    assert qat.name == "qat" and new.module is not model and facts["hooks_removed"] and facts["epochs"] == 2
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the teacher is untouched
    assert list(new.module.state_dict()) == list(before) and _no_hooks_anywhere(new.module)
    with pytest.raises(ConfigError) as no_data:
        check_data_given([qat], data_given=False)
    assert no_data.value.field == "data" and "--qat-epochs 2" in no_data.value.expected
    with pytest.raises(ConfigError) as two_inputs:
        qat.check(artifact, _context(tiny_workspace, (x, x), y))
    assert two_inputs.value.field == "int8.qat_epochs" and two_inputs.value.expected == "a single-input model"
    with pytest.raises(ConfigError):
        QatFinetune(epochs=0, lr=1e-3)


def test_qat_epochs_runs_in_the_pipeline_and_needs_data(tiny_workspace):
    import json

    from click.testing import CliRunner

    from compressor.cli.main import cli

    base = ["tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64", "--quiet"]
    refused = CliRunner().invoke(cli, [*base, "--qat-epochs", "1", "--out", "no"])
    assert refused.exit_code == 2 and "--data" in refused.output
    result = CliRunner().invoke(cli, [*base, "--qat-epochs", "1", "--data", "calib.npz", "--out", "q"])
    assert result.exit_code == 0, result.output
    report = json.loads((tiny_workspace / "q" / "report.json").read_text())
    names = [s["name"] for s in report["steps"]]
    assert names.index("qat") < names.index("export")
    assert next(s for s in report["steps"] if s["name"] == "qat")["epochs"] == 1
