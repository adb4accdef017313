"""--layout nhwc: the artifact takes channels-last inputs and computes what the model does."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from compressor.cli.main import cli
from compressor.layout import from_artifact, to_artifact


def test_layout_round_trip_moves_only_channel_axes():
    image, frames, features = np.zeros((2, 3, 5, 7)), np.zeros((2, 4, 9)), np.zeros((2, 6))
    assert to_artifact(image, "nhwc").shape == (2, 5, 7, 3)
    assert to_artifact(frames, "nhwc").shape == (2, 9, 4)
    assert to_artifact(features, "nhwc").shape == (2, 6)
    x = np.random.default_rng(0).random((2, 3, 5, 7))
    assert np.array_equal(from_artifact(to_artifact(x, "nhwc"), "nhwc"), x)
    assert to_artifact(x, "nchw") is x


@pytest.mark.parametrize("fmt,target", [("tflite", "android-arm64"), ("onnx", "host-x86")])
def test_nhwc_artifact_takes_channels_last_and_verifies(tiny_workspace, fmt, target):
    result = CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--target", target,
                                      "--format", fmt, "--data", "calib.npz", "--eval", "test.npz",
                                      "--layout", "nhwc", "--out", "nhwc", "--classifier-output", "0", "--json",
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((tiny_workspace / "nhwc" / "report.json").read_text())
    verify = next(s for s in report["steps"] if s["name"] == "verify")
    assert verify["io"]["inputs"][0]["shape"] == [1, 16, 16, 1]
    assert verify["agreement"] >= 0.97
    assert next(s for s in report["steps"] if s["name"] == "export")["layout"] == "nhwc"
    if fmt == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        ops = [op["op_name"] for op in Interpreter(str(tiny_workspace / "nhwc" / "model.tflite"))._get_ops_details()]
        assert ops[0] == "QUANTIZE" and ops[1] not in ("TRANSPOSE", "RESHAPE")  # the wrapper's permute cancelled


def test_bad_layout_is_refused(tiny_workspace):
    result = CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--target", "host-x86",
                                      "--layout", "nwhc"])
    assert result.exit_code == 2
