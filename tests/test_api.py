"""The notebook API: an nn.Module and DataLoaders in, the same report as the file route."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import compressor
from compressor import ConfigError, Int8Config, compress
from tests.helpers import SmallNet


def _model_and_data(tmp_path):
    torch.manual_seed(0)
    model = SmallNet().eval()
    x = np.random.default_rng(0).random((48, 1, 12, 12), dtype=np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    torch.save(model.state_dict(), tmp_path / "net.pt")
    np.savez(tmp_path / "train.npz", x=x[:32], y=y[:32])
    np.savez(tmp_path / "test.npz", x=x[32:], y=y[32:])
    return model, x, y


def test_module_and_loaders_match_the_file_route(tmp_path, monkeypatch):
    from torch.utils.data import DataLoader, TensorDataset

    model, x, y = _model_and_data(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path.parent))
    train = DataLoader(TensorDataset(torch.from_numpy(x[:32]), torch.from_numpy(y[:32])), batch_size=8)
    test = DataLoader(TensorDataset(torch.from_numpy(x[32:]), torch.from_numpy(y[32:])), batch_size=8)
    from_objects = compress(model, target="android-arm64", data=train, eval_data=test, out=tmp_path / "a",
                            int8=Int8Config(calibration_samples=32))
    arch = f"{SmallNet.__module__}:SmallNet"
    from_files = compress(tmp_path / "net.pt", arch=arch, target="android-arm64", data=tmp_path / "train.npz",
                          eval_data=tmp_path / "test.npz", out=tmp_path / "b", int8={"calibration_samples": 32})
    assert from_objects.ok and from_files.ok
    assert from_objects.report["compressed"]["accuracy"] == from_files.report["compressed"]["accuracy"]
    assert from_objects.report["original"]["accuracy"] == 1.0
    inputs = from_objects.report["inputs"]
    assert inputs["model_class"].endswith("SmallNet") and len(inputs["model_params_sha256"]) == 64
    assert inputs["input_shapes"] == [[1, 1, 12, 12]]
    assert "<html" in from_objects._repr_html_()[:200].lower()


def test_shuffling_loader_is_named_not_reproducible(tmp_path):
    from torch.utils.data import DataLoader, TensorDataset

    model, x, y = _model_and_data(tmp_path)
    model.train()  # the caller's module keeps its mode: compress works on a copy
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=8, shuffle=True)
    result = compress(model, target="android-arm64", data=loader, out=tmp_path / "s", passes=("fold", "export"))
    assert any("not reproducible" in w for w in result.report["warnings"])
    assert model.training


def test_typed_settings_are_validated_and_named(tmp_path):
    model, _, _ = _model_and_data(tmp_path)
    with pytest.raises(ConfigError) as error:
        compress(model, target="android-arm64", example_inputs=torch.zeros(1, 1, 12, 12), int8={"io": "int4"},
                 out=tmp_path / "o")
    assert error.value.field == "int8.io"
    with pytest.raises(ConfigError) as error:
        compress(model, target="android-arm64", example_inputs=torch.zeros(1, 1, 12, 12), int9={}, out=tmp_path / "o")
    assert error.value.field == "int9"
    assert not (tmp_path / "o").exists()


def test_calibration_draw_from_a_class_sorted_stream_is_seeded_and_mixed():
    from compressor.data import reservoir_sample

    items = list(range(1000))  # sorted: the first 100 would all be "class 0"
    kept, seen = reservoir_sample(iter(items), 100, seed=3)
    assert seen == 1000 and len(kept) == 100 and kept == sorted(kept)
    assert max(kept) > 500 and reservoir_sample(iter(items), 100, seed=3)[0] == kept
    assert reservoir_sample(iter(items), 100, seed=4)[0] != kept


def test_profile_bench_check_are_lazy_top_level_functions():
    code = ("import sys, compressor; print('compressor.tools' in sys.modules, 'compressor.measure.estimate' in sys.modules);"
            "compressor.check; print('compressor.tools' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]
    assert callable(compressor.profile) and callable(compressor.bench)


def test_check_takes_a_mapping_of_budgets():
    report = {"schema": 1, "target": "x", "status": "ok", "compressed": {"size_bytes": 1000}, "original": {}}
    verdicts = compressor.check(report, {"max_size": "2KB"})
    assert verdicts and all(v.passed for v in verdicts)
