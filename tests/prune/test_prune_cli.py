"""`compress --prune`: end to end with int8, the report's pruning facts, errors, graph-only models."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from compressor.cli.main import cli
from tests.helpers import save_graph_form


def run_cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_channels_prune_with_int8_reports_and_repeats_exactly(residual_workspace):
    workspace, _ = residual_workspace
    args = ["res.pt", "--arch", "tests.prune_patterns:Residual", "--target", "android-arm64", "--data", "train.npz",
            "--eval", "heldout.npz", "--prune", "channels:0.5", "--finetune-epochs", "2", "--quiet",
            # Half the channels of a random net, 2 recovery epochs: its output is ~6 dB from the
            # original's, which verify's SQNR floor (15 dB) would mark FAILED; pruning is tested here.
            "--min-sqnr", "0", "--classifier-output", "0"]
    first = run_cli(*args, "--out", "a")
    assert first.exit_code == 0, first.output
    report = json.loads((workspace / "a" / "report.json").read_text())
    # The model as given is exported first, visibly: the report's "original" is that file.
    assert [s["name"] for s in report["steps"]][:6] == ["export_original", "prune", "fold", "rewrite", "export", "int8"]
    assert report["steps"][0]["file"] == "model_unpruned_float.tflite"
    prune = report["steps"][1]
    assert prune["method"] == "channels" and prune["requested"] == 0.5 and abs(prune["achieved"] - 0.5) <= 0.02
    assert prune["params_after"] < 0.5 * prune["params_before"] and prune["macs_after"] < 0.55 * prune["macs_before"]
    assert {s["name"] for s in prune["skipped"]} == {"head"}
    assert prune["recovery"]["epochs"] == 2 and prune["recovery"]["loss"] == "kd+ce"
    # "original" is the unpruned model; the artifact is the pruned int8 one and runs in LiteRT.
    assert report["original"]["params"] > 2 * report["compressed"]["params"]
    assert report["compressed"]["agreement"] is not None and report["status"] == "ok"
    assert report["recipe"]["prune"]["method"] == "channels"
    markdown = (workspace / "a" / "report.md").read_text()
    assert "## Pruning" in markdown and "| head | Linear |" in markdown
    second = run_cli(*args, "--out", "b")
    assert second.exit_code == 0
    assert json.loads((workspace / "b" / "report.json").read_text())["sha256"] == report["sha256"]


@pytest.mark.parametrize("spec,expected", [("channels:1.2", "strictly between 0 and 1"),
                                           ("foo:0.5", "METHOD[:AMOUNT]"), ("channels:half", "METHOD[:AMOUNT]")])
def test_bad_prune_spec_is_one_line_exit_2(residual_workspace, spec, expected):
    result = run_cli("res.pt", "--arch", "tests.prune_patterns:Residual", "--target", "android-arm64",
                     "--data", "train.npz", "--prune", spec)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --prune") and expected in lines[0]


def test_recovery_without_data_is_one_line_exit_2(residual_workspace):
    result = run_cli("res.pt", "--arch", "tests.prune_patterns:Residual", "--target", "android-arm64",
                     "--input-shape", "1,1,16,16", "--prune", "channels:0.5")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert "--data" in result.output and "--finetune-epochs 0" in result.output


@pytest.mark.parametrize("form", ["torch.export", "torchscript"])
def test_graph_only_model_gets_a_clear_error_naming_the_form_to_give(residual_workspace, form):
    workspace, model = residual_workspace
    name = save_graph_form(model, workspace, form, (torch.zeros(1, 1, 16, 16),))
    result = run_cli(name, "--target", "android-arm64", "--data", "train.npz", "--prune", "channels:0.5",
                     "--finetune-epochs", "0")
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith("error: --prune") and "state dict" in line and "--arch" in line and "\n" not in line
