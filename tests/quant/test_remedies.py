"""Per-layer int8 sensitivity (quant_sensitivity.py) and the remedies chain (quant_remedies.py), on real LiteRT.

The hard model (tests/quant/outlier_nets.OutlierNet): conv1's output channel 0 is scaled by 1e3 (before its ReLU) and conv2 takes
that channel back with weights scaled by 1e-3, so the float function is ordinary while the
activation range of conv1 is dominated by one channel (the other seven keep a few int8
steps) and conv2's per-output-channel weight scale is set by the large weights (the 1e-3
ones round to zero).  Plain int8 gives about 17.5 dB at the output; cross-layer
equalization of the conv1 -> conv2 pair, exact in float, gives about 50 dB in plain int8.
The stubborn model (StubbornOutlierNet) has the same outlier channel but no conv after it (a mean and a linear
head), so equalization does not apply: int16 activations for its worst layers or float for
them are what help there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from compressor.passes.export_tflite import export_tflite
from compressor.quant.tflite_int8 import _op_types, quantize_tflite
from compressor.quant.remedies import percentile_ranges, quantize_with_remedies
from compressor.quant.sensitivity import layer_path, layer_sensitivity
from compressor.measure.runtime import LiteRTRunner
from tests.quant.outlier_nets import OutlierNet, StubbornOutlierNet


class _Easy(nn.Module):
    """Named submodules in a Sequential, as the zoo nets have them."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        return self.head(self.pool(self.features(x)).flatten(1))


def _exported(model_class: type, directory: Path) -> dict:
    torch.manual_seed(0)
    model = model_class().eval()
    x = np.random.default_rng(0).random((48, 1, 12, 12), dtype=np.float32)
    float_path = directory / "float.tflite"
    export_tflite(model, (torch.from_numpy(x[:1]),), float_path)
    with torch.no_grad():
        reference = model(torch.from_numpy(x[32:])).numpy()

    def evaluate(path: Path) -> tuple[float, float]:
        outputs = LiteRTRunner(path).run_batch([x[32:]])[0]
        sqnr_db = 10.0 * np.log10(np.sum(reference ** 2) / np.sum((reference - outputs) ** 2))
        return float(sqnr_db), float(np.mean(outputs.argmax(1) == reference.argmax(1)))

    return {"float": float_path, "samples": [[x[i : i + 1]] for i in range(32)], "evaluate": evaluate}


@pytest.fixture(scope="module")
def easy(tmp_path_factory) -> dict:
    return _exported(_Easy, tmp_path_factory.mktemp("easy"))


@pytest.fixture(scope="module")
def hard(tmp_path_factory) -> dict:
    return _exported(OutlierNet, tmp_path_factory.mktemp("hard"))


@pytest.fixture(scope="module")
def stubborn(tmp_path_factory) -> dict:
    return _exported(StubbornOutlierNet, tmp_path_factory.mktemp("stubborn"))


def test_layer_path_of_litert_torch_names():
    assert layer_path("torch.nn.modules.container.Sequential_features/torch.nn.modules.conv.Conv2d_0;1") == \
        "features.0"
    # a fused conv + ReLU: the conv (its own module) is the last scope
    fused = ("m.VGG/torch.nn.modules.container.Sequential_features/torch.nn.modules.activation.ReLU_1;;"
             "m.VGG/torch.nn.modules.container.Sequential_features/torch.nn.modules.conv.Conv2d_0;1")
    assert layer_path(fused) == "features.0"
    name = "my.nets.Net_with_underscores/torch.nn.modules.linear.Linear_fc_out;"
    assert layer_path(name) == "with_underscores.fc_out"
    assert layer_path("serving_default_output_0_output") == "serving_default_output_0_output"
    assert layer_path("__main__.Net;1") == ""  # an op of the root module's forward


def test_layer_path_on_an_exported_model(easy):
    paths = {op_type: set() for op_type in ("CONV_2D", "MAX_POOL_2D", "MEAN")}
    for name, op_type in _op_types(easy["float"]).items():
        paths.setdefault(op_type, set()).add(layer_path(name))
    assert paths["CONV_2D"] == {"features.3"}  # the first conv is a DEPTHWISE_CONV_2D (1 input channel)
    assert paths["DEPTHWISE_CONV_2D"] == {"features.0"}
    assert paths["MAX_POOL_2D"] == {"features.2"}
    assert paths["MEAN"] == {"pool"}


@pytest.mark.parametrize("io", ["float", "int8"])
def test_sensitivity_covers_every_compute_op_worst_first(easy, tmp_path, io):
    int8_path = tmp_path / "int8.tflite"
    quantize_tflite(easy["float"], int8_path, easy["samples"], per_channel=True, io=io)
    rows = layer_sensitivity(easy["float"], int8_path, easy["samples"])

    assert {row["name"] for row in rows} == set(_op_types(easy["float"]))
    sqnr = [row["sqnr_db"] for row in rows]
    assert sqnr == sorted(sqnr)
    assert all(row["dtype"] == "int8" for row in rows)
    assert all(20.0 < row["sqnr_db"] < 80.0 for row in rows), rows  # quantized, yet close to float
    assert all(row["own_sqnr_db"] >= row["sqnr_db"] - 1e-9 for row in rows)
    # the graph's output, measured inside on reference kernels, matches the runner's output SQNR
    output_row, = (row for row in rows if row["name"] == "serving_default_output_0_output")
    if io == "float":
        assert output_row["sqnr_db"] == pytest.approx(easy["evaluate"](int8_path)[0], abs=1.0)


def test_sensitivity_finds_the_layer_that_loses_information(hard, tmp_path):
    int8_path = tmp_path / "int8.tflite"
    quantize_tflite(hard["float"], int8_path, hard["samples"], per_channel=True)
    rows = layer_sensitivity(hard["float"], int8_path, hard["samples"])
    by_own = sorted(rows, key=lambda row: row["own_sqnr_db"])
    assert (by_own[0]["layer"], by_own[0]["op"]) == ("conv2", "CONV_2D")
    assert by_own[0]["own_sqnr_db"] < 10.0
    # ops that only move data add (nearly) no error of their own
    assert all(row["own_sqnr_db"] > 40.0 for row in rows if row["op"] in ("TRANSPOSE", "MEAN"))


def test_percentile_ranges_clip_and_keep_zero(hard):
    ranges = percentile_ranges(hard["float"], hard["samples"])
    assert {name for name, _, _ in ranges} == set(_op_types(hard["float"]))
    assert all(low <= 0.0 <= high and low < high for _, low, high in ranges)
    conv1 = next(r for r in ranges if r[0].endswith("Conv2d_conv1;1"))  # after its ReLU: min 0
    assert conv1[1] == 0.0 and conv1[2] > 100.0


def test_an_easy_model_stops_after_the_plain_recipe(easy, tmp_path):
    out_path = tmp_path / "model.tflite"
    result = quantize_with_remedies(easy["float"], out_path, easy["samples"], evaluate=easy["evaluate"],
                                    allow_int16=True, allow_float=True)
    assert [row["remedy"] for row in result.tried] == ["plain"]
    assert result.met and result.used == () and result.int16_layers == () == result.float_layers
    assert result.sqnr_db > 25.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite"]


def test_the_chain_improves_a_hard_model(hard, tmp_path):
    out_path = tmp_path / "model.tflite"
    result = quantize_with_remedies(hard["float"], out_path, hard["samples"], evaluate=hard["evaluate"],
                                    allow_int16=True, allow_float=True)
    plain = result.tried[0]
    assert plain["remedy"] == "plain" and plain["sqnr_db"] < 25.0
    assert result.met and result.sqnr_db > plain["sqnr_db"] + 10.0
    assert result.used == ("equalize",) and result.int16_layers == () == result.float_layers
    assert [row["remedy"] for row in result.tried] == ["plain", "equalize"]  # stopped at the first that met
    assert result.tried[-1]["layers"] and layer_path(result.tried[-1]["layers"][0]) == "conv1"
    # the artifact left in place is the chosen one, and no candidate file is left behind
    assert result.sqnr_db == pytest.approx(hard["evaluate"](out_path)[0], abs=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite"]
    assert result.sensitivity and all(row["name"] in _op_types(hard["float"]) for row in result.sensitivity)
    assert json.loads(json.dumps(result.to_dict()))["used"] == list(result.used)


def test_int16_for_the_worst_layers_where_equalization_cannot_help(stubborn, tmp_path):
    out_path = tmp_path / "model.tflite"
    result = quantize_with_remedies(stubborn["float"], out_path, stubborn["samples"], evaluate=stubborn["evaluate"],
                                    allow_int16=True, allow_float=True)
    plain = result.tried[0]
    assert "equalize" not in [row["remedy"] for row in result.tried]  # no conv pair to equalize
    assert "int16" in result.used and result.int16_layers and result.sqnr_db > plain["sqnr_db"] + 3.0
    assert any(row["dtype"] == "int16" for row in result.sensitivity)


def test_without_int16_or_float_the_best_artifact_is_still_left(stubborn, tmp_path):
    out_path = tmp_path / "model.tflite"
    hard = stubborn
    result = quantize_with_remedies(hard["float"], out_path, hard["samples"], evaluate=hard["evaluate"],
                                    per_channel=False, allow_int16=False, allow_float=False)
    assert [row["remedy"] for row in result.tried] == ["plain", "per_channel", "bias_correction", "percentile"]
    assert not result.met and result.int16_layers == () == result.float_layers
    kept = [row for row in result.tried if row["kept"]]
    assert out_path.exists() and result.sqnr_db == kept[-1]["sqnr_db"]
    assert result.sqnr_db >= max(row["sqnr_db"] for row in result.tried if row["sqnr_db"] is not None) - 0.1


def test_float_layers_rescue_when_int16_is_not_allowed(stubborn, tmp_path):
    result = quantize_with_remedies(stubborn["float"], tmp_path / "model.tflite", stubborn["samples"],
                                    evaluate=stubborn["evaluate"], allow_int16=False, allow_float=True, max_layers=2)
    assert result.used == ("float",) and result.met
    # conv2 loses most by itself, but its loss is made where conv1 writes its output in int8
    assert {layer_path(name) for name in result.float_layers} == {"conv2", "conv1"}
    assert result.tried[-1]["layers"] == list(result.float_layers)


def test_npu_target_takes_int16_for_the_worst_layers_and_vela_compiles_it(tmp_path, monkeypatch):
    import inspect
    import json

    from click.testing import CliRunner

    from compressor.cli.main import cli
    from tests.helpers import import_source

    source = "import torch\nimport torch.nn as nn\n\n\n" + inspect.getsource(StubbornOutlierNet).replace("class StubbornOutlierNet", "class Hard")
    nets = import_source(tmp_path, monkeypatch, "hardnets", source)
    torch.manual_seed(0)
    torch.save(nets.Hard().state_dict(), tmp_path / "hard.pt")
    result = CliRunner().invoke(cli, ["hard.pt", "--arch", "hardnets:Hard", "--input-shape", "1,1,12,12",
                                      "--target", "ethos-u55-128", "--min-agreement", "0", "--out", "npu", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "npu" / "report.json").read_text())
    remedies = next(s for s in report["steps"] if s["name"] == "int8")["remedies"]
    plain = remedies["tried"][0]["sqnr_db"]
    assert "int16" in remedies["used"] and remedies["int16_layers"] and remedies["sqnr_db"] > plain + 3
    assert "float" not in [t["remedy"] for t in remedies["tried"]]  # an NPU runs no float
    assert report["io"]["inputs"][0]["dtype"] == "int8"
    assert report["estimate"]["vela"]["npu_ops"] > 0
