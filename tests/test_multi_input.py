"""Models with several inputs and outputs: data as x0, x1, ..., shapes as 1,3,8,8;1,6."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from compressor.cli.main import cli
from compressor.data import calibration_samples, head, load_inputs_npz, parse_input_shapes
from compressor.errors import DataError
from tests.helpers import import_source

TWO_INPUTS = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class TwoIn(nn.Module):
        """An image and a feature vector in, a class score and a regression value out."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.fc = nn.Linear(6, 8)
            self.head_a = nn.Linear(16, 4)
            self.head_b = nn.Linear(16, 1)

        def forward(self, image, feats):
            z = torch.cat([self.conv(image).relu().mean(dim=(2, 3)), self.fc(feats).relu()], dim=1)
            return self.head_a(z), self.head_b(z)
''')


@pytest.fixture
def two_inputs(tmp_path, monkeypatch):
    twonets = import_source(tmp_path, monkeypatch, "twonets", TWO_INPUTS)
    torch.manual_seed(0)
    torch.save(twonets.TwoIn().state_dict(), tmp_path / "two.pt")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "two.npz", x0=rng.random((48, 3, 8, 8), dtype=np.float32),
             x1=rng.random((48, 6), dtype=np.float32))
    return tmp_path


def test_parse_input_shapes():
    assert parse_input_shapes("1,3,8,8;1,6") == ((1, 3, 8, 8), (1, 6))
    assert parse_input_shapes("1,16") == ((1, 16),)


def test_load_inputs_npz_reads_each_input_and_checks_counts(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "good.npz"
    np.savez(good, x0=rng.random((5, 2, 3)), x1=rng.random((5, 4)), y=np.arange(5))
    (a, b), y = load_inputs_npz(good, ((2, 3), (4,)))
    assert a.shape == (5, 2, 3) and b.shape == (5, 4) and a.dtype == np.float32 and list(y) == list(range(5))
    uneven = tmp_path / "uneven.npz"
    np.savez(uneven, x0=rng.random((5, 2, 3)), x1=rng.random((4, 4)))
    with pytest.raises(DataError, match="same number of samples"):
        load_inputs_npz(uneven, ((2, 3), (4,)))
    with pytest.raises(DataError, match="x1 has per-sample shape"):
        load_inputs_npz(good, ((2, 3), (5,)))


def test_calibration_samples_keep_inputs_together():
    a, b = np.arange(10.0).reshape(10, 1), np.arange(10.0).reshape(10, 1) * 10
    samples = calibration_samples((a, b), 4, seed=0)
    assert len(samples) == 4 and all(len(s) == 2 and s[1][0, 0] == 10 * s[0][0, 0] for s in samples)
    assert head((a, b), 3)[1].shape == (3, 1)


@pytest.mark.parametrize("fmt,target", [("tflite", "android-arm64"), ("onnx", "host-x86")])
def test_two_input_two_output_model_compresses_and_verifies(two_inputs, fmt, target):
    result = CliRunner().invoke(cli, ["two.pt", "--arch", "twonets:TwoIn", "--input-shape", "1,3,8,8;1,6",
                                       "--target", target, "--format", fmt, "--data", "two.npz",
                                       "--out", f"out_{fmt}", "--min-agreement", "0.5", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((two_inputs / f"out_{fmt}" / "report.json").read_text())
    verify = next(s for s in report["steps"] if s["name"] == "verify")
    assert [len(s["shape"]) for s in verify["io"]["inputs"]] == [4, 2]
    assert len(verify["outputs"]) == 2
    assert all(o["sqnr_db"] > 10 for o in verify["outputs"])
    assert report["inputs"]["input_shapes"] == [[1, 3, 8, 8], [1, 6]]


def test_multi_input_data_needs_every_array(two_inputs):
    np.savez(two_inputs / "one.npz", x=np.zeros((4, 3, 8, 8), np.float32))
    result = CliRunner().invoke(cli, ["two.pt", "--arch", "twonets:TwoIn", "--input-shape", "1,3,8,8;1,6",
                                       "--target", "host-x86", "--data", "one.npz", "--out", "o"])
    assert result.exit_code == 2 and "x0" in result.output and not (two_inputs / "o").exists()


def test_multi_input_pruning_is_refused_with_a_reason(two_inputs):
    result = CliRunner().invoke(cli, ["two.pt", "--arch", "twonets:TwoIn", "--input-shape", "1,3,8,8;1,6",
                                       "--target", "host-x86", "--data", "two.npz", "--prune", "channels:0.5",
                                       "--out", "o"])
    assert result.exit_code == 2 and "2 inputs" in result.output
