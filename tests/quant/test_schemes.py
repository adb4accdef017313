"""Recurrent nets in bounded time: calibration cost bounded, ranges calibrated once, remedies under a
time budget, and the fallback schemes (dynamic-range, weight-only int8) when static int8 cannot hold.

The model is a tiny LSTM (4 inputs, 8 units, 20 steps) saved as a .pt2, as a user would; litert-torch
unrolls it over the steps.  Static int8 is made to fall short by asking for an SQNR no 8-bit graph
reaches, so the safety net must run; the remedies get no time, so the time budget must skip them.
"""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from compressor.cli.main import cli
from compressor.passes.quantize_tflite import MIN_CALIBRATION_SAMPLES, bounded_samples
from compressor.config import Int8Config
from compressor.targets.load import load_target


class _TinyLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, 1, batch_first=True)
        self.head = nn.Linear(8, 6)

    def forward(self, x):
        _, (hidden, _) = self.lstm(x)
        return self.head(hidden[-1])


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    """One compress run of the tiny LSTM on android-arm64 with static int8 made to fall short."""
    directory = tmp_path_factory.mktemp("lstm")
    torch.manual_seed(0)
    model = _TinyLstm().eval()
    x = np.random.default_rng(0).normal(size=(48, 20, 4)).astype(np.float32)
    torch.export.save(torch.export.export(model, (torch.from_numpy(x[:1]),)), directory / "lstm.pt2")
    np.savez(directory / "calib.npz", x=x[:32])
    np.savez(directory / "test.npz", x=x[32:])
    (directory / "recipe.toml").write_text("[int8]\nmin_sqnr_db = 200.0\nsearch_seconds = 0.0\n"
                                           "calibration_budget = 1000\n")
    result = CliRunner().invoke(cli, [str(directory / "lstm.pt2"), "--target", "android-arm64", "--data",
                                      str(directory / "calib.npz"), "--eval", str(directory / "test.npz"),
                                      "--recipe", str(directory / "recipe.toml"), "--out", str(directory / "out"),
                                      "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((directory / "out" / "report.json").read_text())
    return directory / "out", report, next(s for s in report["steps"] if s["name"] == "int8")


def test_calibration_cost_is_bounded_by_ops_times_samples():
    samples = list(range(200))
    kept, cost = bounded_samples(samples, 7700, 64_000)
    assert len(kept) == MIN_CALIBRATION_SAMPLES and cost["cost"] == 7700 * MIN_CALIBRATION_SAMPLES
    kept, cost = bounded_samples(samples, 100, 64_000)
    assert len(kept) == 200 and cost["cost"] <= 64_000  # a zoo-sized graph keeps every sample
    kept, _ = bounded_samples(samples, 1000, 20_000)
    assert len(kept) == 20


def test_lstm_ships_a_fallback_scheme_named_with_why(lstm_run):
    out, report, step = lstm_run
    assert step["scheme"] == "dynamic_range" and step["recipe"] == "dynamic_wi8_afp32"
    assert "static int8 reached" in step["scheme_why"] and "dynamic_range" in step["scheme_why"]
    tried = step["fallback"]["tried"]  # the first that holds ships: its file with and without bias correction
    assert [t["scheme"] for t in tried] == ["dynamic_range"] * 2
    assert sorted(t["bias_correction"] for t in tried) == [False, True]
    assert tried[-1]["sqnr_db"] >= 15.0 and tried[-1]["met"] and step["bias_correction"] == tried[-1]["bias_correction"]
    assert report["status"] == "ok"
    assert any("shipped dynamic_range" in w for w in report["warnings"])
    # the artifact is dynamic-range: int8 weights, no QUANTIZE of activations, float LSTM gates
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(out / "model.tflite"))
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()
    assert "QUANTIZE" not in {op["op_name"] for op in ops}
    fcs = [op for op in ops if op["op_name"] == "FULLY_CONNECTED"]
    assert fcs and all(details[op["inputs"][1]]["dtype"] == np.int8 for op in fcs)
    assert all(details[op["inputs"][0]]["dtype"] == np.float32 for op in fcs)


def test_remedies_are_skipped_when_the_time_budget_is_spent(lstm_run):
    _, _, step = lstm_run
    tried = step["remedies"]["tried"]
    assert tried[0]["remedy"] == "plain"
    skipped = [t for t in tried[1:] if t.get("skipped")]
    assert skipped and len(skipped) == len(tried) - 1 and all("time budget" in t["skipped"] for t in skipped)


def test_calibration_runs_once_and_its_cost_is_reported(lstm_run):
    _, _, step = lstm_run
    cost = step["calibration_cost"]
    assert cost["ops"] > 200  # unrolled over 20 steps
    assert cost["samples"] == max(MIN_CALIBRATION_SAMPLES, 1000 // cost["ops"]) < cost["samples_requested"]
    assert len(cost["runs"]) == 1 and cost["runs"][0]["cost"] == cost["ops"] * cost["samples"]


def test_integer_only_targets_keep_static_int8_and_say_why(tmp_path):
    from compressor.quant.fallback import try_fallback_schemes

    remedies = types.SimpleNamespace(sqnr_db=3.0)
    scheme, fallback = try_fallback_schemes(tmp_path / "f.tflite", tmp_path / "o.tflite", None, remedies, None,
                                            load_target("ethos-u55-128"), Int8Config(), 0.97)
    assert scheme == "static_int8" and fallback["tried"] == []
    assert "integer kernels only" in fallback["why"]
