"""Activation-range methods from one recorded calibration pass, and "auto" picking the best by SQNR."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from compressor.passes.export_tflite import export_tflite
from compressor.quant.tflite_int8 import Calibration, signature_inputs


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.head(y.mean(dim=(2, 3)))


@pytest.fixture
def float_file(tmp_path):
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((24, 1, 10, 10)).astype(np.float32)
    x[::5] *= 4.0  # a few loud samples: min/max and the moving average differ
    path = tmp_path / "float.tflite"
    export_tflite(_Net().eval(), (torch.from_numpy(x[:1]),), path)
    return path, [[x[i:i + 1]] for i in range(len(x))]


def test_moving_average_ranges_equal_the_libraries_own_calibration(float_file):
    """The hand route (ai-edge-quantizer's default calibration) is reproduced from our one recorded pass."""
    from ai_edge_quantizer import quantizer, recipe

    path, samples = float_file
    key, names = signature_inputs(path)
    theirs = quantizer.Quantizer(str(path), recipe.static_wi8_ai8()).calibrate(
        {key: [dict(zip(names, s)) for s in samples]})
    calibration = Calibration(samples)
    ours = calibration.ranges(path, "moving_average")
    min_max = calibration.ranges(path, "min_max")
    assert len(calibration.log) == 1  # both methods from one calibration
    differ = 0
    for name, qsv in theirs.items():
        assert np.allclose(ours[name]["min"], qsv["min"], rtol=1e-5, atol=1e-7), name
        assert np.allclose(ours[name]["max"], qsv["max"], rtol=1e-5, atol=1e-7), name
        assert np.all(min_max[name]["max"] >= qsv["max"] - 1e-7)
        differ += not np.allclose(min_max[name]["max"], qsv["max"])
    assert differ  # the loud samples widen min/max beyond the average somewhere


def test_percentile_ranges_clip_inside_min_max(float_file):
    path, samples = float_file
    calibration = Calibration(samples)
    clipped, full = calibration.ranges(path, "percentile"), calibration.ranges(path, "min_max")
    narrower = [n for n in full if float(np.max(clipped[n]["max"])) < float(np.max(full[n]["max"])) - 1e-6]
    assert narrower
    assert all(float(np.max(clipped[n]["max"])) <= float(np.max(full[n]["max"])) + 1e-6 for n in full)


def test_auto_keeps_the_method_with_the_best_worst_output_sqnr(tmp_path):
    from compressor import compress

    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((48, 1, 10, 10)).astype(np.float32)
    x[::7] *= 6.0
    torch.export.save(torch.export.export(_Net().eval(), (torch.from_numpy(x[:1]),)), tmp_path / "m.pt2")
    np.savez(tmp_path / "calib.npz", x=x[:32])
    np.savez(tmp_path / "test.npz", x=x[32:])
    runs = {}
    for setting in ("auto", "moving_average"):
        result = compress(tmp_path / "m.pt2", target="android-arm64", data=tmp_path / "calib.npz",
                          eval_data=tmp_path / "test.npz", out=tmp_path / setting,
                          overrides={"int8.calibration": setting})
        report = json.loads((result.out_dir / "report.json").read_text())
        runs[setting] = next(s for s in report["steps"] if s["name"] == "int8")
    auto = runs["auto"]["range_method"]
    tried = {row["method"]: row["sqnr_db"] for row in auto["tried"]}
    assert set(tried) == {"min_max", "moving_average", "percentile"}
    assert tried[auto["method"]] >= max(tried.values()) - 0.1
    assert runs["moving_average"]["range_method"] == {"method": "moving_average", "tried": "set by int8.calibration"}
    assert runs["moving_average"]["calibration"].startswith("moving average")
