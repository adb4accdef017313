"""Recovery fine-tuning: distillation lowers the KD loss, is deterministic, drives on_step."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from compressor.errors import ConfigError
from compressor.prune.channels import prune_channels_
from compressor.model.recovery import RecoveryConfig, finetune_
from tests.prune_patterns import Residual


def _kd_loss(student, teacher, x, temperature=4.0):
    with torch.no_grad():
        return float(F.kl_div(F.log_softmax(student(x) / temperature, 1), F.log_softmax(teacher(x) / temperature, 1),
                              reduction="batchmean", log_target=True))


@pytest.fixture
def pair():
    torch.manual_seed(0)
    teacher = Residual().eval()
    teacher.head.weight.data *= 30  # confident logits, as a trained classifier has
    x = torch.randn(96, 1, 12, 12)
    for module in teacher.modules():  # BatchNorm statistics of the data, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
    with torch.no_grad():
        teacher.train()(x)
    teacher.eval()
    student = copy.deepcopy(teacher)
    prune_channels_(student, (x[:1],), amount=0.5, channel_multiple=8)
    return teacher, student, x.numpy()


def test_distillation_reduces_kd_loss_without_labels(pair):
    teacher, student, x = pair
    before = _kd_loss(student, teacher, torch.from_numpy(x))
    steps = []
    facts = finetune_(student, teacher, x, None, config=RecoveryConfig(epochs=3, batch_size=32, lr=5e-3),
                      on_step=lambda step, total: steps.append((step, total)))
    assert _kd_loss(student, teacher, torch.from_numpy(x)) < 0.5 * before
    assert facts["loss"] == "kd" and facts["steps"] == 9 and facts["loss_last"] < facts["loss_first"]
    assert steps == [(k, 9) for k in range(1, 10)]
    assert not student.training


def test_same_seed_same_weights_and_labels_add_cross_entropy(pair):
    teacher, student, x = pair
    y = teacher(torch.from_numpy(x)).argmax(1).numpy()
    runs = []
    for _ in range(2):
        copy_ = copy.deepcopy(student)
        facts = finetune_(copy_, teacher, x, y, config=RecoveryConfig(epochs=2, batch_size=32, seed=3))
        runs.append(copy_.state_dict())
    assert facts["loss"] == "kd+ce"
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_non_classifier_output_is_matched_with_mse():
    torch.manual_seed(0)
    teacher = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)).eval()
    student = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    x = np.random.default_rng(0).standard_normal((64, 6)).astype(np.float32)
    facts = finetune_(student, teacher, x, None, config=RecoveryConfig(epochs=5, batch_size=16, lr=1e-2))
    assert facts["loss"] == "mse" and facts["loss_last"] < facts["loss_first"]


@pytest.mark.parametrize("field,value", [("epochs", -1), ("lr", 0.0), ("kd_weight", 1.5), ("temperature", 0.0)])
def test_bad_recovery_settings_are_config_errors(field, value):
    with pytest.raises(ConfigError):
        RecoveryConfig(**{field: value})


def test_teacher_outputs_too_large_to_cache_are_recomputed_per_batch(pair, monkeypatch):
    import compressor.model.recovery as recovery

    teacher, student, x = pair
    calls = []
    teacher.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    config = RecoveryConfig(epochs=2, batch_size=32, seed=3)
    cached = copy.deepcopy(student)
    finetune_(cached, teacher, x, None, config=config)
    assert calls == [1, 32, 32, 32]  # a probe, then each sample once: epoch 2 reads the cache
    calls.clear()
    monkeypatch.setattr(recovery, "TEACHER_CACHE_BYTES", 0)
    runs = []
    for _ in range(2):
        copy_ = copy.deepcopy(student)
        finetune_(copy_, teacher, x, None, config=config)
        runs.append(copy_.state_dict())
    assert calls == [1, 32, 32, 32, 32, 32, 32] * 2  # every batch of both epochs
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])  # still deterministic
    assert all(torch.allclose(runs[0][k], cached.state_dict()[k], atol=1e-5) for k in runs[0])
