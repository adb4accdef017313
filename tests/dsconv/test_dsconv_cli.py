"""`compress --dsconv` end to end on the tiny model: state dict + --arch, .pt2 and TorchScript alike."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from compressor.cli.main import cli
from compressor.graph.read import read_graph


def run_cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _save(tiny_workspace, form: str) -> list[str]:
    """The tiny model in ``form``; the CLI arguments that load it."""
    import tinynets

    model = tinynets.TinyNet().eval()
    model.load_state_dict(torch.load(tiny_workspace / "tiny.pt"))
    if form == "state_dict":
        return ["tiny.pt", "--arch", "tinynets:TinyNet"]
    example = (torch.from_numpy(np.load(tiny_workspace / "calib.npz")["x"][:1]),)
    if form == "pt2":
        torch.export.save(torch.export.export(model, example), str(tiny_workspace / "tiny.pt2"))
        return ["tiny.pt2"]
    torch.jit.save(torch.jit.script(model), str(tiny_workspace / "tiny.ts"))
    return ["tiny.ts", "--input-shape", "1,1,16,16"]


def _ops(path) -> list[str]:
    return [op.op_type for op in read_graph(path).ops]


@pytest.mark.parametrize("form", ["state_dict", "pt2", "torchscript"])
def test_dsconv_named_layer_in_every_model_form(tiny_workspace, form):
    model_args = _save(tiny_workspace, form)
    out = tiny_workspace / f"out_{form}"
    result = run_cli(*model_args, "--target", "android-arm64", "--data", "calib.npz", "--eval", "test.npz",
                     "--out", str(out), "--dsconv", "body.0", "--dsconv-rank", "2", "--classifier-output", "0",
                     "--quiet")
    assert result.exit_code in (0, 1), result.output
    report = json.loads((out / "report.json").read_text())
    assert [s["name"] for s in report["steps"]][:5] == ["export_original", "dsconv", "fold", "rewrite", "export"]
    step = report["steps"][1]
    assert step["model_form"] == ("module" if form == "state_dict" else "graph")
    assert step["substituted"] == 1
    body = next(layer for layer in step["layers"] if layer["name"] == "body.0")
    assert body["rank"] == 2 and (body["cin"], body["cout"], body["k"]) == (8, 8, [3, 3])
    assert body["macs_after"] < body["macs_before"]
    assert body["error_init"] is not None and body["error_after_recovery"] is not None
    stem = next(layer for layer in step["layers"] if layer["name"] == "stem.0")
    assert stem["rank"] is None and stem["skipped"] == "not named in --dsconv"
    # The artifact has the depthwise + pointwise pair where the dense conv was; the baseline does not.
    original = _ops(out / report["float_artifact"])
    assert original.count("DEPTHWISE_CONV_2D") == 2  # the Cin=1 stem is depthwise to the converter, + the pair
    assert "CONCATENATION" in original  # rank 2: the input replicated twice
    assert report["compressed"]["macs"] < report["original"]["macs"]
    assert report["compressed"]["agreement"] >= 0.9
    assert "## Depthwise-separable substitution" in (out / "report.md").read_text()


def test_dsconv_auto_reports_why_layers_stay_dense(tiny_workspace):
    result = run_cli("tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64", "--data", "calib.npz",
                     "--eval", "test.npz", "--out", "auto_out", "--dsconv", "auto", "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads((tiny_workspace / "auto_out" / "report.json").read_text())
    step = next(s for s in report["steps"] if s["name"] == "dsconv")
    # android-arm64 kernels tile 16 channels: the tiny model's 1- and 8-channel convs stay dense.
    assert step["substituted"] == 0 and {s["name"] for s in step["skipped"]} == {"stem.0", "body.0"}
    assert all("few input channels" in s["reason"] for s in step["skipped"])
    assert report["compressed"]["macs"] == report["original"]["macs"]


def test_dsconv_with_prune_and_int8_in_one_run(tiny_workspace):
    result = run_cli("tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64", "--data", "calib.npz",
                     "--eval", "test.npz", "--out", "both", "--prune", "channels:0.5", "--finetune-epochs", "1",
                     "--dsconv", "all", "--dsconv-rank", "1", "--quiet")
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tiny_workspace / "both" / "report.json").read_text())
    names = [s["name"] for s in report["steps"]]
    assert names[:6] == ["export_original", "prune", "dsconv", "fold", "rewrite", "export"] and "int8" in names
    step = report["steps"][2]
    assert step["substituted"] >= 1
    assert all(layer["rank"] in (1, None) for layer in step["layers"])
    assert "DEPTHWISE_CONV_2D" in _ops(tiny_workspace / "both" / report["artifact"])


@pytest.mark.parametrize("args,message", [
    (["--dsconv", "nope"], "--dsconv: got 'nope', expected a Conv2d layer name"),
    (["--dsconv", "auto", "--dsconv-rank", "two"], "--dsconv-rank: got 'two'"),
])
def test_dsconv_bad_input_is_one_error_line(tiny_workspace, args, message):
    result = CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64",
                                      "--data", "calib.npz", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_dsconv_needs_data_to_recover(tiny_workspace):
    result = CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64",
                                      "--dsconv", "all"])
    assert result.exit_code == 2 and "error: --data" in result.output
