"""The int8 I/O contract: --io, --float-ops, fully int8 graphs on MCU/NPU targets, the report's io."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from compressor.cli.main import cli
from compressor.errors import ExportError
from compressor.passes.quantize_tflite import check_fully_int8, resolve_io
from compressor.targets.load import load_target
from compressor.tflite.names import layer_paths


def run(*args):
    return CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--data", "calib.npz",
                                    "--eval", "test.npz", "--json", "--quiet", *args])


def report_of(directory):
    return json.loads((directory / "report.json").read_text())


def ops_of(path):
    from ai_edge_litert.interpreter import Interpreter

    return [op["op_name"] for op in Interpreter(str(path))._get_ops_details()]


def test_io_defaults_follow_the_target_kind():
    assert resolve_io("auto", load_target("cortex-m7")) == "int8"
    assert resolve_io("auto", load_target("ethos-u55-128")) == "int8"
    assert resolve_io("auto", load_target("android-arm64")) == "float"
    assert resolve_io("float", load_target("cortex-m7")) == "float"


def test_mcu_artifact_has_int8_edges_and_reports_scale_and_zero_point(tiny_workspace):
    result = run("--target", "cortex-m7", "--out", "mcu", "--classifier-output", "0")  # the fixture's labels are all 0
    assert result.exit_code == 0, result.output
    report = report_of(tiny_workspace / "mcu")
    (inp,), (out,) = report["io"]["inputs"], report["io"]["outputs"]
    assert inp["dtype"] == "int8" and inp["scale"] > 0 and -128 <= inp["zero_point"] <= 127
    assert out["dtype"] == "int8" and out["scale"] > 0 and inp["layout"] == "NCHW"
    ops = ops_of(tiny_workspace / "mcu" / "model.tflite")
    assert "QUANTIZE" not in ops and "DEQUANTIZE" not in ops
    assert report["compressed"]["agreement"] >= 0.97  # the runner quantizes inputs with that scale
    assert "## Inputs and outputs" in (tiny_workspace / "mcu" / "report.md").read_text()


def test_cpu_artifact_keeps_float_edges_unless_asked(tiny_workspace):
    assert run("--target", "android-arm64", "--out", "cpu").exit_code == 0
    assert report_of(tiny_workspace / "cpu")["io"]["inputs"][0]["dtype"] == "float32"
    assert run("--target", "android-arm64", "--io", "int8", "--out", "cpu8").exit_code == 0
    assert report_of(tiny_workspace / "cpu8")["io"]["inputs"][0]["dtype"] == "int8"


def test_float_ops_keeps_the_named_layer_float_and_lists_it(tiny_workspace):
    result = run("--target", "android-arm64", "--float-ops", "body", "--out", "fl")
    assert result.exit_code == 0, result.output
    report = report_of(tiny_workspace / "fl")
    left = next(s for s in report["steps"] if s["name"] == "int8")["float_ops"]
    assert left and all(any(p.startswith("body") for p in op["layers"]) for op in left)
    assert any("body" in w and "float" in w for w in report["warnings"])


@pytest.mark.parametrize("args,needle", [
    (("--target", "ethos-u55-128", "--float-ops", "body"), "int8 only"),
    (("--target", "android-arm64", "--float-ops", "nonexistent"), "a layer of"),
    (("--target", "host-x86", "--format", "onnx", "--io", "int8"), "--io"),
])
def test_float_ops_and_io_refusals(tiny_workspace, args, needle):
    result = run(*args, "--out", "bad")
    assert result.exit_code == 2 and needle in result.output and not (tiny_workspace / "bad").exists()


def test_int8_only_target_refuses_a_float_op_by_name(tmp_path):
    left = [{"op": "HARD_SWISH", "name": "t", "layers": ["act"]}]
    with pytest.raises(ExportError, match="HARD_SWISH"):
        check_fully_int8(tmp_path / "m.tflite", left, load_target("ethos-u55-128"))
    check_fully_int8(tmp_path / "m.tflite", left, load_target("android-arm64"))  # CPUs may keep float


def test_layer_paths_read_litert_torch_names():
    name = ("torch.nn.modules.container.Sequential_features/torch.nn.modules.activation.ReLU_2;;"
            "torch.nn.modules.container.Sequential_features/torch.nn.modules.conv.Conv2d_0;1")
    assert layer_paths(name) == ["features.2", "features.0"]
    assert layer_paths("serving_default_output_0_output") == []
    assert layer_paths("tinynets.TinyNet_stem/torch.nn.modules.conv.Conv2d_0;") == ["stem.0"]
