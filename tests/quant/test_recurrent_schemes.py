"""The fallback schemes on a recurrent net whose loss sits in one layer (quant/schemes.py).

A tiny random-weight LSTM (4 inputs, 16 units, 8 steps, saved as a .pt2) built like resemblyzer's
speaker encoder on raw mel power: three input columns are large (~100) with tiny weights, one is
tiny (0.01) with a large weight, so int8 weights of the first layer's input projection (one scale
per output row, set by the large weight) round the three informative columns to nothing.  The
LSTM is rewritten (model/recurrent.py), so that projection is one op over all steps; dynamic-range
int8 alone falls short, layers are measured alone, the projection alone misses the bar, is kept
float, and the scheme that ships is named with that layer and its measured SQNR.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from compressor.cli.main import cli


class _WideRangeLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 16, 1, batch_first=True)
        self.head = nn.Linear(16, 8, bias=False)
        with torch.no_grad():  # large weights where the inputs are small, as on raw mel power
            self.lstm.weight_ih_l0.mul_(torch.tensor([0.01, 0.01, 0.01, 20.0]))

    def forward(self, x):
        _, (hidden, _) = self.lstm(x)
        return self.head(hidden[-1])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("wide_lstm")
    torch.manual_seed(0)
    model = _WideRangeLstm().eval()
    rng = np.random.default_rng(0)
    # centred on zero: a mean offset the float bias could absorb (the schemes' bias correction) is not the loss here
    x = (rng.normal(size=(40, 8, 4)) * np.array([100.0, 100.0, 100.0, 0.01])).astype(np.float32)
    torch.export.save(torch.export.export(model, (torch.from_numpy(x[:1]),)), directory / "lstm.pt2")
    np.savez(directory / "calib.npz", x=x[:24])
    np.savez(directory / "test.npz", x=x[24:])
    # static int8 made to fall short (no 8-bit graph reaches 200 dB), remedies given no time
    (directory / "recipe.toml").write_text("[int8]\nmin_sqnr_db = 200.0\nsearch_seconds = 0.0\n")
    result = CliRunner().invoke(cli, [str(directory / "lstm.pt2"), "--target", "android-arm64", "--data",
                                      str(directory / "calib.npz"), "--eval", str(directory / "test.npz"),
                                      "--recipe", str(directory / "recipe.toml"), "--out", str(directory / "out"),
                                      "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((directory / "out" / "report.json").read_text())
    steps = {s["name"]: s for s in report["steps"]}
    return directory / "out", report, steps


def test_the_lstm_is_rewritten_before_export(run):
    _, _, steps = run
    recurrent = steps["rewrite"]["recurrent"]
    assert [r["rewrite"] for r in recurrent["rewrites"]] == ["lstm_stepwise"]
    assert recurrent["max_relative_error"] < 1e-4


def test_the_worst_layer_is_measured_kept_float_and_named(run):
    _, report, steps = run
    step = steps["int8"]
    fallback = step["fallback"]
    plain, *with_float = fallback["tried"]
    assert plain["scheme"] == "dynamic_range" and "float_layers" not in plain and not plain["met"]
    # weight layers measured alone, smallest first, until the one that alone misses the bar is
    # found (the head's 128 weights, then the projection's 256; the recurrent 1024 not needed)
    sensitivity = fallback["layer_sensitivity"]
    assert [row["weight_elements"] for row in sensitivity] == [256, 128]  # reported worst first
    worst = sensitivity[0]["layer"]
    assert worst.endswith("input_projection_l0") and not sensitivity[0]["met_alone"]
    assert sensitivity[0]["sqnr_db_alone"] < 15.0 < sensitivity[1]["sqnr_db_alone"]
    assert sensitivity[1]["met_alone"]
    # kept float, and then the scheme holds: the SQNR is measured, the shipped scheme named
    assert with_float[-1]["float_layers"] == [worst] and with_float[-1]["met"]
    assert with_float[-1]["sqnr_db"] >= 15.0 > plain["sqnr_db"]
    assert step["scheme"] == "dynamic_range" and step["float_layers"] == [worst]
    assert worst in step["scheme_why"] and "dynamic_range" in step["scheme_why"]
    assert report["status"] == "ok"


def test_the_artifact_carries_the_float_layer(run):
    """One FULLY_CONNECTED (the projection) reads float weights; every other reads int8 weights."""
    out, _, _ = run
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(out / "model.tflite"))
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    fcs = [op for op in interpreter._get_ops_details() if op["op_name"] == "FULLY_CONNECTED"]
    weight_dtypes = [details[op["inputs"][1]]["dtype"] for op in fcs]
    assert weight_dtypes.count(np.float32) == 1 and weight_dtypes.count(np.int8) == len(fcs) - 1
